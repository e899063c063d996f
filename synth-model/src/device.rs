//! Where the model's training and evaluation run: the CPU (burn's `flex`
//! backend, the default), or burn's wgpu backend with the `gpu` feature.
//!
//! Guidance at search time stays on the CPU whatever is chosen here: one
//! small forward pass per search costs more to dispatch to a GPU than to run.

use burn::tensor::Device;
use thiserror::Error;

/// A compute device by name, as `--device` takes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ComputeDevice {
    /// burn's pure-Rust `flex` CPU backend.
    #[default]
    Cpu,
    /// burn's wgpu backend on the best adapter wgpu finds (a GPU, or a software
    /// Vulkan driver such as mesa's lavapipe). Needs the `gpu` feature.
    Gpu,
}

/// Errors of this module.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// `gpu` asked of a build without the backend.
    #[error("this build has no GPU backend: rebuild with `--features gpu` (burn's wgpu backend)")]
    NotBuilt,
}

impl ComputeDevice {
    /// The burn device.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotBuilt`] for [`ComputeDevice::Gpu`] without the `gpu` feature.
    pub fn device(self) -> Result<Device, DeviceError> {
        match self {
            ComputeDevice::Cpu => Ok(Device::flex()),
            #[cfg(feature = "gpu")]
            ComputeDevice::Gpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "gpu"))]
            ComputeDevice::Gpu => Err(DeviceError::NotBuilt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_is_always_there_and_a_missing_backend_is_an_error() {
        assert!(ComputeDevice::Cpu.device().is_ok());
        #[cfg(not(feature = "gpu"))]
        assert!(ComputeDevice::Gpu.device().unwrap_err().to_string().contains("--features gpu"));
    }
}
