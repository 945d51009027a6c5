//! Prompt batches: `Y = X·Wᵀ` for many activation rows at once, the weight
//! decoded a tile at a time into a panel that stays in cache.
//!
//! A prompt of `n` tokens multiplies every matrix by `n` activation rows.
//! The decode kernels, row by row, would decode every block `n` times;
//! dequantizing the whole matrix to f32 first writes and reads back 4 bytes
//! a weight, through memory, on every call. Here:
//!
//! 1. the activations are packed once per call in groups of `MX` rows, each
//!    group `[k][MX]`: the group's values of one `k` side by side, one or
//!    two SIMD registers (zero rows fill the last group);
//! 2. a thread takes a tile of `NW` weight rows and, `KC` = 256 weights at a
//!    time, decodes them with [`dequantize_into`] (the one decoder of each
//!    format, so every type it reads works) into a panel of `NW` rows of
//!    `KC`, a few KiB that stay in L1 while
//! 3. a micro-kernel runs the panel over every group of activation rows:
//!    per `k`, each of the `NW` weights is broadcast and multiplied into the
//!    group's `MX` activations, `NW × MX` sums held in registers (AVX-512:
//!    12 weight rows × 2 registers of 16 rows; AVX2: 6 × 2 of 8; portable:
//!    plain loops over 4 × 8). The sums of each group wait in memory, in
//!    the registers' layout, for the tile's next panel; after its last,
//!    they are the tile's outputs.
//!
//! A batched decode step has 2 to 8 rows ([`ROWS_MAX`]): a group of 16 or
//! 32 would be mostly zeros. For so few rows a second micro-kernel shape
//! (`x86/gemm_rows.rs`) takes the same panels and threads with its lanes
//! along `k`: the rows are packed per panel, row after row, and each decoded
//! weight register is multiplied into every row, `NW × n` registers of
//! partial sums (one per lane), added up lane by lane after the tile's last
//! panel. A block is still decoded once per call, not once per row.
//!
//! The activations are not rounded: each output is an f32 sum over `k` (a
//! panel's sums continue the previous panel's; the few-rows shape keeps one
//! sum per lane, added up at the end), so the result differs from
//! dequantize-then-matmul only in the order of the additions.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::f32act::MatvecF32;
use super::{Kernels, SharedOut, pool::Pool};
use crate::blocks::dequantize_into;
use crate::matvec::check_shapes;
use crate::{GgmlType, QuantError};

/// Weights of a row per panel, and the panel's row stride: whole blocks of
/// every type (1, 32 or 256).
pub(super) const KC: usize = 256;
/// The most weight rows (`NW`) and activation rows (`MX`) a micro-kernel
/// takes: its sums' size.
pub(super) const NW_MAX: usize = 12;
pub(super) const MX_MAX: usize = 32;

/// At most this many activation rows go through the few-rows shape.
pub const ROWS_MAX: usize = 8;

/// The sums of one micro-kernel call, `[weight row][activation row][lane]`
/// for the kernel's `NW`, `MX` and lanes (the GEMM shape has one lane).
pub(super) type Sums = [f32; NW_MAX * MX_MAX];

/// Adds up the first `count` sums' lanes, in place: `[count][lanes]` →
/// `[count]`.
type Finish = fn(sums: &mut Sums, count: usize);

/// `sums[j][i][·] += Σ_k panel[j·KC + k] · x_i[k]` for `k < kc`, over the
/// kernel's `NW` weight rows and `MX` activation rows, `panel` `NW` rows of
/// `KC`, `xs` packed by the kernel's [`Pack`]; each lane of the sums adds
/// up its own share of the `k`.
type Micro = fn(panel: &[f32], xs: &[f32], kc: usize, sums: &mut Sums);

/// Decodes whole blocks of a row into `out`, as [`dequantize_into`] does.
type Decode = fn(row: &[u8], out: &mut [f32]);

