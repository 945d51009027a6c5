//! The engine's AVX2 kernels: a row of blocks · an f32 activation. Each
//! block's 32 weights are widened to f32 in registers and multiplied in, in
//! two partial sums, then scaled; blocks alternate between two accumulators
//! so that one add need not wait for the previous one.
//!
//! Safety, for every kernel: the CPU has AVX2, FMA and F16C (the caller
//! checked [`level`](super::level)), `row` is whole blocks and `x` holds 32
//! values per block (checked by the caller).

use std::arch::x86_64::*;

use super::super::QK;
use super::{f16_pair, hsum, unpack_nibbles};
use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q8_0::BlockQ8_0;

/// 8 integers (i32 lanes) as 8 f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn to_f32(q: __m256i) -> __m256 {
    _mm256_cvtepi32_ps(q)
}

/// `Σ_b d_b · Σ w·x` over a row of `SIZE`-byte blocks whose f16 scale sits
/// at `D`; `weights` turns a block's address into its 32 weights, as four
/// groups of 8 f32. Q8_0, Q4_0 and Q5_0 (in `kquant`) differ only there.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dot_scaled<const SIZE: usize, const D: usize>(
    row: &[u8],
    x: &[f32],
    weights: impl Fn(*const u8) -> [__m256; 4],
) -> f32 {
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for b in 0..row.len() / SIZE {
        // SAFETY: b < blocks of `row`; `x` has 32 values per block
        unsafe {
            let p = row.as_ptr().add(b * SIZE);
            let xp = x.as_ptr().add(b * QK);
            let [w0, w1, w2, w3] = weights(p);
            let s0 = _mm256_mul_ps(w0, _mm256_loadu_ps(xp));
            let s1 = _mm256_mul_ps(w1, _mm256_loadu_ps(xp.add(8)));
            let s0 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xp.add(16)), s0);
            let s1 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xp.add(24)), s1);
            let d = _mm256_broadcastss_ps(f16_pair(p.add(D)));
            if b % 2 == 0 {
                acc0 = _mm256_fmadd_ps(d, _mm256_add_ps(s0, s1), acc0);
            } else {
                acc1 = _mm256_fmadd_ps(d, _mm256_add_ps(s0, s1), acc1);
            }
        }
    }
    hsum(_mm256_add_ps(acc0, acc1))
}

/// Q8_0 row · f32 `x`: `Σ_b d·Σ q·x`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q8_0(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: as the caller promised
    unsafe {
        dot_scaled::<{ BlockQ8_0::SIZE }, { BlockQ8_0::D }>(row, x, |p| {
            let wide = |g: usize| {
                // SAFETY: p is a block; group g < 4 of its 32 weights
                let q = _mm_loadl_epi64(p.add(BlockQ8_0::QS + 8 * g) as *const __m128i);
                to_f32(_mm256_cvtepi8_epi32(q)) // 8 × i8 → 8 × f32
            };
            [wide(0), wide(1), wide(2), wide(3)]
        })
    }
}

/// Q4_0 row · f32 `x`: `Σ_b d·Σ (q - 8)·x`, the centred codes widened to f32.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_0(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: as the caller promised
    unsafe {
        dot_scaled::<{ BlockQ4_0::SIZE }, { BlockQ4_0::D }>(row, x, |p| {
            // 32 × i8 in -8..8: weights 0..16, then 16..32
            let w = _mm256_sub_epi8(unpack_nibbles(p.add(BlockQ4_0::QS)), _mm256_set1_epi8(8));
            let (lo, hi) = (_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
            let wide = |q: __m128i| to_f32(_mm256_cvtepi8_epi32(q));
            let (lo8, hi8) = (_mm_srli_si128(lo, 8), _mm_srli_si128(hi, 8));
            [wide(lo), wide(lo8), wide(hi), wide(hi8)]
        })
    }
}

// ANCHOR: matvec_f32
/// Q4_1 row · f32 `x`: `Σ_b d·Σ q·x + m·Σ x`, nibbles widened to f32.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_1(row: &[u8], x: &[f32]) -> f32 {
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for b in 0..row.len() / BlockQ4_1::SIZE {
        // SAFETY: b < blocks of `row`; `x` has 32 values per block
        unsafe {
            let p = row.as_ptr().add(b * BlockQ4_1::SIZE);
            let xp = x.as_ptr().add(b * QK);
            let w = unpack_nibbles(p.add(BlockQ4_1::QS)); // 32 × u8: weights 0..16, then 16..32
            let (lo, hi) = (_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
            let wide = |q: __m128i| to_f32(_mm256_cvtepu8_epi32(q));
            let x0 = _mm256_loadu_ps(xp);
            let x1 = _mm256_loadu_ps(xp.add(8));
            let x2 = _mm256_loadu_ps(xp.add(16));
            let x3 = _mm256_loadu_ps(xp.add(24));
            let qx0 = _mm256_mul_ps(wide(lo), x0);
            let qx1 = _mm256_mul_ps(wide(_mm_srli_si128(lo, 8)), x1);
            let qx0 = _mm256_fmadd_ps(wide(hi), x2, qx0);
            let qx1 = _mm256_fmadd_ps(wide(_mm_srli_si128(hi, 8)), x3, qx1);
            let sx = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3));
            let dm = f16_pair(p.add(BlockQ4_1::D)); // [d, m]
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
