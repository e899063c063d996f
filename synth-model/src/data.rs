//! Synthetic training tasks.
//!
//! Each task is a random well-typed program (size 1–12) drawn from the
//! engine's default grammar for one of a few signatures (plus a handful of
//! extra constants), run by the engine's interpreter on edge and random
//! inputs, described in English by a template grammar with several phrasings
//! per operator and idioms for common compositions, and given simulated
//! trace features. Tasks are deduplicated by behaviour (outputs on a fixed
//! probe input set per signature, keeping the smallest program) and split
//! into train and test by a hash of that behaviour, so no behaviour is in
//! both. Everything is seeded.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synth_engine::dsl::{eval_term, width_mask, Column, FunDefs, Id, Op, Sort, Term, Value};
use synth_engine::search::default_grammar;
use synth_engine::spec::{cegis, Example, Grammar, Param, Problem, Production, TypeSpec};
use thiserror::Error;

use crate::labels::{common_constants, term_labels};
use crate::trace::TraceFeatures;

/// Errors of the task generator.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The configuration asks for nothing.
    #[error("invalid data configuration: {0}")]
    Config(String),
}

/// Generator settings.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DataConfig {
    /// Programs drawn (before deduplication).
    pub draws: usize,
    /// Examples per task.
    pub examples: usize,
    /// Largest program size.
    pub max_size: usize,
    /// Share of behaviours held out for testing, in percent.
    pub test_percent: u64,
    /// Seed.
    pub seed: u64,
}

impl Default for DataConfig {
    fn default() -> DataConfig {
        DataConfig { draws: 600_000, examples: 10, max_size: 12, test_percent: 5, seed: 0x7ace_5eed }
    }
}

/// One synthetic task.
#[derive(Clone, Debug)]
pub struct Task {
    /// Signature family (e.g. `u32->u32`).
    pub family: &'static str,
    /// The problem (signature, examples, description), as the search sees it.
    pub problem: Problem,
    /// The program that produced the outputs.
    pub program: Term,
    /// Its size.
    pub size: usize,
    /// Label indices appearing in the program.
    pub labels: Vec<usize>,
    /// Simulated trace features.
    pub features: TraceFeatures,
}

impl Task {
    /// The English description.
    #[must_use]
    pub fn description(&self) -> &str {
        self.problem.description.as_deref().unwrap_or("")
    }

    /// Another description of the task's program, drawn from the template grammar
    /// (training shows a task's words in many phrasings).
    #[must_use]
    pub fn rephrase(&self, rng: &mut ChaCha8Rng) -> Option<String> {
        families().iter().find(|f| f.name == self.family).map(|f| describe(&self.program, f, rng))
    }
}

/// Train and test tasks.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Training tasks.
    pub train: Vec<Task>,
    /// Held-out tasks (behaviours absent from `train`).
    pub test: Vec<Task>,
}

struct Family {
    name: &'static str,
    params: Vec<Param>,
    output: TypeSpec,
}

fn families() -> Vec<Family> {
    let p = |n: &str, t: &str| Param { name: n.into(), ty: TypeSpec::parse(t).expect("type") };
    let t = |s: &str| TypeSpec::parse(s).expect("type");
    vec![
        Family { name: "u32->u32", params: vec![p("x", "u32")], output: t("u32") },
        Family { name: "u32,u32->u32", params: vec![p("x", "u32"), p("y", "u32")], output: t("u32") },
        Family { name: "i32->i32", params: vec![p("x", "i32")], output: t("i32") },
        Family { name: "u64->u64", params: vec![p("x", "u64")], output: t("u64") },
        Family { name: "string->string", params: vec![p("s", "string")], output: t("string") },
        Family { name: "string,string->string", params: vec![p("s", "string"), p("t", "string")], output: t("string") },
        Family { name: "string->int", params: vec![p("s", "string")], output: t("int") },
        Family { name: "int,int->int", params: vec![p("x", "int"), p("y", "int")], output: t("int") },
    ]
}

/// The grammar programs are drawn from: the default grammar plus common constants.
fn generation_grammar(problem: &Problem) -> Grammar {
    let mut g = default_grammar(problem);
    for nt in &mut g.nonterminals {
        for v in common_constants(nt.sort) {
            nt.productions.push(Production::Term(Term::leaf(Op::Const(v))));
        }
    }
    g
}

