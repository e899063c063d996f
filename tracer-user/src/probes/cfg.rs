//! Basic blocks of a traced function (iced-x86), and the block probes that count how
//! often each one runs.
//!
//! Leaders are the function's first instruction, every branch target inside the function,
//! and every instruction after a branch or return. Blocks not reachable from the first
//! one (alignment padding after a `ret`) are left out. Calls do not end a block.
use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    io::{Read as _, Seek as _, SeekFrom},
    path::PathBuf,
};

use iced_x86::{Decoder, DecoderOptions, FlowControl, Formatter as _, IntelFormatter};
use serde::{Deserialize, Serialize};
use tracer_common::EventKind;

use super::{Plan, ProbePoint};

/// Errors finding basic blocks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CfgError {
    /// The function's code could not be read.
    #[error("cannot read the code of `{function}` from {path}: {source}")]
    Read {
        /// The function.
        function: String,
        /// The ELF file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// One basic block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BasicBlock {
    /// Offset of its first instruction from the function's start.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// Its last instruction, Intel syntax.
    pub terminator: String,
    /// Offsets of the blocks control can go to next (inside the function).
    pub successors: Vec<u64>,
    /// Probe id counting its hits (see [`ProbePoint::id`]).
    pub probe: u32,
    /// Times the block was entered.
    pub hits: u64,
}

/// The control-flow graph of one function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FunctionCfg {
    /// Function name.
    pub function: String,
    /// Blocks by offset; the first is the entry.
    pub blocks: Vec<BasicBlock>,
}

/// The control-flow graphs of a session's functions, with hit counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cfg {
    /// One per traced function, in the plan's order.
    pub functions: Vec<FunctionCfg>,
}

impl Cfg {
    /// Takes the hit counts from a builder's per-probe counters.
    pub fn set_hits(&mut self, block_hits: &[u64]) {
        for b in self.functions.iter_mut().flat_map(|f| &mut f.blocks) {
            if let Some(&h) = block_hits.get(b.probe as usize) {
                b.hits = h;
            }
        }
    }
}

/// The reachable basic blocks of the function whose code is `code` at `address` (probe
/// ids are left 0).
pub fn basic_blocks(code: &[u8], address: u64) -> Vec<BasicBlock> {
    let end = address + code.len() as u64;
    let inside = |t: u64| (address..end).contains(&t).then(|| t - address);
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    // (offset, len, flow, in-function target, text)
    let mut insns = Vec::new();
    while decoder.can_decode() {
        let i = decoder.decode();
        if i.is_invalid() {
            break;
        }
        let mut text = String::new();
        formatter.format(&i, &mut text);
        let target = match i.flow_control() {
            FlowControl::ConditionalBranch | FlowControl::UnconditionalBranch => inside(i.near_branch_target()),
            _ => None,
        };
        insns.push((i.ip() - address, i.len() as u64, i.flow_control(), target, text));
    }
    let starts: BTreeSet<u64> = insns.iter().map(|i| i.0).collect();
    let mut leaders = BTreeSet::from([0u64]);
    for (offset, len, flow, target, _) in &insns {
        match flow {
            FlowControl::ConditionalBranch
            | FlowControl::UnconditionalBranch
            | FlowControl::IndirectBranch
            | FlowControl::Return
            | FlowControl::Exception
            | FlowControl::Interrupt => {
                leaders.extend(*target);
                leaders.insert(offset + len);
            }
            _ => {}
        }
    }
    leaders.retain(|l| starts.contains(l));

    let mut blocks: Vec<BasicBlock> = Vec::new();
    for (offset, len, flow, target, text) in &insns {
        if leaders.contains(offset) || blocks.is_empty() {
            blocks.push(BasicBlock {
                offset: *offset,
                len: 0,
                terminator: String::new(),
                successors: Vec::new(),
                probe: 0,
                hits: 0,
            });
        }
        let b = blocks.last_mut().expect("pushed above");
        b.len = offset + len - b.offset;
        b.terminator.clone_from(text);
        let next = offset + len;
        let fallthrough = starts.contains(&next).then_some(next);
        b.successors = match flow {
            FlowControl::ConditionalBranch => target.iter().copied().chain(fallthrough).collect(),
            FlowControl::UnconditionalBranch => target.iter().copied().collect(),
            FlowControl::IndirectBranch
            | FlowControl::Return
            | FlowControl::Exception
            | FlowControl::Interrupt => Vec::new(),
            _ => fallthrough.into_iter().collect(),
        };
        b.successors.dedup();
    }

    // Keep what is reachable from the entry block.
    let index: HashMap<u64, usize> = blocks.iter().enumerate().map(|(i, b)| (b.offset, i)).collect();
    let mut seen = vec![false; blocks.len()];
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        if i >= blocks.len() || std::mem::replace(&mut seen[i], true) {
            continue;
        }
        queue.extend(blocks[i].successors.iter().filter_map(|s| index.get(s).copied()));
    }
    blocks.into_iter().zip(seen).filter_map(|(b, keep)| keep.then_some(b)).collect()
}

