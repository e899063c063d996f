//! Flat term storage, printing and parsing.
//!
//! A [`Term`] is a `Vec` of [`Node`]s addressed by [`Id`]; **children always
//! come before their parents** and the root is the last node (as in egg's
//! `RecExpr`). A node may be shared by several parents, so a term is a DAG;
//! [`Term::size`] and printing still count and show it as a tree.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use smallvec::SmallVec;

use super::ops::Op;
use super::sexpr::{self, SExpr, SExprError};
use super::types::{width_mask, Value};

/// Index of a node inside a [`Term`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub u32);

impl Id {
    /// The index as `usize`.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One node: an operator and the ids of its children.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    /// The operator.
    pub op: Op,
    /// Children, each with a smaller id than this node.
    pub children: SmallVec<[Id; 3]>,
}

/// A term stored flat, children before parents; the root is the last node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Term {
    nodes: Vec<Node>,
}

impl Term {
    /// An empty term (add nodes before use).
    #[must_use]
    pub fn new() -> Term {
        Term::default()
    }

    /// A term holding a single leaf.
    #[must_use]
    pub fn leaf(op: Op) -> Term {
        let mut t = Term::new();
        t.add(op, &[]);
        t
    }

    /// A variable leaf.
    #[must_use]
    pub fn var(name: &str) -> Term {
        Term::leaf(Op::Var(Arc::from(name)))
    }

    /// Appends a node and returns its id.
    ///
    /// # Panics
    ///
    /// If a child id does not refer to an existing node (that would break
    /// the children-before-parents invariant).
    pub fn add(&mut self, op: Op, children: &[Id]) -> Id {
        let id = Id(u32::try_from(self.nodes.len()).expect("term too large"));
        assert!(children.iter().all(|c| *c < id), "children must precede their parent");
        self.nodes.push(Node { op, children: children.into() });
        id
    }

    /// Copies the subterm rooted at `id` of `other` into `self`, returning its new id.
    pub fn add_term(&mut self, other: &Term, id: Id) -> Id {
        let mut map = vec![None; id.index() + 1];
        self.copy_rec(other, id, &mut map)
    }

    fn copy_rec(&mut self, other: &Term, id: Id, map: &mut [Option<Id>]) -> Id {
        if let Some(done) = map[id.index()] {
            return done;
        }
        let node = other.node(id);
        let kids: SmallVec<[Id; 3]> = node.children.iter().map(|c| self.copy_rec(other, *c, map)).collect();
        let new = self.add(node.op.clone(), &kids);
        map[id.index()] = Some(new);
        new
    }

    /// Builds `op(children...)` from whole terms.
    #[must_use]
    pub fn apply(op: Op, args: &[&Term]) -> Term {
        let mut t = Term::new();
        let ids: Vec<Id> = args.iter().map(|a| t.add_term(a, a.root())).collect();
        t.add(op, &ids);
        t
    }

    /// The root id (the last node).
    ///
    /// # Panics
    ///
    /// If the term is empty.
    #[must_use]
    pub fn root(&self) -> Id {
        Id(u32::try_from(self.nodes.len()).expect("term too large") - 1)
    }

    /// The node with the given id.
    #[must_use]
    pub fn node(&self, id: Id) -> &Node {
        &self.nodes[id.index()]
    }

    /// All nodes, children before parents.
    #[must_use]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Whether the term has no nodes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Number of nodes of the term seen as a tree (shared nodes counted once per use).
    #[must_use]
    pub fn size(&self) -> usize {
        let mut sizes = vec![0usize; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            sizes[i] = 1 + n.children.iter().map(|c| sizes[c.index()]).sum::<usize>();
        }
        sizes.last().copied().unwrap_or(0)
    }

    /// Depth of the term (a leaf has depth 1).
    #[must_use]
    pub fn depth(&self) -> usize {
        let mut d = vec![0usize; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            d[i] = 1 + n.children.iter().map(|c| d[c.index()]).max().unwrap_or(0);
        }
        d.last().copied().unwrap_or(0)
    }

    /// Prints the subterm rooted at `id` as an s-expression.
    #[must_use]
    pub fn to_sexpr_at(&self, id: Id) -> String {
        let mut s = String::new();
        self.write_at(id, &mut s);
        s
    }

    fn write_at(&self, id: Id, out: &mut String) {
        let n = self.node(id);
        if n.children.is_empty() {
            out.push_str(&print_leaf(&n.op));
            return;
        }
        out.push('(');
        out.push_str(&n.op.name());
        for c in &n.children {
            out.push(' ');
            self.write_at(*c, out);
        }
        out.push(')');
    }

