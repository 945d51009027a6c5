//! The engine's kernels: f32 activations, nothing rounded, times the blocks.

use super::{Kernels, Rows, par_rows_many};
use crate::matvec::{RowDotF32, check_shapes};
use crate::{GgmlType, QuantError};

/// Weight types with a SIMD f32-activation kernel (the model keeps these in
/// their blocks; the others it dequantizes). The test below holds this list
/// to the x86 dispatch table.
pub fn has_fast_kernel(ty: GgmlType) -> bool {
    use GgmlType::*;
    matches!(
        ty,
        F16 | Q8_0 | Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q4_K | Q5_K | Q6_K
    )
}

/// Several rows of blocks · f32 values at once: `y[i]` = row `i` of the
/// `y.len()` rows of `row_bytes` bytes in `rows` · `x`. A kernel that takes
/// 4 rows together shares each load of `x` between them and sums their 4
/// accumulators in one reduction.
pub(crate) type RowsDotF32 = fn(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]);

/// A kernel of the dispatch table: one row at a time, or several.
#[derive(Clone, Copy)]
enum Dot {
    Row(RowDotF32),
    Rows(RowsDotF32),
}

impl Dot {
    /// `y[i]` = row `i` of `rows` · `x`.
    fn rows(self, rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
        match self {
            Dot::Row(dot) => {
                for (y_r, row) in y.iter_mut().zip(rows.chunks_exact(row_bytes)) {
                    *y_r = dot(row, x);
                }
            }
            Dot::Rows(dot) => dot(rows, row_bytes, x, y),
        }
    }
}

/// The fastest f32-activation kernel for `ty` that `kernels` allows on this
/// CPU; the portable one is [`matvec_ref`](crate::matvec_ref)'s row dot.
fn row_dot(ty: GgmlType, kernels: Kernels) -> Result<Dot, QuantError> {
    #[cfg(target_arch = "x86_64")]
    if let Some(dot) = x86_row_dot(ty, super::x86::level(kernels)) {
        return Ok(dot);
    }
    let _ = kernels; // only x86 has a choice to make
    let dot = crate::matvec::row_dot_f32(ty).ok_or(QuantError::Unsupported { ty, op: "matvec" })?;
    Ok(Dot::Row(dot))
}

/// The x86 dispatch table: one line per kernel.
#[cfg(target_arch = "x86_64")]
fn x86_row_dot(ty: GgmlType, level: super::x86::Level) -> Option<Dot> {
    use super::x86::{Level, avx512, f32act as avx2, kquant as kq, kquant512 as kq512};
    // SAFETY of the wrapped calls: the level says the CPU has AVX2, FMA,
    // F16C, and from `Avx512` up AVX-512 F, BW and VL
    match (level, ty) {
        (Level::None, _) => None,
        (Level::Avx512 | Level::Vnni, GgmlType::Q8_0) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            avx512::dot_q8_0(rows, n, x, y)
        })),
        (Level::Avx512 | Level::Vnni, GgmlType::Q4_0) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            avx512::dot_q4_0(rows, n, x, y)
        })),
        (Level::Avx512 | Level::Vnni, GgmlType::Q4_1) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            avx512::dot_q4_1(rows, n, x, y)
        })),
        (Level::Avx512 | Level::Vnni, GgmlType::F16) => {
            Some(Dot::Row(|row, x| unsafe { kq512::dot_f16(row, x) }))
        }
        (Level::Avx512 | Level::Vnni, GgmlType::Q5_0) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            avx512::dot_q5_0(rows, n, x, y)
        })),
        (Level::Avx512 | Level::Vnni, GgmlType::Q5_1) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            avx512::dot_q5_1(rows, n, x, y)
        })),
        (Level::Avx512 | Level::Vnni, GgmlType::Q4_K) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            kq512::dot_q4_k(rows, n, x, y)
        })),
        (Level::Avx512 | Level::Vnni, GgmlType::Q5_K) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            kq512::dot_q5_k(rows, n, x, y)
        })),
        (Level::Avx512 | Level::Vnni, GgmlType::Q6_K) => Some(Dot::Rows(|rows, n, x, y| unsafe {
            kq512::dot_q6_k(rows, n, x, y)
        })),
        (_, GgmlType::Q8_0) => Some(Dot::Row(|row, x| unsafe { avx2::dot_q8_0(row, x) })),
        (_, GgmlType::Q4_0) => Some(Dot::Row(|row, x| unsafe { avx2::dot_q4_0(row, x) })),
        (_, GgmlType::Q4_1) => Some(Dot::Row(|row, x| unsafe { avx2::dot_q4_1(row, x) })),
        (_, GgmlType::F16) => Some(Dot::Row(|row, x| unsafe { kq::dot_f16(row, x) })),
        (_, GgmlType::Q5_0) => Some(Dot::Row(|row, x| unsafe { kq::dot_q5_0(row, x) })),
        (_, GgmlType::Q5_1) => Some(Dot::Row(|row, x| unsafe { kq::dot_q5_1(row, x) })),
        (_, GgmlType::Q4_K) => Some(Dot::Row(|row, x| unsafe { kq::dot_q4_k(row, x) })),
        (_, GgmlType::Q5_K) => Some(Dot::Row(|row, x| unsafe { kq::dot_q5_k(row, x) })),
        (_, GgmlType::Q6_K) => Some(Dot::Row(|row, x| unsafe { kq::dot_q6_k(row, x) })),
        _ => None,
    }
}

