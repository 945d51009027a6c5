//! Scores: how much each weight matters, the higher the more.
//!
//! - Magnitude: `|W_ij|`. Small weights change the output little... if their
//!   inputs are of similar size, which in LLMs they are not: a few input
//!   channels carry activations 100× larger than the rest.
//! - Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for
//!   Large Language Models"): `|W_ij| · ‖X_j‖₂`, the weight's size times the
//!   size of the input it multiplies, measured on calibration text. Removing
//!   `W_ij` changes output `i` by `W_ij · x_j`, so this is (up to a constant)
//!   the size of the error that removing it causes.

use burn::tensor::Tensor;

// ANCHOR: wanda_score
/// The Wanda score of every weight: `w` `[d_out, d_in]` (one row per output),
/// `input_norms` `[d_in]` = `‖X_j‖₂` → `[d_out, d_in]`.
pub fn wanda(w: Tensor<2>, input_norms: Tensor<1>) -> Tensor<2> {
    // [d_out, d_in] * [1, d_in]: input j's norm scales column j
    w.abs() * input_norms.unsqueeze::<2>()
}

/// `‖X_j‖₂` for every input channel `j`, over all calibration tokens:
/// `x` `[batch, seq, d_in]` → `[d_in]`.
pub fn input_norms(x: Tensor<3>) -> Tensor<1> {
    let [b, s, d] = x.dims();
    let tokens = x.reshape([b * s, d]); // one row per token
    tokens.square().sum_dim(0).sqrt().reshape([d])
}
// ANCHOR_END: wanda_score

/// The magnitude score: `|W_ij|`, `[d_out, d_in]`.
pub fn magnitude(w: Tensor<2>) -> Tensor<2> {
    w.abs()
}
