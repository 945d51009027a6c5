//! Will it fit, and what will it cost? Back-of-the-envelope numbers, computed.
//!
//! Running a model needs memory for three things:
//!
//! 1. **weights**: parameters × bits per weight / 8. The bits come from the
//!    quantization: 16 for f16, 8.5 for Q8_0, about 4.5–5 for the 4-bit
//!    mixes (block scales included). For a GGUF file on disk we read the
//!    exact number ([`Weights::of_file`]), or work out, tensor by tensor, what
//!    a mix such as Q4_K_M would give it ([`Weights::of_file_as`]).
//! 2. the **KV cache**: for every position of the context, every layer keeps
//!    one key and one value row of `head_dim` numbers per KV head:
//!    `2 × layers × kv_heads × head_dim × ctx × bytes per number`
//!    ([`kv_cache_bytes`]). It grows with the context, and at long contexts
//!    it can outweigh a small model.
//! 3. **runtime scratch**: the activations of the batch being computed, of
//!    which the largest are the logits, one layer's attention scores and
//!    the MLP's gate and up; which of them are alive at once depends on the
//!    [`Runtime`]
//!    ([`Runtime::scratch_bytes`]), as does the size of the program itself.
//!
//! [`Estimate`] adds them; [`Tier`] holds the memory of typical machines, and
//! [`tier_table`] says, for each, whether the model fits and at what
//! longest context. [`cost`] prices a workload of input and output tokens.

pub mod cost;
pub mod fits;
pub mod parse;

pub use cost::{TokenCost, TokenPrices, Workload};
pub use fits::{
    Estimate, ModelShape, Runtime, Tier, TierKind, TierRow, UBATCH, Verdict, Weights,
    bits_per_weight, kv_bytes_per_token, kv_cache_bytes, parse_cache_type, parse_runtime,
    tier_table,
};
pub use parse::{format_bytes, parse_count, parse_memory};

/// Why a size could not be worked out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SizingError {
    #[error("cannot read {what} {input:?}: {why}")]
    Parse {
        what: &'static str,
        input: String,
        why: &'static str,
    },
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    #[error("{what} must be {range}, got {value}")]
    OutOfRange {
        what: &'static str,
        range: &'static str,
        value: f64,
    },
    #[error("unknown KV cache type {0:?}: expected a ggml type name such as f32, f16, q8_0, q4_0")]
    UnknownCacheType(String),
    #[error("unknown runtime {0:?}: expected locallm or llama.cpp")]
    UnknownRuntime(String),
    #[error("a {ty} KV cache stores rows in blocks of {block}, but head_dim is {head_dim}")]
    PartialBlock {
        ty: &'static str,
        head_dim: u64,
        block: usize,
    },
    #[error("the model file has no {0} in its metadata")]
    MissingKey(String),
    #[error("the numbers overflow: {0}")]
    Overflow(&'static str),
}
