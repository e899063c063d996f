//! eBPF side of tracesynth: one uprobe program for function entries, basic-block hits,
//! `ret` instructions and whole calls (at the return of a fast-entry call-through
//! trampoline), and one uretprobe program for returns.
//!
//! Every probe point is attached with a cookie: the index of its [`ProbeConfig`] in the
//! `PROBES` map. Events go to the `EVENTS` ring buffer with `BPF_RB_NO_WAKEUP` (user
//! space polls); every reservation attempt is counted in `COUNTERS` as produced, and every
//! failed one as dropped, so user space can check `produced = received + dropped`.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::{pt_regs, BPF_RB_NO_WAKEUP},
    helpers::{
        bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_user,
        generated::{bpf_get_attach_cookie, bpf_get_current_task_btf, bpf_probe_read_user_str},
    },
    macros::{map, uprobe, uretprobe},
    maps::{Array, LruHashMap, PerCpuArray, RingBuf},
    programs::{ProbeContext, RetProbeContext},
    EbpfContext,
};
use tracer_common::{
    ArrayStash, BytesLarge, BytesMedium, BytesSmall, CallEvent, EventKind, HeldStack, ProbeConfig, StrEvent,
    ARRAY_FIXED, ARRAY_ONE, BYTES_LARGE, BYTES_LARGE_MAGIC, BYTES_MEDIUM, BYTES_MEDIUM_MAGIC, BYTES_SMALL,
    BYTES_SMALL_MAGIC, CALL_MAGIC, COUNTERS as N_COUNTERS, COUNTER_DROPPED, COUNTER_FILTERED, COUNTER_PRODUCED,
    COUNTER_SAMPLED_OUT, FIELD_STRING, FIELD_STRING_EACH, FLAG_URETPROBE, MAX_ARGS, MAX_ELEMENT_STRINGS,
    MAX_FIELD_STRINGS, MAX_HELD, MAX_HELD_THREADS, MAX_PROBES, MAX_SKIPPED_CALLS, MAX_STASHED_CALLS, RET_SLOT,
    SLOT_AFTER, SLOT_ELEMENT_STRING, SLOT_FIELD_STRING, STR_BUF, STR_MAGIC,
};

/// Ring buffer of [`CallEvent`]s and [`StrEvent`]s; user space resizes it at load time.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(16 * 1024 * 1024, 0);

/// Probe configuration by probe id (the attach cookie).
#[map]
static PROBES: Array<ProbeConfig> = Array::with_max_entries(MAX_PROBES, 0);

/// Pointer arguments to read again at the return, by (thread id, stack pointer at entry):
/// the uretprobe finds its call's entry at its own stack pointer minus the return address.
#[map]
static STASH: LruHashMap<[u64; 2], ArrayStash> = LruHashMap::with_max_entries(MAX_STASHED_CALLS, 0);

/// Calls whose entry sampling skipped, by (thread id, stack pointer at entry), so their
/// return is skipped too.
#[map]
static SKIPPED: LruHashMap<[u64; 2], u8> = LruHashMap::with_max_entries(MAX_SKIPPED_CALLS, 0);

/// Entries held back per thread while a minimum duration is in force
/// ([`ProbeConfig::min_duration`], [`HeldStack`]).
#[map]
static HELD: LruHashMap<u32, HeldStack> = LruHashMap::with_max_entries(MAX_HELD_THREADS, 0);

/// Indexes into [`HeldStack::calls`] are masked with this ([`held_index`]).
const HELD_MASK: usize = MAX_HELD - 1;
const _: () = assert!(MAX_HELD.is_power_of_two());

/// `i` masked into [`HeldStack::calls`] in a way the compiler keeps (it would drop a plain
/// mask where it knows the bound, and then index through a register the verifier cannot
/// bound).
#[inline(always)]
fn held_index(i: usize) -> usize {
    // SAFETY: a read of a local.
    unsafe { core::ptr::read_volatile(&i) & HELD_MASK }
}

/// What a thread's [`HELD`] entry starts as.
static HELD_EMPTY: HeldStack = HeldStack::EMPTY;

/// Hits per probe id and CPU: the sampling tick, and what user space prices the probes'
/// cost by.
#[map]
static HITS: PerCpuArray<u64> = PerCpuArray::with_max_entries(MAX_PROBES, 0);

