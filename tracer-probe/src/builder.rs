//! The trace builder: pairs entry and return records per thread into [`Call`]s.
//!
//! Calls nest by their stack frames: every probe reports `rsp`, and where the probe sits
//! (an entry site before anything moves `rsp`, a `ret` instruction, a uretprobe, the
//! return of a call-through slot) turns it into the address of the call's return-address
//! slot, its *frame*. A return pairs with the open call of its function and frame on its
//! thread. An open call whose frame a later call reuses, or lies below a later call's or
//! return's frame, cannot still be running: its return was lost (a dropped event, a
//! `longjmp`, a return while no return probe was attached), so it is closed as
//! [`Incomplete::ReturnLost`] and is never the parent of a later call. A call at the same
//! frame as the open one is its tail call only when its return address differs (the
//! kernel's uretprobe trampoline stands in the slot). Records without a stack pointer, and
//! calls of functions whose returns are caught at `ret` instructions (`--ret-probes insn`,
//! for stacks that move), pair with the innermost open call of the same function, as
//! before. Strings follow their call record from the same thread and are attached to it.
//!
//! With block probes ([`TraceBuilder::track_blocks`]), each block hit is attributed to
//! the innermost open call of its function on its thread, giving every call its block
//! path ([`CallBlocks`]): the entry block first (the entry probe stands for it), then
//! each block entered, cut at [`MAX_PATH`] with the rest counted, and exact edge counts.
use std::collections::HashMap;

use tracer_common::{EventKind, RET_SLOT};

use crate::{
    events::{CallRecord, MemRecord, Record, StrRecord},
    probes::{
        cfg::{CallBlocks, CallEdge, Cfg, MAX_PATH},
        dwarf::{FieldKind, Layout, StructPlace, ValueKind},
        ProbePoint,
    },
    trace::{Call, FieldValue, FunctionInfo, Incomplete, Value},
};

/// What `rsp` at a probe is, relative to the frame of the call it reports.
fn frame_of(kind: EventKind, uretprobe: bool, sp: u64) -> u64 {
    if sp == 0 {
        return 0;
    }
    match kind {
        // A uretprobe runs after `ret` popped the return address.
        EventKind::Return if uretprobe => sp.wrapping_add_signed(-8),
        EventKind::Call => sp.wrapping_add(crate::events::CALL_SLOT_FRAME_BYTES),
        _ => sp,
    }
}

/// How to decode one function's values.
#[derive(Clone, Debug)]
struct Decoder {
    params: Vec<(ValueKind, Option<usize>)>,
    ret: ValueKind,
    /// Per parameter: the layout of the struct it points to.
    layouts: Vec<Option<Layout>>,
    /// The `char *` struct members whose strings the entry probe reads
    /// ([`tracer_common::ProbeConfig::field_strings`]).
    field_strings: [u32; tracer_common::MAX_FIELD_STRINGS],
}

#[derive(Debug)]
struct Open {
    seq: u64,
    tid: u32,
    function: u32,
    entry_ns: u64,
    entry_cpu: u64,
    args: [u64; tracer_common::MAX_ARGS],
    strings: [Option<StrRecord>; 7],
    /// Strings of `char *` struct members, by index in [`Decoder::field_strings`].
    member_strings: [Option<StrRecord>; tracer_common::MAX_FIELD_STRINGS],
    /// Strings of `char *` members of the first elements of arrays of structs, by
    /// `element * MAX_FIELD_STRINGS + index in Decoder::field_strings`.
    element_strings: Vec<(u32, StrRecord)>,
    /// Memory read through pointer arguments, by argument slot.
    memory: [Option<MemRecord>; tracer_common::MAX_ARGS],
    depth: u32,
    parent: Option<u64>,
    path: Option<Path>,
    /// Address of the return-address slot (0 = unknown).
    frame: u64,
    /// Return address at entry (0 = unknown).
    ret_addr: u64,
}

/// The block path of an open call.
#[derive(Debug)]
struct Path {
    blocks: Vec<u32>,
    truncated: u64,
    last: u32,
    edges: Vec<CallEdge>,
}

impl Path {
    fn new() -> Self {
        Self { blocks: vec![0], truncated: 0, last: 0, edges: Vec::new() }
    }

    fn enter(&mut self, block: u32) {
        let (from, to) = (self.last, block);
        match self.edges.iter_mut().find(|e| e.from == from && e.to == to) {
            Some(e) => e.count += 1,
            None => self.edges.push(CallEdge { from, to, count: 1 }),
        }
        self.last = block;
        if self.blocks.len() < MAX_PATH {
            self.blocks.push(block);
        } else {
            self.truncated += 1;
        }
    }
}

#[derive(Debug)]
enum Awaiting {
    /// Strings for the entry of the innermost open call.
    Entry,
    /// Strings for a completed call's return value.
    Return(Box<Call>, u64),
}

#[derive(Debug, Default)]
struct Thread {
    stack: Vec<Open>,
    awaiting: Option<(Awaiting, u32)>,
    ret_string: Option<StrRecord>,
    /// Memory read again at the awaited return, by argument slot.
    after: [Option<MemRecord>; tracer_common::MAX_ARGS],
}

/// Builds calls from ring-buffer records.
#[derive(Debug)]
pub struct TraceBuilder {
    decoders: Vec<Decoder>,
    /// Function, kind and whether it is a uretprobe, by probe id.
    probe_function: Vec<(u32, EventKind, bool)>,
    /// Functions whose calls pair without frames: returns caught at `ret` instructions
    /// serve stacks that move (Go), where a frame's address does not last.
    frameless: Vec<bool>,
    threads: HashMap<u32, Thread>,
    next_seq: u64,
    ready: Vec<Call>,
    /// Completed calls per function.
    pub calls_per_function: Vec<u64>,
    /// Records decoded.
    pub received: u64,
    /// Returns without a matching entry while the entry probes were attached.
    pub unmatched_returns: u64,
    /// When the entry probes were all attached and when their removal began (CLOCK_MONOTONIC
    /// ns): a return outside that window without an entry belongs to a call that began
    /// while they were not attached, and is not counted as unmatched.
    entries_window: (u64, u64),
    /// Newest event time seen.
    pub newest_ns: u64,
    /// Calls handed out as [`Incomplete`], by reason: return lost, still running.
    pub incomplete: [u64; 2],
    /// Basic-block hits per probe id (entry probes count as hits of the entry block
    /// when blocks are tracked).
    pub block_hits: Vec<u64>,
    /// Block offset of each block probe id, when blocks are tracked.
    block_offset: Vec<Option<u32>>,
    /// Functions whose calls get block paths.
    tracked: Vec<bool>,
    /// Paths of calls finished but not yet complete (waiting for strings), by seq.
    pending_paths: HashMap<u64, CallBlocks>,
    /// Paths of the calls in `ready`.
    ready_paths: Vec<CallBlocks>,
    /// Block hits with no open call of their function on their thread.
    pub unattributed_blocks: u64,
    /// Completed calls shorter than this many ns are left out (0: none).
    min_duration_ns: u64,
    /// Calls left out as shorter than the minimum duration.
    pub left_out_short: u64,
}

