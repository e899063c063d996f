//! Event and configuration types shared by the kernel side (`tracer-ebpf`) and user
//! space (`tracer-probe`).
//!
//! Every type is `#[repr(C)]` and made of plain integers so the same bytes mean the same
//! thing on both sides of the ring buffer. The `user` feature adds [`aya::Pod`] impls so
//! user space can put them in maps.
#![no_std]
#![deny(missing_docs)]

/// Number of integer argument registers in the x86-64 System V ABI.
pub const MAX_ARGS: usize = 6;

/// Bytes kept of a `char *` argument or return value (not counting the NUL).
pub const MAX_STR: usize = 256;

/// Size of the buffer a string is read into: room for [`MAX_STR`] bytes, one more byte and
/// the NUL, so a string of exactly [`MAX_STR`] bytes can be told apart from a longer one.
pub const STR_BUF: usize = MAX_STR + 2;

/// Maximum number of probe points (functions, `ret` sites and blocks) per session.
pub const MAX_PROBES: u32 = 4096;

/// What a [`CallEvent`] records.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A function was entered (arguments valid).
    Entry = 1,
    /// A function returned (return value valid).
    Return = 2,
    /// A basic block was entered.
    Block = 3,
    /// A whole call, seen once at its return from a fast-entry call-through trampoline:
    /// the arguments (copied at entry into callee-saved registers), the return value, and
    /// the TSC ticks the call took ([`CallEvent::ticks`]).
    Call = 4,
}

impl EventKind {
    /// Decodes the raw `kind` field of an event.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            1 => Some(Self::Entry),
            2 => Some(Self::Return),
            3 => Some(Self::Block),
            4 => Some(Self::Call),
            _ => None,
        }
    }
}

/// Magic value in [`CallEvent::magic`] and [`StrEvent::magic`] telling the two record
/// types apart in the ring buffer.
pub const CALL_MAGIC: u32 = 0x5453_4345; // "ECST"
/// See [`CALL_MAGIC`].
pub const STR_MAGIC: u32 = 0x5453_5354; // "TSST"

/// One entry, return or block event.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CallEvent {
    /// Always [`CALL_MAGIC`].
    pub magic: u32,
    /// An [`EventKind`] as `u32`.
    pub kind: u32,
    /// Index of the probe point (see [`ProbeConfig`]) that fired.
    pub probe: u32,
    /// Number of records read from user memory ([`StrEvent`]s, [`BytesSmall`]s and
    /// [`BytesLarge`]s) that follow this event from the same thread.
    pub strings: u32,
    /// Thread group id (the process id).
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) at the probe.
    pub ts_ns: u64,
    /// Task on-CPU time in ns at the probe, or 0 when not available.
    pub cpu_ns: u64,
    /// Argument registers rdi, rsi, rdx, rcx, r8, r9 (entry and call events).
    pub args: [u64; MAX_ARGS],
    /// Return register rax (return and call events).
    pub ret: u64,
    /// TSC ticks from the call's entry to its return ([`EventKind::Call`] events; 0 else).
    pub ticks: u64,
    /// Stack pointer `rsp` at the probe. With where the probe sits (entry, `ret`
    /// instruction, uretprobe, call-through slot) it names the call's frame, which tells a
    /// really nested call from one whose return was lost.
    pub sp: u64,
    /// The return address at `[rsp]` for entry events (0 when unread or not an entry).
    pub ret_addr: u64,
    /// Register rdx (return and call events; 0 else): the upper eightbyte of a value
    /// returned in two registers, a struct of 9 to 16 bytes.
    pub ret_hi: u64,
}

/// A string read from user memory for the [`CallEvent`] just before it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StrEvent {
    /// Always [`STR_MAGIC`].
    pub magic: u32,
    /// Thread id (matches the preceding [`CallEvent::tid`]).
    pub tid: u32,
    /// Argument slot 0..6, or 6 for the return value.
    pub slot: u32,
    /// Bytes read including the NUL, or a negative errno as `i32` when the read failed.
    pub len: i32,
    /// The bytes, NUL-terminated when `len > 0`.
    pub data: [u8; STR_BUF],
}

