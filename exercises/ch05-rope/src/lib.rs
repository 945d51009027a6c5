//! Chapter 5 exercise: rotary position embedding (RoPE) on one head vector.
//!
//! Attention scores are dot products of a query with keys, and a dot product
//! does not know where in the text its two vectors came from. RoPE writes the
//! position into the query and the key themselves, by turning them: the
//! channels of a head vector are taken two by two, and pair `i` of a vector
//! at position `pos` is rotated by the angle
//!
//! ```text
//! θ_i = pos · base^(−2i / head_dim)        i = 0 .. head_dim/2
//! ```
//!
//! Rotating the pair `(a, b)` by `θ` gives `(a·cos θ − b·sin θ, a·sin θ + b·cos θ)`.
//!
//! Which two channels form a pair is a convention, and getting it wrong gives
//! a model that runs and talks nonsense. GGUF files of the `llama`
//! architecture use *adjacent* pairs: `(x[0], x[1])`, `(x[2], x[3])`, ...
//!
//! Check your work with `./check.sh ch05-rope` (from `exercises/`). The tests
//! compare your rotation with `locallm-model`'s, on the plain reference and on
//! the tensor code the model runs, with SmolLM2's own head size and base.

/// Rotates the head vector `x` (an even number of channels, `head_dim`) as
/// RoPE does for a token at position `pos`, with frequency base `base`
/// (10000 in the original paper, 100000 for SmolLM2).
pub fn rope(x: &[f32], pos: usize, base: f32) -> Vec<f32> {
    // TODO: rotate each pair of channels by its angle for this position.
    let _ = (x, pos, base);
    todo!("rotate each adjacent pair of channels")
}
