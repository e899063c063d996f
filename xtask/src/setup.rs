//! `cargo xtask setup`: everything a fresh machine needs, installed idempotently.
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

/// Debian packages: LLVM 22 for bpf-linker, peers for the benchmarks (bpftrace, cvc5),
/// gcc for the C fixtures, util-linux for `unshare`/`setpriv`, clickhouse-server for the
/// fleet test.
const APT_PACKAGES: &[&str] =
    &["llvm-22-dev", "libpolly-22-dev", "bpftrace", "cvc5", "gcc", "util-linux", "clickhouse-server"];
const BPF_LINKER_VERSION: &str = "0.13.0";

/// Runs every set-up step.
pub fn run() -> Result<()> {
    apt()?;
    rust_src()?;
    bpf_linker()?;
    ruff()?;
    // The learned guide's pretrained text encoder (never committed).
    crate::model::fetch_text_encoder()?;
    Ok(())
}

/// ruff lints the Python that `synth` emits (PyPI).
fn ruff() -> Result<()> {
    if quiet(Command::new("ruff").arg("--version")) {
        return Ok(());
    }
    eprintln!("setup: installing ruff from PyPI");
    run_cmd(Command::new("python3").args(["-m", "pip", "install", "-q", "ruff"]))
}

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn run_cmd(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn apt() -> Result<()> {
    apt_install(APT_PACKAGES)
}

/// Installs the Debian packages of `packages` that are missing.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> =
        packages.iter().copied().filter(|p| !quiet(Command::new("dpkg").args(["-s", p]))).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("setup: installing {}", missing.join(" "));
    run_cmd(Command::new("apt-get").args(["update", "-q"]))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn rust_src() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["component", "list", "--installed", "--toolchain", "nightly"])
        .output()
        .context("running rustup")?;
    let list = String::from_utf8_lossy(&installed.stdout);
    if !installed.status.success() {
        run_cmd(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
    }
    // The eBPF crate is linted with nightly's clippy (it builds only for the BPF target).
    for component in ["rust-src", "clippy"] {
        if !list.lines().any(|l| l.starts_with(component)) {
            run_cmd(Command::new("rustup").args(["component", "add", component, "--toolchain", "nightly"]))?;
        }
    }
    // clippy lints the workspace and the Rust that `synth` emits; rustfmt checks the layout.
    let stable = Command::new("rustup").args(["component", "list", "--installed"]).output();
    let stable = stable.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    for component in ["clippy", "rustfmt"] {
        if !stable.lines().any(|l| l.starts_with(component)) {
            run_cmd(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

fn bpf_linker() -> Result<()> {
    let version = Command::new("bpf-linker").arg("--version").output();
    if version.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(BPF_LINKER_VERSION)) {
        return Ok(());
    }
    eprintln!("setup: installing bpf-linker {BPF_LINKER_VERSION} against LLVM 22 (~3 min)");
    run_cmd(
        Command::new(env!("CARGO"))
            .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION, "--locked"])
            .args(["--no-default-features", "--features", "llvm-22"])
            .env("LLVM_PREFIX", "/usr/lib/llvm-22"),
    )
}
