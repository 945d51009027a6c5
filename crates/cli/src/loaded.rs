//! Opening a model file: the GGUF, its tokenizer and, when needed, the weights.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use locallm_model::{Device, Llama};
use locallm_quant::GgufFile;
use locallm_tokenizer::Tokenizer;

/// `--model PATH`, or the default model (fetched on first use).
pub fn model_path(arg: Option<&Path>) -> Result<PathBuf> {
    match arg {
        Some(p) => Ok(p.to_path_buf()),
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
    pub gguf: GgufFile,
    pub tokenizer: Tokenizer,
    pub model: Llama,
    pub device: Device,
}

pub fn load(arg: Option<&Path>) -> Result<Loaded> {
    let path = model_path(arg)?;
    let gguf = open_gguf(&path)?;
    let tokenizer = tokenizer(&gguf)?;
    let device = locallm_model::default_device()?;
    let model = locallm_model::load_llama(&gguf, &device)
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
