//! Whether another session or tool has already patched a function's first bytes with a
//! `jmp` (fast entry does): a uprobe there would break the target.
use std::{
    io::{Read as _, Seek as _, SeekFrom},
    os::unix::fs::FileExt as _,
};

use tracer_common::EventKind;

use super::Plan;

/// Length of `jmp rel32`.
pub const JMP_LEN: usize = 5;

/// Hex bytes, space separated.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// Reads `size` bytes of `object` at file `offset`.
///
/// # Errors
/// The file cannot be opened or is too short.
pub fn read_code(object: &std::path::Path, offset: u64, size: u64) -> std::io::Result<Vec<u8>> {
    let mut code = vec![0u8; usize::try_from(size).unwrap_or(0)];
    let mut file = std::fs::File::open(object)?;
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut code)?;
    Ok(code)
}

fn read_memory(mem: &std::fs::File, addr: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    mem.read_exact_at(&mut buf, addr)?;
    Ok(buf)
}

/// Refuses a plan that would put a uprobe on the `jmp` of a function patched by another
/// session or tool: the kernel would run the file's instruction there out of line and
/// resume in the middle of the jump, and its removal would write the file's byte back over
/// the `jmp`. Points already moved to a trampoline (this session's patches) are fine.
///
/// # Errors
/// A message naming the function.
pub fn check_not_patched(plan: &Plan) -> Result<(), String> {
    let Ok(mem) = std::fs::File::open(format!("/proc/{}/mem", plan.pid)) else { return Ok(()) };
    for (index, f) in plan.functions.iter().enumerate() {
        let Some(runtime) = f.runtime_address else { continue };
        let Some(entry) =
            plan.points.iter().find(|p| p.function == index as u32 && p.kind == EventKind::Entry && !p.uretprobe)
        else {
            continue;
        };
        if entry.object.extension().is_some_and(|e| e == "tramp") {
            continue; // patched by this session: its points are on the trampoline
        }
        let base = entry.file_offset - f.entry_site.offset;
        let len = f.size.min(9);
        let (Ok(code), Ok(memory)) = (read_code(&entry.object, base, len), read_memory(&mem, runtime, len as usize))
        else {
            continue;
        };
        for start in [0usize, 4] {
            let end = start + JMP_LEN;
            if end > memory.len()
                || memory[start] != 0xe9
                || code[start] == 0xe9
                || memory[start..end] == code[start..end]
            {
                continue;
            }
            let probed = plan
                .points
                .iter()
                .filter(|p| p.function == index as u32 && p.object == entry.object)
                .find(|p| (start as u64..end as u64).contains(&p.file_offset.wrapping_sub(base)));
            if let Some(p) = probed {
                return Err(format!(
                    "`{}` starts with a jump that is not in its file ({}; a --fast-entry session or another tool \
                     patched it): a uprobe at +{:#x} would break it; detach that session first, or trace \
                     with --fast-entry after it",
                    f.name,
                    hex(&memory[start..end]),
                    p.file_offset - base
                ));
            }
        }
    }
    Ok(())
}
