//! The trace builder: pairs entry and return records per thread into [`Call`]s.
//!
//! Returns pair with the innermost open call of the same function on the same thread, so
//! recursion and nested traced calls come out right. Strings follow their call record from
//! the same thread and are attached to it.
use std::collections::HashMap;

use tracer_common::{EventKind, RET_SLOT};

use crate::{
    events::{CallRecord, Record, StrRecord},
    probes::{dwarf::ValueKind, ProbePoint},
    trace::{Call, FunctionInfo, Value},
};

/// How to decode one function's values.
#[derive(Clone, Debug)]
struct Decoder {
    params: Vec<(ValueKind, Option<usize>)>,
    ret: ValueKind,
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
    depth: u32,
    parent: Option<u64>,
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
}

/// Builds calls from ring-buffer records.
#[derive(Debug)]
pub struct TraceBuilder {
    decoders: Vec<Decoder>,
    probe_function: Vec<(u32, EventKind)>,
    threads: HashMap<u32, Thread>,
    next_seq: u64,
    ready: Vec<Call>,
    /// Completed calls per function.
    pub calls_per_function: Vec<u64>,
    /// Records decoded.
    pub received: u64,
    /// Returns without a matching entry.
    pub unmatched_returns: u64,
    /// Basic-block hits per probe id.
    pub block_hits: Vec<u64>,
}

impl TraceBuilder {
    /// A builder for the functions and probe points of a plan.
    pub fn new(functions: &[FunctionInfo], points: &[ProbePoint]) -> Self {
        let decoders = functions
            .iter()
            .map(|f| {
                let slots = crate::probes::dwarf::register_slots(&f.params);
                Decoder {
                    params: f.params.iter().zip(slots).map(|(p, s)| (p.ctype.kind, s)).collect(),
                    ret: f.ret.kind,
                }
            })
            .collect();
        Self {
            decoders,
            probe_function: points.iter().map(|p| (p.function, p.kind)).collect(),
            threads: HashMap::new(),
            next_seq: 0,
            ready: Vec::new(),
            calls_per_function: vec![0; functions.len()],
            received: 0,
            unmatched_returns: 0,
            block_hits: vec![0; points.len()],
        }
    }

    /// Feeds one raw ring-buffer record (undecodable records are counted as received and
    /// ignored).
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.received += 1;
        match crate::events::decode(bytes) {
            Some(Record::Call(c)) => self.push_call(&c),
            Some(Record::Str(s)) => self.push_str(s),
            None => {}
        }
    }

    /// Feeds one decoded call record.
    pub fn push_call(&mut self, c: &CallRecord) {
        let Some(&(function, _)) = self.probe_function.get(c.probe as usize) else { return };
        self.flush_awaiting(c.tid);
        match c.kind {
            EventKind::Entry => {
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
                    depth: thread.stack.len() as u32,
                    parent: thread.stack.last().map(|o| o.seq),
                });
                if c.strings > 0 {
                    thread.awaiting = Some((Awaiting::Entry, c.strings));
                }
            }
            EventKind::Return => {
                let thread = self.threads.entry(c.tid).or_default();
                let Some(pos) = thread.stack.iter().rposition(|o| o.function == function) else {
                    self.unmatched_returns += 1;
                    return;
                };
                // Frames above the match never returned through a probe (longjmp, lost
                // events): close them without a return.
                let orphans: Vec<Open> = thread.stack.drain(pos + 1..).collect();
                let open = thread.stack.pop().expect("pos is in the stack");
                let call = self.finish(open, Some(c));
                for orphan in orphans.into_iter().rev() {
                    let unfinished = self.finish(orphan, None);
                    self.complete(unfinished);
                }
                if c.strings > 0 {
                    let thread = self.threads.entry(c.tid).or_default();
                    thread.awaiting = Some((Awaiting::Return(Box::new(call), c.ret), c.strings));
                } else {
                    self.complete(call);
                }
            }
            EventKind::Block => {
                if let Some(h) = self.block_hits.get_mut(c.probe as usize) {
                    *h += 1;
                }
            }
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
            if let Some(slot) = open.strings.get_mut(s.slot as usize) {
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
            let kind = self.decoders[call.function as usize].ret;
            call.ret = Some(decode_value(kind, rax, s.as_ref(), true));
            self.complete(*call);
        }
    }

    fn finish(&self, open: Open, ret: Option<&CallRecord>) -> Call {
        let decoder = &self.decoders[open.function as usize];
        let args = decoder
            .params
            .iter()
            .map(|(kind, slot)| match slot {
                Some(i) => decode_value(*kind, open.args[*i], open.strings[*i].as_ref(), true),
                None => Value::Unavailable(format!("{kind:?} argument is not in an integer register")),
            })
            .collect();
        let ret_value = ret.and_then(|r| match decoder.ret {
            ValueKind::Void => None,
            ValueKind::Float | ValueKind::Aggregate => {
                Some(Value::Unavailable("return value is not in rax".into()))
            }
            kind => Some(decode_value(kind, r.ret, None, false)),
        });
        let cpu_ns = ret.and_then(|r| {
            (open.entry_cpu != 0 && r.cpu_ns >= open.entry_cpu).then(|| r.cpu_ns - open.entry_cpu)
        });
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
        }
    }

    fn complete(&mut self, call: Call) {
        if let Some(n) = self.calls_per_function.get_mut(call.function as usize) {
            *n += 1;
        }
        self.ready.push(call);
    }

    /// Total completed calls so far.
    pub fn completed(&self) -> u64 {
        self.calls_per_function.iter().sum()
    }

    /// Takes the calls completed since the last call.
    pub fn take_ready(&mut self) -> Vec<Call> {
        std::mem::take(&mut self.ready)
    }

    /// Ends the trace: calls still open are returned without exit time.
    pub fn finish_all(&mut self) -> Vec<Call> {
        let tids: Vec<u32> = self.threads.keys().copied().collect();
        for tid in tids {
            self.flush_awaiting(tid);
            let stack = std::mem::take(&mut self.threads.get_mut(&tid).expect("tid").stack);
            for open in stack {
                let call = self.finish(open, None);
                self.ready.push(call);
            }
        }
        self.take_ready()
    }
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
        ValueKind::Float | ValueKind::Aggregate | ValueKind::Void => {
            Value::Unavailable(format!("{kind:?} value is not in an integer register"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        events::tests::call_bytes,
        probes::dwarf::{CType, Param},
        trace::tests::sample_trace,
    };

    fn setup() -> TraceBuilder {
        let mut f = sample_trace().functions[0].clone();
        f.params = vec![Param { name: "n".into(), ctype: CType { name: "int".into(), kind: ValueKind::Signed { bytes: 4 } } }];
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
        let summary: Vec<_> = calls.iter().map(|c| (c.function, c.tid, c.depth, c.parent, c.args[0].clone(), c.ret.clone())).collect();
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
    }

    #[test]
    fn decodes_c_types() {
        assert_eq!(decode_value(ValueKind::Signed { bytes: 1 }, 0xff, None, false), Value::Int(-1));
        assert_eq!(decode_value(ValueKind::Unsigned { bytes: 2 }, 0x1_ffff, None, false), Value::Uint(0xffff));
        assert_eq!(decode_value(ValueKind::Signed { bytes: 8 }, u64::MAX, None, false), Value::Int(-1));
        assert_eq!(decode_value(ValueKind::Bool, 0x100, None, false), Value::Bool(false));
    }
}
