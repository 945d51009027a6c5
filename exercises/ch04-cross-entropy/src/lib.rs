//! Chapter 4 exercise: the cross-entropy of a distribution, and perplexity.
//!
//! A language model gives, at each position, one logit per token of the
//! vocabulary; softmax turns them into probabilities `p_i = exp(l_i) / Σ exp(l_j)`.
//! The loss at that position is the cross-entropy with the token that really
//! came next: `−ln p_target`. Zero when the model was sure and right; large
//! when it gave the right token little probability.
//!
//! Compute it without overflow: `ln p_t = l_t − ln Σ exp(l_j)`, and
//! `ln Σ exp(l_j) = m + ln Σ exp(l_j − m)` with `m` the largest logit
//! (the "log-sum-exp" trick: `exp(1000.0_f32)` is infinite).
//!
//! Perplexity is `exp` of the mean loss: a model with perplexity 40 is as
//! unsure as if it picked uniformly among 40 tokens at every position.
//!
//! Check your work with `./check.sh ch04-cross-entropy` (from `exercises/`).

/// `−ln softmax(logits)[target]`, in nats.
pub fn cross_entropy(logits: &[f32], target: usize) -> f32 {
    // TODO: −ln p_target, computed so that no exp can overflow (the doc's trick).
    let _ = (logits, target);
    todo!("the loss of one position")
}

/// `exp(mean of losses)`.
pub fn perplexity(losses: &[f32]) -> f32 {
    // TODO: the mean of the losses, then exp.
    let _ = losses;
    todo!("perplexity")
}
