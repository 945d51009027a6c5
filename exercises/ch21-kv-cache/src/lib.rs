//! Chapter 21 exercise: how much memory does the KV cache take?
//!
//! For every position of the context, every layer keeps one key row and one
//! value row of `head_dim` numbers per KV head. A row is stored in whole
//! blocks of the cache type:
//!
//! | name   | numbers per block | bytes per block                   |
//! |--------|------------------:|-----------------------------------|
//! | `f32`  | 1                 | 4                                 |
//! | `f16`  | 1                 | 2                                 |
//! | `q8_0` | 32                | 34 (an f16 scale + 32 × i8)       |
//! | `q4_0` | 32                | 18 (an f16 scale + 16 bytes of nibbles) |
//!
//! so one position costs `layers × kv_heads × 2 × row bytes`, and a context
//! of `ctx` positions `ctx` times that. SmolLM2-135M (30 layers, 3 KV heads
//! of 64) in f32: 30 × 3 × 2 × 256 = 46,080 bytes per position.
//!
//! Check your work with `./check.sh ch21-kv-cache` (from `exercises/`). The
//! tests compare your numbers with `locallm-sizing`'s for the real model and
//! for other shapes, in every cache type.

/// The attention shape the cache depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub n_layers: u64,
    pub n_kv_heads: u64,
    pub head_dim: u64,
}

/// Why a size could not be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// A cache type not in the table above.
    UnknownType(String),
    /// `head_dim` is not a whole number of blocks of the type.
    PartialBlock { type_name: String, head_dim: u64 },
    /// A context of zero positions.
    ZeroContext,
}

/// Bytes one row of `head_dim` numbers takes in `type_name`.
pub fn row_bytes(head_dim: u64, type_name: &str) -> Result<u64, KvError> {
    // TODO: (numbers per block, bytes per block) from the table; UnknownType otherwise.
    // TODO: PartialBlock unless head_dim is a multiple of the block size.
    // TODO: blocks × bytes per block.
    let _ = (head_dim, type_name);
    todo!("the bytes of one cached row")
}

/// Bytes one position takes in the cache: keys and values, every layer.
pub fn kv_bytes_per_token(shape: &Shape, type_name: &str) -> Result<u64, KvError> {
    // TODO: layers × KV heads × 2 rows (a key and a value) × row_bytes.
    let _ = (shape, type_name);
    todo!("bytes per position")
}

/// Bytes of the whole cache for `ctx` positions.
pub fn kv_cache_bytes(shape: &Shape, ctx: u64, type_name: &str) -> Result<u64, KvError> {
    // TODO: ZeroContext for ctx == 0; else ctx × kv_bytes_per_token.
    let _ = (shape, ctx, type_name);
    todo!("bytes of the whole cache")
}
