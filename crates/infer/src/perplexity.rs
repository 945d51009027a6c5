//! Perplexity and KL divergence: how well a model predicts a text, and how far
//! a changed model (quantized, pruned, run with a quantized cache) has moved
//! from the original.
//!
//! `ppl = exp(mean over scored tokens of −log p(token | tokens before it))`.
//! A model that always put probability 1 on the right token would score 1; a
//! uniform guess over SmolLM2's 49,152 tokens would score 49,152.
//!
//! The protocol is llama.cpp's `llama-perplexity`, so the numbers compare:
//! the tokens are cut into non-overlapping chunks of `ctx` tokens; each chunk
//! is evaluated on its own (fresh cache), its first token replaced by BOS when
//! the model adds one; only the second half of each chunk is scored, so every
//! scored token has at least `ctx/2` tokens of context.
//!
//! Perplexity only looks at the probability of the *right* token. The KL
//! divergence `KL(base ‖ model) = Σ_v p_base(v) · (log p_base(v) − log p(v))`
//! compares the *whole* next-token distribution with the base model's, at
//! every scored position: it sees changes that happen to cancel out in
//! perplexity, and it is the number llama.cpp reports for quantized models.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{KvCache, Llama, NoCache};
use serde::Serialize;

/// How a text is cut and evaluated.
#[derive(Clone, Copy)]
pub struct PerplexityOptions<'a> {
    /// Tokens per chunk (llama-perplexity's `-c`).
    pub ctx: usize,
    /// The id to put at the start of each chunk, if the model uses one.
    pub bos: Option<u32>,
    /// Builds the KV cache each chunk is evaluated through (a quantized cache
    /// changes the numbers). `None`: no cache, the chunk is seen at once.
    pub new_cache: Option<&'a dyn Fn() -> Box<dyn KvCache>>,
}

impl PerplexityOptions<'_> {
    pub fn new(ctx: usize, bos: Option<u32>) -> Self {
        PerplexityOptions {
            ctx,
            bos,
            new_cache: None,
        }
    }
}

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
    #[error(
        "the base log-probabilities were computed for {base_tokens} tokens with ctx {base_ctx}, not {tokens} tokens with ctx {ctx}: score the same text with the same --ctx"
    )]
    BaseMismatch {
        base_tokens: usize,
        base_ctx: usize,
        tokens: usize,
        ctx: usize,
    },
    #[error(
        "the base model has a vocabulary of {base} tokens, this one {model}: KL divergence needs the same tokenizer"
    )]
    VocabMismatch { base: usize, model: usize },
}

/// Checks the options against the text; returns the number of chunks.
fn chunk_count(tokens: &[u32], ctx: usize) -> Result<usize, PerplexityError> {
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
    Ok(n_chunks)
}

// ANCHOR: chunk_log_probs
/// Evaluates chunk `c` and returns the log-probabilities the model gives to
/// every vocabulary entry at each scored position, `[n, vocab]`, with the ids
/// of the tokens that actually came next, `[n]`.
fn chunk_log_probs(
    model: &Llama,
    tokens: &[u32],
    c: usize,
    opts: &PerplexityOptions,
    device: &Device,
) -> (Tensor<2>, Tensor<1, Int>) {
    let ctx = opts.ctx;
    let first = ctx / 2; // positions before `first` are context only
    let mut chunk = tokens[c * ctx..(c + 1) * ctx].to_vec();
    if let Some(bos) = opts.bos {
        chunk[0] = bos;
    }
    let log_probs = next_token_log_probs(model, &chunk, opts.new_cache, device); // [ctx, vocab]
    // row j predicts token j+1: score j in first..ctx-1
    let n = ctx - 1 - first;
    let scored = log_probs.narrow(0, first, n); // [n, vocab]
    let next: Vec<i64> = tokens[c * ctx + first + 1..(c + 1) * ctx]
        .iter()
        .map(|&t| t as i64)
        .collect();
    let next = Tensor::<1, Int>::from_data(TensorData::new(next, [n]), device);
    (scored, next)
}

/// `log p(· | tokens[..=j])` for every position `j`, `[len, vocab]`: the
/// whole sequence in one forward pass (through a fresh cache from
/// `new_cache`, or none). What perplexity scores, and the reference for the
/// log-probabilities a generation reports ([`crate::logprobs`]).
pub fn next_token_log_probs(
    model: &Llama,
    tokens: &[u32],
    new_cache: Option<&dyn Fn() -> Box<dyn KvCache>>,
    device: &Device,
) -> Tensor<2> {
    let len = tokens.len();
    let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, len]), device);
    let logits = match new_cache {
        Some(new_cache) => model.forward(input, 0, new_cache().as_mut()),
        None => model.forward(input, 0, &mut NoCache),
    }; // [1, len, vocab]
    let [_, _, vocab] = logits.dims();
    log_softmax(logits.reshape([len, vocab]), 1)
}

/// `−log p(next)` for each scored position: `[n]`.
fn token_nll(log_probs: Tensor<2>, next: Tensor<1, Int>) -> Vec<f64> {
    let n = next.dims()[0];
    let picked = log_probs.gather(1, next.reshape([n, 1])); // [n, 1]
    to_f64(picked).into_iter().map(|lp| -lp).collect::<Vec<_>>()
}
// ANCHOR_END: chunk_log_probs

fn to_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    let values = t.into_data().try_to_vec::<f32>().expect("f32 tensor");
    values.into_iter().map(f64::from).collect()
}

