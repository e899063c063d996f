//! Random list tasks: typed random programs of the list language (lambdas included),
//! run on random inputs, each with a description from a template grammar.
//!
//! The inputs look like DeepCoder's and LambdaBeam's: one to three parameters, lists of
//! up to ten integers of a magnitude drawn per task, integers often small (counts and
//! indices). A program is kept when it runs on every input, does not return an input
//! unchanged, uses every parameter, and its outputs differ across the examples.

use rand::seq::SliceRandom;
use rand::Rng;
use synth_engine::lists::{run, Expr, LType, LValue, ListOp, ListProblem, Slot};

use super::describe::describe;

/// Settings of the generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    /// Smallest program size (nodes).
    pub min_size: usize,
    /// Largest program size (nodes).
    pub max_size: usize,
    /// Examples shown: between these (inclusive).
    pub examples: (usize, usize),
    /// Held-out cases beside them.
    pub tests: usize,
    /// Integer literals programs use (the search's own).
    pub constants: Vec<i64>,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig { min_size: 3, max_size: 15, examples: (2, 5), tests: 5, constants: vec![-1, 0, 1, 2, 3, 4] }
    }
}

/// One random task.
#[derive(Clone, Debug, PartialEq)]
pub struct ListTask {
    /// The task as the synthesizer sees it (with its description).
    pub problem: ListProblem,
    /// The program that made it.
    pub program: Expr,
    /// Held-out cases.
    pub tests: Vec<(Vec<LValue>, LValue)>,
}

impl ListTask {
    /// The operators the program uses (each once).
    #[must_use]
    pub fn ops(&self) -> Vec<ListOp> {
        let mut out = Vec::new();
        collect_ops(&self.program, &mut out);
        out
    }

    /// The task as examples JSON (what `synth --examples` reads).
    #[must_use]
    pub fn spec_json(&self, with_description: bool) -> serde_json::Value {
        let mut spec = serde_json::json!({
            "function": self.problem.name,
            "params": self.problem.params.iter().map(|(n, t)| serde_json::json!({"name": n, "type": t.to_string()})).collect::<Vec<_>>(),
            "output_type": self.problem.output.to_string(),
            "examples": cases_json(&self.problem.examples),
        });
        if let (true, Some(d)) = (with_description, &self.problem.description) {
            spec["description"] = serde_json::Value::from(d.as_str());
        }
        spec
    }

    /// The held-out cases as `TASK.tests.json` (with the program that made them).
    #[must_use]
    pub fn tests_json(&self) -> serde_json::Value {
        serde_json::json!({
            "solution": self.program.show(&self.problem.param_names()),
            "tests": cases_json(&self.tests),
        })
    }
}

fn cases_json(cases: &[(Vec<LValue>, LValue)]) -> Vec<serde_json::Value> {
    cases
        .iter()
        .map(|(a, o)| serde_json::json!({"args": a.iter().map(LValue::to_json).collect::<Vec<_>>(), "output": o.to_json()}))
        .collect()
}

fn collect_ops(e: &Expr, out: &mut Vec<ListOp>) {
    if let Expr::Apply(op, args) = e {
        if !out.contains(op) {
            out.push(*op);
        }
        args.iter().for_each(|a| collect_ops(a, out));
    }
}

