//! The AVX-512 f32-activation kernels of the K-quant mixes: Q4_K, Q5_K,
//! Q6_K, and F16, the file a mix is made from (the mixes' Q5_0 and Q5_1,
//! put where a row is not whole 256-weight super-blocks, are 32-weight
//! blocks and live with Q4_0 in [`avx512`](super::avx512)). The same exact products as the AVX2 ones
//! in [`kquant`](super::kquant), in 16 lanes.
//!
//! Q4_K and Q5_K turn each code straight into its dequantized weight: per
//! sub-block of 32 weights, one multiply-add builds the table
//! `d·scale_j·q - dmin·min_j` for every code `q` in a register, and
//! `vpermps` (16 codes) or `vpermt2ps` (Q5_K's 32) looks each code up, so a
//! weight costs a lookup and the multiply-add with its activation: no
//! integer-to-float convert, no separate sum for the minimum. The table's
//! entries are the weights dequantize-then-dot uses, but for rounding
//! `scale·q - min` once (a fused multiply-add) instead of twice.
//!
//! Q6_K's 64 codes do not fit a table: a half super-block's 128 codes are
//! assembled as bytes (low nibbles, two high bits) in two 64-byte registers,
//! then each 16-weight sub-block is sign-extended, converted, and multiplied
//! by its scale, which is `d·scale_j·(q - 32)`, the dequantized weight itself.
//!
//! Q4_K and Q5_K take 4 rows at a time through the driver in
//! [`avx512`](super::avx512), Q6_K one; it keeps each row's accumulators
//! apart for even and odd super-blocks; F16 keeps four of its own, so that an add
//! never waits for the previous one.
//!
//! Safety, for every kernel: the CPU has AVX-512 F, BW and VL besides AVX2,
//! FMA and F16C (the caller checked [`level`](super::level)), `row` is whole
//! blocks and `x` holds one value per weight (checked by the caller).

use std::arch::x86_64::*;

use super::kquant::{QK_K, scales_mins};
use crate::blocks::q4_k::BlockQ4K;
use crate::blocks::q5_k::BlockQ5K;
use crate::blocks::q6_k::BlockQ6K;

/// `from, from + 1, …, from + 15`: the codes a 16-entry table is built over.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) fn iota16(from: f32) -> __m512 {
    let step = _mm512_setr_ps(
        0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12., 13., 14., 15.,
    );
    _mm512_add_ps(step, _mm512_set1_ps(from))
}

/// The sum of four accumulators' 16 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn hsum4(acc: [__m512; 4]) -> f32 {
    _mm512_reduce_add_ps(_mm512_add_ps(
        _mm512_add_ps(acc[0], acc[1]),
        _mm512_add_ps(acc[2], acc[3]),
    ))
}

/// Q4_K rows · f32 `x`, 4 rows at a time through [`avx512`](super::avx512)'s
/// driver. Byte `l` of the 32 at `qs[32k..]` holds weight `l` of sub-block
/// `2k` (low nibble) and of sub-block `2k + 1` (high).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q4_k(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    let codes = iota16(0.0);
    let block = move |p: *const u8, x: *const f32, acc: &mut [__m512; 2]| {
        // SAFETY: p is a block and x its 256 activations (the caller's
        // promise); k < 4 keeps the 32 bytes inside `qs`
        unsafe {
            let sm = scales_mins::<{ BlockQ4K::D }, { BlockQ4K::SCALES }>(p);
            for k in 0..QK_K / 64 {
                let xp = x.add(64 * k);
                let qs = p.add(BlockQ4K::QS + 32 * k);
                // sub-blocks 2k and 2k + 1: weight = table[code]
                let table = |j: usize| {
                    _mm512_fmadd_ps(codes, _mm512_set1_ps(sm[j]), _mm512_set1_ps(sm[8 + j]))
                };
                let (t_lo, t_hi) = (table(2 * k), table(2 * k + 1));
                let q0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(qs as *const __m128i));
                let q1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(qs.add(16) as *const __m128i));
                // vpermps reads bits 0..4 of each lane: the low nibble
                let w = [
                    _mm512_permutexvar_ps(q0, t_lo),
                    _mm512_permutexvar_ps(q1, t_lo),
                    _mm512_permutexvar_ps(_mm512_srli_epi32(q0, 4), t_hi),
                    _mm512_permutexvar_ps(_mm512_srli_epi32(q1, 4), t_hi),
                ];
                for (i, w) in w.into_iter().enumerate() {
                    acc[i % 2] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xp.add(16 * i)), acc[i % 2]);
                }
            }
        }
    };
    // SAFETY: as the caller promised
    unsafe {
        super::avx512::dot_rows::<{ BlockQ4K::SIZE }, QK_K, true>(rows, row_bytes, x, y, block)
    }
}