/// Whether each label of [`crate::labels::LABELS`] can appear in a generated
/// program: the labels of the generation grammars' productions. The model learns
/// nothing about the others (`call`, `bvnand`, `concat`, …), so its outputs for
/// them are not evidence.
#[must_use]
pub fn generated_labels() -> Vec<bool> {
    let mut seen = vec![false; crate::labels::label_count()];
    for f in families() {
        let g = generation_grammar(&Problem::new("f", f.params.clone(), f.output));
        for nt in &g.nonterminals {
            for prod in &nt.productions {
                if let Production::Term(t) = prod {
                    for l in term_labels(t) {
                        seen[l] = true;
                    }
                }
            }
        }
    }
    seen
}

/// A production's fixed nodes and its holes (nonterminal indices), in order.
struct GenProd {
    template: Term,
    holes: Vec<usize>,
    fixed: usize,
}

struct GenGrammar {
    nts: Vec<Vec<GenProd>>,
    min: Vec<usize>,
}

fn compile(g: &Grammar) -> GenGrammar {
    let idx = |n: &str| g.nonterminals.iter().position(|nt| nt.name == n);
    let nts: Vec<Vec<GenProd>> = g
        .nonterminals
        .iter()
        .map(|nt| {
            nt.productions
                .iter()
                .filter_map(|p| match p {
                    Production::Term(t) => {
                        let holes: Vec<usize> = t
                            .nodes()
                            .iter()
                            .filter_map(|n| match &n.op {
                                Op::Var(v) if n.children.is_empty() => idx(v),
                                _ => None,
                            })
                            .collect();
                        Some(GenProd { template: t.clone(), fixed: t.nodes().len() - holes.len(), holes })
                    }
                    _ => None,
                })
                .collect()
        })
        .collect();
    let min = least_sizes(&nts, |p| (p.fixed, &p.holes));
    GenGrammar { nts, min }
}

/// Nodes of the smallest term of a production with `fixed` nodes and `holes` (their
/// nonterminals), given each nonterminal's least size `min`; saturates, so `usize::MAX`
/// stands for a nonterminal with no term.
pub(crate) fn least_nodes(fixed: usize, holes: &[usize], min: &[usize]) -> usize {
    holes.iter().fold(fixed, |a, h| a.saturating_add(min[*h]))
}

/// The least size of each nonterminal's terms, from its productions' fixed nodes and
/// holes (`shape`); `usize::MAX` for a nonterminal with no term.
pub(crate) fn least_sizes<P>(nts: &[Vec<P>], shape: impl Fn(&P) -> (usize, &[usize])) -> Vec<usize> {
    let mut min = vec![usize::MAX; nts.len()];
    for _ in 0..nts.len() + 2 {
        for (i, prods) in nts.iter().enumerate() {
            for p in prods {
                let (fixed, holes) = shape(p);
                let size = least_nodes(fixed, holes, &min);
                min[i] = min[i].min(size);
            }
        }
    }
    min
}

impl GenGrammar {
    /// A random term of nonterminal `nt` with at most `budget` nodes.
    fn sample(&self, g: &Grammar, nt: usize, budget: usize, rng: &mut ChaCha8Rng, depth: usize) -> Option<Term> {
        let fits: Vec<&GenProd> = self.nts[nt]
            .iter()
            .filter(|p| least_nodes(p.fixed, &p.holes, &self.min) <= budget)
            .filter(|p| depth < 8 || p.holes.is_empty())
            .collect();
        if fits.is_empty() {
            return None;
        }
        // Spend the budget: prefer productions with holes while it is large.
        let with_holes: Vec<&&GenProd> = fits.iter().filter(|p| !p.holes.is_empty()).collect();
        let p: &GenProd = if !with_holes.is_empty() && budget > 1 && rng.gen_bool(0.8) {
            with_holes[rng.gen_range(0..with_holes.len())]
        } else {
            fits[rng.gen_range(0..fits.len())]
        };
        let mut spare = budget - least_nodes(p.fixed, &p.holes, &self.min);
        let mut subs = Vec::with_capacity(p.holes.len());
        for (k, h) in p.holes.iter().enumerate() {
            let extra = if k + 1 == p.holes.len() { spare } else { rng.gen_range(0..=spare) };
            spare -= extra;
            subs.push(self.sample(g, *h, self.min[*h] + extra, rng, depth + 1)?);
        }
        fill_holes(&p.template, &subs, &|v| g.nonterminals.iter().any(|x| *x.name == *v))
    }
}

