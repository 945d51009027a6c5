//! Chapter 18 exercise: a KV cache for one layer, and attention for one new token.
//!
//! When a model generates, each new token attends to every token before it:
//! its query is compared with their keys, and their values are averaged with
//! the resulting weights. Those keys and values never change once computed,
//! so a runtime keeps them, in the *KV cache*, instead of recomputing the
//! whole text for every token. Here is that cache for one layer, on plain
//! vectors, and the attention of one new token over it.
//!
//! Layout: a key (or value) *row* holds one position's `kv_heads` heads of
//! `head_dim` values each, head after head; the cache holds one row per
//! position, position after position, in one `Vec<f32>`.
//!
//! Grouped-query attention: with `n_heads` query heads and `kv_heads`
//! key/value heads, query head `h` reads key/value head
//! `h / (n_heads / kv_heads)`. SmolLM2 has 9 query heads and 3 KV heads:
//! query heads 0, 1, 2 read KV head 0, and so on.
//!
//! Check your work with `./check.sh ch18-kv-cache` (from `exercises/`). The
//! tests feed your cache one token at a time and compare each step with
//! `locallm-model`'s attention recomputing the whole sequence without a cache.

/// The keys and values of every position so far, for one layer.
#[derive(Debug, Clone)]
pub struct LayerCache {
    kv_heads: usize,
    head_dim: usize,
    /// `len() × kv_heads × head_dim` values: row `t` is position `t`'s keys.
    keys: Vec<f32>,
    /// The values, laid out like `keys`.
    values: Vec<f32>,
}

impl LayerCache {
    pub fn new(kv_heads: usize, head_dim: usize) -> Self {
        LayerCache {
            kv_heads,
            head_dim,
            keys: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Values in one row: `kv_heads × head_dim`.
    pub fn row_len(&self) -> usize {
        self.kv_heads * self.head_dim
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.keys.len() / self.row_len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every key row so far, position after position.
    pub fn keys(&self) -> &[f32] {
        &self.keys
    }

    /// Every value row so far, position after position.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Stores the key row `k` and the value row `v` (each `row_len()` values)
    /// of the next position, `len()`.
    pub fn append(&mut self, k: &[f32], v: &[f32]) {
        // TODO: check that both rows have row_len() values (assert!),
        //       then add them at the end of `keys` and `values`.
        let _ = (k, v);
        todo!("append one position")
    }
}

/// Attention of one new token over every position in `cache` (itself
/// included: append its key and value first).
///
/// `q` is the token's query, `n_heads × head_dim` values, already rotated by
/// RoPE like the keys were. Returns `n_heads × head_dim` values: for each
/// query head `h`, reading key/value head `kv = h / (n_heads / kv_heads)`,
///
/// ```text
/// score_t  = q_h · k_{t,kv} / sqrt(head_dim)      for every position t
/// weight_t = softmax(score)_t
/// out_h    = Σ_t weight_t · v_{t,kv}
/// ```
pub fn attend(q: &[f32], cache: &LayerCache, n_heads: usize) -> Vec<f32> {
    // TODO: the three lines above for every query head, reading the flat
    //       cache as the layout at the top of this file says.
    let _ = (q, cache, n_heads);
    todo!("single-query grouped-query attention")
}

/// The dot product of two vectors of the same length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
