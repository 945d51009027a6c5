//! ggml's scheme: the activation quantized to 8 bits too, integer dot
//! products per block. **Not used by the engine** (see the module above):
//! kept for the book's comparison (chapter 11), chapter 12's exercise and
//! `cargo bench -p locallm-quant`.
//!
//! `x` is cut into the same 32-wide blocks as the weights and each block
//! becomes 32 `i8` plus one f32 scale. A block's dot product is then a sum of
//! 32 `u8 × i8` or `i8 × i8` products — exactly what the x86 instruction
//! `vpmaddubsw` does, 32 at a time — and only the per-block total is scaled
//! in float: `d_w · d_x · Σ q_w·q_x`. The price is the rounding of `x` to 8
//! bits (a relative error around 1/254 per block), which the tests bound.
//! No allocation per call: [`Q8Activation`] keeps its buffers between calls.

use super::{Kernels, QK, par_rows, scalar};
use crate::matvec::check_shapes;
use crate::{GgmlType, QuantError};

// ANCHOR: q8_activation
/// An activation vector quantized in 32-wide blocks (ggml's Q8_1, with f32
/// scales): `x[i] ≈ d[b] · qs[i]` for `i` in block `b`, and `s[b] = d[b] · Σ qs`
/// — the block sum that Q4_1's minimum multiplies.
#[derive(Debug, Default, Clone)]
pub struct Q8Activation {
    pub qs: Vec<i8>, // [n]
    /// `[d, s]` of each block, side by side so a kernel loads both at once.
    pub ds: Vec<[f32; 2]>, // [n / 32]
}

impl Q8Activation {
    /// Quantizes `x` (its length a multiple of 32) into `self`, reusing the buffers.
    pub fn quantize(&mut self, x: &[f32]) {
        assert!(
            x.len().is_multiple_of(QK),
            "activation length {} is not a multiple of 32",
            x.len()
        );
        self.qs.resize(x.len(), 0);
        self.ds.clear();
        for (x, qs) in x.chunks_exact(QK).zip(self.qs.chunks_exact_mut(QK)) {
            let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0; // the largest magnitude maps to ±127
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (q, &v) in qs.iter_mut().zip(x) {
                *q = (v * id).round() as i8;
                sum += *q as i32;
            }
            // ggml stores d and s as f16. We keep f32: an f16 `s` overflows
            // to infinity once a block's values reach ~2,000 (s ≈ 32·amax),
            // and the residual stream of a chat prompt gets there.
            self.ds.push([d, d * sum as f32]);
        }
    }

    pub fn len(&self) -> usize {
        self.qs.len()
    }

    /// The scale of block `b`.
    pub fn d(&self, b: usize) -> f32 {
        self.ds[b][0]
    }

    /// `d · Σ qs` of block `b`.
    pub fn s(&self, b: usize) -> f32 {
        self.ds[b][1]
    }

    pub fn is_empty(&self) -> bool {
        self.qs.is_empty()
    }
}
// ANCHOR_END: q8_activation

/// A dot product of one weight row (raw blocks) with a quantized activation.
pub(super) type RowDot = unsafe fn(&[u8], &Q8Activation) -> f32;

/// The best kernel for `ty` that `kernels` allows on this CPU: the dispatch
/// table, one line per kernel.
fn row_dot(ty: GgmlType, kernels: Kernels) -> Option<RowDot> {
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Level, q8act::avx2, q8act::vnni};
        let simd: Option<RowDot> = match (super::x86::level(kernels), ty) {
            (Level::Vnni, GgmlType::Q8_0) => Some(vnni::dot_q8_0),
            (Level::Vnni, GgmlType::Q4_0) => Some(vnni::dot_q4_0),
            (Level::Vnni, GgmlType::Q4_1) => Some(vnni::dot_q4_1),
            (Level::Avx2, GgmlType::Q8_0) => Some(avx2::dot_q8_0),
            (Level::Avx2, GgmlType::Q4_0) => Some(avx2::dot_q4_0),
            (Level::Avx2, GgmlType::Q4_1) => Some(avx2::dot_q4_1),
            _ => None,
        };
        if simd.is_some() {
            return simd;
        }
    }
    let _ = kernels; // only x86 has a choice to make
    match ty {
        GgmlType::Q8_0 => Some(scalar::dot_q8_0),
        GgmlType::Q4_0 => Some(scalar::dot_q4_0),
        GgmlType::Q4_1 => Some(scalar::dot_q4_1),
        _ => None,
    }
}