/// Slot number of a return-value string in [`StrEvent::slot`].
pub const RET_SLOT: u32 = 6;

/// Bytes of an array argument a [`BytesSmall`] record holds.
pub const BYTES_SMALL: usize = 256;
/// Bytes of an array argument a [`BytesMedium`] record holds.
pub const BYTES_MEDIUM: usize = 1024;
/// Bytes of an array argument a [`BytesLarge`] record holds: the largest per-argument cap.
pub const BYTES_LARGE: usize = 4096;
/// Magic value of a [`BytesSmall`] record.
pub const BYTES_SMALL_MAGIC: u32 = 0x5453_4231; // "1BST"
/// Magic value of a [`BytesMedium`] record.
pub const BYTES_MEDIUM_MAGIC: u32 = 0x5453_4233; // "3BST"
/// Magic value of a [`BytesLarge`] record.
pub const BYTES_LARGE_MAGIC: u32 = 0x5453_4232; // "2BST"
/// In [`ProbeConfig::array_len`]: the pointer's count is one element (no count argument).
pub const ARRAY_ONE: u32 = 0xf;
/// In [`ProbeConfig::array_len`]: the pointer's count is fixed, [`ProbeConfig::array_count`]
/// of the slot (a struct's bytes, or a length the user gave).
pub const ARRAY_FIXED: u32 = 0xe;
/// Added to [`BytesHead::slot`] for memory read again at the return: what the call left
/// behind its pointer argument.
pub const SLOT_AFTER: u32 = 0x10;

/// What an entry probe keeps for its return probe, keyed by thread and entry stack pointer
/// in the `STASH` map: the address and element count of each argument read again at the
/// return ([`ProbeConfig::array_out`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ArrayStash {
    /// The pointer argument of each slot at entry.
    pub addr: [u64; MAX_ARGS],
    /// Its element count at entry.
    pub count: [i64; MAX_ARGS],
}

/// Entries of the `STASH` map: calls in flight with memory to read again at their return.
pub const MAX_STASHED_CALLS: u32 = 16384;

/// The head of a record holding memory an argument points to, for the [`CallEvent`] just
/// before it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BytesHead {
    /// [`BYTES_SMALL_MAGIC`], [`BYTES_MEDIUM_MAGIC`] or [`BYTES_LARGE_MAGIC`].
    pub magic: u32,
    /// Thread id (matches the preceding [`CallEvent::tid`]).
    pub tid: u32,
    /// Argument slot 0..6, plus [`SLOT_AFTER`] when read at the return.
    pub slot: u32,
    /// Bytes read, or a negative errno as `i32` when the read faulted.
    pub len: i32,
    /// Bytes the count argument asked for (count times element size) before the cap;
    /// negative when the count was negative.
    pub wanted: i64,
}

/// Up to [`BYTES_SMALL`] bytes an argument points to.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BytesSmall {
    /// What was read.
    pub head: BytesHead,
    /// The bytes; the first `head.len` are valid.
    pub data: [u8; BYTES_SMALL],
}

/// Up to [`BYTES_MEDIUM`] bytes an argument points to.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BytesMedium {
    /// What was read.
    pub head: BytesHead,
    /// The bytes; the first `head.len` are valid.
    pub data: [u8; BYTES_MEDIUM],
}

/// Up to [`BYTES_LARGE`] bytes an argument points to.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BytesLarge {
    /// What was read.
    pub head: BytesHead,
    /// The bytes; the first `head.len` are valid.
    pub data: [u8; BYTES_LARGE],
}

