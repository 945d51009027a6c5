//! The kernels written as lane loops ([`lanes`](super::super::lanes)),
//! compiled for AVX2 + FMA and for AVX-512: the same Rust, inlined into
//! functions that may use those instructions, so that its 16-lane loops
//! become 2 `ymm` or 1 `zmm` register per step.

use super::super::SharedOut;
use super::super::activation::{Gate, gated};
use super::super::attention::{AttentionShape, unit};

/// The fused attention's job.
///
/// # Safety
/// The CPU has AVX2 and FMA; `out` as [`unit`] requires.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn unit_avx2(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &SharedOut,
    shape: &AttentionShape,
    head: usize,
    i: usize,
    scores: &mut Vec<f32>,
) {
    unsafe { unit::<true>(q, k, v, out, shape, head, i, scores) }
}

/// The fused attention's job.
///
/// # Safety
/// The CPU has AVX-512 F; `out` as [`unit`] requires.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma")]
pub unsafe fn unit_avx512(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &SharedOut,
    shape: &AttentionShape,
    head: usize,
    i: usize,
    scores: &mut Vec<f32>,
) {
    unsafe { unit::<true>(q, k, v, out, shape, head, i, scores) }
}

/// The gated activation.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gated_avx2(gate: &mut [f32], up: &[f32], act: Gate) {
    unsafe { gated::<true>(gate, up, act) }
}

/// The gated activation.
///
/// # Safety
/// The CPU has AVX-512 F.
#[target_feature(enable = "avx512f,avx2,fma")]
pub unsafe fn gated_avx512(gate: &mut [f32], up: &[f32], act: Gate) {
    unsafe { gated::<true>(gate, up, act) }
}