impl TraceBuilder {
    /// The struct layouts of each function's parameters ([`crate::probes::Plan::layouts`]),
    /// to decode the structs read behind pointers.
    #[must_use]
    pub fn with_layouts(mut self, layouts: &[Vec<Option<Layout>>]) -> Self {
        for (d, l) in self.decoders.iter_mut().zip(layouts) {
            d.layouts.clone_from(l);
        }
        self
    }

    /// A builder for the functions and probe points of a plan.
    pub fn new(functions: &[FunctionInfo], points: &[ProbePoint]) -> Self {
        let decoders = functions
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let slots = crate::probes::dwarf::register_slots(&f.params, &f.ret);
                let entry = points.iter().find(|p| p.function == i as u32 && p.kind == EventKind::Entry);
                Decoder {
                    params: f.params.iter().zip(slots).map(|(p, s)| (p.ctype.kind, s)).collect(),
                    ret: f.ret.kind,
                    layouts: Vec::new(),
                    field_strings: entry.map_or([0; tracer_common::MAX_FIELD_STRINGS], |p| p.arrays.field_strings),
                }
            })
            .collect();
        Self {
            decoders,
            probe_function: points.iter().map(|p| (p.function, p.kind, p.uretprobe)).collect(),
            frameless: functions.iter().map(|f| f.ret_mode == crate::trace::RetMode::Insn).collect(),
            threads: HashMap::new(),
            next_seq: 0,
            ready: Vec::new(),
            calls_per_function: vec![0; functions.len()],
            received: 0,
            unmatched_returns: 0,
            entries_window: (0, u64::MAX),
            newest_ns: 0,
            incomplete: [0; 2],
            block_hits: vec![0; points.len()],
            block_offset: vec![None; points.len()],
            tracked: vec![false; functions.len()],
            pending_paths: HashMap::new(),
            ready_paths: Vec::new(),
            unattributed_blocks: 0,
            min_duration_ns: 0,
            left_out_short: 0,
        }
    }

    /// Keeps a block path per call of every function in `cfg` (the graphs returned by
    /// [`crate::probes::cfg::add_block_points`] for the same plan).
    pub fn track_blocks(&mut self, cfg: &Cfg) {
        for (index, f) in cfg.functions.iter().enumerate() {
            if let Some(t) = self.tracked.get_mut(index) {
                *t = true;
            }
            for b in f.blocks.iter().filter(|b| b.offset != 0) {
                if let Some(slot) = self.block_offset.get_mut(b.probe as usize) {
                    *slot = u32::try_from(b.offset).ok();
                }
            }
        }
    }

    /// Feeds one raw ring-buffer record (undecodable records are counted as received and
    /// ignored).
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.received += 1;
        match crate::events::decode(bytes) {
            Some(Record::Call(c)) => self.push_call(&c),
            Some(Record::Str(s)) => self.push_str(s),
            Some(Record::Mem(m)) => self.push_mem(m),
            None => {}
        }
    }

    /// Sets when the entry probes were all attached (see [`Self::unmatched_returns`]).
    pub fn entries_attached_at(&mut self, ns: u64) {
        self.entries_window.0 = ns;
    }

    /// Sets when the removal of the entry probes began.
    pub fn entries_detached_at(&mut self, ns: u64) {
        self.entries_window.1 = ns;
    }

    /// Feeds one decoded call record.
    pub fn push_call(&mut self, c: &CallRecord) {
        self.newest_ns = self.newest_ns.max(c.ts_ns);
        if c.kind == EventKind::Call {
            // A whole call seen at its return: its entry was `ticks` earlier. Only leaves
            // are called through, and a leaf runs on the CPU the whole call unless
            // preempted, so its on-CPU time at entry is that much less too.
            let took = crate::tsc::ticks_to_ns(c.ticks);
            // Both halves carry the call's frame (the slot's probe sits below it).
            let Some(&(function, _, uretprobe)) = self.probe_function.get(c.probe as usize) else { return };
            let frame = if self.frameless(function) { 0 } else { frame_of(EventKind::Call, uretprobe, c.sp) };
            let entry = CallRecord {
                kind: EventKind::Entry,
                ts_ns: c.ts_ns.saturating_sub(took),
                cpu_ns: if c.cpu_ns == 0 { 0 } else { c.cpu_ns.saturating_sub(took).max(1) },
                ret: 0,
                ticks: 0,
                sp: frame,
                ret_addr: 0,
                ret_hi: 0,
                ..*c
            };
            self.push_entry(&entry, frame);
            let ret = CallRecord { kind: EventKind::Return, args: [0; tracer_common::MAX_ARGS], ticks: 0, ..*c };
            self.push_return(&ret, frame);
            return;
        }
        let Some(&(function, kind, uretprobe)) = self.probe_function.get(c.probe as usize) else { return };
        let frame = if self.frameless(function) { 0 } else { frame_of(kind, uretprobe, c.sp) };
        match c.kind {
            EventKind::Entry => self.push_entry(c, frame),
            EventKind::Return => self.push_return(c, frame),
            EventKind::Call => {}
            EventKind::Block => self.push_block(c),
        }
    }

    fn frameless(&self, function: u32) -> bool {
        self.frameless.get(function as usize).copied().unwrap_or(true)
    }

    /// An entry whose frame is `frame` (0 = unknown).
    fn push_entry(&mut self, c: &CallRecord, frame: u64) {
        let Some(&(function, _, _)) = self.probe_function.get(c.probe as usize) else { return };
        self.flush_awaiting(c.tid);
        if frame != 0 {
            // Open calls this entry shows to have returned unseen.
            loop {
                let thread = self.threads.entry(c.tid).or_default();
                let Some(top) = thread.stack.last() else { break };
                let same_site = top.ret_addr != 0 && top.ret_addr == c.ret_addr;
                let returned = top.frame != 0 && (top.frame < frame || (top.frame == frame && same_site));
                if !returned {
                    break;
                }
                let open = thread.stack.pop().expect("top exists");
                self.close_incomplete(open, Incomplete::ReturnLost);
            }
        }
        let thread = self.threads.entry(c.tid).or_default();
        let seq = self.next_seq;
        self.next_seq += 1;
        thread.stack.push(Open {
            seq,
            tid: c.tid,
            function,
            entry_ns: c.ts_ns,
            entry_cpu: c.cpu_ns,
            args: c.args,
            strings: Default::default(),
            member_strings: Default::default(),
            element_strings: Vec::new(),
            memory: Default::default(),
            depth: thread.stack.len() as u32,
            parent: thread.stack.last().map(|o| o.seq),
            path: self.tracked.get(function as usize).copied().unwrap_or(false).then(Path::new),
            frame,
            ret_addr: c.ret_addr,
        });
        if self.tracked.get(function as usize).copied().unwrap_or(false) {
            if let Some(h) = self.block_hits.get_mut(c.probe as usize) {
                *h += 1;
            }
        }
        if c.strings > 0 {
            thread.awaiting = Some((Awaiting::Entry, c.strings));
        }
    }

    /// A return whose frame is `frame` (0 = unknown).
    fn push_return(&mut self, c: &CallRecord, frame: u64) {
        let Some(&(function, _, _)) = self.probe_function.get(c.probe as usize) else { return };
        self.flush_awaiting(c.tid);
        let thread = self.threads.entry(c.tid).or_default();
        // Open calls below the returning frame had returned unseen.
        let mut lost = Vec::new();
        while thread.stack.last().is_some_and(|top| frame != 0 && top.frame != 0 && top.frame < frame) {
            lost.extend(thread.stack.pop());
        }
        let pos = if frame == 0 {
            thread.stack.iter().rposition(|o| o.function == function)
        } else {
            // Among the calls in this frame (a tail-call chain), the innermost of this
            // function.
            thread
                .stack
                .iter()
                .rev()
                .take_while(|o| o.frame == frame || o.frame == 0)
                .position(|o| o.function == function)
                .map(|from_top| thread.stack.len() - 1 - from_top)
        };
        let Some(pos) = pos else {
            if (self.entries_window.0..=self.entries_window.1).contains(&c.ts_ns) {
                self.unmatched_returns += 1;
            }
            for open in lost {
                self.close_incomplete(open, Incomplete::ReturnLost);
            }
            return;
        };
        let orphans: Vec<Open> = thread.stack.drain(pos + 1..).collect();
        let open = thread.stack.pop().expect("pos is in the stack");
        for orphan in lost.into_iter().chain(orphans.into_iter().rev()) {
            self.close_incomplete(orphan, Incomplete::ReturnLost);
        }
        let call = self.finish(open, Some(c));
        if c.strings > 0 {
            let thread = self.threads.entry(c.tid).or_default();
            thread.awaiting = Some((Awaiting::Return(Box::new(call), c.ret), c.strings));
        } else {
            self.complete(call);
        }
    }

    /// A basic-block hit.
    fn push_block(&mut self, c: &CallRecord) {
        let Some(&(function, _, _)) = self.probe_function.get(c.probe as usize) else { return };
        self.flush_awaiting(c.tid);
        if let Some(h) = self.block_hits.get_mut(c.probe as usize) {
            *h += 1;
        }
        let Some(Some(offset)) = self.block_offset.get(c.probe as usize).copied() else { return };
        let open = self.threads.get_mut(&c.tid).and_then(|t| t.stack.iter_mut().rev().find(|o| o.function == function));
        match open.and_then(|o| o.path.as_mut()) {
            Some(path) => path.enter(offset),
            None => self.unattributed_blocks += 1,
        }
    }

    fn push_mem(&mut self, m: MemRecord) {
        let tid = m.tid;
        let thread = self.threads.entry(tid).or_default();
        let Some((awaiting, remaining)) = thread.awaiting.as_mut() else { return };
        *remaining = remaining.saturating_sub(1);
        let done = *remaining == 0;
        match awaiting {
            Awaiting::Entry => {
                if let Some(slot) = thread.stack.last_mut().and_then(|open| open.memory.get_mut(m.slot as usize)) {
                    *slot = Some(m);
                }
            }
            Awaiting::Return(..) => {
                let at = m.slot.wrapping_sub(tracer_common::SLOT_AFTER) as usize;
                if let Some(slot) = thread.after.get_mut(at) {
                    *slot = Some(m);
                }
            }
        }
        if done {
            self.flush_awaiting(tid);
        }
    }

    fn push_str(&mut self, s: StrRecord) {
        let tid = s.tid;
        let thread = self.threads.entry(tid).or_default();
        let Some((_, remaining)) = thread.awaiting.as_mut() else { return };
        *remaining = remaining.saturating_sub(1);
        let done = *remaining == 0;
        if s.slot == RET_SLOT {
            thread.ret_string = Some(s);
        } else if let Some(open) = thread.stack.last_mut() {
            if let Some(at) = s.slot.checked_sub(tracer_common::SLOT_ELEMENT_STRING) {
                open.element_strings.push((at, s));
                if done {
                    self.flush_awaiting(tid);
                }
                return;
            }
            let slot = match s.slot.checked_sub(tracer_common::SLOT_FIELD_STRING) {
                Some(member) => open.member_strings.get_mut(member as usize),
                None => open.strings.get_mut(s.slot as usize),
            };
            if let Some(slot) = slot {
                *slot = Some(s);
            }
        }
        if done {
            self.flush_awaiting(tid);
        }
    }

    /// Ends the wait for strings of `tid` (they arrived, or the next record shows they
    /// were lost).
    fn flush_awaiting(&mut self, tid: u32) {
        let Some(thread) = self.threads.get_mut(&tid) else { return };
        let Some((awaiting, _)) = thread.awaiting.take() else { return };
        if let Awaiting::Return(mut call, rax) = awaiting {
            let s = thread.ret_string.take();
            let after = std::mem::take(&mut thread.after);
            let decoder = &self.decoders[call.function as usize];
            // A string result was awaited (other results were decoded at the return).
            if decoder.ret == ValueKind::CString {
                call.ret = Some(decode_value(decoder.ret, rax, s.as_ref(), true));
            }
            // A struct returned in memory: read where rax (the hidden pointer) points.
            if let (ValueKind::StructValue { place: StructPlace::Memory, .. }, Some(layout), Some(m)) = (
                decoder.ret,
                decoder.layouts.get(decoder.params.len()).and_then(Option::as_ref),
                after.first().and_then(Option::as_ref),
            ) {
                call.ret = Some(decode_record(rax, layout, Some(m), &[]));
            }
            // What the call left behind its writable pointer arguments, beside what it found.
            for (k, ((kind, slot), arg)) in decoder.params.iter().zip(call.args.iter_mut()).enumerate() {
                let Some(i) = slot else { continue };
                let Some(m) = after.get(*i).and_then(Option::as_ref) else { continue };
                let written = match (kind, &*arg, decoder.layouts.get(k).and_then(Option::as_ref)) {
                    (ValueKind::Elements { bytes, signed, .. }, Value::Array { ptr, .. }, _) => {
                        decode_elements(*ptr, *bytes, *signed, Some(m))
                    }
                    (ValueKind::Record { count_param: None, .. }, entry @ Value::Record { ptr, .. }, Some(layout)) => {
                        let mut after = decode_record(*ptr, layout, Some(m), &[]);
                        keep_strings(entry, &mut after);
                        after
                    }
                    (
                        ValueKind::Record { count_param: Some(_), .. },
                        entry @ Value::Array { ptr, .. },
                        Some(layout),
                    ) => {
                        let mut after = decode_records(*ptr, layout, Some(m), &|_| Vec::new());
                        if let (Value::Array { items: before, .. }, Value::Array { items: now, .. }) =
                            (entry, &mut after)
                        {
                            for (b, a) in before.iter().zip(now.iter_mut()) {
                                keep_strings(b, a);
                            }
                        }
                        after
                    }
                    _ => continue,
                };
                let before = std::mem::replace(arg, Value::Raw(0));
                *arg = Value::Written { before: Box::new(before), after: Box::new(written) };
            }
            self.complete(*call);
        }
    }

    fn finish(&mut self, mut open: Open, ret: Option<&CallRecord>) -> Call {
        if let Some(path) = open.path.take() {
            let mut edges = path.edges;
            edges.sort_unstable_by_key(|e| (e.from, e.to));
            self.pending_paths.insert(
                open.seq,
                CallBlocks {
                    seq: open.seq,
                    function: open.function,
                    path: path.blocks,
                    truncated: path.truncated,
                    edges,
                },
            );
        }
        let decoder = &self.decoders[open.function as usize];
        let args = decoder
            .params
            .iter()
            .enumerate()
            .map(|(k, (kind, slot))| match slot {
                Some(i) => match (kind, decoder.layouts.get(k).and_then(Option::as_ref)) {
                    (ValueKind::StructValue { bytes, place: StructPlace::Registers }, Some(layout)) => {
                        let next = open.args.get(*i + 1).copied().unwrap_or(0);
                        decode_struct_in_registers(layout, *bytes, open.args[*i], next)
                    }
                    (ValueKind::Elements { bytes, signed, .. }, _) => {
                        decode_elements(open.args[*i], *bytes, *signed, open.memory[*i].as_ref())
                    }
                    (ValueKind::Record { count_param: None, .. }, Some(layout)) => {
                        let strings: Vec<(u32, &StrRecord)> = decoder
                            .field_strings
                            .iter()
                            .zip(&open.member_strings)
                            .filter(|(f, _)| {
                                **f & tracer_common::FIELD_STRING != 0 && ((**f >> 16) & 0xf) as usize == *i
                            })
                            .filter_map(|(f, s)| Some((*f & 0xffff, s.as_ref()?)))
                            .collect();
                        decode_record(open.args[*i], layout, open.memory[*i].as_ref(), &strings)
                    }
                    (ValueKind::Record { count_param: Some(_), .. }, Some(layout)) => {
                        // Element k's strings: of each member read for this slot, the one
                        // for k.
                        let strings = |k: usize| -> Vec<(u32, &StrRecord)> {
                            decoder
                                .field_strings
                                .iter()
                                .enumerate()
                                .filter(|(_, f)| {
                                    **f & tracer_common::FIELD_STRING_EACH != 0 && ((**f >> 16) & 0xf) as usize == *i
                                })
                                .filter_map(|(index, f)| {
                                    let at = (k * tracer_common::MAX_FIELD_STRINGS + index) as u32;
                                    let (_, s) = open.element_strings.iter().find(|(e, _)| *e == at)?;
                                    Some((*f & 0xffff, s))
                                })
                                .collect()
                        };
                        decode_records(open.args[*i], layout, open.memory[*i].as_ref(), &strings)
                    }
                    _ => decode_value(*kind, open.args[*i], open.strings[*i].as_ref(), true),
                },
                None => Value::Unavailable(format!("{kind:?} argument is not in an integer register")),
            })
            .collect();
        let ret_value = ret.and_then(|r| match decoder.ret {
            ValueKind::Void => None,
            ValueKind::Float | ValueKind::Aggregate => Some(Value::Unavailable("return value is not in rax".into())),
            ValueKind::StructValue { bytes, place: StructPlace::Registers } => {
                Some(match decoder.layouts.get(decoder.params.len()).and_then(Option::as_ref) {
                    Some(layout) => decode_struct_in_registers(layout, bytes, r.ret, r.ret_hi),
                    None => Value::Unavailable("no layout for the struct returned".into()),
                })
            }
            ValueKind::StructValue { .. } => Some(Value::Unavailable("the struct returned is not in rax:rdx".into())),
            kind => Some(decode_value(kind, r.ret, None, false)),
        });
        let cpu_ns =
            ret.and_then(|r| (open.entry_cpu != 0 && r.cpu_ns >= open.entry_cpu).then(|| r.cpu_ns - open.entry_cpu));
        Call {
            seq: open.seq,
            function: open.function,
            tid: open.tid,
            depth: open.depth,
            parent: open.parent,
            entry_ns: open.entry_ns,
            exit_ns: ret.map(|r| r.ts_ns),
            duration_ns: ret.map(|r| r.ts_ns.saturating_sub(open.entry_ns)),
            cpu_ns,
            args,
            ret: ret_value,
            incomplete: None,
        }
    }

    /// Hands out an open call whose return will not be seen.
    fn close_incomplete(&mut self, open: Open, why: Incomplete) {
        let mut call = self.finish(open, None);
        call.incomplete = Some(why);
        self.incomplete[why as usize] += 1;
        self.push_ready(call);
    }

    /// Calls open now (entered, return not yet seen), over all threads.
    pub fn open_calls(&self) -> usize {
        self.threads.values().map(|t| t.stack.len()).sum()
    }

    /// Leaves out completed calls shorter than `ns` (the calls a minimum duration keeps out
    /// that the kernel could not: those of functions that read memory at entry).
    pub fn set_min_duration(&mut self, ns: u64) {
        self.min_duration_ns = ns;
    }

    fn complete(&mut self, call: Call) {
        if self.min_duration_ns > 0
            && call.exit_ns.is_some_and(|exit| exit.saturating_sub(call.entry_ns) < self.min_duration_ns)
        {
            self.left_out_short += 1;
            self.pending_paths.remove(&call.seq);
            return;
        }
        if let Some(n) = self.calls_per_function.get_mut(call.function as usize) {
            *n += 1;
        }
        self.push_ready(call);
    }

    fn push_ready(&mut self, call: Call) {
        if let Some(path) = self.pending_paths.remove(&call.seq) {
            self.ready_paths.push(path);
        }
        self.ready.push(call);
    }

    /// Takes the block paths of the calls handed out by [`Self::take_ready`] or
    /// [`Self::finish_all`] so far (empty unless blocks are tracked).
    pub fn take_ready_paths(&mut self) -> Vec<CallBlocks> {
        std::mem::take(&mut self.ready_paths)
    }

    /// Total completed calls so far.
    pub fn completed(&self) -> u64 {
        self.calls_per_function.iter().sum()
    }

    /// Takes the calls completed since the last call.
    pub fn take_ready(&mut self) -> Vec<Call> {
        std::mem::take(&mut self.ready)
    }

    /// Ends the trace: calls still open are handed out as [`Incomplete::StillRunning`],
    /// without exit time.
    pub fn finish_all(&mut self) -> Vec<Call> {
        let tids: Vec<u32> = self.threads.keys().copied().collect();
        for tid in tids {
            self.flush_awaiting(tid);
            let stack = std::mem::take(&mut self.threads.get_mut(&tid).expect("tid").stack);
            for open in stack {
                self.close_incomplete(open, Incomplete::StillRunning);
            }
        }
        self.take_ready()
    }
}

