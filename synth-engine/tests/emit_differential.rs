//! Differential test of the three emitters against the interpreter: many
//! random well-typed terms (fixed seed) are emitted as Rust, Python and C
//! functions, compiled and run in one program per language, and their
//! outputs compared with the interpreter's on a set of edge and random
//! inputs. Catches precedence and width bugs in the emitters.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synth_engine::dsl::{eval_one, to_signed, width_mask, FunDefs, Op, Sort, Term, Value};
use synth_engine::emit::{emit_function, Lang};
use synth_engine::spec::{Param, Problem, TypeSpec};

/// A family of cases sharing one signature and one input table.
struct Family {
    params: Vec<(&'static str, TypeSpec)>,
    inputs: Vec<Vec<Value>>,
}

struct Case {
    problem: Problem,
    term: Term,
    family: usize,
    expected: Vec<String>,
}

fn ty(sort: Sort, signed: bool) -> TypeSpec {
    TypeSpec { sort, signed }
}

const STR_ALPHABET: &[char] = &['a', 'b', 'A', ' ', '1', '2', '.', '-', ','];

struct Gen<'a> {
    rng: ChaCha8Rng,
    vars: &'a [(&'static str, TypeSpec)],
    /// With sharing on, compound subterms built so far (for one term), which later
    /// positions of the same sort may repeat: the emitters then name them as locals.
    shared: Option<Vec<(Sort, Term)>>,
}

