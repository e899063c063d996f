//! Which calls' argument and return values may leave the host.

use serde::{Deserialize, Serialize};

/// Whose argument and return values an export sends: none, every function's, or only the
/// named functions'. Written as `false`, `true` or `["parse", "price"]` in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, expecting = "true, false or a list of function names")]
pub enum ExportValues {
    /// `true`: every function's; `false`: none.
    All(bool),
    /// Only these functions'.
    Only(Vec<String>),
}

impl Default for ExportValues {
    fn default() -> Self {
        ExportValues::All(false)
    }
}

impl ExportValues {
    /// Every function's values.
    #[must_use]
    pub fn all() -> Self {
        ExportValues::All(true)
    }

    /// Whether calls of `function` are sent with their values.
    #[must_use]
    pub fn allows(&self, function: &str) -> bool {
        match self {
            ExportValues::All(all) => *all,
            ExportValues::Only(names) => names.iter().any(|n| n == function),
        }
    }

    /// Whether any function's values are sent.
    #[must_use]
    pub fn any(&self) -> bool {
        match self {
            ExportValues::All(all) => *all,
            ExportValues::Only(names) => !names.is_empty(),
        }
    }

    /// The named functions that are not among `functions` (a list naming a function the
    /// session does not trace is a mistake worth saying).
    #[must_use]
    pub fn unknown<'a>(&'a self, functions: &[String]) -> Vec<&'a str> {
        match self {
            ExportValues::All(_) => Vec::new(),
            ExportValues::Only(names) => names.iter().filter(|n| !functions.contains(n)).map(String::as_str).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_flag_or_a_list_of_functions() {
        let all: ExportValues = serde_json::from_str("true").unwrap();
        assert!(all.allows("anything") && all.any());
        let none: ExportValues = serde_json::from_str("false").unwrap();
        assert!(!none.allows("anything") && !none.any());
        let only: ExportValues = serde_json::from_str(r#"["price"]"#).unwrap();
        assert!(only.allows("price") && !only.allows("parse"));
        assert_eq!(only.unknown(&["price".into(), "parse".into()]), Vec::<&str>::new());
        assert_eq!(only.unknown(&["parse".into()]), ["price"]);
        assert_eq!(serde_json::to_string(&only).unwrap(), r#"["price"]"#);
        assert!(serde_json::from_str::<ExportValues>("3").is_err());
    }
}
