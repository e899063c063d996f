//! Grammar compilation: default grammars, constant harvesting, and
//! evaluation plans for productions.

use std::sync::Arc;

use smallvec::SmallVec;

use super::description::{description_numbers, description_strings, description_symbols, description_thresholds};
use super::guide::{Guide, ProductionInfo};
use super::round::roundness;
use crate::dsl::{apply, width_mask, Column, EvalError, FunDefs, Id, Op, Sort, Term, Value};
use crate::spec::{Grammar, NonTerminal, Problem, Production};

/// How a production computes its value from its children's values.
#[derive(Clone, Debug)]
pub(crate) enum Plan {
    /// A literal or variable: the column is fixed.
    Leaf(Column),
    /// A unit production `A -> B`: the child's value.
    Chain,
    /// One operator applied to the holes in order.
    Direct(Op),
    /// A general template (nested operators, macros inlined).
    Template(Vec<TNode>),
}

#[derive(Clone, Debug)]
pub(crate) enum TNode {
    Hole(usize),
    Fixed(Column),
    Apply(Op, SmallVec<[usize; 3]>),
}

/// A compiled production.
#[derive(Clone, Debug)]
pub(crate) struct CProd {
    /// The production as written; holes are `Var` leaves named by `hole_name(k)`.
    pub print: Term,
    /// Nonterminal of each hole, in hole order.
    pub holes: Vec<usize>,
    pub cost: u32,
    pub plan: Plan,
}

/// A compiled nonterminal.
#[derive(Clone, Debug)]
pub(crate) struct CNt {
    pub prods: Vec<CProd>,
}

/// A compiled grammar over a fixed set of examples.
#[derive(Clone, Debug)]
pub(crate) struct CGrammar {
    pub nts: Vec<CNt>,
    /// The nonterminal whose terms are candidate solutions.
    pub start: usize,
}

pub(crate) fn hole_name(k: usize) -> String {
    format!("\u{1}{k}")
}

fn hole_index(name: &str) -> Option<usize> {
    name.strip_prefix('\u{1}').and_then(|s| s.parse().ok())
}

/// Most threshold predicates per parameter.
const MAX_THRESHOLDS: usize = 48;

/// `p < t` for each bit-vector parameter `p`: the numeric splits a decision tree
/// needs for rules like "10 or more items", whose constant the outputs do not show. Each
/// gap between two neighbouring values `p` takes in the examples gets the roundest number
/// that separates them (500, not 497, when both do); of those the roundest
/// [`MAX_THRESHOLDS`] are kept. The description's thresholds
/// ([`description_thresholds`]) are added, and win the gaps they fall in.
fn threshold_predicates(problem: &Problem, sorts: &[Sort]) -> Vec<Production> {
    let results: Vec<i128> = problem.examples.iter().filter_map(|e| e.output.integer(problem.output.signed)).collect();
    let said = problem.description.as_deref().map(|d| description_thresholds(d, &results)).unwrap_or_default();
    let mut out = Vec::new();
    for (i, p) in problem.params.iter().enumerate() {
        // Integer (SMT-LIB `Int`) parameters keep their comparisons with each other: with
        // few examples, fitted thresholds would split them before `a <= b` could.
        let Sort::BitVec(w) = p.ty.sort else { continue };
        if !sorts.contains(&p.ty.sort) {
            continue;
        }
        let mut values: Vec<i64> = problem
            .examples
            .iter()
            .filter_map(|ex| match ex.args.get(i) {
                Some(Value::Bv { width, bits }) => Some(if p.ty.signed {
                    crate::dsl::to_signed(*bits, *width)
                } else {
                    i64::try_from(*bits).unwrap_or(i64::MAX)
                }),
                _ => None,
            })
            .collect();
        values.sort_unstable();
        values.dedup();
        // The description's own threshold wins a gap it falls in ("under 65", not 64).
        let mut thresholds: Vec<i64> = values
            .windows(2)
            .filter(|w| !said.iter().any(|c| w[0] < *c && *c <= w[1]))
            .map(|w| roundest_in(w[0], w[1]))
            .collect();
        thresholds.sort_by_key(|t| (std::cmp::Reverse(roundness(*t)), t.unsigned_abs()));
        thresholds.truncate(MAX_THRESHOLDS);
        thresholds.extend(said.iter().copied());
        thresholds.sort_unstable();
        thresholds.dedup();
        for t in thresholds {
            #[allow(clippy::cast_sign_loss, reason = "two's complement bits")]
            let bits = (t as u64) & width_mask(w);
            let fits = if p.ty.signed { crate::dsl::to_signed(bits, w) == t } else { t >= 0 && t as u64 == bits };
            if !fits {
                continue;
            }
            let op = if p.ty.signed { Op::BvSlt } else { Op::BvUlt };
            let c = Term::leaf(Op::Const(Value::bv(w, bits)));
            out.push(Production::Term(Term::apply(op, &[&Term::var(&p.name), &c])));
        }
    }
    out
}

/// The roundest integer `t` with `lo < t <= hi` (so `x < t` puts `lo` on one side and
/// `hi` on the other); the smallest in magnitude among equals.
fn roundest_in(lo: i64, hi: i64) -> i64 {
    let mut best = hi;
    let mut consider = |t: i64| {
        if t > lo
            && t <= hi
            && (roundness(t), std::cmp::Reverse(t.unsigned_abs()))
                > (roundness(best), std::cmp::Reverse(best.unsigned_abs()))
        {
            best = t;
        }
    };
    let mut step: i64 = 1;
    for _ in 0..18 {
        for m in [step, step.saturating_mul(5)] {
            // The first multiple of m above lo.
            consider(lo.div_euclid(m).saturating_add(1).saturating_mul(m));
        }
        if 0 > lo && 0 <= hi {
            consider(0);
        }
        step = step.saturating_mul(10);
    }
    for k in 4..63 {
        let p = 1i64 << k;
        consider(p);
        consider(-p);
    }
    best
}

fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let n: usize = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    &a[..n]
}

fn common_suffix<'a>(a: &'a str, b: &str) -> &'a str {
    let n: usize = a.chars().rev().zip(b.chars().rev()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    &a[a.len() - n..]
}

/// Most repeated outputs offered as constants.
const MAX_LABELS: usize = 8;

/// The runs of characters that are neither letters nor digits in `texts` ("$", ", ",
/// "-"), most frequent first.
fn separator_runs<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for s in texts {
        let mut run = String::new();
        for c in s.chars().chain(std::iter::once('a')) {
            if c.is_alphanumeric() {
                if !run.is_empty() {
                    *counts.entry(std::mem::take(&mut run)).or_default() += 1;
                }
            } else {
                run.push(c);
            }
        }
    }
    let mut seps: Vec<(String, usize)> = counts.into_iter().collect();
    seps.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    seps.into_iter().map(|(s, _)| s).collect()
}

/// The string outputs with the string arguments of their examples.
fn text_examples(problem: &Problem) -> Vec<(&str, Vec<&str>)> {
    problem
        .examples
        .iter()
        .filter_map(|ex| {
            let Value::Str(out) = &ex.output else { return None };
            let args = ex.args.iter().filter_map(|a| if let Value::Str(s) = a { Some(&**s) } else { None }).collect();
            Some((&**out, args))
        })
        .collect()
}