impl Gen<'_> {
    fn bv_const(&mut self, w: u32) -> u64 {
        let m = width_mask(w);
        let picks = [0, 1, 2, 3, 7, 9, 10, u64::from(w) - 1, u64::from(w), m, m - 1, m >> 1, (m >> 1) + 1, 0x55 & m];
        if self.rng.gen_bool(0.8) {
            picks[self.rng.gen_range(0..picks.len())]
        } else {
            self.rng.gen::<u64>() & m
        }
    }

    fn string_const(&mut self) -> String {
        let n = self.rng.gen_range(0..3);
        (0..n).map(|_| STR_ALPHABET[self.rng.gen_range(0..STR_ALPHABET.len())]).collect()
    }

    fn leaf(&mut self, sort: Sort) -> Term {
        let vars: Vec<&str> = self.vars.iter().filter(|(_, t)| t.sort == sort).map(|(n, _)| *n).collect();
        if !vars.is_empty() && self.rng.gen_bool(0.7) {
            return Term::var(vars[self.rng.gen_range(0..vars.len())]);
        }
        let v = match sort {
            Sort::Bool => Value::Bool(self.rng.gen()),
            Sort::Int => Value::Int(self.rng.gen_range(-3..12)),
            Sort::String => Value::str(&self.string_const()),
            Sort::BitVec(w) => Value::bv(w, self.bv_const(w)),
        };
        Term::leaf(Op::Const(v))
    }

    fn app(&mut self, op: Op, args: &[(Sort, usize)]) -> Term {
        let kids: Vec<Term> = args.iter().map(|(s, d)| self.term(*s, *d)).collect();
        let refs: Vec<&Term> = kids.iter().collect();
        Term::apply(op, &refs)
    }

    fn term(&mut self, sort: Sort, depth: usize) -> Term {
        if depth == 0 || self.rng.gen_bool(0.15) {
            return self.leaf(sort);
        }
        if let Some(pool) = &self.shared {
            let same: Vec<&Term> = pool.iter().filter(|(s, _)| *s == sort).map(|(_, t)| t).collect();
            if !same.is_empty() && self.rng.gen_bool(0.4) {
                return same[self.rng.gen_range(0..same.len())].clone();
            }
        }
        let t = self.fresh_term(sort, depth);
        if let Some(pool) = &mut self.shared {
            if t.size() >= 3 {
                pool.push((sort, t.clone()));
            }
        }
        t
    }

    fn fresh_term(&mut self, sort: Sort, depth: usize) -> Term {
        let d = depth - 1;
        let has_str = self.vars.iter().any(|(_, t)| t.sort == Sort::String);
        match sort {
            Sort::BitVec(w) => {
                let bv = Sort::BitVec(w);
                let r = self.rng.gen_range(0..100);
                match r {
                    0..=3 => self.app(Op::BvNot, &[(bv, d)]),
                    4..=6 => self.app(Op::BvNeg, &[(bv, d)]),
                    7..=48 => {
                        let ops = [
                            Op::BvAnd,
                            Op::BvOr,
                            Op::BvXor,
                            Op::BvNand,
                            Op::BvNor,
                            Op::BvXnor,
                            Op::BvAdd,
                            Op::BvSub,
                            Op::BvMul,
                            Op::BvUdiv,
                            Op::BvUrem,
                            Op::BvSdiv,
                            Op::BvSrem,
                            Op::BvSmod,
                            Op::BvShl,
                            Op::BvLshr,
                            Op::BvAshr,
                        ];
                        let op = ops[self.rng.gen_range(0..ops.len())].clone();
                        self.app(op, &[(bv, d), (bv, d)])
                    }
                    49..=58 => self.app(Op::Ite, &[(Sort::Bool, d), (bv, d), (bv, d)]),
                    59..=62 => {
                        let n = self.rng.gen_range(0..w + 3);
                        let op = if self.rng.gen() { Op::RotateLeft(n) } else { Op::RotateRight(n) };
                        self.app(op, &[(bv, d)])
                    }
                    63..=74 if w > 8 => {
                        let from =
                            [8, 16, 32].into_iter().filter(|f| *f < w).nth(self.rng.gen_range(0..3)).unwrap_or(w / 2);
                        let op = if self.rng.gen() { Op::SignExtend(w - from) } else { Op::ZeroExtend(w - from) };
                        self.app(op, &[(Sort::BitVec(from), d)])
                    }
                    75..=84 if w < 64 => {
                        let from = if w == 32 || self.rng.gen() { 64 } else { 32 };
                        let lo = if self.rng.gen_bool(0.5) { 0 } else { self.rng.gen_range(0..=from - w) };
                        self.app(Op::Extract(lo + w - 1, lo), &[(Sort::BitVec(from), d)])
                    }
                    85..=88 if w == 64 => self.app(Op::Concat, &[(Sort::BitVec(32), d), (Sort::BitVec(32), d)]),
                    89..=99 if has_str => self.app(Op::Int2Bv(w), &[(Sort::Int, d)]),
                    _ => self.leaf(sort),
                }
            }
            Sort::Bool => {
                let r = self.rng.gen_range(0..100);
                match r {
                    0..=49 => {
                        let w = [32, 64, 32, 8][self.rng.gen_range(0..4)];
                        let ops = [
                            Op::Eq,
                            Op::BvUlt,
                            Op::BvUle,
                            Op::BvUgt,
                            Op::BvUge,
                            Op::BvSlt,
                            Op::BvSle,
                            Op::BvSgt,
                            Op::BvSge,
                        ];
                        let op = ops[self.rng.gen_range(0..ops.len())].clone();
                        self.app(op, &[(Sort::BitVec(w), d), (Sort::BitVec(w), d)])
                    }
                    50..=54 => self.app(Op::Not, &[(Sort::Bool, d)]),
                    55..=64 => {
                        let ops = [Op::And, Op::Or, Op::Xor, Op::Implies, Op::Eq];
                        let op = ops[self.rng.gen_range(0..ops.len())].clone();
                        self.app(op, &[(Sort::Bool, d), (Sort::Bool, d)])
                    }
                    65..=84 if has_str => {
                        let ops = [Op::StrPrefixOf, Op::StrSuffixOf, Op::StrContains, Op::Eq];
                        let op = ops[self.rng.gen_range(0..ops.len())].clone();
                        self.app(op, &[(Sort::String, d), (Sort::String, d)])
                    }
                    85..=99 if has_str => {
                        let ops = [Op::Le, Op::Lt, Op::Ge, Op::Gt, Op::Eq];
                        let op = ops[self.rng.gen_range(0..ops.len())].clone();
                        self.app(op, &[(Sort::Int, d), (Sort::Int, d)])
                    }
                    _ => self.leaf(sort),
                }
            }
            Sort::Int => {
                let r = self.rng.gen_range(0..100);
                match r {
                    0..=24 => self.app(Op::StrLen, &[(Sort::String, d)]),
                    25..=34 => self.app(Op::StrIndexOf, &[(Sort::String, d), (Sort::String, d), (Sort::Int, d)]),
                    35..=39 => self.app(Op::StrToInt, &[(Sort::String, d)]),
                    40..=59 => {
                        let op = if self.rng.gen() { Op::Add } else { Op::Sub };
                        self.app(op, &[(Sort::Int, d), (Sort::Int, d)])
                    }
                    60..=64 => {
                        let k = Term::leaf(Op::Const(Value::Int(self.rng.gen_range(-3..4))));
                        let x = self.term(Sort::Int, d);
                        Term::apply(Op::Mul, &[&k, &x])
                    }
                    65..=72 => {
                        let k = [-3, -2, 2, 3, 7][self.rng.gen_range(0..5)];
                        let k = Term::leaf(Op::Const(Value::Int(k)));
                        let x = self.term(Sort::Int, d);
                        let op = if self.rng.gen() { Op::Div } else { Op::Mod };
                        Term::apply(op, &[&x, &k])
                    }
                    73..=76 => self.app(Op::Neg, &[(Sort::Int, d)]),
                    77..=79 => self.app(Op::Abs, &[(Sort::Int, d)]),
                    80..=89 => self.app(Op::Ite, &[(Sort::Bool, d), (Sort::Int, d), (Sort::Int, d)]),
                    90..=93 => {
                        let w = [8, 32, 64][self.rng.gen_range(0..3)];
                        self.app(Op::Bv2Nat, &[(Sort::BitVec(w), d)])
                    }
                    _ => self.leaf(sort),
                }
            }
            Sort::String => {
                let r = self.rng.gen_range(0..100);
                match r {
                    0..=19 => self.app(Op::StrConcat, &[(Sort::String, d), (Sort::String, d)]),
                    20..=34 => self.app(Op::StrSubstr, &[(Sort::String, d), (Sort::Int, d), (Sort::Int, d)]),
                    35..=44 => self.app(Op::StrAt, &[(Sort::String, d), (Sort::Int, d)]),
                    45..=50 => self.app(Op::StrReplace, &[(Sort::String, d), (Sort::String, d), (Sort::String, d)]),
                    51..=54 => self.app(Op::StrReplaceAll, &[(Sort::String, d), (Sort::String, d), (Sort::String, d)]),
                    55..=62 => self.app(Op::StrFromInt, &[(Sort::Int, d)]),
                    63..=72 => self.app(Op::Ite, &[(Sort::Bool, d), (Sort::String, d), (Sort::String, d)]),
                    73..=80 => {
                        let ops = [Op::StrToUpper, Op::StrToLower, Op::StrToTitle, Op::StrTrim];
                        let op = ops[self.rng.gen_range(0..ops.len())].clone();
                        self.app(op, &[(Sort::String, d)])
                    }
                    81..=85 => self.app(Op::StrField, &[(Sort::String, d), (Sort::String, d), (Sort::Int, d)]),
                    86..=89 => self.app(Op::StrPadLeft, &[(Sort::String, d), (Sort::Int, d), (Sort::String, d)]),
                    90..=92 => self.app(Op::StrRepeat, &[(Sort::String, d), (Sort::Int, d)]),
                    _ => self.leaf(sort),
                }
            }
        }
    }
}