/// Why memory behind pointer `ptr` could not be read.
fn fault(ptr: u64, errno: i32) -> String {
    if ptr == 0 {
        "NULL pointer".to_string()
    } else {
        format!("unreadable memory (errno {})", -errno)
    }
}

/// The elements of `width` bytes a pointer argument pointed to, from the memory read for
/// it, each decoded by `item` (its index and bytes).
fn decode_array(ptr: u64, width: usize, memory: Option<&MemRecord>, item: impl Fn(usize, &[u8]) -> Value) -> Value {
    let Some(m) = memory else {
        return Value::Array { ptr, count: 0, items: Vec::new(), truncated: false, fault: Some("not read".into()) };
    };
    let count = if m.wanted <= 0 { m.wanted } else { m.wanted / width as i64 };
    match &m.read {
        Err(errno) => Value::Array { ptr, count, items: Vec::new(), truncated: false, fault: Some(fault(ptr, *errno)) },
        Ok(data) => {
            let items: Vec<Value> = data.chunks_exact(width).enumerate().map(|(k, chunk)| item(k, chunk)).collect();
            let truncated = count > 0 && (items.len() as i64) < count;
            Value::Array { ptr, count, items, truncated, fault: None }
        }
    }
}

/// The integers a pointer argument pointed to, from the memory read for it.
fn decode_elements(ptr: u64, bytes: u8, signed: bool, memory: Option<&MemRecord>) -> Value {
    let width = usize::from(bytes.clamp(1, 8));
    decode_array(ptr, width, memory, |_, chunk| {
        let mut raw = [0u8; 8];
        raw[..width].copy_from_slice(chunk);
        let kind = if signed { ValueKind::Signed { bytes } } else { ValueKind::Unsigned { bytes } };
        decode_value(kind, u64::from_le_bytes(raw), None, false)
    })
}

