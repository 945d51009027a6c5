//! ggml's 8-bit-activation kernels (not the engine's): one version for AVX2
//! and one for CPUs with AVX-512 VNNI, whose `vpdpbusd` does in one
//! instruction what AVX2 needs two for (multiply u8·i8, add groups of four).
//! Both compute the same integer sums as the scalar kernels.

use std::arch::x86_64::*;

use super::super::QK;
use super::super::q8act::Q8Activation;
use super::{f16_pair, hsum, unpack_nibbles};
use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q8_0::BlockQ8_0;

/// A block activation's `[d, s]` as f32 lanes 0 and 1.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn ds_pair(x: &Q8Activation, b: usize) -> __m128 {
    _mm_castpd_ps(unsafe { _mm_load_sd(x.ds.as_ptr().add(b) as *const f64) })
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
                    let p = row.as_ptr().add(b * BlockQ4_1::SIZE);
                    // [d_w, m_w] · [d_x, s_x] = [d_w·d_x, m_w·s_x]
                    let prod = _mm_mul_ps(f16_pair(p.add(BlockQ4_1::D)), ds_pair(x, b));
                    let w = unpack_nibbles(p.add(BlockQ4_1::QS)); // 32 × u8 in 0..16
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

            /// One block of a symmetric type (Q4_0, Q8_0) · Q8, scaled; `d`
            /// points at the block's scale.
            #[inline]
            #[target_feature(enable = $features)]
            unsafe fn block_sym(w: __m256i, d: *const u8, x: &Q8Activation, b: usize) -> __m256 {
                // SAFETY: the caller passes b < blocks and the block's `d`
                unsafe {
                    let q = _mm256_loadu_si256(x.qs.as_ptr().add(b * QK) as *const __m256i);
                    let scale = _mm256_broadcastss_ps(_mm_mul_ps(f16_pair(d), ds_pair(x, b)));
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
                        let p = row.as_ptr().add(b * BlockQ4_0::SIZE);
                        let q = unpack_nibbles(p.add(BlockQ4_0::QS));
                        let w = _mm256_sub_epi8(q, _mm256_set1_epi8(8));
                        block_sym(w, p.add(BlockQ4_0::D), x, b)
                    }
                })
            }

            #[target_feature(enable = $features)]
            pub unsafe fn dot_q8_0(row: &[u8], x: &Q8Activation) -> f32 {
                sum_blocks(row.len() / BlockQ8_0::SIZE, |b| {
                    // SAFETY: b < blocks of `row`
                    unsafe {
                        let p = row.as_ptr().add(b * BlockQ8_0::SIZE);
                        let w = _mm256_loadu_si256(p.add(BlockQ8_0::QS) as *const __m256i);
                        block_sym(w, p.add(BlockQ8_0::D), x, b)
                    }
                })
            }
        }
    };
}

kernels!(avx2, "avx2,fma,f16c", dot_u8_i8_avx2);
kernels!(vnni, "avx2,fma,f16c,avx512vnni,avx512vl", dot_u8_i8_vnni);
