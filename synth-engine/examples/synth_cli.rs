//! Stand-in for `tracesynth synth --sygus FILE [--timeout SECS]` until the
//! command-line verb exists.
//!
//! `cargo run --release -p synth-engine --example synth_cli -- FILE.sl [SECS]`

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // Accepts `synth --sygus FILE --timeout N` (as `tracesynth`) or `FILE [SECS]`.
    let file = args
        .iter()
        .position(|a| a == "--sygus")
        .and_then(|i| args.get(i + 1))
        .or_else(|| args.get(1).filter(|a| !a.starts_with('-') && *a != "synth"));
    let Some(file) = file else {
        eprintln!("usage: synth_cli [synth --sygus] FILE.sl [--timeout SECS]");
        return ExitCode::from(2);
    };
    let secs: f64 = args
        .iter()
        .position(|a| a == "--timeout")
        .and_then(|i| args.get(i + 1))
        .or_else(|| args.get(2).filter(|a| !a.starts_with('-') && !a.ends_with(".sl")))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    match synth_engine::cli::run_sygus(file, Duration::from_secs_f64(secs)) {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
