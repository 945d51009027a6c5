//! The engine's AVX-512 kernels: the same exact products as the AVX2 ones in
//! [`f32act`](super::f32act) — f32 activations, nothing rounded but the
//! weights — in 16 lanes, so one block of 32 weights is two registers.
//!
//! The AVX2 Q4 kernels spend most of their instructions widening nibbles to
//! f32 (mask, shift, zero-extend in four groups of 8, convert). Here a block's
//! 16 bytes are zero-extended to 16 i32 lanes once, and `vpermps` turns a
//! lane's low 4 bits straight into the weight they stand for: the block's
//! 16 possible weights, `d·q + m` for Q4_1 and `d·(q - 8)` for Q4_0, are
//! made first in one register (one multiply-add of the codes `0..16`, a
//! table), so a weight costs a lookup and a multiply-add; shifting the lanes
//! right by 4 gives the high nibbles. Even and odd blocks add into separate
//! accumulators, so that no multiply-add waits for the previous block's.
//!
//! Q5_0 and Q5_1 look their 5-bit codes up the same way, in constant
//! tables (`q - 16`, or `q`), and scale a block's sum as Q8_0 does (Q5_1
//! adds `m·Σx` into the second accumulator).
//!
//! Every kernel here takes 4 rows at a time (the dispatch table's
//! `Dot::Rows`): a load of `x` serves 4 rows, and one reduction sums their
//! 4 accumulators where one row's reduction would take as many shuffles;
//! the 1 to 3 rows a matrix ends with run the same code for 1 row. The
//! K-quants' super-block kernels ([`kquant512`](super::kquant512)) go
//! through the same driver; for them the gain is small (Q4_K, a few per
//! cent) or none (Q5_K), and Q6_K, whose cost is assembling its codes,
//! takes its rows one at a time (4 at a time were 3 % slower).
//!
//! The lookups, the zero- and sign-extensions and the broadcasts of a
//! block's scale all need the same port: each shuffle saved is time. So a
//! block's f16 scales are converted straight from memory, and Q4_1's `m` is
//! broadcast by one permute (these two changes and the table made Q4_1 a
//! fifth faster than widening the codes and adding `m·Σx` apart).
//!
//! Safety, for every kernel: the CPU has AVX-512 F, BW and VL besides AVX2,
//! FMA and F16C (the caller checked [`level`](super::level)), `row` is whole
//! blocks and `x` holds one value per weight (checked by the caller).

use std::arch::x86_64::*;

use super::super::QK;
use super::kquant512::iota16;
use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q5_0::BlockQ5_0;
use crate::blocks::q5_1::BlockQ5_1;
use crate::blocks::q8_0::BlockQ8_0;

/// Sum of the 16 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn hsum16(v: __m512) -> f32 {
    _mm512_reduce_add_ps(v)
}

/// A block's f16 `[d, m]` at `p` as f32 lanes 0 and 1, converted straight
/// from memory (8 bytes: the pair and what follows it inside the block).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn pair(p: *const u8) -> __m128 {
    _mm_cvtph_ps(unsafe { _mm_loadl_epi64(p as *const __m128i) })
}

/// The 4 sums of `v[0..4]`'s lanes, in one reduction: halves, then
/// quarters of two registers at a time, then the 4 lanes of each quarter.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn hsum4(v: [__m512; 4]) -> [f32; 4] {
    // [a.q0 + a.q2, a.q1 + a.q3, b.q0 + b.q2, b.q1 + b.q3] (qN: 4-lane quarters)
    let halves = |a, b| {
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0b01_00_01_00>(a, b),
            _mm512_shuffle_f32x4::<0b11_10_11_10>(a, b),
        )
    };
    let (s01, s23) = (halves(v[0], v[1]), halves(v[2], v[3]));
    // quarter i: 4 lanes that sum to v[i]'s sum
    let s = _mm512_add_ps(
        _mm512_shuffle_f32x4::<0b10_00_10_00>(s01, s23),
        _mm512_shuffle_f32x4::<0b11_01_11_01>(s01, s23),
    );
    let s = _mm512_add_ps(s, _mm512_permute_ps::<0b01_00_11_10>(s)); // lanes 0, 1 += 2, 3
    let s = _mm512_add_ps(s, _mm512_permute_ps::<0b10_11_00_01>(s)); // lane 0 += 1
    let mut lanes = [0.0f32; 16];
    // SAFETY: 16 f32
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), s) };
    [lanes[0], lanes[4], lanes[8], lanes[12]]
}