/// `template` with its holes (leaves naming a nonterminal: `is_nonterminal`) replaced by
/// `subs`, left to right; `None` when there are fewer `subs` than holes.
pub(crate) fn fill_holes(template: &Term, subs: &[Term], is_nonterminal: &dyn Fn(&str) -> bool) -> Option<Term> {
    let mut t = Term::new();
    let mut map: Vec<Id> = Vec::with_capacity(template.nodes().len());
    let mut next = 0;
    for n in template.nodes() {
        let is_hole = matches!(&n.op, Op::Var(v) if n.children.is_empty() && is_nonterminal(v));
        let id = if is_hole {
            let s = subs.get(next)?;
            next += 1;
            t.add_term(s, s.root())
        } else {
            let kids: Vec<Id> = n.children.iter().map(|c| map[c.index()]).collect();
            t.add(n.op.clone(), &kids)
        };
        map.push(id);
    }
    Some(t)
}

const WORDS: &[&str] = &[
    "hello", "world", "John", "Smith", "alice", "bob", "data", "file", "csv", "2024", "01", "15", "foo", "bar",
    "example", "com", "x", "Ab", "path", "to", "user", "name", "42", "7", "red", "Green", "BLUE", "key", "value", "id",
];
const SEPS: &[&str] = &[" ", ",", "-", ".", "@", "/", ":", ", ", "_"];

fn random_string(rng: &mut ChaCha8Rng) -> String {
    match rng.gen_range(0..10) {
        0 => String::new(),
        1 => WORDS.choose(rng).copied().unwrap_or("a").to_string(),
        _ => {
            let n = rng.gen_range(2..=4);
            let sep = SEPS.choose(rng).copied().unwrap_or(" ");
            (0..n).map(|_| WORDS.choose(rng).copied().unwrap_or("a")).collect::<Vec<_>>().join(sep)
        }
    }
}

fn random_input(sort: Sort, rng: &mut ChaCha8Rng, edges: &[Value]) -> Value {
    match sort {
        Sort::String => Value::str(&random_string(rng)),
        Sort::Int => {
            if rng.gen_bool(0.2) {
                edges[rng.gen_range(0..edges.len().min(7))].clone()
            } else {
                Value::Int(i128::from(rng.gen_range(-50i64..=200)))
            }
        }
        Sort::BitVec(w) => match rng.gen_range(0..5) {
            0 => edges[rng.gen_range(0..edges.len())].clone(),
            1 => Value::bv(w, rng.gen_range(0..256)),
            _ => cegis::random_value(sort, rng),
        },
        Sort::Bool => Value::Bool(rng.gen()),
    }
}

