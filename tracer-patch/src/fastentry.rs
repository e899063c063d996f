//! `--fast-entry`: give every traced function a cheap uprobe site with a nop5 trampoline.
//!
//! A uprobe on an instruction the kernel single-steps costs ~12 µs per hit in a VM, and in
//! a leaf like `lea; and; ret` every instruction is one. With all threads stopped
//! ([`crate::ptrace`]), the instructions covering a function's first 5 bytes (after `endbr64`)
//! are copied into a trampoline that starts with a 5-byte nop ([`crate::trampoline`]), in a
//! file-backed region mapped into the target within ±2 GiB ([`crate::patch`]); the first 5 bytes
//! become a `jmp` to it. The entry uprobe and the uretprobe go on the trampoline's nop
//! (~0.6 µs per hit on Linux 6.18), where the registers still hold the arguments and
//! `[rsp]` the caller's return address.
//!
//! A leaf function that provably cannot tell gets a call-through trampoline instead
//! ([`trampoline::encode_call_slot`]): the trampoline calls the function and one uprobe
//! at its return sees the whole call (arguments, return value, TSC ticks) in a single
//! [`EventKind::Call`] event, half the kernel entries of an entry probe plus a uretprobe.
//!
//! A function is refused (and probed the normal way, with the reason in the trace's
//! warnings) unless patching is provably safe. [`FastEntry::restore`] (also on drop)
//! writes the original bytes back under the same stop-the-world check; the trampolines
//! stay mapped, since a thread may still be inside one.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use tracer_common::EventKind;
use tracer_probe::tsc;

use crate::{
    patch::{self, hex, Memory, PatchError},
    ptrace::{PtraceError, StoppedProcess},
    trampoline::{self, PatchSite, Refusal, StackArgs, JMP_LEN, SLOT},
};
use tracer_probe::probes::{
    site::{ProbeSite, SiteCost},
    Plan,
};

/// Errors that stop fast-entry as a whole (per-function problems are [`Refusal`]s).
#[derive(Debug, thiserror::Error)]
pub enum FastEntryError {
    /// Stopping the target failed.
    #[error("fast-entry: cannot stop the target: {0}")]
    Ptrace(#[from] PtraceError),
    /// Reading, writing or mapping failed.
    #[error("fast-entry: {0}")]
    Patch(#[from] PatchError),
    /// The function's first bytes already hold a `jmp` that the file does not have.
    #[error(
        "fast-entry: `{function}` already starts with a jump that is not in its file ({memory}); \
         another session or tool patched it, and probing it now would break it"
    )]
    AlreadyPatched {
        /// Function.
        function: String,
        /// The bytes in memory.
        memory: String,
    },
}

/// Settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where trampoline files go.
    pub dir: PathBuf,
    /// Stop-the-world attempts for a function a thread is inside of.
    pub attempts: u32,
    /// Run leaves through call-through trampolines (one probe per call); off, every
    /// patched function keeps an entry probe and a uretprobe.
    pub call_through: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { dir: default_dir(), attempts: 20, call_through: true }
    }
}

const CALL_THROUGH_OFF: &str = "call-through is turned off (--no-call-through, \"call_through\": false)";

/// `$TRACESYNTH_TRAMPOLINE_DIR`, else `/run/tracesynth/trampolines`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("TRACESYNTH_TRAMPOLINE_DIR")
        .map_or_else(|| PathBuf::from("/run/tracesynth/trampolines"), PathBuf::from)
}

/// A function whose first bytes jump to a trampoline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patched {
    /// Function name.
    pub function: String,
    /// Run-time address of the overwritten bytes.
    pub address: u64,
    /// Offset of `address` from the function's start (4 after `endbr64`).
    pub start: u64,
    /// The original bytes at `address` (the 5 overwritten ones).
    pub original: [u8; JMP_LEN],
    /// The `jmp` written there.
    pub jmp: [u8; JMP_LEN],
    /// Instructions moved to the trampoline.
    pub relocated: Vec<String>,
    /// Run-time address of the trampoline (its nop5).
    pub slot: u64,
    /// The trampoline file and the slot's offset in it (the uprobe's attach point).
    pub file: PathBuf,
    /// Offset of the slot in `file`.
    pub file_offset: u64,
    /// How the calls are probed.
    pub probes: SlotProbes,
    /// Restored already.
    pub restored: bool,
}

