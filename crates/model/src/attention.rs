//! Grouped-query self-attention with rotary positions and a pluggable KV cache.
//!
//! Each query head compares its query with the keys of every earlier position
//! and takes the softmax-weighted average of their values. In grouped-query
//! attention (GQA) several query heads share one key/value head: SmolLM2-135M
//! has 9 query heads and 3 KV heads, so query heads 0–2 read KV head 0, 3–5
//! read KV head 1, 6–8 read KV head 2. The KV cache shrinks by the same factor.
//!
//! The families add three switches: biases on Q, K and V (Qwen 2), an
//! RMSNorm over each query and key head before RoPE (Qwen 3, Gemma 3), and a
//! sliding window (Gemma 3's local layers see only the last `window`
//! positions).

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Tensor, TensorData};
use locallm_quant::kernels::{AttentionShape, Kernels, attention_f32};

use crate::device::host_f32;
use crate::proj::Proj;
use crate::rms_norm::RmsNorm;
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

    /// The fast path's way in, for one sequence (batch 1): stores `k` and
    /// `v` (`[kv_heads, seq, head_dim]`, f32) for positions
    /// `start..start + seq` and lends back the keys and values of every
    /// position so far where the cache keeps them, for the fused attention
    /// to read in place. `None`, the default: this cache keeps burn tensors,
    /// use [`update`](Self::update).
    fn update_host(
        &mut self,
        _layer: usize,
        _start: usize,
        _k: &[f32],
        _v: &[f32],
    ) -> Option<HostKv<'_>> {
        None
    }
}
// ANCHOR_END: kv_cache_trait

/// Keys and values in host memory, `[kv_heads, head_stride, head_dim]`
/// each: a head's positions `0..` one after the other, the next head's
/// `head_stride` positions further on.
pub struct HostKv<'a> {
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub head_stride: usize,
}

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

/// One sequence of a forward pass: where its new tokens start, and the cache
/// that holds its earlier positions. A batched decode step passes several,
/// each at its own position in its own cache.
pub struct Seq<'c> {
    pub start: usize,
    pub cache: &'c mut dyn KvCache,
}

#[derive(Module, Debug)]
pub struct Attention {
    pub q: Proj, // [d_model, n_heads * head_dim]
    pub k: Proj, // [d_model, n_kv_heads * head_dim]
    pub v: Proj, // [d_model, n_kv_heads * head_dim]
    pub o: Proj, // [n_heads * head_dim, d_model]
    /// Added to the Q, K and V projections (Qwen 2), if the file has them.
    pub bias: Option<QkvBias>,
    /// RMSNorm over each query head and each key head (`[head_dim]` gains).
    pub q_norm: Option<RmsNorm>,
    pub k_norm: Option<RmsNorm>,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    /// What the query·key scores are multiplied by: 1/√head_dim in every
    /// family but Gemma 3 27B (see `family.rs`).
    #[module(skip)]
    pub scale: f32,
    /// `Some(w)`: a query sees only keys less than `w` positions back.
    #[module(skip)]
    pub window: Option<usize>,
    /// `Some(kernels)`: a prompt's attention runs fused on the CPU
    /// (`locallm_quant::kernels::attention_f32`), the fast path's arm, set
    /// by the quantized loader; `None`: as tensor operations (the plain
    /// path: any backend, and autodiff for training).
    #[module(skip)]
    pub fused: Option<Kernels>,
}

/// The biases of the Q, K and V projections: `[q_dim]`, `[kv_dim]`, `[kv_dim]`.
#[derive(Module, Debug)]
pub struct QkvBias {
    pub q: Param<Tensor<1>>,
    pub k: Param<Tensor<1>>,
    pub v: Param<Tensor<1>>,
}

