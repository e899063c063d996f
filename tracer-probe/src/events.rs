//! Decoding the records the eBPF programs put in the ring buffer.
//!
//! Records are decoded field by field from little-endian bytes (no `unsafe` casts); the
//! field order is the `#[repr(C)]` layout of [`tracer_common::CallEvent`] and
//! [`tracer_common::StrEvent`], checked by a test.
use tracer_common::{
    EventKind, BYTES_LARGE, BYTES_LARGE_MAGIC, BYTES_MEDIUM, BYTES_MEDIUM_MAGIC, BYTES_SMALL, BYTES_SMALL_MAGIC,
    CALL_MAGIC, MAX_ARGS, MAX_STR, STR_BUF, STR_MAGIC,
};

/// An entry, return, block hit or whole call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// What happened.
    pub kind: EventKind,
    /// Probe id.
    pub probe: u32,
    /// Number of [`StrRecord`]s that follow from the same thread.
    pub strings: u32,
    /// Process id.
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// CLOCK_MONOTONIC ns.
    pub ts_ns: u64,
    /// Task on-CPU ns (0 = unavailable).
    pub cpu_ns: u64,
    /// Argument registers.
    pub args: [u64; MAX_ARGS],
    /// rax.
    pub ret: u64,
    /// TSC ticks the call took ([`EventKind::Call`]; 0 else).
    pub ticks: u64,
    /// `rsp` at the probe (0 = unknown).
    pub sp: u64,
    /// Return address at `[rsp]` of an entry (0 = unknown).
    pub ret_addr: u64,
    /// rdx at a return or call event (0 else).
    pub ret_hi: u64,
}

/// A string read for the preceding [`CallRecord`] of the same thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrRecord {
    /// Thread id.
    pub tid: u32,
    /// Argument slot, or [`tracer_common::RET_SLOT`].
    pub slot: u32,
    /// Bytes read (without the NUL); `None` when the read failed.
    pub bytes: Option<Vec<u8>>,
    /// The string was longer than [`tracer_common::MAX_STR`].
    pub truncated: bool,
}

/// Memory a pointer argument points to, read for the preceding [`CallRecord`] of the same
/// thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemRecord {
    /// Thread id.
    pub tid: u32,
    /// Argument slot.
    pub slot: u32,
    /// The bytes read, or the negative errno of the fault.
    pub read: Result<Vec<u8>, i32>,
    /// Bytes the count asked for before the cap (negative: the count was negative).
    pub wanted: i64,
}

/// One ring-buffer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// See [`CallRecord`].
    Call(CallRecord),
    /// See [`StrRecord`].
    Str(StrRecord),
    /// See [`MemRecord`].
    Mem(MemRecord),
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_le_bytes(*head))
    }
    fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*head))
    }
}

