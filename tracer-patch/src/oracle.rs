//! `--oracle fork`: the live binary answers for itself.
//!
//! To learn what the original function returns on an input nobody called it with, the
//! target is stopped (every thread, with ptrace), a `clone` with no exit signal is
//! injected into one of its threads, and the copy (the child) calls the function: its
//! registers are set to the arguments (strings are written into the child's copy of the
//! stack), the return address is 0, and the child runs until it returns (a fault at
//! address 0, `rax` holding the result), faults elsewhere, or its time is up. The child is
//! stopped before every system call it would make: a function that makes one is not pure
//! (it could write to a file or socket the target shares), so the child is killed before
//! the call runs and the oracle is refused. The child is then killed, reaped by the
//! target through an injected `wait4`, and the target's threads get their registers back
//! and run on. A target with writable shared memory is refused outright, since a child's
//! stores to it would reach the target.
//!
//! This is oracle-guided synthesis (Jha et al., ICSE 2010) with the binary as its own
//! oracle: the refinement loop asks it about inputs where its candidate could be wrong.
use std::{
    os::unix::fs::FileExt,
    time::{Duration, Instant},
};

use synth_engine::{
    dsl::{width_mask, Sort, Value},
    spec::TypeSpec,
};

use tracer_probe::procfs;

use crate::{
    patch,
    ptrace::{self, PtraceError, StoppedProcess},
};

/// Errors setting up or running the oracle.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// The function's address in the target is not known.
    #[error("`{0}` has no address in the running process")]
    NoAddress(String),
    /// A parameter or result type the oracle cannot pass.
    #[error("the oracle cannot pass a {0} (integers and strings only)")]
    Unsupported(String),
    /// The target maps writable shared memory.
    #[error("PID {pid} maps writable shared memory ({what}): a forked copy could change it, so the oracle is refused")]
    SharedMemory {
        /// Target.
        pid: u32,
        /// The mapping.
        what: String,
    },
    /// The function made a system call: it is not pure.
    #[error("the function made system call {0}, so it is not pure: the oracle is refused (nothing ran)")]
    Impure(i64),
    /// The target's maps or memory could not be read or written.
    #[error("{0}")]
    Process(String),
    /// Ptrace failed.
    #[error(transparent)]
    Ptrace(#[from] PtraceError),
}

/// How one call in the child ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It returned this value.
    Returned(Value),
    /// It faulted (signal number).
    Crashed(i32),
    /// It ran past the time limit.
    TimedOut,
}

/// The target's function, ready to be called in forked copies.
pub struct ForkOracle {
    pid: u32,
    function: u64,
    params: Vec<TypeSpec>,
    output: TypeSpec,
    syscall_insn: u64,
    limit: Duration,
}

/// Bytes of the child's stack, below the thread's own stack pointer, that hold the
/// strings passed (the red zone and a margin stay untouched).
const STRING_AREA: u64 = 4096;
/// The red zone of the x86-64 ABI plus a margin.
const RED_ZONE: u64 = 512;
/// Longest string read back as a result.
const MAX_RESULT_STRING: usize = 4096;

impl ForkOracle {
    /// An oracle for the function at `function` (its address in the target) with these
    /// parameter and result types; each call may run for `limit`.
    ///
    /// # Errors
    /// Unsupported types, writable shared memory in the target, or no `syscall`
    /// instruction to borrow.
    pub fn new(
        pid: u32,
        function: u64,
        params: Vec<TypeSpec>,
        output: TypeSpec,
        limit: Duration,
    ) -> Result<Self, OracleError> {
        for t in params.iter().chain(std::iter::once(&output)) {
            if !matches!(t.sort, Sort::BitVec(_) | Sort::String | Sort::Bool) {
                return Err(OracleError::Unsupported(t.to_string()));
            }
        }
        let maps = procfs::maps(pid).map_err(|e| OracleError::Process(e.to_string()))?;
        if let Some(m) = maps.iter().find(|m| m.perms.as_bytes().get(1) == Some(&b'w') && m.perms.ends_with('s')) {
            let what = m.path.as_ref().map_or_else(|| format!("{:#x}", m.start), |p| p.display().to_string());
            return Err(OracleError::SharedMemory { pid, what });
        }
        let syscall_insn = patch::find_syscall_instruction(pid).map_err(|e| OracleError::Process(e.to_string()))?;
        Ok(Self { pid, function, params, output, syscall_insn, limit })
    }

    /// Calls the function once per input, each in a fresh copy of the target; the target
    /// is stopped meanwhile.
    ///
    /// # Errors
    /// [`OracleError::Impure`] as soon as a call makes a system call (the remaining inputs
    /// are not tried), and ptrace or memory failures.
    pub fn ask(&self, inputs: &[Vec<Value>]) -> Result<Vec<Answer>, OracleError> {
        let mut stopped = StoppedProcess::stop(self.pid)?;
        let mut answers = Vec::with_capacity(inputs.len());
        for input in inputs {
            let child = stopped.fork_child(self.syscall_insn)?;
            let answer = self.run_child(child, input);
            ptrace::kill_traced(child);
            if !stopped.reap(self.syscall_insn, child)? {
                tracing::warn!(pid = self.pid, child, "the target did not reap a forked copy: a zombie is left");
            }
            answers.push(answer?);
        }
        Ok(answers)
    }

