//! The engine's kernels: f32 activations, nothing rounded, times the blocks.

use super::{Kernels, Rows, par_rows_many};
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
    use super::x86::{Level, avx512, f32act as avx2};
    // SAFETY of the wrapped calls: the level says the CPU has AVX2, FMA,
    // F16C, and from `Avx512` up AVX-512 F, BW and VL
    match (level, ty) {
        (Level::None, _) => None,
        (Level::Avx512 | Level::Vnni, GgmlType::Q8_0) => {
            Some(|row, x| unsafe { avx512::dot_q8_0(row, x) })
        }
        (Level::Avx512 | Level::Vnni, GgmlType::Q4_0) => {
            Some(|row, x| unsafe { avx512::dot_q4_0(row, x) })
        }
        (Level::Avx512 | Level::Vnni, GgmlType::Q4_1) => {
            Some(|row, x| unsafe { avx512::dot_q4_1(row, x) })
        }
        (_, GgmlType::Q8_0) => Some(|row, x| unsafe { avx2::dot_q8_0(row, x) }),
        (_, GgmlType::Q4_0) => Some(|row, x| unsafe { avx2::dot_q4_0(row, x) }),
        (_, GgmlType::Q4_1) => Some(|row, x| unsafe { avx2::dot_q4_1(row, x) }),
        _ => None,
    }
}

/// Which kernels [`matvec_f32_threaded`] runs on this CPU under `kernels`
/// (for Q4_0, Q4_1 and Q8_0; a type without a kernel of that level takes
/// the next one down): `"avx512"`, `"avx2"` or `"scalar"`.
pub fn f32_kernel_name(kernels: Kernels) -> &'static str {
    f32_kernel_info(kernels).0
}

/// The CPU features those kernels use, as `/proc/cpuinfo` spells them
/// (what a benchmark reports next to its numbers).
pub fn f32_kernel_flags(kernels: Kernels) -> &'static [&'static str] {
    f32_kernel_info(kernels).1
}

fn f32_kernel_info(kernels: Kernels) -> (&'static str, &'static [&'static str]) {
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Level, level};
        const AVX2: &[&str] = &["avx2", "fma", "f16c"];
        const AVX512: &[&str] = &["avx512f", "avx512bw", "avx512vl", "avx2", "fma", "f16c"];
        match level(kernels) {
            Level::None => {}
            Level::Avx2 => return ("avx2", AVX2),
            Level::Avx512 | Level::Vnni => return ("avx512", AVX512),
        }
    }
    let _ = kernels;
    ("scalar", &[])
}

/// [`matvec_ref`](crate::matvec_ref) — f32 activations, nothing rounded — with its
/// rows split over the decode threads, and SIMD kernels (the types of
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
    row_dot(ty, kernels)?; // an unsupported type is that error, whatever the shapes
    check_shapes(ty, weights, d_out, d_in, x.len(), y.len())?;
    matvec_f32_many(
        &mut [MatvecF32 {
            ty,
            weights,
            d_out,
            y,
        }],
        x,
        kernels,
    )
}

/// One matrix of [`matvec_f32_many`]: `d_out` rows of blocks of type `ty`,
/// and where its product goes.
pub struct MatvecF32<'a> {
    pub ty: GgmlType,
    pub weights: &'a [u8],
    pub d_out: usize,
    pub y: &'a mut [f32],
}

/// [`matvec_f32_threaded`] for several matrices that multiply the same `x`
/// (a layer's Q, K and V; its gate and up), in one parallel call: the
/// threads wake once for all of them, and share out their rows together.
pub fn matvec_f32_many(
    mats: &mut [MatvecF32<'_>],
    x: &[f32],
    kernels: Kernels,
) -> Result<(), QuantError> {
    let d_in = x.len();
    let mut rows = Vec::with_capacity(mats.len());
    for MatvecF32 {
        ty,
        weights,
        d_out,
        y,
    } in mats.iter_mut()
    {
        let dot = row_dot(*ty, kernels)?;
        let row_bytes = check_shapes(*ty, weights, *d_out, d_in, d_in, y.len())?;
        if d_in == 0 {
            y.fill(0.0);
            continue;
        }
        rows.push(Rows {
            weights,
            row_bytes,
            y,
            dot: move |row: &[u8]| dot(row, x),
        });
    }
    par_rows_many(&mut rows);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::rng_vec;
    use super::*;
    use crate::blocks::quantize;

    /// Every kernel choice against the readable `matvec_ref`: the same products,
    /// added in another order by the SIMD kernels (8 or 16 lanes, one or two
    /// accumulators),
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
                eprintln!(
                    "{ty} {kernels}: runs the {} kernels",
                    f32_kernel_name(kernels)
                );
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
        assert!(f32_kernel_flags(Kernels::Scalar).is_empty());
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            let avx512 = avx2
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl");
            let best = match (avx2, avx512) {
                (_, true) => "avx512",
                (true, false) => "avx2",
                _ => "scalar",
            };
            eprintln!("this CPU runs the {best} kernels");
            assert_eq!(f32_kernel_name(Kernels::Best), best);
            assert_eq!(f32_kernel_name(Kernels::Avx512), best);
            let capped = if avx2 { "avx2" } else { "scalar" };
            assert_eq!(f32_kernel_name(Kernels::Avx2), capped);
            assert_eq!(f32_kernel_flags(Kernels::Best).contains(&"avx512f"), avx512);
        }
    }

    /// Several matrices in one call give, row for row, the bits of one call
    /// each: the same kernel runs every row, only the threads' shares differ.
    #[test]
    fn many_matrices_at_once_equal_one_at_a_time() {
        let d_in = 576;
        let x = rng_vec(9, d_in, 1.0);
        let shapes = [
            (GgmlType::Q4_1, 576),
            (GgmlType::Q8_0, 192),
            (GgmlType::Q4_0, 67),
        ];
        let weights: Vec<Vec<u8>> = shapes
            .iter()
            .enumerate()
            .map(|(i, &(ty, d_out))| quantize(ty, &rng_vec(i as u64, d_out * d_in, 0.1)).unwrap())
            .collect();
        for kernels in Kernels::ALL {
            let mut ys: Vec<Vec<f32>> = shapes.iter().map(|&(_, d)| vec![f32::NAN; d]).collect();
            let mut mats: Vec<MatvecF32> = shapes
                .iter()
                .zip(&weights)
                .zip(ys.iter_mut())
                .map(|((&(ty, d_out), w), y)| MatvecF32 {
                    ty,
                    weights: w,
                    d_out,
                    y,
                })
                .collect();
            matvec_f32_many(&mut mats, &x, kernels).unwrap();
            for ((&(ty, d_out), w), y) in shapes.iter().zip(&weights).zip(&ys) {
                let mut one = vec![f32::NAN; d_out];
                matvec_f32_threaded(ty, w, d_out, d_in, &x, &mut one, kernels).unwrap();
                assert_eq!(y, &one, "{ty} {kernels}");
            }
        }
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
