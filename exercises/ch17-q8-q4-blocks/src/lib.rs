//! Chapter 17.1 exercise: quantize and dequantize one Q8_0 block and one Q4_0
//! block, byte for byte as ggml does.
//!
//! Both formats cut a row into blocks of 32 weights. A block starts with its
//! scale `d`, an f16 (2 bytes, little-endian), followed by one code per
//! weight:
//!
//! | type | bytes | layout                         | a weight is   |
//! |------|------:|--------------------------------|---------------|
//! | Q8_0 | 34    | `d`, then 32 `i8` codes        | `q · d`       |
//! | Q4_0 | 18    | `d`, then 16 bytes of 4-bit codes | `(q − 8) · d` |
//!
//! Q4_0 packs two codes per byte, and not neighbours: byte `j` (of the 16)
//! holds the code of weight `j` in its low four bits and the code of weight
//! `j + 16` in its high four bits.
//!
//! The quantizers are ggml's reference ones (`quantize_row_q8_0_ref` and
//! `quantize_row_q4_0_ref` in `ggml-quants.c`):
//!
//! - **Q8_0**: `amax` is the largest `|x|` of the block; `d = amax / 127`,
//!   `id = 1 / d` (0 when `d` is 0), and a code is `x · id` rounded with C's
//!   `roundf`: to the nearest integer, halves away from zero (Rust's
//!   `f32::round`, *not* `round_ties_even`).
//! - **Q4_0**: `max` is the weight of largest magnitude *with its sign*;
//!   `d = max / −8`, `id = 1 / d` (0 when `d` is 0), and a code is
//!   `(x · id + 8.5)` truncated to an integer (`as i8`), then at most 15. So
//!   `max` itself gets code 0 and comes back exactly; a weight of the
//!   opposite sign and the same size would need code 16 and is clamped to 15.
//!
//! Both compute the codes with the f32 `d` and store `d` rounded to f16;
//! decoding uses the stored f16 value. [`f16_bytes`] and [`f16_value`] do
//! the conversions.
//!
//! Check your work with `./check.sh ch17-q8-q4-blocks` (from `exercises/`).
//! The tests compare your bytes and values with `locallm-quant`'s, which are
//! byte-identical to llama.cpp's, on many blocks.

/// Weights per block, in both formats.
pub const QK: usize = 32;

/// Bytes of one Q8_0 block: the f16 scale and 32 `i8` codes.
pub const Q8_0_BYTES: usize = 2 + QK;

/// Bytes of one Q4_0 block: the f16 scale and 32 4-bit codes.
pub const Q4_0_BYTES: usize = 2 + QK / 2;

/// `x` rounded to the nearest f16, as the two little-endian bytes a block stores.
pub fn f16_bytes(x: f32) -> [u8; 2] {
    half::f16::from_f32(x).to_le_bytes()
}

/// The value of the f16 stored as `bytes` (little-endian).
pub fn f16_value(bytes: [u8; 2]) -> f32 {
    half::f16::from_le_bytes(bytes).to_f32()
}

/// One Q8_0 block, as ggml's `quantize_row_q8_0_ref` writes it.
pub fn quantize_q8_0(x: &[f32; QK]) -> [u8; Q8_0_BYTES] {
    // TODO: the scale from the largest magnitude, then the codes, as ggml
    //       computes them (see the doc above), into the block's bytes.
    let _ = x;
    todo!("quantize one Q8_0 block")
}

/// The 32 values of a Q8_0 block.
pub fn dequantize_q8_0(block: &[u8; Q8_0_BYTES]) -> [f32; QK] {
    // TODO: the scale, then each code times it.
    let _ = block;
    todo!("dequantize one Q8_0 block")
}

/// One Q4_0 block, as ggml's `quantize_row_q4_0_ref` writes it.
pub fn quantize_q4_0(x: &[f32; QK]) -> [u8; Q4_0_BYTES] {
    // TODO: the scale from the weight of largest magnitude (sign kept), then
    //       the codes, packed two per byte in ggml's nibble order.
    let _ = x;
    todo!("quantize one Q4_0 block")
}

/// The 32 values of a Q4_0 block.
pub fn dequantize_q4_0(block: &[u8; Q4_0_BYTES]) -> [f32; QK] {
    // TODO: the scale, then each pair of nibbles back into two weights.
    let _ = block;
    todo!("dequantize one Q4_0 block")
}
