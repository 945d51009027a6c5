//! A prompt's attention, fused: for each query, the scores against the keys
//! it may see, their softmax and the weighted sum of values, in one pass.
//!
//! The model's plain attention is three tensor operations: `Q·Kᵀ` for every
//! query against every key, a mask that hides the later keys (and, in a
//! sliding-window layer, the ones too far back), a softmax over each row,
//! and the product with `V`. On a prompt of 512 tokens that computes the
//! whole 512 × 512 square of scores where a causal mask throws half away,
//! writes and rereads it between the steps, and takes `exp` one value at a
//! time; it was ~30% of a prompt's time. Here a query looks only at its
//! visible keys, its scores stay in a small buffer, `exp` runs on SIMD
//! lanes, and the `group` query heads that share a KV head (GQA) read each
//! key and value once. The arithmetic is the same (f32, the softmax's
//! maximum subtracted before `exp`); only the order of the additions differs,
//! and `exp` is a polynomial within one `f32::EPSILON` (relative) of eˣ.
//!
//! [`attention_ref`] is the readable version, in f64; [`attention_f32`] the
//! fast one, with queries over the decode pool's threads.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::lanes::{L, dot, exp_shifted, madd};
use super::{Kernels, SharedOut, pool::Pool};

/// One sequence's attention: `kv_heads` KV heads, each shared by `group`
/// query heads; `queries` new tokens at positions `start..start + queries`,
/// seeing `keys = start + queries` keys; `head_dim` values per head; the
/// keys and values of a head `kv_stride` positions after the previous
/// head's (`keys` when they are packed, a cache's capacity when they are
/// read where the cache keeps them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionShape {
    pub kv_heads: usize,
    pub group: usize,
    pub queries: usize,
    pub start: usize,
    pub head_dim: usize,
    /// `Some(w)`: a query sees only keys less than `w` positions back.
    pub window: Option<usize>,
    /// What the query·key scores are multiplied by.
    pub scale: f32,
    pub kv_stride: usize,
}

impl AttentionShape {
    /// Keys in the cache: every position up to the last query.
    pub fn keys(&self) -> usize {
        self.start + self.queries
    }

    /// The keys query `i` (at position `start + i`) sees: none after it
    /// (causal), none `window` or more positions back (llama.cpp's
    /// `is_masked_swa`, standard type).
    pub fn visible(&self, i: usize) -> Range<usize> {
        let pos = self.start + i;
        let first = self.window.map_or(0, |w| (pos + 1).saturating_sub(w));
        first..pos + 1
    }

    /// Checks the slices' lengths: `q` and `out` `[kv_heads, group,
    /// queries, head_dim]` (query head `h·group + g`, as the model's
    /// `[heads, seq, head_dim]`), `k` and `v` `[kv_heads, kv_stride,
    /// head_dim]` (of which the first `keys` positions of each head are read).
    fn check(&self, q: &[f32], k: &[f32], v: &[f32], out: &[f32]) {
        let (h, d) = (self.kv_heads, self.head_dim);
        let rows = h * self.group * self.queries * d;
        assert_eq!((q.len(), out.len()), (rows, rows), "q and out of {self:?}");
        assert!(self.kv_stride >= self.keys(), "kv_stride of {self:?}");
        let kv = h * self.kv_stride * d;
        assert!(k.len() >= kv && v.len() >= kv, "k and v of {self:?}");
    }
}

