//! The fast `y = W·x`: integer dot products on blocks, SIMD, rows over threads.
//!
//! [`matvec`](crate::matvec()) is the readable version: it decodes each
//! weight to f32 and multiplies it with an f32 activation. Generating one token
//! runs every weight of the model through such a product once, so decode speed
//! is set by how fast the weight bytes stream from memory and how little work
//! each byte costs. ggml's answer, copied here:
//!
//! 1. **Quantize the activation too.** `x` is cut into the same 32-wide blocks
//!    and each block becomes 32 `i8` plus one f32 scale (Q8). A block's dot
//!    product is then a sum of 32 `u8 × i8` or `i8 × i8` products — exactly
//!    what the x86 instruction `vpmaddubsw` does, 32 at a time — and only the
//!    per-block total is scaled in float: `d_w · d_x · Σ q_w·q_x`.
//!    The price is the rounding of `x` to 8 bits (a relative error around
//!    1/254 per block), which the tests bound.
//! 2. **SIMD, chosen at run time** (`is_x86_feature_detected!`): AVX-512 VNNI
//!    kernels where the CPU has them, AVX2 (+FMA, F16C) ones otherwise, and
//!    elsewhere the scalar kernels below — all three compute the same integer
//!    sums. Nothing uses AMX, which some CPUs report but cannot execute.
//!    `LOCALLM_KERNELS=avx2` or `=scalar` caps the choice, to compare them.
//! 3. **Rows over threads.** Output rows are independent: rayon hands chunks
//!    of them to the threads of its pool (the pool burn's CPU backend uses too).
//!
//! No allocation per call: [`Q8Activation`] keeps its buffers between calls.

use half::f16;
use rayon::prelude::*;

use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q8_0::BlockQ8_0;
use crate::matvec::check_shapes;
use crate::{GgmlType, QuantError};

/// Weights per block of every type here.
const QK: usize = 32;

/// Weight types with a fast kernel.
pub fn has_fast_kernel(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q4_1)
}

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
type RowDot = unsafe fn(&[u8], &Q8Activation) -> f32;

/// The best kernel for `ty` on this CPU; `force_scalar` picks the portable one.
fn row_dot(ty: GgmlType, force_scalar: bool) -> Option<RowDot> {
    #[cfg(target_arch = "x86_64")]
    if !force_scalar {
        use x86::{Level, avx2, vnni};
        let kernel: Option<RowDot> = match (x86::level(), ty) {
            (Level::Vnni, GgmlType::Q8_0) => Some(vnni::dot_q8_0),
            (Level::Vnni, GgmlType::Q4_0) => Some(vnni::dot_q4_0),
            (Level::Vnni, GgmlType::Q4_1) => Some(vnni::dot_q4_1),
            (Level::Avx2, GgmlType::Q8_0) => Some(avx2::dot_q8_0),
            (Level::Avx2, GgmlType::Q4_0) => Some(avx2::dot_q4_0),
            (Level::Avx2, GgmlType::Q4_1) => Some(avx2::dot_q4_1),
            _ => None,
        };
        if kernel.is_some() {
            return kernel;
        }
    }
    let _ = force_scalar;
    match ty {
        GgmlType::Q8_0 => Some(scalar::dot_q8_0),
        GgmlType::Q4_0 => Some(scalar::dot_q4_0),
        GgmlType::Q4_1 => Some(scalar::dot_q4_1),
        _ => None,
    }
}

/// Which kernels [`matvec_f32_threaded`] (the engine's) runs on this CPU:
/// `"avx2"` or `"scalar"`.
pub fn f32_kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if x86::level() != x86::Level::None {
        return "avx2";
    }
    "scalar"
}

/// Which kernels [`matvec_q8`] runs on this CPU: `"avx512vnni"`, `"avx2"` or `"scalar"`.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    match x86::level() {
        x86::Level::Vnni => return "avx512vnni",
        x86::Level::Avx2 => return "avx2",
        x86::Level::None => {}
    }
    "scalar"
}

/// Fills `y[r]` with `dot(row r)` for the `d_out` rows of `row_bytes` bytes in
/// `weights`, a few chunks of rows per thread (tiny chunks cost more in
/// scheduling than they save). Shapes are checked by the caller.
fn par_rows(weights: &[u8], row_bytes: usize, y: &mut [f32], dot: impl Fn(&[u8]) -> f32 + Sync) {
    let rows_per_task = y.len().div_ceil(4 * rayon::current_num_threads()).max(16);
    y.par_chunks_mut(rows_per_task)
        .zip(weights.par_chunks(rows_per_task * row_bytes))
        .for_each(|(y, w)| {
            for (y_r, row) in y.iter_mut().zip(w.chunks_exact(row_bytes)) {
                *y_r = dot(row);
            }
        });
}

