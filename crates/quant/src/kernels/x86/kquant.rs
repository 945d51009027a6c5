//! The AVX2 f32-activation kernels for what a K-quant mix puts in a file:
//! Q4_K, Q5_K and Q6_K, the 32-weight Q5_0 and Q5_1 that a mix falls back to
//! where a row is not whole 256-weight super-blocks (SmolLM2's 576, Gemma 3's
//! 640), and F16, the file a mix is made from. As in `f32act`, each weight is widened to f32 in registers
//! and multiplied by the f32 activation; nothing but the weights is rounded.
//!
//! A super-block adds `Σ_j scale_j · Σ q·x (- min_j · Σ x)` over its
//! sub-blocks: the sums per sub-block are 8-lane vectors, multiplied by the
//! sub-block's scale (a broadcast f32) into an accumulator, so the 6-bit or
//! 8-bit scales cost one multiply-add per 32 or 16 weights.
//!
//! Safety, for every kernel: the CPU has AVX2, FMA and F16C (the caller
//! checked [`level`](super::level)), `row` is whole blocks and `x` holds one
//! value per weight (checked by the caller).

use std::arch::x86_64::*;

use super::super::QK;
use super::f32act::dot_scaled;
use super::{f16_pair, hsum, unpack_nibbles};
use crate::blocks::kquant::get_scale_min_k4;
use crate::blocks::q4_k::BlockQ4K;
use crate::blocks::q5_0::BlockQ5_0;
use crate::blocks::q5_1::BlockQ5_1;
use crate::blocks::q5_k::BlockQ5K;
use crate::blocks::q6_k::BlockQ6K;

/// Weights per K-quant super-block.
const QK_K: usize = 256;

// `f16_pair` reads `d` and the f16 after it in one load.
const _: () = assert!(BlockQ4K::DMIN == BlockQ4K::D + 2);
const _: () = assert!(BlockQ5K::DMIN == BlockQ5K::D + 2);
const _: () = assert!(BlockQ5_1::M == BlockQ5_1::D + 2);

/// The 32 activations at `xp`, as four groups of 8.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load32(xp: *const f32) -> [__m256; 4] {
    // SAFETY: the caller gives 32 readable values
    unsafe { [0, 8, 16, 24].map(|i| _mm256_loadu_ps(xp.add(i))) }
}

/// 32 weights as bytes (unsigned codes, or signed if `SIGNED`), in order,
/// widened to four groups of 8 f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn widen<const SIGNED: bool>(q: __m256i) -> [__m256; 4] {
    let (lo, hi) = (_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    [lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)].map(|g| {
        let ints = if SIGNED {
            _mm256_cvtepi8_epi32(g)
        } else {
            _mm256_cvtepu8_epi32(g)
        };
        _mm256_cvtepi32_ps(ints)
    })
}

/// `Σ w·x` of 32 weights, as 8 partial sums (two chains of products).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot32(w: [__m256; 4], x: [__m256; 4]) -> __m256 {
    let s0 = _mm256_fmadd_ps(w[2], x[2], _mm256_mul_ps(w[0], x[0]));
    let s1 = _mm256_fmadd_ps(w[3], x[3], _mm256_mul_ps(w[1], x[1]));
    _mm256_add_ps(s0, s1)
}

/// `Σ x` of 32 activations, as 8 partial sums.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn sum32(x: [__m256; 4]) -> __m256 {
    _mm256_add_ps(_mm256_add_ps(x[0], x[1]), _mm256_add_ps(x[2], x[3]))
}

/// The one f16 at `p` as f32 (a 2-byte read: `p` may end its row).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_at(p: *const u8) -> f32 {
    let bits = unsafe { (p as *const u16).read_unaligned() };
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
}

/// The 32 bits of the little-endian u32 at `p` as 32 bytes, `0x10` where
/// bit `j` is set (byte `j`), else 0: the fifth bits of Q5_0/Q5_1, ready to
/// be or-ed onto the nibbles (ggml's `bytes_from_bits_32`, shifted).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn fifth_bits(p: *const u8) -> __m256i {
    let bits = unsafe { (p as *const i32).read_unaligned() };
    // byte j gets the byte of `bits` that holds bit j...
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits),
        _mm256_set_epi64x(
            0x0303_0303_0303_0303,
            0x0202_0202_0202_0202,
            0x0101_0101_0101_0101,
            0,
        ),
    );
    // ...and all its bits but bit j % 8 set: all ones iff bit j is
    let others = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
    let set = _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi8(-1));
    _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

