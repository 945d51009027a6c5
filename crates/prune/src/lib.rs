//! # locallm-prune: removing weights from a trained model
//!
//! Pruning sets weights to zero (or removes them) and hopes the model barely
//! notices. Two questions decide how well that goes, and each module answers
//! one of them:
//!
//! 1. [`score`] — *which* weights matter least? Their magnitude `|W|`, or
//!    Wanda's `|W|·‖X‖`, which also asks how large the input they multiply is;
//! 2. [`mask`] — *compared with which others*? The whole matrix (one
//!    threshold), each output row (Wanda), or each run of `M` weights (N:M).
//!
//! Then:
//! - [`calibrate`] measures the inputs Wanda needs, layer by layer, on
//!   calibration text, feeding each pruned layer's output to the next;
//! - [`unstructured`] zeros single weights (shapes stay; nothing is faster
//!   without sparse kernels);
//! - [`structured`] removes whole FFN channels and KV head groups (shapes
//!   shrink; the model really is smaller and faster);
//! - [`save`] writes the result as GGUF, loadable by this engine and llama.cpp;
//! - [`matrices`] names a block's seven matrices and gives their `[d_out, d_in]` view.
//!
//! ```no_run
//! use locallm_prune::{Pattern, PruneSpec, Score, Target, prune};
//! let gguf = locallm_quant::GgufFile::open("model.gguf")?;
//! let device = locallm_model::default_device()?;
//! let mut model = locallm_model::load_llama(&gguf, &device)?;
//! let spec = PruneSpec { score: Score::Magnitude, target: Target::Unstructured(Pattern::NM { n: 2, m: 4 }) };
//! let report = prune(&mut model, &spec, None, |_, _| {})?;
//! locallm_prune::save::save_pruned(&gguf, &model, &spec.to_string(), "pruned.gguf".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod calibrate;
pub mod mask;
pub mod matrices;
pub mod save;
pub mod score;
pub mod structured;
pub mod unstructured;

use std::fmt;

use locallm_model::{Llama, NoCache};

pub use calibrate::{Calibration, calibration_batch};
pub use save::save_pruned;

/// How a weight's importance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// `|W_ij|`.
    Magnitude,
    /// `|W_ij| · ‖X_j‖₂` (needs calibration text).
    Wanda,
}

/// Where the zeros of unstructured pruning may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pattern {
    /// This fraction of each matrix (magnitude) or each row (Wanda), anywhere.
    Fraction(f64),
    /// `n` weights kept in every run of `m` along a row (2:4, 4:8).
    NM { n: usize, m: usize },
}

/// What to remove.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Zeros inside matrices that keep their shapes.
    Unstructured(Pattern),
    /// This fraction of the FFN channels and of the KV head groups of every
    /// layer, removed (rounded to whole units).
    Structured(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PruneSpec {
    pub score: Score,
    pub target: Target,
}

impl PruneSpec {
    /// Checks the numbers before any work: sparsity in `[0, 1)`, `1 <= n < m`.
    pub fn validate(&self) -> Result<(), PruneError> {
        match self.target {
            Target::Unstructured(Pattern::Fraction(s)) | Target::Structured(s) => {
                mask::check_sparsity(s)
            }
            Target::Unstructured(Pattern::NM { n, m }) => mask::check_n_m(n, m),
        }
    }
}

impl fmt::Display for PruneSpec {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let score = match self.score {
            Score::Magnitude => "magnitude",
            Score::Wanda => "wanda",
        };
        match self.target {
            Target::Unstructured(Pattern::Fraction(s)) => write!(f, "{score} {:.0}%", s * 100.0),
            Target::Unstructured(Pattern::NM { n, m }) => write!(f, "{score} {n}:{m}"),
            Target::Structured(s) => write!(f, "structured {score} {:.0}%", s * 100.0),
        }
    }
}

/// Parses `"2:4"` into `(2, 4)`, checking `1 <= n < m`.
pub fn parse_n_m(text: &str) -> Result<(usize, usize), PruneError> {
    let bad = || PruneError::BadNmSyntax(text.to_string());
    let (n, m) = text.split_once(':').ok_or_else(bad)?;
    let (n, m) = (
        n.trim().parse().map_err(|_| bad())?,
        m.trim().parse().map_err(|_| bad())?,
    );
    mask::check_n_m(n, m)?;
    Ok((n, m))
}

