//! The SIMD micro-kernels of [`gemm`](super::super::gemm): `sums += panel ·
//! xs` for a tile of weight rows and a group of activation rows, the sums
//! held in registers over the whole panel.
//!
//! Per `k`, the group's activations are loaded once (one or two registers)
//! and each weight row's value is broadcast and multiplied into them, one
//! FMA per register: a loaded activation serves every weight row of the
//! tile, a broadcast weight every activation row of the group.
//!
//! The panels of the commonest types are decoded here too, 16 values a
//! register (AVX2: 8, for Q4_0, Q4_1 and Q8_0; the K-quant mixes' Q5_0,
//! Q4_K and Q6_K with AVX-512 only; the others through
//! [`dequantize_into`](crate::blocks::dequantize_into)).
//!
//! Safety, for all: the CPU has what the function's `target_feature` names
//! (the caller checked [`level`](super::level)); a decoder's `row` is whole
//! blocks.

use std::arch::x86_64::*;

use super::super::gemm::{KC, MX_MAX, NW_MAX, Sums};
use super::kquant512::iota16;
use super::{f16_pair, unpack_nibbles};
use crate::blocks::kquant::get_scale_min_k4;
use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q4_k::BlockQ4K;
use crate::blocks::q5_0::BlockQ5_0;
use crate::blocks::q6_k::BlockQ6K;
use crate::blocks::q8_0::BlockQ8_0;

/// Weight rows and activation rows of [`micro_avx512`]: 24 registers of sums.
pub const AVX512_NW: usize = 12;
pub const AVX512_MX: usize = 32;

/// [`micro_avx2`]'s: 12 registers of sums.
pub const AVX2_NW: usize = 6;
pub const AVX2_MX: usize = 16;

/// 12 weight rows × 32 activation rows, as 2 registers of 16 per weight row.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn micro_avx512(panel: &[f32], xs: &[f32], kc: usize, sums: &mut Sums) {
    const NW: usize = AVX512_NW;
    const _: () = assert!(NW <= NW_MAX && AVX512_MX == 32 && AVX512_MX <= MX_MAX);
    assert!(kc <= KC && panel.len() >= NW * KC && xs.len() >= kc * 32);
    let (p, x) = (panel.as_ptr(), xs.as_ptr());
    let mut acc = [[_mm512_setzero_ps(); 2]; NW];
    // SAFETY: k < kc ≤ KC, so `p + j·KC + k` lies in `panel` (NW rows of KC)
    // and `x + 32·k + 16` starts 16 floats inside `xs`
    unsafe {
        for (a, s) in acc.iter_mut().zip(sums.chunks_exact(32)) {
            *a = [
                _mm512_loadu_ps(s.as_ptr()),
                _mm512_loadu_ps(s.as_ptr().add(16)),
            ];
        }
        for k in 0..kc {
            let x0 = _mm512_loadu_ps(x.add(32 * k));
            let x1 = _mm512_loadu_ps(x.add(32 * k + 16));
            for (j, a) in acc.iter_mut().enumerate() {
                let w = _mm512_set1_ps(*p.add(j * KC + k));
                a[0] = _mm512_fmadd_ps(w, x0, a[0]);
                a[1] = _mm512_fmadd_ps(w, x1, a[1]);
            }
        }
        for (a, s) in acc.iter().zip(sums.chunks_exact_mut(32)) {
            _mm512_storeu_ps(s.as_mut_ptr(), a[0]);
            _mm512_storeu_ps(s.as_mut_ptr().add(16), a[1]);
        }
    }
}