/// How a micro-kernel wants a group of `MX` activation rows laid out, for
/// the panel of `k0 .. k1`: at `k0·MX` of the group's `d_in·MX` values.
#[derive(Clone, Copy)]
enum Pack {
    /// `[k][MX]`: the rows' values of one `k` side by side (lanes along rows).
    ByK,
    /// `[MX][k1 - k0]`: row after row (lanes along `k`).
    ByRow,
}

/// A micro-kernel and its shape.
#[derive(Clone, Copy)]
struct Kernel {
    micro: Micro,
    nw: usize,
    mx: usize,
    pack: Pack,
    /// For a kernel with lanes, what adds them up after a tile's last panel.
    finish: Option<Finish>,
}

/// A SIMD decoder of `ty` that `kernels` allows: the default model's
/// types and Q4_0 from AVX2 up, and those of the usual K-quant mixes (Q5_0,
/// Q4_K, Q6_K) with AVX-512; `None`: [`dequantize_into`] decodes it.
fn decoder(ty: GgmlType, kernels: Kernels) -> Option<Decode> {
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Level, gemm, level};
        // SAFETY of the wrapped calls: the level says the CPU has AVX2, FMA
        // and F16C, and from `Avx512` up AVX-512 F, BW and VL; rows are
        // whole blocks
        if level(kernels) >= Level::Avx512 {
            return match ty {
                GgmlType::Q4_1 => Some(|r, o| unsafe { gemm::decode_q4_1(r, o) }),
                GgmlType::Q4_0 => Some(|r, o| unsafe { gemm::decode_q4_0(r, o) }),
                GgmlType::Q8_0 => Some(|r, o| unsafe { gemm::decode_q8_0(r, o) }),
                GgmlType::Q5_0 => Some(|r, o| unsafe { gemm::decode_q5_0(r, o) }),
                GgmlType::Q4_K => Some(|r, o| unsafe { gemm::decode_q4_k(r, o) }),
                GgmlType::Q6_K => Some(|r, o| unsafe { gemm::decode_q6_k(r, o) }),
                _ => None,
            };
        }
        if level(kernels) >= Level::Avx2 {
            return match ty {
                GgmlType::Q4_1 => Some(|r, o| unsafe { gemm::decode_q4_1_avx2(r, o) }),
                GgmlType::Q4_0 => Some(|r, o| unsafe { gemm::decode_q4_0_avx2(r, o) }),
                GgmlType::Q8_0 => Some(|r, o| unsafe { gemm::decode_q8_0_avx2(r, o) }),
                _ => None,
            };
        }
    }
    let _ = (ty, kernels); // only x86 has a choice to make
    None
}

/// Whether [`gemm_f32_many`] multiplies `n` rows by a `ty` matrix faster
/// than `n` calls of the row kernels: always for a prompt (more than
/// [`ROWS_MAX`] rows); for 2 to 8 rows only where the panels are decoded in
/// SIMD (Q4_0, Q4_1, Q8_0 from AVX2 up; Q5_0, Q4_K, Q6_K with AVX-512).
/// Measured on one thread (`cargo bench --bench kernels -- gemm_`), 1536
/// rows of 576 weights (768 for the K-quants): at 2 rows the two ways tie
/// (0.94–1.15×, Q4_1 1.1–1.3×); from 4 rows the few-rows shape wins, 1.4–1.7×
/// at 4 and 1.7–2.6× at 8; with a scalar decoder (F16, Q5_1, Q5_K) decoding
/// a panel costs more than the row kernels' work for 8 rows.
pub fn gemm_pays(ty: GgmlType, n: usize, kernels: Kernels) -> bool {
    n > ROWS_MAX || (n > 1 && decoder(ty, kernels).is_some())
}

