//! Which burn backend runs the model.
//!
//! burn 0.22 picks the backend at run time through a `Device`. `flex` (pure
//! Rust, the fastest CPU backend here) is the default; `ndarray` (deprecated
//! upstream, kept because the design names it) and `wgpu` (GPU) are cargo
//! features so that their long compile stays out of the default build.

use burn::tensor::Device;

use crate::ModelError;

/// The backends compiled into this build, first = default.
pub fn available_backends() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "flex") {
        v.push("flex");
    }
    if cfg!(feature = "ndarray") {
        v.push("ndarray");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    v
}

/// A device by backend name (`flex`, `ndarray`, `wgpu`).
pub fn device_by_name(name: &str) -> Result<Device, ModelError> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        _ => Err(ModelError::UnknownBackend {
            name: name.to_string(),
            available: available_backends().join(", "),
        }),
    }
}

/// The default backend's name: `$LOCALLM_BACKEND` if set, else the first
/// compiled backend.
pub fn default_backend_name() -> Result<String, ModelError> {
    match std::env::var("LOCALLM_BACKEND") {
        Ok(name) if !name.is_empty() => Ok(name),
        _ => available_backends()
            .first()
            .map(|b| b.to_string())
            .ok_or(ModelError::NoBackend),
    }
}

/// The default device: the one [`default_backend_name`] names.
pub fn default_device() -> Result<Device, ModelError> {
    device_by_name(&default_backend_name()?)
}
