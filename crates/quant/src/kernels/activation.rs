//! The gated MLP's middle step, fused: `gate[i] = act(gate[i]) · up[i]` in
//! one pass, for SwiGLU (`act` = SiLU) and GeGLU (GELU, tanh form).
//!
//! As tensor operations GELU alone is five passes over `[seq, ffn_dim]`,
//! each allocating its result, with `powf` for the cube and the library's
//! `tanhf` one value at a time: 14% of Gemma 3's prompt time. Both
//! activations are a sigmoid in disguise, `silu(x) = x·σ(x)` and
//! `½x(1 + tanh y) = x·σ(2y)`, so one branch-free `exp` on SIMD lanes
//! serves both: `act(x) = x / (1 + e^(−z))`, with `z = x` or `z = 2y`.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::lanes::{L, exp};
use super::{Kernels, SharedOut, pool::Pool};

/// Which activation gates the `up` projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// SwiGLU (Llama, Qwen, Phi): `silu(x) = x·σ(x)`.
    Silu,
    /// GeGLU (Gemma): `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    GeluTanh,
}

// ANCHOR: gated_ref
/// The plain twin of one value: the textbook formulas, in f64.
pub fn gated_ref(gate: f32, up: f32, act: Gate) -> f32 {
    let x = gate as f64;
    let a = match act {
        Gate::Silu => x / (1.0 + (-x).exp()),
        Gate::GeluTanh => {
            let y = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
            0.5 * x * (1.0 + y.tanh())
        }
    };
    (a * up as f64) as f32
}
// ANCHOR_END: gated_ref

/// Below this many values one thread does it all (a decode step's few
/// thousand): waking the pool would cost more than it saves.
const PARALLEL_FROM: usize = 1 << 15;

/// `gate[i] = act(gate[i]) · up[i]` for every `i`, within a few `f32`
/// roundings of [`gated_ref`].
pub fn gated_f32(gate: &mut [f32], up: &[f32], act: Gate, kernels: Kernels) {
    assert_eq!(gate.len(), up.len(), "gate and up");
    let run = pick(kernels);
    if gate.len() < PARALLEL_FROM {
        // SAFETY: `pick` chose what this CPU runs
        return unsafe { run(gate, up, act) };
    }
    // chunks of whole lanes, about four per thread (as the row kernels),
    // taken from a counter
    let pool = Pool::global();
    let (n, chunk) = (
        gate.len(),
        gate.len().div_ceil(4 * pool.threads()).next_multiple_of(L),
    );
    let out = SharedOut(gate.as_mut_ptr());
    let next = AtomicUsize::new(0);
    let work = |_thread: usize| loop {
        let first = next.fetch_add(1, Ordering::Relaxed) * chunk;
        if first >= n {
            break;
        }
        let (len, out) = (chunk.min(n - first), &out);
        // SAFETY: each chunk is taken once, so no two threads share a value
        let g = unsafe { std::slice::from_raw_parts_mut(out.0.add(first), len) };
        // SAFETY: as above
        unsafe { run(g, &up[first..first + len], act) };
    };
    if !pool.run(&work) {
        (0..rayon::current_num_threads())
            .into_par_iter()
            .for_each(work);
    }
}

/// What one thread runs over its share.
type Run = unsafe fn(&mut [f32], &[f32], Gate);

/// The code for the instruction sets `kernels` allows on this CPU.
fn pick(kernels: Kernels) -> Run {
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Level, lanes, level};
        match level(kernels) {
            Level::None => {}
            Level::Avx2 => return lanes::gated_avx2,
            Level::Avx512 | Level::Vnni => return lanes::gated_avx512,
        }
    }
    let _ = kernels;
    gated::<false>
}

/// The loop, compiled once per instruction set (see [`super::lanes`]).
///
/// # Safety
/// None of its own: `unsafe` only to share a type with the wrappers that
/// enable instruction sets.
#[inline(always)]
pub(super) unsafe fn gated<const FMA: bool>(gate: &mut [f32], up: &[f32], act: Gate) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let z = |x: f32| match act {
        Gate::Silu => x,
        // 2·√(2/π)·(x + 0.044715x³)
        Gate::GeluTanh => 2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x),
    };
    let one = |g: &mut f32, u: f32| *g = *g / (1.0 + exp::<FMA>(-z(*g))) * u;
    let (mut gs, mut us) = (gate.chunks_exact_mut(L), up.chunks_exact(L));
    for (g, u) in (&mut gs).zip(&mut us) {
        for l in 0..L {
            one(&mut g[l], u[l]);
        }
    }
    for (g, &u) in gs.into_remainder().iter_mut().zip(us.remainder()) {
        one(g, u);
    }
}

#[cfg(test)]
mod tests {
    use super::super::rng_vec;
    use super::*;

    /// Both activations, every kernel choice, a length no lane count divides
    /// and one long enough for the threads, inputs across [−12, 12] (where
    /// GELU's tail and SiLU's are both reached): within 4e-7 of `|x·up|` of
    /// the f64 twin (measured 1.9e-7: a few roundings, and an exp within an
    /// epsilon). Measured against `|x·up|`, not the result: for x ≪ 0 the
    /// result is a tiny `x·e^z` whose exponent `z` carries the f32 rounding
    /// of the cube, a relative error of |z|·2⁻²⁴ the plain path has too.
    #[test]
    fn fused_gates_equal_their_plain_twin() {
        for n in [37, PARALLEL_FROM + 77] {
            let x = rng_vec(7, n, 12.0);
            let up = rng_vec(8, n, 1.0);
            for act in [Gate::Silu, Gate::GeluTanh] {
                for kernels in Kernels::ALL {
                    let mut got = x.clone();
                    gated_f32(&mut got, &up, act, kernels);
                    let worst = (0..n)
                        .map(|i| {
                            let want = gated_ref(x[i], up[i], act);
                            (got[i] - want).abs() / (x[i] * up[i]).abs()
                        })
                        .fold(0f32, f32::max);
                    assert!(worst < 4e-7, "{act:?} {kernels} n={n}: {worst}");
                }
            }
        }
    }
}
