//! Calibration: what the inputs of each linear layer look like on real text.
//!
//! Wanda needs `‖X_j‖₂` for the input of every matrix it prunes. The inputs of
//! layer `i` depend on layers `0..i`, which are pruned first, so (as the
//! reference code does) calibration runs layer by layer: capture the inputs
//! of layer `i`'s matrices, prune layer `i`, then run the *pruned* layer to
//! get the inputs of layer `i + 1`. Later layers then adapt to the errors of
//! earlier ones instead of to a model that no longer exists.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::activation::silu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::llama::Block;
use locallm_model::rope::Rope;
use locallm_model::{NoCache, Proj};

use crate::PruneError;
use crate::score::input_norms;

/// Calibration token ids, `[n_seq, seq_len]`.
pub type Calibration = Tensor<2, Int>;

/// `n_tokens` tokens from the start of `tokens`, cut into sequences of
/// `seq_len`: `[n_tokens / seq_len, seq_len]`.
pub fn calibration_batch(
    tokens: &[u32],
    n_tokens: usize,
    seq_len: usize,
    device: &Device,
) -> Result<Calibration, PruneError> {
    if seq_len == 0 || n_tokens < seq_len {
        return Err(PruneError::BadCalibration { n_tokens, seq_len });
    }
    if tokens.len() < n_tokens {
        return Err(PruneError::CalibrationTooShort {
            have: tokens.len(),
            need: n_tokens,
        });
    }
    let n_seq = n_tokens / seq_len; // a partial last sequence is left out
    let ids: Vec<i64> = tokens[..n_seq * seq_len]
        .iter()
        .map(|&t| t as i64)
        .collect();
    Ok(Tensor::from_data(
        TensorData::new(ids, [n_seq, seq_len]),
        device,
    ))
}

/// `‖X_j‖₂` of the input of each matrix of one block.
pub struct InputNorms {
    /// Input of q, k and v (the normed residual stream): `[d_model]`.
    pub attn: Tensor<1>,
    /// Input of the output projection (the heads, concatenated): `[n_heads * head_dim]`.
    pub attn_output: Tensor<1>,
    /// Input of gate and up: `[d_model]`.
    pub mlp: Tensor<1>,
    /// Input of down, `silu(gate(x)) * up(x)`: `[ffn_dim]`.
    pub down: Tensor<1>,
}

// ANCHOR: capture
/// Runs `block` on `x` (`[batch, seq, d_model]`, the block's input) and
/// measures the input of each of its matrices, as PyTorch forward hooks would.
pub fn capture(block: &Block, x: Tensor<3>, layer: usize, rope: &Rope) -> InputNorms {
    let a = block.attn_norm.forward(x.clone()); // [b, s, d_model]
    // The attention with an identity output projection returns the o input.
    let mut heads_only = block.attn.clone();
    heads_only.o = identity(block.attn.o.dims().0, &x.device());
    let heads = heads_only.forward(a.clone(), layer, 0, rope, &mut NoCache); // [b, s, q_dim]
    let h = x + block.attn.o.forward(heads.clone()); // the residual stream after attention
    let m = block.ffn_norm.forward(h); // [b, s, d_model]
    let down_in = silu(block.mlp.gate.forward(m.clone())) * block.mlp.up.forward(m.clone());
    InputNorms {
        attn: input_norms(a),
        attn_output: input_norms(heads),
        mlp: input_norms(m),
        down: input_norms(down_in), // [b, s, ffn_dim] → [ffn_dim]
    }
}
// ANCHOR_END: capture

/// `y = x`: an `n × n` identity layer.
fn identity(n: usize, device: &Device) -> Proj {
    Proj::dense(Linear {
        weight: Param::from_tensor(Tensor::eye(n, device)),
        bias: None,
    })
}
