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
//! that the adjacent convention gives the same result. The other families'
//! files (Qwen, Gemma, Phi) keep the Hugging Face rows, so they rotate halves
//! ([`RopeStyle::Halves`]). The greedy-decoding golden test against
//! llama.cpp, and the tiny models of every family, pin this down.
//!
//! Two knobs change the frequencies: *linear scaling* multiplies every
//! position by a factor < 1 (a model stretched to a longer context), and
//! Llama 3's *frequency factors* (the `rope_freqs` tensor its converter
//! writes) divide each pair's frequency by its own factor: 1 for the fast
//! pairs, up to 8 for the slow ones, a smooth blend between.

use burn::tensor::{Device, Tensor, TensorData};

pub use crate::family::RopeStyle;

/// Precomputed inverse frequencies `base^(-2i/head_dim)` for `i in 0..head_dim/2`.
#[derive(Debug, Clone)]
pub struct Rope {
    pub head_dim: usize,
    pub base: f32,
    pub style: RopeStyle,
    inv_freq: Vec<f32>,
}

impl Rope {
    /// Plain RoPE on adjacent pairs, as `llama` GGUF files want it.
    pub fn new(head_dim: usize, base: f32) -> Self {
        let inv_freq = (0..head_dim / 2)
            .map(|i| base.powf(-2.0 * i as f32 / head_dim as f32))
            .collect();
        Rope {
            head_dim,
            base,
            style: RopeStyle::Adjacent,
            inv_freq,
        }
    }

    /// The same frequencies, rotating the pairs `style` says.
    pub fn with_style(mut self, style: RopeStyle) -> Self {
        self.style = style;
        self
    }

    // ANCHOR: rope_scaling
    /// Linear scaling: the angle of position `p` becomes that of `p · scale`
    /// (ggml's `freq_scale`).
    pub fn with_freq_scale(mut self, scale: f32) -> Self {
        self.inv_freq.iter_mut().for_each(|f| *f *= scale);
        self
    }

    /// Llama 3's per-pair factors (`rope_freqs.weight`, `head_dim/2` values):
    /// pair `i` turns `factors[i]` times slower (ggml's `freq_factors`).
    pub fn with_freq_factors(mut self, factors: &[f32]) -> Self {
        assert_eq!(factors.len(), self.inv_freq.len(), "one factor per pair");
        for (f, d) in self.inv_freq.iter_mut().zip(factors) {
            *f /= d;
        }
        self
    }
    // ANCHOR_END: rope_scaling

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
        if self.style == RopeStyle::Halves {
            // pair i is (x[i], x[i + d/2]): rotate the two halves
            let (cos, sin) = (cos.reshape([1, 1, s, d / 2]), sin.reshape([1, 1, s, d / 2]));
            let x0 = x.clone().narrow(3, 0, d / 2); // [b, h, s, d/2]
            let x1 = x.narrow(3, d / 2, d / 2);
            let r0 = x0.clone() * cos.clone() - x1.clone() * sin.clone();
            let r1 = x0 * sin + x1 * cos;
            return Tensor::cat(vec![r0, r1], 3);
        }
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
        let half = self.inv_freq.len();
        for (i, &f) in self.inv_freq.iter().enumerate() {
            let (s, c) = (pos as f32 * f).sin_cos();
            let (i0, i1) = match self.style {
                RopeStyle::Adjacent => (2 * i, 2 * i + 1),
                RopeStyle::Halves => (i, i + half),
            };
            let (a, b) = (x[i0], x[i1]);
            out[i0] = a * c - b * s;
            out[i1] = a * s + b * c;
        }
        out
    }
}
