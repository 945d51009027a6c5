//! The AVX2 f32-activation kernels for what a K-quant mix puts in a file:
//! Q4_K, Q5_K and Q6_K, the 32-weight Q5_0 and Q5_1 that a mix falls back to
//! where a row is not whole 256-weight super-blocks (SmolLM2's 576, Gemma 3's
//! 640), and F16, the file a mix is made from. As in `f32act`, each weight is widened to f32 in registers
//! and multiplied by the f32 activation; nothing but the weights is rounded.
//!
//! A super-block's 6-bit or 8-bit scales are unpacked once, into an array
//! of f32 (`d·scale_j`, and `-dmin·min_j` for Q4_K and Q5_K), so that a
//! sub-block's scale is a broadcast. Q4_K and Q5_K then dequantize each
//! weight in registers with one multiply-add (`q·scale + min`, the code
//! converted from an i32 lane) and multiply it in: no separate sum of `x`
//! for the minimums, no byte shuffles. Q6_K sums `q·x` per 16-weight
//! sub-block and multiplies each sum by its scale; its codes are assembled
//! as bytes and sign-extended from memory, 8 at a time.
//!
//! Safety, for every kernel: the CPU has AVX2, FMA and F16C (the caller
//! checked [`level`](super::level)), `row` is whole blocks and `x` holds one
//! value per weight (checked by the caller).

use std::arch::x86_64::*;

use super::super::QK;
use super::f32act::dot_scaled;
use super::{f16_pair, hsum, unpack_nibbles};
use crate::blocks::q4_k::BlockQ4K;
use crate::blocks::q5_0::BlockQ5_0;
use crate::blocks::q5_1::BlockQ5_1;
use crate::blocks::q5_k::BlockQ5K;
use crate::blocks::q6_k::BlockQ6K;

/// Weights per K-quant super-block.
pub(super) const QK_K: usize = 256;

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
pub(super) unsafe fn f16_at(p: *const u8) -> f32 {
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

/// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit minimums into 12
/// bytes; [`get_scale_min_k4`](crate::blocks::kquant::get_scale_min_k4)
/// reads one pair, this all of them at once, with ggml's masks on three
/// little-endian u32: scales 0..8, then minimums 0..8, one a byte.
#[inline]
pub(super) fn unpack_scales_mins(q: &[u8; 12]) -> [u8; 16] {
    let w = |i: usize| u32::from_le_bytes([q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3]]);
    let (w0, w1, w2) = (w(0), w(1), w(2));
    let (low6, low4, top2) = (0x3f3f_3f3f, 0x0f0f_0f0f, 0x0303_0303);
    let scales_hi = (w2 & low4) | (((w0 >> 6) & top2) << 4);
    let mins_hi = ((w2 >> 4) & low4) | (((w1 >> 6) & top2) << 4);
    let mut out = [0; 16];
    for (o, word) in out
        .chunks_exact_mut(4)
        .zip([w0 & low6, scales_hi, w1 & low6, mins_hi])
    {
        o.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// A Q4_K/Q5_K super-block's eight scales times `d` (0..8) and eight
/// minimums times `-dmin` (8..16): weight `q` of sub-block `j` is
/// `q·s[j] + s[8 + j]`. Once per super-block, so that a sub-block's scale
/// and minimum are a broadcast each.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn scales_mins<const D: usize, const SCALES: usize>(p: *const u8) -> [f32; 16] {
    // SAFETY: the caller gives a block, with its f16 pair at D and 12
    // bytes of scales at SCALES
    let (packed, dd) = unsafe { (&*(p.add(SCALES) as *const [u8; 12]), f16_pair(p.add(D))) };
    let bytes = unpack_scales_mins(packed);
    let d = _mm256_broadcastss_ps(dd);
    let neg_dmin = _mm256_sub_ps(
        _mm256_setzero_ps(),
        _mm256_broadcastss_ps(_mm_movehdup_ps(dd)),
    );
    let mut out = [0.0; 16];
    for (h, mul) in [d, neg_dmin].into_iter().enumerate() {
        // SAFETY: 8 bytes of `bytes` and 8 f32 of `out` from 8h
        unsafe {
            let q = _mm_loadl_epi64(bytes.as_ptr().add(8 * h) as *const __m128i);
            let v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q)), mul);
            _mm256_storeu_ps(out.as_mut_ptr().add(8 * h), v);
        }
    }
    out
}