/// Q5_0 row · f32 `x`: `Σ_b d·Σ (q - 16)·x`, `q` = nibble | fifth bit.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q5_0(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: as the caller promised
    unsafe {
        dot_scaled::<{ BlockQ5_0::SIZE }, { BlockQ5_0::D }>(row, x, |p| {
            let q = _mm256_or_si256(
                unpack_nibbles(p.add(BlockQ5_0::QS)),
                fifth_bits(p.add(BlockQ5_0::QH)),
            );
            widen::<true>(_mm256_sub_epi8(q, _mm256_set1_epi8(16))) // -16..16
        })
    }
}

/// Q5_1 row · f32 `x`: `Σ_b d·Σ q·x + m·Σ x`, `q` = nibble | fifth bit.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q5_1(row: &[u8], x: &[f32]) -> f32 {
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for b in 0..row.len() / BlockQ5_1::SIZE {
        // SAFETY: b < blocks of `row`; `x` has 32 values per block
        unsafe {
            let p = row.as_ptr().add(b * BlockQ5_1::SIZE);
            let q = _mm256_or_si256(
                unpack_nibbles(p.add(BlockQ5_1::QS)),
                fifth_bits(p.add(BlockQ5_1::QH)),
            );
            let xs = load32(x.as_ptr().add(b * QK));
            let qx = dot32(widen::<false>(q), xs);
            let dm = f16_pair(p.add(BlockQ5_1::D)); // [d, m]
            let d = _mm256_broadcastss_ps(dm);
            let m = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));
            let block = _mm256_fmadd_ps(d, qx, _mm256_mul_ps(m, sum32(xs)));
            if b % 2 == 0 {
                acc0 = _mm256_add_ps(acc0, block);
            } else {
                acc1 = _mm256_add_ps(acc1, block);
            }
        }
    }
    hsum(_mm256_add_ps(acc0, acc1))
}

/// Q4_K and Q5_K: `Σ_j d·scale_j·Σ q·x - dmin·min_j·Σ x` over the 8
/// sub-blocks of each super-block; `codes(p, k)` gives the 64 codes of
/// sub-blocks `2k` and `2k + 1` of the block at `p` (32 bytes each, in order).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_k4<const SIZE: usize, const D: usize, const SCALES: usize>(
    row: &[u8],
    x: &[f32],
    codes: impl Fn(*const u8, usize) -> [__m256i; 2],
) -> f32 {
    let (mut acc, mut acc_min) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for b in 0..row.len() / SIZE {
        // SAFETY: b < blocks of `row`; `x` has 256 values per block
        unsafe {
            let p = row.as_ptr().add(b * SIZE);
            let dd = f16_pair(p.add(D)); // [d, dmin]
            let (d, dmin) = (_mm_cvtss_f32(dd), _mm_cvtss_f32(_mm_movehdup_ps(dd)));
            let scales = &*(p.add(SCALES) as *const [u8; 12]);
            for k in 0..QK_K / 64 {
                for (h, q) in codes(p, k).into_iter().enumerate() {
                    let j = 2 * k + h;
                    let (sc, mn) = get_scale_min_k4(j, scales);
                    let xs = load32(x.as_ptr().add(b * QK_K + 32 * j));
                    let qx = dot32(widen::<false>(q), xs);
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * sc as f32), qx, acc);
                    acc_min = _mm256_fmadd_ps(_mm256_set1_ps(dmin * mn as f32), sum32(xs), acc_min);
                }
            }
        }
    }
    hsum(_mm256_sub_ps(acc, acc_min))
}

/// The 32 bytes at `p` as two runs of 32 codes: low nibbles, then high.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibble_runs(p: *const u8) -> [__m256i; 2] {
    let bytes = unsafe { _mm256_loadu_si256(p as *const __m256i) };
    let mask = _mm256_set1_epi8(0x0F);
    [
        _mm256_and_si256(bytes, mask),
        _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask),
    ]
}

/// Q4_K row · f32 `x`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_k(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: as the caller promised; k < 4 keeps the 32 bytes in the block
    unsafe {
        dot_k4::<{ BlockQ4K::SIZE }, { BlockQ4K::D }, { BlockQ4K::SCALES }>(row, x, |p, k| {
            nibble_runs(p.add(BlockQ4K::QS + 32 * k))
        })
    }
}

