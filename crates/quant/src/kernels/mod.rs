//! The fast `y = W·x`: f32 activations times quantized blocks, SIMD chosen
//! at run time, rows over threads.
//!
//! [`matvec_ref`](crate::matvec_ref) is the readable version: it decodes each
//! weight to f32 and multiplies it with an f32 activation. Generating one token
//! runs every weight of the model through such a product once, so decode speed
//! is set by how fast the weight bytes stream from memory and how little work
//! each byte costs. The engine's path ([`matvec_f32_threaded`], used by the
//! model's `QuantWeight`):
//!
//! 1. **Exact activations × blocks** (`f32act`): each block's weights are
//!    widened to f32 inside SIMD registers and multiplied by the f32
//!    activation; nothing is rounded but the weights themselves.
//! 2. **SIMD, chosen at run time** (`is_x86_feature_detected!`, in `x86`):
//!    AVX-512 (F, BW, VL: 16 lanes) kernels where the CPU has them, else AVX2
//!    (+FMA, F16C), else the portable ones. Every type of the usual K-quant
//!    mixes has both (Q5_0 and Q5_1 too, which they put where rows are not
//!    whole 256-weight super-blocks): on AVX-512, Q4_K and Q5_K look each
//!    4- or 5-bit code up in a register table of its sub-block's
//!    dequantized weights (`vpermps`), so a weight costs a lookup and a
//!    multiply-add, as Q4_1's and Q4_0's do (a block's table of its 16
//!    weights is one multiply-add). Blocks alternate between accumulators,
//!    so that one block's multiply-add does not wait for the previous one,
//!    and the AVX-512 Q4_1, Q4_0 and Q8_0 kernels take 4 rows at a time:
//!    each load of the activation serves 4 rows, and their 4 sums are one
//!    reduction.
//!    [`Kernels`] caps the choice per call, to compare them. Nothing uses
//!    AMX, which some CPUs report but cannot execute.
//! 3. **Rows over threads.** Output rows are independent: the threads of a
//!    persistent decode pool (`pool.rs`, spinning between products instead
//!    of sleeping) take chunks of them until none is left; the matrices that
//!    multiply the same activation (Q, K, V; gate, up) share one such call
//!    ([`matvec_f32_many`]).
//! 4. **Prompts as a tiled GEMM** (`gemm`, [`gemm_f32_many`]): many
//!    activation rows at once (a prompt) would decode every block once per
//!    row; instead a tile of weight rows is decoded once per call into an
//!    f32 panel that stays in L1, and an FMA micro-kernel multiplies it into
//!    every row, the same exact activations, the tiles over the same threads.
//!    A batched decode step (2 to 8 rows, one per sequence) takes the same
//!    tiles with a micro-kernel whose lanes run along `k`, where the types
//!    whose panels decode in SIMD make it pay ([`gemm_pays`]).
//! 5. **A prompt's attention, fused** (`attention`, [`attention_f32`]):
//!    scores, softmax and the weighted sum of values in one pass per query,
//!    over only the keys it sees, `exp` on SIMD lanes; the plain twin
//!    [`attention_ref`] is the three tensor operations' arithmetic in f64.
//! 6. **The gated activation, fused** (`activation`, [`gated_f32`]):
//!    `act(gate)·up` in one pass, SiLU and GELU both as `x·σ(z)` on the
//!    same SIMD `exp` (`lanes.rs`, shared with the attention).
//!
//! ggml's own scheme quantizes the activation too, to 8 bits, and does the
//! block dot products in integers (`q8act`: [`Q8Activation`], [`matvec_q8`],
//! with AVX2 and AVX-512 VNNI kernels). It is kept for the book's comparison
//! (chapter 11), chapter 12's exercise and the benches; **the engine does not
//! use it**: with 8-bit activations SmolLM2 answers "What is the capital of
//! France?" with "L'Étoile, la Marseillaise" (as llama.cpp does on the same
//! file); with f32 ones, "The capital of France is Paris."
//!
//! Where things are: `f32act.rs` and `q8act.rs` hold each scheme's entry point
//! and its dispatch table (one line per type and instruction set);
//! `gemm.rs` the prompts' tiled product (its micro-kernels in `x86/gemm.rs`);
//! `attention.rs` and `activation.rs` the fused attention and gated
//! activation, `lanes.rs` the lane arithmetic they share;
//! `pool.rs` the decode threads; `scalar.rs` the portable 8-bit kernels
//! (the portable f32 ones are [`matvec`](mod@crate::matvec)'s readable
//! dots); `x86/` the intrinsics (`f32act`, `kquant`: AVX2; `avx512`,
//! `kquant512`: AVX-512; `q8act`: ggml's scheme).
//! A new kernel is one function under `x86/` and one line in a dispatch table.
//! Every kernel takes a block's layout (field offsets, decoding) from
//! [`blocks`](crate::blocks), where each format is defined once.

mod activation;
mod attention;
mod f32act;
mod gemm;
mod lanes;
mod pool;
mod q8act;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::QuantError;

pub use activation::{Gate, gated_f32, gated_ref};
pub use attention::{AttentionShape, attention_f32, attention_ref};
pub use f32act::{
    MatvecF32, f32_kernel_flags, f32_kernel_name, has_fast_kernel, matvec_f32_many,
    matvec_f32_threaded,
};
pub use gemm::{ROWS_MAX, gemm_f32_many, gemm_pays};
pub use q8act::{Q8Activation, matvec_q8};

/// Weights per block of every type here.
const QK: usize = 32;

