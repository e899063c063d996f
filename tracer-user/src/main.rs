//! The `tracesynth` command.
use std::process::ExitCode;

fn main() -> ExitCode {
    match tracer_user::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