/// Draws one task; `None` when this draw produced nothing usable (draw again).
pub fn random_task(rng: &mut impl Rng, config: &GenConfig, name: &str) -> Option<ListTask> {
    let output = if rng.gen_bool(0.6) { LType::List } else { LType::Int };
    let n_params = *[1usize, 1, 1, 2, 2, 3].choose(rng)?;
    let mut params: Vec<LType> =
        (0..n_params).map(|_| if rng.gen_bool(0.7) { LType::List } else { LType::Int }).collect();
    if output == LType::List && !params.contains(&LType::List) {
        params[0] = LType::List;
    }
    let size = rng.gen_range(config.min_size..=config.max_size);
    let program = (0..20).find_map(|_| {
        let g = Gen { params: &params, constants: &config.constants };
        g.expr(rng, output, size, 0).filter(|e| e.size() >= config.min_size)
    })?;
    // Parameters the program does not use are dropped.
    let used: Vec<usize> = (0..params.len()).filter(|i| uses_input(&program, *i)).collect();
    if used.is_empty() {
        return None;
    }
    let program = renumber(&program, &used);
    let params: Vec<LType> = used.iter().map(|&i| params[i]).collect();
    let n_examples = rng.gen_range(config.examples.0..=config.examples.1);
    let want = n_examples + config.tests;
    let magnitude = *[8i64, 32, 64, 128, 256].choose(rng)?;
    let mut cases: Vec<(Vec<LValue>, LValue)> = Vec::with_capacity(want);
    for _ in 0..want * 4 {
        if cases.len() == want {
            break;
        }
        let args: Vec<LValue> = params.iter().map(|t| random_value(rng, *t, magnitude)).collect();
        if cases.iter().any(|(a, _)| *a == args) {
            continue;
        }
        if let Ok(out) = run(&program, &args) {
            if bounded(&out) {
                cases.push((args, out));
            }
        }
    }
    if cases.len() < want {
        return None;
    }
    let shown = &cases[..n_examples];
    let first = &shown[0].1;
    if shown.iter().all(|(_, o)| o == first) {
        return None;
    }
    if output == LType::List && shown.iter().all(|(_, o)| matches!(o, LValue::List(l) if l.is_empty())) {
        return None;
    }
    // An input returned as it is: the task is trivial or the program a roundabout identity.
    if (0..params.len()).any(|i| cases.iter().all(|(a, o)| a[i] == *o)) {
        return None;
    }
    if redundant(&program, &cases, &config.constants) {
        return None;
    }
    let names: Vec<String> = (1..=params.len()).map(|i| format!("x{i}")).collect();
    let description = describe(&program, &names, rng);
    let tests = cases.split_off(n_examples);
    Some(ListTask {
        problem: ListProblem {
            name: name.to_string(),
            params: names.into_iter().zip(params).collect(),
            output,
            result_in: None,
            description: Some(description),
            shape: None,
            result_field: None,
            examples: cases,
        },
        program,
        tests,
    })
}

fn bounded(v: &LValue) -> bool {
    const LIMIT: i64 = 1 << 20;
    match v {
        LValue::Int(x) => x.abs() <= LIMIT,
        LValue::Bool(_) => true,
        LValue::List(l) => l.len() <= 20 && l.iter().all(|x| x.abs() <= LIMIT),
    }
}

fn random_value(rng: &mut impl Rng, ty: LType, magnitude: i64) -> LValue {
    match ty {
        LType::Int if rng.gen_bool(0.5) => LValue::Int(rng.gen_range(0..=6)),
        LType::Int => LValue::Int(rng.gen_range(-magnitude..=magnitude)),
        LType::Bool => LValue::Bool(rng.gen()),
        LType::List => {
            let len = if rng.gen_bool(0.05) { 0 } else { rng.gen_range(1..=10) };
            let low = if rng.gen_bool(0.3) { 0 } else { -magnitude };
            LValue::List((0..len).map(|_| rng.gen_range(low..=magnitude)).collect::<Vec<i64>>().into())
        }
    }
}

fn uses_input(e: &Expr, i: usize) -> bool {
    match e {
        Expr::Input(j) => *j == i,
        Expr::Apply(_, args) => args.iter().any(|a| uses_input(a, i)),
        _ => false,
    }
}

/// Whether a lambda body uses each of its `arity` arguments and is more than one of them.
fn lambda_uses_all(body: &Expr, arity: u8) -> bool {
    !matches!(body, Expr::Bound(_)) && (0..arity).all(|b| uses_bound_var(body, b))
}

fn uses_bound_var(e: &Expr, b: u8) -> bool {
    match e {
        Expr::Bound(x) => *x == b,
        Expr::Apply(op, args) => {
            args.iter().zip(op.slots()).any(|(a, s)| matches!(s, Slot::Value(_)) && uses_bound_var(a, b))
        }
        _ => false,
    }
}