// ANCHOR: matvec_q8
/// `y = W·x` for the `d_out × d_in` matrix `W` (blocks of type `ty`, rows of
/// `d_in` weights) and the quantized activation `x`, rows split over rayon's
/// threads, with the best kernels `kernels` allows. Supported: Q8_0, Q4_0, Q4_1.
pub fn matvec_q8(
    ty: GgmlType,
    weights: &[u8],
    d_out: usize,
    d_in: usize,
    x: &Q8Activation,
    y: &mut [f32],
    kernels: Kernels,
) -> Result<(), QuantError> {
    let dot = row_dot(ty, kernels).ok_or(QuantError::Unsupported {
        ty,
        op: "matvec_q8",
    })?;
    let row_bytes = check_shapes(ty, weights, d_out, d_in, x.len(), y.len())?;
    if d_in == 0 {
        y.fill(0.0);
        return Ok(());
    }
    // SAFETY: `row_dot` returns a SIMD kernel only after checking that the
    // CPU has its features; shapes were checked above.
    par_rows(weights, row_bytes, y, |row| unsafe { dot(row, x) });
    Ok(())
}
// ANCHOR_END: matvec_q8

#[cfg(test)]
mod tests {
    use super::super::rng_vec;
    use super::*;
    use crate::blocks::q4_1::BlockQ4_1;
    use crate::blocks::{dequantize, quantize};

    /// The Q8 activation is within half a step of `x` in every block, and
    /// large values (a chat prompt's residual stream) stay finite.
    #[test]
    fn q8_activation_round_trips_within_half_a_step() {
        let x = rng_vec(7, 256, 3.0);
        let mut a = Q8Activation::default();
        a.quantize(&x);
        for (b, x) in x.chunks(32).enumerate() {
            for (j, &v) in x.iter().enumerate() {
                let back = a.d(b) * a.qs[b * 32 + j] as f32;
                let bound = a.d(b) * 0.5 * (1.0 + 1e-6);
                assert!((back - v).abs() <= bound, "block {b} value {j}");
            }
            let sum: i32 = a.qs[b * 32..b * 32 + 32].iter().map(|&q| q as i32).sum();
            assert_eq!(a.s(b), a.d(b) * sum as f32, "block {b} sum");
        }
        a.quantize(&[0.0; 32]); // an all-zero block: scale 0, no NaN
        assert_eq!((a.d(0), a.qs[0]), (0.0, 0));
        a.quantize(&[5000.0; 32]); // in f16, s = 5000·32 would be infinite
        assert!((a.s(0) - 160_000.0).abs() < 1.0, "{}", a.s(0));
    }