// ANCHOR: attention_ref
/// The plain twin, in f64: every query head, every query, its visible keys,
/// `softmax(q·k · scale)` and the weighted sum of the values.
pub fn attention_ref(q: &[f32], k: &[f32], v: &[f32], shape: &AttentionShape) -> Vec<f32> {
    let mut out = vec![0.0; q.len()];
    shape.check(q, k, v, &out);
    let (d, s, t) = (shape.head_dim, shape.queries, shape.kv_stride);
    for h in 0..shape.kv_heads {
        let key = |j: usize| &k[(h * t + j) * d..][..d];
        let value = |j: usize| &v[(h * t + j) * d..][..d];
        for g in 0..shape.group {
            for i in 0..s {
                let row = ((h * shape.group + g) * s + i) * d;
                let query = &q[row..row + d];
                let visible = shape.visible(i);
                let scores: Vec<f64> = (visible.clone())
                    .map(|j| {
                        let dot: f64 = (query.iter().zip(key(j)))
                            .map(|(&a, &b)| a as f64 * b as f64)
                            .sum();
                        dot * shape.scale as f64
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f64 = weights.iter().sum();
                for c in 0..d {
                    let mix: f64 = (visible.clone().zip(&weights))
                        .map(|(j, w)| w * value(j)[c] as f64)
                        .sum();
                    out[row + c] = (mix / sum) as f32;
                }
            }
        }
    }
    out
}
// ANCHOR_END: attention_ref

/// `out` = the attention of `shape`, fast: the same as [`attention_ref`]
/// within f32 rounding. Each job is one query position of one KV head (its
/// `group` query heads together), the longest first, over the threads.
pub fn attention_f32(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
    shape: &AttentionShape,
    kernels: Kernels,
) {
    shape.check(q, k, v, out);
    let unit = pick(kernels);
    let (h, s) = (shape.kv_heads, shape.queries);
    let inputs = Inputs {
        q,
        k,
        v,
        out: SharedOut(out.as_mut_ptr()),
        shape,
    };
    let next = AtomicUsize::new(0);
    let work = |_thread: usize| {
        let mut scores = Vec::new();
        loop {
            let u = next.fetch_add(1, Ordering::Relaxed);
            if u >= h * s {
                break;
            }
            // the last queries see the most keys: they go first
            let (head, i) = (u % h, s - 1 - u / h);
            // SAFETY: job (head, i) alone writes the rows of query i of the
            // query heads of `head`
            unsafe { unit(&inputs, head, i, &mut scores) };
        }
    };
    if !Pool::global().run(&work) {
        (0..rayon::current_num_threads())
            .into_par_iter()
            .for_each(work);
    }
}

/// What every job reads, and where it writes.
pub(super) struct Inputs<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    out: SharedOut,
    shape: &'a AttentionShape,
}

/// One job: query `i` of the `group` query heads of KV head `head`, with a
/// scratch buffer for its scores.
type Unit = unsafe fn(&Inputs<'_>, usize, usize, &mut Vec<f32>);

/// The job's code for the instruction sets `kernels` allows on this CPU.
fn pick(kernels: Kernels) -> Unit {
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Level, lanes, level};
        match level(kernels) {
            Level::None => {}
            Level::Avx2 => return lanes::unit_avx2,
            Level::Avx512 | Level::Vnni => return lanes::unit_avx512,
        }
    }
    let _ = kernels;
    unit::<false>
}

/// The body of a job, compiled once per instruction set (`x86/lanes.rs`
/// wraps it in `#[target_feature]` functions; inlined there, its lane loops
/// become that set's vector instructions).
///
/// # Safety
/// `out` points at a `[kv_heads, group, queries, head_dim]` buffer whose
/// rows of (`head`, `i`) no other thread touches meanwhile.
#[inline(always)]
pub(super) unsafe fn unit<const FMA: bool>(
    inputs: &Inputs<'_>,
    head: usize,
    i: usize,
    scores: &mut Vec<f32>,
) {
    let Inputs {
        q,
        k,
        v,
        out,
        shape,
    } = inputs;
    let (d, s, group) = (shape.head_dim, shape.queries, shape.group);
    let (t, stride) = (shape.keys(), shape.kv_stride);
    let visible = shape.visible(i);
    let n = visible.len();
    let (k, v) = (
        &k[head * stride * d..][..t * d],
        &v[head * stride * d..][..t * d],
    );
    let row = |g: usize| ((head * group + g) * s + i) * d;

    // scores: [group, n], each key read once for the group's queries
    scores.clear();
    scores.resize(group * n, 0.0);
    for (jj, j) in visible.clone().enumerate() {
        let key = &k[j * d..][..d];
        for g in 0..group {
            scores[g * n + jj] = dot::<FMA>(&q[row(g)..][..d], key) * shape.scale;
        }
    }

    // softmax numerators in place, and their sums (after them in the buffer)
    scores.resize(group * n + group, 0.0);
    let (scores, sums) = scores.split_at_mut(group * n);
    for (g, sum) in sums.iter_mut().enumerate() {
        let p = &mut scores[g * n..][..n];
        let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        *sum = exp_shifted::<FMA>(p, max);
    }

    // weighted sums of the values, up to 4 query heads at a time: each
    // value read serves all of them
    let mix = Mix {
        p: scores,
        n,
        v,
        visible,
        d,
    };
    let mut g0 = 0;
    while g0 < group {
        // SAFETY: this job's rows, per the contract above
        let rows = |g: usize| unsafe { out.0.add(row(g0 + g)) };
        g0 += match group - g0 {
            1 => mix.heads::<FMA, 1>(g0, &sums[g0..], rows),
            2 => mix.heads::<FMA, 2>(g0, &sums[g0..], rows),
            3 => mix.heads::<FMA, 3>(g0, &sums[g0..], rows),
            _ => mix.heads::<FMA, 4>(g0, &sums[g0..], rows),
        };
    }
}

/// What the weighted sums of a job read: the softmax numerators of its
/// query heads (`[group, n]`), the values, and which of them it sees.
struct Mix<'a> {
    p: &'a [f32],
    n: usize,
    v: &'a [f32],
    visible: Range<usize>,
    d: usize,
}

