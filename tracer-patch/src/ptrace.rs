//! Stop-the-world with ptrace: seize and interrupt every thread of a process, read their
//! registers, borrow one to run a system call, and let them all go again.
//!
//! `PTRACE_SEIZE` + `PTRACE_INTERRUPT` stop a thread without sending it a signal; a thread
//! that was in a blocking system call has it restarted by the kernel after the detach.
//! Dropping a [`StoppedProcess`] detaches every thread (re-delivering any signal that
//! arrived while it was stopped). If the tracer dies, the kernel detaches them itself.
use std::{io, ptr};

/// Errors stopping or driving the target's threads.
#[derive(Debug, thiserror::Error)]
pub enum PtraceError {
    /// `/proc/PID/task` could not be read.
    #[error("cannot list the threads of PID {pid}: {source}")]
    Tasks {
        /// Target.
        pid: u32,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// A ptrace request failed.
    #[error("ptrace {request} on thread {tid} failed: {source}{hint}")]
    Request {
        /// The request.
        request: &'static str,
        /// The thread.
        tid: i32,
        /// Cause.
        #[source]
        source: io::Error,
        /// A hint for the user.
        hint: &'static str,
    },
    /// Every thread exited.
    #[error("PID {0} has no threads left")]
    NoThreads(u32),
    /// The borrowed thread exited during an injected system call.
    #[error("thread {0} exited while running an injected system call")]
    ThreadExited(i32),
    /// The injected `clone` returned without creating a child.
    #[error("the injected clone on thread {tid} failed with {result}")]
    Clone {
        /// Thread.
        tid: i32,
        /// Its raw result (a negative errno).
        result: i64,
    },
    /// The injected system call did not complete as expected.
    #[error("the injected system call on thread {tid} stopped at {rip:#x} instead of {expected:#x}")]
    Injection {
        /// Thread.
        tid: i32,
        /// Where it stopped.
        rip: u64,
        /// Where it should have stopped.
        expected: u64,
    },
}

struct Thread {
    tid: i32,
    /// Signal to re-deliver at detach (it arrived while we held the thread).
    signal: i32,
}

/// A process whose threads are all stopped under ptrace. Only the thread that attached may
/// make ptrace requests, so this is neither `Send` nor `Sync`.
pub struct StoppedProcess {
    pid: u32,
    threads: Vec<Thread>,
    /// Pins the value to the tracer thread.
    _tracer_thread: std::marker::PhantomData<*const ()>,
}

pub(crate) fn request_error(request: &'static str, tid: i32) -> PtraceError {
    let source = io::Error::last_os_error();
    let hint = match source.raw_os_error() {
        Some(libc::EPERM) => " (is it already traced by a debugger, or is ptrace restricted by yama/seccomp?)",
        _ => "",
    };
    PtraceError::Request { request, tid, source, hint }
}

fn tasks(pid: u32) -> Result<Vec<i32>, PtraceError> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|source| PtraceError::Tasks { pid, source })?;
    let mut tids: Vec<i32> = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    tids.sort_unstable();
    Ok(tids)
}

/// What a `waitpid` on a traced thread saw.
enum Waited {
    /// Stopped; `signal` is non-zero for a signal-delivery stop of that signal.
    Stopped { signal: i32 },
    /// The thread is gone.
    Exited,
}

fn wait(tid: i32) -> Result<Waited, PtraceError> {
    wait_event(tid).map(|(w, _)| w)
}

/// [`wait`], with the ptrace event of the stop (0 when none).
fn wait_event(tid: i32) -> Result<(Waited, i32), PtraceError> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into a valid i32.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r == -1 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            if e.raw_os_error() == Some(libc::ECHILD) {
                return Ok((Waited::Exited, 0));
            }
            return Err(PtraceError::Request { request: "waitpid", tid, source: e, hint: "" });
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return Ok((Waited::Exited, 0));
        }
        if libc::WIFSTOPPED(status) {
            let event = status >> 16;
            let sig = libc::WSTOPSIG(status);
            // PTRACE_EVENT_STOP: our interrupt (or a group stop); anything else with a
            // signal is a signal-delivery stop (SIGTRAP from a single step included).
            let signal = if event == libc::PTRACE_EVENT_STOP { 0 } else { sig };
            return Ok((Waited::Stopped { signal }, event));
        }
    }
}