/// Decodes one record; `None` for bytes that are neither kind (counted by the caller).
pub fn decode(bytes: &[u8]) -> Option<Record> {
    let mut c = Cursor(bytes);
    match c.u32()? {
        CALL_MAGIC => {
            let kind = EventKind::from_raw(c.u32()?)?;
            let probe = c.u32()?;
            let strings = c.u32()?;
            let tgid = c.u32()?;
            let tid = c.u32()?;
            let ts_ns = c.u64()?;
            let cpu_ns = c.u64()?;
            let mut args = [0u64; MAX_ARGS];
            for a in &mut args {
                *a = c.u64()?;
            }
            let ret = c.u64()?;
            let ticks = c.u64()?;
            let sp = c.u64()?;
            let ret_addr = c.u64()?;
            let ret_hi = c.u64()?;
            Some(Record::Call(CallRecord {
                kind,
                probe,
                strings,
                tgid,
                tid,
                ts_ns,
                cpu_ns,
                args,
                ret,
                ticks,
                sp,
                ret_addr,
                ret_hi,
            }))
        }
        STR_MAGIC => {
            let tid = c.u32()?;
            let slot = c.u32()?;
            let len = c.u32()? as i32;
            let data = c.0.get(..STR_BUF)?;
            let (bytes, truncated) = if len <= 0 {
                (None, false)
            } else {
                let len = (len as usize).min(STR_BUF);
                // `len` counts the NUL; a full buffer means the string had more than
                // MAX_STR bytes.
                let truncated = len == STR_BUF;
                (Some(data[..(len - 1).min(MAX_STR)].to_vec()), truncated)
            };
            Some(Record::Str(StrRecord { tid, slot, bytes, truncated }))
        }
        magic @ (BYTES_SMALL_MAGIC | BYTES_MEDIUM_MAGIC | BYTES_LARGE_MAGIC) => {
            let room = match magic {
                BYTES_SMALL_MAGIC => BYTES_SMALL,
                BYTES_MEDIUM_MAGIC => BYTES_MEDIUM,
                _ => BYTES_LARGE,
            };
            let tid = c.u32()?;
            let slot = c.u32()?;
            let len = c.u32()? as i32;
            let wanted = c.u64()? as i64;
            let data = c.0.get(..room)?;
            let read = if len < 0 { Err(len) } else { Ok(data[..(len as usize).min(room)].to_vec()) };
            Some(Record::Mem(MemRecord { tid, slot, read, wanted }))
        }
        _ => None,
    }
}

/// How far below the call's frame (its return-address slot) `rsp` is at the probe of a
/// call-through slot: the six callee-saved registers and the entry TSC pushed.
pub const CALL_SLOT_FRAME_BYTES: u64 = 7 * 8;

#[cfg(test)]
pub(crate) mod tests {
    use std::mem::offset_of;

    use tracer_common::{CallEvent, StrEvent};

    use super::*;

    #[test]
    fn field_order_matches_repr_c_layout() {
        assert_eq!(offset_of!(CallEvent, tid), 20);
        assert_eq!(offset_of!(CallEvent, ts_ns), 24);
        assert_eq!(offset_of!(CallEvent, args), 40);
        assert_eq!(offset_of!(CallEvent, ret), 88);
        assert_eq!(offset_of!(CallEvent, ticks), 96);
        assert_eq!(offset_of!(CallEvent, sp), 104);
        assert_eq!(offset_of!(CallEvent, ret_addr), 112);
        assert_eq!(offset_of!(CallEvent, ret_hi), 120);
        assert_eq!(size_of::<CallEvent>(), 128);
        assert_eq!(offset_of!(StrEvent, data), 16);
    }

    pub(crate) fn call_bytes(kind: u32, probe: u32, tid: u32, ts: u64, args: [u64; 6], ret: u64) -> Vec<u8> {
        call_bytes_with_ticks(kind, probe, tid, ts, args, ret, 0)
    }