    /// Parses a term from an already-read s-expression.
    ///
    /// Symbols that are not operators become variables (leaves) or calls
    /// (heads); `let` is expanded by sharing nodes.
    ///
    /// # Errors
    ///
    /// Unknown literal forms and malformed `let`/indexed operators.
    pub fn from_sexpr(e: &SExpr) -> Result<Term, SExprError> {
        let mut t = Term::new();
        let mut scope = Vec::new();
        t.build(e, &mut scope)?;
        Ok(t)
    }

    fn build(&mut self, e: &SExpr, scope: &mut Vec<(String, Id)>) -> Result<Id, SExprError> {
        match e {
            SExpr::Str(s, _) => Ok(self.add(Op::Const(Value::str(s)), &[])),
            SExpr::Atom(a, _) => {
                if let Some((_, id)) = scope.iter().rev().find(|(n, _)| n == a) {
                    return Ok(*id);
                }
                let op = parse_atom(a).map_err(|m| e.error(m))?;
                Ok(self.add(op, &[]))
            }
            SExpr::List(items, _) => {
                let Some(head) = items.first() else {
                    return Err(e.error("empty application `()`"));
                };
                // Literal forms: (- numeral), (_ bvN W).
                if let Some(lit) = literal_list(items).map_err(|m| e.error(m))? {
                    return Ok(self.add(Op::Const(lit), &[]));
                }
                if head.atom() == Some("let") {
                    return self.build_let(e, items, scope);
                }
                let op = match head {
                    SExpr::Atom(name, _) => match Op::from_name(name) {
                        Some(Op::Sub) if items.len() == 2 => Op::Neg,
                        Some(op) => op,
                        None => Op::Call(Arc::from(name.as_str())),
                    },
                    SExpr::List(h, _) => indexed_op(h).map_err(|m| head.error(m))?,
                    SExpr::Str(..) => return Err(head.error("a string literal cannot be applied")),
                };
                let mut kids = SmallVec::<[Id; 3]>::new();
                for arg in &items[1..] {
                    kids.push(self.build(arg, scope)?);
                }
                Ok(self.add(op, &kids))
            }
        }
    }

    fn build_let(&mut self, e: &SExpr, items: &[SExpr], scope: &mut Vec<(String, Id)>) -> Result<Id, SExprError> {
        let [_, binds, body] = items else {
            return Err(e.error("`let` takes a binding list and a body"));
        };
        let binds = binds.list().ok_or_else(|| binds.error("`let` bindings must be a list"))?;
        let mut new = Vec::new();
        for b in binds {
            match b.list() {
                Some([SExpr::Atom(name, _), val]) => new.push((name.clone(), self.build(val, scope)?)),
                _ => return Err(b.error("a `let` binding is `(name term)`")),
            }
        }
        let depth = scope.len();
        scope.extend(new);
        let r = self.build(body, scope);
        scope.truncate(depth);
        r
    }
}

fn print_leaf(op: &Op) -> String {
    match op {
        Op::Call(n) => format!("({n})"),
        Op::Var(n) => print_symbol(n),
        other => other.name(),
    }
}

/// Prints a symbol, quoting it with `|..|` when it is not a simple symbol.
#[must_use]
pub fn print_symbol(n: &str) -> String {
    let simple = !n.is_empty()
        && !n.starts_with(|c: char| c.is_ascii_digit())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "~!@$%^&*_-+=<>.?/".contains(c));
    if simple {
        n.to_string()
    } else {
        format!("|{n}|")
    }
}

fn parse_atom(a: &str) -> Result<Op, String> {
    if a == "true" {
        return Ok(Op::Const(Value::Bool(true)));
    }
    if a == "false" {
        return Ok(Op::Const(Value::Bool(false)));
    }
    if let Some(hex) = a.strip_prefix("#x") {
        let w = u32::try_from(hex.len() * 4).map_err(|_| "literal too long".to_string())?;
        if w == 0 || w > 64 {
            return Err(format!("bit-vector literal `{a}` must have 1 to 64 bits"));
        }
        let bits = u64::from_str_radix(hex, 16).map_err(|_| format!("bad hexadecimal literal `{a}`"))?;
        return Ok(Op::Const(Value::bv(w, bits)));
    }
    if let Some(bin) = a.strip_prefix("#b") {
        let w = u32::try_from(bin.len()).map_err(|_| "literal too long".to_string())?;
        if w == 0 || w > 64 {
            return Err(format!("bit-vector literal `{a}` must have 1 to 64 bits"));
        }
        let bits = u64::from_str_radix(bin, 2).map_err(|_| format!("bad binary literal `{a}`"))?;
        return Ok(Op::Const(Value::bv(w, bits)));
    }
    if a.starts_with(|c: char| c.is_ascii_digit()) {
        let n: i128 = a.parse().map_err(|_| format!("bad numeral `{a}`"))?;
        return Ok(Op::Const(Value::Int(n)));
    }
    if Op::from_name(a).is_some() {
        return Err(format!("operator `{a}` used without arguments"));
    }
    Ok(Op::Var(Arc::from(a)))
}

