//! `cargo xtask gpu-check`: the model on the GPU, through burn's wgpu backend.
use anyhow::Result;

use crate::{cargo, root};

/// Vulkan: the loader, and mesa's drivers (lavapipe runs Vulkan on the CPU where no GPU is).
const VULKAN_PACKAGES: &[&str] = &["libvulkan1", "mesa-vulkan-drivers"];

/// `cargo xtask gpu-check`: `synth-model --device gpu device-check`, built with the `gpu`
/// feature in its own target directory (burn with wgpu is a different build of every crate
/// above it; sharing `target/release` would rebuild them at each switch).
pub fn gpu_check(steps: usize) -> Result<()> {
    crate::setup::apt_install(VULKAN_PACKAGES)?;
    let target = root().join("target/gpu");
    let target = target.display().to_string();
    let steps = steps.to_string();
    cargo(&[
        "run",
        "--release",
        "-q",
        "--target-dir",
        &target,
        "-p",
        "synth-model",
        "--features",
        "gpu",
        "--bin",
        "synth-model",
        "--",
        "--device",
        "gpu",
        "device-check",
        "--steps",
        &steps,
    ])
}