/// Q5_K row · f32 `x`: Q4_K's nibbles, plus 16 where bit `j` of `qh[l]` is
/// set for weight `l` of sub-block `j`; the 32 codes are looked up in two
/// 16-entry tables (`vpermt2ps`: bit 4 of the index picks the second). 4
/// rows at a time through [`avx512`](super::avx512)'s driver.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q5_k(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    let (codes_lo, codes_hi) = (iota16(0.0), iota16(16.0));
    let bit4 = _mm512_set1_epi32(0x10);
    let block = move |p: *const u8, x: *const f32, acc: &mut [__m512; 2]| {
        // SAFETY: p is a block and x its 256 activations (the caller's
        // promise); the loads stay inside `qh` (32 bytes) and `qs` (32
        // bytes a k < 4)
        unsafe {
            let sm = scales_mins::<{ BlockQ5K::D }, { BlockQ5K::SCALES }>(p);
            let qh = p.add(BlockQ5K::QH);
            // weights 0..16 and 16..32 of a sub-block: their high bits, bit
            // j moved to bit 4 for sub-block j (shifted right once per j)
            let mut high = [0, 16]
                .map(|o| _mm512_cvtepu8_epi32(_mm_loadu_si128(qh.add(o) as *const __m128i)))
                .map(|h| _mm512_slli_epi32(h, 4));
            for j in 0..8 {
                let xp = x.add(32 * j);
                let qs = p.add(BlockQ5K::QS + 32 * (j / 2));
                let (scale, min) = (_mm512_set1_ps(sm[j]), _mm512_set1_ps(sm[8 + j]));
                let t_lo = _mm512_fmadd_ps(codes_lo, scale, min);
                let t_hi = _mm512_fmadd_ps(codes_hi, scale, min);
                for (h, high) in high.iter_mut().enumerate() {
                    let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(qs.add(16 * h) as *const __m128i));
                    let q = if j % 2 == 0 {
                        q
                    } else {
                        _mm512_srli_epi32(q, 4)
                    };
                    // bit 4 from `high`, bits 0..4 from the nibble (bits
                    // above 4 of the index are not read): bit4 ? high : q
                    let idx = _mm512_ternarylogic_epi32::<0xCA>(bit4, *high, q);
                    let w = _mm512_permutex2var_ps(t_lo, idx, t_hi);
                    acc[h] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xp.add(16 * h)), acc[h]);
                    *high = _mm512_srli_epi32(*high, 1);
                }
            }
        }
    };
    // SAFETY: as the caller promised
    unsafe {
        super::avx512::dot_rows::<{ BlockQ5K::SIZE }, QK_K, true>(rows, row_bytes, x, y, block)
    }
}

