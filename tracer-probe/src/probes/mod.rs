//! Turning `--func` names into probe points, and attaching them.
//!
//! [`plan`] resolves each name in the target's main binary and mapped shared libraries,
//! reads its signature from DWARF and chooses cheap probe sites; [`loader`] loads the eBPF
//! programs and attaches the plan's points.
pub mod arg_overrides;
pub mod cfg;
pub mod dwarf;
pub mod globals;
pub mod loader;
pub mod patched;
pub mod site;
pub mod symbols;

use std::{collections::HashMap, path::PathBuf};

use tracer_common::{EventKind, RET_SLOT};

use self::{
    dwarf::{CType, Param, ValueKind},
    symbols::{ElfSymbols, Lookup},
};
use serde::{Deserialize, Serialize};

use self::site::ProbeSite;
use crate::procfs::{self, ProcError};

/// How a function's returns are captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RetMode {
    /// uretprobe (6.11+ returns through a syscall, no trap).
    #[default]
    Uretprobe,
    /// uprobes on the function's `ret` instructions (works with moving stacks, e.g. Go).
    Insn,
}

/// A traced function and how it was probed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionInfo {
    /// Symbol name.
    pub name: String,
    /// ELF file that defines it.
    pub object: PathBuf,
    /// ELF virtual address.
    pub address: u64,
    /// Run-time address in the target (after load bias), when mapped.
    pub runtime_address: Option<u64>,
    /// Size in bytes.
    pub size: u64,
    /// Parameters (from DWARF, or six raw registers without it).
    pub params: Vec<Param>,
    /// Return type.
    pub ret: CType,
    /// Whether `params` and `ret` come from DWARF.
    pub has_dwarf: bool,
    /// DWARF declares the function with `...`.
    #[serde(default)]
    pub variadic: bool,
    /// Entry probe site.
    pub entry_site: ProbeSite,
    /// Return capture mode.
    pub ret_mode: RetMode,
    /// `ret` instruction sites in [`RetMode::Insn`] mode.
    pub ret_sites: Vec<ProbeSite>,
}

impl FunctionInfo {
    /// Its C signature: `int sum_ints(const int * a, int n)`.
    #[must_use]
    pub fn signature(&self) -> String {
        let params: Vec<String> = self.params.iter().map(|p| format!("{} {}", p.ctype.name, p.name)).collect();
        format!("{} {}({})", self.ret.name, self.name, params.join(", "))
    }
}

/// Errors turning function names into probe points.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// `/proc` could not be read (e.g. no such PID).
    #[error(transparent)]
    Proc(#[from] ProcError),
    /// No mapped object defines the function.
    #[error("function `{name}` not found in PID {pid} ({searched}){hint}")]
    FunctionNotFound {
        /// The name asked for.
        name: String,
        /// Target PID.
        pid: u32,
        /// What was searched, for the message.
        searched: String,
        /// Suggestions or a note about stripped binaries.
        hint: String,
    },
    /// No `--func` was given.
    #[error("no function to trace: give at least one --func")]
    NoFunctions,
    /// The same function was named twice.
    #[error("function `{0}` is named more than once")]
    Duplicate(String),
}

/// One uprobe or uretprobe to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbePoint {
    /// Probe id, passed as the attach cookie and used as index in the `PROBES` map.
    pub id: u32,
    /// ELF file to attach to.
    pub object: PathBuf,
    /// File offset of the probed instruction.
    pub file_offset: u64,
    /// What a hit means.
    pub kind: EventKind,
    /// Attach as a uretprobe (at the function's entry offset).
    pub uretprobe: bool,
    /// Index of the function in [`Plan::functions`].
    pub function: u32,
    /// `char *` slots to read (see [`tracer_common::ProbeConfig::string_mask`]).
    pub string_mask: u32,
    /// Memory that pointer arguments point to, read at entry.
    pub arrays: ArrayReads,
}

/// Bytes of one pointer argument read at most, by default.
pub const DEFAULT_ARRAY_CAP: u32 = 4096;
/// The largest cap: the eBPF side's largest record.
pub const MAX_ARRAY_CAP: u32 = tracer_common::BYTES_LARGE as u32;

