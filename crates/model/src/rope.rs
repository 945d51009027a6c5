//! Rotary position embedding (RoPE).
//!
//! Attention by itself cannot tell positions apart. RoPE rotates each pair of
//! channels of a query or key by an angle proportional to its position, so the
//! dot product of a query at position m with a key at position n depends only
//! on m − n. Pair i turns at frequency `base^(-2i / head_dim)`: the first
//! pairs spin fast (fine position), the last ones slowly (coarse position).
//!
//! Which channels form a pair is a convention. GGUF files of the `llama`
//! architecture use *adjacent* pairs `(x[2i], x[2i+1])` — llama.cpp's
//! `LLAMA_ROPE_TYPE_NORM`. Hugging Face checkpoints rotate `(x[i], x[i+d/2])`
//! instead ("NeoX" style); the GGUF converter permutes the Q and K weights so
//! that the adjacent convention gives the same result. The greedy-decoding
//! golden test against llama.cpp is what pins this down.

use burn::tensor::{Device, Tensor, TensorData};

/// Precomputed inverse frequencies `base^(-2i/head_dim)` for `i in 0..head_dim/2`.
#[derive(Debug, Clone)]
pub struct Rope {
    pub head_dim: usize,
    pub base: f32,
    inv_freq: Vec<f32>,
}

impl Rope {
    pub fn new(head_dim: usize, base: f32) -> Self {
        let inv_freq = (0..head_dim / 2)
            .map(|i| base.powf(-2.0 * i as f32 / head_dim as f32))
            .collect();
        Rope {
            head_dim,
            base,
            inv_freq,
        }
    }

    /// cos and sin of `position * inv_freq` for `seq` positions from `start`:
    /// each `[seq, head_dim/2]`.
    fn tables(&self, start: usize, seq: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let half = self.head_dim / 2;
        let (mut cos, mut sin) = (
            Vec::with_capacity(seq * half),
            Vec::with_capacity(seq * half),
        );
        for pos in start..start + seq {
            for &f in &self.inv_freq {
                let angle = pos as f32 * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let cos = Tensor::from_data(TensorData::new(cos, [seq, half]), device);
        let sin = Tensor::from_data(TensorData::new(sin, [seq, half]), device);
        (cos, sin)
    }

    // ANCHOR: rope_apply
    /// Rotates `x`: `[batch, heads, seq, head_dim]`, whose token `t` sits at
    /// position `start + t`.
    pub fn apply(&self, x: Tensor<4>, start: usize) -> Tensor<4> {
        let [b, h, s, d] = x.dims();
        let (cos, sin) = self.tables(start, s, &x.device());
        // [seq, d/2] → [1, 1, seq, d/2, 1], broadcast over batch and heads
        let cos = cos.reshape([1, 1, s, d / 2, 1]);
        let sin = sin.reshape([1, 1, s, d / 2, 1]);
        // split channels into adjacent pairs: [b, h, s, d/2, 2]
        let pairs = x.reshape([b, h, s, d / 2, 2]);
        let x0 = pairs.clone().narrow(4, 0, 1);
        let x1 = pairs.narrow(4, 1, 1);
        // the 2-D rotation of each pair by its angle
        let r0 = x0.clone() * cos.clone() - x1.clone() * sin.clone();
        let r1 = x0 * sin + x1 * cos;
        Tensor::cat(vec![r0, r1], 4).reshape([b, h, s, d])
    }
    // ANCHOR_END: rope_apply

    /// The same rotation on one head vector at one position: the plain reference.
    pub fn apply_ref(&self, x: &[f32], pos: usize) -> Vec<f32> {
        let mut out = x.to_vec();
        for (i, &f) in self.inv_freq.iter().enumerate() {
            let (s, c) = (pos as f32 * f).sin_cos();
            let (a, b) = (x[2 * i], x[2 * i + 1]);
            out[2 * i] = a * c - b * s;
            out[2 * i + 1] = a * s + b * c;
        }
        out
    }
}
