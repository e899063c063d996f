//! Bottom-up search over the list language, with lambdas.
//!
//! Terms are built in order of cost (each operator's cost from a [`ListGuide`], each
//! leaf 1). A closed term (no lambda argument in it) is kept only when its values on the
//! examples are new (observational equivalence). A lambda body is an *open* term over
//! `u1` (and `u2`); open terms are kept apart, in pools by arity and type, and are
//! compared on probe arguments: for each example, values drawn from that example's own
//! inputs. A higher-order operator takes a body from the open pool of its arity and
//! runs it, exactly, on the elements it is applied to. Open terms combine with closed
//! ones (`Max(u1, Head(x))`), so a lambda sees the function's parameters.
//!
//! As LambdaBeam's search does, intermediate integers are bounded: a value outside
//! `±bound` is dropped, the bound by default the examples' own largest magnitude rounded
//! up to a power of two.

use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use rustc_hash::{FxHashSet, FxHasher};

use super::program::{apply_list, apply_scalar, Expr, LType, LValue, ListOp, RunError, Slot};
use super::spec::ListProblem;
use crate::search::CancelToken;

/// Prices operators for the list search.
pub trait ListGuide: Send + Sync {
    /// The cost of one use of `op` in a program for `problem`; clamped to `1..=8`.
    fn op_cost(&self, op: ListOp, problem: &ListProblem) -> u32;

    /// Extra cost for a term the search built and kept, given its values on the examples
    /// (`values[e]` on example `e`, of type `ty`): guidance that reacts to what was built,
    /// as CrossBeam's and LambdaBeam's value models do. A term priced higher is combined
    /// into larger programs later; a term that meets the examples is still found at once.
    /// Clamped to `0..=`[`MAX_VALUE_COST`]; leaves are never repriced. None by default.
    fn value_cost(&self, _ty: LType, _values: &[LValue], _problem: &ListProblem) -> u32 {
        0
    }

    /// A second guide for `problem`, with the share of the time limit this one gets: should
    /// the search under this guide run out of that share without an answer, the search
    /// starts afresh under the second for the time left. For guidance that pays on hard
    /// tasks and costs on easy ones (the value model), behind a guide that answers the easy
    /// ones quickly. A search that ends for any other reason (an answer, the whole program
    /// space, another limit) ends there. None by default.
    fn then(&self, _problem: &ListProblem) -> Option<(&dyn ListGuide, f64)> {
        None
    }
}

/// The most [`ListGuide::value_cost`] may add to a term's cost.
pub const MAX_VALUE_COST: u32 = 3;

/// Every operator costs 1: enumeration by program size.
#[derive(Clone, Copy, Debug, Default)]
pub struct UniformListGuide;

impl ListGuide for UniformListGuide {
    fn op_cost(&self, _op: ListOp, _problem: &ListProblem) -> u32 {
        1
    }
}

/// LambdaBeam's and DeepCoder's operators cost 1, the others the language has (`Modulo`,
/// `Product`, `Length`, `Replicate`) 2: with two to five examples, a rarely needed
/// operator mostly buys a spurious fit, so it is tried after the common ones of the same
/// size. The default prior until a learned one pays.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreOpsFirst;

impl ListGuide for CoreOpsFirst {
    fn op_cost(&self, op: ListOp, _problem: &ListProblem) -> u32 {
        match op {
            ListOp::Modulo | ListOp::Product | ListOp::Length | ListOp::Replicate => 2,
            _ => 1,
        }
    }
}

/// Limits on one list search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListLimits {
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Largest program cost enumerated.
    pub max_cost: u32,
    /// Limit on candidate terms evaluated.
    pub max_candidates: u64,
    /// Limit on terms kept (closed and open together).
    pub max_kept: usize,
    /// Bound on intermediate integers; `None` derives it from the examples.
    pub value_bound: Option<i64>,
    /// Operators the search may use.
    pub ops: Vec<ListOp>,
    /// Integer literals the search may use (the description's numbers are added).
    pub constants: Vec<i64>,
    /// Largest cost of a lambda body that uses its arguments (a body that ignores them is
    /// any closed term).
    pub max_lambda_cost: u32,
    /// Largest cost of a closed term inside such a body (`Max(u1, Head(xs))`).
    pub max_lambda_closed_part: u32,
}

impl Default for ListLimits {
    fn default() -> ListLimits {
        ListLimits {
            timeout: Duration::from_secs(10),
            max_cost: 40,
            max_candidates: 2_000_000_000,
            max_kept: 6_000_000,
            value_bound: None,
            ops: ListOp::ALL.to_vec(),
            constants: vec![-1, 0, 1, 2, 3, 4],
            max_lambda_cost: 6,
            max_lambda_closed_part: 3,
        }
    }
}

/// Counters of one search.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ListStats {
    /// Candidate terms evaluated.
    pub candidates: u64,
    /// Closed terms kept.
    pub closed: usize,
    /// Lambda bodies kept.
    pub lambdas: usize,
    /// The last cost level reached.
    pub cost: u32,
    /// Wall-clock time in milliseconds.
    pub elapsed_ms: u64,
}

