//! What `cargo xtask test` checks before the tests: rustfmt's layout and clippy with the
//! workspace lints on every crate (synth-model also with its `decoder` feature), warnings
//! denied. The eBPF crate builds only for the BPF target, so nightly's clippy checks it there.
use std::process::Command;

use anyhow::{bail, Context as _, Result};

/// Runs rustfmt's check and clippy on every crate.
pub fn run() -> Result<()> {
    crate::cargo(&["fmt", "--all", "--check"])?;
    crate::cargo(&["clippy", "--all-targets", "--", "-D", "warnings"])?;
    // The program decoder and fine-tuning from rewards are behind a feature; keep them building.
    crate::cargo(&["clippy", "--all-targets", "--features", "synth-model/decoder", "--", "-D", "warnings"])?;
    let status = Command::new("rustup")
        .args(["run", "nightly", "cargo", "clippy", "-p", "tracer-ebpf", "--release"])
        .args(["--target", "bpfel-unknown-none", "-Z", "build-std=core", "--", "-D", "warnings"])
        .current_dir(crate::root())
        // The BPF target gets its own target directory, as aya-build gives it.
        .env("CARGO_TARGET_DIR", crate::root().join("target/bpf-clippy"))
        .status()
        .context("running nightly clippy on tracer-ebpf")?;
    if !status.success() {
        bail!("clippy on tracer-ebpf (bpfel-unknown-none) failed: {status}");
    }
    Ok(())
}
