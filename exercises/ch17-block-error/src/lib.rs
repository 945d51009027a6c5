//! Chapter 17.1 exercise: how wrong is one quantized block?
//!
//! Quantizing a block replaces each weight by the nearest point of a grid of
//! 16 values. The error of weight `i` is `|original[i] − decoded[i]|`; two
//! numbers sum a block's errors up: the largest one (and where it is), and
//! the root mean square `sqrt(Σ error² / 32)`.
//!
//! **By hand.** Work out, on paper, what Q4_0 and Q4_1 do to [`BLOCK`], and
//! write your numbers into [`q4_0_by_hand`] and [`q4_1_by_hand`]. The block
//! was chosen so that every step is exact: its values are multiples of 1/32,
//! and so are both grids.
//!
//! - **Q4_0**: `max` is the weight of largest magnitude, with its sign;
//!   `d = max / −8`, code `q = round(x / d) + 8` (at most 15), and a weight
//!   decodes to `(q − 8) · d`. The grid runs from `−8·d` (code 0) in steps of
//!   `d`.
//! - **Q4_1**: `d = (max − min) / 15` and `m = min`; code
//!   `q = round((x − m) / d)`, and a weight decodes to `q · d + m`. The grid
//!   runs from `m` (code 0) to the block's largest weight (code 15).
//!
//! Both round halves up (ggml adds 0.5 and truncates). Both store `d` and `m`
//! as f16; for this block that changes nothing.
//!
//! **In code.** Then write [`error_stats`] for any block, and
//! [`q4_1_round_trip`], the values a block comes back as after Q4_1 (ggml's
//! `quantize_row_q4_1_ref`, then decoding).
//!
//! Check your work with `./check.sh ch17-block-error` (from `exercises/`).
//! The tests compare your answers and your functions with what
//! `locallm-quant`'s Q4_0 and Q4_1 (byte-identical to llama.cpp's) do.

/// Weights per block.
pub const QK: usize = 32;

/// The block to work out by hand: zeros, except at six positions.
pub const BLOCK: [f32; QK] = {
    let mut x = [0.0; QK];
    x[0] = -1.0;
    x[5] = 2.75;
    x[9] = 0.125;
    x[17] = 0.156_25;
    x[22] = -0.5625;
    x[30] = 1.0;
    x
};

/// The errors of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorStats {
    /// The largest `|original[i] − decoded[i]|`.
    pub max_abs: f32,
    /// Its `i`: the first one, if several errors are equally large.
    pub worst_index: usize,
    /// `sqrt(Σ (original[i] − decoded[i])² / 32)`.
    pub rms: f32,
}

/// What quantizing [`BLOCK`] with one format gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockAnswer {
    /// The scale: the step of the grid (negative for Q4_0 when `max` is positive).
    pub d: f32,
    /// The value code 0 decodes to: Q4_1's minimum `m`; for Q4_0, `−8·d`.
    pub m: f32,
    /// The errors of the decoded block against [`BLOCK`]. Give `rms` to four
    /// significant digits at least.
    pub errors: ErrorStats,
}

/// Q4_0 applied to [`BLOCK`], worked out by hand.
pub fn q4_0_by_hand() -> BlockAnswer {
    // TODO: find max and d; then, for each of the six non-zero weights, its
    //       code, the value it decodes to and its error (zeros come back as 0).
    // TODO: fill in the numbers, e.g. `d: 0.5` or `rms: (5.0f32 / 1024.0).sqrt()`.
    todo!("Q4_0 on BLOCK, by hand")
}

/// Q4_1 applied to [`BLOCK`], worked out by hand.
pub fn q4_1_by_hand() -> BlockAnswer {
    // TODO: the same with Q4_1's grid, from the smallest weight to the largest.
    todo!("Q4_1 on BLOCK, by hand")
}

/// The errors of `decoded` against `original`.
pub fn error_stats(original: &[f32; QK], decoded: &[f32; QK]) -> ErrorStats {
    // TODO: the largest error (and its first index) and the RMS error over all 32.
    let _ = (original, decoded);
    todo!("largest and RMS error of a block")
}

/// The values of `x` after Q4_1 and back: exactly what ggml decodes.
pub fn q4_1_round_trip(x: &[f32; QK]) -> [f32; QK] {
    // TODO: Q4_1 as ggml does it (the doc above): the grid from min to max, the
    //       codes computed with the f32 scale, decoded with the stored ones.
    let _ = x;
    todo!("quantize with Q4_1 and decode")
}

/// `x` rounded to the nearest f16, the precision a block stores `d` and `m` in.
pub fn f16_round(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}