/// The structs a pointer argument pointed to, as many as its count said: an array of
/// records; `strings(k)`: the strings the `char *` members of element `k` point to, by the
/// member's offset.
fn decode_records<'a>(
    ptr: u64,
    layout: &Layout,
    memory: Option<&MemRecord>,
    strings: &dyn Fn(usize) -> Vec<(u32, &'a StrRecord)>,
) -> Value {
    let size = (layout.bytes as usize).max(1);
    decode_array(ptr, size, memory, |k, chunk| Value::Record {
        ptr: ptr + (k * size) as u64,
        ty: layout.name.clone(),
        fields: decode_fields(layout, chunk, 0, &strings(k)),
        truncated: false,
        fault: None,
    })
}

/// The strings of the `char *` members of `entry` (a struct read at entry) in `after` (the
/// same struct read at the return, where only addresses are read), where the address did
/// not change.
fn keep_strings(entry: &Value, after: &mut Value) {
    let (Value::Record { fields: before, .. }, Value::Record { fields: now, .. }) = (entry, after) else { return };
    for (b, a) in before.iter().zip(now.iter_mut()) {
        match (&b.value, &mut a.value) {
            (Value::Str { ptr, .. }, Value::Ptr(p)) if ptr == p => a.value = b.value.clone(),
            (Value::Record { .. }, Value::Record { .. }) => keep_strings(&b.value, &mut a.value),
            _ => {}
        }
    }
}