// ANCHOR: perplexity
/// Scores `tokens` with non-overlapping chunks of `opts.ctx` tokens.
/// `on_chunk` is called with (chunks done, chunks total, running ppl).
pub fn perplexity(
    model: &Llama,
    tokens: &[u32],
    opts: &PerplexityOptions,
    device: &Device,
    mut on_chunk: impl FnMut(usize, usize, f64),
) -> Result<Perplexity, PerplexityError> {
    let n_chunks = chunk_count(tokens, opts.ctx)?;
    let (mut nll_sum, mut count, mut running) = (0.0f64, 0usize, Vec::new());
    for c in 0..n_chunks {
        let (log_probs, next) = chunk_log_probs(model, tokens, c, opts, device);
        let nll = token_nll(log_probs, next);
        nll_sum += nll.iter().sum::<f64>();
        count += nll.len();
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

/// The base model's full next-token distributions over a text, kept in
/// memory so that many changed models can be compared with one base run
/// (`[n, vocab]` f32 per chunk: ~50 MB per 512-token chunk for SmolLM2).
pub struct BaseLogProbs {
    ctx: usize,
    n_tokens: usize,
    chunks: Vec<Tensor<2>>,
    /// The base model's own perplexity on the text.
    pub perplexity: Perplexity,
}

/// Runs the base model over the text once and keeps its log-probabilities.
pub fn base_log_probs(
    base: &Llama,
    tokens: &[u32],
    opts: &PerplexityOptions,
    device: &Device,
    mut on_chunk: impl FnMut(usize, usize, f64),
) -> Result<BaseLogProbs, PerplexityError> {
    let n_chunks = chunk_count(tokens, opts.ctx)?;
    let (mut chunks, mut nll_sum, mut count, mut running) = (Vec::new(), 0.0, 0, Vec::new());
    for c in 0..n_chunks {
        let (log_probs, next) = chunk_log_probs(base, tokens, c, opts, device);
        let nll = token_nll(log_probs.clone(), next);
        nll_sum += nll.iter().sum::<f64>();
        count += nll.len();
        running.push((nll_sum / count as f64).exp());
        on_chunk(c + 1, n_chunks, *running.last().unwrap());
        chunks.push(log_probs);
    }
    let nll = nll_sum / count as f64;
    Ok(BaseLogProbs {
        ctx: opts.ctx,
        n_tokens: tokens.len(),
        chunks,
        perplexity: Perplexity {
            ppl: nll.exp(),
            nll,
            tokens_scored: count,
            chunks: n_chunks,
            running,
        },
    })
}

/// What llama-perplexity's `--kl-divergence` prints, for one model against
/// the base.
#[derive(Debug, Clone, Serialize)]
pub struct KlDivergence {
    pub ppl_base: f64,
    pub ppl: f64,
    /// `ppl − ppl_base`.
    pub delta_ppl: f64,
    /// Mean of `ln(ppl) − ln(ppl_base)` per token: how much worse, in nats.
    pub mean_ln_ppl_ratio: f64,
    /// KL(base ‖ model) in nats, averaged over the scored positions.
    pub kld_mean: f64,
    pub kld_median: f64,
    pub kld_p99: f64,
    pub kld_max: f64,
    /// How often both models put the same token first, in percent.
    pub same_top_pct: f64,
    pub tokens_scored: usize,
}

// ANCHOR: kl_divergence
/// Compares `model`'s next-token distributions with the base run's.
/// `on_chunk` gets (chunks done, chunks total, running mean KLD).
pub fn kl_divergence(
    base: &BaseLogProbs,
    model: &Llama,
    tokens: &[u32],
    opts: &PerplexityOptions,
    device: &Device,
    mut on_chunk: impl FnMut(usize, usize, f64),
) -> Result<KlDivergence, PerplexityError> {
    if base.ctx != opts.ctx || base.n_tokens != tokens.len() {
        return Err(PerplexityError::BaseMismatch {
            base_tokens: base.n_tokens,
            base_ctx: base.ctx,
            tokens: tokens.len(),
            ctx: opts.ctx,
        });
    }
    let (mut kld, mut nll_sum, mut same_top) = (Vec::new(), 0.0, 0usize);
    let n_chunks = base.chunks.len();
    for (c, p) in base.chunks.iter().enumerate() {
        let (q, next) = chunk_log_probs(model, tokens, c, opts, device); // [n, vocab]
        let (base_vocab, vocab) = (p.dims()[1], q.dims()[1]);
        if base_vocab != vocab {
            return Err(PerplexityError::VocabMismatch {
                base: base_vocab,
                model: vocab,
            });
        }
        // KL(P‖Q) = Σ_v P(v) (log P(v) − log Q(v)), one value per position
        let kl = (p.clone().exp() * (p.clone() - q.clone())).sum_dim(1); // [n, 1]
        kld.extend(to_f64(kl));
        let same = p.clone().argmax(1).equal(q.clone().argmax(1)); // [n, 1]
        let same = same
            .int()
            .sum()
            .try_into_vec_as::<i64>()
            .expect("int tensor");
        same_top += same[0] as usize;
        nll_sum += token_nll(q, next).iter().sum::<f64>();
        on_chunk(c + 1, n_chunks, kld.iter().sum::<f64>() / kld.len() as f64);
    }
    let n = kld.len();
    let nll = nll_sum / n as f64;
    let mut sorted = kld.clone();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| sorted[((n - 1) as f64 * q).round() as usize];
    Ok(KlDivergence {
        ppl_base: base.perplexity.ppl,
        ppl: nll.exp(),
        delta_ppl: nll.exp() - base.perplexity.ppl,
        mean_ln_ppl_ratio: nll - base.perplexity.nll,
        kld_mean: kld.iter().sum::<f64>() / n as f64,
        kld_median: quantile(0.5),
        kld_p99: quantile(0.99),
        kld_max: sorted[n - 1],
        same_top_pct: 100.0 * same_top as f64 / n as f64,
        tokens_scored: n,
    })
}
// ANCHOR_END: kl_divergence