/// The micro-kernel `kernels` allows on this CPU for `n` activation rows.
fn kernel(kernels: Kernels, n: usize) -> Kernel {
    if n <= ROWS_MAX {
        return rows_kernel(kernels, n);
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Level, gemm, level};
        // SAFETY of the wrapped calls: the level says the CPU has AVX2, FMA,
        // and from `Avx512` up AVX-512 F, BW and VL
        match level(kernels) {
            Level::Avx512 | Level::Vnni => {
                return Kernel {
                    micro: |p, x, kc, s| unsafe { gemm::micro_avx512(p, x, kc, s) },
                    nw: gemm::AVX512_NW,
                    mx: gemm::AVX512_MX,
                    pack: Pack::ByK,
                    finish: None,
                };
            }
            Level::Avx2 => {
                return Kernel {
                    micro: |p, x, kc, s| unsafe { gemm::micro_avx2(p, x, kc, s) },
                    nw: gemm::AVX2_NW,
                    mx: gemm::AVX2_MX,
                    pack: Pack::ByK,
                    finish: None,
                };
            }
            Level::None => {}
        }
    }
    let _ = kernels; // only x86 has a choice to make
    Kernel {
        micro: micro_ref,
        nw: REF_NW,
        mx: REF_MX,
        pack: Pack::ByK,
        finish: None,
    }
}

/// The few-rows shape for `n ≤ ROWS_MAX` rows, in groups of `mx`: as many
/// weight rows `NW` as leave registers for the `NW·mx` sums, `NW` weights
/// and an activation. AVX-512's 32 registers take all `n` rows in one group;
/// AVX2's 16 would leave one weight row for 8 activation rows (a load per
/// FMA), so past 4 rows it takes them in two groups, each panel serving both.
fn rows_kernel(kernels: Kernels, n: usize) -> Kernel {
    #[cfg(target_arch = "x86_64")]
    let (micro, nw, mx, finish) = {
        use super::x86::{Level, gemm_rows::*, level};
        /// `(micro, NW)` for `mx` rows a group, of one instruction set.
        macro_rules! table {
            ($mx:expr, $f:ident, $($n:literal => $nw:literal),*) => {
                match $mx {
                    $($n => ((|p, x, kc, s| unsafe { $f::<$n, $nw>(p, x, kc, s) }) as Micro, $nw),)*
                    _ => unreachable!("at most ROWS_MAX rows"),
                }
            };
        }
        // SAFETY of the wrapped calls: the level says the CPU has AVX2, FMA,
        // and from `Avx512` up AVX-512 F, BW and VL
        match level(kernels) {
            Level::Avx512 | Level::Vnni => {
                let (m, nw) = table!(n, rows_avx512,
                    1 => 12, 2 => 10, 3 => 7, 4 => 6, 5 => 4, 6 => 4, 7 => 3, 8 => 3);
                let finish = |s: &mut Sums, c| unsafe { finish_avx512(s, c) };
                (m, nw, n, Some(finish as Finish))
            }
            Level::Avx2 => {
                let mx = if n > 4 { n.div_ceil(2) } else { n };
                let (m, nw) = table!(mx, rows_avx2, 1 => 7, 2 => 5, 3 => 3, 4 => 3);
                let finish = |s: &mut Sums, c| unsafe { finish_avx2(s, c) };
                (m, nw, mx, Some(finish as Finish))
            }
            Level::None => (rows_ref as Micro, REF_NW, n, None),
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (micro, nw, mx, finish) = {
        let _ = kernels; // only x86 has a choice to make
        (rows_ref as Micro, REF_NW, n, None)
    };
    Kernel {
        micro,
        nw,
        mx,
        pack: Pack::ByRow,
        finish,
    }
}

const REF_NW: usize = 4;
const REF_MX: usize = 8;

/// The portable micro-kernel: the loops the SIMD ones unroll.
fn micro_ref(panel: &[f32], xs: &[f32], kc: usize, sums: &mut Sums) {
    assert!(panel.len() >= (REF_NW - 1) * KC + kc && xs.len() >= kc * REF_MX);
    for (w, sums_j) in panel
        .chunks(KC)
        .zip(sums.chunks_exact_mut(REF_MX))
        .take(REF_NW)
    {
        for (&w_k, x) in w[..kc].iter().zip(xs.chunks_exact(REF_MX)) {
            for (s, &x_i) in sums_j.iter_mut().zip(x) {
                *s += w_k * x_i;
            }
        }
    }
}

/// The portable few-rows kernel: a dot product per weight row and
/// activation row (`xs` is `[n][kc]`, `sums` `[REF_NW][n]`).
fn rows_ref(panel: &[f32], xs: &[f32], kc: usize, sums: &mut Sums) {
    let n = xs.len() / kc.max(1);
    assert!(panel.len() >= (REF_NW - 1) * KC + kc && REF_NW * n <= sums.len());
    for (w, sums_j) in panel.chunks(KC).zip(sums.chunks_exact_mut(n)).take(REF_NW) {
        for (s, x) in sums_j.iter_mut().zip(xs.chunks_exact(kc)) {
            *s += w[..kc].iter().zip(x).map(|(w, x)| w * x).sum::<f32>();
        }
    }
}

/// `x` `[n, d_in]` in groups of `mx` rows as `pack` lays them out, zero
/// rows filling the last group.
fn pack_rows(x: &[f32], d_in: usize, mx: usize, pack: Pack) -> Vec<f32> {
    let n = x.len() / d_in;
    let mut packed = vec![0.0; n.div_ceil(mx) * d_in * mx];
    for (i, row) in x.chunks_exact(d_in).enumerate() {
        let group = &mut packed[i / mx * d_in * mx..][..d_in * mx];
        match pack {
            Pack::ByK => {
                for (k, &v) in row.iter().enumerate() {
                    group[k * mx + i % mx] = v;
                }
            }
            Pack::ByRow => {
                for k0 in (0..d_in).step_by(KC) {
                    let kc = (d_in - k0).min(KC);
                    group[k0 * mx + i % mx * kc..][..kc].copy_from_slice(&row[k0..k0 + kc]);
                }
            }
        }
    }
    packed
}

/// One matrix of a call, as the threads share it.
struct Part<'a> {
    ty: GgmlType,
    decode: Option<Decode>,
    weights: &'a [u8],
    row_bytes: usize,
    d_out: usize,
    y: SharedOut, // [n, d_out]
}

/// The shape of one call: `n` activation rows of `d_in`, packed for `kernel`.
struct Batch<'a> {
    packed: &'a [f32],
    n: usize,
    d_in: usize,
    kernel: Kernel,
}

