//! The typed term language: sorts and values, operators, flat terms with
//! s-expression syntax, and the vectorised interpreter.
//!
//! ```
//! use synth_engine::dsl::{eval_one, FunDefs, Term, Value};
//!
//! let t: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
//! let v = eval_one(&t, &[("x", Value::bv(32, 12))], &FunDefs::new()).unwrap();
//! assert_eq!(v, Value::bv(32, 8));
//! assert_eq!(t.to_string(), "(bvand x (bvsub x #x00000001))");
//! ```

mod eval;
mod ops;
pub mod sexpr;
pub mod strings;
mod term;
mod types;

pub use eval::{apply, bv_binary, bv_compare, eval_one, eval_term, Column, EvalError, FunDef, FunDefs};
pub use ops::Op;
pub use sexpr::{SExpr, SExprError};
pub use term::{print_symbol, Id, Node, Term};
pub(crate) use types::gcd;
pub use types::{to_signed, width_mask, Sort, Value};

/// Infers the sort of `term` given the sorts of its free variables and the
/// callable functions.
///
/// # Errors
///
/// A lowercase message naming the offending operator.
pub fn sort_of(term: &Term, vars: &[(&str, Sort)], funs: &FunDefs) -> Result<Sort, String> {
    let mut sorts: Vec<Sort> = Vec::with_capacity(term.nodes().len());
    for node in term.nodes() {
        let args: Vec<Sort> = node.children.iter().map(|c| sorts[c.index()]).collect();
        let s = match &node.op {
            Op::Var(n) => vars
                .iter()
                .rev()
                .find(|(v, _)| *v == &**n)
                .map(|(_, s)| *s)
                .ok_or_else(|| format!("unknown variable `{n}`"))?,
            Op::Call(n) => {
                let def = funs.get(&**n).ok_or_else(|| format!("unknown function `{n}`"))?;
                let want: Vec<Sort> = def.params.iter().map(|(_, s)| *s).collect();
                if want != args {
                    return Err(format!("`{n}` expects arguments of sorts {want:?}, got {args:?}"));
                }
                def.ret
            }
            op => op.result_sort(&args)?,
        };
        sorts.push(s);
    }
    sorts.last().copied().ok_or_else(|| "empty term".to_string())
}
