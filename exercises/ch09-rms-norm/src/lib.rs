//! Chapter 9 exercise: RMSNorm, with a gain vector read from the model file.
//!
//! Every transformer block of a Llama model starts by normalising the vector
//! it reads, so that its size stays in a range the next matrix multiply was
//! trained for. Llama uses RMSNorm: divide the vector by its root mean square,
//! then multiply each channel by a learned gain `g`:
//!
//! ```text
//! y_i = x_i / sqrt(mean(x²) + eps) · g_i
//! ```
//!
//! `eps` is a small number (1e-5 for SmolLM2, from the metadata key
//! `llama.attention.layer_norm_rms_epsilon`) that keeps the division finite
//! for a vector of zeros. The gains are tensors of the file, one per norm:
//! `blk.0.attn_norm.weight` is the one in front of the first attention.
//!
//! Check your work with `./check.sh ch09-rms-norm` (from `exercises/`). The
//! tests compare your function with `locallm-model`'s `RmsNorm`, on random
//! vectors and on the real model's first norm applied to real token embeddings.

/// RMSNorm of one vector `x` with the gains `weight` (as long as `x`).
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    // TODO: the formula above.
    let _ = (x, weight, eps);
    todo!("normalise x by its root mean square")
}
