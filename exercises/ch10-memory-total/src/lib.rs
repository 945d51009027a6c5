//! Chapter 10 exercise: how much memory does a model need to run?
//!
//! Three terms, in bytes:
//!
//! ```text
//! weights  = ceil(params × bits_per_weight / 8)
//! KV cache = 2 × layers × kv_heads × head_dim × ctx × bytes_per_number
//! scratch  = 4 × batch × max(vocab, heads × ctx),   batch = min(512, ctx)
//! ```
//!
//! (the cache holds a key and a value row per layer, KV head and position;
//! scratch is llama.cpp's: the f32 logits or the attention scores of one
//! 512-token batch, whichever is larger, since ggml lays tensors that are
//! never alive together over the same bytes).
//!
//! Check your work with `./check.sh ch10-memory-total` (from `exercises/`).
//! The tests compare your totals with `locallm-sizing`'s (`locallm fits
//! --runtime llama.cpp`, without the program itself).

/// What the formulas need to know about a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub params: u64,
    pub layers: u64,
    pub heads: u64,
    pub kv_heads: u64,
    pub head_dim: u64,
    pub vocab: u64,
}

/// Weights + KV cache + scratch, in bytes, for a context of `ctx` tokens
/// and a cache of `bytes_per_number` bytes per number (4 for f32, 2 for f16).
pub fn memory_needed(shape: &Shape, bits_per_weight: f64, ctx: u64, bytes_per_number: u64) -> u64 {
    // TODO: the weights (round the bytes up: .ceil() as u64).
    // TODO: the KV cache.
    // TODO: the scratch, with batch = 512 or ctx if smaller.
    let _ = (shape, bits_per_weight, ctx, bytes_per_number);
    todo!("weights + KV cache + scratch")
}
