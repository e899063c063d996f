//! What a user says about pointer parameters that the DWARF heuristics cannot know:
//! `--arg NAME:len=PARAM` (the parameter that counts its elements), `--arg NAME:out` (read
//! it again at the return: the function writes it), `--arg NAME:in` (do not), or both
//! (`--arg NAME:len=PARAM,out`). It applies to every traced function with a parameter
//! `NAME`.
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
    /// `len=4096`: the probes read as many elements as a parameter says.
    #[error(
        "--arg {0:?}: a fixed length is not supported; name the parameter that holds the length \
         (--array-cap bounds the bytes read)"
    )]
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
        let mut out = ArgOverride { spec: spec.to_owned(), name: name.to_owned(), len: None, written: None };
        for part in what.split(',') {
            match part.split_once('=') {
                Some(("len", len)) if len.parse::<u64>().is_ok() => {
                    return Err(ArgOverrideError::FixedLength(spec.to_owned()))
                }
                Some(("len", len)) if valid_name(len) && out.len.is_none() => out.len = Some(len.to_owned()),
                None if part == "out" && out.written.is_none() => out.written = Some(true),
                None if part == "in" && out.written.is_none() => out.written = Some(false),
                _ => return Err(syntax()),
            }
        }
        Ok(out)
    }
}

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
                let ValueKind::Elements { bytes, signed, count_param } = param.ctype.kind else {
                    return Err(unsuitable(format!(
                        "`{}` is {}, not a pointer to integers",
                        param.name, param.ctype.name
                    )));
                };
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
                f.params[pi].ctype.kind = ValueKind::Elements { bytes, signed, count_param };
                self.replan_arrays(fi, pi, o.written);
            }
            if !found {
                return Err(ArgOverrideError::NoSuchParameter { spec: o.spec.clone(), name: o.name.clone() });
            }
        }
        Ok(())
    }

    /// Recomputes the array reads of function `fi`'s probes from its parameters, keeping
    /// their cap and the other parameters' return reads, with parameter `pi` read again at
    /// the return as `written` says (unchanged when `None`).
    fn replan_arrays(&mut self, fi: usize, pi: usize, written: Option<bool>) {
        let f = &self.functions[fi];
        let slots = dwarf::register_slots(&f.params);
        let Some(entry) = self.points.iter().find(|p| p.function as usize == fi && p.kind == EventKind::Entry) else {
            return;
        };
        let (cap, old_out) = (entry.arrays.cap, entry.arrays.out);
        if cap == 0 && entry.arrays.mask == 0 && old_out == 0 {
            // `--array-cap 0`: nothing is read, whatever is said of it.
            return;
        }
        let mut reads = ArrayReads::for_params(&f.params, &slots, cap, &mut Vec::new());
        reads.out = old_out;
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
        assert!(matches!("buf:len=4096".parse::<ArgOverride>(), Err(ArgOverrideError::FixedLength(_))));
        for bad in ["a", ":len=n", "a:", "a:len=", "a:out,in", "a:len=n,len=m", "a:size=n", "1a:out", "a b:out"] {
            assert!(matches!(bad.parse::<ArgOverride>(), Err(ArgOverrideError::Syntax(_))), "{bad}");
        }
    }
}