/// Recognises `(- 5)` and `(_ bv5 32)`.
fn literal_list(items: &[SExpr]) -> Result<Option<Value>, String> {
    match items {
        [SExpr::Atom(m, _), SExpr::Atom(n, _)] if m == "-" && n.starts_with(|c: char| c.is_ascii_digit()) => {
            let v: i128 = n.parse().map_err(|_| format!("bad numeral `{n}`"))?;
            Ok(Some(Value::Int(-v)))
        }
        [SExpr::Atom(u, _), SExpr::Atom(bv, _), SExpr::Atom(w, _)] if u == "_" && bv.starts_with("bv") => {
            let v: u128 = bv[2..].parse().map_err(|_| format!("bad literal `(_ {bv} {w})`"))?;
            let w: u32 = w.parse().map_err(|_| format!("bad width `{w}`"))?;
            if w == 0 || w > 64 {
                return Err(format!("bit-vector width {w} is outside 1..=64"));
            }
            #[allow(clippy::cast_possible_truncation, reason = "masked to the width right after")]
            Ok(Some(Value::bv(w, (v as u64) & width_mask(w))))
        }
        _ => Ok(None),
    }
}

fn indexed_op(h: &[SExpr]) -> Result<Op, String> {
    let [SExpr::Atom(u, _), SExpr::Atom(name, _), idx @ ..] = h else {
        return Err("expected an indexed operator `(_ name index..)`".into());
    };
    if u != "_" {
        return Err("expected an indexed operator `(_ name index..)`".into());
    }
    let nums: Result<Vec<u32>, _> = idx.iter().map(|i| i.atom().unwrap_or("").parse::<u32>()).collect();
    let nums = nums.map_err(|_| format!("bad indices for `{name}`"))?;
    Op::from_indexed(name, &nums).ok_or_else(|| format!("unknown indexed operator `{name}`"))
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("<empty>");
        }
        f.write_str(&self.to_sexpr_at(self.root()))
    }
}

impl FromStr for Term {
    type Err = SExprError;

    fn from_str(s: &str) -> Result<Term, SExprError> {
        let all = sexpr::parse_all(s)?;
        match all.as_slice() {
            [one] => Term::from_sexpr(one),
            [] => Err(SExprError { line: 1, message: "no term".into() }),
            [_, second, ..] => Err(second.error("more than one term")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [
            "(bvand x (bvsub x #x00000001))",
            "(ite (= x #x0000000000000001) y z)",
            "(str.++ (str.substr name 0 (str.indexof name \" \" 0)) \"a\"\"b\")",
            "(+ (- 3) (str.len s))",
            "((_ extract 7 0) (concat a b))",
            "(im (bvand #x0000000000000001 x) (ehad x) (smol x))",
            "(- x)",
            "(f)",
            "true",
        ] {
            let t: Term = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
            let again: Term = t.to_string().parse().unwrap();
            assert_eq!(again, t);
        }
    }

    #[test]
    fn children_precede_parents_and_root_is_last() {
        let t: Term = "(bvadd (bvnot x) x)".parse().unwrap();
        for (i, n) in t.nodes().iter().enumerate() {
            assert!(n.children.iter().all(|c| c.index() < i));
        }
        assert_eq!(t.node(t.root()).op, Op::BvAdd);
        assert_eq!(t.size(), 4);
        assert_eq!(t.depth(), 3);
    }

    #[test]
    fn let_and_other_literal_forms_expand() {
        let t: Term = "(let ((a (bvnot x))) (bvand a a))".parse().unwrap();
        assert_eq!(t.to_string(), "(bvand (bvnot x) (bvnot x))");
        assert_eq!(t.size(), 5);
        let b: Term = "#b0101".parse().unwrap();
        assert_eq!(b.node(b.root()).op, Op::Const(Value::bv(4, 5)));
        let c: Term = "(_ bv10 32)".parse().unwrap();
        assert_eq!(c.to_string(), "#x0000000a");
    }

    #[test]
    fn bad_literals_are_errors() {
        assert!("#x".parse::<Term>().is_err());
        assert!("(bvand x".parse::<Term>().is_err());
        assert!("()".parse::<Term>().is_err());
        assert!("bvand".parse::<Term>().is_err());
    }
}