/// Which kernels may run. The default is the fastest this CPU has; the others
/// cap the choice, to compare kernels or to rule the SIMD ones out. It is an
/// argument of every call (the model keeps it with its weights), so a test or
/// a server chooses per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// The fastest this CPU runs: AVX-512, then AVX2, then scalar.
    #[default]
    Best,
    /// At most AVX-512 (F, BW, VL; VNNI for ggml's 8-bit kernels): the same
    /// as `Best` today, named so a test can ask for it and learn whether it ran.
    Avx512,
    /// At most AVX2 (+FMA, F16C): no AVX-512 kernel is used.
    Avx2,
    /// The portable scalar kernels only.
    Scalar,
}

impl Kernels {
    /// Every choice, as [`FromStr`] spells it.
    pub const ALL: [Kernels; 4] = [
        Kernels::Best,
        Kernels::Avx512,
        Kernels::Avx2,
        Kernels::Scalar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernels::Best => "best",
            Kernels::Avx512 => "avx512",
            Kernels::Avx2 => "avx2",
            Kernels::Scalar => "scalar",
        }
    }
}

impl fmt::Display for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernels {
    type Err = QuantError;

    /// `best`, `avx512`, `avx2` or `scalar`; anything else is an error naming them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kernels::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| QuantError::UnknownKernels {
                name: s.to_string(),
            })
    }
}

/// One matrix of a [`par_rows_many`] call: `y[r]` = row `r` · the
/// activation, for the rows of `row_bytes` bytes in `weights` (shapes
/// checked by the caller); `dot(rows, y)` fills the outputs `y` of a run of
/// whole rows, so that a kernel may take several rows at once.
pub(crate) struct Rows<'a, D> {
    pub weights: &'a [u8],
    pub row_bytes: usize,
    pub y: &'a mut [f32],
    pub dot: D,
}

/// [`par_rows_many`] for one matrix and a kernel of one row at a time.
fn par_rows(weights: &[u8], row_bytes: usize, y: &mut [f32], dot: impl Fn(&[u8]) -> f32 + Sync) {
    par_rows_many(&mut [Rows {
        weights,
        row_bytes,
        y,
        dot: |rows: &[u8], y: &mut [f32]| {
            for (y_r, row) in y.iter_mut().zip(rows.chunks_exact(row_bytes)) {
                *y_r = dot(row);
            }
        },
    }]);
}

/// The output pointer of one matrix, shared by the threads, which write
/// disjoint row ranges of it.
struct SharedOut(*mut f32);
// SAFETY: every chunk of rows is claimed by exactly one thread (an atomic
// counter hands them out), so no two threads write the same `y[r]`
unsafe impl Sync for SharedOut {}

// ANCHOR: par_rows
/// Fills every matrix's `y` on the decode [`Pool`](pool::Pool): the rows of
/// all the matrices (Q, K and V of a layer: one call, one wake-up) are cut
/// into chunks, about four per thread, and each thread takes the next
/// unclaimed chunk until none is left, so that threads finish together even
/// when one of them lost its core for a while. A chunk is at least 16 rows
/// (tiny chunks cost more in counting than they save), and a multiple of 4. When the pool is busy
/// with another caller's job, rayon's threads do it.
pub(crate) fn par_rows_many<D: Fn(&[u8], &mut [f32]) + Sync>(mats: &mut [Rows<'_, D>]) {
    let pool = pool::Pool::global();
    let total: usize = mats.iter().map(|m| m.y.len()).sum();
    // a multiple of 4 rows, for the kernels that take 4 at a time: every
    // chunk starts at a multiple of 4, so the rows they group, and the bits
    // of each result, do not depend on the number of threads
    let chunk = total
        .div_ceil(4 * pool.threads())
        .max(16)
        .next_multiple_of(4);
    // (matrix, first row, end row) of every chunk
    let chunks: Vec<(usize, usize, usize)> = mats
        .iter()
        .enumerate()
        .flat_map(|(m, mat)| {
            let rows = mat.y.len();
            (0..rows)
                .step_by(chunk)
                .map(move |r| (m, r, (r + chunk).min(rows)))
        })
        .collect();
    // each matrix's inputs, and its output as a pointer the threads share
    let parts: Vec<(&[u8], usize, &D, SharedOut)> = mats
        .iter_mut()
        .map(
            |Rows {
                 weights,
                 row_bytes,
                 y,
                 dot,
             }| { (*weights, *row_bytes, &*dot, SharedOut(y.as_mut_ptr())) },
        )
        .collect();
    let run_chunk = |&(m, r0, r1): &(usize, usize, usize)| {
        let (weights, row_bytes, dot, out) = &parts[m];
        // SAFETY: r0..r1 lies in matrix m's `y`, and only this call has it
        let y = unsafe { std::slice::from_raw_parts_mut(out.0.add(r0), r1 - r0) };
        dot(&weights[r0 * row_bytes..r1 * row_bytes], y);
    };
    let next = AtomicUsize::new(0);
    let ran = pool.run(&|_thread| {
        while let Some(c) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
            run_chunk(c);
        }
    });
    if !ran {
        chunks.par_iter().for_each(run_chunk);
    }
}
// ANCHOR_END: par_rows

/// Random test vectors shared by the kernels' tests.
#[cfg(test)]
fn rng_vec(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32;
            (r / (1u64 << 23) as f32 - 1.0) * scale
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_parse_their_names_and_refuse_others() {
        for k in Kernels::ALL {
            assert_eq!(k.to_string().parse::<Kernels>(), Ok(k));
        }
        let err = "avx9".parse::<Kernels>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown kernels `avx9` (expected best, avx512, avx2 or scalar)"
        );
    }
}
