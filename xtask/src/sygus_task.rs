//! SyGuS task files for the synthesis benchmarks: their constraints, a solver's answer,
//! and an independent check of that answer against constraints.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use synth_engine::dsl::{eval_term, sexpr, Column, FunDef, FunDefs, SExpr, Sort, Term, Value};
use synth_engine::spec::cegis::{edge_values, random_value, seeded_rng};
use synth_engine::spec::sygus::parse_sort;

/// Runs a command with a wall-clock limit; returns stdout, stderr, elapsed
/// seconds and whether it was killed.
pub fn run_limited(mut cmd: Command, limit: Duration) -> Result<(String, String, f64, bool)> {
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().context("cannot start solver")?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut o) = stdout {
            let _ = std::io::Read::read_to_string(&mut o, &mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut o) = stderr {
            let _ = std::io::Read::read_to_string(&mut o, &mut s);
        }
        s
    });
    let mut killed = false;
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() > limit {
            // Only the child we started, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok((out_t.join().unwrap_or_default(), err_t.join().unwrap_or_default(), elapsed, killed))
}

/// A task's own constraints, read from its file.
pub struct Task {
    pub logic: String,
    pub fname: String,
    pub funs: FunDefs,
    pub vars: Vec<(String, Sort)>,
    pub constraints: Vec<Term>,
}

pub fn read_task(src: &str) -> Result<Task> {
    let cmds = sexpr::parse_all(src)?;
    let mut t = Task {
        logic: "ALL".into(),
        fname: String::new(),
        funs: FunDefs::new(),
        vars: Vec::new(),
        constraints: Vec::new(),
    };
    for c in &cmds {
        let Some(items) = c.list() else { continue };
        match items.first().and_then(SExpr::atom) {
            Some("set-logic") => t.logic = items.get(1).and_then(SExpr::atom).unwrap_or("ALL").to_string(),
            Some("define-fun") => {
                let def = fun_def(items)?;
                t.funs.insert(def.name.clone(), def);
            }
            Some("declare-var") => {
                if let [_, SExpr::Atom(n, _), s] = items {
                    t.vars.push((n.clone(), parse_sort(s)?));
                }
            }
            Some("synth-fun") => t.fname = items.get(1).and_then(SExpr::atom).unwrap_or_default().to_string(),
            Some("constraint") => {
                if let Some(e) = items.get(1) {
                    t.constraints.push(Term::from_sexpr(e)?);
                }
            }
            _ => {}
        }
    }
    Ok(t)
}

fn fun_def(items: &[SExpr]) -> Result<FunDef> {
    let [_, SExpr::Atom(name, _), params, ret, body] = items else { bail!("malformed define-fun") };
    let mut ps = Vec::new();
    for p in params.list().unwrap_or_default() {
        if let Some([SExpr::Atom(n, _), s]) = p.list() {
            ps.push((n.clone(), parse_sort(s)?));
        }
    }
    Ok(FunDef { name: name.clone(), params: ps, ret: parse_sort(ret)?, body: Term::from_sexpr(body)? })
}

/// Extracts the synthesized function's `define-fun` from solver output.
pub fn solution(out: &str, fname: &str) -> Option<FunDef> {
    let all = sexpr::parse_all(out).ok()?;
    let mut stack: Vec<&SExpr> = all.iter().collect();
    while let Some(e) = stack.pop() {
        let Some(items) = e.list() else { continue };
        if items.first().and_then(SExpr::atom) == Some("define-fun")
            && items.get(1).and_then(SExpr::atom) == Some(fname)
        {
            return fun_def(items).ok();
        }
        stack.extend(items.iter());
    }
    None
}

/// Evaluates every constraint with `sol` in scope: directly when it has no
/// variables, otherwise on edge values and seeded random inputs.
pub fn check(task: &Task, sol: &FunDef) -> bool {
    let mut funs = task.funs.clone();
    funs.insert(sol.name.clone(), sol.clone());
    let ground: Vec<&Term> = task.constraints.iter().filter(|c| !has_vars(c)).collect();
    let open: Vec<&Term> = task.constraints.iter().filter(|c| has_vars(c)).collect();
    for c in ground {
        match eval_term(c, &[], &funs, 1) {
            Ok(Column::Bool(v)) if v[0] => {}
            _ => return false,
        }
    }
    if open.is_empty() {
        return true;
    }
    let mut rng = seeded_rng(0x5eed);
    let mut batches: Vec<Vec<Vec<Value>>> = Vec::new();
    let edges: Vec<Vec<Value>> = task.vars.iter().map(|(_, s)| edge_values(*s)).collect();
    let k = edges.iter().map(Vec::len).max().unwrap_or(0);
    batches.push((0..k).map(|i| edges.iter().map(|e| e[i % e.len()].clone()).collect()).collect());
    for _ in 0..5 {
        batches.push((0..4000).map(|_| task.vars.iter().map(|(_, s)| random_value(*s, &mut rng)).collect()).collect());
    }
    for inputs in batches {
        let n = inputs.len();
        let cols: Vec<Column> = task
            .vars
            .iter()
            .enumerate()
            .map(|(i, (_, s))| Column::from_values(*s, &inputs.iter().map(|a| a[i].clone()).collect::<Vec<_>>()))
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        let binds: Vec<(&str, &Column)> = task.vars.iter().map(|(n, _)| n.as_str()).zip(cols.iter()).collect();
        for c in &open {
            match eval_term(c, &binds, &funs, n) {
                Ok(Column::Bool(v)) if v.iter().all(|b| *b) => {}
                _ => return false,
            }
        }
    }
    true
}

pub fn has_vars(t: &Term) -> bool {
    t.nodes().iter().any(|n| matches!(n.op, synth_engine::dsl::Op::Var(_)))
}