/// Per-CPU counters: [`COUNTER_PRODUCED`], [`COUNTER_DROPPED`], [`COUNTER_SAMPLED_OUT`].
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(N_COUNTERS, 0);

/// Offset of `task_struct.se.sum_exec_runtime`, from kernel BTF; 0 when unknown.
#[no_mangle]
static SUM_EXEC_RUNTIME_OFF: u64 = 0;
/// Offset of `task_struct.se.exec_start`, from kernel BTF; 0 when unknown.
#[no_mangle]
static EXEC_START_OFF: u64 = 0;

#[uprobe]
pub fn tracesynth_probe(ctx: ProbeContext) -> u32 {
    handle(ctx.as_ptr().cast())
}

#[uretprobe]
pub fn tracesynth_retprobe(ctx: RetProbeContext) -> u32 {
    handle(ctx.as_ptr().cast())
}

#[inline(always)]
fn count(index: u32) {
    if let Some(counter) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: the pointer comes from a per-CPU map lookup and is valid for this CPU
        // while the program runs; no other program on this CPU runs concurrently.
        unsafe { *counter += 1 };
    }
}

/// On-CPU time of the current task in ns: `sum_exec_runtime` plus the time since the task
/// was last scheduled in, so the value is current even between scheduler ticks.
#[inline(always)]
fn task_cpu_ns(now: u64) -> u64 {
    // SAFETY: read-only globals set by the loader.
    let (sum_off, start_off) =
        unsafe { (core::ptr::read_volatile(&SUM_EXEC_RUNTIME_OFF), core::ptr::read_volatile(&EXEC_START_OFF)) };
    if sum_off == 0 || start_off == 0 {
        return 0;
    }
    // SAFETY: helper without arguments; the verifier types the result as a trusted
    // `task_struct` pointer (kernel BTF), so fields load directly instead of through
    // bpf_probe_read_kernel, and the offsets are constants from the frozen .rodata.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    // SAFETY: offsets of u64 fields of task_struct from kernel BTF, checked by the verifier.
    let sum = unsafe { core::ptr::read_volatile(task.add(sum_off as usize) as *const u64) };
    // SAFETY: as above.
    let start = unsafe { core::ptr::read_volatile(task.add(start_off as usize) as *const u64) };
    if now >= start {
        sum + (now - start)
    } else {
        sum
    }
}

