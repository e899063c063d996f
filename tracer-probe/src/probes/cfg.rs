//! Control-flow graphs of traced functions: basic blocks (iced-x86), edges, dominators and
//! natural loops (petgraph), DWARF lines, and the block probes whose per-call paths give
//! edge counts, branch ratios and loop iteration counts.
//!
//! Leaders are the function's first instruction, every branch target inside the function,
//! and every instruction after a branch or return. Blocks not reachable from the first
//! one (alignment padding after a `ret`) are left out. Calls do not end a block.
//!
//! Each block is probed at its cheapest instruction (a hit anywhere in a block means the
//! block was entered: there is no branch inside it), and the entry block is not probed at
//! all: the function's entry probe, which sits in it, stands for it.
use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    fmt::Write as _,
    io::{Read as _, Seek as _, SeekFrom},
    path::PathBuf,
};

use iced_x86::{Decoder, DecoderOptions, FlowControl, Formatter as _, IntelFormatter};
use petgraph::{
    algo::dominators,
    graph::{DiGraph, NodeIndex},
};
use serde::{Deserialize, Serialize};
use tracer_common::EventKind;

use super::{
    dwarf::SourceLine,
    site::{cost_of, SiteCost},
    Plan, ProbePoint,
};

/// Longest block path kept per call; blocks entered after it are only counted (edge
/// counts stay exact).
pub const MAX_PATH: usize = 4096;

/// Most distinct values kept exactly in a loop's iteration histogram; further values are
/// rounded down to a power of two.
const MAX_HISTOGRAM: usize = 4096;

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

/// Taken / not-taken counts of a block ending in a conditional branch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Branch {
    /// Block the branch goes to when taken.
    pub taken_to: u64,
    /// Block it falls through to.
    pub not_taken_to: u64,
    /// Times taken.
    pub taken: u64,
    /// Times not taken.
    pub not_taken: u64,
    /// `taken / (taken + not_taken)`; `None` before the branch ran.
    pub taken_ratio: Option<f64>,
}

/// One basic block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BasicBlock {
    /// Offset of its first instruction from the function's start.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// Its last instruction, Intel syntax.
    pub terminator: String,
    /// Offsets of the blocks control can go to next (inside the function); for a
    /// conditional branch the taken target first.
    pub successors: Vec<u64>,
    /// Probe id counting its hits (see [`ProbePoint::id`]); for the entry block, the
    /// function's entry probe.
    pub probe: u32,
    /// Times the block was entered.
    pub hits: u64,
    /// Offset of the probed instruction (the cheapest one in the block).
    #[serde(default)]
    pub site: u64,
    /// What a hit of that probe costs.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub site_cost: Option<SiteCost>,
    /// Source line of its first instruction, when the binary has DWARF line tables.
    #[serde(default)]
    pub line: Option<SourceLine>,
    /// Taken / not-taken counts, for a block ending in a conditional branch.
    #[serde(default)]
    pub branch: Option<Branch>,
}

/// An edge between two blocks with the times it was followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CfgEdge {
    /// Source block offset.
    pub from: u64,
    /// Target block offset.
    pub to: u64,
    /// Times followed, over all calls.
    pub count: u64,
    /// The target dominates the source: this edge closes a loop.
    pub back_edge: bool,
    /// Seen at run time but not in the static graph (an indirect jump, or lost events).
    pub observed_only: bool,
}

/// Per-call distribution of a count (over every call of the function with a block path).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CountStats {
    /// Calls counted.
    pub calls: u64,
    /// Smallest per-call value.
    pub min: u64,
    /// Median per-call value (the lower middle one).
    pub median: u64,
    /// Largest per-call value.
    pub max: u64,
    /// Mean per-call value.
    pub mean: f64,
    /// `[value, calls]` pairs, by value.
    pub histogram: Vec<[u64; 2]>,
    /// Some values were rounded down to a power of two to bound the histogram.
    pub histogram_rounded: bool,
}