/// A block's products with its activations at `x` (one a weight), added
/// into a row's two accumulators: what each type's kernel supplies. The
/// rows' blocks read the same `x`, and once inlined for the rows of a call
/// they share each load of it.
pub(super) trait Block: Fn(*const u8, *const f32, &mut [__m512; 2]) {}
impl<F: Fn(*const u8, *const f32, &mut [__m512; 2])> Block for F {}

/// A 32-weight block's activations: weights 0..16 and 16..32.
///
/// # Safety
/// `x` holds 32 values.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn halves(x: *const f32) -> (__m512, __m512) {
    // SAFETY: the caller's promise
    unsafe { (_mm512_loadu_ps(x), _mm512_loadu_ps(x.add(16))) }
}

/// `Σ_b Σ w·x` over `blocks` blocks of `SIZE` bytes (`WEIGHTS` weights) from each of the `N`
/// rows at `rows`, `stride` bytes apart, as 16 lanes a row, `block` doing
/// each block's products. The rows share each load of `x`; even and odd
/// blocks go to separate accumulators, so that no multiply-add waits for
/// the previous block's; each block of the rows `N` further on is
/// prefetched (a fifth faster on a matrix that is not in cache, the output
/// head, and no slower on one that is).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn dot_blocks<const SIZE: usize, const WEIGHTS: usize, const N: usize>(
    rows: [*const u8; N],
    blocks: usize,
    x: &[f32],
    block: impl Block,
    stride: usize,
) -> [__m512; N] {
    // [even, odd] blocks, per row: [weights 0..16, 16..32]
    let mut acc = [[[_mm512_setzero_ps(); 2]; N]; 2];
    // block b of every row, added into acc
    let column = |b: usize, acc: &mut [[__m512; 2]; N]| {
        // SAFETY: b < blocks of every row; `x` has `WEIGHTS` values per block
        unsafe {
            let xp = x.as_ptr().add(b * WEIGHTS);
            for (row, acc) in rows.iter().zip(acc) {
                let p = row.add(b * SIZE);
                // the same block of the rows N further on: four rows interleave
                // their streams, which the hardware prefetcher follows worse
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(N * stride) as *const i8);
                block(p, xp, acc);
            }
        }
    };
    for b in (0..blocks).step_by(2) {
        let [even, odd] = &mut acc;
        column(b, even);
        if b + 1 < blocks {
            column(b + 1, odd);
        }
    }
    std::array::from_fn(|i| {
        let ([e0, e1], [o0, o1]) = (acc[0][i], acc[1][i]);
        _mm512_add_ps(_mm512_add_ps(e0, e1), _mm512_add_ps(o0, o1))
    })
}

/// [`dot_blocks`] over the `y.len()` rows of `row_bytes` bytes in `rows`:
/// with `FOUR` 4 rows at a time, then the 1 to 3 left one by one; without,
/// all one by one (Q6_K, whose block is long enough to keep the core busy
/// and which measured 3 % slower 4 rows at a time).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) unsafe fn dot_rows<const SIZE: usize, const WEIGHTS: usize, const FOUR: bool>(
    rows: &[u8],
    row_bytes: usize,
    x: &[f32],
    y: &mut [f32],
    block: impl Block + Copy,
) {
    debug_assert_eq!(rows.len(), y.len() * row_bytes);
    let blocks = row_bytes / SIZE;
    let row = |r: usize| rows[r * row_bytes..].as_ptr();
    let done = if FOUR { y.len() / 4 * 4 } else { 0 };
    let (quads, rest) = y.split_at_mut(done);
    for (q, y) in quads.chunks_exact_mut(4).enumerate() {
        // SAFETY: rows 4q..4q + 4 are `blocks` blocks each, as the caller promised
        let sums = unsafe {
            dot_blocks::<SIZE, WEIGHTS, 4>(
                std::array::from_fn(|i| row(4 * q + i)),
                blocks,
                x,
                block,
                row_bytes,
            )
        };
        y.copy_from_slice(&hsum4(sums));
    }
    for (r, y_r) in (done..).zip(rest) {
        // SAFETY: as above, for row r
        let [sum] =
            unsafe { dot_blocks::<SIZE, WEIGHTS, 1>([row(r)], blocks, x, block, row_bytes) };
        *y_r = hsum16(sum);
    }
}