    pub(crate) fn call_bytes_with_ticks(
        kind: u32,
        probe: u32,
        tid: u32,
        ts: u64,
        args: [u64; 6],
        ret: u64,
        ticks: u64,
    ) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [CALL_MAGIC, kind, probe, 0, 7, tid] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [ts, ts / 2] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in args {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&ret.to_le_bytes());
        b.extend_from_slice(&ticks.to_le_bytes());
        b.extend_from_slice(&[0; 24]);
        b
    }

    /// A call record with a stack pointer and, for entries, a return address.
    #[allow(clippy::too_many_arguments, reason = "one argument per record field a test sets")]
    pub(crate) fn call_bytes_at(
        kind: u32,
        probe: u32,
        tid: u32,
        ts: u64,
        arg: u64,
        ret: u64,
        sp: u64,
        ret_addr: u64,
    ) -> Vec<u8> {
        let mut b = call_bytes(kind, probe, tid, ts, [arg, 0, 0, 0, 0, 0], ret);
        b.truncate(b.len() - 24);
        b.extend_from_slice(&sp.to_le_bytes());
        b.extend_from_slice(&ret_addr.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b
    }

    #[test]
    fn decodes_call_records() {
        let bytes = call_bytes(1, 3, 99, 1_000, [1, 2, 3, 4, 5, 6], 0);
        let Some(Record::Call(c)) = decode(&bytes) else { panic!() };
        assert_eq!((c.kind, c.probe, c.tid, c.ts_ns, c.cpu_ns), (EventKind::Entry, 3, 99, 1_000, 500));
        assert_eq!(c.args, [1, 2, 3, 4, 5, 6]);
        assert_eq!(decode(&bytes[..40]), None);
        let Some(Record::Call(c)) = decode(&call_bytes_with_ticks(4, 3, 99, 1_000, [0; 6], 9, 2_500)) else { panic!() };
        assert_eq!((c.kind, c.ret, c.ticks), (EventKind::Call, 9, 2_500));
        let Some(Record::Call(c)) = decode(&call_bytes_at(1, 3, 99, 1_000, 0, 0, 0x7ff0, 0x4011)) else { panic!() };
        assert_eq!((c.sp, c.ret_addr), (0x7ff0, 0x4011));
        assert_eq!(decode(&[0, 0, 0, 0]), None);
    }

    fn str_bytes(len: i32, text: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [STR_MAGIC, 5, 0, len as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let mut data = [0u8; STR_BUF];
        data[..text.len()].copy_from_slice(text);
        b.extend_from_slice(&data);
        b
    }

    #[test]
    fn decodes_memory_reads_and_faults() {
        let mem = |magic: u32, len: i32, wanted: i64, room: usize| {
            let mut b = Vec::new();
            for v in [magic, 5, 1, len as u32] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&wanted.to_le_bytes());
            let mut data = vec![0u8; room];
            for (i, d) in data.iter_mut().enumerate().take(8) {
                *d = i as u8 + 1;
            }
            b.extend_from_slice(&data);
            b
        };
        let Some(Record::Mem(m)) = decode(&mem(BYTES_SMALL_MAGIC, 8, 8, BYTES_SMALL)) else { panic!() };
        assert_eq!((m.tid, m.slot, m.wanted), (5, 1, 8));
        assert_eq!(m.read, Ok(vec![1, 2, 3, 4, 5, 6, 7, 8]));
        let Some(Record::Mem(m)) = decode(&mem(BYTES_MEDIUM_MAGIC, 8, 8, BYTES_MEDIUM)) else { panic!() };
        assert_eq!(m.read, Ok(vec![1, 2, 3, 4, 5, 6, 7, 8]));
        let Some(Record::Mem(m)) = decode(&mem(BYTES_LARGE_MAGIC, -14, 400, BYTES_LARGE)) else { panic!() };
        assert_eq!(m.read, Err(-14));
        // A record cut short is not a record.
        assert_eq!(decode(&mem(BYTES_LARGE_MAGIC, 8, 8, BYTES_SMALL)), None);
    }

    #[test]
    fn decodes_strings_and_truncation() {
        let Some(Record::Str(s)) = decode(&str_bytes(4, b"bob\0")) else { panic!() };
        assert_eq!((s.bytes.as_deref(), s.truncated), (Some(&b"bob"[..]), false));
        let long = vec![b'x'; STR_BUF];
        let Some(Record::Str(s)) = decode(&str_bytes(STR_BUF as i32, &long)) else { panic!() };
        assert_eq!((s.bytes.unwrap().len(), s.truncated), (MAX_STR, true));
        let exact = [vec![b'y'; MAX_STR], vec![0]].concat();
        let Some(Record::Str(s)) = decode(&str_bytes(MAX_STR as i32 + 1, &exact)) else { panic!() };
        assert_eq!((s.bytes.unwrap().len(), s.truncated), (MAX_STR, false));
        let Some(Record::Str(s)) = decode(&str_bytes(-14, b"")) else { panic!() };
        assert_eq!(s.bytes, None);
    }
}
