//! The KV cache: keys and values of every position seen so far, per layer.
//!
//! Without it, producing token n+1 means running attention over all n earlier
//! tokens again — the cost of each new token grows with the text. With it, the
//! keys and values of old tokens are computed once and read back, so each new
//! token costs one column of work. The cache is allocated once, at its full
//! size, and written in place: generation never reallocates it.

use burn::tensor::{Device, Tensor, TensorData, s};
use locallm_model::{HostKv, KvCache, LlamaConfig, host_f32};

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

// ANCHOR: host_cache
/// The fast path's f32 cache, for one sequence: the layout of a
/// [`PreallocatedCache`] (per layer, `[kv_heads, max_seq, head_dim]` keys
/// and values) in plain host memory, which the fused attention reads in
/// place ([`KvCache::update_host`]) instead of copying the positions so far
/// out of a tensor at every step. Zeroed memory is only committed when
/// written, so a long context costs what it holds.
pub struct HostCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    kv_heads: usize,
    head_dim: usize,
    max_seq: usize,
    len: usize,
    device: Device,
}

impl HostCache {
    pub fn new(config: &LlamaConfig, max_seq: usize, device: &Device) -> Self {
        let size = config.n_kv_heads * max_seq * config.head_dim;
        let zeros = || (0..config.n_layers).map(|_| vec![0f32; size]).collect();
        HostCache {
            k: zeros(),
            v: zeros(),
            kv_heads: config.n_kv_heads,
            head_dim: config.head_dim,
            max_seq,
            len: 0,
            device: device.clone(),
        }
    }

    /// Writes `k`, `v` (`[kv_heads, seq, head_dim]`) at positions
    /// `start..start + seq` of `layer`.
    fn store(&mut self, layer: usize, start: usize, k: &[f32], v: &[f32]) -> usize {
        let (h, d) = (self.kv_heads, self.head_dim);
        let s = k.len() / (h * d);
        let end = start + s;
        assert!(
            end <= self.max_seq,
            "KV cache full: {end} > {} positions",
            self.max_seq
        );
        for (new, cache) in [(k, &mut self.k[layer]), (v, &mut self.v[layer])] {
            for head in 0..h {
                let to = (head * self.max_seq + start) * d;
                cache[to..to + s * d].copy_from_slice(&new[head * s * d..][..s * d]);
            }
        }
        if layer == 0 {
            self.len = end;
        }
        end
    }
}

impl KvCache for HostCache {
    /// The tensor way in, as [`PreallocatedCache`]'s (the plain path, or a
    /// batch of several rows): the positions so far are copied out.
    fn update(
        &mut self,
        layer: usize,
        start: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let [b, h, _, d] = k.dims();
        assert_eq!(b, 1, "a HostCache holds one sequence");
        let (k, v) = (host_f32(k), host_f32(v));
        let end = self.store(layer, start, &k, &v);
        let out = |cache: &[f32]| {
            let rows: Vec<f32> = (0..h)
                .flat_map(|head| &cache[head * self.max_seq * d..][..end * d])
                .copied()
                .collect();
            Tensor::from_data(TensorData::new(rows, [1, h, end, d]), &self.device)
        };
        (out(&self.k[layer]), out(&self.v[layer]))
    }

    fn update_host(
        &mut self,
        layer: usize,
        start: usize,
        k: &[f32],
        v: &[f32],
    ) -> Option<HostKv<'_>> {
        self.store(layer, start, k, v);
        Some(HostKv {
            k: &self.k[layer],
            v: &self.v[layer],
            head_stride: self.max_seq,
        })
    }
}

impl SessionCache for HostCache {
    fn len(&self) -> usize {
        self.len
    }
    fn capacity(&self) -> usize {
        self.max_seq
    }
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    fn bytes(&self) -> usize {
        self.k.iter().chain(&self.v).map(|c| c.len() * 4).sum()
    }
}
// ANCHOR_END: host_cache

// ANCHOR: session_cache
/// What a [`Session`](crate::Session) needs from its cache besides
/// [`KvCache::update`]: how full it is, and how to rewind it. Implemented by
/// the f32 [`PreallocatedCache`] and [`HostCache`], and by the
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
