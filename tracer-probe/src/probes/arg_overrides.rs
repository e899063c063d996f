//! What a user says about pointer parameters that the DWARF heuristics cannot know:
//! `--arg NAME:len=PARAM` (the parameter that counts its elements), `--arg NAME:len=64`
//! (a fixed number of elements; a `void *` or `char *` is then read as that many bytes),
//! `--arg NAME:out` (read it again at the return: the function writes it), `--arg NAME:in`
//! (do not), or both (`--arg NAME:len=PARAM,out`). It applies to every traced function with
//! a parameter `NAME`.
use std::str::FromStr;

use tracer_common::EventKind;

use super::{
    dwarf::{self, ValueKind},
    writable, ArrayReads, Plan,
};
use crate::trace::RetMode;

/// A `--arg` that cannot be taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgOverrideError {
    /// Not `NAME:len=PARAM`, `NAME:out`, `NAME:in` or a comma-separated mix.
    #[error("--arg {0:?}: give NAME:len=PARAM, NAME:out, NAME:in, or NAME:len=PARAM,out")]
    Syntax(String),
    /// `len=0`, or more elements than the largest read holds.
    #[error("--arg {0:?}: a fixed length is 1 to {max} elements (--array-cap bounds the bytes read)", max = MAX_FIXED)]
    FixedLength(String),
    /// No traced function has the parameter.
    #[error("--arg {spec:?}: no traced function has a parameter `{name}`")]
    NoSuchParameter {
        /// The `--arg` given.
        spec: String,
        /// The parameter named.
        name: String,
    },
    /// The parameter is not a pointer to integers, or its length is not an integer.
    #[error("--arg {spec:?}: in {function}, {what}")]
    Unsuitable {
        /// The `--arg` given.
        spec: String,
        /// The function.
        function: String,
        /// What does not fit.
        what: String,
    },
}

/// One `--arg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgOverride {
    spec: String,
    /// The pointer parameter.
    pub name: String,
    /// The parameter that counts its elements, when given.
    pub len: Option<String>,
    /// A fixed number of elements, when given instead.
    pub fixed: Option<u32>,
    /// Read again at the return (`out`), or not (`in`), when given.
    pub written: Option<bool>,
}

impl std::fmt::Display for ArgOverride {
    /// The `--arg` as it was given.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spec)
    }
}

impl FromStr for ArgOverride {
    type Err = ArgOverrideError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let syntax = || ArgOverrideError::Syntax(spec.to_owned());
        let (name, what) = spec.split_once(':').ok_or_else(syntax)?;
        let valid_name = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(char::is_numeric)
        };
        if !valid_name(name) {
            return Err(syntax());
        }
        let mut out =
            ArgOverride { spec: spec.to_owned(), name: name.to_owned(), len: None, fixed: None, written: None };
        for part in what.split(',') {
            let given = out.len.is_some() || out.fixed.is_some();
            match part.split_once('=') {
                Some(("len", len)) if len.parse::<u64>().is_ok() && !given => match len.parse::<u32>() {
                    Ok(n) if (1..=MAX_FIXED).contains(&n) => out.fixed = Some(n),
                    _ => return Err(ArgOverrideError::FixedLength(spec.to_owned())),
                },
                Some(("len", len)) if valid_name(len) && !given => out.len = Some(len.to_owned()),
                None if part == "out" && out.written.is_none() => out.written = Some(true),
                None if part == "in" && out.written.is_none() => out.written = Some(false),
                _ => return Err(syntax()),
            }
        }
        Ok(out)
    }
}

/// The most elements a fixed length may name: as many bytes as the largest read.
pub const MAX_FIXED: u32 = tracer_common::BYTES_LARGE as u32;

