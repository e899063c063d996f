//! Who is calling the API, and what they may see and do.
//!
//! Over the Unix socket the kernel names the peer (`SO_PEERCRED`). Root and holders of
//! `CAP_SYS_PTRACE` are [`Caller::Operator`]s and may do everything; any other local user
//! may start sessions only on processes the kernel would let it ptrace (checked by the
//! kernel itself: [`may_ptrace`]), and may see only its own sessions, traces and jobs.
//! Over TCP the bearer token makes the caller an operator: the daemon refuses to listen
//! on TCP without one.
use std::{ffi::CString, io, os::unix::process::CommandExt as _, process::Command};

/// Who sent a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Root, `CAP_SYS_PTRACE`, or the token holder: may do everything.
    Operator,
    /// Any other local user.
    User(Peer),
}

/// A local peer as the kernel gave it at connect time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Process id, when the kernel knows it.
    pub pid: Option<i32>,
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
}

impl Caller {
    /// The caller a Unix-socket peer is.
    pub fn from_peer(peer: Peer) -> Self {
        let ptrace_capable =
            |pid: i32| tracer_probe::procfs::has_capability(&pid.to_string(), tracer_probe::procfs::CAP_SYS_PTRACE);
        if peer.uid == 0 || peer.pid.is_some_and(ptrace_capable) {
            Self::Operator
        } else {
            Self::User(peer)
        }
    }

    /// The uid recorded as the owner of what this caller creates (`None`: an operator over
    /// TCP).
    pub fn uid(&self) -> Option<u32> {
        match self {
            Self::Operator => None,
            Self::User(p) => Some(p.uid),
        }
    }

    /// Whether the caller may see a session, trace or job owned by `owner`.
    pub fn may_see(&self, owner: Option<u32>) -> bool {
        match self {
            Self::Operator => true,
            Self::User(p) => owner == Some(p.uid),
        }
    }
}

/// Why a caller may not trace a process.
#[derive(Debug, thiserror::Error)]
pub enum TraceRefused {
    /// The kernel refused ptrace access with the caller's credentials.
    #[error("uid {uid} may not trace PID {pid}: the kernel refuses it ptrace access ({source})")]
    Denied {
        /// The caller.
        uid: u32,
        /// The target.
        pid: u32,
        /// The kernel's answer.
        #[source]
        source: io::Error,
    },
    /// The check itself could not run.
    #[error("cannot check whether uid {uid} may trace PID {pid}: {source}")]
    Check {
        /// The caller.
        uid: u32,
        /// The target.
        pid: u32,
        /// What failed.
        #[source]
        source: io::Error,
    },
}

/// The error a check process reports when it cannot take the caller's credentials (an
/// errno value no system call returns).
const CREDENTIALS_NOT_TAKEN: i32 = 1_000_001;

/// Asks the kernel whether `peer` could ptrace `pid` itself: a child process takes the
/// peer's uid, gid and supplementary groups (and so no capabilities) and opens
/// `/proc/PID/mem`, which the kernel allows only to a tracer that passes its ptrace access
/// check (`PTRACE_MODE_ATTACH`: same uids and gids as the target, the target not more
/// privileged and dumpable, and any LSM's say). Nothing touches the target. A PID that
/// does not exist passes, so that attaching reports it as such.
///
/// # Errors
/// [`TraceRefused`].
pub fn may_ptrace(peer: Peer, pid: u32) -> Result<(), TraceRefused> {
    let check = |source| TraceRefused::Check { uid: peer.uid, pid, source };
    let groups: Vec<libc::gid_t> = peer
        .pid
        .and_then(|p| tracer_probe::procfs::status_field(&p.to_string(), "Groups"))
        .map(|g| g.split_whitespace().filter_map(|g| g.parse().ok()).collect())
        .unwrap_or_default();
    let mem = CString::new(format!("/proc/{pid}/mem")).map_err(|e| check(io::Error::other(e)))?;
    let (uid, gid) = (peer.uid, peer.gid);
    let mut command = Command::new("/bin/true");
    // SAFETY: between fork and exec the closure makes only async-signal-safe system calls
    // on memory prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setresgid(gid, gid, gid) != 0
                || libc::setresuid(uid, uid, uid) != 0
            {
                return Err(io::Error::from_raw_os_error(CREDENTIALS_NOT_TAKEN));
            }
            let fd = libc::open(mem.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            libc::close(fd);
            Ok(())
        });
    }
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(check(io::Error::other(format!("the check process ended with {status}")))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            Err(TraceRefused::Denied { uid: peer.uid, pid, source: e })
        }
        Err(e) if e.raw_os_error() == Some(CREDENTIALS_NOT_TAKEN) => {
            Err(check(io::Error::other("the daemon cannot take the caller's credentials (it must run as root)")))
        }
        Err(e) => Err(check(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_ptrace_capable_peers_are_operators_others_see_only_their_own() {
        assert_eq!(Caller::from_peer(Peer { pid: None, uid: 0, gid: 0 }), Caller::Operator);
        let nobody = Peer { pid: None, uid: 65534, gid: 65534 };
        let caller = Caller::from_peer(nobody);
        assert_eq!(caller, Caller::User(nobody));
        assert!(caller.may_see(Some(65534)));
        assert!(!caller.may_see(Some(1000)) && !caller.may_see(None));
        assert!(Caller::Operator.may_see(None) && Caller::Operator.may_see(Some(5)));
    }

    #[test]
    fn the_kernel_decides_who_may_trace() {
        if !test_support::ci::require_root("the_kernel_decides_who_may_trace") {
            return;
        }
        let me = std::process::id();
        // This test process runs as root: nobody may not trace it, root may.
        let nobody = Peer { pid: None, uid: 65534, gid: 65534 };
        let err = may_ptrace(nobody, me).unwrap_err();
        assert!(matches!(err, TraceRefused::Denied { .. }), "{err}");
        assert!(err.to_string().contains("uid 65534 may not trace PID"), "{err}");
        may_ptrace(Peer { pid: None, uid: 0, gid: 0 }, me).unwrap();
        // nobody may trace a process of its own.
        let mut child = Command::new("sleep").arg("30").uid(65534).gid(65534).spawn().unwrap();
        let result = may_ptrace(nobody, child.id());
        let _ = child.kill();
        let _ = child.wait();
        result.unwrap();
        // A PID that does not exist is left for attaching to report.
        may_ptrace(nobody, u32::MAX / 2).unwrap();
    }
}