/// Whether some part of `program` could go: a term whose values on the cases are those
/// of one of its own arguments, of a parameter or of a constant (`Reverse(Reverse(x))`,
/// `Subtract(u1, u1)`, `Take(Length(x), x)`). Lambda bodies are compared on integers
/// drawn from each case's inputs.
fn redundant(program: &Expr, cases: &[(Vec<LValue>, LValue)], constants: &[i64]) -> bool {
    let n = cases.first().map_or(0, |(a, _)| a.len());
    // Each case with two extra list parameters, the lambda arguments' probe values.
    let probed: Vec<Vec<LValue>> = cases
        .iter()
        .map(|(args, _)| {
            let mut vals: Vec<i64> = vec![0, 1, -1, 3];
            for a in args {
                match a {
                    LValue::Int(x) => vals.push(*x),
                    LValue::List(l) => vals.extend(l.iter().take(4)),
                    LValue::Bool(_) => {}
                }
            }
            vals.truncate(7);
            let us: Vec<i64> = vals.iter().flat_map(|u| vals.iter().map(move |_| *u)).collect();
            let vs: Vec<i64> = vals.iter().flat_map(|_| vals.iter().copied()).collect();
            let mut args = args.clone();
            args.push(LValue::List(us.into()));
            args.push(LValue::List(vs.into()));
            args
        })
        .collect();
    let values = |e: &Expr, scope: u8| -> Option<Vec<LValue>> {
        let wrapped;
        let term = match scope {
            0 => e,
            _ => {
                wrapped = Expr::Apply(ListOp::ZipWith, vec![e.clone(), Expr::Input(n), Expr::Input(n + 1)]);
                &wrapped
            }
        };
        probed.iter().map(|args| run(term, args).ok()).collect()
    };
    let mut leaves: Vec<Expr> = (0..n).map(Expr::Input).collect();
    leaves.extend(constants.iter().map(|c| Expr::Const(*c)));
    let mut stack: Vec<(&Expr, u8)> = vec![(program, 0)];
    while let Some((e, scope)) = stack.pop() {
        let Expr::Apply(op, args) = e else { continue };
        let mut others: Vec<(usize, &Expr, u8)> = Vec::new();
        for (j, (a, slot)) in args.iter().zip(op.slots()).enumerate() {
            match slot {
                Slot::Value(LType::List) => others.push((j, a, 0)),
                Slot::Value(_) => others.push((j, a, scope)),
                Slot::Lambda(arity, _) => stack.push((a, *arity)),
            }
        }
        stack.extend(others.iter().map(|(_, a, s)| (*a, *s)));
        let Some(mine) = values(e, scope) else { continue };
        if mine.iter().all(|v| *v == mine[0]) {
            return true;
        }
        let bound: Vec<Expr> = (0..scope).map(Expr::Bound).collect();
        let same = |other: &Expr, s: u8| values(other, s).is_some_and(|v| v == mine);
        if others.iter().any(|(_, a, s)| same(a, *s)) || leaves.iter().chain(&bound).any(|l| same(l, scope)) {
            return true;
        }
        // A node between this one and a grandchild that changes nothing
        // (`Sort(Reverse(x))`, `Max(Max(x, y), x)`).
        for (j, child, _) in &others {
            let Expr::Apply(cop, cargs) = child else { continue };
            for (g, slot) in cargs.iter().zip(cop.slots()) {
                if *slot != Slot::Value(cop.result()) {
                    continue;
                }
                let mut shorter = args.clone();
                shorter[*j] = g.clone();
                if same(&Expr::Apply(*op, shorter), scope) {
                    return true;
                }
            }
        }
    }
    false
}

fn renumber(e: &Expr, used: &[usize]) -> Expr {
    match e {
        Expr::Input(i) => Expr::Input(used.iter().position(|u| u == i).unwrap_or(0)),
        Expr::Apply(op, args) => Expr::Apply(*op, args.iter().map(|a| renumber(a, used)).collect()),
        other => other.clone(),
    }
}

/// The generator's view of one signature.
struct Gen<'a> {
    params: &'a [LType],
    constants: &'a [i64],
}

