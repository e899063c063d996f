//! Stand-in for `tracesynth synth --examples FILE.json --lang L [--describe TEXT] [--out DIR]`.
//!
//! `cargo run --release -p synth-engine --example synth_examples -- FILE.json rust|python|c [OUT_DIR]`

use std::path::Path;
use std::process::ExitCode;

use synth_engine::emit::Lang;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(lang)) = (args.get(1), args.get(2).and_then(|l| Lang::parse(l))) else {
        eprintln!("usage: synth_examples FILE.json rust|python|c [OUT_DIR]");
        return ExitCode::from(2);
    };
    match synth_engine::cli::run_examples(file, lang, None, args.get(3).map(Path::new)) {
        Ok(run) => {
            println!("{}\n{}", run.code, run.tests);
            println!("{}", serde_json::to_string_pretty(&run.report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