/// The struct a pointer argument pointed to, decoded by its layout from the bytes read;
/// `strings`: the strings its `char *` members point to, by the member's offset.
fn decode_record(ptr: u64, layout: &Layout, memory: Option<&MemRecord>, strings: &[(u32, &StrRecord)]) -> Value {
    let record = |fields, truncated, fault| Value::Record { ptr, ty: layout.name.clone(), fields, truncated, fault };
    let Some(m) = memory else { return record(Vec::new(), false, Some("not read".into())) };
    match &m.read {
        Err(errno) => record(Vec::new(), false, Some(fault(ptr, *errno))),
        Ok(data) => {
            let fields = decode_fields(layout, data, 0, strings);
            record(fields, data.len() < layout.bytes as usize, None)
        }
    }
}

/// A struct of `bytes` bytes in two registers (`lo`, then `hi` from its ninth byte: rax
/// and rdx when returned, consecutive argument registers when passed), decoded by its
/// layout.
fn decode_struct_in_registers(layout: &Layout, bytes: u16, lo: u64, hi: u64) -> Value {
    let mut data = [0u8; 16];
    data[..8].copy_from_slice(&lo.to_le_bytes());
    data[8..].copy_from_slice(&hi.to_le_bytes());
    let data = &data[..usize::from(bytes).min(16)];
    Value::Record {
        ptr: 0,
        ty: layout.name.clone(),
        fields: decode_fields(layout, data, 0, &[]),
        truncated: false,
        fault: None,
    }
}

