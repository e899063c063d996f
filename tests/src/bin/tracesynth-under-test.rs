//! The `tracesynth` command, built inside this package so the integration tests get its
//! path from Cargo (`CARGO_BIN_EXE_...`); same code as `tracer-user/src/main.rs`.
use std::process::ExitCode;

fn main() -> ExitCode {
    tracer_user::cli::main()
}
