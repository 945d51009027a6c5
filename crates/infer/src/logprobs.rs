//! Log-probabilities: the model's view of the next token, as the APIs'
//! `logprobs` report it.
//!
//! Which distribution? The model's own: `log softmax(logits)` over the whole
//! vocabulary, before anything the request changes (logit bias, penalties,
//! top-k/top-p/min-p, temperature, a JSON grammar's mask). That is what the
//! OpenAI API reports, and the same numbers perplexity scores
//! ([`crate::perplexity::next_token_log_probs`]), so a client can use them to
//! score text. llama.cpp's server reports the same by default and the
//! sampler's post-filter probabilities with `post_sampling_probs`; ours are
//! [`crate::Sampler::probabilities`].
//!
//! With greedy decoding the chosen token is the top one; with sampling it
//! may be any token the sampler kept, and its log-probability says how
//! surprising the model found it.

use crate::sampler::{Candidate, candidates};

/// One generated token: its log-probability and the `top` most likely
/// tokens at that position (best first, ties by lowest id).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprobs {
    pub id: u32,
    pub logprob: f32,
    pub top: Vec<(u32, f32)>,
}

// ANCHOR: token_logprobs
/// `log softmax(logits)` at `chosen` and at the `top` best tokens. The sum
/// runs in f64 after subtracting the largest logit, so it cannot overflow;
/// NaN logits count as `-inf` (as in the sampler).
pub fn token_logprobs(logits: &[f32], chosen: u32, top: usize) -> TokenLogprobs {
    let cands = candidates(logits);
    let max = cands.iter().map(|c| c.1).fold(f32::NEG_INFINITY, f32::max);
    // log p = logit - max - log Σ exp(logit - max)
    let log_z = if max == f32::NEG_INFINITY {
        0.0 // nothing to go by: every token -inf
    } else {
        let sum: f64 = cands.iter().map(|c| f64::from(c.1 - max).exp()).sum();
        f64::from(max) + sum.ln()
    };
    let logprob = |logit: f32| (f64::from(logit) - log_z) as f32;
    let chosen_logit = cands
        .get(chosen as usize)
        .map_or(f32::NEG_INFINITY, |c| c.1);
    TokenLogprobs {
        id: chosen,
        logprob: logprob(chosen_logit),
        top: best(cands, top)
            .into_iter()
            .map(|(id, l)| (id, logprob(l)))
            .collect(),
    }
}
// ANCHOR_END: token_logprobs

/// The `n` highest logits, best first; equal logits by lowest id.
fn best(mut cands: Vec<Candidate>, n: usize) -> Vec<Candidate> {
    let order = |a: &Candidate, b: &Candidate| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if n == 0 {
        return Vec::new();
    }
    if n < cands.len() {
        cands.select_nth_unstable_by(n - 1, order);
        cands.truncate(n);
    }
    cands.sort_unstable_by(order);
    cands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_at_the_chosen_and_the_best_tokens() {
        // probabilities 0.1, 0.6, 0.3 (as logits shifted by 7: softmax ignores it)
        let logits: Vec<f32> = [0.1f64, 0.6, 0.3]
            .iter()
            .map(|p| p.ln() as f32 + 7.0)
            .collect();
        let lp = token_logprobs(&logits, 2, 2);
        assert_eq!(lp.id, 2);
        assert!((lp.logprob - 0.3f32.ln()).abs() < 1e-6, "{lp:?}");
        assert_eq!(lp.top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 2]);
        assert!((lp.top[0].1 - 0.6f32.ln()).abs() < 1e-6, "{lp:?}");
        // all of them, and none
        assert_eq!(token_logprobs(&logits, 0, 10).top.len(), 3);
        assert!(token_logprobs(&logits, 0, 0).top.is_empty());
    }

    #[test]
    fn huge_and_degenerate_logits_stay_finite_where_they_can() {
        let lp = token_logprobs(&[1000.0, 1000.0, f32::NAN, -1000.0], 0, 4);
        assert!((lp.logprob - 0.5f32.ln()).abs() < 1e-6);
        // ties by lowest id; NaN is -inf, the lowest of all
        let ids: Vec<u32> = lp.top.iter().map(|t| t.0).collect();
        assert_eq!(ids, vec![0, 1, 3, 2]);
        assert_eq!(lp.top[3].1, f32::NEG_INFINITY);
        // an id outside the vocabulary has probability 0
        assert_eq!(token_logprobs(&[0.0], 5, 1).logprob, f32::NEG_INFINITY);
    }
}
