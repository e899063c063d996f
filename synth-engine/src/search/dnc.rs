//! Divide and conquer for conditionals (as in EuSolver): terms that are right
//! on subsets of the examples are combined by a decision tree over
//! enumerated predicates.

use std::time::Instant;

use super::CancelToken;

/// A set of example indices as a bitset.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Bits(pub Vec<u64>);

impl Bits {
    pub fn empty(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }

    pub fn full(n: usize) -> Bits {
        let mut b = Bits::empty(n);
        for i in 0..n {
            b.set(i);
        }
        b
    }

    pub fn from_mask(m: &[bool]) -> Bits {
        let mut b = Bits::empty(m.len());
        for (i, v) in m.iter().enumerate() {
            if *v {
                b.set(i);
            }
        }
        b
    }

    pub fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn subset_of(&self, o: &Bits) -> bool {
        self.0.iter().zip(&o.0).all(|(a, b)| a & !b == 0)
    }

    pub fn and(&self, o: &Bits) -> Bits {
        Bits(self.0.iter().zip(&o.0).map(|(a, b)| a & b).collect())
    }

    pub fn and_not(&self, o: &Bits) -> Bits {
        Bits(self.0.iter().zip(&o.0).map(|(a, b)| a & !b).collect())
    }

    pub fn or_assign(&mut self, o: &Bits) {
        self.0.iter_mut().zip(&o.0).for_each(|(a, b)| *a |= b);
    }

    pub fn and_count(&self, o: &Bits) -> usize {
        self.0.iter().zip(&o.0).map(|(a, b)| (a & b).count_ones() as usize).sum()
    }
}

/// A learned decision tree: leaves are cover indices, nodes predicate indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tree {
    Leaf(usize),
    Node { pred: usize, then: Box<Tree>, els: Box<Tree> },
}

/// Learns a decision tree that sends every example in `all` to a cover that
/// contains it. `covers` and `preds` are in enumeration (cost) order; the
/// first fitting cover and the best-scoring predicate are chosen.
/// Gives up (returns `None`) past `deadline` or when `cancel` is set.
pub(crate) fn learn(
    all: &Bits,
    covers: &[Bits],
    preds: &[Bits],
    max_nodes: usize,
    deadline: Instant,
    cancel: &CancelToken,
) -> Option<Tree> {
    let mut budget = max_nodes;
    let stop = Stop { deadline, cancel };
    learn_rec(all, covers, preds, &mut budget, 0, &stop)
}

struct Stop<'a> {
    deadline: Instant,
    cancel: &'a CancelToken,
}

impl Stop<'_> {
    fn now(&self) -> bool {
        self.cancel.is_cancelled() || Instant::now() >= self.deadline
    }
}

fn learn_rec(
    e: &Bits,
    covers: &[Bits],
    preds: &[Bits],
    budget: &mut usize,
    depth: usize,
    stop: &Stop<'_>,
) -> Option<Tree> {
    if *budget == 0 || depth > 64 || stop.now() {
        return None;
    }
    *budget -= 1;
    if let Some(i) = covers.iter().position(|c| e.subset_of(c)) {
        return Some(Tree::Leaf(i));
    }
    let top = top_covers(e, covers);
    if top.is_empty() {
        return None;
    }
    let tops: Vec<(Bits, usize)> = top.iter().map(|(k, i)| (covers[*i].and(e), *k)).collect();
    let total = e.count();
    let mut best: Option<(usize, usize)> = None;
    for (pi, p) in preds.iter().enumerate() {
        if pi % 4096 == 4095 && stop.now() {
            return None;
        }
        let on = e.and_count(p);
        if on == 0 || on == total {
            continue;
        }
        // Best single cover on each side of the split.
        let (mut on_best, mut off_best) = (0, 0);
        for (t, tcount) in &tops {
            let tp = t.and_count(p);
            on_best = on_best.max(tp);
            off_best = off_best.max(tcount - tp);
        }
        let score = on_best + off_best;
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, pi));
            if score == total {
                break;
            }
        }
    }
    let (_, pi) = best?;
    let then = learn_rec(&e.and(&preds[pi]), covers, preds, budget, depth + 1, stop)?;
    let els = learn_rec(&e.and_not(&preds[pi]), covers, preds, budget, depth + 1, stop)?;
    Some(Tree::Node { pred: pi, then: Box::new(then), els: Box::new(els) })
}

/// Most covers a split is scored against.
const TOP_COVERS: usize = 16;