impl Mix<'_> {
    /// `out_g = Σ_j p_g[j]·v_j / sum_g` for the `G` query heads from `g0`,
    /// L channels at a time: the G·L sums stay in registers while the values
    /// stream past, each value loaded once for the G heads. Returns `G`.
    #[inline(always)]
    fn heads<const FMA: bool, const G: usize>(
        &self,
        g0: usize,
        sums: &[f32],
        out: impl Fn(usize) -> *mut f32,
    ) -> usize {
        let (d, n) = (self.d, self.n);
        let p = |g: usize| &self.p[(g0 + g) * n..][..n];
        let whole = d / L * L;
        for c in (0..whole).step_by(L) {
            let mut acc = [[0f32; L]; G];
            for (jj, j) in self.visible.clone().enumerate() {
                let val = &self.v[j * d + c..][..L];
                for (g, acc) in acc.iter_mut().enumerate() {
                    let w = p(g)[jj];
                    for l in 0..L {
                        acc[l] = madd::<FMA>(w, val[l], acc[l]);
                    }
                }
            }
            for (g, acc) in acc.iter().enumerate() {
                for (l, a) in acc.iter().enumerate() {
                    // SAFETY: `out(g)` is head g's row of d values
                    unsafe { *out(g).add(c + l) = a / sums[g] };
                }
            }
        }
        for c in whole..d {
            for (g, sum) in sums.iter().enumerate().take(G) {
                let mix = (self.visible.clone().zip(p(g)))
                    .fold(0.0, |a, (j, &w)| madd::<FMA>(w, self.v[j * d + c], a));
                // SAFETY: as above
                unsafe { *out(g).add(c) = mix / sum };
            }
        }
        G
    }
}

#[cfg(test)]
mod tests {
    use super::super::rng_vec;
    use super::*;

    /// Shapes the models have (SmolLM2's 64-wide heads in 3 groups of 3,
    /// Gemma 3's 256-wide one in a window, Phi-3's 96, Qwen 2.5's groups of
    /// 7: 4 heads and 3 in the weighted sums) and odd ones: a head
    /// width no lane count divides, a prompt continuing a cache, a window
    /// shorter than the prompt, one decoded token; keys and values packed or
    /// read in a cache with spare positions (NaN: reading one would show);
    /// every kernel choice against the f64 twin.
    #[test]
    fn fused_attention_equals_its_plain_twin() {
        // (kv_heads, group, queries, start, head_dim, window, spare positions)
        let shapes = [
            (3, 3, 37, 0, 64, None, 0),
            (3, 3, 20, 17, 64, None, 9),
            (3, 3, 1, 50, 64, None, 13),
            (1, 4, 40, 5, 256, Some(16), 0),
            (1, 4, 1, 40, 256, Some(16), 3),
            (2, 1, 33, 0, 96, None, 0),
            (2, 2, 9, 3, 20, Some(4), 5),
            (2, 7, 12, 3, 64, None, 2),
        ];
        for (kv_heads, group, queries, start, head_dim, window, spare) in shapes {
            let shape = AttentionShape {
                kv_heads,
                group,
                queries,
                start,
                head_dim,
                window,
                scale: 1.0 / (head_dim as f32).sqrt(),
                kv_stride: start + queries + spare,
            };
            let rows = kv_heads * group * queries * head_dim;
            let kv = kv_heads * shape.kv_stride * head_dim;
            let q = rng_vec(1, rows, 2.0);
            let (mut k, mut v) = (rng_vec(2, kv, 2.0), rng_vec(3, kv, 1.0));
            for (i, (k, v)) in k.iter_mut().zip(&mut v).enumerate() {
                if i / head_dim % shape.kv_stride >= shape.keys() {
                    (*k, *v) = (f32::NAN, f32::NAN);
                }
            }
            let want = attention_ref(&q, &k, &v, &shape);
            for kernels in Kernels::ALL {
                let mut got = vec![f32::NAN; rows];
                attention_f32(&q, &k, &v, &mut got, &shape, kernels);
                // outputs are averages of values in [-1, 1]: f32 sums of a
                // few dozen terms and an exp within an epsilon stay within
                // 1e-6 (measured 2.7e-7)
                let worst = (got.iter().zip(&want))
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-6, "{shape:?} {kernels}: {worst}");
                assert!(got.iter().all(|x| x.is_finite()), "{shape:?} {kernels}");
            }
        }
    }

    #[test]
    fn a_window_hides_the_keys_too_far_back() {
        let shape = AttentionShape {
            kv_heads: 1,
            group: 1,
            queries: 6,
            start: 4,
            head_dim: 4,
            window: Some(3),
            scale: 0.5,
            kv_stride: 10,
        };
        assert_eq!(shape.visible(0), 2..5);
        assert_eq!(shape.visible(5), 7..10);
        let causal = AttentionShape {
            window: None,
            ..shape
        };
        assert_eq!(causal.visible(0), 0..5);
    }
}
