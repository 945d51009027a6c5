//! Perplexity: how surprised the model is by a text, the standard quality number.
//!
//! `ppl = exp(mean over scored tokens of −log p(token | tokens before it))`.
//! A model that always put probability 1 on the right token would score 1; a
//! uniform guess over SmolLM2's 49,152 tokens would score 49,152.
//!
//! The protocol is llama.cpp's `llama-perplexity`, so the two numbers compare:
//! the tokens are cut into non-overlapping chunks of `ctx` tokens; each chunk
//! is evaluated on its own (fresh cache), its first token replaced by BOS when
//! the model adds one; only the second half of each chunk is scored, so every
//! scored token has at least `ctx/2` tokens of context.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{Llama, NoCache};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Perplexity {
    pub ppl: f64,
    /// Mean negative log-likelihood per scored token (nats).
    pub nll: f64,
    pub tokens_scored: usize,
    pub chunks: usize,
    /// The running perplexity after each chunk, as llama-perplexity prints it.
    pub running: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PerplexityError {
    #[error("the text has {tokens} tokens; perplexity with --ctx {ctx} needs at least {} (two chunks' worth)", 2 * ctx)]
    TooShort { tokens: usize, ctx: usize },
    #[error("--ctx must be at least 4, got {0}")]
    CtxTooSmall(usize),
}

// ANCHOR: perplexity
/// Scores `tokens` with non-overlapping chunks of `ctx` tokens.
/// `bos`: the id to put at the start of each chunk, if the model uses one.
/// `on_chunk` is called with (chunks done, chunks total, running ppl).
pub fn perplexity(
    model: &Llama,
    tokens: &[u32],
    ctx: usize,
    bos: Option<u32>,
    device: &Device,
    mut on_chunk: impl FnMut(usize, usize, f64),
) -> Result<Perplexity, PerplexityError> {
    if ctx < 4 {
        return Err(PerplexityError::CtxTooSmall(ctx));
    }
    let n_chunks = tokens.len() / ctx;
    if n_chunks < 2 {
        return Err(PerplexityError::TooShort {
            tokens: tokens.len(),
            ctx,
        });
    }
    let first = ctx / 2; // positions before `first` are context only
    let (mut nll_sum, mut count, mut running) = (0.0f64, 0usize, Vec::new());
    for c in 0..n_chunks {
        let mut chunk: Vec<i64> = tokens[c * ctx..(c + 1) * ctx]
            .iter()
            .map(|&t| t as i64)
            .collect();
        if let Some(bos) = bos {
            chunk[0] = bos as i64;
        }
        let input = Tensor::<2, Int>::from_data(TensorData::new(chunk, [1, ctx]), device);
        // logits at position j predict token j+1: score j in first..ctx-1
        let logits = model.forward(input, 0, &mut NoCache); // [1, ctx, vocab]
        let scored = logits.narrow(1, first, ctx - 1 - first); // [1, n, vocab]
        let log_probs = log_softmax(scored, 2);
        let targets: Vec<i64> = tokens[c * ctx + first + 1..(c + 1) * ctx]
            .iter()
            .map(|&t| t as i64)
            .collect();
        let n = targets.len();
        let targets = Tensor::<3, Int>::from_data(TensorData::new(targets, [1, n, 1]), device);
        let picked = log_probs.gather(2, targets); // [1, n, 1]: log p(actual next token)
        let values = picked.into_data().try_to_vec::<f32>().expect("f32 logits");
        nll_sum -= values.iter().map(|&v| v as f64).sum::<f64>();
        count += n;
        running.push((nll_sum / count as f64).exp());
        on_chunk(c + 1, n_chunks, *running.last().unwrap());
    }
    let nll = nll_sum / count as f64;
    Ok(Perplexity {
        ppl: nll.exp(),
        nll,
        tokens_scored: count,
        chunks: n_chunks,
        running,
    })
}
// ANCHOR_END: perplexity