/// Q6_K rows · f32 `x`: `Σ d·scale_j·Σ (q - 32)·x` over 16-weight
/// sub-blocks, one row at a time through [`avx512`](super::avx512)'s driver.
/// Quarter `t` of a half super-block (32 weights) takes its low 4 bits from
/// `ql[32·(t % 2)..]` (low nibbles for t < 2, high after) and its top 2 from
/// `qh` at shift `2t`; the 64 bytes of `ql` give quarters 0 and 1 at once
/// (low nibbles) and 2 and 3 (high nibbles).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q6_k(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    let (mask4, mask_top) = (_mm512_set1_epi8(0x0F), _mm512_set1_epi8(0x30));
    // qh's 32 bytes sit in both halves of a register: shifted right by 0
    // for quarter 0 (bytes 0..32), by 2 for quarter 1 (bytes 32..64)
    let shifts = _mm512_setr_epi64(
        0,
        0,
        0,
        0,
        0x0002_0002_0002_0002,
        0x0002_0002_0002_0002,
        0x0002_0002_0002_0002,
        0x0002_0002_0002_0002,
    );
    let block = move |p: *const u8, x: *const f32, acc: &mut [__m512; 2]| {
        // SAFETY: p is a block and x its 256 activations (the caller's
        // promise); the loads stay inside the block's `ql` (64 bytes a
        // half), `qh` (32) and `scales` (16)
        unsafe {
            let d = _mm512_set1_ps(super::kquant::f16_at(p.add(BlockQ6K::D)));
            let sc =
                _mm512_cvtepi8_epi32(_mm_loadu_si128(p.add(BlockQ6K::SCALES) as *const __m128i));
            let mut scales = [0.0f32; 16];
            _mm512_storeu_ps(
                scales.as_mut_ptr(),
                _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc)),
            );
            for half in 0..2 {
                let ql = _mm512_loadu_si512(p.add(BlockQ6K::QL + 64 * half) as *const _);
                let qh = _mm256_loadu_si256(p.add(BlockQ6K::QH + 32 * half) as *const __m256i);
                let qh = _mm512_srlv_epi16(_mm512_broadcast_i64x4(qh), shifts);
                // (A & B) | C: the top bits masked, or-ed onto the nibbles
                let q01 = _mm512_ternarylogic_epi32::<0xEA>(
                    mask_top,
                    _mm512_slli_epi16(qh, 4),
                    _mm512_and_si512(ql, mask4),
                );
                let q23 = _mm512_ternarylogic_epi32::<0xEA>(
                    mask_top,
                    qh,
                    _mm512_and_si512(_mm512_srli_epi16(ql, 4), mask4),
                );
                let thirty_two = _mm512_set1_epi8(32);
                let mut q = [0i8; 128]; // the half's codes, in order, minus 32
                _mm512_storeu_si512(q.as_mut_ptr() as *mut _, _mm512_sub_epi8(q01, thirty_two));
                _mm512_storeu_si512(
                    q.as_mut_ptr().add(64) as *mut _,
                    _mm512_sub_epi8(q23, thirty_two),
                );
                for s in 0..8 {
                    let codes = _mm_loadu_si128(q.as_ptr().add(16 * s) as *const __m128i);
                    let w = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(codes));
                    let w = _mm512_mul_ps(w, _mm512_set1_ps(scales[8 * half + s]));
                    let xs = _mm512_loadu_ps(x.add(128 * half + 16 * s));
                    acc[s % 2] = _mm512_fmadd_ps(w, xs, acc[s % 2]);
                }
            }
        }
    };
    // SAFETY: as the caller promised
    unsafe {
        super::avx512::dot_rows::<{ BlockQ6K::SIZE }, QK_K, false>(rows, row_bytes, x, y, block)
    }
}

/// F16 row · f32 `x`: 16 weights a register, converted by `vcvtph2ps`; the
/// last under 16 read through a mask.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_f16(row: &[u8], x: &[f32]) -> f32 {
    let n = row.len() / 2;
    let (p, xp) = (row.as_ptr() as *const u16, x.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY: every read is of weights and activations below n, the masked
    // ones included (masked-off lanes are not read)
    unsafe {
        let wide = |i: usize| _mm512_cvtph_ps(_mm256_loadu_si256(p.add(i) as *const __m256i));
        while i + 64 <= n {
            for (a, acc) in acc.iter_mut().enumerate() {
                let o = i + 16 * a;
                *acc = _mm512_fmadd_ps(wide(o), _mm512_loadu_ps(xp.add(o)), *acc);
            }
            i += 64;
        }
        while i + 16 <= n {
            acc[0] = _mm512_fmadd_ps(wide(i), _mm512_loadu_ps(xp.add(i)), acc[0]);
            i += 16;
        }
        if i < n {
            let mask: __mmask16 = (1 << (n - i)) - 1;
            let w = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p.add(i) as *const i16));
            acc[1] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(mask, xp.add(i)), acc[1]);
        }
    }
    hsum4(acc)
}