/// A 4-bit block's products (f16 `d` at `D`, 16 bytes of nibbles at `QS`):
/// the block's 16 weights are made at once, `d·table + m` (one
/// multiply-add), and nibble `q` looks its weight up. With `MIN` the block
/// also has an f16 `m` right after `d` (Q4_1); without, `m` is 0 (Q4_0,
/// whose table is centred).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn nibbles<const D: usize, const QS: usize, const MIN: bool>(
    table: __m512,
) -> impl Block + Copy {
    move |p: *const u8, x: *const f32, acc: &mut [__m512; 2]| {
        // SAFETY: p is a block and x its activations (the callers' promise)
        unsafe {
            let (x0, x1) = halves(x);
            let dm = pair(p.add(D));
            let d = _mm512_broadcastss_ps(dm);
            let t = if MIN {
                let m = _mm512_permutexvar_ps(_mm512_set1_epi32(1), _mm512_castps128_ps512(dm));
                _mm512_fmadd_ps(table, d, m)
            } else {
                _mm512_mul_ps(table, d)
            };
            // byte j holds weight j (low nibble) and weight j + 16 (high)
            let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(p.add(QS) as *const __m128i));
            let w_lo = _mm512_permutexvar_ps(q, t); // uses bits 0..4 of each lane
            let w_hi = _mm512_permutexvar_ps(_mm512_srli_epi32(q, 4), t);
            acc[0] = _mm512_fmadd_ps(w_lo, x0, acc[0]);
            acc[1] = _mm512_fmadd_ps(w_hi, x1, acc[1]);
        }
    }
}

// ANCHOR: matvec_f32_avx512
/// Q4_1 rows · f32 `x`: `Σ_b Σ (d·q + m)·x`, each nibble looked up in the
/// block's table of its 16 weights.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q4_1(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    let table = _mm512_setr_ps(
        0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12., 13., 14., 15.,
    );
    const _: () = assert!(BlockQ4_1::M == BlockQ4_1::D + 2); // `pair` reads [d, m]
    // SAFETY: as the caller promised
    unsafe {
        let block = nibbles::<{ BlockQ4_1::D }, { BlockQ4_1::QS }, true>(table);
        dot_rows::<{ BlockQ4_1::SIZE }, QK, true>(rows, row_bytes, x, y, block)
    }
}
// ANCHOR_END: matvec_f32_avx512

/// Q4_0 rows · f32 `x`: `Σ_b Σ d·(q - 8)·x`, each nibble looked up in the
/// block's table of its 16 weights.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q4_0(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    let table = _mm512_setr_ps(
        -8., -7., -6., -5., -4., -3., -2., -1., 0., 1., 2., 3., 4., 5., 6., 7.,
    );
    // SAFETY: as the caller promised
    unsafe {
        let block = nibbles::<{ BlockQ4_0::D }, { BlockQ4_0::QS }, false>(table);
        dot_rows::<{ BlockQ4_0::SIZE }, QK, true>(rows, row_bytes, x, y, block)
    }
}

/// Q8_0 rows · f32 `x`: `Σ_b d·Σ q·x`, each half block sign-extended to 16
/// i32 lanes and converted.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q8_0(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    let block = |p: *const u8, x: *const f32, acc: &mut [__m512; 2]| {
        // SAFETY: p is a block and x its activations (the caller's promise)
        unsafe {
            let (x0, x1) = halves(x);
            let wide = |h: usize| {
                let q = _mm_loadu_si128(p.add(BlockQ8_0::QS + 16 * h) as *const __m128i);
                _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)) // 16 × i8 → 16 × f32
            };
            let qx = _mm512_fmadd_ps(wide(1), x1, _mm512_mul_ps(wide(0), x0));
            let d = _mm512_broadcastss_ps(pair(p.add(BlockQ8_0::D)));
            acc[0] = _mm512_fmadd_ps(d, qx, acc[0]);
        }
    };
    // SAFETY: as the caller promised
    unsafe { dot_rows::<{ BlockQ8_0::SIZE }, QK, true>(rows, row_bytes, x, y, block) }
}

