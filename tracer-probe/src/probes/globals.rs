//! Memory a function reads that no probe captures: writable globals (`.data`, `.bss`, and
//! pointers loaded from the GOT), found in its machine code (iced-x86) by the
//! RIP-relative operands it reads. A function that reads one may not be a function of
//! its arguments, whatever the recorded calls show; read-only data (`.rodata`: tables,
//! string literals) is constant and not reported. Reads through an address computed
//! first (`lea` of a global, then an indexed load) are not seen: a `lea` alone may only
//! be writing (a static result buffer), and calling that impure would be wrong.
use std::path::Path;

use iced_x86::{Decoder, DecoderOptions, FlowControl, InstructionInfoFactory, OpAccess, Register};
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SymbolKind};

/// Why the code could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GlobalsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not an object file `object` can parse.
    #[error("cannot parse {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The error.
        source: object::Error,
    },
}

/// A writable global a function reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalRead {
    /// Its address in the file.
    pub address: u64,
    /// The data symbol it lies in, when the file names one.
    pub symbol: Option<String>,
    /// The section: `.data`, `.bss`, `.got`...
    pub section: String,
}

impl std::fmt::Display for GlobalRead {
    /// `` `counter` (.bss, 0x4014) ``.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.symbol {
            Some(name) => write!(f, "`{name}` ({}, {:#x})", self.section, self.address),
            None => write!(f, "{:#x} ({})", self.address, self.section),
        }
    }
}

/// The writable globals the `size` bytes of code at `address` in `object` read, each once,
/// in address order.
///
/// # Errors
/// The file cannot be read or parsed.
pub fn writable_reads(object: &Path, address: u64, size: u64) -> Result<Vec<GlobalRead>, GlobalsError> {
    let path = object.display().to_string();
    let data = std::fs::read(object).map_err(|source| GlobalsError::Read { path: path.clone(), source })?;
    let file = object::File::parse(&*data).map_err(|source| GlobalsError::Parse { path, source })?;
    let Some(code) = file.sections().find_map(|s| {
        let start = address.checked_sub(s.address())?;
        let end = start.checked_add(size)?;
        (end <= s.size()).then(|| s.data().ok()?.get(start as usize..end as usize)).flatten()
    }) else {
        return Ok(Vec::new());
    };
    let writable_section = |target: u64| {
        file.sections().find(|s| (s.address()..s.address() + s.size()).contains(&target)).and_then(|s| {
            let writable = match s.flags() {
                SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_WRITE) != 0,
                _ => false,
            };
            writable.then(|| s.name().unwrap_or("?").to_string())
        })
    };
    let mut factory = InstructionInfoFactory::new();
    let mut found: Vec<GlobalRead> = Vec::new();
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    for instruction in &mut decoder {
        // A call or jump through the GOT reaches code, not data.
        if !instruction.is_ip_rel_memory_operand()
            || matches!(instruction.flow_control(), FlowControl::IndirectCall | FlowControl::IndirectBranch)
        {
            continue;
        }
        let target = instruction.ip_rel_memory_address();
        let reads = factory
            .info(&instruction)
            .used_memory()
            .iter()
            // The instruction's one memory operand is the RIP-relative one (iced gives it
            // with its absolute address, not RIP as the base).
            .any(|m| {
                m.base() != Register::RSP
                    && matches!(
                        m.access(),
                        OpAccess::Read | OpAccess::ReadWrite | OpAccess::CondRead | OpAccess::ReadCondWrite
                    )
            });
        // Only reads: a `lea` takes an address, which a function may only write through
        // (a static result buffer), so it is not counted.
        if !reads || found.iter().any(|g| g.address == target) {
            continue;
        }
        let Some(section) = writable_section(target) else { continue };
        let symbol = file
            .symbols()
            .find(|s| s.kind() == SymbolKind::Data && (s.address()..s.address() + s.size().max(1)).contains(&target))
            .and_then(|s| s.name().ok().map(str::to_string));
        found.push(GlobalRead { address: target, symbol, section });
    }
    found.sort_by_key(|g| g.address);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_global_read_is_found_and_a_constant_table_is_not() {
        if !test_support::ci::require_tool("a_writable_global_read_is_found", "gcc") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("g.c");
        std::fs::write(
            &src,
            "int factor = 3;\nstatic const int table[4] = {1, 2, 4, 8};\n\
             __attribute__((noinline)) int scaled(int x) { return x * factor; }\n\
             __attribute__((noinline)) int lookup(int i) { return table[i & 3]; }\n\
             int main(int argc, char **argv) { (void)argv; return scaled(argc) + lookup(argc); }\n",
        )
        .unwrap();
        let bin = dir.path().join("g");
        let ok = std::process::Command::new("gcc").args(["-O2", "-o"]).arg(&bin).arg(&src).status().unwrap();
        assert!(ok.success());
        let data = std::fs::read(&bin).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let symbol =
            |name: &str| file.symbols().find(|s| s.name() == Ok(name)).map(|s| (s.address(), s.size())).unwrap();
        let (address, size) = symbol("scaled");
        let reads = writable_reads(&bin, address, size).unwrap();
        assert_eq!(reads.len(), 1, "{reads:?}");
        assert_eq!(reads[0].symbol.as_deref(), Some("factor"));
        assert_eq!(reads[0].section, ".data");
        let (address, size) = symbol("lookup");
        assert_eq!(writable_reads(&bin, address, size).unwrap(), Vec::new(), "read-only data is constant");
    }
}