/// How a list search ended.
#[derive(Clone, Debug, PartialEq)]
pub enum ListOutcome {
    /// A program that meets every example.
    Found {
        /// The program.
        program: Expr,
        /// Counters.
        stats: ListStats,
    },
    /// None within the limits; the reason says which.
    NotFound {
        /// Which limit ended the search.
        reason: String,
        /// Counters.
        stats: ListStats,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    Input(usize),
    Const(i64),
    Bound(u8),
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Leaf(Leaf),
    Op(ListOp),
}

#[derive(Clone, Copy, Debug)]
struct Node {
    kind: Kind,
    kids: [u32; 3],
    /// Index into `closed_cols` for a closed term, into `probe_cols` for an open one.
    col: u32,
    open: bool,
    /// The term's cost without value prices: its operators' costs and its leaves.
    size: u32,
}

/// Where the terms of one pool come from: closed terms of a type, or open terms of a
/// lambda arity and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pool {
    Closed(LType),
    Open(u8, LType),
}

impl Pool {
    fn index(self) -> usize {
        let t = |t: LType| match t {
            LType::Int => 0,
            LType::Bool => 1,
            LType::List => 2,
        };
        match self {
            Pool::Closed(ty) => t(ty),
            Pool::Open(a, ty) => 3 + usize::from(a - 1) * 2 + t(ty).min(1),
        }
    }
}

const POOLS: usize = 7;

/// One probe of a lambda body: the example it belongs to and the lambda's arguments.
#[derive(Clone, Copy, Debug)]
struct Probe {
    example: usize,
    u: [i64; 2],
}

/// A sentinel for "no value" in a probe column.
const NONE: i64 = i64::MIN;

enum Stop {
    Found(u32),
    /// The time limit.
    Time,
    /// Another limit, or the whole program space searched.
    Limit(String),
}

struct Search<'a> {
    problem: &'a ListProblem,
    guide: &'a dyn ListGuide,
    limits: &'a ListLimits,
    cancel: &'a CancelToken,
    /// None when the time limit is past what a clock can show.
    deadline: Option<Instant>,
    bound: i64,
    /// Cost of each operator, by `op as usize`.
    op_cost: Vec<u32>,
    nodes: Vec<Node>,
    closed_cols: Vec<Vec<LValue>>,
    probe_cols: Vec<Vec<i64>>,
    /// `pools[p][cost]`: node ids.
    pools: [Vec<Vec<u32>>; POOLS],
    /// Hashes of the kept closed terms' columns (64 bits: a collision, about one in
    /// 10^7 at a million terms, could only hide a term, never admit a wrong one).
    seen_closed: FxHashSet<u64>,
    seen_open: FxHashSet<(usize, u64)>,
    probes: [Vec<Probe>; 2],
    target: Vec<LValue>,
    stats: ListStats,
    started: Instant,
}

/// Examples [`synthesize_lists_incrementally`] searches at first; the rest check the answer.
pub const SEARCH_EXAMPLES: usize = 24;

/// Most examples a program got wrong that join the search at once.
const ADDED_PER_ROUND: usize = 4;

impl ListStats {
    /// Adds another search's counters (the last cost level is the larger).
    pub(super) fn add(&mut self, other: &ListStats) {
        self.candidates += other.candidates;
        self.closed += other.closed;
        self.lambdas += other.lambdas;
        self.cost = self.cost.max(other.cost);
    }
}

/// [`synthesize_lists`] for a task with many examples (a live function's calls): searches
/// an even spread of [`SEARCH_EXAMPLES`] of them, checks the program found on all, and adds
/// a few it gets wrong before searching again, all within the one time limit. The answer
/// meets every example and is as small as the search over all of them would find (it is
/// the smallest for fewer examples), while each search is much quicker: fewer examples
/// to evaluate, and more terms that agree on them.
#[must_use]
pub fn synthesize_lists_incrementally(
    problem: &ListProblem,
    limits: &ListLimits,
    guide: &dyn ListGuide,
    cancel: &CancelToken,
) -> ListOutcome {
    let n = problem.examples.len();
    if n <= SEARCH_EXAMPLES {
        return synthesize_lists(problem, limits, guide, cancel);
    }
    let started = Instant::now();
    let mut chosen: Vec<usize> = (0..SEARCH_EXAMPLES).map(|k| k * n / SEARCH_EXAMPLES).collect();
    let mut total = ListStats::default();
    loop {
        let part =
            ListProblem { examples: chosen.iter().map(|&i| problem.examples[i].clone()).collect(), ..problem.clone() };
        let left = ListLimits { timeout: limits.timeout.saturating_sub(started.elapsed()), ..limits.clone() };
        let outcome = synthesize_lists(&part, &left, guide, cancel);
        let (ListOutcome::Found { stats, .. } | ListOutcome::NotFound { stats, .. }) = &outcome;
        total.add(stats);
        total.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let program = match outcome {
            ListOutcome::Found { program, .. } => program,
            ListOutcome::NotFound { reason, .. } => return ListOutcome::NotFound { reason, stats: total },
        };
        let wrong: Vec<usize> = (0..n)
            .filter(|i| !chosen.contains(i))
            .filter(|&i| {
                let (args, want) = &problem.examples[i];
                !program.meets(args, want)
            })
            .take(ADDED_PER_ROUND)
            .collect();
        if wrong.is_empty() {
            return ListOutcome::Found { program, stats: total };
        }
        chosen.extend(wrong);
    }
}

