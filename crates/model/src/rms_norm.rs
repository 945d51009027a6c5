//! RMSNorm: rescale each vector to unit root-mean-square, then by a learned gain.
//!
//! Llama normalises before attention and before the MLP (pre-norm), and once
//! more before the output layer. Unlike LayerNorm there is no mean to subtract
//! and no bias: `y = x / sqrt(mean(x²) + eps) * g`.
//!
//! Gemma's checkpoints store `g − 1` and multiply by `1 + g`. A GGUF file does
//! not: llama.cpp's converter adds the 1 as it writes the file
//! (`conversion/gemma.py`, `Gemma3Model.norm_shift`), and llama.cpp's graph
//! multiplies by the stored gain. So every family uses the gain as stored.

use burn::module::{Module, Param};
use burn::tensor::Tensor;

#[derive(Module, Debug)]
pub struct RmsNorm {
    /// The learned gain `g`, one per channel: `[d_model]`.
    pub weight: Param<Tensor<1>>,
    pub eps: f32,
}

impl RmsNorm {
    pub fn new(weight: Tensor<1>, eps: f32) -> Self {
        RmsNorm {
            weight: Param::from_tensor(weight),
            eps,
        }
    }

    // ANCHOR: rms_norm
    /// `x`: `[batch, seq, d_model]` → same shape.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        // mean of squares over the channel axis: [batch, seq, 1]
        let mean_sq = x.clone().square().mean_dim(2);
        let inv_rms = mean_sq.add_scalar(self.eps).sqrt().recip();
        // [batch, seq, d_model] * [batch, seq, 1] * [1, 1, d_model]
        x * inv_rms * self.weight.val().unsqueeze::<3>()
    }
    // ANCHOR_END: rms_norm

    /// The same over each head: `x`: `[batch, seq, heads, head_dim]`, a
    /// `[head_dim]` gain shared by the heads (Qwen 3's and Gemma 3's Q/K norms).
    pub fn forward_heads(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, s, h, hd] = x.dims();
        self.forward(x.reshape([b, s * h, hd]))
            .reshape([b, s, h, hd])
    }
}

/// The same computation on a plain slice: the reference the tests and the
/// exercises compare against.
pub fn rms_norm_ref(x: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    let mean_sq = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv_rms = 1.0 / (mean_sq + eps).sqrt();
    x.iter().zip(weight).map(|(v, g)| v * inv_rms * g).collect()
}
