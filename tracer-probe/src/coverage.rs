//! Which branches of the original function the recorded calls took, from the block paths
//! of a recording with block probes: what `synth --pid` reports beside the code, and what
//! `verified` requires (every conditional branch the calls reached seen going both ways).
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::probes::cfg::{CallBlocks, FunctionCfg};

/// One conditional branch of the original that the calls reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchSeen {
    /// Offset of the block ending in the branch, from the function's start.
    pub offset: u64,
    /// Its source line (`file:line`), when the binary has line tables.
    pub line: Option<String>,
    /// Times the branch was taken.
    pub taken: u64,
    /// Times it fell through.
    pub not_taken: u64,
}

impl BranchSeen {
    /// Whether the calls took it both ways.
    #[must_use]
    pub fn both_ways(&self) -> bool {
        self.taken > 0 && self.not_taken > 0
    }

    fn describe(&self) -> String {
        let at = match &self.line {
            Some(line) => format!("+{:#x} ({line})", self.offset),
            None => format!("+{:#x}", self.offset),
        };
        format!("{at}: taken {}, not taken {}", self.taken, self.not_taken)
    }
}

/// The branch coverage of one function's recorded calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchCoverage {
    /// Conditional branches the calls reached.
    pub branches: Vec<BranchSeen>,
    /// Offsets of the blocks no call entered.
    pub unreached_blocks: Vec<u64>,
}

impl BranchCoverage {
    /// Counts `paths` (calls of the function of `cfg`) into its graph.
    #[must_use]
    pub fn of(cfg: &FunctionCfg, paths: &[CallBlocks]) -> Self {
        let mut cfg = cfg.clone();
        let mut entered: BTreeSet<u64> = BTreeSet::new();
        for p in paths {
            cfg.add_call(p);
            entered.insert(0);
            entered.extend(p.edges.iter().flat_map(|e| [u64::from(e.from), u64::from(e.to)]));
        }
        let branches = cfg
            .blocks
            .iter()
            .filter(|b| entered.contains(&b.offset))
            .filter_map(|b| {
                let br = b.branch.as_ref()?;
                Some(BranchSeen {
                    offset: b.offset,
                    line: b.line.as_ref().map(|l| format!("{}:{}", l.file, l.line)),
                    taken: br.taken,
                    not_taken: br.not_taken,
                })
            })
            .collect();
        let unreached_blocks = cfg.blocks.iter().map(|b| b.offset).filter(|o| !entered.contains(o)).collect();
        Self { branches, unreached_blocks }
    }

    /// Why the calls do not show the whole behaviour: the branches they took one way only.
    #[must_use]
    pub fn one_way(&self) -> Option<String> {
        let one: Vec<String> = self.branches.iter().filter(|b| !b.both_ways()).map(BranchSeen::describe).collect();
        (!one.is_empty()).then(|| {
            format!(
                "the original's branch{} {} went one way only in the recorded calls: what the other side does was never observed",
                if one.len() > 1 { "es" } else { "" },
                one.join("; ")
            )
        })
    }
}

/// The block edges each call (by `seq`) followed.
#[must_use]
pub fn edges_by_call(paths: &[CallBlocks]) -> HashMap<u64, Vec<(u32, u32)>> {
    paths.iter().map(|p| (p.seq, p.edges.iter().map(|e| (e.from, e.to)).collect())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::cfg::{BasicBlock, Branch, CallEdge};

    fn block(offset: u64, successors: Vec<u64>) -> BasicBlock {
        let branch = (successors.len() == 2).then(|| Branch {
            taken_to: successors[0],
            not_taken_to: successors[1],
            taken: 0,
            not_taken: 0,
            taken_ratio: None,
        });
        BasicBlock {
            offset,
            len: 4,
            terminator: String::new(),
            successors,
            probe: 0,
            hits: 0,
            site: offset,
            site_cost: None,
            line: None,
            branch,
        }
    }

    fn path(seq: u64, edges: &[(u32, u32)]) -> CallBlocks {
        CallBlocks {
            seq,
            function: 0,
            path: Vec::new(),
            truncated: 0,
            edges: edges.iter().map(|&(from, to)| CallEdge { from, to, count: 1 }).collect(),
        }
    }

    #[test]
    fn a_branch_seen_one_way_is_named_and_unreached_blocks_listed() {
        // 0 branches to 8 (taken) or 4; 4 branches to 12 or 16; 20 is never entered.
        let cfg = FunctionCfg::new(
            "f".into(),
            vec![
                block(0, vec![8, 4]),
                block(4, vec![12, 16]),
                block(8, vec![]),
                block(12, vec![]),
                block(16, vec![]),
                block(20, vec![]),
            ],
        );
        let paths = [path(1, &[(0, 8)]), path(2, &[(0, 4), (4, 16)]), path(3, &[(0, 4), (4, 16)])];
        let cov = BranchCoverage::of(&cfg, &paths);
        assert_eq!(cov.branches.len(), 2);
        assert!(cov.branches[0].both_ways());
        assert_eq!((cov.branches[1].taken, cov.branches[1].not_taken), (0, 2));
        assert_eq!(cov.unreached_blocks, [12, 20]);
        let why = cov.one_way().unwrap();
        assert!(why.contains("branch +0x4: taken 0, not taken 2 went one way only"), "{why}");
        let all = BranchCoverage::of(&cfg, &[paths[0].clone(), paths[1].clone(), path(4, &[(0, 4), (4, 12)])]);
        assert_eq!(all.one_way(), None);
        assert_eq!(edges_by_call(&paths)[&2], [(0, 4), (4, 16)]);
    }
}
