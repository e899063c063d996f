//! Bottom-up enumeration in cost order with observational-equivalence
//! pruning, plus the divide-and-conquer hook.

use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use smallvec::SmallVec;

use super::dnc::{self, Bits, Tree};
use super::grammar::{eval_plan, instantiate, CGrammar, Plan};
use super::{Budget, CancelToken, Partial, SearchLimits, SearchStats};
use crate::dsl::{Column, FunDefs, Op, Term, Value};

#[derive(Clone, Debug)]
struct Entry {
    prod: u32,
    kids: SmallVec<[u32; 3]>,
}

/// Terms kept so far, per nonterminal, in cost order.
struct Bank {
    entries: Vec<Vec<Entry>>,
    vals: Vec<Vec<Column>>,
    /// Per nonterminal and cost: the range of entries with that cost.
    levels: Vec<Vec<(usize, usize)>>,
}

/// How conditionals are assembled for divide and conquer.
#[derive(Clone, Debug)]
pub(crate) enum CondKind {
    /// `(ite B then else)`: the predicate is a Boolean term.
    Bool,
    /// A macro `(m c a b)` whose body is `(ite (= c K) a b)`.
    EqConst(Value),
}

#[derive(Clone, Debug)]
pub(crate) struct CondProd {
    pub prod: usize,
    pub cond_hole: usize,
    pub then_hole: usize,
    pub else_hole: usize,
    pub pred_nt: usize,
    pub kind: CondKind,
}

struct Dnc {
    cond: CondProd,
    covers: Vec<(CoverTerm, Bits)>,
    cover_set: FxHashSet<Bits>,
    union: Bits,
    preds: Vec<(u32, Bits)>,
    pred_set: FxHashSet<Bits>,
    dirty: bool,
    since_attempt: u64,
}

/// Why enumeration stopped.
pub(crate) enum Stop {
    Found(Term),
    Exhausted,
    Budget(Budget),
}

pub(crate) struct Enumerator<'a> {
    g: &'a CGrammar,
    target: &'a Column,
    n: usize,
    limits: &'a SearchLimits,
    cancel: &'a CancelToken,
    start_time: Instant,
    bank: Bank,
    seen: Vec<FxHashMap<u64, SmallVec<[u32; 2]>>>,
    dnc: Option<Dnc>,
    concat: Option<Concat>,
    pub stats: SearchStats,
    bytes: usize,
    best: Option<(usize, u32)>,
    all: Bits,
    ticks: u64,
    /// The smallest decision tree that fits every example but fails the Occam criterion
    /// (with [`SearchLimits::occam`]), kept in case nothing better turns up.
    memorizing: Option<Term>,
    /// A concatenation that fits every example but costs more than the level where it
    /// was assembled, with its cost, and how long the search may go on looking for a
    /// cheaper program (`substr(s, 1, 3)` rather than three one-character pieces).
    deferred: Option<(Term, u32, Instant)>,
}

/// Cost levels enumerated past the one where a costlier concatenation turned up.
const DEFER_LEVELS: u32 = 2;
/// The least extra time granted to find a cheaper program than a deferred concatenation.
const DEFER_MIN: Duration = Duration::from_millis(250);

/// How many of `reaching` arrive at each leaf of `tree`.
fn leaf_supports(tree: &Tree, reaching: &Bits, preds: &[Bits], out: &mut Vec<usize>) {
    match tree {
        Tree::Leaf(_) => out.push(reaching.count()),
        Tree::Node { pred, then, els } => {
            leaf_supports(then, &reaching.and(&preds[*pred]), preds, out);
            leaf_supports(els, &reaching.and_not(&preds[*pred]), preds, out);
        }
    }
}

fn hash_col(c: &Column) -> u64 {
    let mut h = FxHasher::default();
    c.hash(&mut h);
    h.finish()
}

fn col_bytes(c: &Column) -> usize {
    match c {
        Column::Bool(v) => v.len(),
        Column::Int(v) => v.len() * 16,
        Column::Bv(_, v) => v.len() * 8,
        Column::Str(v) => v.iter().map(|s| 24 + s.len()).sum(),
    }
}