/// 6 weight rows × 16 activation rows, as 2 registers of 8 per weight row.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn micro_avx2(panel: &[f32], xs: &[f32], kc: usize, sums: &mut Sums) {
    const NW: usize = AVX2_NW;
    const _: () = assert!(NW <= NW_MAX && AVX2_MX == 16 && AVX2_MX <= MX_MAX);
    assert!(kc <= KC && panel.len() >= NW * KC && xs.len() >= kc * 16);
    let (p, x) = (panel.as_ptr(), xs.as_ptr());
    let mut acc = [[_mm256_setzero_ps(); 2]; NW];
    // SAFETY: k < kc ≤ KC, so `p + j·KC + k` lies in `panel` (NW rows of KC)
    // and `x + 16·k + 8` starts 8 floats inside `xs`
    unsafe {
        for (a, s) in acc.iter_mut().zip(sums.chunks_exact(16)) {
            *a = [
                _mm256_loadu_ps(s.as_ptr()),
                _mm256_loadu_ps(s.as_ptr().add(8)),
            ];
        }
        for k in 0..kc {
            let x0 = _mm256_loadu_ps(x.add(16 * k));
            let x1 = _mm256_loadu_ps(x.add(16 * k + 8));
            for (j, a) in acc.iter_mut().enumerate() {
                let w = _mm256_set1_ps(*p.add(j * KC + k));
                a[0] = _mm256_fmadd_ps(w, x0, a[0]);
                a[1] = _mm256_fmadd_ps(w, x1, a[1]);
            }
        }
        for (a, s) in acc.iter().zip(sums.chunks_exact_mut(16)) {
            _mm256_storeu_ps(s.as_mut_ptr(), a[0]);
            _mm256_storeu_ps(s.as_mut_ptr().add(8), a[1]);
        }
    }
}

/// `decode(block, its 32 values)` for each block of `SIZE` bytes of `row`:
/// the loop of every decoder below (inlined into each, with its features).
#[inline(always)]
fn each_block<const SIZE: usize>(
    row: &[u8],
    out: &mut [f32],
    decode: impl FnMut(*const u8, *mut f32),
) {
    each_block_of::<SIZE, 32>(row, out, decode)
}

/// [`each_block`] for blocks of `QK` values (a K-quant's 256).
#[inline(always)]
fn each_block_of<const SIZE: usize, const QK: usize>(
    row: &[u8],
    out: &mut [f32],
    mut decode: impl FnMut(*const u8, *mut f32),
) {
    assert!(out.len() >= row.len() / SIZE * QK);
    for (b, o) in row.chunks_exact(SIZE).zip(out.chunks_exact_mut(QK)) {
        decode(b.as_ptr(), o.as_mut_ptr());
    }
}

/// A row of 4-bit blocks (`SIZE` bytes, f16 `d` at `D`, nibbles at `QS`,
/// with `MIN` an f16 `m` right after `d`) decoded into `out` as
/// [`blocks`](crate::blocks) decodes it, `table[q]·d (+ m)`: a multiply and
/// an add, each rounded, as there, so the values are the same bits. The 16
/// values a block can hold are computed once and looked up by code.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn decode_nibbles<const SIZE: usize, const D: usize, const QS: usize, const MIN: bool>(
    row: &[u8],
    out: &mut [f32],
    table: __m512,
) {
    each_block::<SIZE>(row, out, |p, o| {
        // SAFETY: `p` is one block, `o` 32 values
        unsafe {
            let dm = f16_pair(p.add(D));
            // the block's 16 possible values, each rounded as `blocks` rounds
            // it; then each code looks its value up
            let mut values = _mm512_mul_ps(table, _mm512_broadcastss_ps(dm));
            if MIN {
                values = _mm512_add_ps(values, _mm512_broadcastss_ps(_mm_movehdup_ps(dm)));
            }
            let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(p.add(QS) as *const __m128i));
            let lo = _mm512_permutexvar_ps(q, values);
            let hi = _mm512_permutexvar_ps(_mm512_srli_epi32(q, 4), values);
            _mm512_storeu_ps(o, lo);
            _mm512_storeu_ps(o.add(16), hi);
        }
    })
}

/// A Q4_1 row decoded: `q·d + m`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn decode_q4_1(row: &[u8], out: &mut [f32]) {
    let table = _mm512_setr_ps(
        0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12., 13., 14., 15.,
    );
    // SAFETY: as the caller promised
    unsafe {
        decode_nibbles::<{ BlockQ4_1::SIZE }, { BlockQ4_1::D }, { BlockQ4_1::QS }, true>(
            row, out, table,
        )
    }
}

/// A Q4_0 row decoded: `(q - 8)·d`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn decode_q4_0(row: &[u8], out: &mut [f32]) {
    let table = _mm512_setr_ps(
        -8., -7., -6., -5., -4., -3., -2., -1., 0., 1., 2., 3., 4., 5., 6., 7.,
    );
    // SAFETY: as the caller promised
    unsafe {
        decode_nibbles::<{ BlockQ4_0::SIZE }, { BlockQ4_0::D }, { BlockQ4_0::QS }, false>(
            row, out, table,
        )
    }
}