/// How the calls of a patched function are probed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotProbes {
    /// An entry uprobe and a uretprobe on the slot's first `nop5`; the reason a
    /// call-through slot was not used.
    EntryAndUretprobe(String),
    /// A call-through slot: one uprobe at this offset from the slot's start.
    CallThrough {
        /// Offset of the probed `nop5` in the slot.
        probe: u64,
    },
}

/// A trampoline region mapped into the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// The file.
    pub file: PathBuf,
    /// First address.
    pub start: u64,
    /// Length.
    pub len: u64,
}

/// The fast-entry state of one target: what was patched, what was refused.
#[derive(Debug)]
pub struct FastEntry {
    pid: u32,
    /// The target's start time: a PID reused by another process is not written to.
    start_time: Option<u64>,
    options: Options,
    patched: Vec<Patched>,
    regions: Vec<Region>,
    refusals: Vec<(String, Refusal)>,
    done: bool,
}

struct Candidate {
    name: String,
    object: PathBuf,
    runtime: u64,
    code: Vec<u8>,
    site: PatchSite,
    call_through: CallThrough,
}

/// Which slot a function gets.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CallThrough {
    /// A call-through slot ([`trampoline::encode_call_slot`]).
    Yes {
        /// Whether `r9` may hold a sixth argument, to be kept.
        sixth_arg: bool,
    },
    /// An entry slot with an entry probe and a uretprobe, for this reason.
    No(String),
}

/// A candidate with its trampoline slot written and mapped, waiting for its jump.
struct Slotted {
    candidate: Candidate,
    /// Run-time address of its slot.
    slot: u64,
    /// The trampoline file.
    file: PathBuf,
    /// The slot's offset in that file.
    file_offset: u64,
    probes: SlotProbes,
}

/// How much of each thread's stack, upwards from its RSP, is searched for a saved
/// signal context that would resume inside the bytes to patch.
const STACK_SCAN_BYTES: u64 = 8 << 20;

fn candidate(plan: &Plan, index: usize, options: &Options) -> Result<Candidate, Refusal> {
    let f = &plan.functions[index];
    let runtime = f.runtime_address.ok_or(Refusal::NotMapped)?;
    let entry = plan
        .points
        .iter()
        .find(|p| p.function == index as u32 && p.kind == EventKind::Entry && !p.uretprobe)
        .ok_or(Refusal::NotMapped)?;
    let base = entry.file_offset - f.entry_site.offset;
    if f.size == 0 {
        return Err(Refusal::TooShort { start: 0, available: 0 });
    }
    let code = tracer_probe::probes::patched::read_code(&entry.object, base, f.size)
        .map_err(|e| Refusal::Unreadable(e.to_string()))?;
    let site = trampoline::patch_site(&code, f.address)?;
    let range = site.start..site.start + site.len;
    for p in plan.points.iter().filter(|p| p.function == index as u32) {
        let at = p.file_offset.wrapping_sub(base);
        let moves = p.kind == EventKind::Entry || p.uretprobe || (p.kind == EventKind::Block && at == site.start);
        if !moves && range.contains(&at) {
            let what = if p.kind == EventKind::Block { "basic-block" } else { "return" };
            return Err(Refusal::ProbeInside { what, offset: at });
        }
    }
    let call_through = if options.call_through {
        call_through(plan, index, &code).map_or_else(CallThrough::No, |sixth_arg| CallThrough::Yes { sixth_arg })
    } else {
        CallThrough::No(CALL_THROUGH_OFF.to_owned())
    };
    Ok(Candidate { name: f.name.clone(), object: entry.object.clone(), runtime, code, site, call_through })
}

/// Whether function `index` of `plan` can run through a call-through slot (see
/// [`trampoline::call_through_obstacle`]): `Ok(sixth_arg)` (whether `r9` may hold an
/// argument), or why not.
fn call_through(plan: &Plan, index: usize, code: &[u8]) -> Result<bool, String> {
    let f = &plan.functions[index];
    // Block probes always come with `plan.cfg` ([`tracer_probe::probes::cfg::add_block_points`]),
    // whose probe ids must also stay as they are ([`FastEntry::rewrite`] drops points).
    if plan.cfg.is_some() {
        return Err("block paths need an entry event".into());
    }
    tsc::reliable()?;
    if f.ret_mode != tracer_probe::trace::RetMode::Uretprobe {
        return Err("returns are probed at `ret` instructions".into());
    }
    if plan.points.iter().any(|p| p.function == index as u32 && p.string_mask != 0) {
        return Err("strings are read at entry".into());
    }
    if plan.points.iter().any(|p| p.function == index as u32 && p.arrays.mask != 0) {
        return Err("memory behind pointer arguments is read at entry".into());
    }
    let stack_args = stack_args(f);
    let sixth_arg = stack_args != StackArgs::RuledOut || f.params.len() >= tracer_common::MAX_ARGS;
    match trampoline::call_through_obstacle(code, &stack_args) {
        Some(why) => Err(why),
        None => Ok(sixth_arg),
    }
}

