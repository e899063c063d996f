//! The trace file: one versioned serde schema, written as JSON or bincode by extension.
use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

pub use crate::probes::{loader::OnCpu, FunctionInfo, RetMode};
use crate::{
    probes::dwarf::{CType, Param},
    procfs::ResourceSample,
};

/// Version of the trace schema; bumped on any incompatible change (3: arrays; 4: memory
/// written through a pointer argument, [`Value::Written`]; 5: structs, [`Value::Record`]).
pub const SCHEMA_VERSION: u32 = 7;

/// Schema versions [`Trace::from_bytes`] reads (older ones are converted).
pub const READABLE_VERSIONS: std::ops::RangeInclusive<u32> = 1..=SCHEMA_VERSION;

/// Errors reading or writing a trace file.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// I/O failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// JSON was malformed or did not match the schema.
    #[error("{path} is not a valid trace (JSON): {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// bincode was malformed or did not match the schema.
    #[error("{path} is not a valid trace (bincode): {source}")]
    Bincode {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: bincode::Error,
    },
    /// The file was written by an incompatible version.
    #[error("{path} has trace schema version {found}, this tracesynth reads version {SCHEMA_VERSION}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
    },
}

/// On-disk encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Pretty JSON (`.json`).
    Json,
    /// bincode (`.bin`, `.bincode`, anything else).
    Bincode,
}

impl Encoding {
    /// Chooses the encoding from a file name's extension.
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::Json,
            _ => Self::Bincode,
        }
    }
}

/// A decoded argument or return value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    Uint(u64),
    /// Boolean.
    Bool(bool),
    /// Pointer (address in the target).
    Ptr(u64),
    /// `char *` read from the target.
    Str {
        /// Address of the string.
        ptr: u64,
        /// The bytes read, lossily UTF-8 decoded (`None` when the read failed, e.g. NULL).
        value: Option<String>,
        /// The string was longer than the capture limit.
        truncated: bool,
    },
    /// No type information: the raw register.
    Raw(u64),
    /// The value could not be captured.
    Unavailable(String),
    /// The integers a pointer argument pointed to at entry.
    Array {
        /// Address of the first element.
        ptr: u64,
        /// Elements the count argument asked for (1 without one; negative as given).
        count: i64,
        /// The elements read, in order.
        items: Vec<Value>,
        /// Fewer elements were read than asked for: the per-argument byte cap.
        truncated: bool,
        /// Why nothing could be read (NULL or unmapped memory).
        fault: Option<String>,
    },
    /// Memory a pointer argument the function may write through (not `const`) pointed to,
    /// read at entry and again at the return: both [`Value::Array`]s (or both
    /// [`Value::Record`]s).
    Written {
        /// At entry.
        before: Box<Value>,
        /// At the return.
        after: Box<Value>,
    },
    /// The struct a pointer argument pointed to, or one returned in registers (address
    /// 0), decoded into its fields by its DWARF layout (nested structs as records,
    /// fixed-size arrays as arrays; pointer members are their addresses, not followed).
    Record {
        /// Address of the struct.
        ptr: u64,
        /// Its C type: `struct rect`.
        ty: String,
        /// The fields in order (none when it could not be read).
        fields: Vec<FieldValue>,
        /// Fewer bytes were read than the struct has: the per-argument byte cap.
        truncated: bool,
        /// Why nothing could be read (NULL or unmapped memory).
        fault: Option<String>,
    },
}

/// One field of a [`Value::Record`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    /// The field's name.
    pub name: String,
    /// Its C type, as DWARF spells it: `int`, `struct point`, `short int[3]`.
    pub ctype: String,
    /// Its value.
    pub value: Value,
}

impl Value {
    /// The value the function was given: for [`Value::Written`], the memory at entry.
    pub fn at_entry(&self) -> &Value {
        match self {
            Value::Written { before, .. } => before,
            v => v,
        }
    }
}

