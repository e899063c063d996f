//! Stand-in for `tracesynth synth --sygus FILE [--timeout SECS]` until the
//! command-line verb exists.
//!
//! `cargo run --release -p synth-engine --example synth_cli -- FILE.sl [SECS]`

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(file) = args.get(1) else {
        eprintln!("usage: synth_cli FILE.sl [--timeout SECS]");
        return ExitCode::from(2);
    };
    let secs: f64 = args
        .iter()
        .position(|a| a == "--timeout")
        .and_then(|i| args.get(i + 1))
        .or_else(|| args.get(2).filter(|a| !a.starts_with('-')))
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