/// Whether DWARF rules out that `f` takes arguments on the stack: only when it shows each
/// parameter in one integer register, at most six, no `...` and no struct return (floats
/// are left to the code check: a `long double` goes on the stack).
fn stack_args(f: &tracer_probe::trace::FunctionInfo) -> StackArgs {
    use tracer_probe::probes::dwarf::{StructPlace, ValueKind};
    let one_register = |kind: ValueKind| match kind {
        ValueKind::Signed { bytes } | ValueKind::Unsigned { bytes } => bytes <= 8,
        ValueKind::Bool
        | ValueKind::Pointer
        | ValueKind::CString
        | ValueKind::Raw
        | ValueKind::Elements { .. }
        | ValueKind::Record { .. } => true,
        ValueKind::Float | ValueKind::Aggregate | ValueKind::Void | ValueKind::StructValue { .. } => false,
    };
    let hidden_pointer = match f.ret.kind {
        ValueKind::Aggregate => true,
        ValueKind::StructValue { place, .. } => !matches!(place, StructPlace::Registers | StructPlace::Sse),
        _ => false,
    };
    if !f.has_dwarf {
        StackArgs::Unknown("there is no DWARF to show its parameters are all in registers".into())
    } else if f.variadic {
        StackArgs::Unknown("it takes `...`".into())
    } else if hidden_pointer {
        StackArgs::Unknown("it returns a struct (through a hidden pointer argument?)".into())
    } else if !f.params.iter().all(|p| one_register(p.ctype.kind)) {
        StackArgs::Unknown("DWARF does not show each parameter in one integer register".into())
    } else if f.params.len() > tracer_common::MAX_ARGS {
        StackArgs::Unknown("it has more parameters than argument registers".into())
    } else {
        StackArgs::RuledOut
    }
}

/// What `--fast-entry` would do with each function of `plan`, from its code alone (a
/// thread inside the bytes, or bytes changed in memory, are only seen when patching).
pub fn explain(plan: &Plan, options: &Options) -> String {
    let mut out = String::new();
    for (index, f) in plan.functions.iter().enumerate() {
        match candidate(plan, index, options) {
            Ok(c) => out.push_str(&format!(
                "fast-entry: {}: would move {} bytes from +{:#x} (`{}`) to a nop5 trampoline; {}\n",
                f.name,
                c.site.len,
                c.site.start,
                c.site.instructions.join("; "),
                match &c.call_through {
                    CallThrough::Yes { .. } =>
                        "calls would run through it, with one probe per call at its return".to_owned(),
                    CallThrough::No(why) => format!("entry probe and uretprobe on its nop ({why})"),
                }
            )),
            Err(r) => out.push_str(&format!("fast-entry: {}: refused, probed the normal way: {r}\n", f.name)),
        }
    }
    out
}

impl FastEntry {
    /// Patches every function of `plan` it safely can and moves their entry probes and
    /// uretprobes (and a block probe at the patch point) to the trampolines. Refused
    /// functions keep their probe points; each refusal is added to `plan.warnings`.
    ///
    /// # Errors
    /// When the target cannot be stopped, read or written, or a function is already
    /// patched by someone else. Nothing stays patched then.
    pub fn install(plan: &mut Plan, options: &Options) -> Result<Self, FastEntryError> {
        let mut this = Self {
            pid: plan.pid,
            start_time: patch::start_time(plan.pid),
            options: options.clone(),
            patched: Vec::new(),
            regions: Vec::new(),
            refusals: Vec::new(),
            done: false,
        };
        let mut candidates = Vec::new();
        let seccomp = seccomp_mode(plan.pid);
        for (index, f) in plan.functions.iter().enumerate() {
            match candidate(plan, index, options) {
                Ok(_) if seccomp != 0 => this.refusals.push((f.name.clone(), Refusal::Seccomp { mode: seccomp })),
                Ok(c) => candidates.push(c),
                Err(r) => this.refusals.push((f.name.clone(), r)),
            }
        }
        if !candidates.is_empty() {
            this.patch(candidates)?;
        }
        if this.patched.iter().any(|p| matches!(p.probes, SlotProbes::CallThrough { .. })) {
            // Measure the TSC rate now (20 ms) rather than when the first event arrives.
            tsc::ns_per_tick();
        }
        this.rewrite(plan);
        Ok(this)
    }

