//! Unstructured and N:M pruning: zeros anywhere (or `M - N` in every run of `M`).
//!
//! The matrices keep their shapes; some entries become 0. Nothing gets smaller
//! or faster by itself: a dense matmul multiplies by a zero as fast as by any
//! other number. What it buys is headroom: a sparse format or sparse kernel
//! can skip the zeros (N:M is the pattern GPUs' sparse tensor cores skip).

use burn::tensor::Tensor;
use locallm_model::llama::Block;

use crate::calibrate::InputNorms;
use crate::mask::{mask_n_m, mask_per_matrix, mask_per_row};
use crate::matrices::Matrix;
use crate::{Pattern, PruneError, Score, TensorReport, score};

// ANCHOR: prune_matrix
/// Prunes one matrix `w` (`[d_out, d_in]` rows) and returns it with zeros.
/// `input_norms` (`[d_in]`) are needed for Wanda's score.
pub fn prune_matrix(
    w: Tensor<2>,
    score: Score,
    input_norms: Option<Tensor<1>>,
    pattern: Pattern,
) -> Result<Tensor<2>, PruneError> {
    let scores = match (score, input_norms) {
        (Score::Magnitude, _) => score::magnitude(w.clone()),
        (Score::Wanda, Some(norms)) => score::wanda(w.clone(), norms),
        (Score::Wanda, None) => return Err(PruneError::NeedsCalibration),
    };
    let mask = match (pattern, score) {
        (Pattern::NM { n, m }, _) => mask_n_m(scores, n, m)?,
        // the magnitude baseline compares all weights of a matrix with one threshold;
        (Pattern::Fraction(s), Score::Magnitude) => mask_per_matrix(scores, s),
        // Wanda compares weights only within an output row
        (Pattern::Fraction(s), Score::Wanda) => mask_per_row(scores, s),
    };
    Ok(w * mask) // [d_out, d_in]
}
// ANCHOR_END: prune_matrix

/// Prunes the seven matrices of `block` in place.
pub fn prune_block(
    block: &mut Block,
    layer: usize,
    score: Score,
    pattern: Pattern,
    norms: Option<&InputNorms>,
) -> Result<Vec<TensorReport>, PruneError> {
    let mut reports = Vec::with_capacity(Matrix::ALL.len());
    for proj in Matrix::ALL {
        let w = proj.rows(block); // [d_out, d_in]
        let [d_out, d_in] = w.dims();
        let pruned = prune_matrix(w, score, norms.map(|n| proj.input_norms(n)), pattern)?;
        reports.push(TensorReport {
            name: proj.tensor_name(layer),
            shape_before: [d_out, d_in],
            shape: [d_out, d_in],
            zeros: count_zeros(pruned.clone()),
        });
        proj.set_rows(block, pruned);
    }
    Ok(reports)
}

/// How many entries of `w` are exactly 0.
pub fn count_zeros(w: Tensor<2>) -> usize {
    w.equal_elem(0.0).int().sum().into_scalar::<i64>() as usize
}