/// A 5-bit block's products (`SIZE` bytes, f16 `d` at `D`, 32 fifth bits at
/// `QH`, 16 bytes of nibbles at `QS`), `q` = nibble | fifth bit standing for
/// `t_lo[q]` (q < 16) or `t_hi[q - 16]`. With `MIN` the block also has an
/// f16 `m` at `D + 2` (Q5_1), whose `m·Σx` goes to the second accumulator.
/// The 32-bit `qh` is broadcast to every lane and rotated so that lane
/// `l`'s bit (weight `l`, or `l + 16`) lands on bit 4 of the index, which
/// `vpermt2ps` reads to choose the table.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn fifth_bits<const D: usize, const QH: usize, const QS: usize, const MIN: bool>(
    t_lo: __m512,
    t_hi: __m512,
) -> impl Block + Copy {
    let bit4 = _mm512_set1_epi32(0x10);
    // rotating right by l - 4 (mod 32) moves bit l to bit 4
    let rot_lo = _mm512_setr_epi32(28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    let rot_hi = _mm512_add_epi32(rot_lo, _mm512_set1_epi32(16));
    move |p: *const u8, x: *const f32, acc: &mut [__m512; 2]| {
        // SAFETY: p is a block and x its activations (the callers' promise)
        unsafe {
            let (x0, x1) = halves(x);
            let qh = _mm512_set1_epi32((p.add(QH) as *const i32).read_unaligned());
            // byte l holds weight l (low nibble) and weight l + 16 (high)
            let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(p.add(QS) as *const __m128i));
            let code = |nibble, rot| {
                let high = _mm512_rorv_epi32(qh, rot);
                let idx = _mm512_ternarylogic_epi32::<0xCA>(bit4, high, nibble); // bit4 ? high : nibble
                _mm512_permutex2var_ps(t_lo, idx, t_hi)
            };
            let w_lo = code(q, rot_lo);
            let w_hi = code(_mm512_srli_epi32(q, 4), rot_hi);
            let qx = _mm512_fmadd_ps(w_hi, x1, _mm512_mul_ps(w_lo, x0));
            let dm = pair(p.add(D)); // [d, m] (m only with MIN)
            acc[0] = _mm512_fmadd_ps(_mm512_broadcastss_ps(dm), qx, acc[0]);
            if MIN {
                let m = _mm512_broadcastss_ps(_mm_movehdup_ps(dm));
                acc[1] = _mm512_fmadd_ps(m, _mm512_add_ps(x0, x1), acc[1]);
            }
        }
    }
}

/// Q5_0 rows · f32 `x`: `Σ_b d·Σ (q - 16)·x`, the centred codes looked up in
/// `-16..0` and `0..16`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q5_0(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    use BlockQ5_0 as B;
    let block = fifth_bits::<{ B::D }, { B::QH }, { B::QS }, false>(iota16(-16.0), iota16(0.0));
    // SAFETY: as the caller promised
    unsafe { dot_rows::<{ B::SIZE }, QK, true>(rows, row_bytes, x, y, block) }
}

/// Q5_1 rows · f32 `x`: `Σ_b d·Σ q·x + m·Σ x`, the codes looked up in
/// `0..16` and `16..32`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn dot_q5_1(rows: &[u8], row_bytes: usize, x: &[f32], y: &mut [f32]) {
    use BlockQ5_1 as B;
    const _: () = assert!(B::M == B::D + 2); // `pair` reads [d, m]
    let block = fifth_bits::<{ B::D }, { B::QH }, { B::QS }, true>(iota16(0.0), iota16(16.0));
    // SAFETY: as the caller promised
    unsafe { dot_rows::<{ B::SIZE }, QK, true>(rows, row_bytes, x, y, block) }
}