/// The fields of `layout` at byte `base` of `data`; a field past the bytes read is
/// [`Value::Unavailable`]. A `char *` member whose offset is in `strings` is the string.
fn decode_fields(layout: &Layout, data: &[u8], base: usize, strings: &[(u32, &StrRecord)]) -> Vec<FieldValue> {
    let int_at = |at: usize, bytes: u8, signed: bool| -> Option<Value> {
        let width = usize::from(bytes.clamp(1, 8));
        let chunk = data.get(at..at + width)?;
        let mut raw = [0u8; 8];
        raw[..width].copy_from_slice(chunk);
        let kind = if signed { ValueKind::Signed { bytes } } else { ValueKind::Unsigned { bytes } };
        Some(decode_value(kind, u64::from_le_bytes(raw), None, false))
    };
    let cut = || Value::Unavailable("past the bytes read".into());
    layout
        .fields
        .iter()
        .map(|f| {
            let at = base + f.offset as usize;
            let value = match &f.kind {
                FieldKind::Int { bytes, signed } => int_at(at, *bytes, *signed).unwrap_or_else(cut),
                FieldKind::Bool => data.get(at).map_or_else(cut, |b| Value::Bool(*b != 0)),
                FieldKind::Pointer => match int_at(at, 8, false) {
                    Some(Value::Uint(p)) => Value::Ptr(p),
                    _ => cut(),
                },
                FieldKind::CString => match int_at(at, 8, false) {
                    Some(Value::Uint(p)) => match strings.iter().find(|(offset, _)| *offset as usize == at) {
                        Some((_, s)) => decode_value(ValueKind::CString, p, Some(s), true),
                        None => Value::Ptr(p),
                    },
                    _ => cut(),
                },
                FieldKind::Struct(inner) => {
                    if at >= data.len() {
                        cut()
                    } else {
                        Value::Record {
                            ptr: 0,
                            ty: inner.name.clone(),
                            fields: decode_fields(inner, data, at, strings),
                            truncated: data.len() < at + inner.bytes as usize,
                            fault: None,
                        }
                    }
                }
                FieldKind::Array { bytes, signed, count } => {
                    let items: Vec<Value> = (0..*count as usize)
                        .map_while(|k| int_at(at + k * usize::from(*bytes), *bytes, *signed))
                        .collect();
                    let truncated = items.len() < *count as usize;
                    Value::Array { ptr: 0, count: i64::from(*count), items, truncated, fault: None }
                }
                FieldKind::Opaque { why } => Value::Unavailable(why.clone()),
            };
            FieldValue { name: f.name.clone(), ctype: f.ctype.clone(), value }
        })
        .collect()
}