/// Q4_K and Q5_K: `Σ_j Σ (d·scale_j·q - dmin·min_j)·x` over the 8
/// sub-blocks of each super-block, each weight dequantized in registers by
/// one multiply-add (the reference rounds the product and the difference
/// apart; this once). Byte `l` of the 32 at `qs[32k..]` (`QS`) holds the
/// low 4 bits of weight `l` of sub-block `2k` (low nibble) and of `2k + 1`
/// (high); with `FIFTH` (Q5_K), bit `j` of `qh[l]` (`QH`) is the fifth bit
/// of weight `l` of sub-block `j`, moved to bit 4 by shifting a running copy
/// of `qh` right once a sub-block (no variable shifts).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_k4<
    const SIZE: usize,
    const D: usize,
    const SCALES: usize,
    const QS: usize,
    const QH: usize,
    const FIFTH: bool,
>(
    row: &[u8],
    x: &[f32],
) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 4];
    let sixteen = _mm256_set1_epi32(0x10);
    for b in 0..row.len() / SIZE {
        // SAFETY: b < blocks of `row`; `x` has 256 values per block; the
        // loads stay inside `qs` (32 bytes a k < 4) and `qh` (32 bytes)
        unsafe {
            let p = row.as_ptr().add(b * SIZE);
            let sm = scales_mins::<D, SCALES>(p);
            // weights 8g..8g + 8 of every sub-block: bit j of qh at bit 4 + j
            let mut high = [0, 1, 2, 3].map(|g| {
                if FIFTH {
                    let qh = _mm_loadl_epi64(p.add(QH + 8 * g) as *const __m128i);
                    _mm256_slli_epi32(_mm256_cvtepu8_epi32(qh), 4)
                } else {
                    _mm256_setzero_si256()
                }
            });
            for k in 0..QK_K / 64 {
                let xp = x.as_ptr().add(b * QK_K + 64 * k);
                let (j0, j1) = (2 * k, 2 * k + 1);
                let (s0, m0) = (_mm256_set1_ps(sm[j0]), _mm256_set1_ps(sm[8 + j0]));
                let (s1, m1) = (_mm256_set1_ps(sm[j1]), _mm256_set1_ps(sm[8 + j1]));
                for (g, (acc, high)) in acc.iter_mut().zip(&mut high).enumerate() {
                    let [mut lo, mut hi] = nibbles8(p.add(QS + 32 * k + 8 * g));
                    if FIFTH {
                        lo = _mm256_or_si256(lo, _mm256_and_si256(*high, sixteen));
                        hi = _mm256_or_si256(
                            hi,
                            _mm256_and_si256(_mm256_srli_epi32(*high, 1), sixteen),
                        );
                        *high = _mm256_srli_epi32(*high, 2);
                    }
                    let w0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo), s0, m0);
                    let w1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi), s1, m1);
                    *acc = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xp.add(8 * g)), *acc);
                    *acc = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xp.add(32 + 8 * g)), *acc);
                }
            }
        }
    }
    hsum(_mm256_add_ps(
        _mm256_add_ps(acc[0], acc[1]),
        _mm256_add_ps(acc[2], acc[3]),
    ))
}

/// The 8 bytes at `p` as i32 lanes: their low nibbles, and their high.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles8(p: *const u8) -> [__m256i; 2] {
    // SAFETY: the caller gives 8 readable bytes
    let bytes = _mm256_cvtepu8_epi32(unsafe { _mm_loadl_epi64(p as *const __m128i) });
    [
        _mm256_and_si256(bytes, _mm256_set1_epi32(0x0F)),
        _mm256_srli_epi32(bytes, 4),
    ]
}

