//! The target's memory (`/proc/PID/mem`), where a trampoline region goes (within ±2 GiB of
//! the code), the trampoline file, and mapping it into the target with injected system
//! calls.
//!
//! The region is backed by a file the tracer writes under the trampoline directory
//! (`/run/tracesynth/trampolines` by default; `TRACESYNTH_TRAMPOLINE_DIR` overrides): uprobes
//! attach to file offsets, and a file mapping lives as long as the target maps it, whatever
//! happens to the tracer. The target opens the file itself (`openat` injected with the path
//! written below its stack pointer's red zone), maps it `PROT_READ|PROT_EXEC, MAP_PRIVATE |
//! MAP_FIXED_NOREPLACE` at the chosen address, and closes the descriptor. Files of
//! processes that are gone are removed at the next install.
use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::{FileExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use tracer_probe::procfs::Mapping;

use crate::ptrace::{PtraceError, StoppedProcess};

/// Errors reading or writing the target, or preparing its trampoline region.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// `/proc/PID/mem` could not be opened, read or written.
    #[error("{what} {addr:#x} ({len} bytes) in /proc/{pid}/mem: {source}")]
    Memory {
        /// Reading or writing.
        what: &'static str,
        /// Target.
        pid: u32,
        /// Address.
        addr: u64,
        /// Length.
        len: usize,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// Bytes read back after a write are not what was written.
    #[error("wrote {wrote} at {addr:#x} in PID {pid} but read back {read}")]
    Verify {
        /// Target.
        pid: u32,
        /// Address.
        addr: u64,
        /// Hex.
        wrote: String,
        /// Hex.
        read: String,
    },
    /// `/proc/PID/maps` could not be read.
    #[error(transparent)]
    Maps(#[from] tracer_probe::procfs::ProcError),
    /// No executable mapping holds a `syscall` instruction.
    #[error("no `syscall` instruction found in the executable mappings of PID {0}")]
    NoSyscallInstruction(u32),
    /// The trampoline file could not be written.
    #[error("cannot write the trampoline file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// An injected system call failed in the target.
    #[error("{call} in PID {pid} failed: {source}")]
    Injected {
        /// Which call.
        call: &'static str,
        /// Target.
        pid: u32,
        /// The errno it returned.
        #[source]
        source: io::Error,
    },
    /// Stopping or driving the threads failed.
    #[error(transparent)]
    Ptrace(#[from] PtraceError),
}

pub use tracer_probe::probes::patched::hex;

/// `/proc/PID/mem`, opened read-write.
pub struct Memory {
    pid: u32,
    file: File,
}

impl Memory {
    /// Opens the target's memory.
    ///
    /// # Errors
    /// [`PatchError::Memory`].
    pub fn open(pid: u32) -> Result<Self, PatchError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))
            .map_err(|source| PatchError::Memory { what: "opening", pid, addr: 0, len: 0, source })?;
        Ok(Self { pid, file })
    }

    /// Reads `len` bytes at `addr`.
    ///
    /// # Errors
    /// [`PatchError::Memory`].
    pub fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, PatchError> {
        let mut buf = vec![0; len];
        self.file.read_exact_at(&mut buf, addr).map_err(|source| PatchError::Memory {
            what: "reading",
            pid: self.pid,
            addr,
            len,
            source,
        })?;
        Ok(buf)
    }

    /// Writes `bytes` at `addr` (also into read-only code: the kernel copies the page)
    /// and reads them back.
    ///
    /// # Errors
    /// [`PatchError::Memory`], or [`PatchError::Verify`] when the read-back differs.
    pub fn write_verified(&self, addr: u64, bytes: &[u8]) -> Result<(), PatchError> {
        self.file.write_all_at(bytes, addr).map_err(|source| PatchError::Memory {
            what: "writing",
            pid: self.pid,
            addr,
            len: bytes.len(),
            source,
        })?;
        let back = self.read(addr, bytes.len())?;
        if back != bytes {
            return Err(PatchError::Verify { pid: self.pid, addr, wrote: hex(bytes), read: hex(&back) });
        }
        Ok(())
    }
}

