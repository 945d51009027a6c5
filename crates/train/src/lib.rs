//! # locallm-train: the pieces of a training loop, and training from scratch
//!
//! Training is a loop: run the model on a batch, measure how wrong it was
//! (the loss), ask autodiff which way each trainable number should move (the
//! gradients), and move it a little (the optimizer). This crate holds the
//! parts that do not depend on *what* is trained, so that LoRA fine-tuning
//! (`locallm-lora`), training from scratch and distillation
//! (`locallm-distill`) share them. Reading order:
//!
//! 1. [`toys`] — chapters 1–3 in miniature: a line and a small MLP fitted by
//!    gradient descent, a model saved as safetensors, clean vs noisy labels,
//!    the FLOPs of training and of generating;
//! 2. [`loss`] — cross-entropy of the next token, summed over chosen positions;
//! 3. [`params`] — the trainable tensors of any burn module, by path;
//! 4. [`optim`] — AdamW, gradient clipping, and the learning-rate schedule;
//! 5. [`step`] — one optimizer step over several micro-batches (accumulation);
//! 6. [`checkpoint`] — the whole training state in one file, written atomically;
//! 7. [`config`] — a from-scratch run as a TOML file;
//! 8. [`data`] — a token stream, its held-out tail, seeded random windows;
//! 9. [`pretrain`] — the from-scratch loop: evaluation, checkpoints, resume;
//! 10. [`curve`] — the loss curve as JSON and SVG;
//! 11. [`export`] — the trained model as a GGUF file.

pub mod checkpoint;
pub mod config;
pub mod curve;
pub mod data;
pub mod export;
pub mod loss;
pub mod optim;
pub mod params;
pub mod pretrain;
pub mod step;
pub mod toys;

pub use checkpoint::{
    Checkpoint, RunState, load_checkpoint, params_to_checkpoint, restore_params, save_checkpoint,
    write_atomic,
};
pub use config::TrainConfig;
pub use curve::write_loss_curve;
pub use data::{TokenSplit, batch_tensor, window_starts};
pub use export::{export_gguf, llama_metadata};
pub use loss::nll_sum;
pub use optim::{AdamW, AdamWConfig, LrSchedule, clip_global_norm};
pub use params::{GradMap, gradients, map_trainable, trainable_params};
pub use pretrain::{
    Cadence, Checkpoints, StepDone, StepInfo, Trained, Windows, eval_loss, init_model,
    next_token_loss, train_lm,
};
pub use step::{StepReport, accumulate_step};

/// What can go wrong in a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid checkpoint: {reason}")]
    BadCheckpoint { path: String, reason: String },
    #[error("bad training config: {0}")]
    Config(String),
}