#[inline(always)]
fn handle(regs: *const pt_regs) -> u32 {
    // SAFETY: the context of a (ret)probe program is its pt_regs.
    let probe = unsafe { bpf_get_attach_cookie(regs as *mut _) } as u32;
    let Some(config) = PROBES.get(probe) else {
        return 0;
    };
    // Counted switched off too: the hit cost the target its trap all the same.
    let tick = match HITS.get_ptr_mut(probe) {
        // SAFETY: a per-CPU map slot, valid for this CPU while the program runs.
        Some(hits) => unsafe {
            let tick = *hits;
            *hits = tick + 1;
            tick
        },
        None => 0,
    };
    let kind = config.kind;
    // A probe user space has switched off (kind 0) while it detaches.
    if kind == 0 {
        return 0;
    }
    // SAFETY: the verifier allows reading the registers of the context.
    let regs = unsafe { &*regs };
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    // The call's stack pointer at entry, which keys what its entry left for its return: a
    // uretprobe runs after `ret` popped the return address, a `ret` probe before.
    let entry_sp = if config.flags & FLAG_URETPROBE != 0 { regs.rsp.wrapping_sub(8) } else { regs.rsp };
    let every = config.sample_every;
    if every != 0 {
        if kind == EventKind::Entry as u32 || kind == EventKind::Call as u32 {
            if every > 1 && tick % every as u64 != 0 {
                count(COUNTER_SAMPLED_OUT);
                if kind == EventKind::Entry as u32 {
                    let _ = SKIPPED.insert([tid as u64, regs.rsp], 0, 0);
                }
                return 0;
            }
        } else if kind == EventKind::Return as u32 {
            let key = [tid as u64, entry_sp];
            // Removing fails (ENOENT) unless the entry was skipped.
            if SKIPPED.remove(key).is_ok() {
                return 0;
            }
        }
    }
    let string_mask = config.string_mask;
    let array_slots = if kind == EventKind::Entry as u32 { config.array_mask & 0x3f } else { 0 };
    let (array_len, array_elem, array_cap) = (config.array_len, config.array_elem, config.array_cap);
    // SAFETY: helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };

    let string_slots = if kind == EventKind::Entry as u32 {
        string_mask & 0x3f
    } else if kind == EventKind::Return as u32 {
        string_mask & (1 << RET_SLOT)
    } else {
        0
    };
    let min_duration = config.min_duration();
    if min_duration != 0 {
        // Entries that read only registers wait in HELD for their return; the rest are
        // emitted (after the thread's held entries, to keep call order) and filtered in
        // user space.
        let holdable = string_slots == 0 && array_slots == 0;
        if kind == EventKind::Entry as u32 {
            if let Some(stack) = held_stack(tid) {
                // SAFETY: a pointer from a map lookup, valid while the program runs.
                let held = unsafe { &mut *stack };
                // Entries below this call's frame returned unseen (the probes were
                // paused, a longjmp): they are no ancestors of it.
                let mut n = 0usize;
                while n < MAX_HELD {
                    let top = held.depth as usize;
                    if top > 0 && top <= MAX_HELD && held.calls[held_index(top - 1)].sp < regs.rsp {
                        held.depth -= 1;
                    }
                    n += 1;
                }
                if held.emitted > held.depth {
                    held.emitted = held.depth;
                }
                let depth = held.depth as usize;
                if holdable && depth < MAX_HELD {
                    held.calls[held_index(depth)] = call_event(kind, probe, 0, pid_tgid, now, regs);
                    held.depth += 1;
                    return 0;
                }
                flush_held(held, held.depth);
            }
        } else if kind == EventKind::Return as u32 {
            if let Some(stack) = HELD.get_ptr_mut(tid) {
                // SAFETY: as above.
                let held = unsafe { &mut *stack };
                // This call's entry: the innermost held at its entry stack pointer. Entries
                // above it returned unseen (their events, if emitted, close as lost).
                let mut found = MAX_HELD as u32;
                let mut n = 0usize;
                while n < MAX_HELD {
                    let i = MAX_HELD - 1 - n;
                    if found == MAX_HELD as u32 && (i as u32) < held.depth && held.calls[held_index(i)].sp == entry_sp {
                        found = i as u32;
                    }
                    n += 1;
                }
                if (found as usize) < MAX_HELD {
                    if found >= held.emitted {
                        let entry_ns = held.calls[held_index(found as usize)].ts_ns;
                        if now.wrapping_sub(entry_ns) < min_duration {
                            held.depth = found;
                            count(COUNTER_FILTERED);
                            return 0;
                        }
                        flush_held(held, found + 1);
                    }
                    held.depth = found;
                    if held.emitted > found {
                        held.emitted = found;
                    }
                }
            }
        } else if kind == EventKind::Call as u32 {
            // A whole call: its TSC ticks say how long it took.
            if regs.rcx < min_duration {
                count(COUNTER_FILTERED);
                return 0;
            }
            if let Some(stack) = HELD.get_ptr_mut(tid) {
                // SAFETY: as above.
                let held = unsafe { &mut *stack };
                flush_held(held, held.depth);
            }
        }
    }

    // Memory the call may have written: what its entry kept for this return, if anything.
    let mut after = ArrayStash::default();
    let mut after_slots = 0u32;
    if kind == EventKind::Return as u32 && config.array_out != 0 {
        let key = [tid as u64, entry_sp];
        if let Some(kept) = STASH.get_ptr(key) {
            // SAFETY: a pointer from a map lookup, valid while the program runs; copied at once.
            after = unsafe { *kept };
            after_slots = config.array_out & 0x3f;
            let _ = STASH.remove(key);
        }
    }

    // `char *` members of the structs read at entry: one string each, for each of the
    // first elements of an array of structs.
    let values = [regs.rdi, regs.rsi, regs.rdx, regs.rcx, regs.r8, regs.r9];
    let mut field_strings = 0u32;
    if array_slots != 0 {
        let mut i = 0usize;
        while i < MAX_FIELD_STRINGS {
            let f = config.field_strings[i];
            let slot = (f >> 16) & 0xf;
            if f & FIELD_STRING != 0 && array_slots & (1 << slot) != 0 {
                field_strings += if f & FIELD_STRING_EACH != 0 { element_strings(config, slot, &values) } else { 1 };
            }
            i += 1;
        }
    }

    let event = call_event(
        kind,
        probe,
        string_slots.count_ones() + array_slots.count_ones() + after_slots.count_ones() + field_strings,
        pid_tgid,
        now,
        regs,
    );
    if !emit(&event) {
        return 0;
    }

    if string_slots != 0 {
        let values = [regs.rdi, regs.rsi, regs.rdx, regs.rcx, regs.r8, regs.r9, regs.rax];
        let mut slot = 0u32;
        while slot <= RET_SLOT {
            if string_slots & (1 << slot) != 0 {
                emit_string(tid, slot, values[slot as usize]);
            }
            slot += 1;
        }
    }
    // Before the arrays: what the verifier explores here does not multiply by their paths.
    if field_strings != 0 {
        let mut i = 0usize;
        while i < MAX_FIELD_STRINGS {
            let f = config.field_strings[i];
            let slot = ((f >> 16) & 0xf) as usize;
            if f & FIELD_STRING != 0 && slot < MAX_ARGS && array_slots & (1 << slot) != 0 {
                let member = values[slot].wrapping_add(u64::from(f & 0xffff));
                if f & FIELD_STRING_EACH != 0 {
                    let elements = element_strings(config, slot as u32, &values);
                    let size = u64::from(config.array_count[slot]);
                    let mut e = 0u32;
                    while e < MAX_ELEMENT_STRINGS {
                        if e < elements {
                            let at = member.wrapping_add(u64::from(e) * size);
                            let slot = SLOT_ELEMENT_STRING + e * MAX_FIELD_STRINGS as u32 + i as u32;
                            emit_string(tid, slot, read_pointer(at));
                        }
                        e += 1;
                    }
                } else {
                    emit_string(tid, SLOT_FIELD_STRING + i as u32, read_pointer(member));
                }
            }
            i += 1;
        }
    }
    if array_slots != 0 {
        let out = config.array_out & array_slots;
        let mut stash = ArrayStash::default();
        let mut slot = 0u32;
        while slot < MAX_ARGS as u32 {
            if array_slots & (1 << slot) != 0 {
                let len_slot = (array_len >> (4 * slot)) & 0xf;
                let elem = (array_elem >> (4 * slot)) & 0xf;
                let count = element_count(config, slot, &values);
                // Structs counted by an argument: the count times the struct's size (in
                // bytes, so the element shift is 0).
                let size = config.array_count[slot as usize] as i64;
                let count = if len_slot < MAX_ARGS as u32 && size > 0 && count > 0 {
                    (if count > (1 << 20) { 1 << 20 } else { count }) * size
                } else {
                    count
                };
                emit_bytes(tid, slot, values[slot as usize], count, elem & 3, array_cap);
                stash.addr[slot as usize] = values[slot as usize];
                stash.count[slot as usize] = count;
            }
            slot += 1;
        }
        if out != 0 {
            // Kept until the return reads it (or the LRU map evicts it: a lost return).
            let _ = STASH.insert([tid as u64, regs.rsp], stash, 0);
        }
    }
    if after_slots != 0 {
        let mut slot = 0u32;
        while slot < MAX_ARGS as u32 {
            if after_slots & (1 << slot) != 0 {
                let elem = (array_elem >> (4 * slot)) & 0xf;
                emit_bytes(
                    tid,
                    slot + SLOT_AFTER,
                    after.addr[slot as usize],
                    after.count[slot as usize],
                    elem & 3,
                    array_cap,
                );
            }
            slot += 1;
        }
    }
    0
}