impl Plan {
    /// Applies `overrides` to the functions of this plan: the count parameter of an array
    /// and whether it is read again at the return, in the probes and in what
    /// [`Plan::explain`] shows.
    ///
    /// # Errors
    /// A parameter no traced function has, one that is not a pointer to integers, a length
    /// that is not an integer parameter, `out` on a `const` pointer or with
    /// `--ret-probes insn`.
    pub fn apply_arg_overrides(&mut self, overrides: &[ArgOverride]) -> Result<(), ArgOverrideError> {
        for o in overrides {
            let mut found = false;
            for fi in 0..self.functions.len() {
                let f = &mut self.functions[fi];
                let Some(pi) = f.params.iter().position(|p| p.name == o.name) else { continue };
                found = true;
                let unsuitable = |what: String| ArgOverrideError::Unsuitable {
                    spec: o.spec.clone(),
                    function: f.name.clone(),
                    what,
                };
                let param = &f.params[pi];
                let (bytes, signed, count_param) = match param.ctype.kind {
                    ValueKind::Elements { bytes, signed, count_param } => (bytes, signed, count_param),
                    // Structs: counted by a parameter, not by a fixed number.
                    ValueKind::Record { count_param, .. } if o.fixed.is_none() => (0, false, count_param),
                    // A fixed length makes bytes of an untyped or string pointer.
                    ValueKind::Pointer | ValueKind::CString if o.fixed.is_some() => (1, false, None),
                    _ => {
                        return Err(unsuitable(format!(
                            "`{}` is {}, not a pointer to integers{}",
                            param.name,
                            param.ctype.name,
                            if o.fixed.is_some() { " or bytes" } else { "" }
                        )))
                    }
                };
                let count_param = if o.fixed.is_some() { None } else { count_param };
                let count_param = match &o.len {
                    None => count_param,
                    Some(len) => {
                        let j =
                            f.params.iter().position(|p| &p.name == len).ok_or_else(|| {
                                unsuitable(format!("there is no parameter `{len}` to hold the length"))
                            })?;
                        if !matches!(f.params[j].ctype.kind, ValueKind::Signed { .. } | ValueKind::Unsigned { .. }) {
                            return Err(unsuitable(format!(
                                "the length `{len}` is {}, not an integer",
                                f.params[j].ctype.name
                            )));
                        }
                        u8::try_from(j).ok()
                    }
                };
                if o.written == Some(true) {
                    if !writable(&param.ctype.name) {
                        return Err(unsuitable(format!(
                            "`{}` is {}: the function cannot write through it",
                            param.name, param.ctype.name
                        )));
                    }
                    if f.ret_mode == RetMode::Insn {
                        return Err(unsuitable(
                            "reading memory again at the return needs --ret-probes uretprobe".into(),
                        ));
                    }
                }
                let was_string = param.ctype.kind == ValueKind::CString;
                f.params[pi].ctype.kind = match param.ctype.kind {
                    ValueKind::Record { bytes, .. } => ValueKind::Record { bytes, count_param },
                    _ => ValueKind::Elements { bytes, signed, count_param },
                };
                if was_string {
                    // Its bytes now, not a string up to a NUL.
                    if let Some(s) = dwarf::register_slots(&f.params, &f.ret).get(pi).copied().flatten() {
                        for p in self.points.iter_mut().filter(|p| p.function as usize == fi) {
                            p.string_mask &= !(1 << s);
                        }
                    }
                }
                self.replan_arrays(fi, pi, o.written, o.fixed);
            }
            if !found {
                return Err(ArgOverrideError::NoSuchParameter { spec: o.spec.clone(), name: o.name.clone() });
            }
        }
        Ok(())
    }

    /// Recomputes the array reads of function `fi`'s probes from its parameters, keeping
    /// their cap, the other parameters' return reads and fixed lengths, with parameter `pi`
    /// read again at the return as `written` says (unchanged when `None`) and `fixed`
    /// elements when given.
    fn replan_arrays(&mut self, fi: usize, pi: usize, written: Option<bool>, fixed: Option<u32>) {
        let f = &self.functions[fi];
        let slots = dwarf::register_slots(&f.params, &f.ret);
        let Some(entry) = self.points.iter().find(|p| p.function as usize == fi && p.kind == EventKind::Entry) else {
            return;
        };
        let (cap, old_out) = (entry.arrays.cap, entry.arrays.out);
        if cap == 0 && entry.arrays.mask == 0 && old_out == 0 {
            // `--array-cap 0`: nothing is read, whatever is said of it.
            return;
        }
        let old = entry.arrays;
        let mut reads = ArrayReads::for_params(&f.params, &slots, cap, &mut Vec::new());
        reads.out = old_out;
        reads.field_strings = old.field_strings;
        let fix = |reads: &mut ArrayReads, s: usize, n: u32| {
            reads.len = (reads.len & !(0xf << (4 * s))) | (tracer_common::ARRAY_FIXED << (4 * s));
            reads.count[s] = n;
        };
        for (k, slot) in slots.iter().enumerate() {
            let Some(s) = *slot else { continue };
            let was_fixed = (old.len >> (4 * s)) & 0xf == tracer_common::ARRAY_FIXED;
            if k != pi && was_fixed && matches!(f.params[k].ctype.kind, ValueKind::Elements { .. }) {
                fix(&mut reads, s, old.count[s]);
            }
        }
        if let (Some(s), Some(n)) = (slots.get(pi).copied().flatten(), fixed) {
            fix(&mut reads, s, n);
        }
        if let (Some(s), Some(w)) = (slots.get(pi).copied().flatten(), written) {
            if w {
                reads.out |= 1 << s;
            } else {
                reads.out &= !(1 << s);
            }
        }
        for p in self.points.iter_mut().filter(|p| p.function as usize == fi) {
            p.arrays = reads;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lengths_and_directions_and_refuses_the_rest() {
        let o: ArgOverride = "a:len=n".parse().unwrap();
        assert_eq!((o.name.as_str(), o.len.as_deref(), o.written), ("a", Some("n"), None));
        let o: ArgOverride = "out_buf:len=count,out".parse().unwrap();
        assert_eq!((o.len.as_deref(), o.written), (Some("count"), Some(true)));
        assert_eq!("dst:in".parse::<ArgOverride>().unwrap().written, Some(false));
        let o: ArgOverride = "buf:len=4096,out".parse().unwrap();
        assert_eq!((o.fixed, o.len.as_deref(), o.written), (Some(4096), None, Some(true)));
        for bad in ["buf:len=0", "buf:len=4097", "buf:len=99999999999"] {
            assert!(matches!(bad.parse::<ArgOverride>(), Err(ArgOverrideError::FixedLength(_))), "{bad}");
        }
        for bad in [
            "a",
            ":len=n",
            "a:",
            "a:len=",
            "a:out,in",
            "a:len=n,len=m",
            "a:len=n,len=4",
            "a:size=n",
            "1a:out",
            "a b:out",
        ] {
            assert!(matches!(bad.parse::<ArgOverride>(), Err(ArgOverrideError::Syntax(_))), "{bad}");
        }
    }
}
