//! # locallm-lora: LoRA and QLoRA fine-tuning, PEFT-format adapters
//!
//! Fine-tuning all 135 million weights of even a small model means keeping a
//! gradient and two AdamW moments for each of them. LoRA (Hu et al. 2021,
//! arXiv:2106.09685) freezes the model and learns, next to a chosen weight
//! `W: [d_in, d_out]`, a low-rank update `ΔW = scale · A·B` with
//! `A: [d_in, r]`, `B: [r, d_out]` and `r` tiny (8): a few hundred thousand
//! trainable numbers. QLoRA (Dettmers et al. 2023) also stores the frozen
//! `W` in 4-bit NF4. Reading order:
//!
//! 1. [`config`] — which projections get adapters, rank, alpha;
//! 2. [`attach`] — adapters added to a loaded model (B = 0: nothing changes yet);
//! 3. [`data`] — chat JSONL to tokens, with the mask of answer tokens;
//! 4. [`finetune`] — the training run: steps, checkpoints, resume, evaluation;
//! 5. [`peft`] — adapters saved and loaded in Hugging Face PEFT's layout;
//! 6. [`merge`] — `W + scale·A·B` folded into the weights, and a GGUF export;
//! 7. [`qlora`] — the frozen base in NF4, and the memory it saves.
//!
//! The forward pass itself is in `locallm_model::proj`: a `Proj` with an
//! adapter computes `x·W + scale·(x·A)·B`.

pub mod attach;
pub mod config;
pub mod data;
pub mod finetune;
pub mod merge;
pub mod peft;
pub mod qlora;

pub use attach::{adapters, attach, count_trainable};
pub use config::{LoraConfig, Target};
pub use data::{DataError, Example, LineError, load_jsonl, parse_jsonl, tokenize_chat};
pub use finetune::{Checkpoints, FinetuneConfig, Finetuned, StepInfo, finetune};
pub use merge::{export_merged_gguf, merge};
pub use peft::{load_adapter, save_adapter};
pub use qlora::{base_bytes, quantize_base};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum LoraError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("bad LoRA config: {0}")]
    Config(String),
    #[error("bad adapter in {path}: {reason}")]
    Adapter { path: String, reason: String },
    #[error(transparent)]
    Train(#[from] locallm_train::TrainError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Tokenizer(#[from] locallm_tokenizer::TokenizerError),
    #[error(transparent)]
    GgufWrite(#[from] locallm_quant::GgufWriteError),
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> LoraError + '_ {
    move |source| LoraError::Io {
        path: path.display().to_string(),
        source,
    }
}