/// What happened to one matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorReport {
    pub name: String,
    /// `[d_out, d_in]` before and after (they differ only for structured pruning).
    pub shape_before: [usize; 2],
    pub shape: [usize; 2],
    /// Entries that are exactly zero now.
    pub zeros: usize,
}

impl TensorReport {
    /// The fraction of the original weights that are gone or zero.
    pub fn sparsity(&self) -> f64 {
        let before = (self.shape_before[0] * self.shape_before[1]) as f64;
        let nonzero = (self.shape[0] * self.shape[1] - self.zeros) as f64;
        1.0 - nonzero / before
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("sparsity must be in [0, 1), got {0}")]
    BadSparsity(f64),
    #[error("N:M must keep 1 <= N < M weights in every M, got {n}:{m}")]
    BadNm { n: usize, m: usize },
    #[error("N:M must be written like 2:4, got {0:?}")]
    BadNmSyntax(String),
    #[error("{n}:{m} sparsity needs rows whose length is a multiple of {m}, got {cols}")]
    NmShape { n: usize, m: usize, cols: usize },
    #[error("Wanda scores need calibration text (--calib)")]
    NeedsCalibration,
    #[error("cannot cut {n_tokens} calibration tokens into sequences of {seq_len}")]
    BadCalibration { n_tokens: usize, seq_len: usize },
    #[error(
        "the calibration text has {have} tokens but {need} were asked for: give a longer text or fewer --calib-tokens"
    )]
    CalibrationTooShort { have: usize, need: usize },
    #[error(
        "structured sparsity {fraction} would remove all {kv_groups} KV head groups of a layer"
    )]
    TooManyHeads { fraction: f64, kv_groups: usize },
    #[error(transparent)]
    Write(#[from] locallm_quant::GgufWriteError),
}

// ANCHOR: prune
/// Prunes `model` in place, layer by layer, and reports what happened to each
/// matrix. `calib` (`[n_seq, seq_len]` token ids) is needed for Wanda scores.
/// `on_layer(done, total)` is called after each layer.
pub fn prune(
    model: &mut Llama,
    spec: &PruneSpec,
    calib: Option<Calibration>,
    mut on_layer: impl FnMut(usize, usize),
) -> Result<Vec<TensorReport>, PruneError> {
    spec.validate()?;
    let Llama {
        embed,
        blocks,
        rope,
        config,
        ..
    } = model;
    // Magnitude needs no data. Wanda follows the calibration text through the
    // model: x is the input of the current layer, [n_seq, seq_len, d_model].
    let mut x = match (spec.score, calib) {
        (Score::Magnitude, _) => None,
        (Score::Wanda, Some(tokens)) => Some(embed.forward(tokens)),
        (Score::Wanda, None) => return Err(PruneError::NeedsCalibration),
    };
    let (n_layers, mut reports) = (blocks.len(), Vec::new());
    for (i, block) in blocks.iter_mut().enumerate() {
        let norms = x
            .as_ref()
            .map(|x| calibrate::capture(block, x.clone(), i, rope));
        reports.extend(match spec.target {
            Target::Unstructured(p) => {
                unstructured::prune_block(block, i, spec.score, p, norms.as_ref())?
            }
            Target::Structured(f) => {
                structured::prune_block(block, i, spec.score, f, norms.as_ref())?
            }
        });
        // the next layer sees what this *pruned* layer outputs
        x = x.map(|x| block.forward(x, i, 0, rope, &mut NoCache));
        on_layer(i + 1, n_layers);
    }
    if let Some(first) = blocks.first() {
        // every layer lost the same units, so one config still describes them all
        config.n_heads = first.attn.n_heads;
        config.n_kv_heads = first.attn.n_kv_heads;
        config.ffn_dim = first.mlp.up.dims().1;
    }
    Ok(reports)
}
// ANCHOR_END: prune