/// Q5_K row · f32 `x`: Q4_K's nibbles, plus 16 where bit `j` of `qh[l]` is
/// set for weight `l` of sub-block `j`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q5_k(row: &[u8], x: &[f32]) -> f32 {
    // SAFETY: as the caller promised; k < 4 keeps the 32 bytes in the block
    unsafe {
        dot_k4::<{ BlockQ5K::SIZE }, { BlockQ5K::D }, { BlockQ5K::SCALES }>(row, x, |p, k| {
            let qh = _mm256_loadu_si256(p.add(BlockQ5K::QH) as *const __m256i);
            let sixteen = _mm256_set1_epi8(0x10);
            let [lo, hi] = nibble_runs(p.add(BlockQ5K::QS + 32 * k));
            // bit j of each byte to bit 4 (16-bit shifts: the mask drops what crossed bytes)
            let high = |j: usize| {
                let down = _mm256_srl_epi16(qh, _mm_cvtsi32_si128(j as i32));
                _mm256_and_si256(_mm256_slli_epi16(down, 4), sixteen)
            };
            [
                _mm256_or_si256(lo, high(2 * k)),
                _mm256_or_si256(hi, high(2 * k + 1)),
            ]
        })
    }
}

/// Q6_K row · f32 `x`: `Σ d·scale_j·Σ (q - 32)·x` over 16-weight sub-blocks.
/// Each half of a super-block (128 weights) is 64 bytes of `ql` and 32 of
/// `qh`; its quarter `t` (32 weights) takes nibbles from `ql[32·(t % 2)..]`
/// (low for t < 2, high after) and 2 bits from `qh` at shift `2t`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q6_k(row: &[u8], x: &[f32]) -> f32 {
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (mask4, mask2) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi8(0x03));
    for b in 0..row.len() / BlockQ6K::SIZE {
        // SAFETY: b < blocks of `row`; `x` has 256 values per block; the
        // loads stay inside the block's `ql` (64 bytes a half) and `qh` (32)
        unsafe {
            let p = row.as_ptr().add(b * BlockQ6K::SIZE);
            let d = f16_at(p.add(BlockQ6K::D));
            let scales = &*(p.add(BlockQ6K::SCALES) as *const [i8; 16]);
            for half in 0..2 {
                let ql = p.add(BlockQ6K::QL + 64 * half);
                let ql = [0, 32].map(|o| _mm256_loadu_si256(ql.add(o) as *const __m256i));
                let qh = _mm256_loadu_si256(p.add(BlockQ6K::QH + 32 * half) as *const __m256i);
                for t in 0..4 {
                    let low = _mm256_and_si256(
                        _mm256_srl_epi16(ql[t % 2], _mm_cvtsi32_si128(4 * (t as i32 / 2))),
                        mask4,
                    );
                    let high = _mm256_and_si256(
                        _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * t as i32)),
                        mask2,
                    );
                    let q = _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
                    let w = widen::<true>(_mm256_sub_epi8(q, _mm256_set1_epi8(32)));
                    let xs = load32(x.as_ptr().add(b * QK_K + 128 * half + 32 * t));
                    // two 16-weight sub-blocks, two scales
                    let j = 8 * half + 2 * t;
                    let s0 = _mm256_fmadd_ps(w[1], xs[1], _mm256_mul_ps(w[0], xs[0]));
                    let s1 = _mm256_fmadd_ps(w[3], xs[3], _mm256_mul_ps(w[2], xs[2]));
                    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d * scales[j] as f32), s0, acc0);
                    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d * scales[j + 1] as f32), s1, acc1);
                }
            }
        }
    }
    hsum(_mm256_add_ps(acc0, acc1))
}

/// F16 row · f32 `x`: 16 weights a step widened by F16C, the rest one by one.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_f16(row: &[u8], x: &[f32]) -> f32 {
    let n = row.len() / 2;
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (p, xp) = (row.as_ptr(), x.as_ptr());
    let mut i = 0;
    // SAFETY: i + 16 <= n weights, and `x` has n values
    unsafe {
        let wide = |i: usize| _mm256_cvtph_ps(_mm_loadu_si128(p.add(2 * i) as *const __m128i));
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(wide(i), _mm256_loadu_ps(xp.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(wide(i + 8), _mm256_loadu_ps(xp.add(i + 8)), acc1);
            i += 16;
        }
    }
    let mut sum = hsum(_mm256_add_ps(acc0, acc1));
    for (i, &x) in x.iter().enumerate().take(n).skip(i) {
        // SAFETY: i < n
        sum += unsafe { f16_at(p.add(2 * i)) } * x;
    }
    sum
}