/// A Q8_0 row decoded: `q·d`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn decode_q8_0(row: &[u8], out: &mut [f32]) {
    each_block::<{ BlockQ8_0::SIZE }>(row, out, |p, o| {
        // SAFETY: `p` is one block, `o` 32 values
        unsafe {
            let d = _mm512_broadcastss_ps(f16_pair(p.add(BlockQ8_0::D)));
            for h in 0..2 {
                let q = _mm_loadu_si128(p.add(BlockQ8_0::QS + 16 * h) as *const __m128i);
                let w = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q));
                _mm512_storeu_ps(o.add(16 * h), _mm512_mul_ps(w, d));
            }
        }
    })
}

/// A Q5_0 row decoded: `(q - 16)·d`, `q` a nibble of `qs` and a bit of
/// `qh`. The 32 values a block can hold are two 16-entry tables, each
/// rounded as [`blocks`](crate::blocks) rounds it; `vpermt2ps` looks a code
/// up in both, bit 4 choosing the table.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn decode_q5_0(row: &[u8], out: &mut [f32]) {
    let (below, above) = (iota16(-16.0), iota16(0.0));
    each_block::<{ BlockQ5_0::SIZE }>(row, out, |p, o| {
        // SAFETY: `p` is one block, `o` 32 values
        unsafe {
            let d = _mm512_broadcastss_ps(f16_pair(p.add(BlockQ5_0::D)));
            let (below, above) = (_mm512_mul_ps(below, d), _mm512_mul_ps(above, d));
            let qh = (p.add(BlockQ5_0::QH) as *const u32).read_unaligned();
            let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(p.add(BlockQ5_0::QS) as *const __m128i));
            let sixteen = _mm512_set1_epi32(16);
            // weights 0..16: low nibbles, bit 4 from qh's bits 0..16
            let lo = _mm512_and_si512(q, _mm512_set1_epi32(0xF));
            let lo = _mm512_mask_or_epi32(lo, qh as u16, lo, sixteen);
            // weights 16..32: high nibbles, qh's bits 16..32
            let hi = _mm512_srli_epi32(q, 4);
            let hi = _mm512_mask_or_epi32(hi, (qh >> 16) as u16, hi, sixteen);
            _mm512_storeu_ps(o, _mm512_permutex2var_ps(below, lo, above));
            _mm512_storeu_ps(o.add(16), _mm512_permutex2var_ps(below, hi, above));
        }
    })
}

/// 16 bytes at `p`, each `(byte >> shift) & mask`, as 16 i32 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn bits16(p: *const u8, shift: i32, mask: i32) -> __m512i {
    // SAFETY: the caller's `p` has 16 bytes
    let bytes = _mm512_cvtepu8_epi32(unsafe { _mm_loadu_si128(p as *const __m128i) });
    let shifted = _mm512_srl_epi32(bytes, _mm_cvtsi32_si128(shift));
    _mm512_and_si512(shifted, _mm512_set1_epi32(mask))
}

/// The f16 at `p`, as f32.
#[inline]
unsafe fn f16_at(p: *const u8) -> f32 {
    // SAFETY: the caller's `p` has 2 bytes
    half::f16::from_le_bytes(unsafe { [*p, *p.add(1)] }).to_f32()
}

/// A Q6_K row decoded: `(d·scale)·(q - 32)` per 16-weight sub-block, `q`
/// four bits of `ql` and two of `qh` (where, see `BlockQ6K::position`);
/// `d·scale` is rounded first, as [`blocks`](crate::blocks) rounds it.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn decode_q6_k(row: &[u8], out: &mut [f32]) {
    each_block_of::<{ BlockQ6K::SIZE }, 256>(row, out, |p, o| {
        // SAFETY: `p` is one super-block, `o` 256 values
        unsafe {
            let d = f16_at(p.add(BlockQ6K::D));
            let scales = p.add(BlockQ6K::SCALES) as *const i8;
            for half in 0..2 {
                for quarter in 0..4 {
                    for l0 in [0, 16] {
                        let ql = p.add(BlockQ6K::QL + half * 64 + quarter % 2 * 32 + l0);
                        let low = bits16(ql, 4 * (quarter / 2) as i32, 0xF);
                        let qh = p.add(BlockQ6K::QH + half * 32 + l0);
                        let high = _mm512_slli_epi32(bits16(qh, 2 * quarter as i32, 3), 4);
                        let q = _mm512_sub_epi32(_mm512_or_si512(low, high), _mm512_set1_epi32(32));
                        let i = half * 128 + quarter * 32 + l0;
                        let scale = _mm512_set1_ps(d * *scales.add(i / 16) as f32);
                        _mm512_storeu_ps(o.add(i), _mm512_mul_ps(_mm512_cvtepi32_ps(q), scale));
                    }
                }
            }
        }
    })
}