/// The event of a hit of `probe` (an [`EventKind`] as `kind`) with `strings` records of
/// user memory to follow.
#[inline(always)]
fn call_event(kind: u32, probe: u32, strings: u32, pid_tgid: u64, now: u64, regs: &pt_regs) -> CallEvent {
    CallEvent {
        magic: CALL_MAGIC,
        kind,
        probe,
        strings,
        tgid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
        ts_ns: now,
        cpu_ns: task_cpu_ns(now),
        args: if kind == EventKind::Entry as u32 {
            [regs.rdi, regs.rsi, regs.rdx, regs.rcx, regs.r8, regs.r9]
        } else if kind == EventKind::Call as u32 {
            // The call-through trampoline copied the argument registers into these
            // callee-saved ones before the call, so they still hold them at its return.
            [regs.rbx, regs.r12, regs.r13, regs.r14, regs.r15, regs.rbp]
        } else {
            [0; MAX_ARGS]
        },
        ret: regs.rax,
        // The trampoline leaves the call's TSC ticks in rcx (caller-saved, free after it).
        ticks: if kind == EventKind::Call as u32 { regs.rcx } else { 0 },
        sp: regs.rsp,
        // The entry site is chosen before anything moves rsp, so [rsp] is the return
        // address; a fault leaves 0 (the builder then relies on the stack pointer alone).
        ret_addr: if kind == EventKind::Entry as u32 {
            // SAFETY: bpf_probe_read_user checks the user address and fails cleanly.
            unsafe { bpf_probe_read_user(regs.rsp as *const u64) }.unwrap_or(0)
        } else {
            0
        },
        ret_hi: if kind == EventKind::Return as u32 || kind == EventKind::Call as u32 { regs.rdx } else { 0 },
    }
}

