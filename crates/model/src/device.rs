//! Which burn backend runs the model.
//!
//! burn 0.22 picks the backend at run time through a `Device`. `flex` (pure
//! Rust, the fastest CPU backend here) is the default; `ndarray` (deprecated
//! upstream, kept because the design names it) and `wgpu` (GPU) are cargo
//! features so that their long compile stays out of the default build.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor};

use crate::ModelError;

/// A burn backend, by the name of its cargo feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Flex,
    Ndarray,
    Wgpu,
}

impl Backend {
    /// Every backend, compiled in or not; the first compiled one is the default.
    pub const ALL: [Backend; 3] = [Backend::Flex, Backend::Ndarray, Backend::Wgpu];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
        }
    }

    /// Whether this build has it (its cargo feature is on).
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The backends compiled into this build, the default first.
    pub fn compiled() -> Vec<Backend> {
        Backend::ALL
            .into_iter()
            .filter(|b| b.is_compiled())
            .collect()
    }

    /// Whether it computes on the host, where the block kernels run.
    pub fn is_cpu(self) -> bool {
        matches!(self, Backend::Flex | Backend::Ndarray)
    }

    /// Its device; an error if it is not compiled in.
    pub fn device(self) -> Result<Device, ModelError> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)] // every backend compiled in
            _ => Err(not_compiled(self.name())),
        }
    }
}

fn not_compiled(name: &str) -> ModelError {
    let available: Vec<&str> = Backend::compiled().into_iter().map(Backend::name).collect();
    if available.is_empty() {
        return ModelError::NoBackend;
    }
    ModelError::UnknownBackend {
        name: name.to_string(),
        available: available.join(", "),
    }
}

/// The first backend compiled in (`flex` in a default build).
impl Default for Backend {
    fn default() -> Self {
        Backend::compiled()
            .first()
            .copied()
            .unwrap_or(Backend::Flex)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = ModelError;

    /// A compiled-in backend's name; anything else is an error that lists them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == s && b.is_compiled())
            .ok_or_else(|| not_compiled(s))
    }
}

/// The default backend's device.
pub fn default_device() -> Result<Device, ModelError> {
    Backend::default().device()
}

/// A tensor's values on the host, row-major, as f32: how the fast path's
/// kernels, which work on plain slices, take a tensor's data.
pub fn host_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    let data = t.into_data().convert::<f32>();
    data.try_into_vec::<f32>().expect("f32 after convert")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_to_compiled_backends_only() {
        for b in Backend::ALL {
            assert_eq!(
                b.name().parse::<Backend>().ok(),
                b.is_compiled().then_some(b)
            );
        }
        let err = "cuda".parse::<Backend>().unwrap_err().to_string();
        assert!(err.contains("backend `cuda` is not compiled in"), "{err}");
        assert!(err.contains(Backend::default().name()), "{err}");
        assert_eq!(Backend::compiled().first(), Some(&Backend::default()));
    }
}
