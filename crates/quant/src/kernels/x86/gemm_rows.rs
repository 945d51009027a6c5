//! The few-rows micro-kernels of [`gemm`](super::super::gemm): a batched
//! decode step multiplies each matrix by 2 to 8 activation rows, too few to
//! fill a register along the rows as [`micro_avx512`](super::gemm::micro_avx512)
//! does. Here the lanes run along `k` instead: per 16 (AVX2: 8) values of
//! `k`, each of the tile's `NW` decoded weight rows is loaded once and
//! multiplied into each of the `N` activation rows, `NW × N` registers of
//! partial sums, one per (weight row, activation row), that
//! [`gemm`](super::super::gemm) adds up lane by lane after the tile's last
//! panel. A weight costs its decoding and `N` lanes of FMAs, where `N`
//! calls of a row kernel would decode it `N` times.
//!
//! `xs` holds the `N` rows' values of the panel's `kc` weights, row after
//! row (`[N][kc]`); `sums` the partial sums, `[NW][N][lanes]`.
//!
//! Safety, for all: the CPU has what the function's `target_feature` names
//! (the caller checked [`level`](super::level)).

use std::arch::x86_64::*;

use super::super::gemm::{KC, NW_MAX, Sums};

/// Lanes of the AVX-512 and AVX2 kernels' partial sums.
pub const AVX512_LANES: usize = 16;
pub const AVX2_LANES: usize = 8;

/// `NW` weight rows × `N` activation rows, 16 values of `k` a register:
/// `NW·N` sums, `NW` weights and an activation fit in the 32 registers.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn rows_avx512<const N: usize, const NW: usize>(
    panel: &[f32],
    xs: &[f32],
    kc: usize,
    sums: &mut Sums,
) {
    const L: usize = AVX512_LANES;
    assert!(NW <= NW_MAX && NW * N * L <= sums.len());
    assert!(kc <= KC && panel.len() >= NW * KC && xs.len() >= N * kc);
    let (p, x, s) = (panel.as_ptr(), xs.as_ptr(), sums.as_mut_ptr());
    let mut acc = [[_mm512_setzero_ps(); N]; NW];
    // SAFETY: the loads start at `k < kc` of a panel row (KC long) or of an
    // activation row (`kc` long) and read past its end only under a mask,
    // which does not touch the masked-out memory; (j·N + i + 1)·L ≤ sums.len()
    unsafe {
        for (j, a) in acc.iter_mut().enumerate() {
            for (i, a) in a.iter_mut().enumerate() {
                *a = _mm512_loadu_ps(s.add((j * N + i) * L));
            }
        }
        for k in (0..kc).step_by(L) {
            let mask: __mmask16 = if kc - k >= L { !0 } else { (1 << (kc - k)) - 1 };
            let w: [__m512; NW] =
                std::array::from_fn(|j| _mm512_maskz_loadu_ps(mask, p.add(j * KC + k)));
            for i in 0..N {
                let x_i = _mm512_maskz_loadu_ps(mask, x.add(i * kc + k));
                for (a, &w) in acc.iter_mut().zip(&w) {
                    a[i] = _mm512_fmadd_ps(w, x_i, a[i]);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            for (i, &a) in a.iter().enumerate() {
                _mm512_storeu_ps(s.add((j * N + i) * L), a);
            }
        }
    }
}

/// [`rows_avx512`] in 8 lanes and 16 registers.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn rows_avx2<const N: usize, const NW: usize>(
    panel: &[f32],
    xs: &[f32],
    kc: usize,
    sums: &mut Sums,
) {
    const L: usize = AVX2_LANES;
    assert!(NW <= NW_MAX && NW * N * L <= sums.len());
    assert!(kc <= KC && panel.len() >= NW * KC && xs.len() >= N * kc);
    let (p, x, s) = (panel.as_ptr(), xs.as_ptr(), sums.as_mut_ptr());
    let mut acc = [[_mm256_setzero_ps(); N]; NW];
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // SAFETY: as in `rows_avx512`; the last, partial group of `k` is read
    // with `maskload`, which does not touch the masked-out memory
    unsafe {
        for (j, a) in acc.iter_mut().enumerate() {
            for (i, a) in a.iter_mut().enumerate() {
                *a = _mm256_loadu_ps(s.add((j * N + i) * L));
            }
        }
        let full = kc / L * L;
        for k in (0..full).step_by(L) {
            let w: [__m256; NW] = std::array::from_fn(|j| _mm256_loadu_ps(p.add(j * KC + k)));
            for i in 0..N {
                let x_i = _mm256_loadu_ps(x.add(i * kc + k));
                for (a, &w) in acc.iter_mut().zip(&w) {
                    a[i] = _mm256_fmadd_ps(w, x_i, a[i]);
                }
            }
        }
        if full < kc {
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((kc - full) as i32), lane);
            let w: [__m256; NW] =
                std::array::from_fn(|j| _mm256_maskload_ps(p.add(j * KC + full), mask));
            for i in 0..N {
                let x_i = _mm256_maskload_ps(x.add(i * kc + full), mask);
                for (a, &w) in acc.iter_mut().zip(&w) {
                    a[i] = _mm256_fmadd_ps(w, x_i, a[i]);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            for (i, &a) in a.iter().enumerate() {
                _mm256_storeu_ps(s.add((j * N + i) * L), a);
            }
        }
    }
}

/// The first `count` partial sums of 16 lanes in `sums` (`[count][16]`)
/// added up into `sums[..count]`, in place.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub unsafe fn finish_avx512(sums: &mut Sums, count: usize) {
    assert!(count * AVX512_LANES <= sums.len());
    for c in 0..count {
        // SAFETY: c·16 + 16 ≤ sums.len(); `sums[c]` lies in a partial sum
        // already read (c ≤ c·16)
        let v = unsafe { _mm512_loadu_ps(sums.as_ptr().add(c * AVX512_LANES)) };
        sums[c] = _mm512_reduce_add_ps(v);
    }
}

/// [`finish_avx512`] for partial sums of 8 lanes.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn finish_avx2(sums: &mut Sums, count: usize) {
    assert!(count * AVX2_LANES <= sums.len());
    for c in 0..count {
        // SAFETY: as in `finish_avx512`
        let v = unsafe { _mm256_loadu_ps(sums.as_ptr().add(c * AVX2_LANES)) };
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        sums[c] = _mm_cvtss_f32(s);
    }
}