/// Searches for the smallest program (by cost) that meets every example.
#[must_use]
pub fn synthesize_lists(
    problem: &ListProblem,
    limits: &ListLimits,
    guide: &dyn ListGuide,
    cancel: &CancelToken,
) -> ListOutcome {
    let Some((next, share)) = guide.then(problem) else {
        return search_once(problem, limits, guide, cancel).0;
    };
    let started = Instant::now();
    let share = if share.is_nan() { 1.0 } else { share.clamp(0.0, 1.0) };
    let first_time = Duration::try_from_secs_f64(limits.timeout.as_secs_f64() * share).unwrap_or(limits.timeout);
    let first = ListLimits { timeout: first_time.min(limits.timeout), ..limits.clone() };
    let (outcome, timed_out) = search_once(problem, &first, guide, cancel);
    let ListOutcome::NotFound { stats: before, .. } = &outcome else { return outcome };
    if !timed_out {
        return outcome;
    }
    let rest = ListLimits { timeout: limits.timeout.saturating_sub(started.elapsed()), ..limits.clone() };
    let mut outcome = synthesize_lists(problem, &rest, next, cancel);
    let (ListOutcome::Found { stats, .. } | ListOutcome::NotFound { stats, .. }) = &mut outcome;
    stats.add(before);
    stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let ListOutcome::NotFound { reason, .. } = &mut outcome {
        if reason.starts_with(TIME_LIMIT) {
            *reason = time_limit(limits.timeout);
        }
    }
    outcome
}

/// How a [`ListOutcome::NotFound`] that ran out of time begins.
const TIME_LIMIT: &str = "time limit";

fn time_limit(timeout: Duration) -> String {
    format!("{TIME_LIMIT} ({:.1} s)", timeout.as_secs_f64())
}

/// One search under `guide` alone, and whether it ran out of time.
fn search_once(
    problem: &ListProblem,
    limits: &ListLimits,
    guide: &dyn ListGuide,
    cancel: &CancelToken,
) -> (ListOutcome, bool) {
    let mut s = Search::new(problem, limits, guide, cancel);
    let stop = s.run();
    s.stats.elapsed_ms = u64::try_from(s.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match stop {
        Stop::Found(id) => (ListOutcome::Found { program: s.expr(id).folded(), stats: s.stats }, false),
        Stop::Time => (ListOutcome::NotFound { reason: time_limit(limits.timeout), stats: s.stats }, true),
        Stop::Limit(reason) => (ListOutcome::NotFound { reason, stats: s.stats }, false),
    }
}

fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = FxHasher::default();
    v.hash(&mut h);
    h.finish()
}

fn derived_bound(problem: &ListProblem) -> i64 {
    let mut m: i64 = 1;
    let mut see = |v: &LValue| match v {
        LValue::Int(x) => m = m.max(x.saturating_abs()),
        LValue::List(l) => l.iter().for_each(|x| m = m.max(x.saturating_abs())),
        LValue::Bool(_) => {}
    };
    for (args, out) in &problem.examples {
        args.iter().for_each(&mut see);
        see(out);
    }
    u64::try_from(m).map_or(i64::MAX, |m| i64::try_from(m.next_power_of_two()).unwrap_or(i64::MAX))
}

/// For each example, a few of its own integers (scalar arguments and list elements),
/// with 0 and 1: the arguments lambda bodies are compared on.
fn probes(problem: &ListProblem) -> [Vec<Probe>; 2] {
    let mut one = Vec::new();
    let mut two = Vec::new();
    for (e, (args, _)) in problem.examples.iter().enumerate() {
        let mut vals: Vec<i64> = Vec::new();
        let push = |x: i64, vals: &mut Vec<i64>| {
            if !vals.contains(&x) {
                vals.push(x);
            }
        };
        for a in args {
            match a {
                LValue::Int(x) => push(*x, &mut vals),
                LValue::List(l) => l.iter().take(6).for_each(|x| push(*x, &mut vals)),
                LValue::Bool(_) => {}
            }
        }
        for x in [0, 1, -1] {
            push(x, &mut vals);
        }
        vals.truncate(9);
        one.extend(vals.iter().map(|&x| Probe { example: e, u: [x, 0] }));
        let few = &vals[..vals.len().min(4)];
        for &a in few {
            for &b in few {
                two.push(Probe { example: e, u: [a, b] });
            }
        }
    }
    [one, two]
}

