//! Matrix-vector product straight from quantized blocks: `y = W·x`.
//!
//! `W` is one weight matrix as it sits in a GGUF file: `d_out` rows of
//! `d_in` weights, each row a run of blocks (ggml never lets a block cross
//! a row). Instead of dequantizing `W` into an f32 copy (4 bytes a weight,
//! the very thing quantization saved), each block is decoded on the fly and
//! multiplied into the running dot product of its row.
//!
//! Decoding a block and multiplying can share work: in Q4_1 every weight is
//! `q·d + m`, so a block contributes `d·Σ q·x + m·Σ x`: one multiply by the
//! scale per block, not per weight. The functions below use that factoring;
//! it is also how llama.cpp's dot-product kernels are organised.
//!
//! This is plain scalar code meant to be read; the fast SIMD/threaded
//! version ([`kernels`](crate::kernels)) is tested against it, and falls back
//! to it where no SIMD kernel applies.

use half::f16;

use crate::blocks::kquant::get_scale_min_k4;
use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q4_k::BlockQ4K;
use crate::blocks::q5_0::BlockQ5_0;
use crate::blocks::q5_1::BlockQ5_1;
use crate::blocks::q5_k::BlockQ5K;
use crate::blocks::q6_k::BlockQ6K;
use crate::blocks::q8_0::BlockQ8_0;
use crate::{GgmlType, QuantError};

/// `y[r] = Σ_i W[r][i]·x[i]` for the `d_out × d_in` matrix `W` stored as
/// blocks of type `ty` in `weights` (row-major, `d_in` weights a row).
///
/// Supported: F16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K (what
/// the usual mixes, K-quant ones included, put in a file). `d_in` must be a whole number of
/// blocks, `weights` exactly `d_out` rows, `x.len() == d_in` and
/// `y.len() == d_out`; anything else is an error, checked before any work.
pub fn matvec_ref(
    ty: GgmlType,
    weights: &[u8],
    d_out: usize,
    d_in: usize,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), QuantError> {
    let row_dot = row_dot_f32(ty).ok_or(QuantError::Unsupported { ty, op: "matvec" })?;
    let row_bytes = check_shapes(ty, weights, d_out, d_in, x.len(), y.len())?;
    if d_in == 0 {
        y.fill(0.0); // no blocks: every row is an empty sum
        return Ok(());
    }
    // ANCHOR: matvec_rows
    // weights: [d_out rows][row_bytes], x: [d_in], y: [d_out]
    for (row, y_r) in weights.chunks_exact(row_bytes).zip(y.iter_mut()) {
        *y_r = row_dot(row, x);
    }
    // ANCHOR_END: matvec_rows
    Ok(())
}

/// A dot product of one row of blocks with f32 values.
pub(crate) type RowDotF32 = fn(&[u8], &[f32]) -> f32;

/// The dot product of one row of `ty` blocks with f32 values, if supported.
pub(crate) fn row_dot_f32(ty: GgmlType) -> Option<RowDotF32> {
    match ty {
        GgmlType::F16 => Some(dot_f16),
        GgmlType::Q8_0 => Some(dot_q8_0),
        GgmlType::Q4_0 => Some(dot_q4_0),
        GgmlType::Q4_1 => Some(dot_q4_1),
        GgmlType::Q5_0 => Some(dot_q5_0),
        GgmlType::Q5_1 => Some(dot_q5_1),
        GgmlType::Q4_K => Some(dot_q4_k),
        GgmlType::Q5_K => Some(dot_q5_k),
        GgmlType::Q6_K => Some(dot_q6_k),
        _ => None,
    }
}

