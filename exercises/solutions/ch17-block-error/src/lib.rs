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
    // max = 2.75 (index 5), so d = 2.75 / -8 = -0.34375 = -11/32: the grid is
    // the multiples of 11/32 from 88/32 (code 0) down to -77/32 (code 15).
    // In 32nds, each weight goes to the nearest multiple of 11:
    //   index  0:  -32 -> -33, error 1     index  5:  88 -> 88, error 0
    //   index  9:    4 ->   0, error 4     index 17:   5 ->  0, error 5
    //   index 22:  -18 -> -22, error 4     index 30:  32 -> 33, error 1
    // Squares: 1 + 16 + 25 + 16 + 1 = 59 (in 1/1024), over 32 weights.
    BlockAnswer {
        d: -0.34375,
        m: 2.75,
        errors: ErrorStats {
            max_abs: 0.15625,
            worst_index: 17,
            rms: (59.0f32 / 1024.0 / 32.0).sqrt(),
        },
    }
}

/// Q4_1 applied to [`BLOCK`], worked out by hand.
pub fn q4_1_by_hand() -> BlockAnswer {
    // min = -1, max = 2.75, so d = 3.75 / 15 = 0.25 = 8/32 and m = -1: the
    // grid is -32/32, -24/32, ..., 88/32. In 32nds:
    //   index  0:  -32 -> -32, error 0     index  5:  88 -> 88, error 0
    //   index  9:    4 ->   8, error 4 (code 4.5, a half: rounded up)
    //   index 17:    5 ->   8, error 3     index 22: -18 -> -16, error 2
    //   index 30:   32 ->  32, error 0
    // Squares: 16 + 9 + 4 = 29 (in 1/1024), over 32 weights. The minimum
    // buys a finer grid: 8/32 steps instead of 11/32.
    BlockAnswer {
        d: 0.25,
        m: -1.0,
        errors: ErrorStats {
            max_abs: 0.125,
            worst_index: 9,
            rms: (29.0f32 / 1024.0 / 32.0).sqrt(),
        },
    }
}

/// The errors of `decoded` against `original`.
pub fn error_stats(original: &[f32; QK], decoded: &[f32; QK]) -> ErrorStats {
    let (mut max_abs, mut worst_index, mut sum_sq) = (0.0f32, 0, 0.0f32);
    for (i, (x, y)) in original.iter().zip(decoded).enumerate() {
        let err = (x - y).abs();
        if err > max_abs {
            (max_abs, worst_index) = (err, i);
        }
        sum_sq += err * err;
    }
    ErrorStats {
        max_abs,
        worst_index,
        rms: (sum_sq / QK as f32).sqrt(),
    }
}

/// The values of `x` after Q4_1 and back: exactly what ggml decodes.
pub fn q4_1_round_trip(x: &[f32; QK]) -> [f32; QK] {
    let min = x.iter().copied().fold(f32::MAX, f32::min);
    let max = x.iter().copied().fold(-f32::MAX, f32::max);
    let d = (max - min) / 15.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    // Codes come from the f32 d and min; decoding uses what the block stores.
    let (d16, m16) = (f16_round(d), f16_round(min));
    x.map(|v| {
        let q = (((v - min) * id + 0.5) as i8).min(15);
        q as f32 * d16 + m16
    })
}

/// `x` rounded to the nearest f16, the precision a block stores `d` and `m` in.
pub fn f16_round(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}
