//! A training run described in a small TOML file (`tiny.toml`).
//!
//! The model's shape and the run's budget sit side by side, flat, because
//! that is how one reads them: "4 layers of width 128, 600 steps of 16
//! windows of 64 tokens". Unknown keys are an error: a typo (`lerning_rate`)
//! must not silently train with the default.

use std::path::Path;

use locallm_model::LlamaConfig;
use serde::{Deserialize, Serialize};

use crate::TrainError;

// ANCHOR: train_config
/// A from-scratch run: the model's shape and the training budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Transformer blocks.
    pub layers: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Query heads (head width = d_model / heads).
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Hidden width of the SwiGLU MLP.
    pub ffn: usize,
    /// Context length: tokens per training window.
    pub ctx: usize,
    /// Tokenizer vocabulary (BPE merges = vocab - 256 bytes - specials).
    /// Ignored by distillation, whose student shares the teacher's.
    #[serde(default = "default_vocab")]
    pub vocab: usize,
    /// Optimizer steps.
    pub steps: usize,
    /// Peak learning rate.
    pub lr: f32,
    /// Windows per step.
    pub batch: usize,
    pub seed: u64,
    /// Linear warm-up steps, then cosine decay to `lr * min_lr_ratio`.
    #[serde(default = "default_warmup")]
    pub warmup: usize,
    #[serde(default = "default_min_lr_ratio")]
    pub min_lr_ratio: f32,
    #[serde(default)]
    pub weight_decay: f32,
    #[serde(default = "default_clip")]
    pub max_grad_norm: f32,
    /// Fraction of the token stream (its end) held out for perplexity.
    #[serde(default = "default_held_out")]
    pub held_out: f32,
    /// Held-out evaluation every this many steps (and at the end); 0: end only.
    #[serde(default = "default_every")]
    pub eval_every: usize,
    /// At most this many held-out windows per evaluation (0: all).
    #[serde(default = "default_eval_windows")]
    pub eval_windows: usize,
    /// Checkpoint every this many steps (and at the end); 0: end only.
    #[serde(default = "default_every")]
    pub checkpoint_every: usize,
}
// ANCHOR_END: train_config

fn default_vocab() -> usize {
    512
}
fn default_warmup() -> usize {
    20
}
fn default_min_lr_ratio() -> f32 {
    0.1
}
fn default_clip() -> f32 {
    1.0
}
fn default_held_out() -> f32 {
    0.1
}
fn default_every() -> usize {
    50
}
fn default_eval_windows() -> usize {
    64
}

impl TrainConfig {
    /// Parses and checks a TOML config.
    pub fn from_toml(text: &str) -> Result<Self, TrainError> {
        let cfg: TrainConfig =
            toml::from_str(text).map_err(|e| TrainError::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and checks a TOML config file.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            TrainError::Config(m) => TrainError::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The Llama architecture this config describes.
    pub fn llama(&self) -> LlamaConfig {
        LlamaConfig {
            vocab_size: self.vocab,
            d_model: self.d_model,
            n_layers: self.layers,
            n_heads: self.heads,
            n_kv_heads: self.kv_heads,
            head_dim: self.d_model / self.heads.max(1),
            ffn_dim: self.ffn,
            rope_base: 10_000.0,
            rms_eps: 1e-5,
            context_length: self.ctx,
        }
    }

    /// Rejects configs the model or the loop cannot run, with a sentence.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return bad(format!(
                "d_model {} is not a multiple of heads {}",
                self.d_model, self.heads
            ));
        }
        if self.ctx < 2 || self.batch == 0 || self.steps == 0 || self.ffn == 0 {
            return bad("ctx must be >= 2, batch, steps and ffn > 0".into());
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!("lr {} must be a positive number", self.lr));
        }
        if !(0.0..1.0).contains(&self.held_out) {
            return bad(format!("held_out {} must be in [0, 1)", self.held_out));
        }
        if self.vocab < 257 {
            return bad(format!(
                "vocab {} must exceed the 256 byte tokens",
                self.vocab
            ));
        }
        self.llama()
            .validate()
            .map_err(|e| TrainError::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = "layers = 2\nd_model = 32\nheads = 4\nkv_heads = 2\nffn = 64\n\
                        ctx = 16\nvocab = 300\nsteps = 10\nlr = 1e-2\nbatch = 2\nseed = 1\n";

    #[test]
    fn parses_with_defaults() {
        let c = TrainConfig::from_toml(TINY).unwrap();
        assert_eq!(c.llama().head_dim, 8);
        assert_eq!(c.warmup, 20);
        assert_eq!(c.held_out, 0.1);
    }

    #[test]
    fn typos_and_bad_shapes_are_errors() {
        let typo = format!("{TINY}lerning_rate = 1\n");
        let e = TrainConfig::from_toml(&typo).unwrap_err().to_string();
        assert!(e.contains("lerning_rate"), "{e}");
        let bad = TINY.replace("heads = 4", "heads = 3");
        let e = TrainConfig::from_toml(&bad).unwrap_err().to_string();
        assert!(e.contains("multiple"), "{e}");
        let e = TrainConfig::from_toml("layers = -1").unwrap_err();
        assert!(matches!(e, TrainError::Config(_)));
    }
}