/// The address of a `syscall` instruction (`0f 05`) in an executable mapping of the
/// target (the vDSO first). Any two such bytes execute as `syscall` from their address.
///
/// # Errors
/// [`PatchError::NoSyscallInstruction`].
pub fn find_syscall_instruction(pid: u32) -> Result<u64, PatchError> {
    let mem = File::open(format!("/proc/{pid}/mem")).map_err(|source| PatchError::Memory {
        what: "opening",
        pid,
        addr: 0,
        len: 0,
        source,
    })?;
    let mut ranges = tracer_probe::procfs::maps(pid)?;
    ranges.retain(|r| r.perms.contains('x') && r.end <= 0x0000_8000_0000_0000 && r.name != "[uprobes]");
    ranges.sort_by_key(|r| r.name != "[vdso]");
    for r in ranges {
        let mut addr = r.start;
        while addr < r.end.min(r.start + (64 << 20)) {
            let len = (r.end - addr).min(1 << 20) as usize;
            let mut buf = vec![0; len];
            if mem.read_exact_at(&mut buf, addr).is_err() {
                break;
            }
            if let Some(i) = buf.windows(2).position(|w| w == [0x0f, 0x05]) {
                return Ok(addr + i as u64);
            }
            addr += len as u64 - 1;
        }
    }
    Err(PatchError::NoSyscallInstruction(pid))
}

const PAGE: u64 = 4096;
/// Largest distance a `jmp rel32` reaches.
const REACH: i128 = i32::MAX as i128;

/// A page-aligned free address for `len` bytes from which every address in `targets`
/// is within `jmp rel32` reach (both ways), nearest first; `None` when there is none.
/// A guard page is kept on both sides; the space above `[heap]` (where `brk` grows) and
/// below `[stack]` is avoided.
pub fn choose_region(maps: &[Mapping], targets: &[u64], len: u64) -> Option<u64> {
    let mut sorted: Vec<&Mapping> = maps.iter().filter(|m| m.end <= 0x0000_8000_0000_0000).collect();
    sorted.sort_by_key(|m| m.start);
    let low = 0x10000u64;
    let high = 0x0000_7fff_ffff_f000u64;
    let mut gaps = Vec::new();
    let mut prev_end = low;
    let mut prev_name = "";
    for m in &sorted {
        if m.start > prev_end {
            gaps.push((prev_end, m.start, prev_name, m.name.as_str()));
        }
        prev_end = prev_end.max(m.end);
        prev_name = m.name.as_str();
    }
    if high > prev_end {
        gaps.push((prev_end, high, prev_name, ""));
    }
    let reach = |a: u64| {
        targets.iter().all(|&t| {
            let (lo, hi) = (i128::from(a) - i128::from(t), i128::from(a + len) - i128::from(t));
            lo.abs() < REACH && hi.abs() < REACH
        })
    };
    let distance = |a: u64| targets.iter().map(|&t| (i128::from(a) - i128::from(t)).abs()).max().unwrap_or(0);
    let mut best: Option<u64> = None;
    for (lo, hi, below, above) in gaps {
        if hi - lo < len + 2 * PAGE {
            continue;
        }
        let mut candidates = Vec::new();
        if above != "[stack]" {
            candidates.push((hi - PAGE - len) & !(PAGE - 1));
        }
        if below != "[heap]" {
            candidates.push((lo + PAGE + PAGE - 1) & !(PAGE - 1));
        }
        // Inside a huge gap, the point nearest the code.
        if let Some(&t) = targets.first() {
            let near = t.saturating_sub(1 << 30) & !(PAGE - 1);
            if near > lo + PAGE && near + len + PAGE < hi && below != "[heap]" {
                candidates.push(near);
            }
        }
        for c in candidates {
            if reach(c) && best.is_none_or(|b| distance(c) < distance(b)) {
                best = Some(c);
            }
        }
    }
    best
}

/// Field 22 of `/proc/PID/stat` (start time in clock ticks), to tell a PID's processes
/// apart.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Writes a trampoline file (mode 0644, directory 0755) and returns its path.
///
/// # Errors
/// [`PatchError::File`].
pub fn write_trampoline_file(dir: &Path, pid: u32, bytes: &[u8]) -> Result<PathBuf, PatchError> {
    let file_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PatchError::File { path, source }
    };
    std::fs::create_dir_all(dir).map_err(file_error(dir))?;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    sweep(dir);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let path = dir.join(format!("{pid}-{}-{stamp}.tramp", start_time(pid).unwrap_or(0)));
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o644).open(&path).map_err(file_error(&path))?;
    io::Write::write_all(&mut file, bytes).map_err(file_error(&path))?;
    file.sync_all().map_err(file_error(&path))?;
    Ok(path)
}

