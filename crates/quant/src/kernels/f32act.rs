//! The engine's kernels: f32 activations, nothing rounded, times the blocks.

use super::{Kernels, par_rows};
use crate::matvec::{RowDotF32, check_shapes};
use crate::{GgmlType, QuantError};

/// Weight types with a SIMD f32-activation kernel (the model keeps these in
/// their blocks; the others it dequantizes). The test below holds this list
/// to the x86 dispatch table.
pub fn has_fast_kernel(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q4_1)
}

/// The fastest f32-activation row dot for `ty` that `kernels` allows on this
/// CPU; the portable one is [`matvec_ref`](crate::matvec_ref)'s.
fn row_dot(ty: GgmlType, kernels: Kernels) -> Result<RowDotF32, QuantError> {
    #[cfg(target_arch = "x86_64")]
    if let Some(dot) = x86_row_dot(ty, super::x86::level(kernels)) {
        return Ok(dot);
    }
    let _ = kernels; // only x86 has a choice to make
    crate::matvec::row_dot_f32(ty).ok_or(QuantError::Unsupported { ty, op: "matvec" })
}

/// The x86 dispatch table: one line per kernel.
#[cfg(target_arch = "x86_64")]
fn x86_row_dot(ty: GgmlType, level: super::x86::Level) -> Option<RowDotF32> {
    use super::x86::{Level, f32act as avx2};
    // SAFETY of the wrapped calls: the level says the CPU has AVX2, FMA, F16C
    match (level, ty) {
        (Level::None, _) => None,
        (_, GgmlType::Q8_0) => Some(|row, x| unsafe { avx2::dot_q8_0(row, x) }),
        (_, GgmlType::Q4_0) => Some(|row, x| unsafe { avx2::dot_q4_0(row, x) }),
        (_, GgmlType::Q4_1) => Some(|row, x| unsafe { avx2::dot_q4_1(row, x) }),
        _ => None,
    }
}

/// Which kernels [`matvec_f32_threaded`] runs on this CPU under `kernels`:
/// `"avx2"` or `"scalar"`.
pub fn f32_kernel_name(kernels: Kernels) -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if super::x86::level(kernels) != super::x86::Level::None {
        return "avx2";
    }
    let _ = kernels;
    "scalar"
}

/// [`matvec_ref`](crate::matvec_ref) — f32 activations, nothing rounded — with its
/// rows split over rayon's threads, and SIMD kernels (the types of
/// [`has_fast_kernel`]) that widen each block to f32 in registers, as far as
/// `kernels` allows. The model's fast path.
pub fn matvec_f32_threaded(
    ty: GgmlType,
    weights: &[u8],
    d_out: usize,
    d_in: usize,
    x: &[f32],
    y: &mut [f32],
    kernels: Kernels,
) -> Result<(), QuantError> {
    let dot = row_dot(ty, kernels)?;
    let row_bytes = check_shapes(ty, weights, d_out, d_in, x.len(), y.len())?;
    if d_in == 0 {
        y.fill(0.0);
        return Ok(());
    }
    par_rows(weights, row_bytes, y, |row| dot(row, x));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::rng_vec;
    use super::*;
    use crate::blocks::quantize;

    /// Every kernel choice against the readable `matvec_ref`: the same products,
    /// added in another order by the SIMD kernels (8 lanes, two accumulators),
    /// so the gap is f32 rounding, bounded by `n·ε·Σ|w·x|` (Higham's γ_n). A
    /// misread nibble or scale is off by far more.
    #[test]
    fn threaded_f32_matvec_equals_the_reference() {
        // a row count no chunking divides evenly; rows of whole Q4_K super-blocks
        let (d_out, d_in) = (67, 768);
        for ty in [
            GgmlType::Q8_0,
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q4_K,
        ] {
            let w = quantize(ty, &rng_vec(3, d_out * d_in, 0.1)).unwrap();
            let w_deq = crate::blocks::dequantize(ty, &w, d_out * d_in).unwrap();
            let x = rng_vec(4, d_in, 2.0);
            let mut reference = vec![0.0; d_out];
            crate::matvec_ref(ty, &w, d_out, d_in, &x, &mut reference).unwrap();
            for kernels in Kernels::ALL {
                let mut y = vec![f32::NAN; d_out];
                matvec_f32_threaded(ty, &w, d_out, d_in, &x, &mut y, kernels).unwrap();
                for (r, (a, b)) in reference.iter().zip(&y).enumerate() {
                    let row = &w_deq[r * d_in..(r + 1) * d_in];
                    let mag: f32 = row.iter().zip(&x).map(|(w, x)| (w * x).abs()).sum();
                    let tol = d_in as f32 * f32::EPSILON * mag;
                    assert!((a - b).abs() <= tol, "{ty} {kernels} row {r}: {a} vs {b}");
                    if kernels == Kernels::Scalar {
                        assert_eq!(a, b, "{ty} row {r}: the scalar path is matvec_ref");
                    }
                }
            }
        }
    }

    /// `has_fast_kernel` lists exactly the types the x86 table has a kernel for.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn fast_kernel_list_is_the_simd_table() {
        for ty in GgmlType::ALL {
            let simd = x86_row_dot(ty, super::super::x86::Level::Avx2).is_some();
            assert_eq!(has_fast_kernel(ty), simd, "{ty}");
        }
    }

    #[test]
    fn kernel_names_follow_the_choice() {
        assert_eq!(f32_kernel_name(Kernels::Scalar), "scalar");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            f32_kernel_name(Kernels::Best),
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                "avx2"
            } else {
                "scalar"
            }
        );
    }

    #[test]
    fn bad_shapes_and_types_are_errors() {
        let w = quantize(GgmlType::Q4_1, &[0.5; 128]).unwrap();
        let (x, mut y) = ([1.0; 64], [0.0; 2]);
        let k = Kernels::Best;
        assert!(matvec_f32_threaded(GgmlType::Q4_1, &w, 2, 64, &x, &mut y, k).is_ok());
        assert!(matches!(
            matvec_f32_threaded(GgmlType::Q4_1, &w[1..], 2, 64, &x, &mut y, k),
            Err(QuantError::SizeMismatch { .. })
        ));
        assert!(matches!(
            matvec_f32_threaded(GgmlType::Q6_K, &w, 2, 64, &x, &mut y, k),
            Err(QuantError::Unsupported { op: "matvec", .. })
        ));
    }
}