impl std::fmt::Display for Value {
    /// The value as C code would show it: `5`, `"bob"`, `0x7ffd…`, `[1, 2, 3]` (with `…`
    /// when cut short), `<why>` when it could not be read.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Uint(u) => write!(f, "{u}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Ptr(p) | Value::Raw(p) => write!(f, "{p:#x}"),
            Value::Str { value: Some(s), truncated, .. } => write!(f, "{s:?}{}", if *truncated { "…" } else { "" }),
            Value::Str { ptr, value: None, .. } => write!(f, "<unreadable {ptr:#x}>"),
            Value::Unavailable(why) => write!(f, "<{why}>"),
            Value::Written { before, after } if before == after => write!(f, "{before} (unchanged)"),
            Value::Written { before, after } => write_changes(f, before, after),
            Value::Array { fault: Some(why), .. } => write!(f, "<{why}>"),
            Value::Array { items, truncated, count, .. } => {
                // At most SHOWN elements; the rest (read or not) is counted.
                const SHOWN: usize = 16;
                f.write_str("[")?;
                for (i, v) in items.iter().take(SHOWN).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                let total = if *truncated { (*count).max(items.len() as i64) } else { items.len() as i64 };
                let rest = total - items.len().min(SHOWN) as i64;
                if rest > 0 {
                    write!(f, ", … {rest} more")?;
                }
                f.write_str("]")
            }
            Value::Record { fault: Some(why), .. } => write!(f, "<{why}>"),
            Value::Record { fields, truncated, .. } => {
                f.write_str("{")?;
                for (i, field) in fields.iter().enumerate() {
                    write!(f, "{}{}: {}", if i > 0 { ", " } else { "" }, field.name, field.value)?;
                }
                f.write_str(if *truncated { ", …}" } else { "}" })
            }
        }
    }
}

/// `before → after`; for two structs of the same fields, each field as it was, or
/// `before → after` where the call changed it: `{origin: {x: 1 → 11, y: 2}, size: ...}`.
fn write_changes(f: &mut std::fmt::Formatter<'_>, before: &Value, after: &Value) -> std::fmt::Result {
    match (before, after) {
        (Value::Record { fields: a, fault: None, .. }, Value::Record { fields: b, fault: None, .. })
            if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.name == y.name) =>
        {
            f.write_str("{")?;
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                write!(f, "{}{}: ", if i > 0 { ", " } else { "" }, x.name)?;
                if x.value == y.value {
                    write!(f, "{}", x.value)?;
                } else {
                    write_changes(f, &x.value, &y.value)?;
                }
            }
            f.write_str("}")
        }
        _ => write!(f, "{before} → {after}"),
    }
}

/// One call of a traced function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Sequence number in entry order.
    pub seq: u64,
    /// Index into [`Trace::functions`].
    pub function: u32,
    /// Thread id.
    pub tid: u32,
    /// Nesting depth among traced calls on this thread (0 = outermost).
    pub depth: u32,
    /// `seq` of the enclosing traced call on this thread.
    pub parent: Option<u64>,
    /// Entry time (CLOCK_MONOTONIC ns).
    pub entry_ns: u64,
    /// Return time; `None` when the call had not returned when recording stopped.
    pub exit_ns: Option<u64>,
    /// `exit_ns - entry_ns`.
    pub duration_ns: Option<u64>,
    /// On-CPU time during the call, when the kernel exposes it.
    pub cpu_ns: Option<u64>,
    /// Arguments, one per parameter.
    pub args: Vec<Value>,
    /// Return value (`None` for void functions or calls still running).
    pub ret: Option<Value>,
    /// Set when the call's return was not observed: it has no exit time or return value,
    /// is nobody's parent, and is left out of carving.
    #[serde(default)]
    pub incomplete: Option<Incomplete>,
}

impl Call {
    /// Whether the call was seen from entry to return.
    pub fn is_complete(&self) -> bool {
        self.incomplete.is_none()
    }
}

/// Why a call's return was not observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Incomplete {
    /// A later call or return on the same thread reused or rose above its stack frame, so
    /// it had returned unseen: its return event was dropped, it left by `longjmp` or an
    /// exception, or it returned while no return probe was attached.
    ReturnLost = 0,
    /// It had not returned when the return probes were removed (the recording ended).
    StillRunning = 1,
}

/// Events counted on both sides of the ring buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    /// Events the probes tried to emit.
    pub produced: u64,
    /// Events user space read.
    pub received: u64,
    /// Ring-buffer reservations that failed.
    pub dropped: u64,
    /// Returns seen without a matching entry (e.g. calls in flight at attach time).
    pub unmatched_returns: u64,
    /// Calls whose return was not observed (see [`Incomplete`]); they are in the trace,
    /// marked.
    #[serde(default)]
    pub incomplete_calls: u64,
}

/// Why recording stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// `--duration` elapsed.
    Duration,
    /// `--calls` calls were recorded.
    CallLimit,
    /// Ctrl-C / SIGTERM.
    Interrupted,
    /// The target process exited.
    TargetExited,
    /// Stopped by a daemon request.
    Detached,
    /// An error stopped capture (the message).
    Error(String),
}