impl Gen<'_> {
    /// A random term of type `ty` and `size` nodes; `scope` is the arity of the
    /// enclosing lambda (0: none).
    fn expr(&self, rng: &mut impl Rng, ty: LType, size: usize, scope: u8) -> Option<Expr> {
        if size <= 1 {
            return self.leaf(rng, ty, scope);
        }
        let ops: Vec<ListOp> = ListOp::ALL
            .iter()
            .copied()
            .filter(|op| op.result() == ty && op.slots().len() < size)
            // Inside a lambda the search builds scalar terms and `Access`; other
            // operators only in closed subterms.
            .filter(|op| scope == 0 || op.is_scalar() || *op == ListOp::Access || rng.gen_bool(0.15))
            .collect();
        let op = *ops.choose_weighted(rng, |op| op_weight(*op)).ok()?;
        let slots = op.slots();
        let parts = split(rng, size - 1, slots.len());
        let mut args = Vec::with_capacity(slots.len());
        for (slot, part) in slots.iter().zip(parts) {
            let arg = match slot {
                Slot::Lambda(arity, ret) => {
                    if scope > 0 {
                        return None; // no nested lambdas
                    }
                    (0..4).find_map(|_| self.expr(rng, *ret, part, *arity).filter(|b| lambda_uses_all(b, *arity)))?
                }
                Slot::Value(LType::List) => self.expr(rng, LType::List, part, 0)?,
                Slot::Value(t) => {
                    let closed = scope > 0 && !op.is_scalar() && op != ListOp::Access;
                    self.expr(rng, *t, part, if closed { 0 } else { scope })?
                }
            };
            args.push(arg);
        }
        Some(Expr::Apply(op, args))
    }

    fn leaf(&self, rng: &mut impl Rng, ty: LType, scope: u8) -> Option<Expr> {
        let inputs: Vec<usize> = (0..self.params.len()).filter(|i| self.params[*i] == ty).collect();
        match ty {
            LType::List => inputs.choose(rng).map(|i| Expr::Input(*i)),
            LType::Int => {
                let roll: f64 = rng.gen();
                if scope > 0 && roll < 0.6 {
                    Some(Expr::Bound(rng.gen_range(0..scope)))
                } else if !inputs.is_empty() && roll < 0.8 {
                    inputs.choose(rng).map(|i| Expr::Input(*i))
                } else {
                    self.constants.choose(rng).map(|c| Expr::Const(*c))
                }
            }
            LType::Bool => None,
        }
    }
}

/// How often the generator picks an operator: DeepCoder's and LambdaBeam's operators
/// alike, the ones only this language has (`Modulo`, `Product`, `Length`, `Replicate`)
/// a quarter as often — the prior the search's default prices also hold.
fn op_weight(op: ListOp) -> f64 {
    match op {
        ListOp::Modulo | ListOp::Product | ListOp::Length | ListOp::Replicate => 0.25,
        _ => 1.0,
    }
}

/// `total` split into `k` positive parts at random.
fn split(rng: &mut impl Rng, total: usize, k: usize) -> Vec<usize> {
    let mut parts = vec![1; k];
    for _ in k..total {
        parts[rng.gen_range(0..k)] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn tasks_run_as_their_programs_say_and_use_every_parameter() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let config = GenConfig::default();
        let tasks: Vec<ListTask> = (0..2000).filter_map(|i| random_task(&mut rng, &config, &format!("t{i}"))).collect();
        assert!(tasks.len() > 300, "only {} of 2000 draws usable", tasks.len());
        let mut lambdas = 0;
        for t in &tasks {
            assert!((config.min_size..=config.max_size).contains(&t.program.size()), "{:?}", t.program);
            for (args, out) in t.problem.examples.iter().chain(&t.tests) {
                assert_eq!(run(&t.program, args).as_ref(), Ok(out));
            }
            for i in 0..t.problem.params.len() {
                assert!(uses_input(&t.program, i));
            }
            assert!(t.problem.description.as_deref().is_some_and(|d| !d.is_empty()));
            lambdas += usize::from(t.ops().iter().any(|op| op.higher_order()));
            // The JSON reads back as the same problem.
            let spec = synth_engine::spec::Examples::from_json(&t.spec_json(true).to_string()).unwrap();
            assert_eq!(ListProblem::from_examples(&spec).unwrap(), t.problem);
        }
        assert!(lambdas * 4 > tasks.len(), "{lambdas} of {} with a lambda", tasks.len());
    }
}