    fn patch(&mut self, candidates: Vec<Candidate>) -> Result<(), FastEntryError> {
        let pid = self.pid;
        let syscall_insn = patch::find_syscall_instruction(pid)?;
        let mut ready: Vec<Slotted> = Vec::new();
        {
            let mut stopped = StoppedProcess::stop(pid)?;
            let mem = Memory::open(pid)?;
            // The bytes must be the file's: an int3 is another tool's uprobe (refused), a
            // jmp someone else's patch (an error: probing over it would break the target).
            let mut by_object: BTreeMap<PathBuf, Vec<Candidate>> = BTreeMap::new();
            for c in candidates {
                let want = &c.code[c.site.start as usize..(c.site.start + c.site.len) as usize];
                let memory = mem.read(c.runtime + c.site.start, want.len())?;
                if memory == want {
                    by_object.entry(c.object.clone()).or_default().push(c);
                } else if memory[0] == 0xe9 && want[0] != 0xe9 {
                    return Err(FastEntryError::AlreadyPatched { function: c.name, memory: hex(&memory) });
                } else {
                    self.refusals.push((c.name, Refusal::MemoryDiffers { memory: hex(&memory), file: hex(want) }));
                }
            }
            for (object, group) in by_object {
                let len = (group.len() as u64 * SLOT).div_ceil(4096) * 4096;
                let maps = tracer_probe::procfs::maps(pid).map_err(PatchError::from)?;
                let targets: Vec<u64> = group.iter().map(|c| c.runtime).collect();
                let Some(start) = patch::choose_region(&maps, &targets, len) else {
                    for c in group {
                        self.refusals.push((
                            c.name,
                            Refusal::Unrelocatable {
                                offset: c.site.start,
                                instruction: c.site.instructions.join("; "),
                                why: format!("no free address range within ±2 GiB of {}", object.display()),
                            },
                        ));
                    }
                    continue;
                };
                let mut bytes = vec![0xccu8; len as usize];
                let mut slots = Vec::new();
                for (i, c) in group.into_iter().enumerate() {
                    let slot = start + i as u64 * SLOT;
                    let encoded = match &c.call_through {
                        CallThrough::Yes { sixth_arg } => {
                            trampoline::encode_call_slot(&c.code, c.runtime, &c.site, slot, *sixth_arg)
                                .map(|s| (s.bytes, SlotProbes::CallThrough { probe: s.probe }))
                        }
                        CallThrough::No(why) => trampoline::encode_slot(&c.code, c.runtime, &c.site, slot)
                            .map(|b| (b, SlotProbes::EntryAndUretprobe(why.clone()))),
                    };
                    match encoded {
                        Ok((code, probes)) => {
                            let at = (i as u64 * SLOT) as usize;
                            bytes[at..at + code.len()].copy_from_slice(&code);
                            slots.push((c, slot, i as u64 * SLOT, probes));
                        }
                        Err(r) => self.refusals.push((c.name, r)),
                    }
                }
                if slots.is_empty() {
                    continue;
                }
                let file = patch::write_trampoline_file(&self.options.dir, pid, &bytes)?;
                patch::map_into(&mut stopped, &mem, syscall_insn, &file, start, len)?;
                self.regions.push(Region { file: file.clone(), start, len });
                for (candidate, slot, file_offset, probes) in slots {
                    ready.push(Slotted { candidate, slot, file: file.clone(), file_offset, probes });
                }
            }
        }
        // Write the jumps; retry functions a thread is inside of.
        let mut attempt = 0;
        while !ready.is_empty() {
            attempt += 1;
            let stopped = StoppedProcess::stop(pid)?;
            let mem = Memory::open(pid)?;
            let rips = stopped.rips()?;
            let stacks = stopped.stack_words(STACK_SCAN_BYTES)?;
            let mut blocked = Vec::new();
            for slotted in ready {
                let Slotted { candidate: c, slot, file, file_offset: off, probes } = slotted;
                let address = c.runtime + c.site.start;
                let want = &c.code[c.site.start as usize..(c.site.start + c.site.len) as usize];
                let memory = mem.read(address, want.len())?;
                if memory != want {
                    self.refusals.push((c.name, Refusal::MemoryDiffers { memory: hex(&memory), file: hex(want) }));
                    continue;
                }
                // A thread whose RIP is at the end of the bytes may be in a system call
                // there, which the kernel restarts 2 bytes back: inside the jump.
                if let Some(&(tid, rip)) = rips.iter().find(|(_, rip)| *rip > address && *rip <= address + c.site.len) {
                    if attempt >= self.options.attempts {
                        self.refusals
                            .push((c.name, Refusal::ThreadInside { tid, offset: rip - c.runtime, attempts: attempt }));
                    } else {
                        blocked.push(Slotted { candidate: c, slot, file, file_offset: off, probes });
                    }
                    continue;
                }
                // A thread in a signal handler resumes at the RIP saved in its signal
                // frame, on its stack (or alternate stack) above its RSP. Any stack word
                // pointing strictly inside the bytes may be one: such a thread is waited
                // for like one stopped there. (A call among the bytes is their last
                // instruction, so a return address is never strictly inside.)
                let inside = |w: u64| w > address && w < address + c.site.len;
                if let Some((tid, word)) =
                    stacks.iter().find_map(|(tid, words)| words.iter().find(|w| inside(**w)).map(|w| (*tid, *w)))
                {
                    if attempt >= self.options.attempts {
                        self.refusals.push((
                            c.name,
                            Refusal::SavedContextInside { tid, offset: word - c.runtime, attempts: attempt },
                        ));
                    } else {
                        blocked.push(Slotted { candidate: c, slot, file, file_offset: off, probes });
                    }
                    continue;
                }
                let jmp = trampoline::jmp_bytes(address, slot).expect("the region was chosen within reach");
                let mut original = [0u8; JMP_LEN];
                original.copy_from_slice(&want[..JMP_LEN]);
                if let Err(e) = mem.write_verified(address, &jmp) {
                    // Put back whatever is there; stop everything.
                    let _ = mem.write_verified(address, &original);
                    drop(stopped);
                    self.restore();
                    return Err(e.into());
                }
                self.patched.push(Patched {
                    function: c.name.clone(),
                    address,
                    start: c.site.start,
                    original,
                    jmp,
                    relocated: c.site.instructions.clone(),
                    slot,
                    file,
                    file_offset: off,
                    probes,
                    restored: false,
                });
            }
            drop(stopped);
            ready = blocked;
            if !ready.is_empty() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    /// Moves the probe points of patched functions to their trampolines and records the
    /// refusals as warnings.
    fn rewrite(&self, plan: &mut Plan) {
        for p in &self.patched {
            let Some(index) = plan.functions.iter().position(|f| f.name == p.function) else { continue };
            let f = &plan.functions[index];
            let base = plan
                .points
                .iter()
                .find(|q| q.function == index as u32 && q.kind == EventKind::Entry && !q.uretprobe)
                .map(|q| q.file_offset - f.entry_site.offset);
            if let SlotProbes::CallThrough { probe } = p.probes {
                // One probe per call, at the slot's return; no uretprobe.
                plan.points.retain(|q| !(q.function == index as u32 && q.uretprobe));
                for q in plan.points.iter_mut().filter(|q| q.function == index as u32 && q.kind == EventKind::Entry) {
                    q.object.clone_from(&p.file);
                    q.file_offset = p.file_offset + probe;
                    q.kind = EventKind::Call;
                }
            }
            for q in plan.points.iter_mut().filter(|q| q.function == index as u32) {
                let block_at_patch = q.kind == EventKind::Block && base.map(|b| q.file_offset - b) == Some(p.start);
                if q.kind == EventKind::Entry || q.uretprobe || block_at_patch {
                    q.object.clone_from(&p.file);
                    q.file_offset = p.file_offset;
                }
            }
            let probes = match &p.probes {
                SlotProbes::EntryAndUretprobe(why) => format!(
                    "starts with a 5-byte nop; the entry uprobe and uretprobe are on it ({}+{:#x}); \
                     not called through: {why}",
                    p.file.display(),
                    p.file_offset
                ),
                SlotProbes::CallThrough { probe } => format!(
                    "calls the function and sees each call whole with one uprobe at its return ({}+{:#x})",
                    p.file.display(),
                    p.file_offset + probe
                ),
            };
            plan.functions[index].entry_site = ProbeSite {
                offset: p.start,
                instruction: "nop dword ptr [rax+rax] (fast-entry trampoline)".into(),
                cost: SiteCost::Optimized,
                reason: format!(
                    "fast-entry: the first bytes from +{:#x} (`{}`) run in a trampoline at {:#x} that {probes}",
                    p.start,
                    p.relocated.join("; "),
                    p.slot,
                ),
            };
            plan.warnings.push(format!(
                "fast-entry: {}: patched {} bytes at {:#x} ({} -> {}), relocated to the trampoline at {:#x}; {}",
                p.function,
                JMP_LEN,
                p.address,
                hex(&p.original),
                hex(&p.jmp),
                p.slot,
                match &p.probes {
                    SlotProbes::CallThrough { .. } =>
                        "calls run through it (one probe per call, at its return)".to_owned(),
                    SlotProbes::EntryAndUretprobe(why) =>
                        format!("entry probe and uretprobe on its nop (not called through: {why})"),
                }
            ));
        }
        for (id, q) in plan.points.iter_mut().enumerate() {
            q.id = id as u32;
        }
        for (name, r) in &self.refusals {
            plan.warnings.push(format!("fast-entry: {name}: not patched, probed the normal way: {r}"));
        }
    }

    /// The patched functions.
    pub fn patched(&self) -> &[Patched] {
        &self.patched
    }

    /// The mapped trampoline regions.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Functions refused, with the reasons.
    pub fn refusals(&self) -> &[(String, Refusal)] {
        &self.refusals
    }

    /// Writes every function's original bytes back (all threads stopped, none inside the
    /// `jmp`), and says what was done. The trampolines stay mapped. Calling it again does
    /// nothing.
    pub fn restore(&mut self) -> Vec<String> {
        let mut report = Vec::new();
        if self.done {
            return report;
        }
        self.done = true;
        if self.patched.iter().all(|p| p.restored) {
            return report;
        }
        if !tracer_probe::procfs::process_alive(self.pid) {
            report.push(format!("fast-entry: PID {} exited; nothing to restore", self.pid));
            return report;
        }
        if patch::start_time(self.pid) != self.start_time {
            report.push(format!(
                "fast-entry: PID {} is now another process (its start time changed); nothing restored",
                self.pid
            ));
            return report;
        }
        for attempt in 1..=self.options.attempts.max(1) {
            let stopped = match StoppedProcess::stop(self.pid) {
                Ok(s) => s,
                Err(e) => {
                    report.push(format!("fast-entry: cannot stop PID {} to restore: {e}", self.pid));
                    break;
                }
            };
            let rips = stopped.rips().unwrap_or_default();
            let mem = match Memory::open(self.pid) {
                Ok(m) => m,
                Err(e) => {
                    report.push(format!("fast-entry: cannot restore: {e}"));
                    break;
                }
            };
            let last = attempt == self.options.attempts.max(1);
            for p in self.patched.iter_mut().filter(|p| !p.restored) {
                if let Some((tid, _)) =
                    rips.iter().find(|(_, rip)| *rip > p.address && *rip < p.address + JMP_LEN as u64)
                {
                    if last {
                        report.push(format!(
                            "fast-entry: {}: thread {tid} is inside the jump at {:#x}; left patched (the trampoline keeps it working)",
                            p.function, p.address
                        ));
                        p.restored = true;
                    }
                    continue;
                }
                match mem.read(p.address, JMP_LEN) {
                    Ok(now) if now == p.jmp => {}
                    Ok(now) => {
                        report.push(format!(
                            "fast-entry: {}: the bytes at {:#x} changed to {} since patching; left as they are",
                            p.function,
                            p.address,
                            hex(&now)
                        ));
                        p.restored = true;
                        continue;
                    }
                    Err(e) => {
                        report.push(format!("fast-entry: {}: {e}", p.function));
                        p.restored = true;
                        continue;
                    }
                }
                match mem.write_verified(p.address, &p.original) {
                    Ok(()) => report.push(format!(
                        "fast-entry: {}: restored {} at {:#x}",
                        p.function,
                        hex(&p.original),
                        p.address
                    )),
                    Err(e) => report.push(format!("fast-entry: {}: could not restore: {e}", p.function)),
                }
                p.restored = true;
            }
            drop(stopped);
            if self.patched.iter().all(|p| p.restored) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for r in &self.regions {
            report.push(format!(
                "fast-entry: trampoline {:#x}-{:#x} ({}) stays mapped in PID {} (a thread may still be inside it)",
                r.start,
                r.start + r.len,
                r.file.display(),
                self.pid
            ));
        }
        report
    }
}

/// The `Seccomp:` field of `/proc/PID/status` (0 none, 1 strict, 2 filter); an unreadable
/// one counts as filtered.
fn seccomp_mode(pid: u32) -> u32 {
    tracer_probe::procfs::status_field(&pid.to_string(), "Seccomp").and_then(|v| v.parse().ok()).unwrap_or(2)
}

impl Drop for FastEntry {
    fn drop(&mut self) {
        for line in self.restore() {
            tracing::info!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracer_probe::{
        probes::dwarf::{CType, Param, ValueKind},
        trace::{FunctionInfo, RetMode},
    };

    #[test]
    fn a_reused_pid_is_not_written_to() {
        let mut fast = FastEntry {
            pid: std::process::id(),
            start_time: patch::start_time(std::process::id()).map(|t| t + 1),
            options: Options::default(),
            patched: vec![Patched {
                function: "f".into(),
                address: 0x1000,
                start: 0,
                original: [0x90; JMP_LEN],
                jmp: [0xe9, 0, 0, 0, 0],
                relocated: Vec::new(),
                slot: 0x2000,
                file: "/nonexistent".into(),
                file_offset: 0,
                probes: SlotProbes::EntryAndUretprobe(String::new()),
                restored: false,
            }],
            regions: Vec::new(),
            refusals: Vec::new(),
            done: false,
        };
        let report = fast.restore();
        assert_eq!(report.len(), 1, "{report:#?}");
        assert!(report[0].contains("is now another process"), "{report:#?}");
    }

    #[test]
    fn seccomp_mode_is_read_from_status() {
        assert_eq!(seccomp_mode(std::process::id()), 0);
        assert_eq!(seccomp_mode(u32::MAX / 2), 2, "unreadable counts as filtered");
    }

    fn function(params: &[ValueKind], ret: ValueKind, variadic: bool) -> FunctionInfo {
        let ctype = |kind| CType { name: "t".into(), kind };
        FunctionInfo {
            name: "f".into(),
            object: "/bin/f".into(),
            address: 0x1000,
            runtime_address: None,
            size: 16,
            params: params.iter().map(|&k| Param { name: "p".into(), ctype: ctype(k) }).collect(),
            ret: ctype(ret),
            has_dwarf: true,
            variadic,
            entry_site: ProbeSite {
                offset: 0,
                instruction: "nop".into(),
                cost: SiteCost::Optimized,
                reason: String::new(),
            },
            ret_mode: RetMode::Uretprobe,
            ret_sites: Vec::new(),
        }
    }

    #[test]
    fn dwarf_rules_out_stack_arguments_only_for_one_register_integers() {
        let int = ValueKind::Signed { bytes: 4 };
        let ruled_out = |f: FunctionInfo| stack_args(&f) == StackArgs::RuledOut;
        assert!(ruled_out(function(&[int; 6], int, false)));
        assert!(ruled_out(function(
            &[ValueKind::Pointer, ValueKind::CString, ValueKind::Bool],
            ValueKind::Void,
            false
        )));
        assert!(!ruled_out(function(&[int; 7], int, false)), "a seventh goes on the stack");
        assert!(!ruled_out(function(&[int], int, true)), "`...`");
        assert!(!ruled_out(function(&[ValueKind::Float], int, false)), "a long double goes on the stack");
        assert!(!ruled_out(function(&[ValueKind::Signed { bytes: 16 }; 4], int, false)), "__int128 takes two");
        assert!(!ruled_out(function(&[ValueKind::Aggregate], int, false)));
        assert!(!ruled_out(function(&[int], ValueKind::Aggregate, false)), "a hidden struct-return pointer");
        let mut no_dwarf = function(&[int], int, false);
        no_dwarf.has_dwarf = false;
        assert!(!ruled_out(no_dwarf));
    }
}