fn bv_inputs(rng: &mut ChaCha8Rng, widths: &[u32], n: usize) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for i in 0..n {
        let row = widths
            .iter()
            .enumerate()
            .map(|(j, &w)| {
                let m = width_mask(w);
                let edges = [0, 1, 2, 3, 10, 31, 32, 33, 64, m, m - 1, m >> 1, (m >> 1) + 1, m - 8];
                let bits =
                    if (i + j) % 3 == 2 { rng.gen::<u64>() & m } else { edges[(i * 5 + j * 3 + i / 3) % edges.len()] };
                Value::bv(w, bits)
            })
            .collect();
        out.push(row);
    }
    out
}

fn families(rng: &mut ChaCha8Rng) -> Vec<Family> {
    let u32t = ty(Sort::BitVec(32), false);
    let i32t = ty(Sort::BitVec(32), true);
    let u64t = ty(Sort::BitVec(64), false);
    let i64t = ty(Sort::BitVec(64), true);
    let strs = ["", "a", "ab", "a b", "12", "1.2", "b-a ab", "2a", "aaa", " Ab cD ", "x,y,,z", "hELLO wORLD"];
    let mut str_inputs = Vec::new();
    for (i, s) in strs.iter().enumerate() {
        let t = strs[(i * 4 + 3) % strs.len()];
        str_inputs.push(vec![Value::str(s), Value::str(t), Value::Int([0, 1, 2, -1, 3, 5][i % 6])]);
    }
    vec![
        Family { params: vec![("x", u32t), ("y", i32t)], inputs: bv_inputs(rng, &[32, 32], 14) },
        Family { params: vec![("a", u64t), ("b", i64t)], inputs: bv_inputs(rng, &[64, 64], 14) },
        Family { params: vec![("p", i32t), ("q", u64t)], inputs: bv_inputs(rng, &[32, 64], 14) },
        Family {
            params: vec![("s", ty(Sort::String, false)), ("t", ty(Sort::String, false)), ("n", ty(Sort::Int, true))],
            inputs: str_inputs,
        },
    ]
}