/// Checks that `weights` hold exactly `d_out` rows of `d_in` weights of type
/// `ty` (whole blocks) and that `x`/`y` have the lengths the matrix needs;
/// returns the bytes per row. Shared by [`matvec_ref`] and the fast kernels.
pub(crate) fn check_shapes(
    ty: GgmlType,
    weights: &[u8],
    d_out: usize,
    d_in: usize,
    x_len: usize,
    y_len: usize,
) -> Result<usize, QuantError> {
    let row_bytes = ty.n_bytes(d_in)?; // d_in must fill whole blocks
    let n_elements = d_out.checked_mul(d_in).ok_or(QuantError::TooLarge {
        ty,
        n_elements: usize::MAX,
    })?;
    let expected = d_out
        .checked_mul(row_bytes)
        .ok_or(QuantError::TooLarge { ty, n_elements })?;
    if weights.len() != expected {
        return Err(QuantError::SizeMismatch {
            ty,
            n_elements,
            expected,
            got: weights.len(),
        });
    }
    if x_len != d_in {
        return Err(QuantError::VectorLength {
            what: "x",
            expected: d_in,
            got: x_len,
        });
    }
    if y_len != d_out {
        return Err(QuantError::VectorLength {
            what: "y",
            expected: d_out,
            got: y_len,
        });
    }
    Ok(row_bytes)
}

/// F16 row · x: each weight widened (exactly) to f32.
fn dot_f16(row: &[u8], x: &[f32]) -> f32 {
    let weights = row.as_chunks::<2>().0.iter();
    weights
        .zip(x)
        .map(|(&w, &x)| f16::from_le_bytes(w).to_f32() * x)
        .sum()
}

/// Q8_0 row · x: each block adds `d · Σ q·x`.
fn dot_q8_0(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ8_0::SIZE }>().0;
    let mut sum = 0.0f32;
    for (b, x) in blocks.iter().zip(x.as_chunks::<32>().0) {
        let b = BlockQ8_0::from_bytes(b);
        let mut qx = 0.0f32;
        for (&q, &xj) in b.qs.iter().zip(x) {
            qx += q as f32 * xj;
        }
        sum += b.d.to_f32() * qx;
    }
    sum
}

/// Q4_0 row · x: each block adds `d · Σ (q - 8)·x`.
fn dot_q4_0(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ4_0::SIZE }>().0;
    let mut sum = 0.0f32;
    for (b, x) in blocks.iter().zip(x.as_chunks::<32>().0) {
        let b = BlockQ4_0::from_bytes(b);
        let (lo, hi) = x.split_at(16); // byte j: weight j (low nibble), j + 16 (high)
        let mut qx = 0.0f32;
        for ((&byte, &x_lo), &x_hi) in b.qs.iter().zip(lo).zip(hi) {
            qx += ((byte & 0x0F) as i32 - 8) as f32 * x_lo;
            qx += ((byte >> 4) as i32 - 8) as f32 * x_hi;
        }
        sum += b.d.to_f32() * qx;
    }
    sum
}

/// Q4_1 row · x: each block adds `d · Σ q·x + m · Σ x`.
fn dot_q4_1(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ4_1::SIZE }>().0;
    let mut sum = 0.0f32;
    // ANCHOR: matvec_q4_1
    for (b, x) in blocks.iter().zip(x.as_chunks::<32>().0) {
        // b: d (f16) | m (f16) | 16 bytes of nibbles; x: [32]
        let b = BlockQ4_1::from_bytes(b);
        let (d, m) = (b.d.to_f32(), b.m.to_f32());
        let (lo, hi) = x.split_at(16); // byte j: weight j (low nibble), j + 16 (high)
        let (mut qx, mut sx) = (0.0f32, 0.0f32);
        for ((&byte, &x_lo), &x_hi) in b.qs.iter().zip(lo).zip(hi) {
            qx += (byte & 0x0F) as f32 * x_lo + (byte >> 4) as f32 * x_hi;
            sx += x_lo + x_hi;
        }
        // Σ (q·d + m)·x = d·Σ q·x + m·Σ x: two multiplies per block, not 64.
        sum += d * qx + m * sx;
    }
    // ANCHOR_END: matvec_q4_1
    sum
}