/// Removes trampoline files of processes that no longer exist.
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let mut parts = name.trim_end_matches(".tramp").split('-');
        let (Some(pid), Some(start)) = (parts.next().and_then(|p| p.parse::<u32>().ok()), parts.next()) else {
            continue;
        };
        if !name.ends_with(".tramp") {
            continue;
        }
        if start_time(pid).map(|s| s.to_string()).as_deref() != Some(start) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn check(call: &'static str, pid: u32, r: i64) -> Result<u64, PatchError> {
    if (-4095..0).contains(&r) {
        return Err(PatchError::Injected { call, pid, source: io::Error::from_raw_os_error(-r as i32) });
    }
    Ok(r as u64)
}

/// Maps `path` (`len` bytes) at exactly `addr` in the stopped target, read + execute,
/// through system calls run on one of its threads.
///
/// # Errors
/// When a call fails in the target (e.g. the address was taken: `EEXIST`).
pub fn map_into(
    stopped: &mut StoppedProcess,
    mem: &Memory,
    syscall_insn: u64,
    path: &Path,
    addr: u64,
    len: u64,
) -> Result<(), PatchError> {
    let pid = stopped.pid();
    let mut cpath = path.as_os_str().as_encoded_bytes().to_vec();
    cpath.push(0);
    // Below the 128-byte red zone of the borrowed thread's stack.
    let scratch = (stopped.borrowed_rsp()? - 128 - cpath.len() as u64 - 64) & !15;
    let saved = mem.read(scratch, cpath.len())?;
    mem.write_verified(scratch, &cpath)?;
    let opened = stopped.syscall(
        syscall_insn,
        libc::SYS_openat,
        [libc::AT_FDCWD as u64, scratch, (libc::O_RDONLY | libc::O_CLOEXEC) as u64, 0, 0, 0],
    );
    mem.write_verified(scratch, &saved)?;
    let fd = check("openat of the trampoline file", pid, opened?)?;
    let mapped = stopped.syscall(
        syscall_insn,
        libc::SYS_mmap,
        [
            addr,
            len,
            (libc::PROT_READ | libc::PROT_EXEC) as u64,
            (libc::MAP_PRIVATE | libc::MAP_FIXED_NOREPLACE) as u64,
            fd,
            0,
        ],
    );
    let closed = stopped.syscall(syscall_insn, libc::SYS_close, [fd, 0, 0, 0, 0, 0]);
    let at = check("mmap of the trampoline file", pid, mapped?)?;
    if at != addr {
        // A kernel without MAP_FIXED_NOREPLACE treats it as a hint.
        let _ = stopped.syscall(syscall_insn, libc::SYS_munmap, [at, len, 0, 0, 0, 0]);
        return Err(PatchError::Injected {
            call: "mmap at a fixed address",
            pid,
            source: io::Error::from_raw_os_error(libc::EEXIST),
        });
    }
    check("close", pid, closed?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u64, end: u64, name: &str) -> Mapping {
        Mapping { start, end, perms: "r-xp".into(), offset: 0, path: None, name: name.into() }
    }

    #[test]
    fn region_goes_below_the_executable_not_above_the_heap() {
        let maps = [
            range(0x5555_5555_4000, 0x5555_5555_9000, "/bin/x"),
            range(0x5555_5556_0000, 0x5555_5558_1000, "[heap]"),
            range(0x7fff_f7d8_0000, 0x7fff_f7fc_0000, "/lib/libc.so.6"),
            range(0x7fff_fffd_e000, 0x7fff_ffff_f000, "[stack]"),
        ];
        let a = choose_region(&maps, &[0x5555_5555_5100], 8192).unwrap();
        assert!(a + 8192 + PAGE <= 0x5555_5555_4000, "{a:#x}");
        assert_eq!(a % PAGE, 0);
        assert!(0x5555_5555_5100 - a < 1 << 31);
    }

    #[test]
    fn no_region_when_nothing_is_in_reach() {
        let maps = [range(0x10000, 0x7fff_ffff_0000, "/huge")];
        assert_eq!(choose_region(&maps, &[0x4000_0000_0000], 4096), None);
    }

    #[test]
    fn start_time_of_self() {
        assert!(start_time(std::process::id()).is_some());
    }
}