/// A Q4_K row decoded: `(d·scale)·q - dmin·min` per 32-weight sub-block,
/// each product rounded and then subtracted, as [`blocks`](crate::blocks)
/// does (no fused multiply-add).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn decode_q4_k(row: &[u8], out: &mut [f32]) {
    each_block_of::<{ BlockQ4K::SIZE }, 256>(row, out, |p, o| {
        // SAFETY: `p` is one super-block, `o` 256 values
        unsafe {
            let (d, dmin) = (f16_at(p.add(BlockQ4K::D)), f16_at(p.add(BlockQ4K::DMIN)));
            let scales = &*(p.add(BlockQ4K::SCALES) as *const [u8; 12]);
            for j in 0..8 {
                let (sc, m) = get_scale_min_k4(j, scales);
                let (dl, ml) = (
                    _mm512_set1_ps(d * sc as f32),
                    _mm512_set1_ps(dmin * m as f32),
                );
                for l0 in [0, 16] {
                    let q = bits16(
                        p.add(BlockQ4K::QS + j / 2 * 32 + l0),
                        4 * (j % 2) as i32,
                        0xF,
                    );
                    let w = _mm512_sub_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(q), dl), ml);
                    _mm512_storeu_ps(o.add(32 * j + l0), w);
                }
            }
        }
    })
}

/// [`decode_nibbles`] in AVX2, 8 values a register: `(q - BIAS)·d (+ m)`,
/// the code converted to f32 and then multiplied and added, each rounded
/// as [`blocks`](crate::blocks) rounds it.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn decode_nibbles_avx2<
    const SIZE: usize,
    const D: usize,
    const QS: usize,
    const MIN: bool,
    const BIAS: i32,
>(
    row: &[u8],
    out: &mut [f32],
) {
    each_block::<SIZE>(row, out, |p, o| {
        // SAFETY: `p` is one block, `o` 32 values
        unsafe {
            let dm = f16_pair(p.add(D));
            let d = _mm256_broadcastss_ps(dm);
            let m = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));
            let q = unpack_nibbles(p.add(QS)); // weights 0..16, then 16..32
            let halves = [_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)];
            for (g, half) in halves.into_iter().enumerate() {
                for (h, bytes) in [half, _mm_srli_si128(half, 8)].into_iter().enumerate() {
                    let q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), _mm256_set1_epi32(BIAS));
                    let mut w = _mm256_mul_ps(_mm256_cvtepi32_ps(q), d);
                    if MIN {
                        w = _mm256_add_ps(w, m);
                    }
                    _mm256_storeu_ps(o.add(16 * g + 8 * h), w);
                }
            }
        }
    })
}

/// A Q4_1 row decoded in AVX2: `q·d + m`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn decode_q4_1_avx2(row: &[u8], out: &mut [f32]) {
    // SAFETY: as the caller promised
    unsafe {
        decode_nibbles_avx2::<{ BlockQ4_1::SIZE }, { BlockQ4_1::D }, { BlockQ4_1::QS }, true, 0>(
            row, out,
        )
    }
}

/// A Q4_0 row decoded in AVX2: `(q - 8)·d`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn decode_q4_0_avx2(row: &[u8], out: &mut [f32]) {
    // SAFETY: as the caller promised
    unsafe {
        decode_nibbles_avx2::<{ BlockQ4_0::SIZE }, { BlockQ4_0::D }, { BlockQ4_0::QS }, false, 8>(
            row, out,
        )
    }
}

/// A Q8_0 row decoded in AVX2: `q·d`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn decode_q8_0_avx2(row: &[u8], out: &mut [f32]) {
    each_block::<{ BlockQ8_0::SIZE }>(row, out, |p, o| {
        // SAFETY: `p` is one block, `o` 32 values
        unsafe {
            let d = _mm256_broadcastss_ps(f16_pair(p.add(BlockQ8_0::D)));
            for g in 0..4 {
                let q = _mm_loadl_epi64(p.add(BlockQ8_0::QS + 8 * g) as *const __m128i);
                let w = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
                _mm256_storeu_ps(o.add(8 * g), _mm256_mul_ps(w, d));
            }
        }
    })
}