fn canon(v: &Value, t: TypeSpec) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("[{s}]"),
        Value::Bv { width, bits } if t.signed => to_signed(*bits, *width).to_string(),
        Value::Bv { bits, .. } => bits.to_string(),
    }
}

fn make_cases() -> (Vec<Family>, Vec<Case>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0xd1ff);
    let fams = families(&mut rng);
    let mut cases = Vec::new();
    for (fi, fam) in fams.iter().enumerate() {
        let outs: Vec<TypeSpec> = if fam.params.iter().any(|(_, t)| t.sort == Sort::String) {
            vec![
                ty(Sort::String, false),
                ty(Sort::Int, true),
                ty(Sort::Bool, false),
                ty(Sort::String, false),
                ty(Sort::BitVec(32), true),
                ty(Sort::BitVec(64), false),
            ]
        } else {
            vec![
                ty(Sort::BitVec(32), false),
                ty(Sort::BitVec(32), true),
                ty(Sort::BitVec(64), false),
                ty(Sort::BitVec(64), true),
                ty(Sort::BitVec(8), false),
                ty(Sort::BitVec(16), true),
                ty(Sort::Bool, false),
            ]
        };
        let mut gen = Gen { rng: ChaCha8Rng::seed_from_u64(0x5eed + fi as u64), vars: &fam.params, shared: None };
        let mut made = 0;
        let mut tries = 0;
        // More text terms: many string operators share the one string family.
        let fresh = if fam.params.iter().any(|(_, t)| t.sort == Sort::String) { 160 } else { 70 };
        // Then terms that repeat subterms, for the named locals.
        let want = fresh + 30;
        while made < want && tries < 10_000 {
            tries += 1;
            let out = outs[made % outs.len()];
            let depth = 2 + made % 3;
            gen.shared = (made >= fresh).then(Vec::new);
            let term = gen.term(out.sort, if made >= fresh { depth + 1 } else { depth });
            if term.size() < 3 {
                continue;
            }
            let mut expected = Vec::new();
            let mut ok = true;
            for args in &fam.inputs {
                let binds: Vec<(&str, Value)> = fam.params.iter().map(|(n, _)| *n).zip(args.iter().cloned()).collect();
                match eval_one(&term, &binds, &FunDefs::new()) {
                    // Keep `Int` values far from the 64-bit range of the emitted code.
                    Ok(Value::Int(i)) if i.abs() > 1 << 40 => ok = false,
                    Ok(v) => expected.push(canon(&v, out)),
                    Err(_) => ok = false,
                }
            }
            if !ok {
                continue;
            }
            let name = format!("f{fi}_{made}");
            let params = fam.params.iter().map(|(n, t)| Param { name: (*n).into(), ty: *t }).collect();
            let problem = Problem::new(&name, params, out);
            cases.push(Case { problem, term, family: fi, expected });
            made += 1;
        }
    }
    (fams, cases)
}