/// Per-probe configuration, indexed by probe id in the `PROBES` array map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ProbeConfig {
    /// An [`EventKind`] as `u32`: what a hit of this probe means; 0 switches the probe off
    /// (it emits nothing).
    pub kind: u32,
    /// Bit `i` set: argument `i` is a `char *` to read as a string. Bit 6: the return
    /// value is a `char *`.
    pub string_mask: u32,
    /// Bit `i` set: argument `i` points to elements to read at entry.
    pub array_mask: u32,
    /// Four bits per argument slot `i` (bits `4i..4i+4`): the slot of the argument that
    /// counts its elements, or [`ARRAY_ONE`].
    pub array_len: u32,
    /// Four bits per argument slot `i`: bits 0-1 the log2 of the element size; bit 2 set
    /// when the count argument is a 32-bit `int` (its low half, sign-extended).
    pub array_elem: u32,
    /// Most bytes read per argument (at most [`BYTES_LARGE`]).
    pub array_cap: u32,
    /// Bit `i` set: argument `i` (one of `array_mask`) points to memory the function may
    /// write, read again when the call returns (records with [`SLOT_AFTER`] added to the slot).
    pub array_out: u32,
    /// For a slot whose count is [`ARRAY_FIXED`]: how many elements. For a slot whose
    /// count is an argument: 0, or the size of the structs it counts (the bytes read are
    /// the count times this).
    pub array_count: [u32; MAX_ARGS],
    /// Entry and whole-call probes: record one call in this many per CPU (0 and 1: every
    /// call); the others are skipped before any event is built and counted as
    /// [`COUNTER_SAMPLED_OUT`]. Return probes: nonzero when their function is or was
    /// sampled, so a return checks whether its entry was skipped.
    pub sample_every: u32,
    /// [`FLAG_URETPROBE`] and other per-probe flags.
    pub flags: u32,
    /// `char *` members of structs read at entry, read as strings too (one level deep):
    /// [`FIELD_STRING`] set, bits 16-19 the argument slot of the struct, bits 0-15 the
    /// member's byte offset in it. Their strings come as [`StrEvent`]s with slot
    /// [`SLOT_FIELD_STRING`] plus the entry's index.
    pub field_strings: [u32; MAX_FIELD_STRINGS],
    /// Low and high halves of the shortest call recorded (0: every call), in ns for entry
    /// and return probes and in TSC ticks for whole-call probes. Shorter calls are left out
    /// in the kernel and counted as [`COUNTER_FILTERED`]: an entry that reads only
    /// registers is held in the `HELD` map until its return shows how long the call took
    /// (see [`HeldStack`]).
    pub min_duration: [u32; 2],
}

impl ProbeConfig {
    /// The shortest call recorded ([`Self::min_duration`]; 0: every call).
    #[inline(always)]
    #[must_use]
    pub fn min_duration(&self) -> u64 {
        (u64::from(self.min_duration[1]) << 32) | u64::from(self.min_duration[0])
    }

    /// Sets [`Self::min_duration`].
    pub fn set_min_duration(&mut self, value: u64) {
        self.min_duration = [value as u32, (value >> 32) as u32];
    }
}

/// Entries a thread's [`HeldStack`] holds; deeper entries are emitted at once.
pub const MAX_HELD: usize = 8;
/// Threads with held entries at once (the `HELD` map is an LRU map).
pub const MAX_HELD_THREADS: u32 = 1024;

/// A thread's entries held back while a minimum duration is in force, outermost first.
/// An entry is emitted when its call returns after the minimum, or before any later event
/// of the thread is emitted (a longer nested call, an entry that reads memory), so the
/// ring buffer keeps each thread's events in call order; a call that returns sooner is
/// left out whole. Entries `0..emitted` have been emitted.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HeldStack {
    /// Entries held or emitted and not yet returned.
    pub depth: u32,
    /// How many of them, from the outermost, were emitted.
    pub emitted: u32,
    /// The entry events.
    pub calls: [CallEvent; MAX_HELD],
}

impl HeldStack {
    /// No entries.
    pub const EMPTY: Self = Self { depth: 0, emitted: 0, calls: [CallEvent::ZERO; MAX_HELD] };
}

impl CallEvent {
    /// All fields zero.
    pub const ZERO: Self = Self {
        magic: 0,
        kind: 0,
        probe: 0,
        strings: 0,
        tgid: 0,
        tid: 0,
        ts_ns: 0,
        cpu_ns: 0,
        args: [0; MAX_ARGS],
        ret: 0,
        ticks: 0,
        sp: 0,
        ret_addr: 0,
        ret_hi: 0,
    };
}