/// Q4_K row · f32 `x`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_k(row: &[u8], x: &[f32]) -> f32 {
    use BlockQ4K as B;
    // SAFETY: as the caller promised
    unsafe { dot_k4::<{ B::SIZE }, { B::D }, { B::SCALES }, { B::QS }, 0, false>(row, x) }
}

/// Q5_K row · f32 `x`: Q4_K's nibbles, plus 16 where bit `j` of `qh[l]` is
/// set for weight `l` of sub-block `j`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q5_k(row: &[u8], x: &[f32]) -> f32 {
    use BlockQ5K as B;
    // SAFETY: as the caller promised
    unsafe { dot_k4::<{ B::SIZE }, { B::D }, { B::SCALES }, { B::QS }, { B::QH }, true>(row, x) }
}

/// Q6_K row · f32 `x`: `Σ d·scale_j·Σ (q - 32)·x` over 16-weight sub-blocks.
/// Each half of a super-block (128 weights) is 64 bytes of `ql` and 32 of
/// `qh`; its quarter `t` (32 weights) takes nibbles from `ql[32·(t % 2)..]`
/// (low for t < 2, high after) and 2 bits from `qh` at shift `2t`. The 16
/// scales times `d` are made f32 once per super-block; a quarter's codes
/// are assembled as bytes and stored, then sign-extended from memory, 8 at
/// a time (no shuffles to move bytes down a register).
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q6_k(row: &[u8], x: &[f32]) -> f32 {
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (mask4, mask2) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi8(0x03));
    for b in 0..row.len() / BlockQ6K::SIZE {
        // SAFETY: b < blocks of `row`; `x` has 256 values per block; the
        // loads stay inside the block's `ql` (64 bytes a half), `qh` (32)
        // and `scales` (16)
        unsafe {
            let p = row.as_ptr().add(b * BlockQ6K::SIZE);
            let d = _mm256_set1_ps(f16_at(p.add(BlockQ6K::D)));
            let mut scales = [0.0f32; 16];
            for h in 0..2 {
                let sc = _mm_loadl_epi64(p.add(BlockQ6K::SCALES + 8 * h) as *const __m128i);
                let sc = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc));
                _mm256_storeu_ps(scales.as_mut_ptr().add(8 * h), _mm256_mul_ps(d, sc));
            }
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
                    let mut codes = [0i8; 32];
                    let q = _mm256_sub_epi8(q, _mm256_set1_epi8(32)); // -32..32
                    _mm256_storeu_si256(codes.as_mut_ptr() as *mut __m256i, q);
                    let w = [0, 8, 16, 24].map(|o| {
                        let q = _mm_loadl_epi64(codes.as_ptr().add(o) as *const __m128i);
                        _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))
                    });
                    let xs = load32(x.as_ptr().add(b * QK_K + 128 * half + 32 * t));
                    // two 16-weight sub-blocks, two scales
                    let j = 8 * half + 2 * t;
                    let s0 = _mm256_fmadd_ps(w[1], xs[1], _mm256_mul_ps(w[0], xs[0]));
                    let s1 = _mm256_fmadd_ps(w[3], xs[3], _mm256_mul_ps(w[2], xs[2]));
                    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scales[j]), s0, acc0);
                    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(scales[j + 1]), s1, acc1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::kquant::get_scale_min_k4;

    /// The all-at-once unpacking reads the pairs the one-pair reader does,
    /// on every bit pattern of a byte in every position.
    #[test]
    fn unpacked_scales_and_mins_are_get_scale_min_k4s() {
        for v in 0..=255u8 {
            for at in 0..12 {
                let mut q = [0x5a ^ v.rotate_left(at as u32); 12];
                q[at] = v;
                let out = unpack_scales_mins(&q);
                for j in 0..8 {
                    assert_eq!((out[j], out[8 + j]), get_scale_min_k4(j, &q), "{q:?} {j}");
                }
            }
        }
    }
}
