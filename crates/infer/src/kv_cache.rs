//! The KV cache: keys and values of every position seen so far, per layer.
//!
//! Without it, producing token n+1 means running attention over all n earlier
//! tokens again — the cost of each new token grows with the text. With it, the
//! keys and values of old tokens are computed once and read back, so each new
//! token costs one column of work. The cache is allocated once, at its full
//! size, and written in place: generation never reallocates it.

use burn::tensor::{Device, Tensor, s};
use locallm_model::{KvCache, LlamaConfig};

// ANCHOR: kv_cache
/// Pre-allocated cache: per layer, `k` and `v` of shape
/// `[batch, kv_heads, max_seq, head_dim]`; positions `0..len` are filled.
pub struct PreallocatedCache {
    k: Vec<Tensor<4>>,
    v: Vec<Tensor<4>>,
    max_seq: usize,
    len: usize,
}

impl PreallocatedCache {
    pub fn new(config: &LlamaConfig, batch: usize, max_seq: usize, device: &Device) -> Self {
        let shape = [batch, config.n_kv_heads, max_seq, config.head_dim];
        let zeros = || {
            (0..config.n_layers)
                .map(|_| Tensor::zeros(shape, device))
                .collect()
        };
        PreallocatedCache {
            k: zeros(),
            v: zeros(),
            max_seq,
            len: 0,
        }
    }
}

impl KvCache for PreallocatedCache {
    fn update(
        &mut self,
        layer: usize,
        start: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let [_, _, s, _] = k.dims();
        let end = start + s;
        assert!(
            end <= self.max_seq,
            "KV cache full: {end} > {} positions",
            self.max_seq
        );
        // write the new positions in place...
        self.k[layer].inplace(|c| c.slice_assign(s![.., .., start..end, ..], k));
        self.v[layer].inplace(|c| c.slice_assign(s![.., .., start..end, ..], v));
        if layer == 0 {
            self.len = end;
        }
        // ...and hand back every position so far
        (
            self.k[layer].clone().narrow(2, 0, end),
            self.v[layer].clone().narrow(2, 0, end),
        )
    }
}
// ANCHOR_END: kv_cache

// ANCHOR: session_cache
/// What a [`Session`](crate::Session) needs from its cache besides
/// [`KvCache::update`]: how full it is, and how to rewind it. Implemented by
/// the f32 [`PreallocatedCache`] and by the
/// [`QuantizedCache`](crate::QuantizedCache).
pub trait SessionCache: KvCache + Send {
    /// Positions currently held.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Positions the cache can hold.
    fn capacity(&self) -> usize;
    /// Forget positions from `len` on (they will be overwritten): how a
    /// conversation rewinds, or how a shared prompt prefix is reused.
    fn truncate(&mut self, len: usize);
    /// Bytes held by the cache (keys and values, all layers).
    fn bytes(&self) -> usize;
}
// ANCHOR_END: session_cache

impl SessionCache for PreallocatedCache {
    fn len(&self) -> usize {
        self.len
    }
    fn capacity(&self) -> usize {
        self.max_seq
    }
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    /// Four bytes per number: the tensors are f32.
    fn bytes(&self) -> usize {
        self.k
            .iter()
            .chain(&self.v)
            .map(|t| t.shape().num_elements() * 4)
            .sum()
    }
}