/// Rows `r0 .. r0 + nw` of `part` (zero past its last row), weights
/// `k0 .. k1`, into `panel`: row `j` at `j·KC`.
fn fill_panel(
    part: &Part<'_>,
    (r0, nw): (usize, usize),
    (k0, k1): (usize, usize),
    panel: &mut [f32],
) {
    // k0 and k1 fall on block boundaries (KC and d_in are whole blocks)
    let bytes = |k: usize| part.ty.n_bytes(k).expect("whole blocks");
    let (b0, b1) = (bytes(k0), bytes(k1));
    for (j, row) in panel.chunks_exact_mut(KC).take(nw).enumerate() {
        let row = &mut row[..k1 - k0];
        let r = r0 + j;
        if r < part.d_out {
            let at = r * part.row_bytes;
            let blocks = &part.weights[at + b0..at + b1];
            match part.decode {
                Some(decode) => decode(blocks, row),
                None => dequantize_into(part.ty, blocks, row).expect("checked"),
            }
        } else {
            row.fill(0.0);
        }
    }
}

/// Where a thread works: the panel, and the sums of every group of
/// activation rows, kept from one panel to the next.
struct Scratch {
    panel: Vec<f32>, // [NW_MAX][KC]
    sums: Vec<Sums>, // one per group
}