/// A recorded trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// tracesynth version that wrote it.
    pub tracer_version: String,
    /// Target PID.
    pub pid: u32,
    /// Target executable.
    pub exe: PathBuf,
    /// Target command line.
    pub cmdline: String,
    /// Recording start, CLOCK_MONOTONIC ns.
    pub start_ns: u64,
    /// Recording end, CLOCK_MONOTONIC ns.
    pub end_ns: u64,
    /// Recording start, Unix time in ms.
    pub start_unix_ms: u64,
    /// Why recording stopped.
    pub end_reason: EndReason,
    /// Traced functions.
    pub functions: Vec<FunctionInfo>,
    /// Calls in entry order.
    pub calls: Vec<Call>,
    /// Resource samples of the target.
    pub resources: Vec<ResourceSample>,
    /// Resource sampling interval in ms.
    pub resource_interval_ms: u64,
    /// Event accounting.
    pub loss: Loss,
    /// On-CPU time availability.
    pub on_cpu: OnCpu,
    /// Warnings (missing DWARF, unsupported parameter types, ...).
    pub warnings: Vec<String>,
    /// The sampling in force over time, when an overhead budget sampled the calls (empty:
    /// every call was recorded). Schema 6 on; older traces read as empty.
    #[serde(default)]
    pub sampling: Vec<Sampling>,
    /// The minimum duration in force, when calls shorter than it were left out. Schema 7
    /// on; older traces read as none.
    #[serde(default)]
    pub min_duration: Option<MinDuration>,
}

/// Calls shorter than `ns` were left out of a recording (`record --min-duration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinDuration {
    /// The minimum, in ns.
    pub ns: u64,
    /// Calls left out as shorter, in the kernel and after it.
    pub left_out: u64,
}

/// The sampling in force from `from_ns` on, until the next change (see
/// [`crate::budget`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// CLOCK_MONOTONIC ns from which it holds.
    pub from_ns: u64,
    /// Per function: one call in this many recorded, in the kernel.
    pub sample_every: Vec<u32>,
    /// Fraction of the time the probes were attached.
    pub duty: f64,
}

/// How many calls a call of `function` entered at `entry_ns` stands for under `sampling`
/// (1 without sampling): the inverse of the fraction of calls recorded then.
#[must_use]
pub fn call_weight(sampling: &[Sampling], function: u32, entry_ns: u64) -> f64 {
    let at = sampling.partition_point(|s| s.from_ns <= entry_ns);
    let Some(s) = at.checked_sub(1).and_then(|i| sampling.get(i)) else { return 1.0 };
    let every = s.sample_every.get(function as usize).copied().unwrap_or(1).max(1);
    f64::from(every) / s.duty.clamp(1e-6, 1.0)
}

impl Trace {
    /// How many calls `call` stands for (see [`call_weight`]).
    #[must_use]
    pub fn weight(&self, call: &Call) -> f64 {
        call_weight(&self.sampling, call.function, call.entry_ns)
    }

    /// Decodes a bincode trace of any version from 2 on: schema 6 added
    /// [`Self::sampling`] and schema 7 [`Self::min_duration`], the last fields, so an older
    /// encoding gets empty ones appended.
    ///
    /// # Errors
    /// When the bytes are not a bincode trace.
    pub fn from_bincode(bytes: &[u8]) -> Result<Self, bincode::Error> {
        let version = bytes.get(..4).map_or(SCHEMA_VERSION, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        if version < 7 {
            let mut padded = bytes.to_vec();
            if version < 6 {
                // bincode writes a Vec as its u64 length and then the elements.
                padded.extend_from_slice(&0u64.to_le_bytes());
            }
            // ... and `None` as one zero byte.
            padded.push(0);
            return bincode::deserialize(&padded);
        }
        bincode::deserialize(bytes)
    }

    /// Calls of one function by index.
    pub fn calls_of(&self, function: u32) -> impl Iterator<Item = &Call> {
        self.calls.iter().filter(move |c| c.function == function)
    }

    /// Index of the function named `name`.
    pub fn function_index(&self, name: &str) -> Option<u32> {
        self.functions.iter().position(|f| f.name == name).map(|i| i as u32)
    }

    /// Writes the trace atomically (temporary file, then rename), encoding chosen by the
    /// extension of `path`.
    ///
    /// # Errors
    /// [`TraceError::Io`] when the file cannot be written.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), TraceError> {
        let path = path.as_ref();
        let bytes = self.to_bytes(Encoding::for_path(path));
        write_atomic(path, &bytes)
    }