impl Attention {
    /// `x`: `[batch, seq, d_model]`, the tokens at positions `start..start+seq`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        layer: usize,
        start: usize,
        rope: &Rope,
        cache: &mut dyn KvCache,
    ) -> Tensor<3> {
        self.forward_seqs(x, layer, rope, &mut [Seq { start, cache }])
    }

    // ANCHOR: attention_forward
    /// `x`: `[batch, seq, d_model]`, its batch rows split evenly over `seqs`:
    /// each sequence's rows are its tokens at positions `start..start+seq`,
    /// attending to its own cache. (One sequence: the whole batch shares a
    /// cache and a position. A batched decode step: one row per sequence.)
    pub fn forward_seqs(
        &self,
        x: Tensor<3>,
        layer: usize,
        rope: &Rope,
        seqs: &mut [Seq<'_>],
    ) -> Tensor<3> {
        let [b, s, _] = x.dims();
        let (h, kvh, hd) = (self.n_heads, self.n_kv_heads, self.head_dim);

        // project: [batch, seq, heads · head_dim]
        // (one parallel call for the three matrices: they read the same x;
        // every row of the batch in the same call, so each weight is read once)
        let [mut q, mut k, mut v] = Proj::forward_many([&self.q, &self.k, &self.v], x);
        if let Some(bias) = &self.bias {
            q = q + bias.q.val().unsqueeze::<3>();
            k = k + bias.k.val().unsqueeze::<3>();
            v = v + bias.v.val().unsqueeze::<3>();
        }
        // split the channels into heads: [batch, seq, heads, head_dim]
        let (mut q, mut k) = (q.reshape([b, s, h, hd]), k.reshape([b, s, kvh, hd]));
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = qn.forward_heads(q);
            k = kn.forward_heads(k);
        }
        // [batch, heads, seq, head_dim]
        let (q, k) = (q.swap_dims(1, 2), k.swap_dims(1, 2));
        let v = v.reshape([b, s, kvh, hd]).swap_dims(1, 2);

        // each sequence's rows meet its own positions and its own cache
        let out = match seqs {
            [seq] => self.attend(q, k, v, layer, rope, seq),
            _ => {
                let n = b / seqs.len();
                let rows = |t: &Tensor<4>, i: usize| t.clone().narrow(0, i * n, n);
                let outs = (seqs.iter_mut().enumerate())
                    .map(|(i, seq)| {
                        self.attend(rows(&q, i), rows(&k, i), rows(&v, i), layer, rope, seq)
                    })
                    .collect();
                Tensor::cat(outs, 0)
            }
        }; // [batch, heads, seq, head_dim]

        // heads merged back: [batch, seq, d_model]
        let out = out.swap_dims(1, 2).reshape([b, s, h * hd]);
        self.o.forward(out)
    }

    /// Attention of one sequence's rows: `q` `[n, heads, seq, head_dim]`,
    /// `k`, `v` `[n, kv_heads, seq, head_dim]` of the tokens at positions
    /// `seq.start..` → the weighted sums of values, `[n, heads, seq, head_dim]`.
    fn attend(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        layer: usize,
        rope: &Rope,
        seq: &mut Seq<'_>,
    ) -> Tensor<4> {
        let [b, h, s, hd] = q.dims();
        let (kvh, start) = (self.n_kv_heads, seq.start);

        // positions enter only here, by rotating queries and keys
        let q = rope.apply(q, start);
        let k = rope.apply(k, start);

        // the fast path, where the cache lends its memory: fused, in place
        if let (Some(kernels), 1) = (self.fused, b) {
            let (k_new, v_new) = (host_f32(k.clone()), host_f32(v.clone()));
            if let Some(kv) = seq.cache.update_host(layer, start, &k_new, &v_new) {
                return self.fused(q, kv.k, kv.v, kv.head_stride, start, kernels);
            }
        }

        // keys/values of every position so far: [n, kv_heads, start+seq, head_dim]
        let (k, v) = seq.cache.update(layer, start, k, v);
        let t = start + s;
        if let (Some(kernels), 1, true) = (self.fused, b, s > 1) {
            return self.fused(q, &host_f32(k), &host_f32(v), t, start, kernels);
        }

        // GQA: the `group` query heads that share a KV head become `group`
        // extra query rows of that head: [n, kv_heads, group·seq, head_dim].
        // Keys and values are used as they are, never copied once per query head.
        let group = h / kvh;
        let q = q.reshape([b, kvh, group * s, hd]);

        // scaled dot-product scores: [n, kv_heads, group·seq, t]
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(self.scale);
        let scores = match self.mask(start, s, t, &scores.device()) {
            // row g·seq + i of a head is query i of its g-th query head
            Some(mask) => {
                let mask = mask
                    .unsqueeze::<3>()
                    .expand([group, s, t])
                    .reshape([group * s, t]);
                scores.mask_fill(mask.unsqueeze::<4>(), f32::NEG_INFINITY)
            }
            None => scores, // a single new token may look at everything before it
        };
        let weights = softmax(scores, 3);

        // weighted sum of values: [n, heads, seq, head_dim]
        weights.matmul(v).reshape([b, h, s, hd])
    }
    // ANCHOR_END: attention_forward

    /// The fast path's arm: the same attention as the tensor operations
    /// above, fused into one pass per query over only the keys it sees (see
    /// `attention_f32`). `q` `[1, heads, seq, head_dim]`, `k`, `v`
    /// `[kv_heads, stride, head_dim]` holding positions `0..start + seq` →
    /// `[1, heads, seq, head_dim]`.
    fn fused(
        &self,
        q: Tensor<4>,
        k: &[f32],
        v: &[f32],
        stride: usize,
        start: usize,
        kernels: Kernels,
    ) -> Tensor<4> {
        let (dims, device) = (q.dims(), q.device());
        let [_, h, s, hd] = dims;
        let shape = AttentionShape {
            kv_heads: self.n_kv_heads,
            group: h / self.n_kv_heads,
            queries: s,
            start,
            head_dim: hd,
            window: self.window,
            scale: self.scale,
            kv_stride: stride,
        };
        let q = host_f32(q);
        let mut out = vec![0f32; q.len()];
        attention_f32(&q, k, v, &mut out, &shape, kernels);
        Tensor::from_data(TensorData::new(out, dims), &device)
    }

    // ANCHOR: attention_mask
    /// Which keys each query must not see, `[seq, t]` (true = hidden), or
    /// `None` if it sees them all. Query i sits at position `start + i`: it
    /// never sees a later key (causal), and with a window `w` not a key `w`
    /// or more positions back (llama.cpp's `is_masked_swa`, standard type).
    fn mask(
        &self,
        start: usize,
        s: usize,
        t: usize,
        device: &burn::tensor::Device,
    ) -> Option<Tensor<2, Bool>> {
        match self.window {
            None if s == 1 => None,
            None => Some(Tensor::<2, Bool>::tril_mask([s, t], start as i64, device)),
            Some(w) if s == 1 && t <= w => None,
            Some(w) => {
                let hidden = (0..s)
                    .flat_map(|i| (0..t).map(move |j| j > start + i || start + i - j >= w))
                    .collect::<Vec<bool>>();
                Some(Tensor::from_data(TensorData::new(hidden, [s, t]), device))
            }
        }
    }
    // ANCHOR_END: attention_mask
}
