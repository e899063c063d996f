//! Solves a SyGuS file and emits + verifies the solution in Rust, Python and C.
//!
//! `cargo run --release -p synth-engine --example sygus_to_code -- FILE.sl`

use synth_engine::emit::{emit_function, emit_tests, Lang};
use synth_engine::search::{synthesize, CancelToken, SearchLimits, UniformGuide};
use synth_engine::spec::{cegis, sygus};
use synth_engine::verify::{verify, VerifyLimits};

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: sygus_to_code FILE.sl"))?;
    let problem = sygus::parse(&std::fs::read_to_string(&path)?)?.problem;
    let outcome = synthesize(&problem, &SearchLimits::default(), &UniformGuide, &CancelToken::new())?;
    let term = outcome.term().ok_or_else(|| anyhow::anyhow!("no solution: {outcome:?}"))?;
    println!("{}", synth_engine::emit::to_define_fun(&problem, term));
    for lang in [Lang::Rust, Lang::Python, Lang::C] {
        let code = emit_function(lang, &problem, term)?;
        // Reference specifications have no examples: test on sampled inputs.
        let examples = if problem.reference.is_some() {
            cegis::label(&problem, &cegis::sample_inputs(&problem, 32, 7))?
        } else {
            problem.examples.clone()
        };
        let tests = emit_tests(lang, &problem, term, &examples)?;
        let r = verify(lang, &code, &tests, &VerifyLimits::default())?;
        println!("{lang}: {}/{} tests, {} warnings {:?}", r.tests_passed, r.tests_total, r.warnings.len(), r.warnings);
        if !r.passed() {
            println!("{code}\n{}", r.log);
        }
    }
    Ok(())
}