impl StoppedProcess {
    /// Seizes and stops every thread of `pid`, rescanning until no new thread appeared.
    ///
    /// # Errors
    /// When a thread cannot be seized (e.g. already traced) or the process is gone; the
    /// threads stopped so far are let go.
    pub fn stop(pid: u32) -> Result<Self, PtraceError> {
        let mut stopped = Self { pid, threads: Vec::new(), _tracer_thread: std::marker::PhantomData };
        let mut gone: Vec<i32> = Vec::new();
        loop {
            let fresh: Vec<i32> = tasks(pid)?
                .into_iter()
                .filter(|t| !gone.contains(t) && !stopped.threads.iter().any(|s| s.tid == *t))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for tid in fresh {
                // SAFETY: plain ptrace requests on a thread id; no memory is passed.
                let seized = unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, ptr::null_mut::<libc::c_void>(), 0) };
                if seized == -1 {
                    if io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
                        gone.push(tid);
                        continue;
                    }
                    return Err(request_error("PTRACE_SEIZE", tid));
                }
                // SAFETY: as above.
                if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) } == -1 {
                    let e = request_error("PTRACE_INTERRUPT", tid);
                    // SAFETY: as above.
                    unsafe { libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0) };
                    return Err(e);
                }
                match wait(tid)? {
                    Waited::Stopped { signal } => stopped.threads.push(Thread { tid, signal }),
                    Waited::Exited => gone.push(tid),
                }
            }
        }
        if stopped.threads.is_empty() {
            return Err(PtraceError::NoThreads(pid));
        }
        Ok(stopped)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Thread ids and their instruction pointers.
    ///
    /// # Errors
    /// When registers cannot be read.
    pub fn rips(&self) -> Result<Vec<(i32, u64)>, PtraceError> {
        self.threads.iter().map(|t| Ok((t.tid, regs(t.tid)?.rip))).collect()
    }

    /// Each thread's stack as 8-byte words, from its RSP up to the end of the mapping
    /// that holds it, at most `max_bytes`. A thread whose stack cannot be read gives none.
    ///
    /// # Errors
    /// When registers cannot be read.
    pub fn stack_words(&self, max_bytes: u64) -> Result<Vec<(i32, Vec<u64>)>, PtraceError> {
        let maps = tracer_probe::procfs::maps(self.pid).unwrap_or_default();
        let mem = std::fs::File::open(format!("/proc/{}/mem", self.pid)).ok();
        self.threads
            .iter()
            .map(|t| {
                let rsp = regs(t.tid)?.rsp;
                let end = maps.iter().find(|m| m.start <= rsp && rsp < m.end).map_or(rsp, |m| m.end);
                let len = usize::try_from((end - rsp).min(max_bytes)).unwrap_or(0);
                let mut bytes = vec![0u8; len];
                let read =
                    mem.as_ref().is_some_and(|m| std::os::unix::fs::FileExt::read_exact_at(m, &mut bytes, rsp).is_ok());
                let words = if read {
                    bytes.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default())).collect()
                } else {
                    Vec::new()
                };
                Ok((t.tid, words))
            })
            .collect()
    }

    /// Runs system call `nr` with `args` on one stopped thread by pointing it at a
    /// `syscall` instruction at `syscall_insn` and single-stepping it; restores the
    /// thread's registers afterwards. Returns the raw result (negative errno on failure).
    ///
    /// # Errors
    /// When the thread cannot be driven or exits.
    pub fn syscall(&mut self, syscall_insn: u64, nr: i64, args: [u64; 6]) -> Result<i64, PtraceError> {
        self.inject(syscall_insn, nr, args, |_, _| Ok(()))
    }

    /// The thread [`syscall`](Self::syscall) borrows: one with no pending signal (its stop
    /// must stay a clean one), else the first.
    fn borrowed(&self) -> usize {
        self.threads.iter().position(|t| t.signal == 0).unwrap_or(0)
    }

    /// [`syscall`](Self::syscall), passing each ptrace event stop of the borrowed thread
    /// (thread id, event) to `on_event`.
    fn inject(
        &mut self,
        syscall_insn: u64,
        nr: i64,
        args: [u64; 6],
        mut on_event: impl FnMut(i32, i32) -> Result<(), PtraceError>,
    ) -> Result<i64, PtraceError> {
        if self.threads.is_empty() {
            return Err(PtraceError::NoThreads(self.pid));
        }
        let index = self.borrowed();
        let tid = self.threads[index].tid;
        let saved = regs(tid)?;
        let mut r = saved;
        r.rip = syscall_insn;
        r.rax = nr as u64;
        // No system-call restart for the interrupted call this thread may have been in.
        r.orig_rax = u64::MAX;
        (r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9) = (args[0], args[1], args[2], args[3], args[4], args[5]);
        set_regs(tid, &r)?;
        let expected = syscall_insn + 2;
        let mut result = Err(PtraceError::Injection { tid, rip: syscall_insn, expected });
        for _ in 0..16 {
            // SAFETY: plain ptrace request.
            if unsafe { libc::ptrace(libc::PTRACE_SINGLESTEP, tid, 0, 0) } == -1 {
                result = Err(request_error("PTRACE_SINGLESTEP", tid));
                break;
            }
            match wait_event(tid)? {
                (Waited::Exited, _) => {
                    self.threads.remove(index);
                    return Err(PtraceError::ThreadExited(tid));
                }
                (Waited::Stopped { .. }, event) if event != 0 && event != libc::PTRACE_EVENT_STOP => {
                    if let Err(e) = on_event(tid, event) {
                        result = Err(e);
                        break;
                    }
                    continue;
                }
                (Waited::Stopped { signal }, _) => {
                    if signal != 0 && signal != libc::SIGTRAP {
                        self.threads[index].signal = signal;
                    }
                }
            }
            let now = regs(tid)?;
            if now.rip == expected {
                result = Ok(now.rax as i64);
                break;
            }
            if now.rip != syscall_insn {
                result = Err(PtraceError::Injection { tid, rip: now.rip, expected });
                break;
            }
        }
        set_regs(tid, &saved)?;
        result
    }

    /// Forks the process from one stopped thread: injects `clone` with no exit signal (so
    /// the target is never sent `SIGCHLD` for it) and returns the child's id, stopped and
    /// traced by this thread. The child is a copy of that thread at the injection point;
    /// the target's thread gets its registers back. The caller kills the child and has the
    /// target reap it ([`reap`](Self::reap)).
    ///
    /// # Errors
    /// When the thread cannot be driven or the kernel refuses the clone.
    pub fn fork_child(&mut self, syscall_insn: u64) -> Result<i32, PtraceError> {
        let tid = self.threads.get(self.borrowed()).ok_or(PtraceError::NoThreads(self.pid))?.tid;
        set_options(tid, libc::PTRACE_O_TRACECLONE)?;
        let mut child = None;
        // flags 0: a new process (no CLONE_VM), exit signal 0; same stack (copy-on-write).
        let result = self.inject(syscall_insn, libc::SYS_clone, [0; 6], |tid, event| {
            if event == libc::PTRACE_EVENT_CLONE {
                let mut msg: libc::c_ulong = 0;
                // SAFETY: GETEVENTMSG writes one c_ulong into `msg`.
                if unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, tid, 0, &mut msg as *mut _ as *mut libc::c_void) }
                    == -1
                {
                    return Err(request_error("PTRACE_GETEVENTMSG", tid));
                }
                child = i32::try_from(msg).ok();
            }
            Ok(())
        });
        let reset = set_options(tid, 0);
        let child = match (result, child) {
            (Ok(_), Some(c)) => c,
            (Ok(rax), None) => return Err(PtraceError::Clone { tid, result: rax }),
            (Err(e), Some(c)) => {
                // A child was made although the injection went wrong: do not leave it.
                kill_traced(c);
                let _ = self.reap(syscall_insn, c);
                return Err(e);
            }
            (Err(e), None) => return Err(e),
        };
        reset?;
        // The auto-attached child starts in a stop of its own.
        match wait(child)? {
            Waited::Stopped { .. } => Ok(child),
            Waited::Exited => Err(PtraceError::ThreadExited(child)),
        }
    }

    /// Has the target reap its exited child `child` (a zombie after
    /// [`fork_child`](Self::fork_child)) with an injected `wait4(child, NULL, __WALL |
    /// WNOHANG)`, retrying briefly until the kernel hands it over. Returns whether it did.
    ///
    /// # Errors
    /// When the thread cannot be driven.
    pub fn reap(&mut self, syscall_insn: u64, child: i32) -> Result<bool, PtraceError> {
        #[allow(clippy::cast_sign_loss, reason = "flag bits and a pid as registers")]
        let args = [child as u64, 0, (libc::__WALL | libc::WNOHANG) as u64, 0, 0, 0];
        for _ in 0..200 {
            if self.syscall(syscall_insn, libc::SYS_wait4, args)? == i64::from(child) {
                return Ok(true);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(false)
    }

    /// The stack pointer of the thread [`syscall`](Self::syscall) borrows.
    ///
    /// # Errors
    /// When registers cannot be read.
    pub fn borrowed_rsp(&self) -> Result<u64, PtraceError> {
        Ok(regs(self.threads[self.borrowed()].tid)?.rsp)
    }
}

pub(crate) fn regs(tid: i32) -> Result<libc::user_regs_struct, PtraceError> {
    // SAFETY: user_regs_struct is plain data; PTRACE_GETREGS fills it.
    let mut r: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live, correctly sized struct.
    if unsafe { libc::ptrace(libc::PTRACE_GETREGS, tid, 0, &mut r as *mut _ as *mut libc::c_void) } == -1 {
        return Err(request_error("PTRACE_GETREGS", tid));
    }
    Ok(r)
}

/// Kills a traced child and collects it (as its tracer).
pub(crate) fn kill_traced(child: i32) {
    // SAFETY: signals our own tracee; waitpid writes into a valid i32.
    unsafe {
        libc::kill(child, libc::SIGKILL);
        let mut status = 0;
        while libc::waitpid(child, &mut status, libc::__WALL) == child {
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                break;
            }
        }
    }
}