/// Which pointer arguments an entry probe reads through, as the eBPF side takes it (see
/// [`tracer_common::ProbeConfig::array_mask`] and the fields after it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArrayReads {
    /// Bit `i`: argument slot `i` points to elements to read.
    pub mask: u32,
    /// Four bits per slot: the slot of its count argument, or [`tracer_common::ARRAY_ONE`].
    pub len: u32,
    /// Four bits per slot: log2 of the element size, bit 2 "count is 32-bit", bit 3
    /// "count is signed".
    pub elem: u32,
    /// Bytes read at most per argument.
    pub cap: u32,
    /// Bit `i`: slot `i` points to memory the function may write (not `const`), read again
    /// at the return.
    pub out: u32,
    /// Per slot whose count is [`tracer_common::ARRAY_FIXED`]: how many elements.
    pub count: [u32; tracer_common::MAX_ARGS],
    /// `char *` members of structs read as strings (see
    /// [`tracer_common::ProbeConfig::field_strings`]).
    pub field_strings: [u32; tracer_common::MAX_FIELD_STRINGS],
}

impl ArrayReads {
    /// Also reads the strings the `char *` members of each struct read at entry point to
    /// (nested structs included, one pointer level deep; at most
    /// [`tracer_common::MAX_FIELD_STRINGS`] members per function, with a note for the
    /// others), in an array of structs those of its first
    /// [`tracer_common::MAX_ELEMENT_STRINGS`] elements.
    pub fn read_member_strings(
        &mut self,
        params: &[Param],
        slots: &[Option<usize>],
        layouts: &[Option<dwarf::Layout>],
        notes: &mut Vec<String>,
    ) {
        fn members(layout: &dwarf::Layout, base: u32, out: &mut Vec<(u32, String)>, prefix: &str) {
            for f in &layout.fields {
                let path = format!("{prefix}{}", f.name);
                match &f.kind {
                    dwarf::FieldKind::CString => out.push((base + f.offset, path)),
                    dwarf::FieldKind::Struct(inner) => members(inner, base + f.offset, out, &format!("{path}.")),
                    _ => {}
                }
            }
        }
        let mut n = 0;
        for ((p, slot), layout) in params.iter().zip(slots).zip(layouts.iter().chain(std::iter::repeat(&None))) {
            let (ValueKind::Record { count_param, .. }, Some(s), Some(layout)) = (p.ctype.kind, slot, layout) else {
                continue;
            };
            let each = if count_param.is_some() { tracer_common::FIELD_STRING_EACH } else { 0 };
            if self.mask & (1 << s) == 0 {
                continue;
            }
            let mut found = Vec::new();
            members(layout, 0, &mut found, "");
            for (offset, path) in found {
                if n == tracer_common::MAX_FIELD_STRINGS || offset > 0xffff {
                    notes.push(format!(
                        "`{}.{path}` ({}) is recorded as an address: at most {} `char *` members are read as \
                         strings",
                        p.name,
                        p.ctype.name,
                        tracer_common::MAX_FIELD_STRINGS
                    ));
                    continue;
                }
                self.field_strings[n] = tracer_common::FIELD_STRING | each | ((*s as u32) << 16) | offset;
                n += 1;
            }
        }
    }