impl CountStats {
    /// Adds one call's value.
    pub fn record(&mut self, value: u64) {
        let mut v = value;
        let mut at = self.histogram.binary_search_by_key(&v, |e| e[0]);
        if at.is_err() && self.histogram.len() >= MAX_HISTOGRAM {
            v = if v == 0 { 0 } else { 1u64 << (63 - v.leading_zeros()) };
            self.histogram_rounded = true;
            at = self.histogram.binary_search_by_key(&v, |e| e[0]);
        }
        match at {
            Ok(i) => self.histogram[i][1] += 1,
            Err(i) => self.histogram.insert(i, [v, 1]),
        }
        self.mean = (self.mean * self.calls as f64 + value as f64) / (self.calls + 1) as f64;
        self.min = if self.calls == 0 { value } else { self.min.min(value) };
        self.max = self.max.max(value);
        self.calls += 1;
        let middle = (self.calls - 1) / 2;
        let mut seen = 0;
        for [value, n] in &self.histogram {
            seen += n;
            if seen > middle {
                self.median = *value;
                break;
            }
        }
    }
}

/// A natural loop: the blocks that can reach a back edge's source without passing its
/// header, merged over the back edges sharing a header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CfgLoop {
    /// Offset of the header block (it dominates the loop).
    pub header: u64,
    /// `[from, to]` offsets of the back edges into the header.
    pub back_edges: Vec<[u64; 2]>,
    /// Offsets of the loop's blocks, header included.
    pub blocks: Vec<u64>,
    /// Per call: times the header was entered (from outside the loop or through a back
    /// edge); for a loop tested at the top this is iterations + 1 per entry.
    pub header_entries: CountStats,
    /// Per call: times a back edge was taken (iterations that started another one).
    pub back_edges_taken: CountStats,
}

/// The control-flow graph of one function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FunctionCfg {
    /// Function name.
    pub function: String,
    /// Blocks by offset; the first is the entry.
    pub blocks: Vec<BasicBlock>,
    /// Calls whose block paths were counted into `edges` and `loops`.
    #[serde(default)]
    pub calls: u64,
    /// Calls whose stored path was cut at [`MAX_PATH`] blocks.
    #[serde(default)]
    pub truncated_paths: u64,
    /// Static edges, and edges only seen at run time, with counts over all calls.
    #[serde(default)]
    pub edges: Vec<CfgEdge>,
    /// Natural loops with per-call iteration statistics.
    #[serde(default)]
    pub loops: Vec<CfgLoop>,
}

/// The control-flow graphs of a session's functions, with hit counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cfg {
    /// One per traced function, in the plan's order.
    pub functions: Vec<FunctionCfg>,
    /// Block hits that came while no call of their function was open on their thread
    /// (calls in flight at attach time, lost entry events).
    #[serde(default)]
    pub unattributed_blocks: u64,
}

/// One edge of one call's block path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallEdge {
    /// Source block offset.
    pub from: u32,
    /// Target block offset.
    pub to: u32,
    /// Times followed in this call.
    pub count: u64,
}

/// The blocks one call went through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallBlocks {
    /// The call's `seq`.
    pub seq: u64,
    /// The call's function index.
    pub function: u32,
    /// Offsets of the blocks entered, in order, starting with the entry block; at most
    /// [`MAX_PATH`].
    pub path: Vec<u32>,
    /// Blocks entered after the path was full.
    pub truncated: u64,
    /// Edges followed, with counts (exact even when the path is cut), by (from, to).
    pub edges: Vec<CallEdge>,
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

    /// The graph of the function named `name`.
    pub fn function(&self, name: &str) -> Option<&FunctionCfg> {
        self.functions.iter().find(|f| f.function == name)
    }

    /// Counts one call's path into its function's edges, branches and loops.
    pub fn add_call(&mut self, call: &CallBlocks) {
        if let Some(f) = self.functions.get_mut(call.function as usize) {
            f.add_call(call);
        }
    }

    /// Graphviz DOT of every function (one digraph each).
    pub fn to_dot(&self) -> String {
        self.functions.iter().map(FunctionCfg::to_dot).collect()
    }
}

impl FunctionCfg {
    /// A graph over `blocks` with its static edges, back edges and natural loops.
    pub fn new(function: String, blocks: Vec<BasicBlock>) -> Self {
        let mut f = Self { function, blocks, calls: 0, truncated_paths: 0, edges: Vec::new(), loops: Vec::new() };
        f.analyze();
        f
    }