    /// Sets up the call in the stopped child and runs it.
    fn run_child(&self, child: i32, input: &[Value]) -> Result<Answer, OracleError> {
        let mem = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{child}/mem"))
            .map_err(|e| OracleError::Process(format!("opening the memory of the forked copy: {e}")))?;
        let write = |addr: u64, bytes: &[u8]| {
            mem.write_all_at(bytes, addr).map_err(|e| OracleError::Process(format!("writing the forked copy: {e}")))
        };
        let mut r = ptrace::regs(child)?;
        let top = (r.rsp - RED_ZONE) & !15;
        let strings_start = top - STRING_AREA;
        let mut next_string = strings_start;
        let mut registers = Vec::new();
        for (value, ty) in input.iter().zip(&self.params) {
            registers.push(match value {
                Value::Bv { width, bits } => {
                    if ty.signed {
                        #[allow(clippy::cast_sign_loss, reason = "sign-extended register bits")]
                        let extended = synth_engine::dsl::to_signed(*bits, *width) as u64;
                        extended
                    } else {
                        *bits
                    }
                }
                Value::Bool(b) => u64::from(*b),
                Value::Str(s) => {
                    let mut bytes = s.as_bytes().to_vec();
                    bytes.push(0);
                    if next_string + bytes.len() as u64 > top {
                        return Err(OracleError::Unsupported("string argument longer than 4 KiB".into()));
                    }
                    write(next_string, &bytes)?;
                    let at = next_string;
                    next_string += bytes.len() as u64;
                    at
                }
                other => return Err(OracleError::Unsupported(format!("{other:?}"))),
            });
        }
        let slots = [&mut r.rdi, &mut r.rsi, &mut r.rdx, &mut r.rcx, &mut r.r8, &mut r.r9];
        if registers.len() > slots.len() {
            return Err(OracleError::Unsupported("function with more than six parameters".into()));
        }
        for (slot, v) in slots.into_iter().zip(registers) {
            *slot = v;
        }
        // A call: the return address (0) on a 16-byte aligned stack, below the strings.
        let rsp = strings_start - 16 - 8;
        write(rsp, &0u64.to_le_bytes())?;
        r.rsp = rsp;
        r.rip = self.function;
        r.rax = 0;
        r.orig_rax = u64::MAX;
        ptrace::set_regs(child, &r)?;
        let options = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;
        // SAFETY: plain ptrace requests on our stopped tracee.
        if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, child, 0, options as usize as *mut libc::c_void) } == -1 {
            return Err(ptrace::request_error("PTRACE_SETOPTIONS", child).into());
        }
        let deadline = Instant::now() + self.limit;
        let mut deliver = 0usize;
        loop {
            // SAFETY: as above; the data argument is the signal to deliver (0: none).
            if unsafe { libc::ptrace(libc::PTRACE_SYSCALL, child, 0, deliver as *mut libc::c_void) } == -1 {
                return Err(ptrace::request_error("PTRACE_SYSCALL", child).into());
            }
            deliver = 0;
            let status = loop {
                let mut status = 0;
                // SAFETY: waitpid writes the status into a valid i32.
                let got = unsafe { libc::waitpid(child, &mut status, libc::__WALL | libc::WNOHANG) };
                if got == child {
                    break Some(status);
                }
                if got == -1 || Instant::now() >= deadline {
                    break None;
                }
                std::thread::sleep(Duration::from_micros(200));
            };
            let Some(status) = status else { return Ok(Answer::TimedOut) };
            if libc::WIFEXITED(status) {
                return Ok(Answer::Crashed(0));
            }
            if libc::WIFSIGNALED(status) {
                return Ok(Answer::Crashed(libc::WTERMSIG(status)));
            }
            let sig = libc::WSTOPSIG(status);
            if sig == (libc::SIGTRAP | 0x80) {
                #[allow(clippy::cast_possible_wrap, reason = "a system call number")]
                return Err(OracleError::Impure(ptrace::regs(child)?.orig_rax as i64));
            }
            if status >> 16 != 0 {
                // A ptrace event stop (group stop): go on.
                continue;
            }
            if sig == libc::SIGSEGV {
                let now = ptrace::regs(child)?;
                if now.rip == 0 {
                    return Ok(Answer::Returned(self.result(&mem, now.rax)?));
                }
                return Ok(Answer::Crashed(sig));
            }
            if matches!(sig, libc::SIGFPE | libc::SIGILL | libc::SIGBUS | libc::SIGABRT) {
                return Ok(Answer::Crashed(sig));
            }
            #[allow(clippy::cast_sign_loss, reason = "a signal number")]
            {
                deliver = sig as usize;
            }
        }
    }

    /// The result register read as the function's result type.
    fn result(&self, mem: &std::fs::File, rax: u64) -> Result<Value, OracleError> {
        Ok(match self.output.sort {
            Sort::BitVec(w) => Value::bv(w, rax & width_mask(w)),
            Sort::Bool => Value::Bool(rax & 0xff != 0),
            _ => {
                let mut bytes = Vec::new();
                let mut chunk = [0u8; 256];
                while bytes.len() < MAX_RESULT_STRING {
                    let n = mem
                        .read_at(&mut chunk, rax + bytes.len() as u64)
                        .map_err(|e| OracleError::Process(format!("reading the returned string: {e}")))?;
                    if n == 0 {
                        break;
                    }
                    if let Some(end) = chunk[..n].iter().position(|b| *b == 0) {
                        bytes.extend_from_slice(&chunk[..end]);
                        return Ok(Value::str(&String::from_utf8_lossy(&bytes)));
                    }
                    bytes.extend_from_slice(&chunk[..n]);
                }
                Value::str(&String::from_utf8_lossy(&bytes))
            }
        })
    }
}
