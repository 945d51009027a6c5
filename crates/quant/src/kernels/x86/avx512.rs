//! The engine's AVX-512 kernels: the same exact products as the AVX2 ones in
//! [`f32act`](super::f32act) — f32 activations, nothing rounded but the
//! weights — in 16 lanes, so one block of 32 weights is two registers.
//!
//! The AVX2 Q4 kernels spend most of their instructions widening nibbles to
//! f32 (mask, shift, zero-extend in four groups of 8, convert). Here a block's
//! 16 bytes are zero-extended to 16 i32 lanes once, and `vpermps` turns a
//! lane's low 4 bits straight into the f32 they stand for (a 16-entry table
//! in a register: `0..16` for Q4_1, `-8..8` for Q4_0); shifting the lanes
//! right by 4 gives the high nibbles. No convert, no mask.
//!
//! Safety, for every kernel: the CPU has AVX-512 F, BW and VL besides AVX2,
//! FMA and F16C (the caller checked [`level`](super::level)), `row` is whole
//! blocks and `x` holds 32 values per block (checked by the caller).

use std::arch::x86_64::*;

use super::super::QK;
use super::f16_pair;
use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q8_0::BlockQ8_0;

/// Sum of the 16 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn hsum16(v: __m512) -> f32 {
    _mm512_reduce_add_ps(v)
}

/// A block's f16 scale at `p` (lane 0 of [`f16_pair`]) in all 16 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn scale16(p: *const u8) -> __m512 {
    _mm512_broadcastss_ps(unsafe { f16_pair(p) })
}

/// `Σ_b d_b·Σ w·x + m_b·Σ x` over a row of 4-bit blocks (`SIZE` bytes, f16
/// `d` at `D`, 16 bytes of nibbles at `QS`): nibble `q` stands for
/// `table[q]`. With `MIN` the block also has an f16 `m` right after `d`
/// (Q4_1); without, `m` is 0 (Q4_0, whose table is centred).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn dot_nibbles<const SIZE: usize, const D: usize, const QS: usize, const MIN: bool>(
    row: &[u8],
    x: &[f32],
    table: __m512,
) -> f32 {
    let (mut acc, mut acc_m) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    for b in 0..row.len() / SIZE {
        // SAFETY: b < blocks of `row`; `x` has 32 values per block
        unsafe {
            let p = row.as_ptr().add(b * SIZE);
            let xp = x.as_ptr().add(b * QK);
            // byte j holds weight j (low nibble) and weight j + 16 (high)
            let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(p.add(QS) as *const __m128i));
            let w_lo = _mm512_permutexvar_ps(q, table); // uses bits 0..4 of each lane
            let w_hi = _mm512_permutexvar_ps(_mm512_srli_epi32(q, 4), table);
            let (x0, x1) = (_mm512_loadu_ps(xp), _mm512_loadu_ps(xp.add(16)));
            let qx = _mm512_fmadd_ps(w_hi, x1, _mm512_mul_ps(w_lo, x0));
            acc = _mm512_fmadd_ps(scale16(p.add(D)), qx, acc);
            if MIN {
                let m = _mm512_broadcastss_ps(_mm_movehdup_ps(f16_pair(p.add(D))));
                acc_m = _mm512_fmadd_ps(m, _mm512_add_ps(x0, x1), acc_m);
            }
        }
    }
    hsum16(_mm512_add_ps(acc, acc_m))
}

// ANCHOR: matvec_f32_avx512
/// Q4_1 row · f32 `x`: `Σ_b d·Σ q·x + m·Σ x`, nibbles looked up as f32.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q4_1(row: &[u8], x: &[f32]) -> f32 {
    let table = _mm512_setr_ps(
        0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12., 13., 14., 15.,
    );
    const _: () = assert!(BlockQ4_1::M == BlockQ4_1::D + 2); // f16_pair reads [d, m]
    // SAFETY: as the caller promised
    unsafe {
        dot_nibbles::<{ BlockQ4_1::SIZE }, { BlockQ4_1::D }, { BlockQ4_1::QS }, true>(row, x, table)
    }
}
// ANCHOR_END: matvec_f32_avx512

/// Q4_0 row · f32 `x`: `Σ_b d·Σ (q - 8)·x`, the centred codes looked up as f32.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q4_0(row: &[u8], x: &[f32]) -> f32 {
    let table = _mm512_setr_ps(
        -8., -7., -6., -5., -4., -3., -2., -1., 0., 1., 2., 3., 4., 5., 6., 7.,
    );
    // SAFETY: as the caller promised
    unsafe {
        dot_nibbles::<{ BlockQ4_0::SIZE }, { BlockQ4_0::D }, { BlockQ4_0::QS }, false>(
            row, x, table,
        )
    }
}

/// Q8_0 row · f32 `x`: `Σ_b d·Σ q·x`, each half block sign-extended to 16
/// i32 lanes and converted.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q8_0(row: &[u8], x: &[f32]) -> f32 {
    let mut acc = _mm512_setzero_ps();
    for b in 0..row.len() / BlockQ8_0::SIZE {
        // SAFETY: b < blocks of `row`; `x` has 32 values per block
        unsafe {
            let p = row.as_ptr().add(b * BlockQ8_0::SIZE);
            let xp = x.as_ptr().add(b * QK);
            let wide = |h: usize| {
                let q = _mm_loadu_si128(p.add(BlockQ8_0::QS + 16 * h) as *const __m128i);
                _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)) // 16 × i8 → 16 × f32
            };
            let qx = _mm512_mul_ps(wide(0), _mm512_loadu_ps(xp));
            let qx = _mm512_fmadd_ps(wide(1), _mm512_loadu_ps(xp.add(16)), qx);
            acc = _mm512_fmadd_ps(scale16(p.add(BlockQ8_0::D)), qx, acc);
        }
    }
    hsum16(acc)
}