/// Columns `tile·nw ..` of `Y` for every activation row.
fn run_tile(part: &Part<'_>, tile: usize, batch: &Batch<'_>, scratch: &mut Scratch) {
    let Batch {
        packed,
        n,
        d_in,
        kernel:
            Kernel {
                micro,
                nw,
                mx,
                finish,
                ..
            },
    } = *batch;
    let (r0, groups) = (tile * nw, n.div_ceil(mx));
    let Scratch { panel, sums } = scratch;
    sums.clear();
    sums.resize(groups, [0.0; NW_MAX * MX_MAX]);
    for k0 in (0..d_in).step_by(KC) {
        let k1 = (k0 + KC).min(d_in);
        fill_panel(part, (r0, nw), (k0, k1), panel);
        for (group, sums) in sums.iter_mut().enumerate() {
            let xs = &packed[group * d_in * mx + k0 * mx..][..(k1 - k0) * mx];
            micro(panel, xs, k1 - k0, sums);
        }
    }
    if let Some(finish) = finish {
        sums.iter_mut().for_each(|s| finish(s, nw * mx));
    }
    let cols = (part.d_out - r0).min(nw);
    for (i, sums) in (0..n).map(|i| (i, &sums[i / mx])) {
        // SAFETY: this tile's columns of row i lie in `y` (n × d_out) and
        // belong to this call alone (one tile, one job)
        let y = unsafe { std::slice::from_raw_parts_mut(part.y.0.add(i * part.d_out + r0), cols) };
        for (j, y) in y.iter_mut().enumerate() {
            *y = sums[j * mx + i % mx];
        }
    }
}