    /// Encodes the trace.
    pub fn to_bytes(&self, encoding: Encoding) -> Vec<u8> {
        match encoding {
            Encoding::Json => serde_json::to_vec_pretty(self).expect("trace serializes"),
            Encoding::Bincode => bincode::serialize(self).expect("trace serializes"),
        }
    }

    /// Reads a trace, encoding chosen by extension (JSON is also detected by content).
    ///
    /// # Errors
    /// When the file cannot be read, is malformed, or has another schema version.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, TraceError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| TraceError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// Decodes a trace; `path` is only used in error messages.
    ///
    /// # Errors
    /// When the bytes are malformed or have another schema version.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, TraceError> {
        let looks_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let trace: Self = if looks_json {
            let version =
                serde_json::from_slice::<serde_json::Value>(bytes).ok().and_then(|v| v.get("schema_version")?.as_u64());
            if let Some(found) =
                version.filter(|v| !READABLE_VERSIONS.contains(&(*v as u32)) || *v > u64::from(u32::MAX))
            {
                return Err(TraceError::Version { path: path.into(), found: found as u32 });
            }
            serde_json::from_slice(bytes).map_err(|source| TraceError::Json { path: path.into(), source })?
        } else {
            let found = bytes.get(..4).map_or(SCHEMA_VERSION, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if !READABLE_VERSIONS.contains(&found) {
                return Err(TraceError::Version { path: path.into(), found });
            }
            let decoded = if found == 1 {
                bincode::deserialize::<v1::Trace>(bytes).map(Self::from)
            } else {
                Self::from_bincode(bytes)
            };
            decoded.map_err(|source| TraceError::Bincode { path: path.into(), source })?
        };
        Ok(Self { schema_version: SCHEMA_VERSION, ..trace })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so a reader
/// never sees a partial file.
///
/// # Errors
/// [`TraceError::Io`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TraceError> {
    let io = |action, source| TraceError::Io { action, path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("write", source));
    }
    Ok(())
}

/// Schema version 1, read and converted: calls had no [`Call::incomplete`] and the loss
/// no [`Loss::incomplete_calls`]. bincode is not self-describing, so these mirror the old
/// layout field for field.
pub mod v1 {
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::{EndReason, FunctionInfo, OnCpu, Value};
    use crate::procfs::ResourceSample;

    /// A version-1 call.
    #[derive(Deserialize, serde::Serialize)]
    pub struct Call {
        seq: u64,
        function: u32,
        tid: u32,
        depth: u32,
        parent: Option<u64>,
        entry_ns: u64,
        exit_ns: Option<u64>,
        duration_ns: Option<u64>,
        cpu_ns: Option<u64>,
        args: Vec<Value>,
        ret: Option<Value>,
    }

    impl From<Call> for super::Call {
        fn from(c: Call) -> Self {
            let Call { seq, function, tid, depth, parent, entry_ns, exit_ns, duration_ns, cpu_ns, args, ret } = c;
            Self {
                seq,
                function,
                tid,
                depth,
                parent,
                entry_ns,
                exit_ns,
                duration_ns,
                cpu_ns,
                args,
                ret,
                incomplete: None,
            }
        }
    }

    #[derive(Deserialize, serde::Serialize)]
    struct Loss {
        produced: u64,
        received: u64,
        dropped: u64,
        unmatched_returns: u64,
    }

    /// A version-1 trace.
    #[derive(Deserialize, serde::Serialize)]
    pub struct Trace {
        schema_version: u32,
        tracer_version: String,
        pid: u32,
        exe: PathBuf,
        cmdline: String,
        start_ns: u64,
        end_ns: u64,
        start_unix_ms: u64,
        end_reason: EndReason,
        functions: Vec<FunctionInfo>,
        calls: Vec<Call>,
        resources: Vec<ResourceSample>,
        resource_interval_ms: u64,
        loss: Loss,
        on_cpu: OnCpu,
        warnings: Vec<String>,
    }