impl<'a> Search<'a> {
    fn new(
        problem: &'a ListProblem,
        limits: &'a ListLimits,
        guide: &'a dyn ListGuide,
        cancel: &'a CancelToken,
    ) -> Search<'a> {
        let started = Instant::now();
        let mut op_cost = vec![1; ListOp::ALL.len()];
        for &op in &limits.ops {
            op_cost[op as usize] = guide.op_cost(op, problem).clamp(1, 8);
        }
        Search {
            problem,
            guide,
            limits,
            cancel,
            deadline: started.checked_add(limits.timeout),
            bound: limits.value_bound.unwrap_or_else(|| derived_bound(problem)),
            op_cost,
            nodes: Vec::new(),
            closed_cols: Vec::new(),
            probe_cols: Vec::new(),
            pools: Default::default(),
            seen_closed: FxHashSet::with_capacity_and_hasher(1 << 20, Default::default()),
            seen_open: FxHashSet::with_capacity_and_hasher(1 << 18, Default::default()),
            probes: probes(problem),
            target: problem.examples.iter().map(|(_, o)| o.clone()).collect(),
            stats: ListStats::default(),
            started,
        }
    }

    fn run(&mut self) -> Stop {
        if let Err(stop) = self.leaves() {
            return stop;
        }
        for cost in 2..=self.limits.max_cost {
            self.stats.cost = cost;
            for p in &mut self.pools {
                if p.len() <= cost as usize {
                    p.resize_with(cost as usize + 1, Vec::new);
                }
            }
            for &op in &self.limits.ops {
                let c = self.op_cost[op as usize];
                if c >= cost {
                    continue;
                }
                let outs: &[Pool] = match op.result() {
                    LType::List => &[Pool::Closed(LType::List)],
                    ty if op.is_scalar() || op == ListOp::Access => {
                        &[Pool::Open(1, ty), Pool::Open(2, ty), Pool::Closed(ty)]
                    }
                    ty => &[Pool::Closed(ty)][..],
                };
                for &out in outs {
                    if let Err(stop) = self.produce(op, out, cost - c) {
                        return stop;
                    }
                }
            }
        }
        Stop::Limit(format!("no program of cost up to {}", self.limits.max_cost))
    }

    fn leaves(&mut self) -> Result<(), Stop> {
        for p in &mut self.pools {
            p.push(Vec::new()); // cost 0: nothing
            p.push(Vec::new());
        }
        for (i, (_, ty)) in self.problem.params.iter().enumerate() {
            let col: Vec<LValue> = self.problem.examples.iter().map(|(a, _)| a[i].clone()).collect();
            self.add_closed(Kind::Leaf(Leaf::Input(i)), [0; 3], *ty, col, 1)?;
        }
        let mut consts = self.limits.constants.clone();
        if let Some(d) = &self.problem.description {
            for v in crate::search::description_numbers(d) {
                if !consts.contains(&v) {
                    consts.push(v);
                }
            }
        }
        for c in consts {
            let col = vec![LValue::Int(c); self.problem.examples.len()];
            self.add_closed(Kind::Leaf(Leaf::Const(c)), [0; 3], LType::Int, col, 1)?;
        }
        for (arity, vars) in [(1u8, 1u8), (2, 2)] {
            for b in 0..vars {
                let col: Vec<i64> = self.probes[usize::from(arity - 1)].iter().map(|p| p.u[usize::from(b)]).collect();
                self.add_open(Kind::Leaf(Leaf::Bound(b)), [0; 3], Pool::Open(arity, LType::Int), col, 1);
            }
        }
        Ok(())
    }

    /// The pools a slot draws from when building a term for `out`.
    fn sources(slot: Slot, out: Pool) -> Vec<Pool> {
        match (slot, out) {
            // A lambda may ignore its arguments (`Scanl1(lambda u1, u2: Head(xs), ys)`).
            (Slot::Lambda(a, ty), Pool::Closed(_)) => vec![Pool::Open(a, ty), Pool::Closed(ty)],
            (Slot::Lambda(..), Pool::Open(..)) => Vec::new(),
            (Slot::Value(ty), Pool::Closed(_)) => vec![Pool::Closed(ty)],
            (Slot::Value(LType::List), Pool::Open(..)) => vec![Pool::Closed(LType::List)],
            (Slot::Value(ty), Pool::Open(a, _)) => vec![Pool::Open(a, ty), Pool::Closed(ty)],
        }
    }

    fn pool(&self, p: Pool, cost: u32) -> &[u32] {
        self.pools[p.index()].get(cost as usize).map_or(&[], Vec::as_slice)
    }

    /// Every term `op(children)` for `out` whose children cost `budget` together.
    fn produce(&mut self, op: ListOp, out: Pool, budget: u32) -> Result<(), Stop> {
        let slots = op.slots();
        let k = slots.len();
        if budget < k as u32 {
            return Ok(());
        }
        let sources: Vec<Vec<Pool>> = slots.iter().map(|s| Self::sources(*s, out)).collect();
        if sources.iter().any(Vec::is_empty) {
            return Ok(());
        }
        let open_out = matches!(out, Pool::Open(..));
        if open_out && budget + 1 > self.limits.max_lambda_cost {
            return Ok(());
        }
        let mut weights = vec![1u32; k];
        weights[k - 1] = budget - (k as u32 - 1);
        loop {
            if !(op.commutative() && weights[0] > weights[1]) {
                let mut choice = vec![0usize; k];
                loop {
                    let pools: Vec<Pool> = (0..k).map(|j| sources[j][choice[j]]).collect();
                    let any_open = pools.iter().any(|p| matches!(p, Pool::Open(..)));
                    let canonical = !(op.commutative()
                        && matches!(pools[0], Pool::Closed(_))
                        && matches!(pools[1], Pool::Open(..)));
                    let small_closed = !open_out
                        || (0..k).all(|j| {
                            matches!(pools[j], Pool::Open(..)) || weights[j] <= self.limits.max_lambda_closed_part
                        });
                    if (!open_out || any_open) && canonical && small_closed {
                        self.product(op, out, &pools, &weights)?;
                    }
                    if !advance(&mut choice, &sources.iter().map(Vec::len).collect::<Vec<_>>()) {
                        break;
                    }
                }
            }
            if !next_split(&mut weights, budget) {
                break;
            }
        }
        Ok(())
    }

    fn product(&mut self, op: ListOp, out: Pool, pools: &[Pool], weights: &[u32]) -> Result<(), Stop> {
        let k = pools.len();
        let lens: Vec<usize> = (0..k).map(|j| self.pool(pools[j], weights[j]).len()).collect();
        if lens.contains(&0) {
            return Ok(());
        }
        let same01 = k >= 2 && op.commutative() && pools[0] == pools[1] && weights[0] == weights[1];
        let mut idx = vec![0usize; k];
        loop {
            if !(same01 && idx[0] > idx[1]) {
                let mut kids = [0u32; 3];
                for j in 0..k {
                    kids[j] = self.pool(pools[j], weights[j])[idx[j]];
                }
                self.candidate(op, out, kids, weights.iter().sum::<u32>())?;
            }
            if !advance(&mut idx, &lens) {
                return Ok(());
            }
        }
    }

    fn check_budget(&mut self) -> Result<(), Stop> {
        self.stats.candidates += 1;
        if self.stats.candidates.is_multiple_of(2048) {
            if self.cancel.is_cancelled() {
                return Err(Stop::Limit("cancelled".into()));
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Stop::Time);
            }
        }
        if self.stats.candidates >= self.limits.max_candidates {
            return Err(Stop::Limit("candidate limit".into()));
        }
        if self.nodes.len() >= self.limits.max_kept {
            return Err(Stop::Limit("memory limit (terms kept)".into()));
        }
        Ok(())
    }

    fn candidate(&mut self, op: ListOp, out: Pool, kids: [u32; 3], child_cost: u32) -> Result<(), Stop> {
        self.check_budget()?;
        let cost = child_cost + self.op_cost[op as usize];
        match out {
            Pool::Closed(ty) => {
                let Some(col) = self.closed_column(op, &kids) else { return Ok(()) };
                self.add_closed(Kind::Op(op), kids, ty, col, cost)
            }
            Pool::Open(..) => {
                let Some(col) = self.probe_column(op, out, &kids) else { return Ok(()) };
                self.add_open(Kind::Op(op), kids, out, col, cost);
                Ok(())
            }
        }
    }

    fn in_bound(&self, v: &LValue) -> bool {
        let ok = |x: i64| (-self.bound..=self.bound).contains(&x);
        match v {
            LValue::Int(x) => ok(*x),
            LValue::Bool(_) => true,
            LValue::List(l) => l.iter().all(|x| ok(*x)),
        }
    }

    fn closed_column(&self, op: ListOp, kids: &[u32; 3]) -> Option<Vec<LValue>> {
        let slots = op.slots();
        let n = self.problem.examples.len();
        let mut col = Vec::with_capacity(n);
        for e in 0..n {
            let mut body = None;
            let mut values: [Option<&LValue>; 3] = [None; 3];
            let mut nv = 0;
            for (j, s) in slots.iter().enumerate() {
                let node = &self.nodes[kids[j] as usize];
                match s {
                    Slot::Lambda(..) => body = Some(kids[j]),
                    Slot::Value(_) => {
                        values[nv] = Some(&self.closed_cols[node.col as usize][e]);
                        nv += 1;
                    }
                }
            }
            let vals: Vec<&LValue> = values[..nv].iter().flatten().copied().collect();
            let v = if op.is_scalar() {
                let scalars: Vec<i64> = vals.iter().map(|v| scalar(v)).collect::<Option<_>>()?;
                let x = apply_scalar(op, &scalars).ok()?;
                if op.result() == LType::Bool {
                    LValue::Bool(x != 0)
                } else {
                    LValue::Int(x)
                }
            } else if let Some(b) = body {
                let call = |u: [i64; 2]| self.eval_open(b, e, u);
                apply_list(op, Some(&call), &vals).ok()?
            } else {
                apply_list(op, None, &vals).ok()?
            };
            if !self.in_bound(&v) {
                return None;
            }
            col.push(v);
        }
        Some(col)
    }

    /// The value of an open term at one example and lambda arguments.
    fn eval_open(&self, id: u32, e: usize, u: [i64; 2]) -> Result<i64, RunError> {
        let node = &self.nodes[id as usize];
        if !node.open {
            return scalar(&self.closed_cols[node.col as usize][e]).ok_or(RunError::Type);
        }
        match node.kind {
            Kind::Leaf(Leaf::Bound(b)) => Ok(u[usize::from(b)]),
            Kind::Leaf(_) => Err(RunError::Type),
            Kind::Op(op) => {
                let k = op.slots().len();
                let v = if op == ListOp::Access {
                    let i = self.eval_open(node.kids[0], e, u)?;
                    let l = &self.closed_cols[self.nodes[node.kids[1] as usize].col as usize][e];
                    scalar(&apply_list(op, None, &[&LValue::Int(i), l])?).ok_or(RunError::Type)?
                } else if op == ListOp::If {
                    let c = self.eval_open(node.kids[0], e, u)?;
                    self.eval_open(node.kids[if c != 0 { 1 } else { 2 }], e, u)?
                } else {
                    let mut a = [0i64; 3];
                    for (slot, kid) in a.iter_mut().zip(&node.kids[..k]) {
                        *slot = self.eval_open(*kid, e, u)?;
                    }
                    apply_scalar(op, &a[..k])?
                };
                if (-self.bound..=self.bound).contains(&v) {
                    Ok(v)
                } else {
                    Err(RunError::Overflow)
                }
            }
        }
    }

    fn probe_column(&self, op: ListOp, out: Pool, kids: &[u32; 3]) -> Option<Vec<i64>> {
        let Pool::Open(arity, _) = out else { return None };
        let probes = &self.probes[usize::from(arity - 1)];
        let k = op.slots().len();
        let mut col = Vec::with_capacity(probes.len());
        let mut any = false;
        for (p, probe) in probes.iter().enumerate() {
            let mut a = [0i64; 3];
            let mut missing = false;
            for j in 0..k {
                let node = &self.nodes[kids[j] as usize];
                if node.open {
                    let v = self.probe_cols[node.col as usize][p];
                    missing |= v == NONE;
                    a[j] = v;
                } else if op == ListOp::Access && j == 1 {
                    a[j] = 0;
                } else {
                    a[j] = scalar(&self.closed_cols[node.col as usize][probe.example])?;
                }
            }
            let v = if missing {
                NONE
            } else if op == ListOp::Access {
                let l = &self.closed_cols[self.nodes[kids[1] as usize].col as usize][probe.example];
                apply_list(op, None, &[&LValue::Int(a[0]), l]).ok().and_then(|v| scalar(&v)).unwrap_or(NONE)
            } else {
                apply_scalar(op, &a[..k]).unwrap_or(NONE)
            };
            let v = if v != NONE && (-self.bound..=self.bound).contains(&v) { v } else { NONE };
            any |= v != NONE;
            col.push(v);
        }
        if !any {
            return None;
        }
        // A body that does not depend on its arguments within each example is a closed
        // term in disguise.
        let mut varies = false;
        let mut first: Vec<Option<i64>> = vec![None; self.problem.examples.len()];
        for (v, probe) in col.iter().zip(probes) {
            match first[probe.example] {
                None => first[probe.example] = Some(*v),
                Some(f) if f != *v => varies = true,
                Some(_) => {}
            }
        }
        varies.then_some(col)
    }

    /// The size ([`Node::size`]) of a term of `kind` over kept terms `kids`.
    fn term_size(&self, kind: Kind, kids: &[u32; 3]) -> u32 {
        match kind {
            Kind::Leaf(_) => 1,
            Kind::Op(op) => {
                self.op_cost[op as usize]
                    + kids[..op.slots().len()].iter().map(|k| self.nodes[*k as usize].size).sum::<u32>()
            }
        }
    }

    /// Keeps a closed term with new values, built at cost level `level`. A term priced by
    /// the guide's [`ListGuide::value_cost`] goes to the level of its size plus that
    /// price, or `level` if later: a price defers the term itself, and is not paid again
    /// by every term built on it.
    fn add_closed(&mut self, kind: Kind, kids: [u32; 3], ty: LType, col: Vec<LValue>, level: u32) -> Result<(), Stop> {
        if !self.seen_closed.insert(hash_of(&col)) {
            return Ok(());
        }
        let id = u32::try_from(self.nodes.len()).map_err(|_| Stop::Limit("too many terms".into()))?;
        let found = ty == self.problem.output && col == self.target;
        let extra = match kind {
            Kind::Op(_) if !found => self.guide.value_cost(ty, &col, self.problem).min(MAX_VALUE_COST),
            _ => 0,
        };
        let size = self.term_size(kind, &kids);
        self.nodes.push(Node { kind, kids, col: self.closed_cols.len() as u32, open: false, size });
        self.closed_cols.push(col);
        let pool = &mut self.pools[Pool::Closed(ty).index()];
        let at = level.max(size + extra) as usize;
        if pool.len() <= at {
            pool.resize_with(at + 1, Vec::new);
        }
        pool[at].push(id);
        self.stats.closed += 1;
        if found {
            return Err(Stop::Found(id));
        }
        Ok(())
    }

    fn add_open(&mut self, kind: Kind, kids: [u32; 3], pool: Pool, col: Vec<i64>, level: u32) {
        let key = (pool.index(), hash_of(&col));
        if !self.seen_open.insert(key) {
            return;
        }
        let id = self.nodes.len() as u32;
        let size = self.term_size(kind, &kids);
        self.nodes.push(Node { kind, kids, col: self.probe_cols.len() as u32, open: true, size });
        self.probe_cols.push(col);
        self.pools[pool.index()][level as usize].push(id);
        self.stats.lambdas += 1;
    }

    fn expr(&self, id: u32) -> Expr {
        let node = &self.nodes[id as usize];
        match node.kind {
            Kind::Leaf(Leaf::Input(i)) => Expr::Input(i),
            Kind::Leaf(Leaf::Const(c)) => Expr::Const(c),
            Kind::Leaf(Leaf::Bound(b)) => Expr::Bound(b),
            Kind::Op(op) => Expr::Apply(op, (0..op.slots().len()).map(|j| self.expr(node.kids[j])).collect()),
        }
    }
}