fn set_options(tid: i32, options: i32) -> Result<(), PtraceError> {
    // SAFETY: plain ptrace request; the data argument is the option bits.
    if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, tid, 0, options as usize as *mut libc::c_void) } == -1 {
        return Err(request_error("PTRACE_SETOPTIONS", tid));
    }
    Ok(())
}

pub(crate) fn set_regs(tid: i32, r: &libc::user_regs_struct) -> Result<(), PtraceError> {
    // SAFETY: the pointer is to a live, correctly sized struct the kernel only reads.
    if unsafe { libc::ptrace(libc::PTRACE_SETREGS, tid, 0, r as *const _ as *mut libc::c_void) } == -1 {
        return Err(request_error("PTRACE_SETREGS", tid));
    }
    Ok(())
}

impl Drop for StoppedProcess {
    fn drop(&mut self) {
        for t in &self.threads {
            // SAFETY: plain ptrace request; the data argument is the signal to deliver.
            let r = unsafe { libc::ptrace(libc::PTRACE_DETACH, t.tid, 0, t.signal as usize as *mut libc::c_void) };
            if r == -1 {
                tracing::debug!(tid = t.tid, error = %io::Error::last_os_error(), "PTRACE_DETACH failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stops a real child, reads its RIP, injects getpid, and lets it go; the child keeps running.
    #[test]
    fn stops_reads_and_injects_getpid() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let pid = child.id();
        {
            let mut stopped = StoppedProcess::stop(pid).unwrap();
            let rips = stopped.rips().unwrap();
            assert_eq!(rips.len(), 1);
            let syscall_insn = find_syscall(pid);
            let got = stopped.syscall(syscall_insn, libc::SYS_getpid, [0; 6]).unwrap();
            assert_eq!(got, i64::from(pid));
        }
        // Still alive and sleeping after the detach.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn find_syscall(pid: u32) -> u64 {
        crate::patch::find_syscall_instruction(pid).unwrap()
    }
}
