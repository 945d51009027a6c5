//! Chapter 18 exercise: greedy decoding, softmax, and the top-p cut.
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
    // TODO: the id of the largest logit; the lowest id on a tie.
    let _ = logits;
    todo!("the index of the highest logit")
}

/// The probabilities of the logits, in the same order; at least one logit is
/// finite.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    // TODO: probabilities that sum to 1, even for very large logits.
    let _ = logits;
    todo!("probabilities that add up to 1")
}

/// How many of `sorted_probs` (probabilities, best first) top-p keeps: the
/// smallest count whose probabilities add up to at least `p`, and at least
/// one. A `p` of 1 or more turns the cut off: everything is kept, and so is
/// everything when rounding keeps the sum of all of them below `p`.
pub fn top_p_keep(sorted_probs: &[f32], p: f32) -> usize {
    // TODO: how many of the most likely tokens reach a total of p.
    let _ = (sorted_probs, p);
    todo!("the size of the nucleus")
}