    /// The reads for a function's parameters (pointers to integers, see
    /// [`dwarf::pair_counts`]), with a note for each count that cannot be read.
    pub fn for_params(params: &[Param], slots: &[Option<usize>], cap: u32, notes: &mut Vec<String>) -> ArrayReads {
        let mut r = ArrayReads { cap: cap.min(tracer_common::BYTES_LARGE as u32), ..ArrayReads::default() };
        for (p, slot) in params.iter().zip(slots) {
            let (bytes, count_param, s) = match (p.ctype.kind, slot) {
                (ValueKind::Elements { bytes, count_param, .. }, Some(s)) => (bytes, count_param, *s),
                // One struct: its bytes, as many as its size.
                (ValueKind::Record { bytes, count_param: None }, Some(s)) => {
                    if writable(&p.ctype.name) {
                        r.out |= 1 << s;
                    }
                    r.mask |= 1 << s;
                    r.len |= tracer_common::ARRAY_FIXED << (4 * s);
                    r.count[*s] = u32::from(bytes);
                    continue;
                }
                // Structs counted by a parameter: elements of one byte, times the size the
                // probe multiplies the count by.
                (ValueKind::Record { bytes, count_param: Some(j) }, Some(s)) => {
                    r.count[*s] = u32::from(bytes);
                    (1, Some(j), *s)
                }
                _ => continue,
            };
            let mut count_slot = tracer_common::ARRAY_ONE;
            let mut flags = 0u32;
            if let Some(j) = count_param.map(usize::from) {
                match (slots.get(j).copied().flatten(), params.get(j).map(|c| c.ctype.kind)) {
                    (Some(cs), Some(kind)) => {
                        count_slot = cs as u32;
                        let (b, signed) = match kind {
                            ValueKind::Signed { bytes } => (bytes, true),
                            ValueKind::Unsigned { bytes } => (bytes, false),
                            _ => (8, false),
                        };
                        if b <= 4 {
                            flags |= 4;
                        }
                        if signed {
                            flags |= 8;
                        }
                    }
                    _ => notes.push(format!(
                        "parameter `{}`: its count is not in an integer register; one element is read",
                        p.name
                    )),
                }
            }
            if count_slot == tracer_common::ARRAY_ONE && r.count[s] != 0 {
                // One struct after all.
                r.len |= tracer_common::ARRAY_FIXED << (4 * s);
                r.mask |= 1 << s;
                if writable(&p.ctype.name) {
                    r.out |= 1 << s;
                }
                continue;
            }
            let shift = u32::from(bytes).trailing_zeros();
            if writable(&p.ctype.name) {
                r.out |= 1 << s;
            }
            r.mask |= 1 << s;
            r.len |= count_slot << (4 * s);
            r.elem |= (shift | flags) << (4 * s);
        }
        r
    }
}

/// `struct rect {origin: struct point {x: int, y: int}, label: const char * (address only)}`.
fn describe_layout(layout: &dwarf::Layout) -> String {
    use dwarf::FieldKind;
    let fields: Vec<String> = layout
        .fields
        .iter()
        .map(|f| match &f.kind {
            FieldKind::Struct(inner) => format!("{}: {}", f.name, describe_layout(inner)),
            FieldKind::Pointer => format!("{}: {} (address only)", f.name, f.ctype),
            FieldKind::CString => format!(
                "{}: {} (the string too; in an array, of the first {} structs)",
                f.name,
                f.ctype,
                tracer_common::MAX_ELEMENT_STRINGS
            ),
            FieldKind::Opaque { why } => format!("{}: {} (not decoded: {why})", f.name, f.ctype),
            _ => format!("{}: {}", f.name, f.ctype),
        })
        .collect();
    format!("{} {{{}}}", layout.name, fields.join(", "))
}

/// Whether a pointer type lets the function write what it points to: not `const T *`.
fn writable(pointer_type: &str) -> bool {
    !pointer_type.starts_with("const ")
}

/// Everything needed to attach and to decode the events.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Target PID.
    pub pid: u32,
    /// Function metadata, in `--func` order.
    pub functions: Vec<FunctionInfo>,
    /// Probe points; `points[i].id == i`.
    pub points: Vec<ProbePoint>,
    /// Warnings for the user and the trace.
    pub warnings: Vec<String>,
    /// Control-flow graphs when block probes were added ([`cfg::add_block_points`]):
    /// the trace builder then keeps each call's block path.
    pub cfg: Option<cfg::Cfg>,
    /// Per function, per parameter: the layout of the struct it points to
    /// ([`ValueKind::Record`]) or is (passed in registers), by which the trace builder
    /// decodes the bytes read; then one more, the layout of a struct returned (in
    /// registers, or in memory behind the hidden pointer).
    pub layouts: Vec<Vec<Option<dwarf::Layout>>>,
}

impl Plan {
    /// Reads at most `cap` bytes behind each pointer argument (clamped to
    /// [`MAX_ARRAY_CAP`]); 0 reads none.
    pub fn set_array_cap(&mut self, cap: u32) {
        for p in &mut self.points {
            if cap == 0 {
                p.arrays = ArrayReads::default();
            } else {
                p.arrays.cap = cap.min(MAX_ARRAY_CAP);
            }
        }
    }

