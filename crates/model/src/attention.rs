//! Grouped-query self-attention with rotary positions and a pluggable KV cache.
//!
//! Each query head compares its query with the keys of every earlier position
//! and takes the softmax-weighted average of their values. In grouped-query
//! attention (GQA) several query heads share one key/value head: SmolLM2-135M
//! has 9 query heads and 3 KV heads, so query heads 0–2 read KV head 0, 3–5
//! read KV head 1, 6–8 read KV head 2. The KV cache shrinks by the same factor.

use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Tensor};

use crate::proj::Proj;
use crate::rope::Rope;

// ANCHOR: kv_cache_trait
/// Where attention keeps the keys and values of earlier positions.
///
/// The model does not own its cache: generation code does (see
/// `locallm-infer`), and hands it to every forward call.
pub trait KvCache {
    /// Stores `k` and `v` (`[batch, kv_heads, seq, head_dim]`) of `layer` for
    /// positions `start..start + seq`, and returns the keys and values of all
    /// positions `0..start + seq`.
    fn update(
        &mut self,
        layer: usize,
        start: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>);
}
// ANCHOR_END: kv_cache_trait

/// The plain twin of a cache: remembers nothing, so every forward pass must
/// see the whole sequence from position 0. Generating with it recomputes
/// everything for each new token — slow, and the reference the cached path is
/// tested against.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCache;

impl KvCache for NoCache {
    fn update(
        &mut self,
        _layer: usize,
        start: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        assert_eq!(
            start, 0,
            "NoCache cannot continue a sequence: pass the whole sequence from position 0"
        );
        (k, v)
    }
}

#[derive(Module, Debug)]
pub struct Attention {
    pub q: Proj, // [d_model, n_heads * head_dim]
    pub k: Proj, // [d_model, n_kv_heads * head_dim]
    pub v: Proj, // [d_model, n_kv_heads * head_dim]
    pub o: Proj, // [n_heads * head_dim, d_model]
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
}

impl Attention {
    // ANCHOR: attention_forward
    /// `x`: `[batch, seq, d_model]`, the tokens at positions `start..start+seq`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        layer: usize,
        start: usize,
        rope: &Rope,
        cache: &mut dyn KvCache,
    ) -> Tensor<3> {
        let [b, s, _] = x.dims();
        let (h, kvh, hd) = (self.n_heads, self.n_kv_heads, self.head_dim);

        // project, then split the channels into heads: [batch, heads, seq, head_dim]
        let [q, k, v] = Proj::forward_many([&self.q, &self.k, &self.v], x);
        let q = q.reshape([b, s, h, hd]).swap_dims(1, 2);
        let k = k.reshape([b, s, kvh, hd]).swap_dims(1, 2);
        let v = v.reshape([b, s, kvh, hd]).swap_dims(1, 2);

        // positions enter only here, by rotating queries and keys
        let q = rope.apply(q, start);
        let k = rope.apply(k, start);

        // keys/values of every position so far: [batch, kv_heads, start+seq, head_dim]
        let (k, v) = cache.update(layer, start, k, v);
        let t = start + s;

        // GQA: the `group` query heads that share a KV head become `group`
        // extra query rows of that head: [batch, kv_heads, group·seq, head_dim].
        // Keys and values are used as they are, never copied once per query head.
        let group = h / kvh;
        let q = q.reshape([b, kvh, group * s, hd]);

        // scaled dot-product scores: [batch, kv_heads, group·seq, t]
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((hd as f32).sqrt());
        let scores = if s > 1 {
            // causal mask: query i (at position start+i) must not see key j > start+i;
            // row g·seq + i of a head is query i of its g-th query head
            let mask = Tensor::<2, Bool>::tril_mask([s, t], start as i64, &scores.device());
            let mask = mask
                .unsqueeze::<3>()
                .expand([group, s, t])
                .reshape([group * s, t]);
            scores.mask_fill(mask.unsqueeze::<4>(), f32::NEG_INFINITY)
        } else {
            scores // a single new token may look at everything before it: no mask at all
        };
        let weights = softmax(scores, 3);

        // weighted sum of values, heads merged back: [batch, seq, d_model]
        let out = weights.matmul(v).reshape([b, h, s, hd]); // [batch, heads, seq, head_dim]
        let out = out.swap_dims(1, 2).reshape([b, s, h * hd]);
        self.o.forward(out)
    }
    // ANCHOR_END: attention_forward
}