/// Values in at least two examples (all of them when there are fewer), most frequent
/// first, at most `max`.
fn supported<T: Ord + Clone>(per_example: &[Vec<T>], max: usize) -> Vec<T> {
    let need = per_example.len().min(2);
    let mut counts: std::collections::BTreeMap<T, usize> = std::collections::BTreeMap::new();
    for values in per_example {
        let mut seen: Vec<&T> = Vec::new();
        for v in values {
            if !seen.contains(&v) {
                seen.push(v);
                *counts.entry(v.clone()).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<(T, usize)> = counts.into_iter().filter(|(_, c)| need > 0 && *c >= need).collect();
    ranked.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
    ranked.into_iter().take(max).map(|(v, _)| v).collect()
}

/// Where an output is a copy of part of an argument (ignoring ASCII case): its start, its
/// end or its length, when examples agree on it ("(555) 123-4567" gives 1, 4 and 3 for
/// "555"), so `substr(s, 1, 3)` is in reach without building 3 from ones.
fn copied_positions(problem: &Problem) -> Vec<i128> {
    let per_example: Vec<Vec<(u8, i128)>> = text_examples(problem)
        .into_iter()
        .map(|(out, args)| {
            let out = out.to_ascii_lowercase();
            let mut found = Vec::new();
            if out.is_empty() {
                return found;
            }
            for a in args {
                if let Some(i) = a.to_ascii_lowercase().find(&out) {
                    let (start, len) = (a[..i].chars().count(), out.chars().count());
                    let at = |v: usize| i128::try_from(v).unwrap_or(i128::MAX);
                    found.extend([(0, at(start)), (1, at(start + len)), (2, at(len))]);
                }
            }
            found.retain(|(_, v)| (2..=64).contains(v));
            found
        })
        .collect();
    let mut values: Vec<i128> = Vec::new();
    for (_, v) in supported(&per_example, 4) {
        if !values.contains(&v) {
            values.push(v);
        }
    }
    values
}

/// Longest output searched for literal pieces (the search is cubic in its length).
const MAX_PIECES_OUTPUT: usize = 128;

/// Text an output has that no argument supplies: the runs of an output's characters left
/// when every piece of two or more characters that an argument contains is taken out, and
/// the single characters of those runs ("000" and "0" of "00042" from "42"), when examples
/// share them.
fn literal_pieces(problem: &Problem) -> Vec<String> {
    let per_example: Vec<Vec<String>> = text_examples(problem)
        .into_iter()
        .filter(|(out, _)| out.len() <= MAX_PIECES_OUTPUT)
        .map(|(out, args)| {
            let chars: Vec<char> = out.chars().collect();
            let covered = covered_by_arguments(&chars, &args);
            let mut pieces: Vec<String> = Vec::new();
            let mut run = String::new();
            for (c, cov) in chars.iter().zip(&covered).chain(std::iter::once((&' ', &true))) {
                if *cov {
                    if !run.is_empty() {
                        pieces.extend(run.chars().map(String::from));
                        pieces.push(std::mem::take(&mut run));
                    }
                } else {
                    run.push(*c);
                }
            }
            pieces
        })
        .collect();
    supported(&per_example, 4)
}

/// Which characters of an output lie in a piece of two or more characters that some
/// argument contains (ignoring ASCII case).
fn covered_by_arguments(chars: &[char], args: &[&str]) -> Vec<bool> {
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let mut covered = vec![false; chars.len()];
    for i in 0..chars.len() {
        for j in (i + 2..=chars.len()).rev() {
            let piece: String = chars[i..j].iter().collect::<String>().to_ascii_lowercase();
            if lower.iter().any(|a| a.contains(&piece)) {
                covered[i..j].iter_mut().for_each(|c| *c = true);
                break;
            }
        }
    }
    covered
}

/// Longest output taken whole as a label.
const MAX_LABEL_LEN: usize = 32;

/// Outputs with next to nothing of the arguments in them ("yes" / "no", "n/a"): labels a
/// rule returns, even when one is seen only once. Not an output whose letters mostly
/// come from the arguments ("J.S." of "John Smith"), which a program builds.
fn literal_outputs(problem: &Problem) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (text, args) in text_examples(problem) {
        let chars: Vec<char> = text.chars().collect();
        let alnum: Vec<char> = chars.iter().filter(|c| c.is_alphanumeric()).map(char::to_ascii_lowercase).collect();
        let from_args = alnum.iter().filter(|c| args.iter().any(|a| a.to_ascii_lowercase().contains(**c))).count();
        if !chars.is_empty()
            && chars.len() <= MAX_LABEL_LEN
            && !covered_by_arguments(&chars, &args).contains(&true)
            && 2 * from_args < alnum.len().max(1)
            && !out.iter().any(|o| o == text)
        {
            out.push(text.to_owned());
        }
    }
    out.truncate(MAX_LABELS);
    out
}

/// Separator runs of the string parameters (the "$" of "$12", the "." of "a.txt"), for
/// programs that search for them or strip them, then the characters of the longer runs
/// (the "(" of "call (555) now", whose run is " (").
fn input_separators(problem: &Problem) -> Vec<Value> {
    let inputs = problem.examples.iter().flat_map(|ex| ex.args.iter()).filter_map(|v| match v {
        Value::Str(s) => Some(&**s),
        _ => None,
    });
    let runs: Vec<String> = separator_runs(inputs).into_iter().take(4).collect();
    let mut out: Vec<String> = runs.clone();
    for c in runs.iter().filter(|r| r.chars().count() > 1).flat_map(|r| r.chars()) {
        let c = c.to_string();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.into_iter().map(|s| Value::str(&s)).collect()
}

/// String, integer and bit-vector literals worth offering as constants.
pub fn harvest_constants(problem: &Problem) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut push = |v: Value| {
        if !out.contains(&v) {
            out.push(v);
        }
    };
    match problem.output.sort {
        Sort::String => {
            // Separator runs in the outputs, and outputs that repeat.
            let outputs =
                problem.examples.iter().filter_map(|ex| if let Value::Str(s) = &ex.output { Some(&**s) } else { None });
            for s in separator_runs(outputs).into_iter().take(6) {
                push(Value::str(&s));
            }
            // A prefix or suffix every output shares ("Hello, " ... "!"): a template's text.
            let texts: Vec<&str> = problem
                .examples
                .iter()
                .filter_map(|ex| if let Value::Str(s) = &ex.output { Some(&**s) } else { None })
                .collect();
            if texts.len() >= 2 {
                let prefix = texts.iter().skip(1).fold(texts[0], |p, s| common_prefix(p, s));
                let suffix = texts.iter().skip(1).fold(texts[0], |p, s| common_suffix(p, s));
                // Not when the inputs share it too: then it is copied, not a template's text.
                let copied = |affix: &str, starts: bool| {
                    (0..problem.params.len()).any(|i| {
                        problem.examples.iter().all(|ex| match ex.args.get(i) {
                            Some(Value::Str(a)) => {
                                if starts {
                                    a.starts_with(affix)
                                } else {
                                    a.ends_with(affix)
                                }
                            }
                            _ => false,
                        })
                    })
                };
                for (affix, starts) in [(prefix, true), (suffix, false)] {
                    if !affix.is_empty() && texts.iter().any(|t| t.len() > affix.len()) && !copied(affix, starts) {
                        push(Value::str(affix));
                    }
                }
            }
            let mut outs: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
            for ex in &problem.examples {
                if let Value::Str(s) = &ex.output {
                    *outs.entry(s).or_default() += 1;
                }
            }
            let mut reps: Vec<(&str, usize)> = outs.into_iter().filter(|(_, c)| *c >= 2).collect();
            reps.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            // Labels a rule returns ("informational" ... "server error").
            for (s, _) in reps.into_iter().take(MAX_LABELS) {
                push(Value::str(s));
            }
            for piece in literal_pieces(problem).into_iter().chain(literal_outputs(problem)) {
                push(Value::str(&piece));
            }
            for i in copied_positions(problem) {
                push(Value::Int(i));
            }
        }
        Sort::Int => {
            for ex in &problem.examples {
                if let Value::Int(i) = ex.output {
                    if (-2..=10).contains(&i) {
                        push(Value::Int(i));
                    }
                }
            }
        }
        Sort::BitVec(w) => {
            for v in bv_constants(problem, w) {
                push(v);
            }
            if let Some(d) = length_offset(problem) {
                push(Value::Int(d));
            }
        }
        Sort::Bool => {}
    }
    out
}

/// `grammar` with the constants `guide` proposes for each nonterminal's sort
/// added as leaves (those it does not have already).
pub(crate) fn with_proposed_constants(mut grammar: Grammar, guide: &dyn Guide) -> Grammar {
    for nt in &mut grammar.nonterminals {
        for v in guide.proposed_constants(nt.sort) {
            let leaf = Production::Term(Term::leaf(Op::Const(v)));
            if !nt.productions.contains(&leaf) {
                nt.productions.push(leaf);
            }
        }
    }
    grammar
}

/// Productions that bring parameters of other widths into the result width
/// `w`: narrower parameters as sign- or zero-extended leaves (by the
/// parameter's signedness), wider ones through their low bits.
fn width_bridges(problem: &Problem, w: u32, sorts: &[Sort], nt_name: &dyn Fn(Sort) -> String) -> Vec<Production> {
    let mut prods = Vec::new();
    for p in &problem.params {
        match p.ty.sort {
            Sort::BitVec(wp) if wp < w => {
                let ext = if p.ty.signed { "sign_extend" } else { "zero_extend" };
                let t = Term::apply(Op::from_indexed(ext, &[w - wp]).expect("extend op"), &[&Term::var(&p.name)]);
                prods.push(Production::Term(t));
            }
            _ => {}
        }
    }
    for s in sorts {
        if let Sort::BitVec(ws) = *s {
            if ws > w {
                let t = Term::apply(Op::Extract(w - 1, 0), &[&Term::var(&nt_name(*s))]);
                prods.push(Production::Term(t));
            }
        }
    }
    prods
}

/// Bit-vector constants for a `w`-bit result: the numerator and denominator
/// of a common scale factor. When many examples have an output close to
/// `a/b` times a parameter or the product of the parameters (`b <= 10`, up
/// to truncation), `a` and `b` are offered (discounts, percentages, unit
/// conversions: `total * 9 / 10`).
fn bv_constants(problem: &Problem, w: u32) -> Vec<Value> {
    let num = |v: &Value, signed: bool| -> Option<f64> {
        match v {
            #[allow(clippy::cast_precision_loss, reason = "a rough ratio is enough")]
            Value::Bv { width, bits } => {
                Some(if signed { crate::dsl::to_signed(*bits, *width) as f64 } else { *bits as f64 })
            }
            _ => None,
        }
    };
    let bv_params: Vec<usize> =
        (0..problem.params.len()).filter(|&i| matches!(problem.params[i].ty.sort, Sort::BitVec(_))).collect();
    let mut support: std::collections::HashMap<(u64, u64), usize> = std::collections::HashMap::new();
    for ex in &problem.examples {
        let Some(o) = num(&ex.output, problem.output.signed) else { return Vec::new() };
        let vals: Vec<f64> = bv_params.iter().filter_map(|&i| num(&ex.args[i], problem.params[i].ty.signed)).collect();
        let mut bases = vals.clone();
        if vals.len() >= 2 {
            bases.push(vals.iter().product());
        }
        let mut seen = Vec::new();
        for base in bases {
            if base.abs() < 20.0 {
                continue;
            }
            let r = o / base;
            for b in 2..=10u64 {
                #[allow(clippy::cast_precision_loss, reason = "small numbers")]
                let bf = b as f64;
                let a = (r * bf).round();
                if a < 1.0 || a > 10.0 * bf || (r - a / bf).abs() > 1.0 / base.abs() {
                    continue;
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked range")]
                let a = a as u64;
                if (2..=b).any(|d| a.is_multiple_of(d) && b.is_multiple_of(d)) {
                    continue;
                }
                if !seen.contains(&(a, b)) {
                    seen.push((a, b));
                    *support.entry((a, b)).or_default() += 1;
                }
            }
        }
    }
    let need = (problem.examples.len() / 5).max(3);
    let best = support.into_iter().filter(|(_, k)| *k >= need).max_by(|x, y| x.1.cmp(&y.1).then(y.0 .1.cmp(&x.0 .1)));
    match best {
        Some(((a, b), _)) => vec![Value::bv(w, a), Value::bv(w, b)],
        None => Vec::new(),
    }
}

/// For a bit-vector result and string parameters: the offset `d` when the
/// result (read with its signedness) is the length of one string parameter
/// plus `d` on at least half of the examples (`strlen(name) + 7`).
fn length_offset(problem: &Problem) -> Option<i128> {
    let mut support: std::collections::HashMap<i128, usize> = std::collections::HashMap::new();
    for ex in &problem.examples {
        let o = ex.output.integer(problem.output.signed)?;
        let mut seen = Vec::new();
        for a in &ex.args {
            if let Value::Str(s) = a {
                let d = o - crate::dsl::strings::len(s);
                if !seen.contains(&d) {
                    seen.push(d);
                    *support.entry(d).or_default() += 1;
                }
            }
        }
    }
    let need = problem.examples.len().div_ceil(2).max(2);
    support
        .into_iter()
        .filter(|(d, k)| *k >= need && !(0..=1).contains(d))
        .max_by(|x, y| x.1.cmp(&y.1).then(y.0.abs().cmp(&x.0.abs())))
        .map(|(d, _)| d)
}

/// A default grammar for the problem's signature.
#[must_use]
pub fn default_grammar(problem: &Problem) -> Grammar {
    let out = problem.output.sort;
    let mut sorts = vec![out];
    for p in &problem.params {
        // Narrower bit-vector parameters enter a wider result as extended leaves.
        let widened = matches!((p.ty.sort, out), (Sort::BitVec(wp), Sort::BitVec(wo)) if wp < wo);
        if !sorts.contains(&p.ty.sort) && !widened {
            sorts.push(p.ty.sort);
        }
    }
    if sorts.contains(&Sort::String) && !sorts.contains(&Sort::Int) {
        sorts.push(Sort::Int);
    }
    if !sorts.contains(&Sort::Bool) {
        sorts.push(Sort::Bool);
    }
    let nt_name = |s: Sort| -> String {
        if s == out {
            return "Start".into();
        }
        match s {
            Sort::Bool => "B".into(),
            Sort::Int => "I".into(),
            Sort::String => "S".into(),
            Sort::BitVec(w) => format!("BV{w}"),
        }
    };
    let harvested = harvest_constants(problem);
    let (described_numbers, described_strings) = problem
        .description
        .as_deref()
        .map(|d| {
            (
                description_numbers(d),
                description_strings(d).into_iter().chain(description_symbols(d)).collect::<Vec<_>>(),
            )
        })
        .unwrap_or_default();
    let mut nts = Vec::new();
    for &s in &sorts {
        let me = nt_name(s);
        let t = |src: String| Production::Term(src.parse().expect("default grammar production parses"));
        let mut prods: Vec<Production> =
            problem.params.iter().filter(|p| p.ty.sort == s).map(|p| Production::Term(Term::var(&p.name))).collect();
        let b = nt_name(Sort::Bool);
        match s {
            Sort::BitVec(w) => {
                if s == out {
                    prods.extend(width_bridges(problem, w, &sorts, &nt_name));
                    if sorts.contains(&Sort::Int) && !problem.params.iter().any(|p| p.ty.sort == Sort::Int) {
                        // String parameters: integer results (lengths, positions) as bit-vectors.
                        prods.push(t(format!("((_ int2bv {w}) {})", nt_name(Sort::Int))));
                    }
                }
                for c in [0, 1, width_mask(w)] {
                    prods.push(Production::Term(Term::leaf(Op::Const(Value::bv(w, c)))));
                }
                let mut bv_constants: Vec<u64> = vec![0, 1, width_mask(w)];
                for v in &harvested {
                    if let Value::Bv { width, bits } = v {
                        if *width == w && !bv_constants.contains(bits) {
                            bv_constants.push(*bits);
                            prods.push(Production::Term(Term::leaf(Op::Const(v.clone()))));
                        }
                    }
                }
                // The description's numbers, where the width holds them.
                for &n in &described_numbers {
                    #[allow(clippy::cast_sign_loss, reason = "two's complement bits")]
                    let bits = (n as u64) & width_mask(w);
                    if crate::dsl::to_signed(bits, w) == n && !bv_constants.contains(&bits) {
                        bv_constants.push(bits);
                        prods.push(Production::Term(Term::leaf(Op::Const(Value::bv(w, bits)))));
                    }
                }
                // Fitted terms after the constants: of two leaves of the same cost that explain
                // the same calls, a decision tree takes the first (a constant 0, not a fitted
                // step that happens to be 0 there).
                if s == out {
                    prods.extend(super::fitted::fitted_terms(problem).into_iter().map(Production::Term));
                }
                for op in ["bvnot", "bvneg"] {
                    prods.push(t(format!("({op} {me})")));
                }
                for op in [
                    "bvand", "bvor", "bvxor", "bvadd", "bvsub", "bvmul", "bvshl", "bvlshr", "bvashr", "bvudiv",
                    "bvurem",
                ] {
                    prods.push(t(format!("({op} {me} {me})")));
                }
                if problem.output.signed || problem.params.iter().any(|p| p.ty.signed && p.ty.sort == s) {
                    for op in ["bvsdiv", "bvsrem"] {
                        prods.push(t(format!("({op} {me} {me})")));
                    }
                }
                prods.push(t(format!("(ite {b} {me} {me})")));
            }
            Sort::Int => {
                // -1 picks the last field of a text result (`str.field path "/" -1`).
                let small: &[i128] = if out == Sort::String { &[0, 1, -1] } else { &[0, 1] };
                for &c in small {
                    prods.push(Production::Term(Term::leaf(Op::Const(Value::Int(c)))));
                }
                let mut int_constants: Vec<i128> = small.to_vec();
                let numbers = harvested
                    .iter()
                    .filter_map(|v| if let Value::Int(i) = v { Some(*i) } else { None })
                    .chain(described_numbers.iter().map(|n| i128::from(*n)));
                for i in numbers {
                    if !int_constants.contains(&i) {
                        int_constants.push(i);
                        prods.push(Production::Term(Term::leaf(Op::Const(Value::Int(i)))));
                    }
                }
                prods.push(t(format!("(+ {me} {me})")));
                prods.push(t(format!("(- {me} {me})")));
                if !sorts.contains(&Sort::String) {
                    prods.push(t(format!("(* {me} {me})")));
                }
                if sorts.contains(&Sort::String) {
                    let sn = nt_name(Sort::String);
                    prods.push(t(format!("(str.len {sn})")));
                    prods.push(t(format!("(str.indexof {sn} {sn} {me})")));
                    prods.push(t(format!("(str.to_int {sn})")));
                }
                prods.push(t(format!("(ite {b} {me} {me})")));
            }
            Sort::String => {
                for c in ["", " "] {
                    prods.push(Production::Term(Term::leaf(Op::Const(Value::str(c)))));
                }
                let mut strings: Vec<Value> = vec![Value::str(""), Value::str(" ")];
                let quoted = described_strings.iter().map(|q| Value::str(q.as_str()));
                let harvested = harvested.iter().filter(|v| matches!(v, Value::Str(_))).cloned();
                for v in harvested.chain(quoted).chain(input_separators(problem)) {
                    if !strings.contains(&v) {
                        strings.push(v.clone());
                        prods.push(Production::Term(Term::leaf(Op::Const(v))));
                    }
                }
                let i = nt_name(Sort::Int);
                prods.push(t(format!("(str.++ {me} {me})")));
                // Text operators for text results: where strings only feed a number, they
                // would widen the search without helping it. Of two programs of one cost,
                // the search keeps the first: a field or a replacement before fixed
                // positions, which hold only while the data keeps its widths.
                if out == Sort::String {
                    for op in ["str.to_upper", "str.to_lower", "str.to_title", "str.trim"] {
                        prods.push(t(format!("({op} {me})")));
                    }
                    prods.push(t(format!("(str.field {me} {me} {i})")));
                }
                prods.push(t(format!("(str.replace {me} {me} {me})")));
                if out == Sort::String {
                    prods.push(t(format!("(str.replace_all {me} {me} {me})")));
                    prods.push(t(format!("(str.pad_left {me} {i} {me})")));
                    prods.push(t(format!("(str.repeat {me} {i})")));
                }
                prods.push(t(format!("(str.substr {me} {i} {i})")));
                prods.push(t(format!("(str.at {me} {i})")));
                prods.push(t(format!("(str.from_int {i})")));
                prods.push(t(format!("(ite {b} {me} {me})")));
            }
            Sort::Bool => {
                prods.push(t(format!("(not {me})")));
                prods.push(t(format!("(and {me} {me})")));
                prods.push(t(format!("(or {me} {me})")));
                for &o in &sorts {
                    let on = nt_name(o);
                    match o {
                        Sort::BitVec(_) => {
                            prods.push(t(format!("(= {on} {on})")));
                            prods.push(t(format!("(bvult {on} {on})")));
                            prods.push(t(format!("(bvslt {on} {on})")));
                        }
                        Sort::Int => {
                            prods.push(t(format!("(= {on} {on})")));
                            prods.push(t(format!("(<= {on} {on})")));
                            prods.push(t(format!("(< {on} {on})")));
                        }
                        Sort::String => {
                            prods.push(t(format!("(str.prefixof {on} {on})")));
                            prods.push(t(format!("(str.suffixof {on} {on})")));
                            prods.push(t(format!("(str.contains {on} {on})")));
                            prods.push(t(format!("(= {on} {on})")));
                        }
                        Sort::Bool => {}
                    }
                }
                prods.extend(threshold_predicates(problem, &sorts));
            }
        }
        nts.push(NonTerminal { name: me, sort: s, productions: prods });
    }
    Grammar { nonterminals: nts }
}

/// Compiles a grammar over the problem's examples.
///
/// # Errors
///
/// A production that fails to evaluate as a constant (e.g. an ill-typed literal).
pub(crate) fn compile(
    problem: &Problem,
    grammar: &Grammar,
    guide: &dyn Guide,
    inputs: &[Column],
) -> Result<CGrammar, EvalError> {
    let n = problem.examples.len();
    let nt_index = |name: &str| grammar.nonterminals.iter().position(|nt| nt.name == name);
    let harvested = harvest_constants(problem);
    let mut nts = Vec::new();
    for nt in &grammar.nonterminals {
        let mut prods = Vec::new();
        let mut seen_leaf: Vec<Term> = Vec::new();
        let mut add_term = |prods: &mut Vec<CProd>, t: &Term| -> Result<(), EvalError> {
            // Replace nonterminal leaves by numbered holes.
            let mut print = Term::new();
            let mut holes = Vec::new();
            for node in t.nodes() {
                let op = match &node.op {
                    Op::Var(v) if node.children.is_empty() => match nt_index(v) {
                        Some(i) => {
                            holes.push(i);
                            Op::Var(Arc::from(hole_name(holes.len() - 1).as_str()))
                        }
                        None => node.op.clone(),
                    },
                    other => other.clone(),
                };
                print.add(op, &node.children);
            }
            if holes.is_empty() {
                if seen_leaf.contains(&print) {
                    return Ok(());
                }
                seen_leaf.push(print.clone());
            }
            let info = ProductionInfo { nonterminal: &nt.name, sort: nt.sort, production: t, holes: holes.len() };
            let cost = guide.production_cost(&info).clamp(1, 16);
            let plan = plan_for(&print, &holes, problem, inputs, n)?;
            prods.push(CProd { print, holes, cost, plan });
            Ok(())
        };
        for p in &nt.productions {
            match p {
                Production::Term(t) => add_term(&mut prods, t)?,
                Production::AnyVar(s) => {
                    for prm in problem.params.iter().filter(|prm| prm.ty.sort == *s) {
                        add_term(&mut prods, &Term::var(&prm.name))?;
                    }
                }
                Production::AnyConst(s) => {
                    let mut consts: Vec<Value> = harvested.iter().filter(|v| v.sort() == *s).cloned().collect();
                    match s {
                        Sort::BitVec(w) => {
                            consts.extend([Value::bv(*w, 0), Value::bv(*w, 1), Value::bv(*w, width_mask(*w))])
                        }
                        Sort::Int => consts.extend([Value::Int(0), Value::Int(1)]),
                        Sort::String => consts.extend([Value::str(""), Value::str(" ")]),
                        Sort::Bool => consts.extend([Value::Bool(true), Value::Bool(false)]),
                    }
                    for c in consts {
                        add_term(&mut prods, &Term::leaf(Op::Const(c)))?;
                    }
                }
            }
        }
        nts.push(CNt { prods });
    }
    // Follow unit productions from the start symbol when they are its only production.
    let mut start = 0;
    let mut hops = 0;
    while nts[start].prods.len() == 1 && matches!(nts[start].prods[0].plan, Plan::Chain) && hops < nts.len() {
        start = nts[start].prods[0].holes[0];
        hops += 1;
    }
    Ok(CGrammar { nts, start })
}

fn plan_for(print: &Term, holes: &[usize], problem: &Problem, inputs: &[Column], n: usize) -> Result<Plan, EvalError> {
    let root = print.node(print.root());
    if holes.is_empty() {
        let binds: Vec<(&str, &Column)> = problem.params.iter().map(|p| p.name.as_str()).zip(inputs.iter()).collect();
        return Ok(Plan::Leaf(crate::dsl::eval_term(print, &binds, &problem.funs, n)?));
    }
    if print.nodes().len() == 1 {
        return Ok(Plan::Chain);
    }
    let direct = !matches!(root.op, Op::Call(_) | Op::Var(_) | Op::Const(_))
        && root.children.len() == holes.len()
        && root
            .children
            .iter()
            .enumerate()
            .all(|(k, c)| matches!(&print.node(*c).op, Op::Var(v) if hole_index(v) == Some(k)));
    if direct {
        return Ok(Plan::Direct(root.op.clone()));
    }
    let mut nodes = Vec::new();
    let params: Vec<(&str, &Column)> = problem.params.iter().map(|p| p.name.as_str()).zip(inputs.iter()).collect();
    let root_idx = inline(print, print.root(), &[], &params, &problem.funs, n, &mut nodes, 0)?;
    debug_assert_eq!(root_idx + 1, nodes.len());
    Ok(Plan::Template(nodes))
}

/// Flattens a template into `out`, inlining macros. `bound` maps macro
/// parameter names to already-emitted template nodes.
#[expect(clippy::too_many_arguments, reason = "recursive helper")]
fn inline(
    t: &Term,
    id: Id,
    bound: &[(String, usize)],
    params: &[(&str, &Column)],
    funs: &FunDefs,
    n: usize,
    out: &mut Vec<TNode>,
    depth: usize,
) -> Result<usize, EvalError> {
    if depth > 32 {
        return Err(EvalError::CallDepth(32));
    }
    let node = t.node(id);
    let idx = match &node.op {
        Op::Var(v) => {
            if let Some(k) = hole_index(v) {
                out.push(TNode::Hole(k));
            } else if let Some((_, i)) = bound.iter().rev().find(|(b, _)| **b == **v) {
                return Ok(*i);
            } else {
                let col = params
                    .iter()
                    .find(|(p, _)| *p == &**v)
                    .map(|(_, c)| (*c).clone())
                    .ok_or_else(|| EvalError::UnboundVariable(v.to_string()))?;
                out.push(TNode::Fixed(col));
            }
            out.len() - 1
        }
        Op::Const(c) => {
            out.push(TNode::Fixed(Column::splat(c, n)));
            out.len() - 1
        }
        Op::Call(f) => {
            let def = funs.get(&**f).ok_or_else(|| EvalError::UnknownFunction(f.to_string()))?;
            let mut args = Vec::new();
            for c in &node.children {
                args.push(inline(t, *c, bound, params, funs, n, out, depth)?);
            }
            let inner: Vec<(String, usize)> = def.params.iter().map(|(p, _)| p.clone()).zip(args).collect();
            return inline(&def.body, def.body.root(), &inner, params, funs, n, out, depth + 1);
        }
        op => {
            let mut args = SmallVec::new();
            for c in &node.children {
                args.push(inline(t, *c, bound, params, funs, n, out, depth)?);
            }
            // Fold constant subtrees now.
            let fixed: Option<Vec<&Column>> = args
                .iter()
                .map(|&a: &usize| match &out[a] {
                    TNode::Fixed(c) => Some(c),
                    _ => None,
                })
                .collect();
            if let Some(cols) = fixed {
                let c = apply(op, &cols)?;
                out.push(TNode::Fixed(c));
            } else {
                out.push(TNode::Apply(op.clone(), args));
            }
            out.len() - 1
        }
    };
    Ok(idx)
}

/// Evaluates a production on its children's columns.
pub(crate) fn eval_plan(plan: &Plan, kids: &[&Column]) -> Result<Column, EvalError> {
    match plan {
        Plan::Leaf(c) => Ok(c.clone()),
        Plan::Chain => Ok(kids[0].clone()),
        Plan::Direct(op) => apply(op, kids),
        Plan::Template(nodes) => {
            let mut vals: Vec<Option<Column>> = vec![None; nodes.len()];
            for (i, nd) in nodes.iter().enumerate() {
                let v = match nd {
                    TNode::Hole(_) | TNode::Fixed(_) => None,
                    TNode::Apply(op, args) => {
                        let cols: Vec<&Column> = args
                            .iter()
                            .map(|&a| match &nodes[a] {
                                TNode::Hole(k) => kids[*k],
                                TNode::Fixed(c) => c,
                                TNode::Apply(..) => vals[a].as_ref().expect("evaluated before use"),
                            })
                            .collect();
                        Some(apply(op, &cols)?)
                    }
                };
                vals[i] = v;
            }
            Ok(match nodes.last().expect("non-empty template") {
                TNode::Hole(k) => kids[*k].clone(),
                TNode::Fixed(c) => c.clone(),
                TNode::Apply(..) => vals.pop().flatten().expect("root evaluated"),
            })
        }
    }
}

/// Replaces the holes of a production by the given terms.
pub(crate) fn instantiate(print: &Term, kids: &[Term]) -> Term {
    let mut out = Term::new();
    let mut map: Vec<Id> = Vec::with_capacity(print.nodes().len());
    for node in print.nodes() {
        let id = match &node.op {
            Op::Var(v) if node.children.is_empty() && hole_index(v).is_some() => {
                let k = hole_index(v).expect("hole");
                out.add_term(&kids[k], kids[k].root())
            }
            op => {
                let ch: SmallVec<[Id; 3]> = node.children.iter().map(|c| map[c.index()]).collect();
                out.add(op.clone(), &ch)
            }
        };
        map.push(id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::UniformGuide;
    use crate::spec::sygus;

    #[test]
    fn thresholds_are_the_roundest_numbers_between_the_observed_values() {
        assert_eq!(roundest_in(497, 512), 500);
        assert_eq!(roundest_in(9, 12), 10);
        assert_eq!(roundest_in(1000, 1100), 1024);
        assert_eq!(roundest_in(999, 1030), 1000);
        assert_eq!(roundest_in(-3, 4), 0);
        assert_eq!(roundest_in(41, 43), 42);
        assert_eq!(roundest_in(1_000_000, 1_100_000), 1_048_576);
        // Between two neighbours 7 and 8 only 8 separates them.
        assert_eq!(roundest_in(7, 8), 8);
    }

    #[test]
    fn description_constants_and_round_thresholds_enter_the_default_grammar() {
        let json = r#"{"function": "fee", "description": "200 per started hour, at most 2000",
            "params": [{"name": "m", "type": "i32"}], "output_type": "i32", "examples": [
            {"args": [0], "output": 0}, {"args": [95], "output": 400}, {"args": [499], "output": 1800},
            {"args": [512], "output": 2000}]}"#;
        let p = crate::spec::Examples::from_json(json).unwrap().to_problem().unwrap();
        let g = default_grammar(&p);
        let text: Vec<String> = g
            .nonterminals
            .iter()
            .flat_map(|n| {
                n.productions
                    .iter()
                    .filter_map(|p| if let Production::Term(t) = p { Some(t.to_string()) } else { None })
            })
            .collect();
        let all = text.join(" ");
        for c in ["#x000000c8", "#x000007d0", "#x0000003c"] {
            assert!(all.contains(c), "{c} (200, 2000, 60) missing: {all}");
        }
        // 500 separates 499 from 512; "at most 2000" is below 2001.
        for c in ["(bvslt m #x000001f4)", "(bvslt m #x000007d1)"] {
            assert!(all.contains(c), "{c} missing: {all}");
        }
        assert!(!all.contains("(bvslt m #x000001f3)"), "not 499: {all}");
    }

    fn text_problem(description: &str, examples: &[(&str, &str)]) -> Problem {
        let examples: Vec<serde_json::Value> =
            examples.iter().map(|(i, o)| serde_json::json!({"args": [i], "output": o})).collect();
        let json = serde_json::json!({"function": "f", "description": description,
            "params": [{"name": "s", "type": "string"}], "output_type": "string", "examples": examples});
        crate::spec::Examples::from_json(&json.to_string()).unwrap().to_problem().unwrap()
    }

    #[test]
    fn positions_copied_alike_in_every_example_become_integer_constants() {
        let p = text_problem("", &[("(555) 123-4567", "555"), ("(212) 555-0199", "212"), ("(408) 996-1010", "408")]);
        let c = copied_positions(&p);
        assert!(c.contains(&4) && c.contains(&3), "the end 4 and the length 3: {c:?}");
        // Ends and lengths that differ between examples are no constant, even when two of
        // them meet by chance ("12" ends at 3, "199" is 3 long).
        let p = text_problem("", &[("$12", "12"), ("$5", "5"), ("$199", "199")]);
        assert_eq!(copied_positions(&p), Vec::<i128>::new());
    }

    #[test]
    fn text_no_argument_supplies_becomes_a_string_constant() {
        let p = text_problem("", &[("42", "00042"), ("7", "00007"), ("12345", "12345")]);
        assert!(literal_pieces(&p).contains(&"0".to_owned()), "{:?}", literal_pieces(&p));
        let p = text_problem("", &[("John Smith", "J.S."), ("Alan Turing", "A.T."), ("Bob Li", "B.L.")]);
        let pieces = literal_pieces(&p);
        assert!(pieces.contains(&".".to_owned()), "{pieces:?}");
        assert!(!pieces.iter().any(|p| p == "J" || p == "A"), "one example's letters are no constant: {pieces:?}");
        // A label seen once is still a constant; an output built from the argument is not.
        let p = text_problem("", &[("rust", "no"), ("hello", "yes"), ("world", "yes"), ("kiwi", "KIWI!")]);
        assert_eq!(literal_outputs(&p), ["no", "yes"]);
        let p = text_problem("", &[("John Smith", "J.S."), ("Alan Turing", "A.T.")]);
        assert!(literal_outputs(&p).is_empty(), "initials are built from the name");
        // The words of a description name characters too.
        let p = text_problem("replace the dashes with dots", &[("a-b", "a.b"), ("c-d", "c.d")]);
        let all = default_grammar(&p).nonterminals.iter().flat_map(|n| n.productions.clone()).collect::<Vec<_>>();
        for c in ["\"-\"", "\".\""] {
            assert!(all.iter().any(|p| matches!(p, Production::Term(t) if t.to_string() == c)), "{c} missing");
        }
    }

    #[test]
    fn the_description_s_number_wins_the_gap_it_falls_in() {
        let json = r#"{"function": "group", "description": "adult under 65",
            "params": [{"name": "age", "type": "i32"}], "output_type": "i32", "examples": [
            {"args": [30], "output": 2}, {"args": [63], "output": 2}, {"args": [66], "output": 3}]}"#;
        let p = crate::spec::Examples::from_json(json).unwrap().to_problem().unwrap();
        let bool_nt = default_grammar(&p).nonterminals.into_iter().find(|n| n.sort == Sort::Bool).unwrap();
        let preds: Vec<String> = bool_nt
            .productions
            .iter()
            .filter_map(|p| if let Production::Term(t) = p { Some(t.to_string()) } else { None })
            .collect();
        assert!(preds.contains(&"(bvslt age #x00000041)".to_owned()), "{preds:?}");
        assert!(!preds.contains(&"(bvslt age #x00000040)".to_owned()), "64 is not said: {preds:?}");
        assert!(preds.contains(&"(bvslt age #x00000032)".to_owned()), "50 between 30 and 63: {preds:?}");
    }

    #[test]
    fn macros_are_inlined_and_printed_by_name() {
        let p = sygus::parse(
            "(define-fun smol ((x (_ BitVec 8))) (_ BitVec 8) (bvshl x #x01))
             (synth-fun f ((x (_ BitVec 8))) (_ BitVec 8) ((Start (_ BitVec 8))) ((Start (_ BitVec 8) (x (smol Start) (bvand Start #x0f)))))
             (constraint (= (f #x03) #x06))",
        )
        .unwrap()
        .problem;
        let inputs = p.input_columns();
        let g = compile(&p, p.grammar.as_ref().unwrap(), &UniformGuide, &inputs).unwrap();
        let nt = &g.nts[0];
        assert_eq!(nt.prods.len(), 3);
        let x = Column::Bv(8, vec![0x83]);
        assert_eq!(eval_plan(&nt.prods[1].plan, &[&x]).unwrap(), Column::Bv(8, vec![0x06]));
        assert_eq!(eval_plan(&nt.prods[2].plan, &[&x]).unwrap(), Column::Bv(8, vec![0x03]));
        let t = instantiate(&nt.prods[1].print, &["x".parse().unwrap()]);
        assert_eq!(t.to_string(), "(smol x)");
    }

    #[test]
    fn default_grammar_covers_signature() {
        let mut p = Problem::new(
            "f",
            vec![crate::spec::Param { name: "s".into(), ty: crate::spec::TypeSpec::of(Sort::String) }],
            crate::spec::TypeSpec::of(Sort::String),
        );
        p.examples.push(crate::spec::Example { args: vec![Value::str("a b")], output: Value::str("a-b") });
        let g = default_grammar(&p);
        let names: Vec<&str> = g.nonterminals.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["Start", "I", "B"]);
        assert!(g.nonterminals[0].productions.contains(&Production::Term(Term::leaf(Op::Const(Value::str("-"))))));
    }
}