fn inputs_for(f: &Family, n: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<Value>> {
    let edges: Vec<Vec<Value>> = f.params.iter().map(|p| cegis::edge_values(p.ty.sort)).collect();
    let mut out: Vec<Vec<Value>> = Vec::with_capacity(n);
    let mut attempts = 0;
    while out.len() < n && attempts < n * 50 {
        attempts += 1;
        let row: Vec<Value> = f.params.iter().zip(&edges).map(|(p, e)| random_input(p.ty.sort, rng, e)).collect();
        if !out.contains(&row) {
            out.push(row);
        }
    }
    out
}

fn evaluate(f: &Family, t: &Term, inputs: &[Vec<Value>]) -> Option<Vec<Value>> {
    let cols: Vec<Column> = (0..f.params.len())
        .map(|i| Column::from_values(f.params[i].ty.sort, &inputs.iter().map(|r| r[i].clone()).collect::<Vec<_>>()))
        .collect::<Result<_, _>>()
        .ok()?;
    let binds: Vec<(&str, &Column)> = f.params.iter().map(|p| p.name.as_str()).zip(cols.iter()).collect();
    let out = eval_term(t, &binds, &FunDefs::new(), inputs.len()).ok()?;
    if out.sort() != f.output.sort {
        return None;
    }
    let vals: Vec<Value> = (0..out.len()).map(|i| out.get(i)).collect();
    // Keep outputs small enough to print and tokenize.
    if vals.iter().any(|v| matches!(v, Value::Str(s) if s.chars().count() > 60)) {
        return None;
    }
    Some(vals)
}

/// Whether an operator node has no variable below it (e.g. `(bvnot #x000000ff)`).
fn has_constant_subterm(t: &Term) -> bool {
    let mut var = vec![false; t.nodes().len()];
    for (i, n) in t.nodes().iter().enumerate() {
        var[i] = matches!(n.op, Op::Var(_)) || n.children.iter().any(|c| var[c.index()]);
        if !n.children.is_empty() && !var[i] {
            return true;
        }
    }
    false
}

fn hash_of(v: &impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// Generates the dataset; see the module documentation.
///
/// # Errors
///
/// [`DataError::Config`] for a configuration that yields nothing.
pub fn generate(config: &DataConfig) -> Result<Dataset, DataError> {
    if config.draws == 0 || config.examples == 0 || config.max_size == 0 {
        return Err(DataError::Config("draws, examples and max_size must be positive".into()));
    }
    let fams = families();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let prepared: Vec<(Grammar, GenGrammar, Vec<Vec<Value>>)> = fams
        .iter()
        .map(|f| {
            let problem = Problem::new("f", f.params.clone(), f.output);
            let g = generation_grammar(&problem);
            let gg = compile(&g);
            let probe = inputs_for(f, 24, &mut rng);
            (g, gg, probe)
        })
        .collect();
    // String programs collide more often (and fail more often): draw them more.
    let weights: Vec<u32> = fams.iter().map(|f| if f.name.contains("string") { 3 } else { 1 }).collect();
    let pick_family = WeightedIndex::new(&weights).map_err(|e| DataError::Config(e.to_string()))?;
    // Behaviour key -> (size, family, program).
    let mut best: HashMap<(usize, Vec<Value>), (usize, Term)> = HashMap::new();
    for _ in 0..config.draws {
        let fi = pick_family.sample(&mut rng);
        let (g, gg, probe) = &prepared[fi];
        let budget = rng.gen_range(1..=config.max_size);
        let Some(t) = gg.sample(g, 0, budget, &mut rng, 0) else { continue };
        if has_constant_subterm(&t) {
            continue; // solutions do not compute constants
        }
        let Some(outs) = evaluate(&fams[fi], &t, probe) else { continue };
        if outs.windows(2).all(|w| w[0] == w[1]) {
            continue; // a constant function
        }
        let size = t.size();
        let e = best.entry((fi, outs)).or_insert((usize::MAX, Term::new()));
        if size < e.0 {
            *e = (size, t);
        }
    }
    let mut keys: Vec<_> = best.into_iter().collect();
    // Deterministic order whatever the hash map did.
    keys.sort_by_key(|(k, (_, t))| (k.0, hash_of(&k.1), t.to_string()));
    let mut train = Vec::new();
    let mut test = Vec::new();
    for ((fi, outs), (size, program)) in keys {
        let f = &fams[fi];
        let inputs = inputs_for(f, config.examples, &mut rng);
        let Some(outputs) = evaluate(f, &program, &inputs) else { continue };
        let mut problem = Problem::new("f", f.params.clone(), f.output);
        problem.examples = inputs.into_iter().zip(outputs).map(|(args, output)| Example { args, output }).collect();
        problem.description = Some(describe(&program, f, &mut rng));
        let features = simulate_features(&program, f, &problem, &mut rng);
        let task = Task { family: f.name, labels: term_labels(&program), program, size, problem, features };
        if hash_of(&(fi, &outs)) % 100 < config.test_percent {
            test.push(task);
        } else {
            train.push(task);
        }
    }
    Ok(Dataset { train, test })
}

/// Simulated trace features: call counts, timing growing with the work the
/// program does, and a control-flow shape from its conditionals and the
/// string operations a C implementation would loop in.
fn simulate_features(t: &Term, f: &Family, p: &Problem, rng: &mut ChaCha8Rng) -> TraceFeatures {
    if rng.gen_bool(0.4) {
        return TraceFeatures::none();
    }
    let count = |pred: &dyn Fn(&Op) -> bool| t.nodes().iter().filter(|n| pred(&n.op)).count();
    let ites = count(&|o| matches!(o, Op::Ite));
    let loops = count(&|o| {
        matches!(
            o,
            Op::StrIndexOf
                | Op::StrReplace
                | Op::StrContains
                | Op::StrPrefixOf
                | Op::StrSuffixOf
                | Op::StrToInt
                | Op::StrFromInt
                | Op::StrLen
        )
    });
    let bools = count(&|o| matches!(o, Op::And | Op::Or));
    let calls: f64 = (rng.gen_range(2.0f64..9.0)).exp();
    let distinct = calls.min(rng.gen_range(5.0..300.0));
    let strlen = if f.params.iter().any(|q| q.ty.sort == Sort::String) { 12.0 } else { 0.0 };
    let dur = 25.0 + 6.0 * t.size() as f64 + loops as f64 * 4.0 * strlen + rng.gen_range(0.0..20.0);
    let branch = if ites > 0 {
        // Share of examples whose first conditional is true.
        let first = t.nodes().iter().find(|n| matches!(n.op, Op::Ite)).map(|n| n.children[0]);
        first
            .and_then(|c| {
                let mut sub = Term::new();
                sub.add_term(t, c);
                let inputs: Vec<Vec<Value>> = p.examples.iter().map(|e| e.args.clone()).collect();
                let fam = Family { name: f.name, params: f.params.clone(), output: TypeSpec::of(Sort::Bool) };
                evaluate(&fam, &sub, &inputs)
            })
            .map_or(0.5, |v| v.iter().filter(|b| matches!(b, Value::Bool(true))).count() as f64 / v.len().max(1) as f64)
    } else {
        0.0
    };
    TraceFeatures {
        calls: calls as u64,
        distinct_inputs: distinct as u64,
        mean_ns: dur,
        cv: rng.gen_range(0.05..0.6),
        on_cpu: rng.gen_range(0.85..1.0),
        blocks: (1 + 2 * ites + 2 * loops + bools) as u32,
        loops: loops as u32,
        branch_taken: branch,
    }
}

// ---------------------------------------------------------------- descriptions

fn pick<'a>(rng: &mut ChaCha8Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

fn fill(template: &str, args: &[String]) -> String {
    let mut s = template.to_string();
    for (i, a) in args.iter().enumerate() {
        s = s.replace(&format!("{{{i}}}"), a);
    }
    s
}

fn const_phrase(v: &Value, rng: &mut ChaCha8Rng) -> String {
    match v {
        Value::Str(s) => match &**s {
            "" => pick(rng, &["the empty string", "nothing", "an empty string"]).into(),
            " " => pick(rng, &["a space", "a blank", "\" \""]).into(),
            "," => pick(rng, &["a comma", "\",\"", "the comma"]).into(),
            "-" => pick(rng, &["a dash", "a hyphen", "\"-\""]).into(),
            "." => pick(rng, &["a dot", "a period", "\".\""]).into(),
            "@" => pick(rng, &["an at sign", "\"@\""]).into(),
            "/" => pick(rng, &["a slash", "\"/\""]).into(),
            ":" => pick(rng, &["a colon", "\":\""]).into(),
            other => format!("\"{other}\""),
        },
        Value::Bv { width, bits } => {
            if *bits == width_mask(*width) {
                pick(rng, &["all ones", "the all-ones mask", "0xffffffff", "-1"]).into()
            } else if *bits > 255 && bits.is_power_of_two() && *bits == 1 << (width - 1) {
                pick(rng, &["the sign bit", "the top bit", "0x80000000"]).into()
            } else if *bits >= 255 {
                format!("{bits:#x}")
            } else {
                bits.to_string()
            }
        }
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

fn var_phrase(name: &str, f: &Family, rng: &mut ChaCha8Rng) -> String {
    if f.params.len() == 1 {
        let noun = match f.params[0].ty.sort {
            Sort::String => pick(rng, &["the string", "the text", "the input", "s", "the input string"]),
            _ => pick(rng, &["x", "the number", "the input", "the value", "the word"]),
        };
        return noun.into();
    }
    match (name, rng.gen_range(0..3)) {
        (n, 0) => n.to_string(),
        ("x" | "s", 1) => "the first argument".into(),
        ("y" | "t", 1) => "the second argument".into(),
        (n, _) => format!("the {n}"),
    }
}

/// An English description of `t` from the template grammar.
fn describe(t: &Term, f: &Family, rng: &mut ChaCha8Rng) -> String {
    let body = phrase(t, t.root(), f, rng, 0);
    let lead =
        pick(rng, &["", "", "return ", "compute ", "returns ", "give ", "this function returns ", "it computes "]);
    format!("{lead}{body}")
}

fn is_one(t: &Term, id: Id) -> bool {
    matches!(&t.node(id).op, Op::Const(Value::Bv { bits: 1, .. }) | Op::Const(Value::Int(1)))
}

fn same(t: &Term, a: Id, b: Id) -> bool {
    t.to_sexpr_at(a) == t.to_sexpr_at(b)
}

fn phrase(t: &Term, id: Id, f: &Family, rng: &mut ChaCha8Rng, depth: usize) -> String {
    let n = t.node(id);
    let k = &n.children;
    // Idioms first.
    if let (Op::BvAnd, [a, b]) = (&n.op, k.as_slice()) {
        for (x, y) in [(*a, *b), (*b, *a)] {
            let yn = t.node(y);
            if matches!(yn.op, Op::BvSub) && same(t, yn.children[0], x) && is_one(t, yn.children[1]) {
                let xs = phrase(t, x, f, rng, depth + 1);
                return fill(
                    pick(
                        rng,
                        &[
                            "clear the lowest set bit of {0}",
                            "turn off the rightmost 1 bit in {0}",
                            "{0} with its lowest set bit cleared",
                            "reset the least significant set bit of {0}",
                        ],
                    ),
                    &[xs],
                );
            }
            if matches!(yn.op, Op::BvNeg) && same(t, yn.children[0], x) {
                let xs = phrase(t, x, f, rng, depth + 1);
                return fill(
                    pick(
                        rng,
                        &[
                            "isolate the lowest set bit of {0}",
                            "keep only the rightmost 1 bit of {0}",
                            "the lowest set bit of {0}",
                        ],
                    ),
                    &[xs],
                );
            }
        }
    }
    if let (Op::BvOr, [a, b]) = (&n.op, k.as_slice()) {
        for (x, y) in [(*a, *b), (*b, *a)] {
            let yn = t.node(y);
            if matches!(yn.op, Op::BvAdd) && same(t, yn.children[0], x) && is_one(t, yn.children[1]) {
                let xs = phrase(t, x, f, rng, depth + 1);
                return fill(
                    pick(rng, &["set the lowest clear bit of {0}", "turn on the rightmost 0 bit of {0}"]),
                    &[xs],
                );
            }
        }
    }
    if let (Op::StrSubstr, [s, z, len]) = (&n.op, k.as_slice()) {
        let ln = t.node(*len);
        if matches!(&t.node(*z).op, Op::Const(Value::Int(0)))
            && matches!(ln.op, Op::StrIndexOf)
            && same(t, ln.children[0], *s)
        {
            let ss = phrase(t, *s, f, rng, depth + 1);
            let sep = phrase(t, ln.children[1], f, rng, depth + 1);
            return fill(
                pick(
                    rng,
                    &[
                        "the text before the first {1} in {0}",
                        "take the part of {0} before the first {1}",
                        "everything in {0} up to the first {1}",
                        "the prefix of {0} ending before {1}",
                    ],
                ),
                &[ss, sep],
            );
        }
    }
    if let (Op::BvAdd | Op::Add, [a, b]) = (&n.op, k.as_slice()) {
        if same(t, *a, *b) {
            let xs = phrase(t, *a, f, rng, depth + 1);
            return fill(pick(rng, &["double {0}", "twice {0}", "{0} times two", "{0} multiplied by 2"]), &[xs]);
        }
    }
    if let (Op::BvShl, [a, b]) = (&n.op, k.as_slice()) {
        if is_one(t, *b) {
            let xs = phrase(t, *a, f, rng, depth + 1);
            return fill(pick(rng, &["double {0}", "shift {0} left by one", "{0} times two"]), &[xs]);
        }
    }
    if let (Op::BvLshr, [a, b]) = (&n.op, k.as_slice()) {
        if is_one(t, *b) {
            let xs = phrase(t, *a, f, rng, depth + 1);
            return fill(
                pick(rng, &["halve {0}", "shift {0} right by one", "{0} divided by two, rounding down"]),
                &[xs],
            );
        }
    }
    let args: Vec<String> = k.iter().map(|c| phrase(t, *c, f, rng, depth + 1)).collect();
    let templates: &[&str] = match &n.op {
        Op::Var(v) => return var_phrase(v, f, rng),
        Op::Const(v) => return const_phrase(v, rng),
        Op::BvNot => {
            &["the bitwise complement of {0}", "invert all bits of {0}", "flip every bit in {0}", "bitwise not {0}"]
        }
        Op::BvNeg => &["negate {0}", "the two's complement negation of {0}", "minus {0}", "the negative of {0}"],
        Op::BvAnd => &["the bitwise and of {0} and {1}", "{0} masked with {1}", "{0} AND {1}", "and {0} with {1}"],
        Op::BvOr => &[
            "the bitwise or of {0} and {1}",
            "{0} OR {1}",
            "set the bits of {1} in {0}",
            "combine the bits of {0} and {1}",
        ],
        Op::BvXor => {
            &["the exclusive or of {0} and {1}", "{0} XOR {1}", "toggle the bits of {1} in {0}", "xor {0} with {1}"]
        }
        Op::BvAdd | Op::Add => &["the sum of {0} and {1}", "{0} plus {1}", "add {1} to {0}", "{0} + {1}"],
        Op::BvSub | Op::Sub => {
            &["{0} minus {1}", "subtract {1} from {0}", "the difference of {0} and {1}", "{0} - {1}"]
        }
        Op::BvMul | Op::Mul => &["{0} times {1}", "multiply {0} by {1}", "the product of {0} and {1}", "{0} * {1}"],
        Op::BvUdiv | Op::BvSdiv | Op::Div => {
            &["{0} divided by {1}", "divide {0} by {1}", "the quotient of {0} and {1}", "{0} / {1}"]
        }
        Op::BvUrem | Op::BvSrem | Op::Mod => {
            &["{0} modulo {1}", "the remainder of {0} divided by {1}", "{0} mod {1}", "{0} % {1}"]
        }
        Op::BvShl => {
            &["shift {0} left by {1}", "{0} shifted left {1} bits", "{0} << {1}", "move the bits of {0} up by {1}"]
        }
        Op::BvLshr => &[
            "shift {0} right by {1}",
            "{0} logically shifted right by {1}",
            "{0} >> {1}",
            "move the bits of {0} down by {1}",
        ],
        Op::BvAshr => &[
            "arithmetic shift of {0} right by {1}",
            "{0} shifted right by {1} keeping the sign",
            "sign-preserving shift of {0} by {1}",
        ],
        Op::Ite => &[
            "if {0} then {1} otherwise {2}",
            "{1} when {0}, else {2}",
            "{1} if {0}, and {2} otherwise",
            "choose {1} when {0} holds, else {2}",
        ],
        Op::Not => &["not {0}", "it is not the case that {0}", "{0} is false"],
        Op::And => &["{0} and {1}", "both {0} and {1}"],
        Op::Or => &["{0} or {1}", "either {0} or {1}"],
        Op::Eq => &["{0} equals {1}", "{0} is {1}", "{0} is the same as {1}"],
        Op::BvUlt => &["{0} is below {1}", "{0} is less than {1} (unsigned)", "{0} < {1} unsigned"],
        Op::BvSlt => {
            &["{0} is less than {1} as signed numbers", "{0} < {1} signed", "{0} is smaller than {1} when signed"]
        }
        Op::Le => &["{0} is at most {1}", "{0} <= {1}", "{0} does not exceed {1}"],
        Op::Lt => &["{0} is less than {1}", "{0} < {1}", "{0} is smaller than {1}"],
        Op::StrConcat => {
            &["{0} followed by {1}", "concatenate {0} and {1}", "join {0} and {1}", "append {1} to {0}", "{0} then {1}"]
        }
        Op::StrLen => {
            &["the length of {0}", "how many characters {0} has", "the number of characters in {0}", "len of {0}"]
        }
        Op::StrSubstr => &[
            "the substring of {0} from {1} of length {2}",
            "take {2} characters of {0} starting at {1}",
            "a slice of {0} at {1} with length {2}",
        ],
        Op::StrAt => {
            &["the character of {0} at {1}", "the {1}th character of {0}", "the letter at position {1} in {0}"]
        }
        Op::StrIndexOf => &[
            "the position of {1} in {0} from {2}",
            "where {1} first occurs in {0} after {2}",
            "the index of {1} in {0}, searching from {2}",
            "find {1} in {0} starting at {2}",
        ],
        Op::StrReplace => &[
            "replace the first {1} in {0} with {2}",
            "{0} with its first {1} replaced by {2}",
            "substitute {2} for the first {1} in {0}",
        ],
        Op::StrPrefixOf => &["{1} starts with {0}", "{0} is a prefix of {1}", "{1} begins with {0}"],
        Op::StrSuffixOf => &["{1} ends with {0}", "{0} is a suffix of {1}", "{1} finishes with {0}"],
        Op::StrContains => &["{0} contains {1}", "{1} occurs in {0}", "{0} includes {1}"],
        Op::StrToInt => {
            &["{0} parsed as a number", "the number written in {0}", "convert {0} to an integer", "parse {0}"]
        }
        Op::StrFromInt => {
            &["{0} as text", "the decimal digits of {0}", "convert {0} to a string", "format {0} as a string"]
        }
        Op::Int2Bv(_) => &["{0}", "{0} as a machine integer", "{0} as a 32-bit number"],
        Op::ZeroExtend(_) | Op::SignExtend(_) => &["{0}", "{0} widened"],
        Op::Extract(..) => &["the low bits of {0}", "part of the bits of {0}"],
        _ => &["{0}"],
    };
    let s = fill(pick(rng, templates), &args);
    if depth > 0 && k.len() > 1 && rng.gen_bool(0.3) {
        format!("({s})")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synth_engine::dsl::sort_of;

    fn small() -> Dataset {
        generate(&DataConfig { draws: 30_000, examples: 8, max_size: 12, test_percent: 10, seed: 7 }).unwrap()
    }

    #[test]
    fn programs_are_well_typed_and_outputs_match_the_interpreter() {
        let d = small();
        assert!(d.train.len() > 300, "only {} tasks", d.train.len());
        assert!(!d.test.is_empty());
        for task in d.train.iter().chain(&d.test) {
            let p = &task.problem;
            let vars = p.param_sorts();
            assert_eq!(sort_of(&task.program, &vars, &FunDefs::new()).unwrap(), p.output.sort, "{}", task.program);
            assert!((1..=12).contains(&task.size), "size {}", task.size);
            for ex in &p.examples {
                let binds: Vec<(&str, Value)> = vars.iter().map(|(n, _)| *n).zip(ex.args.iter().cloned()).collect();
                let got = synth_engine::dsl::eval_one(&task.program, &binds, &FunDefs::new()).unwrap();
                assert_eq!(got, ex.output, "{}", task.program);
            }
            assert!(!task.description().is_empty());
        }
    }

    #[test]
    fn generation_is_reproducible_and_splits_share_no_behaviour() {
        let a = small();
        let b = small();
        let progs = |d: &Dataset| d.train.iter().map(|t| format!("{} {}", t.family, t.program)).collect::<Vec<_>>();
        assert_eq!(progs(&a), progs(&b));
        let train: std::collections::HashSet<String> = progs(&a).into_iter().collect();
        for t in &a.test {
            assert!(!train.contains(&format!("{} {}", t.family, t.program)));
        }
    }

    #[test]
    fn clear_lowest_bit_has_an_idiomatic_description() {
        let f = &families()[0];
        let t: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let d = describe(&t, f, &mut rng);
        assert!(d.contains("bit"), "{d}");
    }
}