fn rust_lit(v: &Value, t: TypeSpec) -> String {
    match v {
        Value::Bv { width, bits } if t.signed => format!("{}_i{width}", to_signed(*bits, *width)),
        Value::Bv { width, bits } => format!("{bits}_u{width}"),
        Value::Int(i) => format!("{i}_i64"),
        Value::Str(s) => format!("{:?}", &**s),
        Value::Bool(b) => b.to_string(),
    }
}

fn py_lit(v: &Value, t: TypeSpec) -> String {
    match v {
        Value::Bv { width, bits } if t.signed => to_signed(*bits, *width).to_string(),
        Value::Bv { bits, .. } => bits.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{:?}", &**s),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
    }
}

fn c_type(t: TypeSpec) -> String {
    match t.sort {
        Sort::BitVec(w) => format!("{}int{w}_t", if t.signed { "" } else { "u" }),
        Sort::Int => "int64_t".into(),
        Sort::Bool => "bool".into(),
        Sort::String => "const char *".into(),
    }
}

fn c_lit(v: &Value, t: TypeSpec) -> String {
    match v {
        Value::Bv { width, bits } => format!("({})UINT64_C({bits})", c_type(ty(Sort::BitVec(*width), t.signed))),
        Value::Int(i) => format!("INT64_C({i})"),
        Value::Str(s) => format!("{:?}", &**s),
        Value::Bool(b) => b.to_string(),
    }
}