/// State of the concatenation decomposition for string targets.
struct Concat {
    /// The `(str.++ S S)` production of the start symbol.
    prod: usize,
    /// Expected outputs.
    outs: Vec<std::sync::Arc<str>>,
    /// Pivot examples (the first is the longest output) and, for each, the
    /// terms by their non-empty value on it that occur in its output.
    pivots: Vec<(usize, PieceIndex)>,
    dirty: bool,
}

/// Kept terms by their value on one example.
type PieceIndex = FxHashMap<std::sync::Arc<str>, Vec<u32>>;

/// A divide-and-conquer leaf: a kept term, or a concatenation assembled from kept terms.
#[derive(Clone, Debug)]
enum CoverTerm {
    Entry(u32),
    Built(Term),
}

fn find_concat(g: &CGrammar, target: &Column) -> Option<Concat> {
    let Column::Str(outs) = target else { return None };
    let nt = g.start;
    let prod =
        g.nts[nt].prods.iter().position(|p| matches!(p.plan, Plan::Direct(Op::StrConcat)) && p.holes == [nt, nt])?;
    let pivot = (0..outs.len()).max_by_key(|&i| (outs[i].len(), std::cmp::Reverse(i)))?;
    if outs[pivot].is_empty() {
        return None;
    }
    Some(Concat { prod, outs: outs.clone(), pivots: vec![(pivot, FxHashMap::default())], dirty: false })
}

/// Finds a production usable as the divide-and-conquer conditional of `nt`.
pub(crate) fn find_cond(g: &CGrammar, nt: usize, funs: &FunDefs) -> Option<CondProd> {
    for (pi, p) in g.nts[nt].prods.iter().enumerate() {
        let root = p.print.node(p.print.root());
        let holes_in_order = root.children.len() == p.holes.len()
            && root.children.iter().enumerate().all(|(k, c)| {
                matches!(&p.print.node(*c).op, Op::Var(v) if v.strip_prefix('\u{1}').and_then(|s| s.parse::<usize>().ok()) == Some(k))
            });
        if !holes_in_order || p.holes.len() != 3 {
            continue;
        }
        match &root.op {
            Op::Ite if p.holes[1] == nt && p.holes[2] == nt => {
                return Some(CondProd {
                    prod: pi,
                    cond_hole: 0,
                    then_hole: 1,
                    else_hole: 2,
                    pred_nt: p.holes[0],
                    kind: CondKind::Bool,
                });
            }
            Op::Call(m) => {
                let Some(def) = funs.get(&**m) else { continue };
                let b = &def.body;
                let br = b.node(b.root());
                if br.op != Op::Ite {
                    continue;
                }
                let param_of = |id: crate::dsl::Id| match &b.node(id).op {
                    Op::Var(v) => def.params.iter().position(|(n, _)| **n == **v),
                    _ => None,
                };
                let cond = b.node(br.children[0]);
                if cond.op != Op::Eq || cond.children.len() != 2 {
                    continue;
                }
                let (ci, k) = match (
                    param_of(cond.children[0]),
                    &b.node(cond.children[1]).op,
                    param_of(cond.children[1]),
                    &b.node(cond.children[0]).op,
                ) {
                    (Some(i), Op::Const(k), _, _) | (_, _, Some(i), Op::Const(k)) => (i, k.clone()),
                    _ => continue,
                };
                let (Some(ti), Some(ei)) = (param_of(br.children[1]), param_of(br.children[2])) else { continue };
                if p.holes[ti] == nt && p.holes[ei] == nt && ti != ci && ei != ci {
                    return Some(CondProd {
                        prod: pi,
                        cond_hole: ci,
                        then_hole: ti,
                        else_hole: ei,
                        pred_nt: p.holes[ci],
                        kind: CondKind::EqConst(k),
                    });
                }
            }
            _ => {}
        }
    }
    None
}

