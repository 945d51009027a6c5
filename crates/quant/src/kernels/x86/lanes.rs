//! The kernels written as lane loops ([`lanes`](super::super::lanes)),
//! compiled for AVX2 + FMA and for AVX-512: the same Rust, inlined into
//! functions that may use those instructions, so that its 16-lane loops
//! become 2 `ymm` or 1 `zmm` register per step.

use super::super::activation::{Gate, gated};
use super::super::attention::{Inputs, unit};

/// The fused attention's job.
///
/// # Safety
/// The CPU has AVX2 and FMA; `inputs.out` as [`unit`] requires.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn unit_avx2(inputs: &Inputs<'_>, head: usize, i: usize, scores: &mut Vec<f32>) {
    unsafe { unit::<true>(inputs, head, i, scores) }
}

/// The fused attention's job.
///
/// # Safety
/// The CPU has AVX-512 F; `inputs.out` as [`unit`] requires.
#[target_feature(enable = "avx512f,avx2,fma")]
pub unsafe fn unit_avx512(inputs: &Inputs<'_>, head: usize, i: usize, scores: &mut Vec<f32>) {
    unsafe { unit::<true>(inputs, head, i, scores) }
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
