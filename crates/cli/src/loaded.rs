//! Opening a model file: the GGUF, its tokenizer and, when needed, the weights.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use locallm_model::{Device, Llama};
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

/// The file, its tokenizer and its weights on the default device.
pub struct Loaded {
    pub gguf: Arc<GgufFile>,
    pub tokenizer: Tokenizer,
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
/// `locallm_model::quantized`). `LOCALLM_WEIGHTS=f32` turns that off.
pub fn load_for_inference(arg: Option<&Path>) -> Result<Loaded> {
    load_with(arg, true)
}

fn load_with(arg: Option<&Path>, inference: bool) -> Result<Loaded> {
    let path = model_path(arg)?;
    let gguf = Arc::new(open_gguf(&path)?);
    let tokenizer = tokenizer(&gguf)?;
    let device = locallm_model::default_device()?;
    let model = if inference {
        let backend = locallm_model::default_backend_name()?;
        locallm_model::load_llama_for_inference(&gguf, &device, &backend)
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