    fn analyze(&mut self) {
        let index: HashMap<u64, usize> = self.blocks.iter().enumerate().map(|(i, b)| (b.offset, i)).collect();
        let mut graph = DiGraph::<(), ()>::with_capacity(self.blocks.len(), self.blocks.len() * 2);
        let nodes: Vec<NodeIndex> = self.blocks.iter().map(|_| graph.add_node(())).collect();
        let mut pairs = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            for s in &b.successors {
                if let Some(&j) = index.get(s) {
                    graph.add_edge(nodes[i], nodes[j], ());
                    pairs.push((i, j));
                }
            }
        }
        self.edges.clear();
        self.loops.clear();
        if self.blocks.is_empty() {
            return;
        }
        let dom = dominators::simple_fast(&graph, nodes[0]);
        let dominates =
            |a: usize, b: usize| dom.dominators(nodes[b]).is_some_and(|mut chain| chain.any(|n| n == nodes[a]));
        let mut by_header: Vec<(usize, Vec<usize>)> = Vec::new();
        for &(i, j) in &pairs {
            let back_edge = dominates(j, i);
            self.edges.push(CfgEdge {
                from: self.blocks[i].offset,
                to: self.blocks[j].offset,
                count: 0,
                back_edge,
                observed_only: false,
            });
            if back_edge {
                match by_header.iter_mut().find(|(h, _)| *h == j) {
                    Some((_, tails)) => tails.push(i),
                    None => by_header.push((j, vec![i])),
                }
            }
        }
        let predecessors = |n: usize| pairs.iter().filter(move |(_, t)| *t == n).map(|(f, _)| *f);
        for (header, tails) in by_header {
            let mut body = BTreeSet::from([header]);
            let mut stack: Vec<usize> = tails.clone();
            while let Some(n) = stack.pop() {
                if body.insert(n) {
                    stack.extend(predecessors(n));
                }
            }
            let offset = |i: usize| self.blocks[i].offset;
            let mut blocks: Vec<u64> = body.into_iter().map(offset).collect();
            blocks.sort_unstable();
            self.loops.push(CfgLoop {
                header: offset(header),
                back_edges: tails.iter().map(|&t| [offset(t), offset(header)]).collect(),
                blocks,
                header_entries: CountStats::default(),
                back_edges_taken: CountStats::default(),
            });
        }
        self.loops.sort_by_key(|l| l.header);
    }

    /// Counts one call's path into edges, branches and loops.
    pub fn add_call(&mut self, call: &CallBlocks) {
        self.calls += 1;
        if call.truncated > 0 {
            self.truncated_paths += 1;
        }
        for e in &call.edges {
            let (from, to) = (u64::from(e.from), u64::from(e.to));
            match self.edges.iter_mut().find(|x| x.from == from && x.to == to) {
                Some(x) => x.count += e.count,
                None => self.edges.push(CfgEdge { from, to, count: e.count, back_edge: false, observed_only: true }),
            }
            if let Some(branch) = self.blocks.iter_mut().find(|b| b.offset == from).and_then(|b| b.branch.as_mut()) {
                if branch.taken_to == to {
                    branch.taken += e.count;
                } else if branch.not_taken_to == to {
                    branch.not_taken += e.count;
                }
                let total = branch.taken + branch.not_taken;
                branch.taken_ratio = (total > 0).then(|| branch.taken as f64 / total as f64);
            }
        }
        for l in &mut self.loops {
            let into_header: u64 = call.edges.iter().filter(|e| u64::from(e.to) == l.header).map(|e| e.count).sum();
            let back: u64 = call
                .edges
                .iter()
                .filter(|e| l.back_edges.contains(&[u64::from(e.from), u64::from(e.to)]))
                .map(|e| e.count)
                .sum();
            l.header_entries.record(into_header + u64::from(l.header == 0));
            l.back_edges_taken.record(back);
        }
    }

    /// Graphviz DOT: blocks with hits and source lines, edges labelled with counts (and
    /// the taken share of conditional branches), back edges in red, loop headers doubled.
    pub fn to_dot(&self) -> String {
        fn esc(s: &str) -> String {
            s.replace('\\', "\\\\").replace('"', "\\\"")
        }
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", esc(&self.function));
        let _ = writeln!(out, "  label=\"{} ({} calls)\";", esc(&self.function), self.calls);
        out.push_str("  node [shape=box, fontname=\"monospace\"];\n");
        for b in &self.blocks {
            let mut label = format!("+{:#x}", b.offset);
            if let Some(l) = &b.line {
                let _ = write!(label, " {}:{}", l.file, l.line);
            }
            let _ = write!(label, "\\nhits {}\\n{}", b.hits, b.terminator);
            let mut attrs = String::new();
            if let Some(l) = self.loops.iter().find(|l| l.header == b.offset) {
                let s = &l.header_entries;
                let _ = write!(label, "\\nloop header: entries/call min {} median {} max {}", s.min, s.median, s.max);
                attrs.push_str(", peripheries=2, color=red");
            }
            let _ = writeln!(out, "  \"{:#x}\" [label=\"{}\"{attrs}];", b.offset, esc(&label).replace("\\\\n", "\\n"));
        }
        for e in &self.edges {
            let mut label = e.count.to_string();
            let branch = self.blocks.iter().find(|b| b.offset == e.from).and_then(|b| b.branch.as_ref());
            if let Some(br) = branch {
                let total = br.taken + br.not_taken;
                if total > 0 {
                    let share = if br.taken_to == e.to { br.taken } else { br.not_taken };
                    let _ = write!(label, " ({:.0}%)", share as f64 * 100.0 / total as f64);
                }
            }
            let mut attrs = format!("label=\"{label}\"");
            if e.back_edge {
                attrs.push_str(", color=red, style=bold, xlabel=\"back edge\"");
            }
            if e.observed_only {
                attrs.push_str(", style=dashed");
            }
            let _ = writeln!(out, "  \"{:#x}\" -> \"{:#x}\" [{attrs}];", e.from, e.to);
        }
        out.push_str("}\n");
        out
    }
}

