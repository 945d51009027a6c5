//! # locallm-distill: a small model taught by a big one
//!
//! Training on text alone, a model learns from one "right answer" per
//! position: the token that came next. A trained teacher knows more than
//! that: after "the cat sat on the", it gives "mat" 30% and "floor" 10% and
//! "banana" almost nothing. Knowledge distillation (Hinton, Vinyals & Dean
//! 2015, arXiv:1503.02531) trains a student to match the teacher's whole
//! distribution, softened by a temperature so that the small probabilities
//! carry signal too. Reading order:
//!
//! 1. [`loss`] — the KD loss: KL at temperature T, times T², mixed with the
//!    hard-label cross-entropy; reverse KL as an option;
//! 2. [`run`] — the loss of a batch with the teacher run on the fly, and the
//!    student's KL to the teacher on held-out text.
//!
//! The training loop itself is `locallm_train::train_lm`: distillation only
//! changes what the loss of a batch is.

pub mod loss;
pub mod run;

pub use loss::{KdConfig, kd_loss_sum};
pub use run::{distill_batch_loss, kl_to_teacher};
