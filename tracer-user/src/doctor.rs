//! `tracesynth doctor`: whether this machine and this process can trace, and what is
//! missing — kernel, BTF, uprobes, capabilities, `perf_event_paranoid`, Yama.
use std::fmt;

use tracer_probe::procfs::{CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE};

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// In place.
    Ok(String),
    /// Missing for some features only, or worth knowing.
    Note(String),
    /// Missing: tracing cannot work without it.
    Missing(String),
}

/// One check and what it found.
#[derive(Clone, Debug)]
pub struct Check {
    /// What is checked.
    pub what: &'static str,
    /// The finding.
    pub finding: Finding,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mark, text) = match &self.finding {
            Finding::Ok(t) => ("ok     ", t),
            Finding::Note(t) => ("note   ", t),
            Finding::Missing(t) => ("MISSING", t),
        };
        write!(f, "{mark} {:<22} {text}", self.what)
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// Runs every check.
#[must_use]
pub fn checks() -> Vec<Check> {
    let mut out = Vec::new();
    let release = rustix::system::uname().release().to_string_lossy().into_owned();
    let version: Vec<u32> =
        release.split(|c: char| !c.is_ascii_digit()).take(2).filter_map(|v| v.parse().ok()).collect();
    let at_least = |major: u32, minor: u32| version.as_slice() >= [major, minor].as_slice();
    out.push(Check {
        what: "kernel",
        finding: if !at_least(5, 8) {
            Finding::Missing(format!("{release}: the BPF ring buffer needs Linux 5.8 or later"))
        } else if !at_least(6, 11) {
            Finding::Note(format!("{release}: works; from 6.11 returns go through a syscall (cheaper uretprobes)"))
        } else {
            Finding::Ok(release.clone())
        },
    });
    out.push(Check {
        what: "kernel BTF",
        finding: match tracer_probe::probes::loader::on_cpu_offsets() {
            Ok(_) => Finding::Ok("/sys/kernel/btf/vmlinux has task_struct's scheduler fields".into()),
            Err(e) => Finding::Missing(format!("{e} (a kernel built with CONFIG_DEBUG_INFO_BTF)")),
        },
    });
    out.push(Check {
        what: "uprobes",
        finding: match read_trimmed("/sys/bus/event_source/devices/uprobe/type") {
            Some(t) => Finding::Ok(format!("perf event type {t}")),
            None => Finding::Missing("no uprobe PMU in /sys/bus/event_source/devices (CONFIG_UPROBE_EVENTS)".into()),
        },
    });
    let root = rustix::process::geteuid().is_root();
    let has = |cap| root || tracer_probe::procfs::has_capability("self", cap);
    out.push(Check {
        what: "CAP_BPF, CAP_PERFMON",
        finding: if has(CAP_BPF) && has(CAP_PERFMON) {
            Finding::Ok(if root { "running as root".into() } else { "both effective".into() })
        } else {
            Finding::Missing(
                "loading probes needs root, or CAP_BPF and CAP_PERFMON (systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON)"
                    .into(),
            )
        },
    });
    out.push(Check {
        what: "CAP_SYS_PTRACE",
        finding: if has(CAP_SYS_PTRACE) {
            Finding::Ok("--fast-entry can patch targets".into())
        } else {
            Finding::Note("--fast-entry (patching a target's code through ptrace) needs CAP_SYS_PTRACE".into())
        },
    });
    out.push(Check {
        what: "perf_event_paranoid",
        finding: match read_trimmed("/proc/sys/kernel/perf_event_paranoid").and_then(|v| v.parse::<i32>().ok()) {
            Some(v) if v > 2 && !has(CAP_PERFMON) => {
                Finding::Missing(format!("{v}: perf events are closed to processes without CAP_PERFMON"))
            }
            Some(v) => Finding::Ok(v.to_string()),
            None => Finding::Note("unreadable".into()),
        },
    });
    out.push(Check {
        what: "Yama ptrace_scope",
        finding: match read_trimmed("/proc/sys/kernel/yama/ptrace_scope").as_deref() {
            None => Finding::Ok("no Yama".into()),
            Some("0") => Finding::Ok("0".into()),
            Some("3") => Finding::Note("3: no process may ptrace others; --fast-entry cannot patch".into()),
            Some(v) => Finding::Note(format!(
                "{v}: --fast-entry and local daemon users need CAP_SYS_PTRACE for processes they did not start"
            )),
        },
    });
    out
}

/// Whether every required check passed.
#[must_use]
pub fn ready(checks: &[Check]) -> bool {
    !checks.iter().any(|c| matches!(c.finding, Finding::Missing(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_says_what_it_looked_at() {
        let checks = checks();
        let names: Vec<&str> = checks.iter().map(|c| c.what).collect();
        for want in ["kernel", "kernel BTF", "uprobes", "CAP_BPF, CAP_PERFMON", "CAP_SYS_PTRACE", "perf_event_paranoid"]
        {
            assert!(names.contains(&want), "{names:?}");
        }
        let line = checks[0].to_string();
        assert!(line.contains("kernel"), "{line}");
        let missing = Check { what: "x", finding: Finding::Missing("y".into()) };
        assert!(!ready(&[missing]));
    }
}