/// Which kernels [`matvec_f32_threaded`] runs on this CPU under `kernels`
/// (for every type of [`has_fast_kernel`]): `"avx512"`, `"avx2"` or `"scalar"`.
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
            dot: move |rows: &[u8], y: &mut [f32]| dot.rows(rows, row_bytes, x, y),
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

    /// Where each fast type keeps its f16 fields: the block size, the scale's
    /// offset and, for the types with a minimum, the minimum's (from the
    /// blocks' structs).
    fn f16_fields(ty: GgmlType) -> (usize, usize, Option<usize>) {
        use crate::blocks::{
            q4_0::*, q4_1::*, q4_k::*, q5_0::*, q5_1::*, q5_k::*, q6_k::*, q8_0::*,
        };
        match ty {
            GgmlType::F16 => (2, 0, None), // a "block" of one f16 weight
            GgmlType::Q8_0 => (BlockQ8_0::SIZE, BlockQ8_0::D, None),
            GgmlType::Q4_0 => (BlockQ4_0::SIZE, BlockQ4_0::D, None),
            GgmlType::Q4_1 => (BlockQ4_1::SIZE, BlockQ4_1::D, Some(BlockQ4_1::M)),
            GgmlType::Q5_0 => (BlockQ5_0::SIZE, BlockQ5_0::D, None),
            GgmlType::Q5_1 => (BlockQ5_1::SIZE, BlockQ5_1::D, Some(BlockQ5_1::M)),
            GgmlType::Q4_K => (BlockQ4K::SIZE, BlockQ4K::D, Some(BlockQ4K::DMIN)),
            GgmlType::Q5_K => (BlockQ5K::SIZE, BlockQ5K::D, Some(BlockQ5K::DMIN)),
            GgmlType::Q6_K => (BlockQ6K::SIZE, BlockQ6K::D, None),
            _ => panic!("{ty}: no fields listed for a fast type"),
        }
    }

    /// `w` with the f16 at `at` of every block set to zero.
    fn zeroed(w: &[u8], size: usize, at: usize) -> Vec<u8> {
        let mut w = w.to_vec();
        for block in w.chunks_exact_mut(size) {
            block[at..at + 2].fill(0);
        }
        w
    }

    /// Random bytes, every f16 field then set to a random finite value in
    /// ±0.05: bit patterns the quantizers never write (6-bit scales past 31,
    /// every fifth and sixth bit).
    fn random_blocks(ty: GgmlType, n: usize, seed: u64) -> Vec<u8> {
        let (size, d, m) = f16_fields(ty);
        let bytes = rng_vec(seed, ty.n_bytes(n).unwrap(), 1.0);
        let mut w: Vec<u8> = bytes.iter().map(|v| (v.to_bits() >> 7) as u8).collect();
        let scales = rng_vec(seed + 1, 2 * w.len() / size, 0.05);
        for (block, s) in w.chunks_exact_mut(size).zip(scales.chunks_exact(2)) {
            for (at, v) in [Some(d), m].into_iter().flatten().zip(s) {
                block[at..at + 2].copy_from_slice(&half::f16::from_f32(*v).to_le_bytes());
            }
        }
        w
    }

    /// Every fast type, every kernel choice, against dequantize-then-dot (in
    /// f64), on quantized random rows and on random block bytes.
    ///
    /// The bound: a kernel adds, per weight, `s·x` with `s = scale·q` and, for
    /// the types with a minimum, `-m·x`, in f32, grouped otherwise than the
    /// reference (8 or 16 lanes, sums per sub-block with scales applied per
    /// sub-block, or weights dequantized by one multiply-add, two to four
    /// accumulators). Each term passes through fewer than `n = d_in`
    /// roundings, so the error is at most `γ_n·Σ(|s·x| + |m·x|) ≈
    /// n·ε·Σ(|s·x| + |m·x|)` (Higham, 3.1); the dequantized weight `s - m` is
    /// itself rounded once, inside the same bound. The sum runs over both
    /// parts, not `|w·x|`: where the minimum cancels `s`, the factored sums
    /// still carry the parts' rounding. `s` and `m` are the weights
    /// dequantized with the minimum's f16 zeroed, then the scale's. The bound
    /// is about `d_in·ε = 1e-4` of the magnitude; one misread code moves a
    /// row by about `1/d_in = 1e-3` of it.
    #[test]
    fn every_fast_kernel_equals_dequantize_then_dot() {
        for ty in GgmlType::ALL.into_iter().filter(|&ty| has_fast_kernel(ty)) {
            // a row count no chunking divides evenly; rows of whole
            // super-blocks, for the 32-weight types an odd count of blocks
            // (25: the kernels alternate two accumulators), or for F16 rows
            // that end past the last 16 (813: 12 steps of 64, 2 of 16, 13
            // left over)
            let d_in = match ty {
                GgmlType::F16 => 813,
                GgmlType::Q8_0
                | GgmlType::Q4_0
                | GgmlType::Q4_1
                | GgmlType::Q5_0
                | GgmlType::Q5_1 => 800,
                _ => 768,
            };
            let d_out = 67;
            let n = d_out * d_in;
            let deq = |ty, w: &[u8]| crate::blocks::dequantize(ty, w, n).unwrap();
            let (size, d, m) = f16_fields(ty);
            let quantized = quantize(ty, &rng_vec(3, n, 0.1)).unwrap();
            for (what, w) in [
                ("quantized", quantized),
                ("random", random_blocks(ty, n, 5)),
            ] {
                let w_deq = deq(ty, &w);
                let (s, m) = match m {
                    Some(m) => (deq(ty, &zeroed(&w, size, m)), deq(ty, &zeroed(&w, size, d))),
                    None => (w_deq.clone(), vec![0.0; n]),
                };
                let x = rng_vec(4, d_in, 2.0);
                let mut reference = vec![0.0; d_out];
                crate::matvec_ref(ty, &w, d_out, d_in, &x, &mut reference).unwrap();
                for kernels in Kernels::ALL {
                    let mut y = vec![f32::NAN; d_out];
                    matvec_f32_threaded(ty, &w, d_out, d_in, &x, &mut y, kernels).unwrap();
                    for (r, &y_r) in y.iter().enumerate() {
                        let row = r * d_in..(r + 1) * d_in;
                        let exact: f64 = (w_deq[row.clone()].iter().zip(&x))
                            .map(|(&w, &x)| w as f64 * x as f64)
                            .sum();
                        let mag: f64 = (s[row.clone()].iter().zip(&m[row]).zip(&x))
                            .map(|((&s, &m), &x)| {
                                (s.abs() as f64 + m.abs() as f64) * x.abs() as f64
                            })
                            .sum();
                        let tol = d_in as f64 * f32::EPSILON as f64 * mag;
                        let err = (y_r as f64 - exact).abs();
                        assert!(
                            err <= tol,
                            "{ty} {what} {kernels} row {r}: {y_r} vs {exact} (tol {tol})"
                        );
                        if kernels == Kernels::Scalar {
                            assert_eq!(
                                y_r, reference[r],
                                "{ty} row {r}: the scalar path is matvec_ref"
                            );
                        }
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
    /// each: the same kernel runs every row, only the threads' shares differ
    /// (they start at multiples of 4 rows, so a kernel that takes 4 rows at
    /// a time groups them the same way).
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
            matvec_f32_threaded(GgmlType::Q2_K, &w, 2, 64, &x, &mut y, k),
            Err(QuantError::Unsupported { op: "matvec", .. })
        ));
    }
}