    impl From<Trace> for super::Trace {
        fn from(t: Trace) -> Self {
            let Loss { produced, received, dropped, unmatched_returns } = t.loss;
            Self {
                schema_version: t.schema_version,
                tracer_version: t.tracer_version,
                pid: t.pid,
                exe: t.exe,
                cmdline: t.cmdline,
                start_ns: t.start_ns,
                end_ns: t.end_ns,
                start_unix_ms: t.start_unix_ms,
                end_reason: t.end_reason,
                functions: t.functions,
                calls: t.calls.into_iter().map(Into::into).collect(),
                resources: t.resources,
                resource_interval_ms: t.resource_interval_ms,
                loss: super::Loss { produced, received, dropped, unmatched_returns, incomplete_calls: 0 },
                on_cpu: t.on_cpu,
                warnings: t.warnings,
                sampling: Vec::new(),
                min_duration: None,
            }
        }
    }
}

impl Trace {
    /// A one-call trace of `greet("bob")` returning -1 in `/bin/demo`, for examples and tests.
    #[must_use]
    pub fn sample() -> Self {
        use crate::probes::{
            dwarf::ValueKind,
            site::{ProbeSite, SiteCost},
        };

        Self {
            schema_version: SCHEMA_VERSION,
            tracer_version: "test".into(),
            pid: 42,
            exe: "/bin/demo".into(),
            cmdline: "demo".into(),
            start_ns: 1_000,
            end_ns: 9_000,
            start_unix_ms: 0,
            end_reason: EndReason::CallLimit,
            functions: vec![FunctionInfo {
                name: "greet".into(),
                object: "/bin/demo".into(),
                address: 0x1139,
                runtime_address: Some(0x5555_5555_5139),
                size: 20,
                params: vec![Param {
                    name: "name".into(),
                    ctype: CType { name: "const char *".into(), kind: ValueKind::CString },
                }],
                ret: CType { name: "int".into(), kind: ValueKind::Signed { bytes: 4 } },
                has_dwarf: true,
                variadic: false,
                entry_site: ProbeSite {
                    offset: 0,
                    instruction: "push rbp".into(),
                    cost: SiteCost::Emulated,
                    reason: "test".into(),
                },
                ret_mode: RetMode::Uretprobe,
                ret_sites: vec![],
            }],
            calls: vec![Call {
                seq: 0,
                function: 0,
                tid: 42,
                depth: 0,
                parent: None,
                entry_ns: 2_000,
                exit_ns: Some(3_000),
                duration_ns: Some(1_000),
                cpu_ns: Some(900),
                args: vec![Value::Str { ptr: 0x10, value: Some("bob".into()), truncated: false }],
                ret: Some(Value::Int(-1)),
                incomplete: None,
            }],
            resources: vec![ResourceSample { ts_ns: 1_500, cpu_user_ns: 1, cpu_system_ns: 2, rss_bytes: 4096 }],
            resource_interval_ms: 100,
            loss: Loss { produced: 3, received: 3, dropped: 0, unmatched_returns: 0, incomplete_calls: 0 },
            on_cpu: OnCpu { available: true, detail: "test".into() },
            warnings: vec![],
            sampling: Vec::new(),
            min_duration: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_json_and_bincode() {
        let dir = tempfile::tempdir().unwrap();
        let trace = Trace::sample();
        for name in ["t.json", "t.bin"] {
            let path = dir.path().join(name);
            trace.write(&path).unwrap();
            assert_eq!(Trace::read(&path).unwrap(), trace);
        }
        let json = std::fs::read_to_string(dir.path().join("t.json")).unwrap();
        assert!(json.contains("\"schema_version\": 7"));
    }

    #[test]
    fn sampled_traces_weigh_calls_and_version_5_traces_still_load() {
        let mut trace = Trace::sample();
        let entry = trace.calls[0].entry_ns;
        trace.sampling = vec![
            Sampling { from_ns: entry - 10, sample_every: vec![4], duty: 1.0 },
            Sampling { from_ns: entry + 10, sample_every: vec![1], duty: 0.25 },
        ];
        assert_eq!(trace.weight(&trace.calls[0]), 4.0);
        assert_eq!(call_weight(&trace.sampling, 0, entry + 20), 4.0);
        assert_eq!(call_weight(&trace.sampling, 0, entry - 20), 1.0, "before any sampling");
        assert_eq!(call_weight(&[], 0, entry), 1.0);
        let bytes = trace.to_bytes(Encoding::Bincode);
        assert_eq!(Trace::from_bytes(&bytes, Path::new("s.bin")).unwrap(), trace);
        // Schema 5 had no sampling and 6 no minimum duration: their bincode ends where
        // those now begin.
        let old = Trace { schema_version: 5, ..Trace::sample() };
        let mut bytes = bincode::serialize(&old).unwrap();
        bytes.truncate(bytes.len() - 9);
        assert_eq!(Trace::from_bytes(&bytes, Path::new("v5.bin")).unwrap(), Trace::sample());
        let old = Trace { schema_version: 6, ..trace.clone() };
        let mut bytes = bincode::serialize(&old).unwrap();
        bytes.truncate(bytes.len() - 1);
        assert_eq!(Trace::from_bytes(&bytes, Path::new("v6.bin")).unwrap(), trace);
        let filtered = Trace { min_duration: Some(MinDuration { ns: 50_000, left_out: 7 }), ..trace };
        let bytes = filtered.to_bytes(Encoding::Bincode);
        assert_eq!(Trace::from_bytes(&bytes, Path::new("s.bin")).unwrap(), filtered);
    }

    #[test]
    fn arrays_round_trip_and_version_2_traces_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut trace = Trace::sample();
        trace.calls[0].args[0] = Value::Array {
            ptr: 0x1000,
            count: 3,
            items: vec![Value::Int(1), Value::Int(-2)],
            truncated: true,
            fault: None,
        };
        for name in ["a.json", "a.bin"] {
            let path = dir.path().join(name);
            trace.write(&path).unwrap();
            assert_eq!(Trace::read(&path).unwrap(), trace);
        }
        assert_eq!(trace.calls[0].args[0].to_string(), "[1, -2, … 1 more]");
        // Memory written through a pointer: before and after, both kept.
        let array = |items: Vec<i64>| Value::Array {
            ptr: 0x2000,
            count: items.len() as i64,
            items: items.into_iter().map(Value::Int).collect(),
            truncated: false,
            fault: None,
        };
        trace.calls[0].args[0] =
            Value::Written { before: Box::new(array(vec![1, 2])), after: Box::new(array(vec![2, 4])) };
        for name in ["w.json", "w.bin"] {
            let path = dir.path().join(name);
            trace.write(&path).unwrap();
            assert_eq!(Trace::read(&path).unwrap(), trace);
        }
        assert_eq!(trace.calls[0].args[0].to_string(), "[1, 2] → [2, 4]");
        assert_eq!(trace.calls[0].args[0].at_entry().to_string(), "[1, 2]");
        let long = Value::Array {
            ptr: 8,
            count: 2000,
            items: (0..1024).map(Value::Int).collect(),
            truncated: true,
            fault: None,
        };
        assert_eq!(
            long.to_string(),
            format!("[{}, … 1984 more]", (0..16).map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
        );
        // A version-2 trace (no arrays) reads as it is, in both encodings.
        let old = Trace { schema_version: 2, ..Trace::sample() };
        let json = dir.path().join("v2.json");
        std::fs::write(&json, serde_json::to_vec(&old).unwrap()).unwrap();
        let bin = dir.path().join("v2.bin");
        let mut bytes = bincode::serialize(&old).unwrap();
        // Without the (empty) sampling of schema 6 and minimum duration of schema 7.
        bytes.truncate(bytes.len() - 9);
        std::fs::write(&bin, bytes).unwrap();
        for path in [json, bin] {
            assert_eq!(Trace::read(&path).unwrap(), Trace::sample());
        }
    }

    #[test]
    fn version_1_traces_still_load_in_json_and_bincode() {
        let trace = Trace::sample();
        let mut old = serde_json::to_value(&trace).unwrap();
        old["schema_version"] = 1.into();
        old["loss"].as_object_mut().unwrap().remove("incomplete_calls");
        for c in old["calls"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("incomplete");
        }
        let json = serde_json::to_vec(&old).unwrap();
        assert_eq!(Trace::from_bytes(&json, Path::new("old.json")).unwrap(), trace);
        let v1: v1::Trace = serde_json::from_value(old).unwrap();
        let bin = bincode::serialize(&v1).unwrap();
        assert_eq!(Trace::from_bytes(&bin, Path::new("old.bin")).unwrap(), trace);
    }

    #[test]
    fn rejects_malformed_and_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{\"schema_version\": 1, \"pid\": ").unwrap();
        assert!(matches!(Trace::read(&bad), Err(TraceError::Json { .. })));
        let future = dir.path().join("future.json");
        std::fs::write(&future, b"{\"schema_version\": 99}").unwrap();
        let err = Trace::read(&future).unwrap_err();
        assert!(err.to_string().contains("version 99"), "{err}");
        let junk = dir.path().join("junk.bin");
        std::fs::write(&junk, [1u8, 0, 0, 0, 255, 255]).unwrap();
        assert!(matches!(Trace::read(&junk), Err(TraceError::Bincode { .. })));
    }
}
