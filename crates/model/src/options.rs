//! How to load a model for inference: arguments, not environment variables,
//! so that a test or a server chooses per call. Only the CLI reads the
//! environment (`LOCALLM_WEIGHTS`, `LOCALLM_KERNELS`, `LOCALLM_BACKEND`) and
//! turns it into these, with [`FromStr`] and its clear errors.

use std::fmt;
use std::str::FromStr;

pub use locallm_quant::Kernels;

use crate::ModelError;
use crate::device::Backend;

/// How the matrices hold their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weights {
    /// In their quantized blocks, multiplied by the block kernels, wherever a
    /// SIMD kernel exists for the type and the backend is a CPU one; the rest
    /// in f32.
    #[default]
    Blocks,
    /// Every weight dequantized to f32 (to compare, or to rule the kernels out).
    F32,
}

impl Weights {
    pub const ALL: [Weights; 2] = [Weights::Blocks, Weights::F32];

    pub fn name(self) -> &'static str {
        match self {
            Weights::Blocks => "blocks",
            Weights::F32 => "f32",
        }
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Weights {
    type Err = ModelError;

    /// `blocks` or `f32`; anything else is an error naming them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Weights::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| ModelError::UnknownWeights(s.to_string()))
    }
}

/// Everything [`load_llama_for_inference`](crate::load_llama_for_inference)
/// needs to know besides the file. The default: blocks, the best kernels, the
/// first compiled backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    pub weights: Weights,
    /// Which block kernels the loaded weights multiply with.
    pub kernels: Kernels,
    pub backend: Backend,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_their_names_and_refuse_others() {
        for w in Weights::ALL {
            assert_eq!(w.to_string().parse::<Weights>().ok(), Some(w));
        }
        let err = "q4".parse::<Weights>().unwrap_err().to_string();
        assert_eq!(err, "unknown weights `q4` (expected blocks or f32)");
    }
}