// ANCHOR: matvec_q8
/// `y = W·x` for the `d_out × d_in` matrix `W` (blocks of type `ty`, rows of
/// `d_in` weights) and the quantized activation `x`, rows split over rayon's
/// threads. Supported: the types of [`has_fast_kernel`].
pub fn matvec_q8(
    ty: GgmlType,
    weights: &[u8],
    d_out: usize,
    d_in: usize,
    x: &Q8Activation,
    y: &mut [f32],
) -> Result<(), QuantError> {
    matvec_q8_with(ty, weights, d_out, d_in, x, y, false)
}

/// [`matvec_q8`] with a choice of the portable kernels (for tests and benches).
pub fn matvec_q8_with(
    ty: GgmlType,
    weights: &[u8],
    d_out: usize,
    d_in: usize,
    x: &Q8Activation,
    y: &mut [f32],
    force_scalar: bool,
) -> Result<(), QuantError> {
    let dot = row_dot(ty, force_scalar).ok_or(QuantError::Unsupported {
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

/// The fastest f32-activation row dot for `ty` on this CPU.
fn row_dot_f32(ty: GgmlType) -> Result<crate::matvec::RowDotF32, QuantError> {
    #[cfg(target_arch = "x86_64")]
    if x86::level() != x86::Level::None {
        // SAFETY of the wrapped calls: the level says the CPU has AVX2, FMA, F16C
        match ty {
            GgmlType::Q8_0 => return Ok(|row, x| unsafe { x86::dot_q8_0_f32(row, x) }),
            GgmlType::Q4_1 => return Ok(|row, x| unsafe { x86::dot_q4_1_f32(row, x) }),
            _ => {}
        }
    }
    crate::matvec::row_dot_f32(ty).ok_or(QuantError::Unsupported { ty, op: "matvec" })
}

/// [`matvec`](crate::matvec()) — f32 activations, nothing rounded — with its
/// rows split over rayon's threads, and AVX2 kernels for Q8_0 and Q4_1 that
/// widen each block to f32 in registers. The model's fast path uses this, not
/// [`matvec_q8`]: with 8-bit activations SmolLM2 answers "What is the capital
/// of France?" with "L'Étoile, la Marseillaise" (as llama.cpp does on the
/// same file); with f32 ones, "The capital of France is Paris."
pub fn matvec_f32_threaded(
    ty: GgmlType,
    weights: &[u8],
    d_out: usize,
    d_in: usize,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), QuantError> {
    let dot = row_dot_f32(ty)?;
    let row_bytes = check_shapes(ty, weights, d_out, d_in, x.len(), y.len())?;
    if d_in == 0 {
        y.fill(0.0);
        return Ok(());
    }
    par_rows(weights, row_bytes, y, |row| dot(row, x));
    Ok(())
}

/// The portable kernels: the same integer sums, one weight at a time.
mod scalar {
    use super::*;

    fn f16_at(b: &[u8], i: usize) -> f32 {
        f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
    }

    // ANCHOR: dot_q4_1_q8
    /// Q4_1 · Q8: `Σ_b d_w·d_x·Σ q_w·q_x + m_w·s_x`.
    pub unsafe fn dot_q4_1(row: &[u8], x: &Q8Activation) -> f32 {
        let mut sum = 0.0f32;
        for (b, blk) in row.chunks_exact(BlockQ4_1::SIZE).enumerate() {
            let (d_w, m_w) = (f16_at(blk, 0), f16_at(blk, 2));
            let qx = &x.qs[b * QK..(b + 1) * QK];
            let mut sumi = 0i32;
            // byte j holds weight j (low nibble) and weight j + 16 (high nibble)
            for (j, &byte) in blk[4..].iter().enumerate() {
                sumi += (byte & 0x0F) as i32 * qx[j] as i32;
                sumi += (byte >> 4) as i32 * qx[j + 16] as i32;
            }
            sum += d_w * x.d(b) * sumi as f32 + m_w * x.s(b);
        }
        sum
    }
    // ANCHOR_END: dot_q4_1_q8

    /// Q4_0 · Q8: `Σ_b d_w·d_x·Σ (q_w - 8)·q_x`.
    pub unsafe fn dot_q4_0(row: &[u8], x: &Q8Activation) -> f32 {
        let mut sum = 0.0f32;
        for (b, blk) in row.chunks_exact(BlockQ4_0::SIZE).enumerate() {
            let qx = &x.qs[b * QK..(b + 1) * QK];
            let mut sumi = 0i32;
            for (j, &byte) in blk[2..].iter().enumerate() {
                sumi += ((byte & 0x0F) as i32 - 8) * qx[j] as i32;
                sumi += ((byte >> 4) as i32 - 8) * qx[j + 16] as i32;
            }
            sum += f16_at(blk, 0) * x.d(b) * sumi as f32;
        }
        sum
    }

    /// Q8_0 · Q8: `Σ_b d_w·d_x·Σ q_w·q_x`.
    pub unsafe fn dot_q8_0(row: &[u8], x: &Q8Activation) -> f32 {
        let mut sum = 0.0f32;
        for (b, blk) in row.chunks_exact(BlockQ8_0::SIZE).enumerate() {
            let qx = &x.qs[b * QK..(b + 1) * QK];
            let sumi: i32 = blk[2..]
                .iter()
                .zip(qx)
                .map(|(&w, &q)| w as i8 as i32 * q as i32)
                .sum();
            sum += f16_at(blk, 0) * x.d(b) * sumi as f32;
        }
        sum
    }
}

/// The x86 kernels, as ggml's `ggml_vec_dot_*_q8_*`: one version for AVX2
/// and one for CPUs with AVX-512 VNNI, whose `vpdpbusd` does in one
/// instruction what AVX2 needs two for (multiply u8·i8, add groups of four).
/// Both compute the same integer sums as the scalar kernels.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    use super::*;

    /// Which x86 kernels this CPU can run, detected once.
    #[derive(Clone, Copy, PartialEq)]
    pub enum Level {
        None,
        Avx2,
        Vnni,
    }

    pub fn level() -> Level {
        static LEVEL: OnceLock<Level> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let avx2 = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            let vnni =
                is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl");
            // LOCALLM_KERNELS=avx2|scalar caps the choice, to compare them
            let cap = std::env::var("LOCALLM_KERNELS").unwrap_or_default();
            match (avx2 && cap != "scalar", vnni && cap.is_empty()) {
                (true, true) => Level::Vnni,
                (true, false) => Level::Avx2,
                _ => Level::None,
            }
        })
    }

    /// Sum of the 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// The two f16 at `p` (a block's `d` and `m`) as f32 lanes 0 and 1.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn f16_pair(p: *const u8) -> __m128 {
        _mm_cvtph_ps(_mm_cvtsi32_si128(unsafe {
            (p as *const i32).read_unaligned()
        }))
    }

    /// A block activation's `[d, s]` as f32 lanes 0 and 1.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn ds_pair(x: &Q8Activation, b: usize) -> __m128 {
        _mm_castpd_ps(unsafe { _mm_load_sd(x.ds.as_ptr().add(b) as *const f64) })
    }

    /// 16 bytes of nibbles → 32 bytes: low nibbles (weights 0..16), then high (16..32).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack_nibbles(p: *const u8) -> __m256i {
        let bytes = unsafe { _mm_loadu_si128(p as *const __m128i) };
        let mask = _mm_set1_epi8(0x0F);
        let lo = _mm_and_si128(bytes, mask);
        let hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
        _mm256_set_m128i(hi, lo)
    }

    /// Σ u8·i8 over 32 pairs, as 8 i32 lanes turned f32 (AVX2: pairs of
    /// products summed to i16 — |15·127·2| and |128·127·2| fit — then to i32).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn dot_u8_i8_avx2(w: __m256i, x: __m256i) -> __m256 {
        let p16 = _mm256_maddubs_epi16(w, x);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)))
    }

    /// The same sums with one VNNI instruction.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c,avx512vnni,avx512vl")]
    fn dot_u8_i8_vnni(w: __m256i, x: __m256i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), w, x))
    }

    /// Q8_0 row · f32 `x`: each block's 32 weights widened to f32 and
    /// multiplied in, in two partial sums, then scaled by the block's `d`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_q8_0_f32(row: &[u8], x: &[f32]) -> f32 {
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for b in 0..row.len() / BlockQ8_0::SIZE {
            // SAFETY: b < blocks of `row`; `x` has 32 values per block (checked by the caller)
            unsafe {
                let p = row.as_ptr().add(b * BlockQ8_0::SIZE); // d | 32 × i8
                let xp = x.as_ptr().add(b * QK);
                let wide = |g: usize| {
                    let q = _mm_loadl_epi64(p.add(2 + 8 * g) as *const __m128i); // 8 × i8
                    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)) // 8 × f32
                };
                let s0 = _mm256_mul_ps(wide(0), _mm256_loadu_ps(xp));
                let s1 = _mm256_mul_ps(wide(1), _mm256_loadu_ps(xp.add(8)));
                let s0 = _mm256_fmadd_ps(wide(2), _mm256_loadu_ps(xp.add(16)), s0);
                let s1 = _mm256_fmadd_ps(wide(3), _mm256_loadu_ps(xp.add(24)), s1);
                let d = _mm256_broadcastss_ps(f16_pair(p));
                if b % 2 == 0 {
                    acc0 = _mm256_fmadd_ps(d, _mm256_add_ps(s0, s1), acc0);
                } else {
                    acc1 = _mm256_fmadd_ps(d, _mm256_add_ps(s0, s1), acc1);
                }
            }
        }
        hsum(_mm256_add_ps(acc0, acc1))
    }

    // ANCHOR: matvec_f32
    /// Q4_1 row · f32 `x`: `Σ_b d·Σ q·x + m·Σ x`, nibbles widened to f32.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_q4_1_f32(row: &[u8], x: &[f32]) -> f32 {
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for b in 0..row.len() / BlockQ4_1::SIZE {
            // SAFETY: b < blocks of `row`; `x` has 32 values per block (checked by the caller)
            unsafe {
                let p = row.as_ptr().add(b * BlockQ4_1::SIZE); // d | m | 16 bytes
                let xp = x.as_ptr().add(b * QK);
                let w = unpack_nibbles(p.add(4)); // 32 × u8: weights 0..16, then 16..32
                let (lo, hi) = (_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
                let wide = |q: __m128i| _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q));
                let x0 = _mm256_loadu_ps(xp);
                let x1 = _mm256_loadu_ps(xp.add(8));
                let x2 = _mm256_loadu_ps(xp.add(16));
                let x3 = _mm256_loadu_ps(xp.add(24));
                let qx0 = _mm256_mul_ps(wide(lo), x0);
                let qx1 = _mm256_mul_ps(wide(_mm_srli_si128(lo, 8)), x1);
                let qx0 = _mm256_fmadd_ps(wide(hi), x2, qx0);
                let qx1 = _mm256_fmadd_ps(wide(_mm_srli_si128(hi, 8)), x3, qx1);
                let sx = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3));
                let dm = f16_pair(p); // [d, m]
                let d = _mm256_broadcastss_ps(dm);
                let m = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));
                let block = _mm256_fmadd_ps(d, _mm256_add_ps(qx0, qx1), _mm256_mul_ps(m, sx));
                if b % 2 == 0 {
                    acc0 = _mm256_add_ps(acc0, block);
                } else {
                    acc1 = _mm256_add_ps(acc1, block);
                }
            }
        }
        hsum(_mm256_add_ps(acc0, acc1))
    }
    // ANCHOR_END: matvec_f32

    /// The three kernels, written once for each `dot_u8_i8`.
    macro_rules! kernels {
        ($module:ident, $features:literal, $dot_u8_i8:ident) => {
            pub mod $module {
                use super::*;

                /// Σ i8·i8: the unsigned operand is `|w|`, the sign moves onto `x`.
                #[inline]
                #[target_feature(enable = $features)]
                fn dot_i8_i8(w: __m256i, x: __m256i) -> __m256 {
                    $dot_u8_i8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w))
                }

                /// One block of Q4_1 · Q8: `(Σ q_w·q_x in 8 lanes · d_w·d_x, [_, m_w·s_x])`.
                #[inline]
                #[target_feature(enable = $features)]
                unsafe fn block_q4_1(row: &[u8], x: &Q8Activation, b: usize) -> (__m256, __m128) {
                    // SAFETY: the caller passes b < blocks of `row`; x has 32 values per block
                    unsafe {
                        let p = row.as_ptr().add(b * BlockQ4_1::SIZE); // d | m | 16 bytes
                        // [d_w, m_w] · [d_x, s_x] = [d_w·d_x, m_w·s_x]
                        let prod = _mm_mul_ps(f16_pair(p), ds_pair(x, b));
                        let w = unpack_nibbles(p.add(4)); // 32 × u8 in 0..16
                        let q = _mm256_loadu_si256(x.qs.as_ptr().add(b * QK) as *const __m256i);
                        (
                            _mm256_mul_ps(_mm256_broadcastss_ps(prod), $dot_u8_i8(w, q)),
                            prod,
                        )
                    }
                }

                /// Two blocks per iteration, each into its own accumulators: a
                /// single chain of adds would wait out the add's latency at
                /// every block (and did: 4 cycles a block).
                #[target_feature(enable = $features)]
                pub unsafe fn dot_q4_1(row: &[u8], x: &Q8Activation) -> f32 {
                    let n = row.len() / BlockQ4_1::SIZE;
                    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                    let (mut min0, mut min1) = (_mm_setzero_ps(), _mm_setzero_ps());
                    for b in (0..n - n % 2).step_by(2) {
                        // SAFETY: b + 1 < n
                        let ((v0, m0), (v1, m1)) =
                            unsafe { (block_q4_1(row, x, b), block_q4_1(row, x, b + 1)) };
                        (acc0, acc1) = (_mm256_add_ps(acc0, v0), _mm256_add_ps(acc1, v1));
                        (min0, min1) = (_mm_add_ps(min0, m0), _mm_add_ps(min1, m1));
                    }
                    if n % 2 == 1 {
                        // SAFETY: n - 1 < n
                        let (v, m) = unsafe { block_q4_1(row, x, n - 1) };
                        (acc0, min0) = (_mm256_add_ps(acc0, v), _mm_add_ps(min0, m));
                    }
                    // lane 1 of the mins summed every m_w·s_x
                    let mins = _mm_add_ps(min0, min1);
                    hsum(_mm256_add_ps(acc0, acc1)) + _mm_cvtss_f32(_mm_movehdup_ps(mins))
                }

                /// One block of a symmetric type (Q4_0, Q8_0) · Q8, scaled.
                #[inline]
                #[target_feature(enable = $features)]
                unsafe fn block_sym(
                    w: __m256i,
                    p: *const u8,
                    x: &Q8Activation,
                    b: usize,
                ) -> __m256 {
                    // SAFETY: the caller passes b < blocks; p points at the block's d
                    unsafe {
                        let q = _mm256_loadu_si256(x.qs.as_ptr().add(b * QK) as *const __m256i);
                        let scale = _mm256_broadcastss_ps(_mm_mul_ps(f16_pair(p), ds_pair(x, b)));
                        _mm256_mul_ps(scale, dot_i8_i8(w, q))
                    }
                }

                /// Σ over blocks of `block(b)`, two chains.
                #[inline]
                #[target_feature(enable = $features)]
                fn sum_blocks(n: usize, block: impl Fn(usize) -> __m256) -> f32 {
                    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                    for b in (0..n - n % 2).step_by(2) {
                        (acc0, acc1) = (
                            _mm256_add_ps(acc0, block(b)),
                            _mm256_add_ps(acc1, block(b + 1)),
                        );
                    }
                    if n % 2 == 1 {
                        acc0 = _mm256_add_ps(acc0, block(n - 1));
                    }
                    hsum(_mm256_add_ps(acc0, acc1))
                }

                #[target_feature(enable = $features)]
                pub unsafe fn dot_q4_0(row: &[u8], x: &Q8Activation) -> f32 {
                    sum_blocks(row.len() / BlockQ4_0::SIZE, |b| {
                        // SAFETY: b < blocks of `row`
                        unsafe {
                            let p = row.as_ptr().add(b * BlockQ4_0::SIZE); // d | 16 bytes
                            let w = _mm256_sub_epi8(unpack_nibbles(p.add(2)), _mm256_set1_epi8(8));
                            block_sym(w, p, x, b)
                        }
                    })
                }

                #[target_feature(enable = $features)]
                pub unsafe fn dot_q8_0(row: &[u8], x: &Q8Activation) -> f32 {
                    sum_blocks(row.len() / BlockQ8_0::SIZE, |b| {
                        // SAFETY: b < blocks of `row`
                        unsafe {
                            let p = row.as_ptr().add(b * BlockQ8_0::SIZE); // d | 32 × i8
                            let w = _mm256_loadu_si256(p.add(2) as *const __m256i);
                            block_sym(w, p, x, b)
                        }
                    })
                }
            }
        };
    }

    kernels!(avx2, "avx2,fma,f16c", dot_u8_i8_avx2);
    kernels!(vnni, "avx2,fma,f16c,avx512vnni,avx512vl", dot_u8_i8_vnni);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{dequantize, quantize};

    fn rng_vec(seed: u64, n: usize, scale: f32) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                let r = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32;
                (r / (1u64 << 23) as f32 - 1.0) * scale
            })
            .collect()
    }

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

    /// For each type: the SIMD kernels equal the scalar ones (the integer sums
    /// are exact, only the float accumulation order differs), and both equal
    /// the f32 product of the dequantized weights with the *dequantized*
    /// activation up to f32 rounding; against the original activation the gap
    /// is bounded by the activation's rounding, Σ_b Σ|w|·d_x/2.
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
            let (mut fast, mut portable) = (vec![0.0; d_out], vec![0.0; d_out]);
            matvec_q8_with(ty, &w, d_out, d_in, &a, &mut fast, false).unwrap();
            matvec_q8_with(ty, &w, d_out, d_in, &a, &mut portable, true).unwrap();
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
                    // sum `s` (rounded to f16), not by d·Σq: use the same
                    let row_bytes = &w[r * ty.n_bytes(d_in).unwrap()..];
                    for b in 0..d_in / 32 {
                        let blk = &row_bytes[b * BlockQ4_1::SIZE..];
                        let m = f16::from_le_bytes([blk[2], blk[3]]).to_f32() as f64;
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
                assert!(
                    (fast[r] as f64 - portable[r] as f64).abs() <= rounding,
                    "{ty} row {r}: simd vs scalar"
                );
                // the AVX2 kernels too, where the best ones are VNNI
                #[cfg(target_arch = "x86_64")]
                if x86::level() != x86::Level::None {
                    let row =
                        &w[r * ty.n_bytes(d_in).unwrap()..(r + 1) * ty.n_bytes(d_in).unwrap()];
                    let avx2 = unsafe {
                        match ty {
                            GgmlType::Q8_0 => x86::avx2::dot_q8_0(row, &a),
                            GgmlType::Q4_0 => x86::avx2::dot_q4_0(row, &a),
                            _ => x86::avx2::dot_q4_1(row, &a),
                        }
                    };
                    assert!(
                        (avx2 as f64 - portable[r] as f64).abs() <= rounding,
                        "{ty} row {r}: avx2 vs scalar"
                    );
                }
                assert!(
                    (portable[r] as f64 - on_deq).abs() <= rounding,
                    "{ty} row {r}: vs dequantized product"
                );
                assert!(
                    (fast[r] as f64 - exact).abs() <= step + rounding,
                    "{ty} row {r}: vs f32 activation"
                );
            }
        }
    }

    #[test]
    fn threaded_f32_matvec_equals_the_reference() {
        let (d_out, d_in) = (67, 576);
        for ty in [GgmlType::Q8_0, GgmlType::Q4_1] {
            let w = quantize(ty, &rng_vec(3, d_out * d_in, 0.1)).unwrap();
            let x = rng_vec(4, d_in, 2.0);
            let (mut a, mut b) = (vec![0.0; d_out], vec![0.0; d_out]);
            crate::matvec(ty, &w, d_out, d_in, &x, &mut a).unwrap();
            matvec_f32_threaded(ty, &w, d_out, d_in, &x, &mut b).unwrap();
            // the same products; the SIMD kernel (Q8_0) adds them in another order
            for (r, (a, b)) in a.iter().zip(&b).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                    "{ty} row {r}: {a} vs {b}"
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
        assert!(matvec_q8(GgmlType::Q4_1, &w, 2, 64, &a, &mut y).is_ok());
        assert!(matches!(
            matvec_q8(GgmlType::Q4_1, &w[1..], 2, 64, &a, &mut y),
            Err(QuantError::SizeMismatch { .. })
        ));
        assert!(matches!(
            matvec_q8(GgmlType::Q4_1, &w, 1, 128, &a, &mut y[..1]),
            Err(QuantError::VectorLength { what: "x", .. })
        ));
        assert!(matches!(
            matvec_q8(GgmlType::Q4_K, &w, 2, 64, &a, &mut y),
            Err(QuantError::Unsupported { .. })
        ));
    }
}
