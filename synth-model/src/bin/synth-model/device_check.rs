//! `synth-model device-check`: evaluation and training timed on the CPU and another device.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use burn::prelude::*;
use synth_model::data::{generate, DataConfig, Task};
use synth_model::device::ComputeDevice;
use synth_model::model::load_model;
use synth_model::train::{evaluate, train, DescriptionView, TrainingConfig};

use crate::{model_config, text_table};

/// Evaluation and training timed on the CPU and on `other`, with the metrics compared.
pub(crate) fn device_check(weights: &Path, steps: usize, cache: &Path, other: ComputeDevice) -> Result<()> {
    let devices = [(ComputeDevice::Cpu, ComputeDevice::Cpu.device()?), (other, other.device()?)];
    let data = generate(&DataConfig::default())?;
    let all: Vec<&Task> = data.train.iter().chain(&data.test).collect();
    let texts = text_table(&all, cache)?;
    let (model, config) = load_model(weights, &Device::flex())?;
    let training = TrainingConfig::new(model_config()).with_max_steps(steps.max(1));
    let mut rows = Vec::new();
    for (kind, device) in devices {
        let t0 = Instant::now();
        let metrics = evaluate(&model, &config, &data.test, &texts, DescriptionView::Full, &device)?;
        let eval_secs = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let out = train(&training, &data.train, &texts, &device, &mut |_| {})?;
        let train_secs = t0.elapsed().as_secs_f64();
        println!(
            "{kind:?}: held-out evaluation of {} tasks {eval_secs:.1} s (label BCE {:.5}, size exact {:.3}); {} training steps {train_secs:.1} s ({:.2} steps/s), loss {:.4} -> {:.4}",
            metrics.tasks,
            metrics.label_bce,
            metrics.size_exact,
            out.steps,
            out.steps as f64 / train_secs,
            out.first_loss,
            out.last_loss
        );
        rows.push((metrics, out));
    }
    let (cpu, dev) = (&rows[0], &rows[1]);
    let bce_diff = (cpu.0.label_bce - dev.0.label_bce).abs();
    let size_diff = (cpu.0.size_exact - dev.0.size_exact).abs();
    println!("difference {other:?} vs Cpu on the same weights: label BCE {bce_diff:.2e}, size exact {size_diff:.3}");
    // Float sums in another order differ in the last bits; a wrong kernel differs far more.
    if bce_diff > 1e-3 || size_diff > 0.01 {
        bail!("{other:?} disagrees with the CPU on the same weights");
    }
    // Each backend draws its own initial weights, so only learning is compared.
    if dev.1.last_loss >= dev.1.first_loss {
        bail!("training on {other:?} did not lower the loss ({:.4} -> {:.4})", dev.1.first_loss, dev.1.last_loss);
    }
    Ok(())
}
