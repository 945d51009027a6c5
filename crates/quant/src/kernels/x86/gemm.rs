//! The SIMD micro-kernels of [`gemm`](super::super::gemm): `sums += panel ·
//! xs` for a tile of weight rows and a group of activation rows, the sums
//! held in registers over the whole panel.
//!
//! Per `k`, the group's activations are loaded once (one or two registers)
//! and each weight row's value is broadcast and multiplied into them, one
//! FMA per register: a loaded activation serves every weight row of the
//! tile, a broadcast weight every activation row of the group.
//!
//! Safety, for both: the CPU has what the function's `target_feature` names
//! (the caller checked [`level`](super::level)).

use std::arch::x86_64::*;

use super::super::gemm::{KC, MX_MAX, NW_MAX, Sums};

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
        for (a, s) in acc.iter_mut().zip(sums.iter()) {
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
        for (a, s) in acc.iter().zip(sums.iter_mut()) {
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
        for (a, s) in acc.iter_mut().zip(sums.iter()) {
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
        for (a, s) in acc.iter().zip(sums.iter_mut()) {
            _mm256_storeu_ps(s.as_mut_ptr(), a[0]);
            _mm256_storeu_ps(s.as_mut_ptr().add(8), a[1]);
        }
    }
}