/// Q5_0 row · x: each block adds `d · Σ (q - 16)·x`, `q` a nibble plus a
/// fifth bit from `qh`.
fn dot_q5_0(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ5_0::SIZE }>().0;
    let mut sum = 0.0f32;
    for (b, x) in blocks.iter().zip(x.as_chunks::<32>().0) {
        let b = BlockQ5_0::from_bytes(b);
        let qh = u32::from_le_bytes(b.qh); // bit j: weight j's fifth bit
        let q = |j: usize, nibble: u8| (nibble as u32 | ((qh >> j) & 1) << 4) as i32 - 16;
        let mut qx = 0.0f32;
        for (j, &byte) in b.qs.iter().enumerate() {
            qx += q(j, byte & 0x0F) as f32 * x[j];
            qx += q(j + 16, byte >> 4) as f32 * x[j + 16];
        }
        sum += b.d.to_f32() * qx;
    }
    sum
}

/// Q5_1 row · x: each block adds `d · Σ q·x + m · Σ x`, `q` a nibble plus a
/// fifth bit from `qh`.
fn dot_q5_1(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ5_1::SIZE }>().0;
    let mut sum = 0.0f32;
    for (b, x) in blocks.iter().zip(x.as_chunks::<32>().0) {
        let b = BlockQ5_1::from_bytes(b);
        let qh = u32::from_le_bytes(b.qh);
        let q = |j: usize, nibble: u8| (nibble as u32 | ((qh >> j) & 1) << 4) as f32;
        let (mut qx, mut sx) = (0.0f32, 0.0f32);
        for (j, &byte) in b.qs.iter().enumerate() {
            qx += q(j, byte & 0x0F) * x[j] + q(j + 16, byte >> 4) * x[j + 16];
            sx += x[j] + x[j + 16];
        }
        sum += b.d.to_f32() * qx + b.m.to_f32() * sx;
    }
    sum
}

/// Q4_K row · x: each 32-weight sub-block `j` adds
/// `d·scale_j · Σ q·x - dmin·min_j · Σ x`.
fn dot_q4_k(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ4K::SIZE }>().0;
    let mut sum = 0.0f32;
    for (b, x) in blocks.iter().zip(x.as_chunks::<256>().0) {
        let b = BlockQ4K::from_bytes(b);
        // Sub-blocks 2k and 2k+1 share 32 bytes: low nibbles, then high.
        let q = |j: usize, l: usize| (b.qs[j / 2 * 32 + l] >> (4 * (j % 2))) & 0x0F;
        sum += dot_scale_min(x, b.d.to_f32(), b.dmin.to_f32(), &b.scales, q);
    }
    sum
}

/// Q5_K row · x: as Q4_K, each weight's fifth bit (bit `j` of `qh[l]`)
/// adding 16 to its nibble.
fn dot_q5_k(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ5K::SIZE }>().0;
    let mut sum = 0.0f32;
    for (b, x) in blocks.iter().zip(x.as_chunks::<256>().0) {
        let b = BlockQ5K::from_bytes(b);
        let q = |j: usize, l: usize| {
            let nibble = (b.qs[j / 2 * 32 + l] >> (4 * (j % 2))) & 0x0F;
            nibble + 16 * ((b.qh[l] >> j) & 1)
        };
        sum += dot_scale_min(x, b.d.to_f32(), b.dmin.to_f32(), &b.scales, q);
    }
    sum
}

/// One Q4_K/Q5_K super-block · its 256 values: `q(j, l)` is the code of
/// weight `l` of sub-block `j`, whose 6-bit scale and minimum are packed in
/// `scales`.
fn dot_scale_min(
    x: &[f32; 256],
    d: f32,
    dmin: f32,
    scales: &[u8; 12],
    q: impl Fn(usize, usize) -> u8,
) -> f32 {
    let mut sum = 0.0f32;
    for (j, x) in x.chunks_exact(32).enumerate() {
        let (sc, mn) = get_scale_min_k4(j, scales);
        let (mut qx, mut sx) = (0.0f32, 0.0f32);
        for (l, &xl) in x.iter().enumerate() {
            qx += q(j, l) as f32 * xl;
            sx += xl;
        }
        sum += d * sc as f32 * qx - dmin * mn as f32 * sx;
    }
    sum
}

