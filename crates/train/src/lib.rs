//! # locallm-train: the pieces of a training loop
//!
//! Training is a loop: run the model on a batch, measure how wrong it was
//! (the loss), ask autodiff which way each trainable number should move (the
//! gradients), and move it a little (the optimizer). This crate holds the
//! parts that do not depend on *what* is trained, so that LoRA fine-tuning
//! (`locallm-lora`) and training from scratch share them. Reading order:
//!
//! 1. [`loss`] — cross-entropy of the next token, summed over chosen positions;
//! 2. [`params`] — the trainable tensors of any burn module, by path;
//! 3. [`optim`] — AdamW, gradient clipping, and the learning-rate schedule;
//! 4. [`step`] — one optimizer step over several micro-batches (accumulation);
//! 5. [`checkpoint`] — the whole training state in one file, written atomically.

pub mod checkpoint;
pub mod loss;
pub mod optim;
pub mod params;
pub mod step;

pub use checkpoint::{Checkpoint, load_checkpoint, save_checkpoint, write_atomic};
pub use loss::nll_sum;
pub use optim::{AdamW, AdamWConfig, LrSchedule, clip_global_norm};
pub use params::{GradMap, gradients, map_trainable, trainable_params};
pub use step::{StepReport, accumulate_step};

/// What can go wrong reading back a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid checkpoint: {reason}")]
    BadCheckpoint { path: String, reason: String },
}