fn scalar(v: &LValue) -> Option<i64> {
    match v {
        LValue::Int(x) => Some(*x),
        LValue::Bool(b) => Some(i64::from(*b)),
        LValue::List(_) => None,
    }
}

/// Advances an odometer `idx` with digit limits `lens`; false once it wraps around.
fn advance(idx: &mut [usize], lens: &[usize]) -> bool {
    for j in (0..idx.len()).rev() {
        idx[j] += 1;
        if idx[j] < lens[j] {
            return true;
        }
        idx[j] = 0;
    }
    false
}

/// The next composition of `total` into `w.len()` positive parts (lexicographic).
fn next_split(w: &mut [u32], total: u32) -> bool {
    let k = w.len();
    if k <= 1 {
        return false;
    }
    // Treat the first k-1 parts as an odometer; the last part takes the rest.
    loop {
        let mut j = k - 1;
        loop {
            if j == 0 {
                return false;
            }
            j -= 1;
            w[j] += 1;
            let used: u32 = w[..k - 1].iter().sum();
            if used < total {
                break;
            }
            w[j] = 1;
        }
        let used: u32 = w[..k - 1].iter().sum();
        if used < total {
            w[k - 1] = total - used;
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Examples;

    /// Prices every value the search keeps at the most, except those `favoured` accepts.
    struct PricedValues<F>(F);

    impl<F: Fn(&[LValue]) -> bool + Send + Sync> ListGuide for PricedValues<F> {
        fn op_cost(&self, _op: ListOp, _problem: &ListProblem) -> u32 {
            1
        }

        fn value_cost(&self, _ty: LType, values: &[LValue], _problem: &ListProblem) -> u32 {
            if (self.0)(values) {
                0
            } else {
                u32::MAX
            }
        }
    }

    /// Prices every operator at `cost`, then hands over to `next` after `share` of the time.
    struct Staged<'a> {
        cost: u32,
        next: &'a dyn ListGuide,
        share: f64,
    }

    impl ListGuide for Staged<'_> {
        fn op_cost(&self, _op: ListOp, _problem: &ListProblem) -> u32 {
            self.cost
        }

        fn then(&self, _problem: &ListProblem) -> Option<(&dyn ListGuide, f64)> {
            Some((self.next, self.share))
        }
    }

    /// Every operator at one price, noting that the search asked.
    struct Asked(std::sync::atomic::AtomicBool, u32);

    impl Asked {
        fn costing(cost: u32) -> Asked {
            Asked(std::sync::atomic::AtomicBool::new(false), cost)
        }
    }

    impl ListGuide for Asked {
        fn op_cost(&self, _op: ListOp, _problem: &ListProblem) -> u32 {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            self.1
        }
    }

    fn take_of_sorted() -> ListProblem {
        let spec = r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}, {"name": "k", "type": "int"}],
          "output_type": "list[int]",
          "examples": [{"args": [[1, 5, 3, 4, 2], 2], "output": [5, 4]}, {"args": [[7, -3, 10], 1], "output": [10]},
                       {"args": [[2, 6, 11, 0], 3], "output": [11, 6, 2]}]}"#;
        ListProblem::from_examples(&Examples::from_json(spec).unwrap()).unwrap()
    }

    #[test]
    fn a_second_guide_searches_afresh_when_the_first_runs_out_of_its_share_of_the_time() {
        let problem = take_of_sorted();
        // Every operator at the dearest price and no time of its own: the first search
        // stops at its first look at the clock, and the second finds the answer.
        let next = Asked::costing(1);
        let staged = Staged { cost: 8, next: &next, share: 0.0 };
        let (program, candidates, _) = solve(&problem, &staged);
        assert_eq!(program, "Take(k, Reverse(Sort(xs)))");
        assert!(next.0.into_inner());
        let (_, alone, _) = solve(&problem, &UniformListGuide);
        assert_eq!(candidates, alone + 2048, "the first search's candidates are counted too");
        // The whole time for the first: the second is never asked.
        let next = Asked::costing(1);
        let (program, _, _) = solve(&problem, &Staged { cost: 1, next: &next, share: 1.0 });
        assert_eq!(program, "Take(k, Reverse(Sort(xs)))");
        assert!(!next.0.into_inner());
        // A share that is no number, and a limit of all time, search as one guide would.
        let next = Asked::costing(1);
        let limits = ListLimits { timeout: Duration::MAX, ..ListLimits::default() };
        let outcome =
            synthesize_lists(&problem, &limits, &Staged { cost: 1, next: &next, share: f64::NAN }, &CancelToken::new());
        assert!(matches!(outcome, ListOutcome::Found { .. }), "{outcome:?}");
        assert!(!next.0.into_inner());
    }

    #[test]
    fn a_first_search_that_ends_for_another_reason_than_time_is_the_answer() {
        let problem = take_of_sorted();
        let next = Asked::costing(1);
        let limits = ListLimits { max_cost: 3, ..ListLimits::default() };
        let outcome =
            synthesize_lists(&problem, &limits, &Staged { cost: 1, next: &next, share: 0.5 }, &CancelToken::new());
        let ListOutcome::NotFound { reason, .. } = outcome else { panic!("{outcome:?}") };
        assert_eq!(reason, "no program of cost up to 3");
        assert!(!next.0.into_inner());
        // Out of the whole time under the second guide: the reason gives the whole limit.
        let limits = ListLimits { timeout: Duration::ZERO, ..ListLimits::default() };
        let dear = Asked::costing(8);
        let outcome =
            synthesize_lists(&problem, &limits, &Staged { cost: 8, next: &dear, share: 0.5 }, &CancelToken::new());
        assert!(dear.0.into_inner());
        let ListOutcome::NotFound { reason, .. } = outcome else { panic!("{outcome:?}") };
        assert_eq!(reason, "time limit (0.0 s)");
    }

    /// The program found, the candidates built and the cost level reached.
    fn solve(problem: &ListProblem, guide: &dyn ListGuide) -> (String, u64, u32) {
        match synthesize_lists(problem, &ListLimits::default(), guide, &CancelToken::new()) {
            ListOutcome::Found { program, stats } => {
                (program.show(&problem.param_names()), stats.candidates, stats.cost)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn many_examples_are_searched_a_few_at_a_time_for_the_same_answer() {
        // `max(x, 0)`: the first spread of examples has no negative `x`, so the first
        // search finds `x`, which the check then shows wrong.
        let mut examples = Vec::new();
        for i in 0..100i64 {
            let x = if i < 24 && i % 4 == 1 { -i } else { i + 1 };
            examples.push(format!(r#"{{"args": [{x}, {}], "output": {}}}"#, i % 7, x.max(0)));
        }
        let spec = format!(
            r#"{{"function": "f", "params": [{{"name": "x", "type": "int"}}, {{"name": "y", "type": "int"}}],
               "output_type": "int", "examples": [{}]}}"#,
            examples.join(", ")
        );
        let problem = ListProblem::from_examples(&Examples::from_json(&spec).unwrap()).unwrap();
        let found = |outcome: ListOutcome| match outcome {
            ListOutcome::Found { program, stats } => (program.show(&problem.param_names()), stats.candidates),
            other => panic!("{other:?}"),
        };
        let limits = ListLimits::default();
        let (all, n_all) = found(synthesize_lists(&problem, &limits, &UniformListGuide, &CancelToken::new()));
        let (few, n_few) =
            found(synthesize_lists_incrementally(&problem, &limits, &UniformListGuide, &CancelToken::new()));
        assert_eq!(few, all);
        assert_eq!(few, "Max(x, 0)");
        assert!(n_few > 0 && n_all > 0, "{n_few} {n_all}");
        // The first spread alone gives `x`: the answer took a second search.
        let mut spread = problem.clone();
        spread.examples = (0..SEARCH_EXAMPLES).map(|k| problem.examples[k * 100 / SEARCH_EXAMPLES].clone()).collect();
        assert_eq!(found(synthesize_lists(&spread, &limits, &UniformListGuide, &CancelToken::new())).0, "x");
        // Few examples: the plain search.
        let mut small = problem.clone();
        small.examples.truncate(SEARCH_EXAMPLES);
        assert_eq!(
            found(synthesize_lists_incrementally(&small, &limits, &UniformListGuide, &CancelToken::new())),
            found(synthesize_lists(&small, &limits, &UniformListGuide, &CancelToken::new()))
        );
    }

    #[test]
    fn value_prices_reorder_the_search_but_lose_no_answer() {
        let problem = take_of_sorted();
        let sorted = |down: bool| -> Vec<LValue> {
            problem
                .examples
                .iter()
                .map(|(a, _)| {
                    let LValue::List(l) = &a[0] else { unreachable!() };
                    let mut l = l.to_vec();
                    l.sort_unstable();
                    if down {
                        l.reverse();
                    }
                    LValue::List(l.into())
                })
                .collect()
        };
        let (up, down) = (sorted(false), sorted(true));
        let (plain, n_plain, level_plain) = solve(&problem, &UniformListGuide);
        // Every built value deferred (a price above the most is clamped): still found,
        // and the deferral is paid once, not again by `Reverse(Sort(xs))` built on
        // `Sort(xs)`.
        let (worst, n_worst, level_worst) = solve(&problem, &PricedValues(|_: &[LValue]| false));
        // Only the intermediate lists the answer needs kept cheap: found sooner.
        let (best, n_best, _) =
            solve(&problem, &PricedValues(|v: &[LValue]| v == up.as_slice() || v == down.as_slice()));
        assert_eq!(plain, "Take(k, Reverse(Sort(xs)))");
        assert_eq!(worst, plain);
        assert_eq!(best, plain);
        assert!(n_worst > n_plain && n_plain > n_best, "{n_worst} {n_plain} {n_best}");
        assert_eq!(level_worst, level_plain + MAX_VALUE_COST);
    }
}
