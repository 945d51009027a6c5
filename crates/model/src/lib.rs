//! # locallm-model: the Llama architecture and its families on burn tensors
//!
//! A model is a file of learned numbers plus an architecture that says how to
//! use them. This crate is the architecture: Llama's, and the few switches by
//! which Qwen 2 and 3, Gemma 3 and Phi-3 differ from it — one forward pass
//! for all five. Reading it top to bottom:
//!
//! 1. [`config`] — the hyper-parameters, read from GGUF metadata;
//! 2. [`family`] — which architecture the file is (refusing any other first),
//!    and its switches;
//! 3. [`rms_norm`] — RMSNorm, the normalisation around each sub-layer;
//! 4. [`rope`] — rotary position embedding, how attention knows *where* a token is;
//! 5. [`attention`] — grouped-query self-attention, with a pluggable KV cache
//!    (and a sliding window);
//! 6. [`mlp`] — the gated feed-forward block, SwiGLU or GeGLU (its matrices,
//!    and attention's, are [`proj`]s: linear layers that can carry a LoRA adapter);
//! 7. [`llama`] — blocks stacked into the whole model;
//! 8. [`load`] — GGUF tensors mapped onto those modules, dequantized
//!    ([`load_llama`]) or left in their blocks ([`load_llama_quantized`], the
//!    fast CPU path of [`quantized`]), as [`LoadOptions`] ([`options`]) ask;
//! 9. [`device`] — which burn [`Backend`] runs it.
//!
//! ```no_run
//! let gguf = std::sync::Arc::new(locallm_quant::GgufFile::open("model.gguf")?);
//! let options = locallm_model::LoadOptions::default();
//! let device = options.backend.device()?;
//! let model = locallm_model::load_llama_for_inference(&gguf, &device, &options)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod attention;
pub mod config;
pub mod device;
pub mod family;
pub mod llama;
pub mod load;
pub mod mlp;
pub mod options;
pub mod proj;
pub mod quantized;
pub mod rms_norm;
pub mod rope;

pub use attention::{HostKv, KvCache, NoCache, Seq};
pub use burn::tensor::Device;
pub use config::LlamaConfig;
pub use device::{Backend, default_device, host_f32};
pub use family::{Activation, Family, RopeStyle, Switches};
pub use llama::{Llama, TokenEmbedding, WeightStorage};
pub use load::{load_llama, load_llama_for_inference, load_llama_quantized};
pub use options::{Kernels, LoadOptions, Weights};
pub use proj::{Base, LoraAdapter, Nf4Weight, Proj};
pub use quantized::QuantWeight;

/// Everything that can go wrong turning a file into a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("GGUF metadata key `{0}` is missing")]
    MissingKey(String),
    #[error("architecture `{0}` is not supported (supported: llama, qwen2, qwen3, gemma3, phi3)")]
    UnsupportedArchitecture(String),
    #[error(
        "tensor `{name}` is not used by the {family} forward pass: the file needs a feature this runtime does not have"
    )]
    UnusedTensor { name: String, family: String },
    #[error("inconsistent model config: {0}")]
    BadConfig(String),
    #[error("tensor `{0}` is missing from the GGUF file")]
    MissingTensor(String),
    #[error("tensor `{name}` has GGUF shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error(transparent)]
    Gguf(#[from] locallm_quant::GgufError),
    #[error("backend `{name}` is not compiled in (available: {available})")]
    UnknownBackend { name: String, available: String },
    #[error("no burn backend compiled in: enable the `flex`, `ndarray` or `wgpu` feature")]
    NoBackend,
    #[error("unknown weights `{0}` (expected blocks or f32)")]
    UnknownWeights(String),
}