// ANCHOR: gemm_f32
/// `Y = X·Wᵀ` for each matrix: `x` is `n` activation rows of `d_in`, each
/// matrix `d_out` rows of blocks of its type (any type
/// [`dequantize`](crate::blocks::dequantize) reads), and its `y` the `n × d_out`
/// outputs, row after row. The matrices that multiply the same `x` (Q, K, V;
/// gate, up) share one parallel call. What [`matvec_f32_many`](super::matvec_f32_many)
/// does for one row, for a prompt: tiles of a few weight rows over the
/// decode threads, each decoded once per call into a cached panel and
/// multiplied with every activation row (see the module's story).
pub fn gemm_f32_many(
    mats: &mut [MatvecF32<'_>],
    x: &[f32],
    [n, d_in]: [usize; 2],
    kernels: Kernels,
) -> Result<(), QuantError> {
    let bad_len = |what, expected: Option<usize>, got| QuantError::VectorLength {
        what,
        expected: expected.unwrap_or(usize::MAX),
        got,
    };
    if Some(x.len()) != n.checked_mul(d_in) {
        return Err(bad_len("x", n.checked_mul(d_in), x.len()));
    }
    let mut parts = Vec::with_capacity(mats.len());
    for MatvecF32 {
        ty,
        weights,
        d_out,
        y,
    } in mats.iter_mut()
    {
        if !ty.is_supported() {
            return Err(QuantError::Unsupported {
                ty: *ty,
                op: "gemm",
            });
        }
        let row_bytes = check_shapes(*ty, weights, *d_out, d_in, d_in, *d_out)?;
        if Some(y.len()) != n.checked_mul(*d_out) {
            return Err(bad_len("y", n.checked_mul(*d_out), y.len()));
        }
        if d_in == 0 {
            y.fill(0.0);
            continue;
        }
        parts.push(Part {
            ty: *ty,
            decode: decoder(*ty, kernels),
            weights,
            row_bytes,
            d_out: *d_out,
            y: SharedOut(y.as_mut_ptr()),
        });
    }
    if n == 0 || parts.is_empty() {
        return Ok(());
    }
    let kernel = kernel(kernels, n);
    let packed = pack_rows(x, d_in, kernel.mx, kernel.pack);
    let batch = Batch {
        packed: &packed,
        n,
        d_in,
        kernel,
    };
    // (matrix, tile) of every job
    let jobs: Vec<(usize, usize)> = (parts.iter().enumerate())
        .flat_map(|(m, p)| (0..p.d_out.div_ceil(kernel.nw)).map(move |t| (m, t)))
        .collect();
    // a thread claims several tiles at a time, about four claims per thread
    // in all: with one claim per tile the two cores took turns owning the
    // counter's cache line, 9% of a batched decode step
    let per_claim = jobs.len().div_ceil(4 * Pool::global().threads()).max(1);
    let next = AtomicUsize::new(0);
    let work = |_thread: usize| {
        let mut scratch = Scratch {
            panel: vec![0.0; NW_MAX * KC],
            sums: Vec::new(),
        };
        loop {
            let first = next.fetch_add(per_claim, Ordering::Relaxed);
            let Some(claimed) = jobs.get(first..jobs.len().min(first + per_claim)) else {
                break;
            };
            for &(m, tile) in claimed {
                run_tile(&parts[m], tile, &batch, &mut scratch);
            }
        }
    };
    if !Pool::global().run(&work) {
        // the pool is busy with another caller: rayon's threads share the jobs
        (0..rayon::current_num_threads())
            .into_par_iter()
            .for_each(work);
    }
    Ok(())
}
// ANCHOR_END: gemm_f32

#[cfg(test)]
mod tests {
    use super::super::rng_vec;
    use super::*;
    use crate::blocks::{dequantize, quantize};

    /// Every type [`dequantize`] reads, every kernel choice, both shapes
    /// (every few-rows `n`, 1 to 8, and a prompt of 37), against
    /// dequantize-then-matmul in f64, on shapes no tile divides: `n` and
    /// `d_out` not a multiple of any kernel's rows, `d_in` past a whole panel
    /// (but for the K-quants, whose blocks are a panel), and for the types of
    /// 1-weight blocks not a multiple of any register's lanes.
    ///
    /// The bound: each output is one f32 sum of `d_in` products of exact
    /// activations and the dequantized weights (the same f32 the reference
    /// multiplies), in some order (per lane, then the lanes), so its error
    /// is at most `γ_d_in·Σ|w·x| ≈ d_in·ε·Σ|w·x|` (Higham, 3.1, for any
    /// order), about `4e-5` of it here; a misplaced weight or row moves an
    /// output by about `1/d_in` of it, `3e-3`.
    #[test]
    fn gemm_equals_dequantize_then_matmul() {
        for n in (1..=ROWS_MAX).chain([37]) {
            for ty in GgmlType::ALL.into_iter().filter(|ty| ty.is_supported()) {
                gemm_case(n, ty);
            }
        }
    }

    fn gemm_case(n: usize, ty: GgmlType) {
        {
            let d_in = match ty.block_size() {
                1 => 301,
                32 => 320, // a panel and a part of one
                b => 3 * b,
            };
            let d_out = 45;
            let w = quantize(ty, &rng_vec(11, d_out * d_in, 0.1)).unwrap();
            let w_deq = dequantize(ty, &w, d_out * d_in).unwrap();
            let x = rng_vec(12, n * d_in, 2.0);
            for kernels in Kernels::ALL {
                let mut y = vec![f32::NAN; n * d_out];
                let mut mats = [MatvecF32 {
                    ty,
                    weights: &w,
                    d_out,
                    y: &mut y,
                }];
                gemm_f32_many(&mut mats, &x, [n, d_in], kernels).unwrap();
                for (i, x_i) in x.chunks_exact(d_in).enumerate() {
                    for (r, w_r) in w_deq.chunks_exact(d_in).enumerate() {
                        let terms = w_r.iter().zip(x_i).map(|(&w, &x)| w as f64 * x as f64);
                        let exact: f64 = terms.clone().sum();
                        let mag: f64 = terms.map(f64::abs).sum();
                        let tol = d_in as f64 * f32::EPSILON as f64 * mag;
                        let got = y[i * d_out + r] as f64;
                        assert!(
                            (got - exact).abs() <= tol,
                            "{ty} {kernels} n {n} y[{i}][{r}]: {got} vs {exact} (tol {tol})"
                        );
                    }
                }
            }
        }
    }

    /// Several matrices in one call give the bits of one call each: the
    /// same tiles, shared out differently (both shapes: 3 rows and 9).
    #[test]
    fn many_matrices_at_once_equal_one_at_a_time() {
        for n in [3, 9] {
            many_matrices_case(n);
        }
    }

    fn many_matrices_case(n: usize) {
        let d_in = 576;
        let x = rng_vec(9, n * d_in, 1.0);
        let shapes = [
            (GgmlType::Q4_1, 576),
            (GgmlType::Q8_0, 192),
            (GgmlType::Q5_0, 67),
        ];
        let weights: Vec<Vec<u8>> = (shapes.iter().enumerate())
            .map(|(i, &(ty, d_out))| quantize(ty, &rng_vec(i as u64, d_out * d_in, 0.1)).unwrap())
            .collect();
        for kernels in Kernels::ALL {
            let mut ys: Vec<Vec<f32>> = shapes.iter().map(|&(_, d)| vec![0.0; n * d]).collect();
            let mut mats: Vec<MatvecF32> = (shapes.iter().zip(&weights).zip(ys.iter_mut()))
                .map(|((&(ty, d_out), weights), y)| MatvecF32 {
                    ty,
                    weights,
                    d_out,
                    y,
                })
                .collect();
            gemm_f32_many(&mut mats, &x, [n, d_in], kernels).unwrap();
            for ((&(ty, d_out), weights), y) in shapes.iter().zip(&weights).zip(&ys) {
                let mut one = vec![f32::NAN; n * d_out];
                let mut mat = [MatvecF32 {
                    ty,
                    weights,
                    d_out,
                    y: &mut one,
                }];
                gemm_f32_many(&mut mat, &x, [n, d_in], kernels).unwrap();
                assert_eq!(y, &one, "{ty} {kernels}");
            }
        }
    }

    /// The SIMD decoders give the bits of `dequantize_into`, on quantized
    /// rows and on random bytes (every code, scales of either sign).
    #[test]
    fn simd_decoders_equal_dequantize() {
        for ty in GgmlType::ALL {
            for kernels in Kernels::ALL {
                let Some(decode) = decoder(ty, kernels) else {
                    continue;
                };
                let n = 32 * 40;
                let quantized = quantize(ty, &rng_vec(21, n, 0.3)).unwrap();
                let random: Vec<u8> = (rng_vec(22, quantized.len(), 1.0).iter())
                    .map(|v| (v.to_bits() >> 5) as u8)
                    .collect();
                for w in [quantized, random] {
                    let mut got = vec![f32::NAN; n];
                    decode(&w, &mut got);
                    let want = dequantize(ty, &w, n).unwrap();
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{ty} {kernels}");
                }
            }
        }
    }

    #[test]
    fn bad_shapes_and_types_are_errors() {
        let w = quantize(GgmlType::Q4_1, &[0.5; 128]).unwrap();
        let x = [1.0; 3 * 64];
        let mut y = [0.0; 3 * 2];
        let call = |ty, w: &[u8], shape, y: &mut [f32]| {
            let mut mats = [MatvecF32 {
                ty,
                weights: w,
                d_out: 2,
                y,
            }];
            gemm_f32_many(&mut mats, &x, shape, Kernels::Best)
        };
        assert_eq!(call(GgmlType::Q4_1, &w, [3, 64], &mut y), Ok(()));
        assert!(matches!(
            call(GgmlType::Q4_1, &w[1..], [3, 64], &mut y),
            Err(QuantError::SizeMismatch { .. })
        ));
        assert!(matches!(
            call(GgmlType::Q4_1, &w, [2, 64], &mut y),
            Err(QuantError::VectorLength { what: "x", .. })
        ));
        assert!(matches!(
            call(GgmlType::Q4_1, &w, [3, 64], &mut y[1..]),
            Err(QuantError::VectorLength { what: "y", .. })
        ));
        assert!(matches!(
            call(GgmlType::IQ2_XXS, &w, [3, 64], &mut y),
            Err(QuantError::Unsupported { op: "gemm", .. })
        ));
    }
}