/// The reachable basic blocks of the function whose code is `code` at `address` (probe
/// ids are left 0).
pub fn basic_blocks(code: &[u8], address: u64) -> Vec<BasicBlock> {
    let end = address + code.len() as u64;
    let inside = |t: u64| (address..end).contains(&t).then(|| t - address);
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    // (offset, len, flow, in-function target, text, probe cost)
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
        let at = (i.ip() - address) as usize;
        let cost = cost_of(&code[at..at + i.len()], &i);
        insns.push((i.ip() - address, i.len() as u64, i.flow_control(), target, text, cost));
    }
    let starts: BTreeSet<u64> = insns.iter().map(|i| i.0).collect();
    let mut leaders = BTreeSet::from([0u64]);
    for (offset, len, flow, target, _, _) in &insns {
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
    for (offset, len, flow, target, text, cost) in &insns {
        if leaders.contains(offset) || blocks.is_empty() {
            blocks.push(BasicBlock {
                offset: *offset,
                len: 0,
                terminator: String::new(),
                successors: Vec::new(),
                probe: 0,
                hits: 0,
                site: *offset,
                site_cost: Some(*cost),
                line: None,
                branch: None,
            });
        }
        let b = blocks.last_mut().expect("pushed above");
        // The first instruction the kernel need not single-step.
        if b.site_cost == Some(SiteCost::SingleStep) && *cost != SiteCost::SingleStep {
            b.site = *offset;
            b.site_cost = Some(*cost);
        }
        b.len = offset + len - b.offset;
        b.terminator.clone_from(text);
        let next = offset + len;
        let fallthrough = starts.contains(&next).then_some(next);
        b.successors = match flow {
            FlowControl::ConditionalBranch => target.iter().copied().chain(fallthrough).collect(),
            FlowControl::UnconditionalBranch => target.iter().copied().collect(),
            FlowControl::IndirectBranch | FlowControl::Return | FlowControl::Exception | FlowControl::Interrupt => {
                Vec::new()
            }
            _ => fallthrough.into_iter().collect(),
        };
        b.successors.dedup();
        b.branch = match (flow, target, fallthrough) {
            (FlowControl::ConditionalBranch, Some(t), Some(f)) if t != &f => {
                Some(Branch { taken_to: *t, not_taken_to: f, taken: 0, not_taken: 0, taken_ratio: None })
            }
            _ => None,
        };
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

/// Adds a block probe to every reachable basic block but the entry block of every
/// function in `plan` (at the block's cheapest instruction; the entry probe stands for
/// the entry block), reads source lines where the binary has DWARF, and returns the graphs
/// with their probe ids. The graphs are also kept in [`Plan::cfg`].
///
/// # Errors
/// [`CfgError::Read`] when a function's code cannot be read from its ELF file.
pub fn add_block_points(plan: &mut Plan) -> Result<Cfg, CfgError> {
    let mut cfg = Cfg::default();
    let mut elf_data: HashMap<PathBuf, Option<Vec<u8>>> = HashMap::new();
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
        let data = elf_data.entry(entry.object.clone()).or_insert_with(|| std::fs::read(&entry.object).ok());
        let addresses: Vec<u64> = blocks.iter().map(|b| f.address + b.offset).collect();
        if let Some(Ok(lines)) = data.as_deref().map(|d| super::dwarf::source_lines(d, &addresses)) {
            for (b, line) in blocks.iter_mut().zip(lines) {
                b.line = line;
            }
        }
        for b in &mut blocks {
            if b.offset == 0 {
                b.probe = entry.id;
                b.site = f.entry_site.offset;
                b.site_cost = Some(f.entry_site.cost);
                continue;
            }
            let id = plan.points.len() as u32;
            b.probe = id;
            plan.points.push(ProbePoint {
                id,
                object: entry.object.clone(),
                file_offset: base + b.site,
                kind: EventKind::Block,
                uretprobe: false,
                function: index as u32,
                string_mask: 0,
                arrays: Default::default(),
            });
        }
        cfg.functions.push(FunctionCfg::new(f.name.clone(), blocks));
    }
    plan.cfg = Some(cfg.clone());
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
            0x48, 0x63, 0xc7, 0x48, 0x63, 0xf6, 0x48, 0x0f, 0xaf, 0xc6, 0x83, 0xff, 0x09, 0x7e, 0x0f, 0x48, 0x8d, 0x0c,
            0xc0, 0x48, 0x89, 0xc8, 0x48, 0x83, 0xe8, 0x01, 0x0f, 0x1f, 0x40, 0x00, 0xc3, 0x90,
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

    #[test]
    fn finds_the_loop_and_counts_a_call_through_it() {
        let code = [0x85, 0xff, 0x7e, 0x04, 0xff, 0xcf, 0xeb, 0xfa, 0xc3];
        let mut f = FunctionCfg::new("down".into(), basic_blocks(&code, 0));
        let back: Vec<(u64, u64)> = f.edges.iter().filter(|e| e.back_edge).map(|e| (e.from, e.to)).collect();
        assert_eq!(back, vec![(4, 2)]);
        assert_eq!(f.loops.len(), 1);
        assert_eq!((f.loops[0].header, f.loops[0].blocks.clone()), (2, vec![2, 4]));
        // down(3): 0, 2, 4, 2, 4, 2, 4, 2, 8; then down(0): 0, 2, 8.
        let edge = |from, to, count| CallEdge { from, to, count };
        for (seq, edges) in [
            (0, vec![edge(0, 2, 1), edge(2, 4, 3), edge(4, 2, 3), edge(2, 8, 1)]),
            (1, vec![edge(0, 2, 1), edge(2, 8, 1)]),
        ] {
            f.add_call(&CallBlocks { seq, function: 0, path: Vec::new(), truncated: 0, edges });
        }
        let count = |from, to| f.edges.iter().find(|e| e.from == from && e.to == to).unwrap().count;
        assert_eq!((count(0, 2), count(2, 4), count(4, 2), count(2, 8)), (2, 3, 3, 2));
        let branch = f.blocks[1].branch.clone().unwrap();
        assert_eq!((branch.taken_to, branch.taken, branch.not_taken), (8, 2, 3));
        assert_eq!(branch.taken_ratio, Some(0.4));
        let l = &f.loops[0];
        assert_eq!((l.header_entries.min, l.header_entries.max), (1, 4));
        assert_eq!(l.back_edges_taken.histogram, vec![[0, 1], [3, 1]]);
        let dot = f.to_dot();
        assert!(dot.starts_with("digraph \"down\" {"), "{dot}");
        assert!(dot.contains("\"0x4\" -> \"0x2\" [label=\"3\", color=red"), "{dot}");
        assert!(dot.contains("\"0x2\" -> \"0x8\" [label=\"2 (40%)\"]"), "{dot}");
        assert!(dot.contains("peripheries=2"), "{dot}");
    }

    #[test]
    fn count_stats_median_and_bounds() {
        let mut s = CountStats::default();
        for v in [5, 1, 9, 5, 2] {
            s.record(v);
        }
        assert_eq!((s.calls, s.min, s.median, s.max), (5, 1, 5, 9));
        assert!((s.mean - 4.4).abs() < 1e-9);
        assert_eq!(s.histogram, vec![[1, 1], [2, 1], [5, 2], [9, 1]]);
    }
}