/// Decodes a register value of a C type.
fn decode_value(kind: ValueKind, raw: u64, string: Option<&StrRecord>, with_string: bool) -> Value {
    match kind {
        ValueKind::Signed { bytes } => {
            let bits = u32::from(bytes.clamp(1, 8)) * 8;
            let shift = 64 - bits;
            Value::Int(((raw << shift) as i64) >> shift)
        }
        ValueKind::Unsigned { bytes } => {
            let bits = u32::from(bytes.clamp(1, 8)) * 8;
            Value::Uint(if bits == 64 { raw } else { raw & ((1u64 << bits) - 1) })
        }
        ValueKind::Bool => Value::Bool(raw & 0xff != 0),
        ValueKind::Pointer => Value::Ptr(raw),
        ValueKind::CString => {
            let value = string
                .filter(|_| with_string && raw != 0)
                .and_then(|s| s.bytes.as_ref())
                .map(|b| String::from_utf8_lossy(b).into_owned());
            Value::Str { ptr: raw, value, truncated: string.is_some_and(|s| s.truncated) }
        }
        ValueKind::Raw => Value::Raw(raw),
        ValueKind::Float | ValueKind::Aggregate | ValueKind::Void | ValueKind::StructValue { .. } => {
            Value::Unavailable(format!("{kind:?} value is not in an integer register"))
        }
        // Read through at entry only (`decode_elements`, `decode_record`); a returned pointer
        // is its address.
        ValueKind::Elements { .. } | ValueKind::Record { .. } => Value::Ptr(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        events::tests::{call_bytes, call_bytes_at, call_bytes_with_ticks},
        probes::dwarf::{CType, Param},
        trace::Trace,
    };

    fn setup() -> TraceBuilder {
        let mut f = Trace::sample().functions[0].clone();
        f.params =
            vec![Param { name: "n".into(), ctype: CType { name: "int".into(), kind: ValueKind::Signed { bytes: 4 } } }];
        let mut g = f.clone();
        g.name = "g".into();
        let point = |id, function, kind| ProbePoint {
            id,
            object: "/x".into(),
            file_offset: 0,
            kind,
            uretprobe: kind == EventKind::Return,
            function,
            string_mask: 0,
            arrays: Default::default(),
        };
        TraceBuilder::new(
            &[f, g],
            &[
                point(0, 0, EventKind::Entry),
                point(1, 0, EventKind::Return),
                point(2, 1, EventKind::Entry),
                point(3, 1, EventKind::Return),
            ],
        )
    }

    #[test]
    fn a_whole_call_event_becomes_one_call_that_began_its_ticks_earlier() {
        let mut b = setup();
        let ticks = 1_000_000;
        let took = crate::tsc::ticks_to_ns(ticks);
        let ts = 10_000_000_000;
        // g's probe (id 2) reports whole calls; g(-4) returned 9 on thread 5.
        b.push_bytes(&call_bytes_with_ticks(4, 2, 5, ts, [u64::from(-4i32 as u32), 0, 0, 0, 0, 0], 9, ticks));
        let calls = b.finish_all();
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!((c.function, c.tid, c.depth), (1, 5, 0));
        assert_eq!((c.args[0].clone(), c.ret.clone()), (Value::Int(-4), Some(Value::Int(9))));
        assert_eq!((c.entry_ns, c.exit_ns, c.duration_ns), (ts - took, Some(ts), Some(took)));
        assert_eq!(c.cpu_ns, Some(took), "a leaf is on the CPU the whole call");
        assert_eq!((b.unmatched_returns, b.calls_per_function.clone()), (0, vec![0, 1]));
    }

    #[test]
    fn pairs_recursion_per_thread() {
        let mut b = setup();
        // f(3) -> f(2) -> g(-1) on thread 1, interleaved with f(7) on thread 2.
        b.push_bytes(&call_bytes(1, 0, 1, 10, [3, 0, 0, 0, 0, 0], 0));
        b.push_bytes(&call_bytes(1, 0, 2, 11, [7, 0, 0, 0, 0, 0], 0));
        b.push_bytes(&call_bytes(1, 0, 1, 12, [2, 0, 0, 0, 0, 0], 0));
        b.push_bytes(&call_bytes(1, 2, 1, 13, [u64::from(u32::MAX), 0, 0, 0, 0, 0], 0));
        b.push_bytes(&call_bytes(2, 3, 1, 14, [0; 6], 5));
        b.push_bytes(&call_bytes(2, 1, 2, 15, [0; 6], 70));
        b.push_bytes(&call_bytes(2, 1, 1, 16, [0; 6], 20));
        b.push_bytes(&call_bytes(2, 1, 1, 17, [0; 6], 30));
        let mut calls = b.finish_all();
        calls.sort_by_key(|c| c.seq);
        let summary: Vec<_> =
            calls.iter().map(|c| (c.function, c.tid, c.depth, c.parent, c.args[0].clone(), c.ret.clone())).collect();
        assert_eq!(
            summary,
            vec![
                (0, 1, 0, None, Value::Int(3), Some(Value::Int(30))),
                (0, 2, 0, None, Value::Int(7), Some(Value::Int(70))),
                (0, 1, 1, Some(0), Value::Int(2), Some(Value::Int(20))),
                (1, 1, 2, Some(2), Value::Int(-1), Some(Value::Int(5))),
            ]
        );
        assert_eq!(calls[0].duration_ns, Some(7));
        assert_eq!(b.unmatched_returns, 0);
        assert_eq!(b.calls_per_function, vec![3, 1]);
    }

    #[test]
    fn counts_unmatched_returns_and_open_calls() {
        let mut b = setup();
        b.push_bytes(&call_bytes(2, 1, 1, 5, [0; 6], 1));
        b.push_bytes(&call_bytes(1, 0, 1, 10, [1, 0, 0, 0, 0, 0], 0));
        let calls = b.finish_all();
        assert_eq!(b.unmatched_returns, 1);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].exit_ns, None);
        assert_eq!(calls[0].tid, 1);
        assert_eq!(calls[0].incomplete, Some(Incomplete::StillRunning));
        assert_eq!(b.incomplete, [0, 1]);
    }

    /// (function, depth, parent, argument, incomplete) of a call.
    type Shape = (u32, u32, Option<u64>, Value, Option<Incomplete>);

    /// The [`Shape`] of every call, in entry order.
    fn shape(calls: &mut [Call]) -> Vec<Shape> {
        calls.sort_by_key(|c| c.seq);
        calls.iter().map(|c| (c.function, c.depth, c.parent, c.args[0].clone(), c.incomplete)).collect()
    }

    const ENTRY: u32 = 1;
    const RETURN: u32 = 2;
    // Probe ids of `setup`: f entry 0, f uretprobe 1, g entry 2, g uretprobe 3.

    #[test]
    fn a_call_whose_return_was_lost_is_marked_and_parents_nothing() {
        let mut b = setup();
        // A loop calls f from one call site (frame 0x7000, return address 0x401000); the
        // return of every other call is lost.
        for i in 0..100u64 {
            b.push_bytes(&call_bytes_at(ENTRY, 0, 1, 10 * i, i, 0, 0x7000, 0x40_1000));
            if i % 2 == 1 {
                b.push_bytes(&call_bytes_at(RETURN, 1, 1, 10 * i + 5, 0, i, 0x7008, 0));
            }
        }
        let mut calls = b.finish_all();
        let calls = shape(&mut calls);
        assert_eq!(calls.len(), 100);
        for (i, c) in calls.iter().enumerate() {
            let lost = (i % 2 == 0).then_some(Incomplete::ReturnLost);
            assert_eq!(*c, (0, 0, None, Value::Int(i as i64), lost), "call {i}");
        }
        assert_eq!((b.incomplete, b.unmatched_returns, b.completed()), ([50, 0], 0, 50));
    }

    #[test]
    fn a_later_call_in_a_shallower_frame_closes_the_lost_one() {
        let mut b = setup();
        // f's return is lost; g is then called from f's caller's caller (a higher frame).
        b.push_bytes(&call_bytes_at(ENTRY, 0, 1, 1, 1, 0, 0x7000, 0x40_1000));
        b.push_bytes(&call_bytes_at(ENTRY, 2, 1, 2, 2, 0, 0x7100, 0x40_2000));
        b.push_bytes(&call_bytes_at(RETURN, 3, 1, 3, 0, 9, 0x7108, 0));
        let mut calls = b.finish_all();
        assert_eq!(
            shape(&mut calls),
            vec![(0, 0, None, Value::Int(1), Some(Incomplete::ReturnLost)), (1, 0, None, Value::Int(2), None)]
        );
    }

    #[test]
    fn recursion_and_tail_calls_nest_by_frame() {
        let mut b = setup();
        // f(3) calls f(2) (a lower frame), which tail-calls g(1): g runs in f(2)'s frame
        // with the kernel's return trampoline as its return address; both return there.
        b.push_bytes(&call_bytes_at(ENTRY, 0, 1, 1, 3, 0, 0x7000, 0x40_1000));
        b.push_bytes(&call_bytes_at(ENTRY, 0, 1, 2, 2, 0, 0x6f00, 0x40_3000));
        b.push_bytes(&call_bytes_at(ENTRY, 2, 1, 3, 1, 0, 0x6f00, 0x7fff_f000));
        b.push_bytes(&call_bytes_at(RETURN, 3, 1, 4, 0, 5, 0x6f08, 0));
        b.push_bytes(&call_bytes_at(RETURN, 1, 1, 5, 0, 5, 0x6f08, 0));
        b.push_bytes(&call_bytes_at(RETURN, 1, 1, 6, 0, 6, 0x7008, 0));
        let mut calls = b.finish_all();
        assert_eq!(
            shape(&mut calls),
            vec![
                (0, 0, None, Value::Int(3), None),
                (0, 1, Some(0), Value::Int(2), None),
                (1, 2, Some(1), Value::Int(1), None),
            ]
        );
        assert_eq!((b.incomplete, b.unmatched_returns), ([0, 0], 0));
    }

    #[test]
    fn with_ret_instruction_probes_calls_pair_by_function_as_stacks_may_move() {
        let mut functions = Trace::sample().functions;
        functions[0].params =
            vec![Param { name: "n".into(), ctype: CType { name: "int".into(), kind: ValueKind::Signed { bytes: 4 } } }];
        functions[0].ret_mode = crate::trace::RetMode::Insn;
        let point = |id, kind| ProbePoint {
            id,
            object: "/x".into(),
            file_offset: 0,
            kind,
            uretprobe: false,
            function: 0,
            string_mask: 0,
            arrays: Default::default(),
        };
        let mut b = TraceBuilder::new(&functions, &[point(0, EventKind::Entry), point(1, EventKind::Return)]);
        // The goroutine's stack moved between entry and return.
        b.push_bytes(&call_bytes_at(ENTRY, 0, 1, 1, 4, 0, 0x7000, 0x40_1000));
        b.push_bytes(&call_bytes_at(RETURN, 1, 1, 2, 0, 8, 0x9_0000, 0));
        let mut calls = b.finish_all();
        assert_eq!(shape(&mut calls), vec![(0, 0, None, Value::Int(4), None)]);
        assert_eq!(b.unmatched_returns, 0);
    }

    #[test]
    fn a_return_closes_the_lost_calls_below_its_frame() {
        let mut b = setup();
        // f calls g, whose return is lost (longjmp); f returns.
        b.push_bytes(&call_bytes_at(ENTRY, 0, 1, 1, 1, 0, 0x7000, 0x40_1000));
        b.push_bytes(&call_bytes_at(ENTRY, 2, 1, 2, 2, 0, 0x6f00, 0x40_3000));
        b.push_bytes(&call_bytes_at(RETURN, 1, 1, 3, 0, 7, 0x7008, 0));
        // A return from a higher frame whose entry was not seen is unmatched, and shows
        // that the call open below it had returned.
        b.push_bytes(&call_bytes_at(ENTRY, 0, 1, 4, 3, 0, 0x7000, 0x40_1000));
        b.push_bytes(&call_bytes_at(RETURN, 3, 1, 5, 0, 7, 0x7108, 0));
        let mut calls = b.finish_all();
        assert_eq!(
            shape(&mut calls),
            vec![
                (0, 0, None, Value::Int(1), None),
                (1, 1, Some(0), Value::Int(2), Some(Incomplete::ReturnLost)),
                (0, 0, None, Value::Int(3), Some(Incomplete::ReturnLost)),
            ]
        );
        assert_eq!((b.unmatched_returns, b.incomplete), (1, [2, 0]));
    }

    #[test]
    fn attributes_blocks_to_the_innermost_call_of_their_function() {
        use crate::probes::cfg::{BasicBlock, FunctionCfg};
        let mut functions = Trace::sample().functions;
        functions[0].params.clear();
        let point = |id, kind| ProbePoint {
            id,
            object: "/x".into(),
            file_offset: 0,
            kind,
            uretprobe: kind == EventKind::Return,
            function: 0,
            string_mask: 0,
            arrays: Default::default(),
        };
        let points = [
            point(0, EventKind::Entry),
            point(1, EventKind::Return),
            point(2, EventKind::Block),
            point(3, EventKind::Block),
        ];
        let block = |offset, probe| BasicBlock {
            offset,
            len: 4,
            terminator: String::new(),
            successors: Vec::new(),
            probe,
            hits: 0,
            site: offset,
            site_cost: None,
            line: None,
            branch: None,
        };
        let cfg = Cfg {
            functions: vec![FunctionCfg::new("f".into(), vec![block(0, 0), block(4, 2), block(8, 3)])],
            unattributed_blocks: 0,
        };
        let mut b = TraceBuilder::new(&functions, &points);
        b.track_blocks(&cfg);
        let (entry, ret, block) = (1, 2, 3);
        // Thread 1: f enters block 4, recurses (inner call: block 8), then loops on block 4
        // twice and leaves through block 8. Thread 2 hits block 4 with no call open.
        b.push_bytes(&call_bytes(entry, 0, 1, 1, [0; 6], 0));
        b.push_bytes(&call_bytes(block, 2, 1, 2, [0; 6], 0));
        b.push_bytes(&call_bytes(entry, 0, 1, 3, [0; 6], 0));
        b.push_bytes(&call_bytes(block, 2, 2, 4, [0; 6], 0));
        b.push_bytes(&call_bytes(block, 3, 1, 5, [0; 6], 0));
        b.push_bytes(&call_bytes(ret, 1, 1, 6, [0; 6], 0));
        for ts in 7..9 {
            b.push_bytes(&call_bytes(block, 2, 1, ts, [0; 6], 0));
        }
        b.push_bytes(&call_bytes(block, 3, 1, 9, [0; 6], 0));
        b.push_bytes(&call_bytes(ret, 1, 1, 10, [0; 6], 0));
        assert_eq!(b.take_ready().len(), 2);
        let mut paths = b.take_ready_paths();
        paths.sort_by_key(|p| p.seq);
        let edge = |from, to, count| CallEdge { from, to, count };
        assert_eq!(paths[0].path, vec![0, 4, 4, 4, 8]);
        assert_eq!(paths[0].edges, vec![edge(0, 4, 1), edge(4, 4, 2), edge(4, 8, 1)]);
        assert_eq!((paths[1].seq, paths[1].path.clone()), (1, vec![0, 8]));
        assert_eq!(b.unattributed_blocks, 1);
        assert_eq!(&b.block_hits, &[2, 0, 4, 2]);
    }

    #[test]
    fn decodes_c_types() {
        assert_eq!(decode_value(ValueKind::Signed { bytes: 1 }, 0xff, None, false), Value::Int(-1));
        assert_eq!(decode_value(ValueKind::Unsigned { bytes: 2 }, 0x1_ffff, None, false), Value::Uint(0xffff));
        assert_eq!(decode_value(ValueKind::Signed { bytes: 8 }, u64::MAX, None, false), Value::Int(-1));
        assert_eq!(decode_value(ValueKind::Bool, 0x100, None, false), Value::Bool(false));
    }
}