    /// For each type: every kernel choice (best, AVX2, scalar) gives the
    /// scalar result (the integer sums are exact, only the float accumulation
    /// order differs), and that equals the f32 product of the dequantized
    /// weights with the *dequantized* activation up to f32 rounding; against
    /// the original activation the gap is bounded by the activation's
    /// rounding, Σ_b Σ|w|·d_x/2.
    #[test]
    fn fast_kernels_match_the_reference_product() {
        let (d_out, d_in) = (67, 576); // a row count no chunking divides evenly
        for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1] {
            let w_f = rng_vec(11, d_out * d_in, 0.1);
            let w = quantize(ty, &w_f).unwrap();
            let w_deq = dequantize(ty, &w, d_out * d_in).unwrap();
            let x = rng_vec(5, d_in, 2.0);
            let mut a = Q8Activation::default();
            a.quantize(&x);
            let x_deq: Vec<f32> = (0..d_in).map(|i| a.d(i / 32) * a.qs[i] as f32).collect();
            let run = |kernels| {
                let mut y = vec![f32::NAN; d_out];
                matvec_q8(ty, &w, d_out, d_in, &a, &mut y, kernels).unwrap();
                y
            };
            let (best, avx2, portable) =
                (run(Kernels::Best), run(Kernels::Avx2), run(Kernels::Scalar));
            let row_bytes = ty.n_bytes(d_in).unwrap();
            for r in 0..d_out {
                let row = &w_deq[r * d_in..(r + 1) * d_in];
                let mag: f64 = row.iter().zip(&x).map(|(w, x)| (w * x).abs() as f64).sum();
                let mut on_deq: f64 = row
                    .iter()
                    .zip(&x_deq)
                    .map(|(&w, &x)| w as f64 * x as f64)
                    .sum();
                if ty == GgmlType::Q4_1 {
                    // the kernel multiplies the block minimum by the stored
                    // sum `s`, not by d·Σq: use the same
                    let blocks = w[r * row_bytes..(r + 1) * row_bytes]
                        .as_chunks::<{ BlockQ4_1::SIZE }>()
                        .0;
                    for (b, blk) in blocks.iter().enumerate() {
                        let m = BlockQ4_1::from_bytes(blk).m.to_f32() as f64;
                        let sum_q: i32 = a.qs[b * 32..b * 32 + 32].iter().map(|&q| q as i32).sum();
                        on_deq += m * (a.s(b) as f64 - a.d(b) as f64 * sum_q as f64);
                    }
                }
                let exact: f64 = row.iter().zip(&x).map(|(&w, &x)| w as f64 * x as f64).sum();
                let step: f64 = row
                    .chunks(32)
                    .enumerate()
                    .map(|(b, w)| {
                        w.iter().map(|w| w.abs() as f64).sum::<f64>() * a.d(b) as f64 / 2.0
                    })
                    .sum();
                let rounding = 1e-5 * mag.max(1e-3);
                for (name, y) in [("best", &best), ("avx2", &avx2)] {
                    assert!(
                        (y[r] as f64 - portable[r] as f64).abs() <= rounding,
                        "{ty} row {r}: {name} vs scalar"
                    );
                }
                assert!(
                    (portable[r] as f64 - on_deq).abs() <= rounding,
                    "{ty} row {r}: vs dequantized product"
                );
                assert!(
                    (best[r] as f64 - exact).abs() <= step + rounding,
                    "{ty} row {r}: vs f32 activation"
                );
            }
        }
    }

    #[test]
    fn bad_shapes_and_types_are_errors() {
        let mut a = Q8Activation::default();
        a.quantize(&[1.0; 64]);
        let w = quantize(GgmlType::Q4_1, &[0.5; 128]).unwrap();
        let mut y = [0.0; 2];
        let k = Kernels::Best;
        assert!(matvec_q8(GgmlType::Q4_1, &w, 2, 64, &a, &mut y, k).is_ok());
        assert!(matches!(
            matvec_q8(GgmlType::Q4_1, &w[1..], 2, 64, &a, &mut y, k),
            Err(QuantError::SizeMismatch { .. })
        ));
        assert!(matches!(
            matvec_q8(GgmlType::Q4_1, &w, 1, 128, &a, &mut y[..1], k),
            Err(QuantError::VectorLength { what: "x", .. })
        ));
        assert!(matches!(
            matvec_q8(GgmlType::Q4_K, &w, 2, 64, &a, &mut y, k),
            Err(QuantError::Unsupported { .. })
        ));
    }
}