impl<'a> Enumerator<'a> {
    pub fn new(
        g: &'a CGrammar,
        funs: &'a FunDefs,
        target: &'a Column,
        limits: &'a SearchLimits,
        cancel: &'a CancelToken,
        start_time: Instant,
        use_dnc: bool,
    ) -> Enumerator<'a> {
        let k = g.nts.len();
        let n = target.len();
        let dnc = if use_dnc && n > 1 {
            find_cond(g, g.start, funs).map(|cond| Dnc {
                cond,
                covers: Vec::new(),
                cover_set: FxHashSet::default(),
                union: Bits::empty(n),
                preds: Vec::new(),
                pred_set: FxHashSet::default(),
                dirty: false,
                since_attempt: 0,
            })
        } else {
            None
        };
        let concat = if use_dnc { find_concat(g, target) } else { None };
        Enumerator {
            g,
            target,
            n,
            limits,
            cancel,
            start_time,
            bank: Bank { entries: vec![Vec::new(); k], vals: vec![Vec::new(); k], levels: vec![Vec::new(); k] },
            seen: vec![FxHashMap::default(); k],
            dnc,
            stats: SearchStats::default(),
            bytes: 0,
            best: None,
            concat,
            all: Bits::full(n),
            ticks: 0,
            memorizing: None,
            deferred: None,
        }
    }

    /// The smallest tree refused by the Occam criterion, if any.
    pub fn memorizing_tree(&self) -> Option<&Term> {
        self.memorizing.as_ref()
    }

    /// Hands the (possibly gigabytes of) kept terms to a background thread to
    /// free, so the caller gets its result without waiting for the drop.
    pub fn release(&mut self) {
        let heavy = (
            std::mem::take(&mut self.bank.vals),
            std::mem::take(&mut self.bank.entries),
            std::mem::take(&mut self.seen),
            self.dnc.take(),
            self.concat.take(),
        );
        // If the thread cannot be spawned, the closure (and the values) are dropped here.
        let _ = std::thread::Builder::new().name("synth-free".into()).spawn(move || drop(heavy));
    }

    /// The best partial solution seen (most examples satisfied by one term).
    pub fn best_partial(&self) -> Option<Partial> {
        self.best.filter(|(_, e)| (*e as usize) < self.bank.entries[self.g.start].len()).map(|(k, e)| Partial {
            term: self.build(self.g.start, e),
            satisfied: k,
            total: self.n,
        })
    }

    fn build(&self, nt: usize, idx: u32) -> Term {
        let e = &self.bank.entries[nt][idx as usize];
        let p = &self.g.nts[nt].prods[e.prod as usize];
        if matches!(p.plan, Plan::Chain) {
            return self.build(p.holes[0], e.kids[0]);
        }
        let kids: Vec<Term> = p.holes.iter().zip(&e.kids).map(|(h, k)| self.build(*h, *k)).collect();
        instantiate(&p.print, &kids)
    }

    fn build_tree(&self, t: &Tree, d: &Dnc) -> Term {
        match t {
            Tree::Leaf(i) => match &d.covers[*i].0 {
                CoverTerm::Entry(e) => self.build(self.g.start, *e),
                CoverTerm::Built(t) => t.clone(),
            },
            Tree::Node { pred, then, els } => {
                let prod = &self.g.nts[self.g.start].prods[d.cond.prod];
                let mut kids = vec![Term::new(); 3];
                kids[d.cond.cond_hole] = self.build(d.cond.pred_nt, d.preds[*pred].0);
                kids[d.cond.then_hole] = self.build_tree(then, d);
                kids[d.cond.else_hole] = self.build_tree(els, d);
                instantiate(&prod.print, &kids)
            }
        }
    }

    fn check_budget(&mut self) -> Option<Budget> {
        self.ticks += 1;
        if self.ticks & 255 != 0 {
            return None;
        }
        if self.cancel.is_cancelled() {
            return Some(Budget::Cancelled);
        }
        if self.start_time.elapsed() >= self.limits.timeout
            || self.deferred.as_ref().is_some_and(|(_, _, until)| Instant::now() >= *until)
        {
            return Some(Budget::Time);
        }
        if self.bytes > self.limits.max_memory_bytes {
            return Some(Budget::Memory);
        }
        if self.stats.terms_enumerated >= self.limits.max_terms {
            return Some(Budget::Terms);
        }
        None
    }

    /// Runs the enumeration until a solution, exhaustion or a budget.
    pub fn run(&mut self) -> Stop {
        let max_prod_cost = self.g.nts.iter().flat_map(|n| n.prods.iter().map(|p| p.cost)).max().unwrap_or(1);
        let mut empty_levels = 0u32;
        let mut deferred_at = 0u32;
        for cost in 1..=self.limits.max_cost {
            if let Some((_, c, _)) = &self.deferred {
                if cost > *c || cost > deferred_at + DEFER_LEVELS {
                    return self.stop_with_deferred(Stop::Exhausted);
                }
            }
            self.stats.max_cost = cost;
            let mut added = 0usize;
            for nt in 0..self.g.nts.len() {
                match self.level(nt, cost) {
                    Ok(k) => added += k,
                    Err(stop) => return self.stop_with_deferred(stop),
                }
                if let Some(t) = self.try_dnc(true) {
                    return Stop::Found(t);
                }
                if nt == self.g.start {
                    match self.try_concat() {
                        Some((t, c)) if c <= cost => return Stop::Found(t),
                        Some((t, c)) if self.deferred.as_ref().is_none_or(|(_, d, _)| c < *d) => {
                            if self.deferred.is_none() {
                                deferred_at = cost;
                            }
                            let extra = self.start_time.elapsed().max(DEFER_MIN);
                            let until = self.deferred.as_ref().map_or(Instant::now() + extra, |(_, _, u)| *u);
                            self.deferred = Some((t, c, until));
                        }
                        _ => {}
                    }
                }
            }
            if added == 0 {
                empty_levels += 1;
                let max_arity =
                    self.g.nts.iter().flat_map(|n| n.prods.iter().map(|p| p.holes.len())).max().unwrap_or(0);
                // Nothing new for longer than any production can bridge: the space is finite and done.
                if empty_levels as usize > (max_prod_cost as usize + 1) * (max_arity.max(1)) * 2 {
                    return Stop::Exhausted;
                }
            } else {
                empty_levels = 0;
            }
        }
        self.stop_with_deferred(Stop::Exhausted)
    }

    /// `stop`, unless a deferred concatenation is waiting: then that, since it fits.
    fn stop_with_deferred(&mut self, stop: Stop) -> Stop {
        match (stop, self.deferred.take()) {
            (Stop::Found(t), _) => Stop::Found(t),
            (Stop::Budget(Budget::Cancelled), _) => Stop::Budget(Budget::Cancelled),
            (_, Some((t, _, _))) => Stop::Found(t),
            (stop, None) => stop,
        }
    }

    /// The cost of kept entry `idx` of `nt`: the level it was enumerated at.
    fn entry_cost(&self, nt: usize, idx: u32) -> u32 {
        let i = idx as usize;
        let level = self.bank.levels[nt].iter().position(|&(a, b)| a <= i && i < b).unwrap_or(0);
        u32::try_from(level).unwrap_or(u32::MAX)
    }

    /// Tries to write the target as `t1 ++ t2 ++ .. ++ tk` with kept terms.
    /// When that fails and divide and conquer is on, concatenations that are
    /// right on a subset of the examples become extra leaves for it.
    /// Returns the term with its cost (0 for a decision tree, which is taken at once).
    fn try_concat(&mut self) -> Option<(Term, u32)> {
        let cc = self.concat.as_mut()?;
        if !cc.dirty {
            return None;
        }
        cc.dirty = false;
        if let Some((pieces, _)) = self.concat_search(0, false) {
            self.stats.concat_solutions += 1;
            let start = self.g.start;
            let joins = u32::try_from(pieces.len().saturating_sub(1)).unwrap_or(u32::MAX);
            let join_cost = self.g.nts[start].prods[self.concat.as_ref()?.prod].cost;
            let cost = pieces.iter().map(|&e| self.entry_cost(start, e)).sum::<u32>() + joins * join_cost;
            return Some((self.concat_term(&pieces), cost));
        }
        self.dnc.as_ref()?;
        let npiv = self.concat.as_ref()?.pivots.len();
        let mut added = false;
        for k in 0..npiv {
            if let Some((pieces, bits)) = self.concat_search(k, true) {
                let d = self.dnc.as_mut()?;
                if bits.count() > 0 && !d.cover_set.contains(&bits) && !d.covers.iter().any(|(_, c)| bits.subset_of(c))
                {
                    d.cover_set.insert(bits.clone());
                    d.union.or_assign(&bits);
                    let t = self.concat_term(&pieces);
                    let d = self.dnc.as_mut()?;
                    d.covers.push((CoverTerm::Built(t), bits));
                    d.dirty = true;
                    added = true;
                }
            }
        }
        // A new pivot: the longest output no leaf explains yet.
        let union = self.dnc.as_ref()?.union.clone();
        let cc = self.concat.as_ref()?;
        let uncovered = (0..cc.outs.len())
            .filter(|&i| union.0[i / 64] >> (i % 64) & 1 == 0 && !cc.outs[i].is_empty())
            .max_by_key(|&i| (cc.outs[i].len(), std::cmp::Reverse(i)));
        if let Some(p) = uncovered {
            if cc.pivots.len() < 6 && cc.pivots.iter().all(|(q, _)| *q != p) {
                let mut index = PieceIndex::default();
                for (e, col) in self.bank.vals[self.g.start].iter().enumerate() {
                    if let Column::Str(v) = col {
                        if !v[p].is_empty() && cc.outs[p].contains(&*v[p]) {
                            index.entry(v[p].clone()).or_default().push(u32::try_from(e).unwrap_or(u32::MAX));
                        }
                    }
                }
                let cc = self.concat.as_mut()?;
                cc.pivots.push((p, index));
                cc.dirty = true;
            }
        }
        if added {
            return self.try_dnc(true).map(|t| (t, 0));
        }
        None
    }

    fn concat_term(&self, pieces: &[u32]) -> Term {
        let start_nt = self.g.start;
        let cc = self.concat.as_ref().expect("concat state");
        let prod = &self.g.nts[start_nt].prods[cc.prod];
        let mut acc = self.build(start_nt, *pieces.last().expect("at least one piece"));
        for &e in pieces.iter().rev().skip(1) {
            acc = instantiate(&prod.print, &[self.build(start_nt, e), acc]);
        }
        acc
    }

    /// Breadth-first search over per-example output positions, with pieces
    /// indexed by their value on pivot `k`. Strict: every example must be
    /// matched. Relaxed: examples may drop out; the goal keeping the most
    /// fully matched examples wins. Returns the pieces and the matched examples.
    fn concat_search(&self, k: usize, relaxed: bool) -> Option<(Vec<u32>, Bits)> {
        const DEAD: usize = usize::MAX;
        let cc = self.concat.as_ref()?;
        let (pivot, index) = (&cc.pivots[k].0, &cc.pivots[k].1);
        let pivot = *pivot;
        let n = cc.outs.len();
        let vals = &self.bank.vals[self.g.start];
        let mut parent: FxHashMap<Vec<usize>, (Vec<usize>, u32)> = FxHashMap::default();
        let start = vec![0usize; n];
        parent.insert(start.clone(), (Vec::new(), u32::MAX));
        let mut frontier = vec![start];
        let full = |st: &[usize]| (0..n).filter(|&i| st[i] != DEAD && st[i] == cc.outs[i].len()).count();
        let mut best: Option<(usize, Vec<usize>)> = None;
        'bfs: for _depth in 0..8 {
            let mut next = Vec::new();
            for st in &frontier {
                let rest0 = &cc.outs[pivot][st[pivot]..];
                for (end, _) in rest0.char_indices().skip(1).chain(std::iter::once((rest0.len(), ' '))) {
                    let Some(cands) = index.get(&rest0[..end]) else { continue };
                    for &e in cands.iter().take(64) {
                        let Column::Str(v) = &vals[e as usize] else { continue };
                        let mut ns = st.clone();
                        let mut ok = true;
                        for i in 0..n {
                            if ns[i] == DEAD {
                                continue;
                            }
                            if cc.outs[i][ns[i]..].starts_with(&*v[i]) {
                                ns[i] += v[i].len();
                            } else if relaxed {
                                ns[i] = DEAD;
                            } else {
                                ok = false;
                                break;
                            }
                        }
                        if !ok || parent.contains_key(&ns) {
                            continue;
                        }
                        parent.insert(ns.clone(), (st.clone(), e));
                        if ns[pivot] == cc.outs[pivot].len() {
                            // The pivot cannot progress further: a goal or a dead end.
                            let score = full(&ns);
                            if (relaxed || score == n) && best.as_ref().is_none_or(|(b, _)| score > *b) {
                                best = Some((score, ns.clone()));
                                if score == n {
                                    break 'bfs;
                                }
                            }
                        } else {
                            next.push(ns);
                        }
                        if parent.len() > 50_000 {
                            break 'bfs;
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let (score, goal) = best?;
        if !relaxed && score != n {
            return None;
        }
        let mut bits = Bits::empty(n);
        for (i, (g, o)) in goal.iter().zip(&cc.outs).enumerate() {
            if *g != DEAD && *g == o.len() {
                bits.set(i);
            }
        }
        let mut st = goal;
        let mut pieces = Vec::new();
        while let Some((prev, e)) = parent.get(&st) {
            if *e == u32::MAX {
                break;
            }
            pieces.push(*e);
            st = prev.clone();
        }
        pieces.reverse();
        Some((pieces, bits))
    }

    fn try_dnc(&mut self, force: bool) -> Option<Term> {
        let d = self.dnc.as_mut()?;
        if !d.dirty || d.union != self.all || (!force && d.since_attempt < 100_000) {
            return None;
        }
        d.dirty = false;
        d.since_attempt = 0;
        self.stats.dnc_attempts += 1;
        let covers: Vec<Bits> = d.covers.iter().map(|(_, b)| b.clone()).collect();
        let preds: Vec<Bits> = d.preds.iter().map(|(_, b)| b.clone()).collect();
        if std::env::var_os("SYNTH_DEBUG_DNC").is_some() {
            let d = self.dnc.as_ref()?;
            for (e, b) in &d.covers {
                let t = match e {
                    CoverTerm::Entry(e) => self.build(self.g.start, *e),
                    CoverTerm::Built(t) => t.clone(),
                };
                eprintln!("cover {t} {:?}", b.0);
            }
            for (e, b) in &d.preds {
                eprintln!("pred {} {:?}", self.build(d.cond.pred_nt, *e), b.0);
            }
        }
        let deadline = self.start_time + self.limits.timeout;
        let tree = dnc::learn(&self.all, &covers, &preds, 4 * self.n.max(8), deadline, self.cancel)?;
        let d = self.dnc.as_ref()?;
        let term = self.build_tree(&tree, d);
        if self.limits.occam {
            let mut supports = Vec::new();
            leaf_supports(&tree, &self.all, &preds, &mut supports);
            if !crate::occam::judge_supports(&supports, self.limits.leaf_support).passes()
                || crate::occam::complex_condition(&term).is_some()
            {
                if self.memorizing.as_ref().is_none_or(|m| term.size() < m.size()) {
                    self.memorizing = Some(term);
                }
                return None;
            }
        }
        Some(term)
    }

    /// Enumerates all terms of `nt` with exactly `cost`; returns how many were kept.
    fn level(&mut self, nt: usize, cost: u32) -> Result<usize, Stop> {
        let g = self.g;
        let base = self.bank.entries[nt].len();
        let mut pending: Vec<(Entry, Column)> = Vec::new();
        for (pi, p) in g.nts[nt].prods.iter().enumerate() {
            if nt == g.start && self.dnc.as_ref().is_some_and(|d| d.cond.prod == pi) {
                continue;
            }
            if p.cost > cost {
                continue;
            }
            let rem = (cost - p.cost) as usize;
            let k = p.holes.len();
            if k == 0 {
                if rem == 0 {
                    let col = match eval_plan(&p.plan, &[]) {
                        Ok(c) => c,
                        Err(_) => continue,
                    };
                    let entry = Entry { prod: u32::try_from(pi).unwrap_or(u32::MAX), kids: SmallVec::new() };
                    self.consider(nt, entry, col, &mut pending)?;
                }
                continue;
            }
            if rem < k {
                continue;
            }
            // Every composition of `rem` into k positive parts.
            let mut parts = vec![1usize; k];
            parts[k - 1] = rem - (k - 1);
            loop {
                self.combine(nt, pi, &parts, &mut pending)?;
                // Next composition (lexicographic over the first k-1 parts).
                let mut i = k.wrapping_sub(2);
                let mut advanced = false;
                while i < k {
                    let used: usize = parts[..=i].iter().sum();
                    if used < rem - (k - 1 - i) {
                        parts[i] += 1;
                        for p in &mut parts[i + 1..k - 1] {
                            *p = 1;
                        }
                        let head: usize = parts[..k - 1].iter().sum();
                        parts[k - 1] = rem - head;
                        advanced = true;
                        break;
                    }
                    i = i.wrapping_sub(1);
                }
                if !advanced || k == 1 {
                    break;
                }
            }
        }
        let start = base;
        let added = pending.len() + (self.bank.entries[nt].len() - base);
        for (e, c) in pending {
            self.bank.entries[nt].push(e);
            self.bank.vals[nt].push(c);
        }
        let levels = &mut self.bank.levels[nt];
        while levels.len() <= cost as usize {
            let at = self.bank.entries[nt].len();
            levels.push((at, at));
        }
        levels[cost as usize] = (start, self.bank.entries[nt].len());
        Ok(added)
    }

    fn range(&self, nt: usize, cost: usize) -> (usize, usize) {
        self.bank.levels[nt].get(cost).copied().unwrap_or((0, 0))
    }

    fn combine(
        &mut self,
        nt: usize,
        pi: usize,
        parts: &[usize],
        pending: &mut Vec<(Entry, Column)>,
    ) -> Result<(), Stop> {
        let g = self.g;
        let p = &g.nts[nt].prods[pi];
        let ranges: SmallVec<[(usize, usize); 3]> =
            p.holes.iter().zip(parts).map(|(h, c)| self.range(*h, *c)).collect();
        if ranges.iter().any(|(a, b)| a == b) {
            return Ok(());
        }
        let k = ranges.len();
        let mut idx: SmallVec<[usize; 3]> = ranges.iter().map(|(a, _)| *a).collect();
        loop {
            let col = {
                let kids: SmallVec<[&Column; 3]> =
                    p.holes.iter().zip(&idx).map(|(h, i)| &self.bank.vals[*h][*i]).collect();
                eval_plan(&p.plan, &kids)
            };
            if let Ok(col) = col {
                let entry = Entry {
                    prod: u32::try_from(pi).unwrap_or(u32::MAX),
                    kids: idx.iter().map(|i| u32::try_from(*i).unwrap_or(u32::MAX)).collect(),
                };
                self.consider(nt, entry, col, pending)?;
            } else {
                self.stats.terms_enumerated += 1;
            }
            // Odometer over the ranges, last hole fastest.
            let mut j = k;
            loop {
                if j == 0 {
                    return Ok(());
                }
                j -= 1;
                idx[j] += 1;
                if idx[j] < ranges[j].1 {
                    break;
                }
                idx[j] = ranges[j].0;
            }
        }
    }

    fn consider(
        &mut self,
        nt: usize,
        entry: Entry,
        col: Column,
        pending: &mut Vec<(Entry, Column)>,
    ) -> Result<(), Stop> {
        self.stats.terms_enumerated += 1;
        // Pending entries get the indices they will have once flushed.
        let base = self.bank.entries[nt].len();
        if let Some(b) = self.check_budget() {
            // The best partial term may be pending: keep it buildable.
            self.flush_pending(nt, pending);
            return Err(Stop::Budget(b));
        }
        let h = hash_col(&col);
        let slot = self.seen[nt].entry(h).or_default();
        for &i in slot.iter() {
            let i = i as usize;
            let other = if i < base { &self.bank.vals[nt][i] } else { &pending[i - base].1 };
            if *other == col {
                return Ok(());
            }
        }
        let idx = u32::try_from(base + pending.len()).unwrap_or(u32::MAX);
        slot.push(idx);
        self.stats.terms_kept += 1;
        self.bytes += col_bytes(&col) + 64;
        let is_start = nt == self.g.start;
        if is_start {
            if let (Some(cc), Column::Str(v)) = (self.concat.as_mut(), &col) {
                for (pivot, index) in &mut cc.pivots {
                    let key = &v[*pivot];
                    if !key.is_empty() && cc.outs[*pivot].contains(&**key) {
                        index.entry(key.clone()).or_default().push(idx);
                        cc.dirty = true;
                    }
                }
            }
            let mask = col.eq_mask(self.target);
            let k = mask.iter().filter(|m| **m).count();
            if k == self.n {
                pending.push((entry, col));
                self.flush_pending(nt, pending);
                let term = self.build(nt, idx);
                // A case split whose condition is no rule's: keep looking.
                if self.limits.occam && crate::occam::complex_condition(&term).is_some() {
                    if self.memorizing.as_ref().is_none_or(|m| term.size() < m.size()) {
                        self.memorizing = Some(term);
                    }
                    return Ok(());
                }
                return Err(Stop::Found(term));
            }
            if k > 0 && self.best.is_none_or(|(b, _)| k > b) {
                self.best = Some((k, idx));
            }
            if let Some(d) = self.dnc.as_mut() {
                if k > 0 {
                    let bits = Bits::from_mask(&mask);
                    if !d.cover_set.contains(&bits) {
                        d.cover_set.insert(bits.clone());
                        d.union.or_assign(&bits);
                        d.covers.push((CoverTerm::Entry(idx), bits));
                        d.dirty = true;
                    }
                }
            }
        }
        if let Some(d) = self.dnc.as_mut() {
            if nt == d.cond.pred_nt {
                let mask: Option<Vec<bool>> = match (&d.cond.kind, &col) {
                    (CondKind::Bool, Column::Bool(v)) => Some(v.clone()),
                    (CondKind::EqConst(k), c) => Some(c.eq_mask(&Column::splat(k, self.n))),
                    _ => None,
                };
                if let Some(mask) = mask {
                    let bits = Bits::from_mask(&mask);
                    let on = bits.count();
                    if on > 0 && on < self.n && !d.pred_set.contains(&bits) {
                        d.pred_set.insert(bits.clone());
                        d.preds.push((idx, bits));
                        d.dirty = true;
                    }
                }
            }
            d.since_attempt += 1;
        }
        pending.push((entry, col));
        if self.dnc.as_ref().is_some_and(|d| d.dirty && d.since_attempt >= 100_000) {
            // Entries in `pending` are not in the bank yet; flush before building terms.
            self.flush_pending(nt, pending);
            if let Some(t) = self.try_dnc(false) {
                return Err(Stop::Found(t));
            }
        }
        Ok(())
    }

    /// Moves pending entries into the bank early (they keep their indices).
    fn flush_pending(&mut self, nt: usize, pending: &mut Vec<(Entry, Column)>) {
        // Pending entry `i` has index `bank.len() + i`, so appending in order
        // keeps every index valid.
        for (e, c) in pending.drain(..) {
            self.bank.entries[nt].push(e);
            self.bank.vals[nt].push(c);
        }
    }
}
