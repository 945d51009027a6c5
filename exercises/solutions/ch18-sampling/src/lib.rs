//! Chapter 18 exercise, solved: greedy decoding, softmax, and the top-p cut.
//!
//! For every position the model gives one score, a *logit*, per token of the
//! vocabulary. A sampler turns that row of logits into one token:
//!
//! - **greedy** decoding takes the token with the highest logit. When two
//!   logits are equal it takes the lower id, so that a run never depends on
//!   the order a sort happened to leave them in;
//! - **softmax** turns logits into probabilities: `exp(l_i) / Σ exp(l_j)`.
//!   Subtract the largest logit from every logit first: the result is the
//!   same, and `exp` can no longer overflow (`exp(100.0_f32)` is infinite);
//! - **top-p** (nucleus sampling) keeps only the most likely tokens: with the
//!   probabilities sorted best first, the smallest number of them whose sum
//!   reaches `p`. The rest, the long tail of unlikely tokens, cannot be drawn.
//!
//! Check your work with `./check.sh ch18-sampling` (from `exercises/`). The
//! tests compare your functions with `locallm-infer`'s sampler on random
//! logits, and check that its sampler never draws a token outside your nucleus.

/// The id (index) of the highest logit; the lowest such id on a tie, 0 for an
/// empty slice. Logits are finite numbers or `-inf`.
pub fn greedy(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (id, &logit) in logits.iter().enumerate() {
        if logit > logits[best] {
            best = id;
        }
    }
    best as u32
}

/// The probabilities of the logits, in the same order; at least one logit is
/// finite.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// How many of `sorted_probs` (probabilities, best first) top-p keeps: the
/// smallest count whose probabilities add up to at least `p`, and at least
/// one. A `p` of 1 or more turns the cut off: everything is kept.
pub fn top_p_keep(sorted_probs: &[f32], p: f32) -> usize {
    if p >= 1.0 {
        return sorted_probs.len();
    }
    let mut mass = 0.0;
    for (i, &prob) in sorted_probs.iter().enumerate() {
        mass += prob;
        if mass >= p {
            return i + 1;
        }
    }
    sorted_probs.len()
}