/// Sends `event` to the ring buffer, counted as produced, and as dropped when the ring is
/// full. Returns whether it went.
#[inline(always)]
fn emit(event: &CallEvent) -> bool {
    count(COUNTER_PRODUCED);
    let Some(mut entry) = EVENTS.reserve::<CallEvent>(0) else {
        count(COUNTER_DROPPED);
        return false;
    };
    entry.write(*event);
    entry.submit(BPF_RB_NO_WAKEUP as u64);
    true
}

/// Thread `tid`'s held entries, made empty the first time.
#[inline(always)]
fn held_stack(tid: u32) -> Option<*mut HeldStack> {
    if let Some(stack) = HELD.get_ptr_mut(tid) {
        return Some(stack);
    }
    // By reference: a copy of the 968 bytes would not fit the program's 512-byte stack.
    #[allow(clippy::needless_borrows_for_generic_args)]
    let _ = HELD.insert(tid, &HELD_EMPTY, 0);
    HELD.get_ptr_mut(tid)
}

/// Emits the held entries not emitted yet below `upto`, outermost first.
#[inline(always)]
fn flush_held(held: &mut HeldStack, upto: u32) {
    let mut i = held.emitted as usize;
    while i < MAX_HELD && i < upto as usize {
        // Copied by the helper: a copy in the program from a variable offset of a map value
        // does not verify.
        count(COUNTER_PRODUCED);
        if EVENTS.output::<CallEvent>(&held.calls[held_index(i)], BPF_RB_NO_WAKEUP as u64).is_err() {
            count(COUNTER_DROPPED);
        }
        i += 1;
    }
    if upto > held.emitted {
        held.emitted = upto;
    }
}

/// How many elements the pointer in argument `slot` points to: one, a fixed count, or the
/// count argument's value (its low half, sign-extended or not, when it is a 32-bit int).
#[inline(always)]
fn element_count(config: &ProbeConfig, slot: u32, values: &[u64; MAX_ARGS]) -> i64 {
    if slot as usize >= MAX_ARGS {
        return 0;
    }
    let len_slot = (config.array_len >> (4 * slot)) & 0xf;
    let elem = (config.array_elem >> (4 * slot)) & 0xf;
    if len_slot == ARRAY_ONE {
        1
    } else if len_slot == ARRAY_FIXED {
        config.array_count[slot as usize] as i64
    } else if len_slot < MAX_ARGS as u32 {
        let raw = values[len_slot as usize];
        if elem & 12 == 12 {
            raw as u32 as i32 as i64
        } else if elem & 4 != 0 {
            raw as u32 as i64
        } else {
            raw as i64
        }
    } else {
        0
    }
}

/// How many elements of the array of structs in argument `slot` have their `char *`
/// members read ([`FIELD_STRING_EACH`]): its count, at most [`MAX_ELEMENT_STRINGS`].
#[inline(always)]
fn element_strings(config: &ProbeConfig, slot: u32, values: &[u64; MAX_ARGS]) -> u32 {
    let count = element_count(config, slot, values);
    if count <= 0 {
        0
    } else if count >= MAX_ELEMENT_STRINGS as i64 {
        MAX_ELEMENT_STRINGS
    } else {
        count as u32
    }
}

