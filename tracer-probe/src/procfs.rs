//! What tracesynth reads about a target process from `/proc`.
use std::{
    fs,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Errors reading `/proc/PID`.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The PID names no process.
    #[error("no process with PID {pid}")]
    NoSuchProcess {
        /// The PID that was asked for.
        pid: u32,
    },
    /// A `/proc` file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `/proc` file had an unexpected shape.
    #[error("unexpected contents in {path}")]
    Parse {
        /// The file.
        path: PathBuf,
    },
}

/// One line of `/proc/PID/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// First address of the mapping.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Permissions, e.g. `r-xp`.
    pub perms: String,
    /// File offset of `start`.
    pub offset: u64,
    /// Mapped file, if any.
    pub path: Option<PathBuf>,
    /// The path or pseudo name (`[heap]`, `[stack]`, `[vdso]`, `[uprobes]`); empty for an
    /// anonymous mapping.
    pub name: String,
}

impl Mapping {
    /// Whether the mapping is executable.
    pub fn is_exec(&self) -> bool {
        self.perms.as_bytes().get(2) == Some(&b'x')
    }
}

/// `CAP_SYS_PTRACE` (linux/capability.h).
pub const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_PERFMON`.
pub const CAP_PERFMON: u32 = 38;
/// `CAP_BPF`.
pub const CAP_BPF: u32 = 39;

/// The value of `field` (e.g. `CapEff`) in `/proc/PID/status`, trimmed; `pid` may be
/// `self`.
pub fn status_field(pid: &str, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).map(|v| v.trim().to_owned())
}

/// Whether process `pid` (or `self`) has capability `cap` in its effective set (root
/// included: its set is full); `false` when the status cannot be read.
pub fn has_capability(pid: &str, cap: u32) -> bool {
    status_field(pid, "CapEff")
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .is_some_and(|caps| caps & (1 << cap) != 0)
}

/// Whether a process with this PID exists (zombies count as gone).
pub fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(stat_state(&stat), Some('Z' | 'X')),
        Err(_) => false,
    }
}

fn stat_state(stat: &str) -> Option<char> {
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Checks that `pid` names a live process.
///
/// # Errors
/// [`ProcError::NoSuchProcess`] when it does not.
pub fn require_process(pid: u32) -> Result<(), ProcError> {
    if pid == 0 || !process_alive(pid) {
        return Err(ProcError::NoSuchProcess { pid });
    }
    Ok(())
}

/// The executable of a process (target of `/proc/PID/exe`).
///
/// # Errors
/// When the process does not exist or the link cannot be read.
pub fn exe(pid: u32) -> Result<PathBuf, ProcError> {
    let link = PathBuf::from(format!("/proc/{pid}/exe"));
    fs::read_link(&link).map_err(|source| {
        if process_alive(pid) {
            ProcError::Read { path: link, source }
        } else {
            ProcError::NoSuchProcess { pid }
        }
    })
}

/// The command line of a process, arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Parses `/proc/PID/maps`.
///
/// # Errors
/// When the process does not exist or the file cannot be parsed.
pub fn maps(pid: u32) -> Result<Vec<Mapping>, ProcError> {
    let path = PathBuf::from(format!("/proc/{pid}/maps"));
    let text = fs::read_to_string(&path).map_err(|source| {
        if process_alive(pid) {
            ProcError::Read { path: path.clone(), source }
        } else {
            ProcError::NoSuchProcess { pid }
        }
    })?;
    text.lines().map(|line| parse_maps_line(line).ok_or_else(|| ProcError::Parse { path: path.clone() })).collect()
}

fn parse_maps_line(line: &str) -> Option<Mapping> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    let perms = fields.next()?.to_owned();
    let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
    let _dev = fields.next()?;
    let _inode = fields.next()?;
    let name = fields.next().map(str::trim_start).unwrap_or_default().to_owned();
    let path = Some(&name).filter(|p| p.starts_with('/')).map(PathBuf::from);
    let (start, end) = range.split_once('-')?;
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        offset,
        path,
        name,
    })
}

/// Files mapped executable into the process, main binary first, without duplicates.
///
/// # Errors
/// As [`maps`] and [`exe`].
pub fn executable_objects(pid: u32) -> Result<Vec<PathBuf>, ProcError> {
    let main = exe(pid)?;
    let mut objects = vec![main];
    for mapping in maps(pid)? {
        let exec = mapping.is_exec();
        if let Some(path) = mapping.path.filter(|_| exec) {
            if !objects.contains(&path) {
                objects.push(path);
            }
        }
    }
    Ok(objects)
}

/// Run-time address of a file offset of `object` in the process, from its mappings
/// (accounts for the PIE / shared-library load bias).
pub fn runtime_address(mappings: &[Mapping], object: &Path, file_offset: u64) -> Option<u64> {
    mappings.iter().find_map(|m| {
        let same = m.path.as_deref() == Some(object);
        let size = m.end - m.start;
        (same && file_offset >= m.offset && file_offset < m.offset + size).then(|| m.start + (file_offset - m.offset))
    })
}

/// One sample of a process's resource use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSample {
    /// CLOCK_MONOTONIC time of the sample in ns (same clock as event timestamps).
    pub ts_ns: u64,
    /// User CPU time of the process in ns.
    pub cpu_user_ns: u64,
    /// System CPU time of the process in ns.
    pub cpu_system_ns: u64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

/// Samples CPU time and RSS of `pid`.
///
/// # Errors
/// When the process is gone or its files cannot be parsed.
pub fn sample(pid: u32) -> Result<ResourceSample, ProcError> {
    let stat_path = PathBuf::from(format!("/proc/{pid}/stat"));
    let stat = fs::read_to_string(&stat_path).map_err(|_| ProcError::NoSuchProcess { pid })?;
    let statm_path = PathBuf::from(format!("/proc/{pid}/statm"));
    let statm = fs::read_to_string(&statm_path).map_err(|_| ProcError::NoSuchProcess { pid })?;
    let ts_ns = monotonic_ns();
    // Fields after the command name: state is field 3; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| ProcError::Parse { path: stat_path.clone() })?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64, ProcError> {
        fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or_else(|| ProcError::Parse { path: stat_path.clone() })
    };
    let tick_ns = 1_000_000_000 / rustix::param::clock_ticks_per_second();
    let rss_pages = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse::<u64>().ok())
        .ok_or(ProcError::Parse { path: statm_path })?;
    Ok(ResourceSample {
        ts_ns,
        cpu_user_ns: ticks(11)? * tick_ns,
        cpu_system_ns: ticks(12)? * tick_ns,
        rss_bytes: rss_pages * rustix::param::page_size() as u64,
    })
}

/// On-CPU time of every thread of `pid` in ns, from `/proc/PID/task/*/schedstat` (exact,
/// unlike the clock ticks of `/proc/PID/stat`). Threads that exited are not counted.
///
/// # Errors
/// [`ProcError::NoSuchProcess`] when the process is gone.
pub fn cpu_ns(pid: u32) -> Result<u64, ProcError> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).map_err(|_| ProcError::NoSuchProcess { pid })?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let Ok(schedstat) = fs::read_to_string(task.path().join("schedstat")) else { continue };
        total += schedstat.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(total)
}

/// CLOCK_MONOTONIC in ns, the clock of `bpf_ktime_get_ns()`.
pub fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_lines() {
        let m = parse_maps_line("55d0c0a00000-55d0c0a01000 r-xp 00001000 fe:01 1234   /usr/bin/demo prog").unwrap();
        assert_eq!(m.start, 0x55d0_c0a0_0000);
        assert_eq!(m.offset, 0x1000);
        assert!(m.is_exec());
        assert_eq!(m.path.as_deref(), Some(Path::new("/usr/bin/demo prog")));
        let anon = parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]").unwrap();
        assert_eq!(anon.path, None);
        assert_eq!(anon.name, "[stack]");
        assert!(!anon.is_exec());
        let unnamed = parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0").unwrap();
        assert_eq!(unnamed.name, "");
    }

    #[test]
    fn runtime_address_applies_load_bias() {
        let maps = vec![Mapping {
            start: 0x5000_1000,
            end: 0x5000_3000,
            perms: "r-xp".into(),
            offset: 0x1000,
            path: Some("/bin/x".into()),
            name: "/bin/x".into(),
        }];
        assert_eq!(runtime_address(&maps, Path::new("/bin/x"), 0x1234), Some(0x5000_1234));
        assert_eq!(runtime_address(&maps, Path::new("/bin/x"), 0x9000), None);
    }

    #[test]
    fn samples_this_process() {
        let me = std::process::id();
        assert!(process_alive(me));
        let s = sample(me).unwrap();
        assert!(s.rss_bytes > 0);
        assert!(matches!(require_process(u32::MAX - 1), Err(ProcError::NoSuchProcess { .. })));
    }
}