fn c_print(t: TypeSpec, call: &str) -> String {
    match t.sort {
        Sort::Bool => format!("puts({call} ? \"true\" : \"false\");"),
        Sort::String => format!("printf(\"[%s]\\n\", {call});"),
        Sort::BitVec(_) if !t.signed => format!("printf(\"%llu\\n\", (unsigned long long){call});"),
        _ => format!("printf(\"%lld\\n\", (long long){call});"),
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr).chars().take(6000).collect::<String>()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Compares the program output with the expected values, case by case.
fn compare(lang: Lang, cases: &[Case], fams: &[Family], codes: &[String], stdout: &str) {
    let mut lines = stdout.lines();
    let mut failures = Vec::new();
    for (c, code) in cases.iter().zip(codes) {
        for (i, want) in c.expected.iter().enumerate() {
            let got = lines.next().unwrap_or("<missing>");
            if got != want {
                failures.push(format!(
                    "{lang} {}: term {} on {:?}: got {got}, interpreter {want}\n{code}",
                    c.problem.name, c.term, fams[c.family].inputs[i]
                ));
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(4)].join("\n")
    );
}

fn emit_all(lang: Lang, cases: &[Case]) -> Vec<String> {
    cases
        .iter()
        .map(|c| emit_function(lang, &c.problem, &c.term).unwrap_or_else(|e| panic!("{lang} {}: {e}", c.term)))
        .collect()
}

fn check_rust(dir: &Path, fams: &[Family], cases: &[Case]) {
    let codes = emit_all(Lang::Rust, cases);
    let mut src = String::from("#![allow(warnings)]\n");
    for (c, code) in cases.iter().zip(&codes) {
        let _ = writeln!(src, "mod m_{} {{\n{code}}}", c.problem.name);
    }
    src.push_str("fn main() {\n");
    for c in cases {
        let fam = &fams[c.family];
        for args in &fam.inputs {
            let a: Vec<String> = args.iter().zip(&fam.params).map(|(v, (_, t))| rust_lit(v, *t)).collect();
            let call = format!("m_{0}::{0}({1})", c.problem.name, a.join(", "));
            let _ = match c.problem.output.sort {
                Sort::String => writeln!(src, "    println!(\"[{{}}]\", {call});"),
                _ => writeln!(src, "    println!(\"{{}}\", {call});"),
            };
        }
    }
    src.push_str("}\n");
    std::fs::write(dir.join("diff.rs"), &src).unwrap();
    run(Command::new("rustc")
        .args(["--edition", "2021", "-C", "opt-level=0", "-o"])
        .arg(dir.join("diff_rs"))
        .arg(dir.join("diff.rs")));
    let out = run(&mut Command::new(dir.join("diff_rs")));
    compare(Lang::Rust, cases, fams, &codes, &out);
}

fn check_python(dir: &Path, fams: &[Family], cases: &[Case]) {
    let codes = emit_all(Lang::Python, cases);
    let mut src = String::new();
    for code in &codes {
        src.push_str(code);
        src.push('\n');
    }
    src.push_str("\ndef _show(v):\n    if isinstance(v, bool):\n        return 'true' if v else 'false'\n    if isinstance(v, str):\n        return '[' + v + ']'\n    return str(v)\n\n");
    for c in cases {
        let fam = &fams[c.family];
        for args in &fam.inputs {
            let a: Vec<String> = args.iter().zip(&fam.params).map(|(v, (_, t))| py_lit(v, *t)).collect();
            let _ = writeln!(src, "print(_show({}({})))", c.problem.name, a.join(", "));
        }
    }
    std::fs::write(dir.join("diff.py"), &src).unwrap();
    let out = run(Command::new("python3").arg(dir.join("diff.py")));
    compare(Lang::Python, cases, fams, &codes, &out);
}

fn check_c(dir: &Path, fams: &[Family], cases: &[Case]) {
    let codes = emit_all(Lang::C, cases);
    // One translation unit per function (helpers are `static` and may repeat).
    let mut files = Vec::new();
    for (c, code) in cases.iter().zip(&codes) {
        let f = dir.join(format!("{}.c", c.problem.name));
        std::fs::write(&f, code).unwrap();
        files.push(f);
    }
    let mut main = String::from("#include <stdbool.h>\n#include <stdint.h>\n#include <stdio.h>\n\n");
    for c in cases {
        let ps: Vec<String> = c.problem.params.iter().map(|p| format!("{} {}", c_type(p.ty), p.name)).collect();
        let _ = writeln!(main, "{} {}({});", c_type(c.problem.output), c.problem.name, ps.join(", "));
    }
    main.push_str("\nint main(void) {\n");
    for c in cases {
        let fam = &fams[c.family];
        for args in &fam.inputs {
            let a: Vec<String> = args.iter().zip(&fam.params).map(|(v, (_, t))| c_lit(v, *t)).collect();
            let _ =
                writeln!(main, "    {}", c_print(c.problem.output, &format!("{}({})", c.problem.name, a.join(", "))));
        }
    }
    main.push_str("    return 0;\n}\n");
    let mf = dir.join("main.c");
    std::fs::write(&mf, &main).unwrap();
    files.push(mf);
    run(Command::new("gcc").args(["-std=c11", "-O0", "-w", "-o"]).arg(dir.join("diff_c")).args(&files));
    let out = run(&mut Command::new(dir.join("diff_c")));
    compare(Lang::C, cases, fams, &codes, &out);
}

type Check = fn(&Path, &[Family], &[Case]);

#[test]
fn emitters_agree_with_the_interpreter_on_random_terms() {
    let (fams, cases) = make_cases();
    assert!(cases.len() >= 250, "only {} cases generated", cases.len());
    // The text operators are among the terms compared.
    for op in [
        Op::StrToUpper,
        Op::StrToLower,
        Op::StrToTitle,
        Op::StrTrim,
        Op::StrField,
        Op::StrPadLeft,
        Op::StrRepeat,
        Op::StrReplaceAll,
    ] {
        assert!(cases.iter().any(|c| c.term.nodes().iter().any(|n| n.op == op)), "no case uses `{}`", op.name());
    }
    // Repeated subterms are among them, and the emitters name some as locals.
    let with_locals = cases
        .iter()
        .filter(|c| {
            let code = emit_function(Lang::Python, &c.problem, &c.term).unwrap_or_default();
            code.lines().any(|l| {
                let name = l.trim_start().split(" = ").next().unwrap_or("");
                l.contains(" = ") && !name.is_empty() && c.problem.params.iter().all(|p| p.name != name)
            })
        })
        .count();
    assert!(with_locals >= 20, "only {with_locals} cases with a named local");
    let dir = tempfile::tempdir().unwrap();
    let langs: [(&str, Check); 3] = [("rustc", check_rust), ("python3", check_python), ("gcc", check_c)];
    for (tool, check) in langs {
        if test_support::ci::require_tool("differential emission", tool) {
            check(dir.path(), &fams, &cases);
        }
    }
}