/// The pointer stored at user address `at`; NULL when it cannot be read (whose string
/// read then faults).
#[inline(always)]
fn read_pointer(at: u64) -> u64 {
    // SAFETY: bpf_probe_read_user checks the user address and fails cleanly.
    unsafe { bpf_probe_read_user(at as *const u64) }.unwrap_or(0)
}

/// Reads `elements` elements of `1 << shift` bytes at `address`, at most `cap` bytes, into
/// the smallest record that holds them (256 B, 1 KiB or 4 KiB).
#[inline(always)]
fn emit_bytes(tid: u32, slot: u32, address: u64, elements: i64, shift: u32, cap: u32) {
    let wanted: i64 = if elements <= 0 {
        elements
    } else if elements > (1 << 40) {
        1 << 42
    } else {
        elements << shift
    };
    let mut size: u64 = if wanted <= 0 { 0 } else { wanted as u64 };
    if size > cap as u64 {
        size = cap as u64;
    }
    count(COUNTER_PRODUCED);
    // One arm per record size: a reservation's size must be a constant.
    macro_rules! emit {
        ($record:ty, $magic:expr, $room:expr) => {{
            let Some(mut entry) = EVENTS.reserve::<$record>(0) else {
                count(COUNTER_DROPPED);
                return;
            };
            let event = entry.as_mut_ptr();
            // SAFETY: `event` is a reserved, writable record; `read_user` writes at most
            // `$room` bytes, the size of its `data`.
            unsafe {
                (*event).head.magic = $magic;
                (*event).head.tid = tid;
                (*event).head.slot = slot;
                (*event).head.wanted = wanted;
                let data = core::ptr::addr_of_mut!((*event).data) as *mut u8;
                (*event).head.len = read_user(data, size, $room as u64, address);
            }
            entry.submit(BPF_RB_NO_WAKEUP as u64);
        }};
    }
    if size <= BYTES_SMALL as u64 {
        emit!(BytesSmall, BYTES_SMALL_MAGIC, BYTES_SMALL);
    } else if size <= BYTES_MEDIUM as u64 {
        emit!(BytesMedium, BYTES_MEDIUM_MAGIC, BYTES_MEDIUM);
    } else {
        emit!(BytesLarge, BYTES_LARGE_MAGIC, BYTES_LARGE);
    }
}

/// `bpf_probe_read_user` of `size` bytes (at most `room`) into `dst`: the bytes read, or
/// the negative errno of a fault.
#[inline(always)]
unsafe fn read_user(dst: *mut u8, size: u64, room: u64, address: u64) -> i32 {
    if size == 0 || address == 0 {
        return if address == 0 && size != 0 { -14 } else { 0 };
    }
    let n = if size > room { room } else { size } as u32;
    // SAFETY: the caller's `dst` has `room` writable bytes and `n <= room`; the helper
    // checks the user address and fails cleanly on a fault.
    let rc = unsafe {
        aya_ebpf::helpers::generated::bpf_probe_read_user(dst as *mut core::ffi::c_void, n, address as *const _)
    };
    if rc < 0 {
        rc as i32
    } else {
        n as i32
    }
}

// A subprogram, not inlined: the verifier prunes its states across the many call sites
// (one per string slot and array element), which inlined copies would each cost in full.
#[inline(never)]
fn emit_string(tid: u32, slot: u32, address: u64) {
    count(COUNTER_PRODUCED);
    let Some(mut entry) = EVENTS.reserve::<StrEvent>(0) else {
        count(COUNTER_DROPPED);
        return;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points to a reserved, writable record of the right size; the string
    // helper writes at most STR_BUF bytes into `data`.
    unsafe {
        (*event).magic = STR_MAGIC;
        (*event).tid = tid;
        (*event).slot = slot;
        let data = core::ptr::addr_of_mut!((*event).data) as *mut core::ffi::c_void;
        let len = bpf_probe_read_user_str(data, STR_BUF as u32, address as *const _);
        (*event).len = len as i32;
    }
    entry.submit(BPF_RB_NO_WAKEUP as u64);
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
