//! Loading the eBPF programs and attaching a [`Plan`]'s probe points.
use std::{num::NonZeroU32, path::PathBuf};

use aya::{
    maps::{Array, MapData, PerCpuArray, RingBuf},
    programs::{
        uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeLinkId, UProbeScope},
        UProbe,
    },
    Ebpf, EbpfLoader,
};
use tracer_common::{
    EventKind, ProbeConfig, COUNTER_DROPPED, COUNTER_FILTERED, COUNTER_PRODUCED, COUNTER_SAMPLED_OUT, FLAG_URETPROBE,
    MAX_FIELD_STRINGS, MAX_PROBES,
};

use serde::{Deserialize, Serialize};

use super::{Plan, ProbePoint};

/// The eBPF object built by `build.rs`.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tracer"));

/// Whether per-call on-CPU time is available.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCpu {
    /// Available.
    pub available: bool,
    /// How it is measured, or why it is not.
    pub detail: String,
}

/// Errors loading or attaching probes.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The caller lacks the privileges to load eBPF programs.
    #[error(
        "permission denied: attaching uprobes needs root, or CAP_BPF and CAP_PERFMON \
         (running as uid {uid})"
    )]
    NotPermitted {
        /// Effective uid.
        uid: u32,
    },
    /// The plan has more probe points than the `PROBES` map holds.
    #[error("too many probe points ({0}); the limit is {MAX_PROBES}")]
    TooManyProbes(usize),
    /// The kernel has no usable BTF: the probes read the task's on-CPU time through it.
    #[error("kernel BTF is required (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): {0}")]
    NoBtf(String),
    /// The kernel or aya rejected the object.
    #[error("cannot load the eBPF programs: {0}")]
    Load(#[from] aya::EbpfError),
    /// A map or program is missing from the object.
    #[error("the eBPF object has no {0}")]
    Missing(&'static str),
    /// A map operation failed.
    #[error("eBPF map error: {0}")]
    Map(#[from] aya::maps::MapError),
    /// A program operation failed.
    #[error("eBPF program error: {0}")]
    Program(#[from] aya::programs::ProgramError),
    /// A probe would land on another session's fast-entry jump.
    #[error("{0}")]
    Patched(String),
    /// Attaching one probe point failed.
    #[error("cannot attach a uprobe to {object}:{offset:#x}: {source}")]
    Attach {
        /// ELF file.
        object: PathBuf,
        /// File offset.
        offset: u64,
        /// Cause.
        #[source]
        source: aya::programs::ProgramError,
    },
}

/// Most threads that remove probes at once.
const DETACH_THREADS: usize = 16;

/// Checks that this process may load eBPF programs and attach uprobes.
///
/// # Errors
/// [`LoadError::NotPermitted`].
pub fn check_permissions() -> Result<(), LoadError> {
    let uid = rustix::process::geteuid();
    if uid.is_root() {
        return Ok(());
    }
    let has = |cap| crate::procfs::has_capability("self", cap);
    if has(crate::procfs::CAP_BPF) && has(crate::procfs::CAP_PERFMON) {
        Ok(())
    } else {
        Err(LoadError::NotPermitted { uid: uid.as_raw() })
    }
}

/// Offsets of `task_struct.se.sum_exec_runtime` and `task_struct.se.exec_start` from the
/// kernel's BTF, for per-call on-CPU time.
pub fn on_cpu_offsets() -> Result<(u64, u64), String> {
    let btf = btf_rs::Btf::from_file("/sys/kernel/btf/vmlinux")
        .map_err(|e| format!("cannot read /sys/kernel/btf/vmlinux: {e}"))?;
    let member_offset = |strukt: &str, member: &str| -> Result<(u64, Option<btf_rs::Type>), String> {
        let types = btf.resolve_types_by_name(strukt).map_err(|e| format!("BTF has no {strukt}: {e}"))?;
        for t in types {
            if let btf_rs::Type::Struct(s) = t {
                for m in &s.members {
                    if btf.resolve_name(m).ok().as_deref() == Some(member) {
                        let ty = btf.resolve_chained_type(m).ok();
                        return Ok((u64::from(m.bit_offset() / 8), ty));
                    }
                }
            }
        }
        Err(format!("BTF struct {strukt} has no member {member}"))
    };
    let (se, _) = member_offset("task_struct", "se")?;
    let (sum, _) = member_offset("sched_entity", "sum_exec_runtime")?;
    let (start, _) = member_offset("sched_entity", "exec_start")?;
    Ok((se + sum, se + start))
}

/// Loaded programs with attached probes.
pub struct Attached {
    ebpf: Ebpf,
    /// The plan's points, to attach again after [`Self::pause`].
    points: Vec<ProbePoint>,
    /// Which processes the probes fire in.
    scope: UProbeScope,
    /// In-kernel sampling per function: one call in this many recorded (1: every call).
    sample_every: Vec<u32>,
    /// Whether the functions have ever been sampled (their returns then check for skipped
    /// entries).
    sampled: Vec<bool>,
    /// Calls shorter than this many ns are left out (0: none).
    min_duration_ns: u64,
    /// Entry, block and whole-call probes.
    entry_links: Vec<UProbeLinkId>,
    /// Their probe ids.
    entry_ids: Vec<u32>,
    /// Return probes (uretprobes and `ret`-instruction uprobes), with their program.
    ret_links: Vec<(&'static str, UProbeLinkId)>,
    counters: PerCpuArray<MapData, u64>,
    hits: PerCpuArray<MapData, u64>,
    /// On-CPU time availability.
    pub on_cpu: OnCpu,
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attached")
            .field("entry_links", &self.entry_links.len())
            .field("ret_links", &self.ret_links.len())
            .field("sample_every", &self.sample_every)
            .field("on_cpu", &self.on_cpu)
            .finish_non_exhaustive()
    }
}

/// Loads the eBPF programs, fills the probe configuration and attaches every point of
/// `plan`. Returns the attached programs and the event ring buffer.
///
/// # Errors
/// On missing privileges, load or attach failures (already attached points are detached).
pub fn attach(plan: &Plan, ring_bytes: u32) -> Result<(Attached, RingBuf<MapData>), LoadError> {
    attach_filtered(plan, ring_bytes, KernelFilters::default())
}

/// What the probe programs leave out before building any event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelFilters {
    /// Record one call in this many of each function from the first (0 and 1: every
    /// call; [`Attached::set_sample_every`] changes it later).
    pub sample_every: u32,
    /// Leave out calls shorter than this many ns (0: none). Entries that read only
    /// registers are held in the kernel until their return; the calls of functions that
    /// read memory at entry arrive whole and are left out in user space.
    pub min_duration_ns: u64,
}

/// [`attach`] with `filters` applied in the kernel.
///
/// # Errors
/// As [`attach`].
pub fn attach_filtered(
    plan: &Plan,
    ring_bytes: u32,
    filters: KernelFilters,
) -> Result<(Attached, RingBuf<MapData>), LoadError> {
    let sample_every = filters.sample_every;
    check_permissions()?;
    crate::probes::patched::check_not_patched(plan).map_err(LoadError::Patched)?;
    if plan.points.len() > MAX_PROBES as usize {
        return Err(LoadError::TooManyProbes(plan.points.len()));
    }
    // The programs type the current task through kernel BTF (direct field loads, ~100 ns
    // cheaper per event than bpf_probe_read_kernel), so they do not verify without it.
    let (sum_off, start_off) = on_cpu_offsets().map_err(LoadError::NoBtf)?;
    let on_cpu = OnCpu {
        available: true,
        detail: "task_struct.se.sum_exec_runtime + time since exec_start (offsets from kernel BTF)".into(),
    };
    let mut ebpf = EbpfLoader::new()
        .override_global("SUM_EXEC_RUNTIME_OFF", &sum_off, true)
        .override_global("EXEC_START_OFF", &start_off, true)
        .map_max_entries("EVENTS", ring_bytes)
        .load(EBPF_OBJECT)?;

    let counters: PerCpuArray<MapData, u64> =
        PerCpuArray::try_from(ebpf.take_map("COUNTERS").ok_or(LoadError::Missing("COUNTERS map"))?)?;
    let hits: PerCpuArray<MapData, u64> =
        PerCpuArray::try_from(ebpf.take_map("HITS").ok_or(LoadError::Missing("HITS map"))?)?;
    let ring = RingBuf::try_from(ebpf.take_map("EVENTS").ok_or(LoadError::Missing("EVENTS map"))?)?;

    for name in ["tracesynth_probe", "tracesynth_retprobe"] {
        let program: &mut UProbe = ebpf.program_mut(name).ok_or(LoadError::Missing("probe program"))?.try_into()?;
        program.load()?;
    }
    let pid = NonZeroU32::new(plan.pid);
    let mut attached = Attached {
        ebpf,
        points: plan.points.clone(),
        scope: pid.map_or(UProbeScope::AllProcesses, UProbeScope::OneProcess),
        sample_every: vec![sample_every.max(1); plan.functions.len()],
        sampled: vec![sample_every > 1; plan.functions.len()],
        min_duration_ns: filters.min_duration_ns,
        entry_links: Vec::new(),
        entry_ids: Vec::new(),
        ret_links: Vec::new(),
        counters,
        hits,
        on_cpu,
    };
    attached.write_configs(|_| true)?;
    if let Err(e) = attached.attach_points() {
        attached.detach();
        return Err(e);
    }
    Ok((attached, ring))
}

impl Attached {
    /// What the probe programs are told about `p`: what to read, and the sampling in force
    /// for its function.
    fn config(&self, p: &ProbePoint) -> ProbeConfig {
        let f = p.function as usize;
        let sample_every = match p.kind {
            EventKind::Return => u32::from(self.sampled.get(f).copied().unwrap_or(false)),
            EventKind::Entry | EventKind::Call => self.sample_every.get(f).copied().unwrap_or(1),
            EventKind::Block => 0,
        };
        // Whole calls are timed in TSC ticks.
        let min_duration = match p.kind {
            EventKind::Entry | EventKind::Return => self.min_duration_ns,
            EventKind::Call if self.min_duration_ns > 0 => {
                ((self.min_duration_ns as f64 / crate::tsc::ns_per_tick()).ceil() as u64).max(1)
            }
            EventKind::Call | EventKind::Block => 0,
        };
        let mut config = ProbeConfig {
            kind: p.kind as u32,
            string_mask: p.string_mask,
            array_mask: p.arrays.mask,
            array_len: p.arrays.len,
            array_elem: p.arrays.elem,
            array_cap: p.arrays.cap,
            array_out: p.arrays.out,
            array_count: p.arrays.count,
            sample_every,
            flags: if p.uretprobe { FLAG_URETPROBE } else { 0 },
            field_strings: if p.kind == EventKind::Entry { p.arrays.field_strings } else { [0; MAX_FIELD_STRINGS] },
            min_duration: [0; 2],
        };
        config.set_min_duration(min_duration);
        config
    }

    /// Writes the configuration of the points `which` selects into the `PROBES` map.
    fn write_configs(&mut self, which: impl Fn(&ProbePoint) -> bool) -> Result<(), LoadError> {
        let configs: Vec<(u32, ProbeConfig)> =
            self.points.iter().filter(|p| which(p)).map(|p| (p.id, self.config(p))).collect();
        let mut probes: Array<_, ProbeConfig> =
            Array::try_from(self.ebpf.map_mut("PROBES").ok_or(LoadError::Missing("PROBES map"))?)?;
        for (id, config) in configs {
            probes.set(id, config, 0)?;
        }
        Ok(())
    }

    /// Attaches every point, return probes first: an entry seen before its function's
    /// return probe is in place would stay open forever.
    fn attach_points(&mut self) -> Result<(), LoadError> {
        let is_return = |p: &&ProbePoint| p.kind == EventKind::Return;
        let points = std::mem::take(&mut self.points);
        let result = (|| {
            for p in points.iter().filter(is_return).chain(points.iter().filter(|p| !is_return(p))) {
                let name = if p.uretprobe { "tracesynth_retprobe" } else { "tracesynth_probe" };
                let program: &mut UProbe =
                    self.ebpf.program_mut(name).ok_or(LoadError::Missing("probe program"))?.try_into()?;
                let point = UProbeAttachPoint {
                    location: UProbeAttachLocation::AbsoluteOffset(p.file_offset),
                    cookie: Some(u64::from(p.id)),
                };
                let link = program.attach(point, &p.object, self.scope).map_err(|source| LoadError::Attach {
                    object: p.object.clone(),
                    offset: p.file_offset,
                    source,
                })?;
                if p.kind == EventKind::Return {
                    self.ret_links.push((name, link));
                } else {
                    self.entry_links.push(link);
                    self.entry_ids.push(p.id);
                }
            }
            Ok(())
        })();
        self.points = points;
        result
    }

    /// Sets the in-kernel sampling of function `function` (an index into the plan's
    /// functions): one call in `every` per CPU is recorded from now on, the others are
    /// skipped before any event is built (their entry and return both).
    ///
    /// # Errors
    /// When the probe configuration map cannot be written.
    pub fn set_sample_every(&mut self, function: u32, every: u32) -> Result<(), LoadError> {
        let f = function as usize;
        if f >= self.sample_every.len() {
            return Ok(());
        }
        self.sample_every[f] = every.max(1);
        let newly_sampled = every > 1 && !self.sampled[f];
        self.sampled[f] |= every > 1;
        // Returns first: a return must know to check for skipped entries before any is skipped.
        if newly_sampled {
            self.write_configs(|p| p.function == function && p.kind == EventKind::Return)?;
        }
        if self.entry_links.is_empty() {
            // Paused: the configuration is written when the probes are attached again.
            return Ok(());
        }
        self.write_configs(|p| p.function == function && matches!(p.kind, EventKind::Entry | EventKind::Call))
    }

    /// The sampling in force per function (1: every call).
    pub fn sample_every(&self) -> &[u32] {
        &self.sample_every
    }

    /// Removes every probe (after [`Self::switch_entries_off`] and a wait for the calls in
    /// flight), keeping the programs and maps loaded: the target then runs at full speed.
    /// The return probes are switched off first, so the returns of calls still in flight
    /// emit nothing while the probes are removed (those calls are lost).
    pub fn pause(&mut self) {
        let returns: Vec<u32> = self.points.iter().filter(|p| p.kind == EventKind::Return).map(|p| p.id).collect();
        if let Err(e) = self.switch_off(&returns) {
            tracing::debug!(error = %e, "cannot switch the return probes off; removing them as they are");
        }
        self.detach();
    }

    /// Attaches every probe again after [`Self::pause`], with the sampling in force.
    ///
    /// # Errors
    /// When writing the configuration or attaching fails; whatever was attached is removed.
    pub fn resume(&mut self) -> Result<(), LoadError> {
        self.write_configs(|_| true)?;
        let result = self.attach_points();
        if result.is_err() {
            self.detach();
        }
        result
    }

    /// Hits per probe point since the probes were loaded, in the plan's point order: every
    /// time the kernel ran a probe, sampled out or not.
    pub fn hits(&self) -> Vec<u64> {
        self.points
            .iter()
            .map(|p| self.hits.get(&p.id, 0).map(|values| values.iter().sum::<u64>()).unwrap_or(0))
            .collect()
    }

    /// Calls skipped by in-kernel sampling, summed over CPUs.
    pub fn sampled_out(&self) -> u64 {
        self.counter_total(COUNTER_SAMPLED_OUT)
    }

    /// Calls the kernel left out as shorter than the minimum duration.
    #[must_use]
    pub fn filtered_short(&self) -> u64 {
        self.counter_total(COUNTER_FILTERED)
    }

    /// Counter `index` of the `COUNTERS` map, summed over CPUs (0 when unreadable).
    fn counter_total(&self, index: u32) -> u64 {
        self.counters.get(&index, 0).map(|values| values.iter().sum::<u64>()).unwrap_or(0)
    }

    /// Detaches every probe: entry (and block and `ret`-instruction) probes first, then
    /// the uretprobes. A recording that wants the returns of the calls in flight calls
    /// [`Self::detach_entries`], waits for them, then this.
    pub fn detach(&mut self) {
        self.detach_entries();
        let (uretprobes, ret_insns): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.ret_links).into_iter().partition(|(program, _)| *program == "tracesynth_retprobe");
        self.detach_links("tracesynth_retprobe", uretprobes.into_iter().map(|(_, l)| l).collect());
        self.detach_links("tracesynth_probe", ret_insns.into_iter().map(|(_, l)| l).collect());
    }

    /// Switches the entry, block and whole-call probes off at once (they emit nothing from
    /// now on; removing them takes much longer), leaving the return probes on, so calls in
    /// flight still report their returns and no new call is seen starting.
    ///
    /// # Errors
    /// When the probe configuration map cannot be written; the probes stay on.
    pub fn switch_entries_off(&mut self) -> Result<(), LoadError> {
        let ids = self.entry_ids.clone();
        self.switch_off(&ids)
    }

    /// Switches the probes `ids` off: they emit nothing from now on.
    fn switch_off(&mut self, ids: &[u32]) -> Result<(), LoadError> {
        let mut probes: Array<_, ProbeConfig> =
            Array::try_from(self.ebpf.map_mut("PROBES").ok_or(LoadError::Missing("PROBES map"))?)?;
        for id in ids {
            probes.set(*id, ProbeConfig::default(), 0)?;
        }
        Ok(())
    }

    /// Detaches the entry, block and whole-call probes, leaving the return probes.
    pub fn detach_entries(&mut self) {
        let links = std::mem::take(&mut self.entry_links);
        self.detach_links("tracesynth_probe", links);
    }

    /// Detaches `links` of `program`. The kernel waits for an RCU grace period per removed
    /// uprobe, which is slow in a VM; removals on separate threads overlap some of it.
    fn detach_links(&mut self, program: &str, links: Vec<UProbeLinkId>) {
        let Some(program) = self.ebpf.program_mut(program) else { return };
        let Ok(program) = <&mut UProbe>::try_from(program) else { return };
        let mut owned = Vec::with_capacity(links.len());
        for link in links {
            match program.take_link(link) {
                Ok(link) => owned.push(link),
                Err(e) => tracing::debug!(error = %e, "detach failed (target may have exited)"),
            }
        }
        let per_thread = owned.len().div_ceil(DETACH_THREADS).max(1);
        std::thread::scope(|scope| {
            while !owned.is_empty() {
                let chunk: Vec<_> = owned.drain(..per_thread.min(owned.len())).collect();
                // Dropping a link detaches it.
                scope.spawn(move || drop(chunk));
            }
        });
    }

    /// Events produced and dropped, summed over CPUs.
    pub fn counters(&self) -> (u64, u64) {
        (self.counter_total(COUNTER_PRODUCED), self.counter_total(COUNTER_DROPPED))
    }

    /// Dropped events per CPU.
    pub fn dropped_per_cpu(&self) -> Vec<u64> {
        self.counters.get(&COUNTER_DROPPED, 0).map(|values| values.iter().copied().collect()).unwrap_or_default()
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.detach();
    }
}
