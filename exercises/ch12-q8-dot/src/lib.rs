//! Chapter 12 exercise: the dot product at the heart of llama.cpp's decode.
//!
//! A Q8_0 weight row is a run of 34-byte blocks: an f16 scale `d_w` (2 bytes,
//! little-endian) and 32 signed 8-bit weights `q_w`. The activation `x` has
//! been quantized the same way, in blocks of 32: `x_q[i]` (i8) with one f32
//! scale `x_d[b]` per block. The dot product is then integer work, scaled
//! once per block:
//!
//! ```text
//! row · x = Σ_b  d_w[b] · x_d[b] · Σ_{j<32} q_w[b][j] · x_q[32b + j]
//! ```
//!
//! Add the 32 products of a block as integers (i32: they cannot overflow),
//! convert the block's sum to f32 once, multiply by the two scales, and add
//! the blocks up in order in an f32.
//!
//! Check your work with `./check.sh ch12-q8-dot` (from `exercises/`). The tests
//! compare you with `locallm-quant`'s kernels on random rows.

use half::f16;

/// `row`: Q8_0 blocks (34 bytes each); `x_q`: 32 values per block; `x_d`: one
/// scale per block.
pub fn dot_q8_0(row: &[u8], x_q: &[i8], x_d: &[f32]) -> f32 {
    // TODO: block by block: the integer dot product of the codes, then the two
    //       scales, as the doc says.
    // the weights are blk[2..34] read as i8.
    let _ = (row, x_q, x_d, f16::ZERO);
    todo!("Σ over blocks of d_w · x_d · Σ q_w · x_q")
}
