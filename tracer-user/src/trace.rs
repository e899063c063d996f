//! The trace file: one versioned serde schema, written as JSON or bincode by extension.
use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    probes::{dwarf::{CType, Param}, site::ProbeSite},
    procfs::ResourceSample,
};

/// Version of the trace schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

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
}

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

/// Whether per-call on-CPU time is available.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCpu {
    /// Available.
    pub available: bool,
    /// How it is measured, or why it is not.
    pub detail: String,
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
}

impl Trace {
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
            let version = serde_json::from_slice::<serde_json::Value>(bytes)
                .ok()
                .and_then(|v| v.get("schema_version")?.as_u64());
            if let Some(found) = version.filter(|v| *v != u64::from(SCHEMA_VERSION)) {
                return Err(TraceError::Version { path: path.into(), found: found as u32 });
            }
            serde_json::from_slice(bytes)
                .map_err(|source| TraceError::Json { path: path.into(), source })?
        } else {
            if let Some(found) = bytes.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) {
                if found != SCHEMA_VERSION {
                    return Err(TraceError::Version { path: path.into(), found });
                }
            }
            bincode::deserialize(bytes)
                .map_err(|source| TraceError::Bincode { path: path.into(), source })?
        };
        Ok(trace)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::probes::{dwarf::ValueKind, site::SiteCost};

    pub(crate) fn sample_trace() -> Trace {
        Trace {
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
            }],
            resources: vec![ResourceSample { ts_ns: 1_500, cpu_user_ns: 1, cpu_system_ns: 2, rss_bytes: 4096 }],
            resource_interval_ms: 100,
            loss: Loss { produced: 3, received: 3, dropped: 0, unmatched_returns: 0 },
            on_cpu: OnCpu { available: true, detail: "test".into() },
            warnings: vec![],
        }
    }

    #[test]
    fn round_trips_json_and_bincode() {
        let dir = tempfile::tempdir().unwrap();
        let trace = sample_trace();
        for name in ["t.json", "t.bin"] {
            let path = dir.path().join(name);
            trace.write(&path).unwrap();
            assert_eq!(Trace::read(&path).unwrap(), trace);
        }
        let json = std::fs::read_to_string(dir.path().join("t.json")).unwrap();
        assert!(json.contains("\"schema_version\": 1"));
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