/// Q6_K row · x: each 16-weight sub-block `j` adds `d·scale_j · Σ (q - 32)·x`.
fn dot_q6_k(row: &[u8], x: &[f32]) -> f32 {
    let blocks = row.as_chunks::<{ BlockQ6K::SIZE }>().0;
    let mut sum = 0.0f32;
    for (b, x) in blocks.iter().zip(x.as_chunks::<256>().0) {
        let block = BlockQ6K::from_bytes(b);
        let d = block.d.to_f32();
        for (j, x) in x.chunks_exact(16).enumerate() {
            let mut qx = 0.0f32;
            for (l, &xl) in x.iter().enumerate() {
                qx += block.code(16 * j + l) as f32 * xl;
            }
            sum += d * block.scales[j] as f32 * qx;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{dequantize, quantize};

    /// A small deterministic generator (xorshift64*), values in [-1, 1).
    struct Rng(u64);
    impl Rng {
        fn next_f32(&mut self) -> f32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40; // 24 bits
            r as f32 / (1u64 << 23) as f32 - 1.0
        }
        fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
            (0..n).map(|_| self.next_f32() * scale).collect()
        }
    }

    /// Checks `matvec_ref` against dequantize-then-matmul in f64.
    ///
    /// Tolerance: summing `n` f32 products has a worst-case error of about
    /// `n·ε·Σ|w·x|` (Higham's γ_n); the factored sums (`d·Σq·x + m·Σx`) can
    /// cancel, so we allow 4× that. Anything wrong in the decoding (a nibble
    /// swapped, a scale misread) is off by far more.
    fn check_against_reference(ty: GgmlType, w_bytes: &[u8], d_out: usize, d_in: usize, x: &[f32]) {
        let w = dequantize(ty, w_bytes, d_out * d_in).unwrap();
        let mut y = vec![f32::NAN; d_out];
        matvec_ref(ty, w_bytes, d_out, d_in, x, &mut y).unwrap();
        for (r, (w_r, &y_r)) in w.chunks_exact(d_in).zip(&y).enumerate() {
            let exact: f64 = w_r.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum();
            let mag: f64 = w_r
                .iter()
                .zip(x)
                .map(|(&a, &b)| (a as f64 * b as f64).abs())
                .sum();
            let tol = 4.0 * d_in as f64 * f32::EPSILON as f64 * mag;
            assert!(
                (y_r as f64 - exact).abs() <= tol,
                "{ty} row {r}: {y_r} vs {exact} (tol {tol})"
            );
        }
    }

    #[test]
    fn equals_dequantize_then_matmul_on_random_data() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (d_out, d_in) = (13, 512);
        for ty in [
            GgmlType::F16,
            GgmlType::Q8_0,
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q5_1,
            GgmlType::Q4_K,
            GgmlType::Q5_K,
            GgmlType::Q6_K,
        ] {
            // Rows with different ranges, some all-positive (Q4_1/Q4_K use the min).
            let mut w = Vec::new();
            for r in 0..d_out {
                let row = rng.vec(d_in, 0.05 * (1 + r) as f32);
                let shift = if r % 3 == 0 { 0.1 } else { 0.0 };
                w.extend(row.iter().map(|v| v + shift));
            }
            let bytes = quantize(ty, &w).unwrap();
            let x = rng.vec(d_in, 2.0);
            check_against_reference(ty, &bytes, d_out, d_in, &x);
        }
    }

    #[test]
    fn bad_sizes_are_clear_errors() {
        let x = vec![0.0f32; 64];
        let mut y = vec![0.0f32; 2];
        let w = vec![0u8; 2 * 2 * BlockQ4_1::SIZE];
        // Fine as given.
        matvec_ref(GgmlType::Q4_1, &w, 2, 64, &x, &mut y).unwrap();

        let err = matvec_ref(GgmlType::Q4_1, &w[1..], 2, 64, &x, &mut y).unwrap_err();
        assert!(
            matches!(
                err,
                QuantError::SizeMismatch {
                    expected: 80,
                    got: 79,
                    ..
                }
            ),
            "{err}"
        );

        let err = matvec_ref(GgmlType::Q4_1, &w, 2, 48, &x[..48], &mut y).unwrap_err();
        assert!(
            matches!(err, QuantError::PartialBlock { block_size: 32, .. }),
            "{err}"
        );

        let err = matvec_ref(GgmlType::Q4_1, &w, 2, 64, &x[..63], &mut y).unwrap_err();
        assert_eq!(
            err,
            QuantError::VectorLength {
                what: "x",
                expected: 64,
                got: 63
            }
        );
        assert!(err.to_string().contains("x has 63 elements"), "{err}");

        let err = matvec_ref(GgmlType::Q4_1, &w, 2, 64, &x, &mut y[..1]).unwrap_err();
        assert!(
            matches!(err, QuantError::VectorLength { what: "y", .. }),
            "{err}"
        );

        let err = matvec_ref(GgmlType::Q4_K, &w, 2, 64, &x, &mut y).unwrap_err();
        assert!(
            matches!(
                err,
                QuantError::PartialBlock {
                    block_size: 256,
                    ..
                }
            ),
            "{err}"
        );

        let err = matvec_ref(GgmlType::Q2_K, &[], 0, 256, &[0.0; 256], &mut []).unwrap_err();
        assert!(
            matches!(err, QuantError::Unsupported { op: "matvec", .. }),
            "{err}"
        );

        // Overflowing dimensions are refused, not multiplied blindly.
        let err = matvec_ref(GgmlType::Q8_0, &w, usize::MAX, 64, &x, &mut y).unwrap_err();
        assert!(matches!(err, QuantError::TooLarge { .. }), "{err}");
    }

    // On real tensors of the default model.
    use crate::GgufFile;

    /// The shared reference check, plus: no row may be all zero against `x`
    /// (the comparison would then prove nothing).
    fn check_real(ty: GgmlType, w_bytes: &[u8], d_out: usize, d_in: usize, x: &[f32]) {
        let w = dequantize(ty, w_bytes, d_out * d_in).unwrap();
        for (r, w_r) in w.chunks_exact(d_in).enumerate() {
            let mag: f64 = w_r
                .iter()
                .zip(x)
                .map(|(&a, &b)| (a as f64 * b as f64).abs())
                .sum();
            assert!(
                mag > 0.0,
                "row {r} is all zero: the test would prove nothing"
            );
        }
        check_against_reference(ty, w_bytes, d_out, d_in, x);
    }

    /// A deterministic, sign-changing input vector.
    fn real_input(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i as f32) * 0.7).sin() * 1.5).collect()
    }

    #[test]
    fn matvec_on_real_q4_1_and_q8_0_tensors() {
        let path = locallm_models::default_model().expect("default model (fetched on first use)");
        let model = GgufFile::open(&path).unwrap();

        // ffn_down of layer 0: GGUF shape [1536, 576] = 576 rows of 1536 (d_in first).
        let t = model.tensor("blk.0.ffn_down.weight").unwrap();
        assert_eq!(t.ggml_type, GgmlType::Q4_1);
        let (d_in, d_out) = (t.shape[0] as usize, t.shape[1] as usize);
        assert_eq!((d_in, d_out), (1536, 576));
        check_real(
            t.ggml_type,
            model.tensor_data(t),
            d_out,
            d_in,
            &real_input(d_in),
        );

        // The token embedding, Q8_0, 49152 rows of 576: the first 300 rows and
        // the last 100 (a matrix is any run of whole rows).
        let t = model.tensor("token_embd.weight").unwrap();
        assert_eq!(t.ggml_type, GgmlType::Q8_0);
        let (d_in, n_rows) = (t.shape[0] as usize, t.shape[1] as usize);
        assert_eq!((d_in, n_rows), (576, 49152));
        let row_bytes = GgmlType::Q8_0.n_bytes(d_in).unwrap();
        let data = model.tensor_data(t);
        let x = real_input(d_in);
        check_real(GgmlType::Q8_0, &data[..300 * row_bytes], 300, d_in, &x);
        check_real(
            GgmlType::Q8_0,
            &data[(n_rows - 100) * row_bytes..],
            100,
            d_in,
            &x,
        );
    }
}
