//! Chapter 10 exercise: how much memory does a model need to run?
//!
//! Three terms, in bytes, as chapter 10 counts them for llama.cpp:
//!
//! - the **weights**: every parameter at the file's bits per weight, rounded
//!   up to whole bytes;
//! - the **KV cache**: what attention keeps for every position of the
//!   context (which vectors, for how many heads and layers, at
//!   `bytes_per_number` each?);
//! - **scratch**: the f32 logits or the attention scores of one batch (at
//!   most 512 tokens, fewer if the context is shorter), whichever is
//!   larger: ggml lays tensors that are never alive together over the same
//!   bytes. How many logits, and how many scores, does one batch make?
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
    // TODO: the weights.
    // TODO: the KV cache.
    // TODO: the scratch.
    let _ = (shape, bits_per_weight, ctx, bytes_per_number);
    todo!("weights + KV cache + scratch")
}