/// Most `char *` struct members read as strings per probe ([`ProbeConfig::field_strings`]).
pub const MAX_FIELD_STRINGS: usize = 4;
/// In [`ProbeConfig::field_strings`]: the entry is in use.
pub const FIELD_STRING: u32 = 1 << 31;
/// [`StrEvent::slot`] of the string a struct's `char *` member points to: this plus the
/// index in [`ProbeConfig::field_strings`].
pub const SLOT_FIELD_STRING: u32 = 0x20;
/// In [`ProbeConfig::field_strings`]: the member is one of each struct of an array of
/// structs counted by an argument (its size in [`ProbeConfig::array_count`]); the first
/// [`MAX_ELEMENT_STRINGS`] elements' strings are read.
pub const FIELD_STRING_EACH: u32 = 1 << 30;
/// Elements of an array of structs whose `char *` members are read as strings.
pub const MAX_ELEMENT_STRINGS: u32 = 8;
/// [`StrEvent::slot`] of the string of member `i` (index in
/// [`ProbeConfig::field_strings`]) of element `e` of an array of structs: this plus
/// `e * MAX_FIELD_STRINGS + i`.
pub const SLOT_ELEMENT_STRING: u32 = 0x40;

/// In [`ProbeConfig::flags`]: the probe is a uretprobe, so the stack pointer it sees is one
/// word above the call's entry stack pointer (the return address was popped).
pub const FLAG_URETPROBE: u32 = 1;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: `ProbeConfig` is `#[repr(C)]`, made only of `u32`s, has no padding and
    // every bit pattern is valid.
    unsafe impl aya::Pod for super::ProbeConfig {}
}

/// Index of the "events the probes tried to emit" counter in the `COUNTERS` per-CPU array.
pub const COUNTER_PRODUCED: u32 = 0;
/// Index of the "ring buffer reservation failed" counter in the `COUNTERS` per-CPU array.
pub const COUNTER_DROPPED: u32 = 1;
/// Index of the "calls skipped by in-kernel sampling" counter in the `COUNTERS` per-CPU
/// array (see [`ProbeConfig::sample_every`]).
pub const COUNTER_SAMPLED_OUT: u32 = 2;
/// Index of the "calls left out as shorter than the minimum duration" counter in the
/// `COUNTERS` per-CPU array (see [`ProbeConfig::min_duration`]).
pub const COUNTER_FILTERED: u32 = 3;
/// Number of counters in the `COUNTERS` per-CPU array.
pub const COUNTERS: u32 = 4;

/// Entries of the `SKIPPED` map: calls in flight whose entry sampling skipped, so their
/// return is skipped too.
pub const MAX_SKIPPED_CALLS: u32 = 16384;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_duration_keeps_all_64_bits() {
        let mut p = ProbeConfig {
            kind: 0,
            string_mask: 0,
            array_mask: 0,
            array_len: 0,
            array_elem: 0,
            array_cap: 0,
            array_out: 0,
            array_count: [0; MAX_ARGS],
            sample_every: 0,
            flags: 0,
            field_strings: [0; MAX_FIELD_STRINGS],
            min_duration: [0; 2],
        };
        for value in [0, 1, 5_000_000_000, u64::MAX] {
            p.set_min_duration(value);
            assert_eq!(p.min_duration(), value);
        }
    }

    #[test]
    fn event_layout_is_stable() {
        assert_eq!(core::mem::size_of::<CallEvent>(), 128);
        assert_eq!(core::mem::size_of::<StrEvent>() % 4, 0);
        assert_eq!(core::mem::size_of::<BytesHead>(), 24);
        assert_eq!(core::mem::size_of::<BytesSmall>(), 24 + BYTES_SMALL);
        assert_eq!(core::mem::size_of::<ProbeConfig>(), 84);
        assert_eq!(core::mem::size_of::<HeldStack>(), 8 + 128 * MAX_HELD);
        assert_eq!(core::mem::size_of::<ArrayStash>(), 96);
        assert_eq!(EventKind::from_raw(2), Some(EventKind::Return));
        assert_eq!(EventKind::from_raw(4), Some(EventKind::Call));
        assert_eq!(EventKind::from_raw(9), None);
    }
}
