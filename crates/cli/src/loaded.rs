//! Opening a model file: the GGUF, its tokenizer and, when needed, the weights.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result};
use locallm_model::{Device, Llama, LoadOptions};
use locallm_quant::GgufFile;
use locallm_tokenizer::Tokenizer;

/// `--model NAME|PATH` (see `model_arg`), or the default model (fetched on
/// first use).
pub fn model_path(arg: Option<&Path>) -> Result<PathBuf> {
    match arg {
        Some(p) => crate::model_arg::resolve(p),
        None => locallm_models::default_model(),
    }
}

pub fn open_gguf(path: &Path) -> Result<GgufFile> {
    GgufFile::open(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn tokenizer(gguf: &GgufFile) -> Result<Tokenizer> {
    Tokenizer::from_metadata(&gguf.metadata)
        .context("cannot build the tokenizer from the GGUF metadata")
}

// ANCHOR: env_help
/// The environment variables the CLI reads, listed by `locallm --help` (and
/// in the book's chapter 0.1; a test checks both).
pub const ENV_HELP: &str = "\
Environment:
  LOCALLM_HOME     where models are kept (default ~/.cache/locallm)
  LOCALLM_BACKEND  the burn backend: flex, ndarray or wgpu, as compiled in
                   (default: the first compiled in, flex in a default build)
  LOCALLM_WEIGHTS  blocks (default: on a CPU backend the matrices stay in
                   their quantized blocks) or f32 (every weight dequantized)
  LOCALLM_KERNELS  best (default), avx512, avx2 or scalar: caps the block kernels,
                   to compare them
  HF_HUB_CACHE     where `--model NAME` looks for Hugging Face downloads
                   (default $HF_HOME/hub, else ~/.cache/huggingface/hub)
  HF_HOME          see HF_HUB_CACHE
  OLLAMA_MODELS    where `--model NAME` looks for Ollama's models
                   (default ~/.ollama/models)";
// ANCHOR_END: env_help

/// How to load a model, from `LOCALLM_WEIGHTS`, `LOCALLM_KERNELS` and
/// `LOCALLM_BACKEND` (unset or empty: the default); a value the library does
/// not know is an error naming the ones it does.
pub fn load_options() -> Result<LoadOptions> {
    fn var<T>(name: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Some(v.parse().with_context(|| format!("${name}"))?)),
            _ => Ok(None),
        }
    }
    let default = LoadOptions::default();
    Ok(LoadOptions {
        weights: var("LOCALLM_WEIGHTS")?.unwrap_or(default.weights),
        kernels: var("LOCALLM_KERNELS")?.unwrap_or(default.kernels),
        backend: var("LOCALLM_BACKEND")?.unwrap_or(default.backend),
    })
}

/// The device of the backend `LOCALLM_BACKEND` names (default: the first compiled in).
pub fn device() -> Result<Device> {
    Ok(load_options()?.backend.device()?)
}

/// The file, its tokenizer and its weights on the device of [`load_options`].
pub struct Loaded {
    pub gguf: Arc<GgufFile>,
    /// Shared, not copied, by what streams text (a 262k-token vocabulary is
    /// tens of MB).
    pub tokenizer: Arc<Tokenizer>,
    pub model: Llama,
    pub device: Device,
}

/// Loads with every weight in f32: for training, adapting, pruning and the
/// reference measurements.
pub fn load(arg: Option<&Path>) -> Result<Loaded> {
    load_with(arg, false)
}

/// Loads for generation only: on a CPU backend the matrices stay in their
/// quantized blocks and run through the SIMD kernels (see
/// `locallm_model::quantized`), as [`load_options`] say.
pub fn load_for_inference(arg: Option<&Path>) -> Result<Loaded> {
    load_with(arg, true)
}

fn load_with(arg: Option<&Path>, inference: bool) -> Result<Loaded> {
    let path = model_path(arg)?;
    let gguf = Arc::new(open_gguf(&path)?);
    // the architecture first: an unsupported model is named as such, not by
    // what its tokenizer lacks
    locallm_model::Family::of(&gguf.metadata)?;
    let tokenizer = Arc::new(tokenizer(&gguf)?);
    let options = load_options()?;
    let device = options.backend.device()?;
    let model = if inference {
        locallm_model::load_llama_for_inference(&gguf, &device, &options)
    } else {
        locallm_model::load_llama(&gguf, &device)
    }
    .with_context(|| format!("cannot load the weights of {}", path.display()))?;
    Ok(Loaded {
        gguf,
        tokenizer,
        model,
        device,
    })
}

impl Loaded {
    /// The model's name from `general.name`, for messages.
    pub fn name(&self) -> &str {
        self.gguf
            .metadata
            .get_str("general.name")
            .unwrap_or("the model")
    }
}