    /// Human-readable explanation of the chosen probe sites (`--explain`).
    pub fn explain(&self) -> String {
        let mut out = String::new();
        for (fi, f) in self.functions.iter().enumerate() {
            out.push_str(&format!(
                "{} in {} at {:#x} ({} bytes){}\n",
                f.name,
                f.object.display(),
                f.address,
                f.size,
                f.runtime_address.map(|a| format!(", runtime {a:#x}")).unwrap_or_default()
            ));
            out.push_str(&format!(
                "  signature: {}{}\n",
                f.signature(),
                if f.has_dwarf { "" } else { "  [no DWARF: raw registers]" }
            ));
            let arrays =
                self.points.iter().find(|p| p.function as usize == fi).map_or_else(ArrayReads::default, |p| p.arrays);
            let cap = arrays.cap;
            let slots = dwarf::register_slots(&f.params, &f.ret);
            let again = |slot: &Option<usize>| {
                if slot.is_some_and(|s| arrays.out & (1 << s) != 0) {
                    " and again at the return (the function may write it)"
                } else {
                    ""
                }
            };
            for (pi, (p, slot)) in f.params.iter().zip(&slots).enumerate() {
                let layout = self.layouts.get(fi).and_then(|l| l.get(pi)).and_then(Option::as_ref);
                let count_name = |j: Option<u8>| j.and_then(|j| f.params.get(usize::from(j))).map(|c| c.name.as_str());
                // A struct passed by value in registers: nothing behind a pointer.
                if let (ValueKind::StructValue { bytes, .. }, Some(layout), Some(s)) = (p.ctype.kind, layout, slot) {
                    const NAMES: [&str; 6] = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];
                    let regs: Vec<&str> = NAMES.iter().skip(*s).take(usize::from(bytes).div_ceil(8)).copied().collect();
                    out.push_str(&format!(
                        "  reads: `{}` ({}): passed by value in {}, as {}\n",
                        p.name,
                        p.ctype.name,
                        regs.join(" and "),
                        describe_layout(layout)
                    ));
                    continue;
                }
                // What is read behind the pointer, when anything is.
                let what = match (p.ctype.kind, layout) {
                    (ValueKind::Record { bytes, count_param }, Some(layout)) => {
                        let structs = match count_name(count_param) {
                            Some(c) => format!("`{c}` structs of {bytes} bytes"),
                            None => format!("{bytes} bytes"),
                        };
                        format!("{structs} at entry{}, up to {cap} bytes, as {}", again(slot), describe_layout(layout))
                    }
                    (ValueKind::Elements { bytes, count_param, .. }, _) => {
                        let fixed = slot.filter(|&s| (arrays.len >> (4 * s)) & 0xf == tracer_common::ARRAY_FIXED);
                        let count = match (fixed, count_name(count_param)) {
                            (Some(s), _) => format!("{} elements (fixed)", arrays.count[s]),
                            (None, Some(c)) => format!("`{c}` elements"),
                            (None, None) => "one element".to_string(),
                        };
                        format!("{count} of {bytes} bytes at entry{}, up to {cap} bytes", again(slot))
                    }
                    _ => continue,
                };
                let what = if cap == 0 { "nothing (--array-cap 0)".to_string() } else { what };
                out.push_str(&format!("  reads: `{}` ({}): {what}\n", p.name, p.ctype.name));
            }
            // A struct returned in registers, or in memory behind the hidden pointer.
            let ret_layout = self.layouts.get(fi).and_then(|l| l.get(f.params.len())).and_then(Option::as_ref);
            match (f.ret.kind, ret_layout) {
                (ValueKind::StructValue { place: dwarf::StructPlace::Registers, .. }, Some(layout)) => {
                    out.push_str(&format!("  returns: in rax and rdx, as {}\n", describe_layout(layout)));
                }
                (ValueKind::StructValue { bytes, place: dwarf::StructPlace::Memory }, Some(layout))
                    if arrays.out & 1 != 0 =>
                {
                    out.push_str(&format!(
                        "  returns: {bytes} bytes in memory, read at the return where the hidden pointer \
                         (rdi) points, up to {cap} bytes, as {}\n",
                        describe_layout(layout)
                    ));
                }
                _ => {}
            }
            if let Ok(globals) = globals::writable_reads(&f.object, f.address, f.size) {
                if !globals.is_empty() {
                    let names: Vec<String> = globals.iter().map(ToString::to_string).collect();
                    out.push_str(&format!(
                        "  also reads, uncaptured: {} (writable globals: its result may depend on them)\n",
                        names.join(", ")
                    ));
                }
            }
            out.push_str(&format!(
                "  entry probe: +{:#x} `{}` ({:?}): {}\n",
                f.entry_site.offset, f.entry_site.instruction, f.entry_site.cost, f.entry_site.reason
            ));
            match f.ret_mode {
                RetMode::Uretprobe => out.push_str("  returns: uretprobe (no trap on 6.11+)\n"),
                RetMode::Insn => {
                    for r in &f.ret_sites {
                        out.push_str(&format!("  return probe: +{:#x} `{}` ({:?})\n", r.offset, r.instruction, r.cost));
                    }
                }
            }
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}

/// Resolves `functions` in process `pid` and chooses probe sites.
///
/// # Errors
/// When the process does not exist or a function is not found.
pub fn plan(pid: u32, functions: &[String], ret_mode: RetMode) -> Result<Plan, PlanError> {
    if functions.is_empty() {
        return Err(PlanError::NoFunctions);
    }
    for (i, f) in functions.iter().enumerate() {
        if functions[..i].contains(f) {
            return Err(PlanError::Duplicate(f.clone()));
        }
    }
    procfs::require_process(pid)?;
    let objects = procfs::executable_objects(pid)?;
    let mappings = procfs::maps(pid)?;
    let mut opened: HashMap<PathBuf, Option<ElfSymbols>> = HashMap::new();
    let mut plan =
        Plan { pid, functions: Vec::new(), points: Vec::new(), warnings: Vec::new(), cfg: None, layouts: Vec::new() };

    for name in functions {
        let mut found = None;
        let mut suggestions: Vec<String> = Vec::new();
        let mut stripped_main = false;
        for (i, object) in objects.iter().enumerate() {
            let elf =
                opened.entry(object.clone()).or_insert_with(|| ElfSymbols::open(attach_path(pid, object, i == 0)).ok());
            let Some(elf) = elf.as_ref() else { continue };
            match elf.lookup(name) {
                Lookup::Found(symbol) => {
                    found = Some((object.clone(), i == 0, symbol));
                    break;
                }
                Lookup::Missing { stripped, suggestions: s } => {
                    if i == 0 {
                        stripped_main = stripped;
                        suggestions.extend(s);
                    } else if suggestions.len() < 3 {
                        suggestions.extend(s.into_iter().take(1));
                    }
                }
            }
        }
        let Some((object, is_main, symbol)) = found else {
            let mut hint = String::new();
            suggestions.truncate(3);
            if !suggestions.is_empty() {
                hint.push_str(&format!("; did you mean: {}?", suggestions.join(", ")));
            }
            if stripped_main {
                hint.push_str(&format!(
                    "; note: {} is stripped (no .symtab) and its .dynsym has no `{name}`",
                    objects[0].display()
                ));
            }
            return Err(PlanError::FunctionNotFound {
                name: name.clone(),
                pid,
                searched: format!("{} and {} shared libraries", objects[0].display(), objects.len().saturating_sub(1)),
                hint,
            });
        };
        let elf = opened[&object].as_ref().expect("opened above");
        let index = plan.functions.len() as u32;
        let attach_object = attach_path(pid, &object, is_main);
        if symbol.from_dynsym {
            plan.warnings.push(format!("{name}: found in .dynsym of {} (no .symtab)", object.display()));
        }

        let signature = debug_signature(elf, &symbol.name, symbol.address);
        let (mut params, ret, has_dwarf, variadic, mut layouts) = match signature {
            Some(sig) => {
                let layouts = sig.layouts_with_return();
                (sig.params, sig.ret, true, sig.variadic, layouts)
            }
            None => {
                plan.warnings.push(format!(
                    "{name}: no DWARF in {}; arguments are recorded as the six raw argument \
                     registers and the return value as raw rax",
                    object.display()
                ));
                let params = (0..tracer_common::MAX_ARGS)
                    .map(|i| Param { name: format!("arg{i}"), ctype: CType::raw() })
                    .collect();
                (params, CType::raw(), false, false, Vec::new())
            }
        };
        layouts.resize(params.len() + 1, None);
        plan.layouts.push(layouts);
        dwarf::pair_counts(&mut params);
        let slots = dwarf::register_slots(&params, &ret);
        let mut notes = Vec::new();
        let mut arrays = ArrayReads::for_params(&params, &slots, DEFAULT_ARRAY_CAP, &mut notes);
        arrays.read_member_strings(&params, &slots, plan.layouts.last().map_or(&[][..], Vec::as_slice), &mut notes);
        // A struct returned in memory: where the hidden pointer in rdi points, read again at
        // the return (the read at entry finds what the caller left there).
        let ret_readable = plan.layouts.last().and_then(|l| l.last()).is_some_and(Option::is_some);
        let ret_in_memory = match ret.kind {
            ValueKind::StructValue { bytes, place: dwarf::StructPlace::Memory } if ret_readable => Some(bytes),
            _ => None,
        };
        if let (Some(bytes), RetMode::Uretprobe) = (ret_in_memory, ret_mode) {
            arrays.mask |= 1;
            arrays.len |= tracer_common::ARRAY_FIXED;
            arrays.count[0] = u32::from(bytes);
            arrays.out |= 1;
        }
        if ret_mode == RetMode::Insn {
            // A return probe on `ret` sees another stack pointer than a uretprobe: memory is
            // read at entry only.
            arrays.out = 0;
        }
        plan.warnings.extend(notes.into_iter().map(|n| format!("{name}: {n}")));
        for (p, slot) in params.iter().zip(&slots) {
            if slot.is_none() {
                plan.warnings.push(format!(
                    "{name}: parameter `{}` ({}) is not in an integer register; recorded as unavailable",
                    p.name, p.ctype.name
                ));
            }
        }
        match ret.kind {
            ValueKind::Float | ValueKind::Aggregate => {
                plan.warnings.push(format!("{name}: return type {} is not in rax; recorded as unavailable", ret.name));
            }
            ValueKind::StructValue { place: dwarf::StructPlace::Memory, .. }
                if ret_in_memory.is_some() && ret_mode == RetMode::Uretprobe => {}
            ValueKind::StructValue { place, .. } if place != dwarf::StructPlace::Registers => {
                plan.warnings.push(format!(
                    "{name}: {} is returned {}; recorded as unavailable",
                    ret.name,
                    match place {
                        dwarf::StructPlace::Memory if ret_mode == RetMode::Insn => {
                            "in memory, which probes on `ret` do not read (uretprobes do)"
                        }
                        dwarf::StructPlace::Memory => "in memory of a layout not read (a hidden pointer in rdi)",
                        dwarf::StructPlace::Sse => "in floating-point registers",
                        _ =>
                            "where this tracer does not model (a union or a field of unknown type), and no \
                              parameter is read",
                    }
                ));
            }
            _ => {}
        }
        let mut string_mask = 0u32;
        for (p, slot) in params.iter().zip(&slots) {
            if let (ValueKind::CString, Some(s)) = (p.ctype.kind, slot) {
                string_mask |= 1 << s;
            }
        }
        if ret.kind == ValueKind::CString {
            string_mask |= 1 << RET_SLOT;
        }

        let code = elf.function_bytes(&symbol);
        let entry_site = site::entry_site(code, symbol.address);
        let (ret_sites, tail_calls) = match ret_mode {
            RetMode::Uretprobe => (Vec::new(), Vec::new()),
            RetMode::Insn => site::ret_sites(code, symbol.address),
        };
        if ret_mode == RetMode::Insn && ret_sites.is_empty() {
            plan.warnings.push(format!("{name}: no `ret` instruction found; returns will not be seen"));
        }
        for t in &tail_calls {
            plan.warnings.push(format!(
                "{name}: tail call at +{t:#x} leaves the function without `ret`; --ret-probes insn misses those returns"
            ));
        }

        let mut add_point = |file_offset: u64, kind: EventKind, uretprobe: bool| {
            let id = plan.points.len() as u32;
            plan.points.push(ProbePoint {
                id,
                object: attach_object.clone(),
                file_offset,
                kind,
                uretprobe,
                function: index,
                string_mask,
                arrays,
            });
        };
        add_point(symbol.file_offset + entry_site.offset, EventKind::Entry, false);
        match ret_mode {
            RetMode::Uretprobe => add_point(symbol.file_offset, EventKind::Return, true),
            RetMode::Insn => {
                for r in &ret_sites {
                    add_point(symbol.file_offset + r.offset, EventKind::Return, false);
                }
            }
        }
        plan.functions.push(FunctionInfo {
            name: name.clone(),
            object: object.clone(),
            address: symbol.address,
            runtime_address: procfs::runtime_address(&mappings, &object, symbol.file_offset),
            size: symbol.size,
            params,
            ret,
            has_dwarf,
            variadic,
            entry_site,
            ret_mode,
            ret_sites: ret_sites.clone(),
        });
    }
    Ok(plan)
}

/// The path the kernel should open for `object`: the real path when it exists from here,
/// else the target's own view of it (`/proc/PID/root/...`, or `/proc/PID/exe` for the
/// main binary), which also covers deleted files and other mount namespaces.
fn attach_path(pid: u32, object: &std::path::Path, is_main: bool) -> PathBuf {
    if object.exists() {
        return object.to_path_buf();
    }
    if is_main {
        return PathBuf::from(format!("/proc/{pid}/exe"));
    }
    PathBuf::from(format!("/proc/{pid}/root")).join(object.strip_prefix("/").unwrap_or(object))
}

/// The struct layouts of a traced function's parameters, then of the struct it returns by
/// value, as [`Plan::layouts`] has them, read again from the DWARF of its object file
/// (or its debug file); empty when that cannot be read now, or when a struct's size there
/// is not the size recorded with the trace (the object was rebuilt since).
#[must_use]
pub fn layouts_of(info: &FunctionInfo) -> Vec<Option<dwarf::Layout>> {
    let kinds: Vec<ValueKind> = info.params.iter().map(|p| p.ctype.kind).chain([info.ret.kind]).collect();
    ElfSymbols::open(&info.object)
        .ok()
        .and_then(|elf| debug_signature(&elf, &info.name, info.address))
        .map(|sig| sig.layouts_with_return())
        .filter(|layouts| layouts_fit(&kinds, layouts))
        .unwrap_or_default()
}

/// Whether each layout has the size of the struct recorded in the same place (`kinds`: the
/// parameters' kinds, then the return value's).
fn layouts_fit(kinds: &[ValueKind], layouts: &[Option<dwarf::Layout>]) -> bool {
    layouts.iter().enumerate().all(|(i, layout)| {
        let Some(layout) = layout else { return true };
        match kinds.get(i) {
            Some(ValueKind::Record { bytes, .. } | ValueKind::StructValue { bytes, .. }) => {
                u32::from(*bytes) == layout.bytes
            }
            _ => false,
        }
    })
}

/// The function's signature from DWARF in the file itself, or in a separate debug file
/// found by build id under `/usr/lib/debug/.build-id/`.
fn debug_signature(elf: &ElfSymbols, name: &str, address: u64) -> Option<dwarf::Signature> {
    if let Ok(Some(sig)) = dwarf::signature(elf.data(), name, address) {
        return Some(sig);
    }
    use object::Object as _;
    let file = object::File::parse(elf.data()).ok()?;
    let id = file.build_id().ok()??;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    if hex.len() < 3 {
        return None;
    }
    let path = format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]);
    let data = std::fs::read(path).ok()?;
    dwarf::signature(&data, name, address).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::dwarf::{Layout, StructPlace};
    use super::*;

    #[test]
    fn layouts_read_again_fit_only_structs_of_the_sizes_recorded() {
        let layout = |bytes: u32| Some(Layout { name: "struct span".into(), bytes, fields: Vec::new() });
        let kinds = [
            ValueKind::Record { bytes: 12, count_param: None },
            ValueKind::Signed { bytes: 4 },
            ValueKind::StructValue { bytes: 8, place: StructPlace::Registers },
        ];
        assert!(layouts_fit(&kinds, &[layout(12), None, layout(8)]));
        assert!(layouts_fit(&kinds, &[]), "no layout read: nothing to contradict");
        // The struct grew since the trace was recorded.
        assert!(!layouts_fit(&kinds, &[layout(16), None, layout(8)]));
        // A layout where the trace recorded no struct.
        assert!(!layouts_fit(&kinds, &[layout(12), layout(4), layout(8)]));
        assert!(!layouts_fit(&kinds, &[None, None, None, layout(8)]));
    }
}
