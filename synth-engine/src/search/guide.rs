//! Production costs for the enumerator.

use crate::dsl::{Sort, Term, Value};

/// What a [`Guide`] is told about a production.
#[derive(Clone, Copy, Debug)]
pub struct ProductionInfo<'a> {
    /// Name of the nonterminal the production belongs to.
    pub nonterminal: &'a str,
    /// Sort of that nonterminal.
    pub sort: Sort,
    /// The production as written in the grammar (nonterminals appear as variables).
    pub production: &'a Term,
    /// Number of nonterminal holes in the production.
    pub holes: usize,
}

/// Supplies the cost of each grammar production. The enumerator lists terms
/// in order of total cost (the sum of the costs of the productions used), so
/// cheaper productions are tried first.
///
/// The default, [`UniformGuide`], gives every production cost 1, so terms are
/// enumerated by size. A learned guide can bias the search towards likely
/// programs.
pub trait Guide: Send + Sync {
    /// The cost of a production; values are clamped to `1..=16`.
    fn production_cost(&self, info: &ProductionInfo<'_>) -> u32;

    /// Constants of `sort` to add as leaves when the search builds its own
    /// grammar (never to a grammar the problem gives): values the guide
    /// expects in the solution that the examples need not show. Each is then
    /// priced by [`Guide::production_cost`]. None by default.
    fn proposed_constants(&self, _sort: Sort) -> Vec<Value> {
        Vec::new()
    }
}

/// Every production costs 1: enumeration by term size.
#[derive(Clone, Copy, Debug, Default)]
pub struct UniformGuide;

impl Guide for UniformGuide {
    fn production_cost(&self, _info: &ProductionInfo<'_>) -> u32 {
        1
    }
}
