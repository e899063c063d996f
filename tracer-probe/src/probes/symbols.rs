//! Function symbols of ELF files, read with the `object` crate.
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// Errors looking up a function symbol.
#[derive(Debug, thiserror::Error)]
pub enum SymbolError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The ELF file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an ELF object we can parse.
    #[error("cannot parse {path} as ELF: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: object::Error,
    },
}

/// A function found in an ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSymbol {
    /// Symbol name.
    pub name: String,
    /// ELF virtual address (`st_value`).
    pub address: u64,
    /// Size in bytes (`st_size`), 0 when unknown.
    pub size: u64,
    /// Offset of `address` in the file (what uprobes attach to).
    pub file_offset: u64,
    /// Whether it came from `.dynsym` (the file has no `.symtab` entry for it).
    pub from_dynsym: bool,
}

/// The function symbols of one ELF file, loaded once.
pub struct ElfSymbols {
    path: PathBuf,
    data: Vec<u8>,
}

/// Result of looking a name up in an ELF file.
#[derive(Debug)]
pub enum Lookup {
    /// Found.
    Found(FunctionSymbol),
    /// Not found; says whether the file is stripped and which names are close.
    Missing {
        /// The file has no `.symtab`.
        stripped: bool,
        /// Closest function names, best first.
        suggestions: Vec<String>,
    },
}

impl ElfSymbols {
    /// Reads an ELF file.
    ///
    /// # Errors
    /// [`SymbolError::Read`] or [`SymbolError::Parse`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SymbolError> {
        let path = path.as_ref().to_path_buf();
        let data = std::fs::read(&path).map_err(|source| SymbolError::Read { path: path.clone(), source })?;
        object::File::parse(&*data).map_err(|source| SymbolError::Parse { path: path.clone(), source })?;
        Ok(Self { path, data })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw bytes of the file.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    fn file(&self) -> object::File<'_> {
        object::File::parse(&*self.data).expect("parsed in open")
    }

    /// Whether the file has a `.symtab` section.
    pub fn has_symtab(&self) -> bool {
        self.file().section_by_name(".symtab").is_some()
    }

    /// Looks up a defined function by name: `.symtab` first, then `.dynsym`.
    pub fn lookup(&self, name: &str) -> Lookup {
        let file = self.file();
        let from_symtab = file.symbols().find(|s| is_function(s) && s.name() == Ok(name));
        let (symbol, from_dynsym) = match from_symtab {
            Some(s) => (Some(s), false),
            None => (file.dynamic_symbols().find(|s| is_function(s) && s.name() == Ok(name)), true),
        };
        if let Some(symbol) = symbol {
            if let Some(file_offset) = file_offset(&file, symbol.address()) {
                return Lookup::Found(FunctionSymbol {
                    name: name.to_owned(),
                    address: symbol.address(),
                    size: symbol.size(),
                    file_offset,
                    from_dynsym,
                });
            }
        }
        Lookup::Missing { stripped: !self.has_symtab(), suggestions: self.closest_names(name, 3) }
    }

    /// All defined function names.
    pub fn function_names(&self) -> Vec<String> {
        let file = self.file();
        let mut names: Vec<String> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(is_function)
            .filter_map(|s| s.name().ok().map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The `n` function names closest to `name` (Jaro-Winkler similarity).
    pub fn closest_names(&self, name: &str, n: usize) -> Vec<String> {
        closest(name, self.function_names().iter().map(String::as_str), n)
    }

    /// The bytes of a function (its `size` bytes from its file offset).
    pub fn function_bytes(&self, symbol: &FunctionSymbol) -> &[u8] {
        let start = usize::try_from(symbol.file_offset).unwrap_or(usize::MAX);
        let len = usize::try_from(symbol.size.max(1)).unwrap_or(0);
        self.data.get(start..start.saturating_add(len)).unwrap_or(&[])
    }
}

/// The `n` candidates most similar to `name`, best first.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>, n: usize) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> =
        candidates.map(|c| (strsim::jaro_winkler(name, c), c)).filter(|(score, _)| *score > 0.6).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(n).map(|(_, c)| c.to_owned()).collect()
}

fn is_function(symbol: &object::Symbol<'_, '_>) -> bool {
    symbol.kind() == SymbolKind::Text && symbol.is_definition() && symbol.address() != 0
}

fn file_offset(file: &object::File<'_>, address: u64) -> Option<u64> {
    file.sections().find_map(|section| {
        let (offset, size) = section.file_range()?;
        let start = section.address();
        (address >= start && address < start + size).then(|| address - start + offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_functions_in_this_test_binary() {
        let me = std::env::current_exe().unwrap();
        let symbols = ElfSymbols::open(&me).unwrap();
        match symbols.lookup("main") {
            Lookup::Found(f) => {
                assert!(f.size > 0);
                assert!(f.file_offset > 0);
                assert!(!symbols.function_bytes(&f).is_empty());
            }
            Lookup::Missing { .. } => panic!("main not found"),
        }
    }

    #[test]
    fn suggests_close_names() {
        let names = ["clear_lowest", "clear_highest", "price_total", "main"];
        let got = closest("clear_lowst", names.iter().copied(), 2);
        assert_eq!(got, vec!["clear_lowest".to_owned(), "clear_highest".to_owned()]);
    }

    #[test]
    fn rejects_non_elf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"not an elf").unwrap();
        assert!(matches!(ElfSymbols::open(&path), Err(SymbolError::Parse { .. })));
    }
}