/// Adds a block probe at the start of every reachable basic block of every function in
/// `plan`, and returns the graphs with their probe ids.
///
/// # Errors
/// [`CfgError::Read`] when a function's code cannot be read from its ELF file.
pub fn add_block_points(plan: &mut Plan) -> Result<Cfg, CfgError> {
    let mut cfg = Cfg::default();
    for (index, f) in plan.functions.iter().enumerate() {
        let entry = plan
            .points
            .iter()
            .find(|p| p.function == index as u32 && p.kind == EventKind::Entry)
            .expect("every planned function has an entry point")
            .clone();
        let base = entry.file_offset - f.entry_site.offset;
        let read_error = |source| CfgError::Read { function: f.name.clone(), path: entry.object.clone(), source };
        let mut code = vec![0u8; usize::try_from(f.size).unwrap_or(0)];
        let mut file = std::fs::File::open(&entry.object).map_err(read_error)?;
        file.seek(SeekFrom::Start(base)).map_err(read_error)?;
        file.read_exact(&mut code).map_err(read_error)?;
        let mut blocks = basic_blocks(&code, f.address);
        for b in &mut blocks {
            let id = plan.points.len() as u32;
            b.probe = id;
            plan.points.push(ProbePoint {
                id,
                object: entry.object.clone(),
                file_offset: base + b.offset,
                kind: EventKind::Block,
                uretprobe: false,
                function: index as u32,
                string_mask: 0,
            });
        }
        cfg.functions.push(FunctionCfg { function: f.name.clone(), blocks });
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_branches_and_drops_padding() {
        // price at -O2:
        //  0: movsxd rax, edi      3: movsxd rsi, esi     6: imul rax, rsi
        //  a: cmp edi, 9           d: jle 0x1e
        //  f: lea rcx, [rax+rax*8] 13: mov rax, rcx        16: sub rax, 1 (4 bytes)
        // 1a: nop dword [rax] (4)  1e: ret                 1f: nop (padding)
        let code = [
            0x48, 0x63, 0xc7, 0x48, 0x63, 0xf6, 0x48, 0x0f, 0xaf, 0xc6, 0x83, 0xff, 0x09, 0x7e, 0x0f,
            0x48, 0x8d, 0x0c, 0xc0, 0x48, 0x89, 0xc8, 0x48, 0x83, 0xe8, 0x01, 0x0f, 0x1f, 0x40, 0x00,
            0xc3, 0x90,
        ];
        let blocks = basic_blocks(&code, 0x1000);
        let shape: Vec<(u64, u64, Vec<u64>)> = blocks.iter().map(|b| (b.offset, b.len, b.successors.clone())).collect();
        assert_eq!(shape, vec![(0, 0xf, vec![0x1e, 0xf]), (0xf, 0xf, vec![0x1e]), (0x1e, 1, vec![])]);
        assert_eq!(blocks[2].terminator, "ret");
    }

    #[test]
    fn loops_and_recursion() {
        // 0: test edi, edi; 2: jle 0xa; 4: dec edi; 6: jmp 0x2 (back edge, 2 bytes)... as
        // 0: test edi,edi  2: jle +4 (-> 8)  4: dec edi  6: jmp -6 (-> 2)  8: ret
        let code = [0x85, 0xff, 0x7e, 0x04, 0xff, 0xcf, 0xeb, 0xfa, 0xc3];
        let blocks = basic_blocks(&code, 0);
        let shape: Vec<(u64, Vec<u64>)> = blocks.iter().map(|b| (b.offset, b.successors.clone())).collect();
        assert_eq!(shape, vec![(0, vec![2]), (2, vec![8, 4]), (4, vec![2]), (8, vec![])]);
    }
}