/// The covers a split of `e` is scored against, as `(examples of e covered, index)`: first
/// those that each explain examples of `e` the ones before leave unexplained (a greedy set
/// cover, so a term right on a minority of `e` is there even when many near-copies of the
/// majority's term explain more), then the largest of the rest.
fn top_covers(e: &Bits, covers: &[Bits]) -> Vec<(usize, usize)> {
    let mut counted: Vec<(usize, usize)> =
        covers.iter().enumerate().map(|(i, c)| (e.and_count(c), i)).filter(|(k, _)| *k > 0).collect();
    counted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut top: Vec<(usize, usize)> = Vec::with_capacity(TOP_COVERS);
    let mut left = e.clone();
    while top.len() < TOP_COVERS {
        let best = counted
            .iter()
            .filter(|(_, i)| !top.iter().any(|(_, t)| t == i))
            .map(|&(k, i)| (left.and_count(&covers[i]), k, i))
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
        let Some((gain, k, i)) = best.filter(|b| b.0 > 0) else { break };
        top.push((k, i));
        left = left.and_not(&covers[i]);
        if gain == 0 || left.count() == 0 {
            break;
        }
    }
    for &(k, i) in &counted {
        if top.len() >= TOP_COVERS {
            break;
        }
        if !top.iter().any(|(_, t)| *t == i) {
            top.push((k, i));
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(3600)
    }

    #[test]
    fn learns_a_split() {
        // Examples 0..4; term A right on {0,1}, term B right on {2,3}; predicate p = {0,1}.
        let all = Bits::full(4);
        let a = Bits::from_mask(&[true, true, false, false]);
        let b = Bits::from_mask(&[false, false, true, true]);
        let noise = Bits::from_mask(&[true, false, true, false]);
        let p = Bits::from_mask(&[true, true, false, false]);
        let t = learn(&all, &[a, b], &[noise, p], 100, far(), &CancelToken::new()).unwrap();
        assert_eq!(t, Tree::Node { pred: 1, then: Box::new(Tree::Leaf(0)), els: Box::new(Tree::Leaf(1)) });
    }

    #[test]
    fn fails_without_separating_predicate() {
        let all = Bits::full(2);
        let a = Bits::from_mask(&[true, false]);
        let b = Bits::from_mask(&[false, true]);
        assert_eq!(learn(&all, &[a, b], &[Bits::full(2)], 100, far(), &CancelToken::new()), None);
    }
}
#[cfg(test)]
mod split_tests {
    use super::*;

    /// A tiny cover must not attract the split (regression: `max(a, b)` came out as a deep tree).
    #[test]
    fn prefers_split_where_each_side_has_one_good_term() {
        let zero = Bits::from_mask(&[false, false, false, false, true]);
        let all = Bits::full(5);
        let a = Bits::from_mask(&[false, false, true, true, true]);
        let b = Bits::from_mask(&[true, true, false, false, true]);
        let eq = Bits::from_mask(&[false, false, false, false, true]);
        let slt = Bits::from_mask(&[true, true, false, false, false]);
        let t = learn(&all, &[a, b, zero], &[eq, slt], 100, super::tests::far(), &CancelToken::new()).unwrap();
        assert_eq!(t, Tree::Node { pred: 1, then: Box::new(Tree::Leaf(1)), els: Box::new(Tree::Leaf(0)) });
    }
}

#[cfg(test)]
mod cover_tests {
    use super::*;

    /// `price`: `qty * unit` is right on the 16 calls with `qty < 10` and many terms are
    /// right on most of those; the discounted price is right on the other 4 only. The split
    /// on `qty < 10` must still be found (regression: the 16 largest covers were all
    /// near-copies of `qty * unit`, so no split scored full and a deep tree came out).
    #[test]
    fn a_cover_of_the_minority_is_scored_although_near_copies_of_the_majority_are_larger() {
        let n = 20;
        let all = Bits::full(n);
        let majority = Bits::from_mask(&(0..n).map(|i| i < 16).collect::<Vec<_>>());
        let mut covers = vec![majority.clone()];
        for skip in 0..20 {
            // Near-copies: right on the majority but one, and on one call of the minority.
            covers.push(Bits::from_mask(
                &(0..n).map(|i| (i < 16 && i != skip % 16) || i == 16 + skip % 4).collect::<Vec<_>>(),
            ));
        }
        let minority = Bits::from_mask(&(0..n).map(|i| i >= 16).collect::<Vec<_>>());
        covers.push(minority);
        let noise = Bits::from_mask(&(0..n).map(|i| i % 3 == 0).collect::<Vec<_>>());
        let split = majority;
        let t = learn(&all, &covers, &[noise, split], 100, super::tests::far(), &CancelToken::new()).unwrap();
        assert_eq!(t, Tree::Node { pred: 1, then: Box::new(Tree::Leaf(0)), els: Box::new(Tree::Leaf(21)) });
    }
}
