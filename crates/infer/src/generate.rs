//! The generation loop: prefill the prompt once, then one token at a time.
//!
//! Two phases with different costs. *Prefill* pushes the whole prompt through
//! the model in one batch and fills the KV cache; its speed decides the time
//! to first token (TTFT). *Decode* feeds back one sampled token per step; each
//! step reads every weight once, so its speed is bounded by memory bandwidth.

use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{KvCache, Llama, NoCache};

use crate::constrained::{Allowed, TokenConstraint};
use crate::kv_cache::{HostCache, PreallocatedCache, SessionCache};
use crate::logprobs::{TokenLogprobs, token_logprobs};
use crate::quantized_cache::{CacheError, CacheTypes};
use crate::sampler::{Sampler, SamplerConfig};
use crate::stats::{GenerationStats, StatsRecorder};

/// Prompt tokens computed per forward pass (llama.cpp's default `n_ubatch`).
/// Memory for one pass grows with this times the context, so it bounds the
/// scratch memory of a long prompt (`locallm-sizing` counts on it).
pub const PREFILL_BATCH: usize = 512;

/// What to generate and when to stop.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_tokens: usize,
    pub sampler: SamplerConfig,
    /// Ids that end the answer (EOS, `<|im_end|>`); they are not yielded.
    pub stop_tokens: Vec<u32>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_tokens: 256,
            sampler: SamplerConfig::default(),
            stop_tokens: Vec::new(),
        }
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A stop token was sampled.
    Stop,
    /// `max_tokens` were generated.
    Length,
    /// The KV cache (the context window) is full.
    Context,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("the prompt has {prompt} tokens but the context holds {context}")]
    PromptTooLong { prompt: usize, context: usize },
    #[error("token id {id} is outside the vocabulary of {vocab}")]
    BadToken { id: u32, vocab: usize },
    #[error(transparent)]
    Sampler(#[from] crate::sampler::SamplerError),
}

/// A model plus a KV cache that outlives single answers: each new prompt
/// reuses the cached prefix it shares with what the cache already holds (the
/// previous turns of a chat) — "prompt caching".
pub struct Session<'m> {
    pub(crate) model: &'m Llama,
    pub(crate) cache: Box<dyn SessionCache>,
    types: CacheTypes,
    /// The tokens whose keys/values are in `cache`, in order.
    pub(crate) tokens: Vec<u32>,
    pub(crate) device: Device,
}

impl<'m> Session<'m> {
    /// A session with an f32 cache of `context` positions: in host memory
    /// for a model on the fast path (its fused attention reads it in place),
    /// else burn tensors.
    pub fn new(model: &'m Llama, context: usize, device: &Device) -> Self {
        let cache: Box<dyn SessionCache> = match model.runs_fused() {
            true => Box::new(HostCache::new(&model.config, context, device)),
            false => Box::new(PreallocatedCache::new(&model.config, 1, context, device)),
        };
        Self::with_cache(model, cache, CacheTypes::default(), device)
    }

    /// A session whose cache stores keys and values as `types` (f16, Q8_0 or
    /// Q4_0 blocks: llama.cpp's `--cache-type-k/--cache-type-v`).
    pub fn with_cache_types(
        model: &'m Llama,
        context: usize,
        types: CacheTypes,
        device: &Device,
    ) -> Result<Self, CacheError> {
        if types.is_f32() {
            return Ok(Self::new(model, context, device));
        }
        let cache = types.new_cache(&model.config, 1, context, device)?;
        Ok(Self::with_cache(model, cache, types, device))
    }

    fn with_cache(
        model: &'m Llama,
        cache: Box<dyn SessionCache>,
        types: CacheTypes,
        device: &Device,
    ) -> Self {
        Session {
            model,
            cache,
            types,
            tokens: Vec::new(),
            device: device.clone(),
        }
    }

    /// The context size (positions the cache holds).
    pub fn context(&self) -> usize {
        self.cache.capacity()
    }

    /// Bytes held by the KV cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// How the cache stores keys and values.
    pub fn cache_types(&self) -> CacheTypes {
        self.types
    }

    /// Bytes of KV cache one position takes (keys and values, all layers).
    pub fn cache_bytes_per_token(&self) -> usize {
        self.cache.bytes() / self.cache.capacity().max(1)
    }

    /// The tokens whose keys/values the cache holds, in order (the last
    /// prompt and answer): what a new prompt's prefix is compared with.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// The checks [`Session::generate`] makes before it computes anything:
    /// a prompt that is not empty, fits the context and holds only ids of
    /// the vocabulary, and sampling options that make sense. Returns the
    /// sampler the options describe.
    pub fn check(&self, prompt: &[u32], opts: &GenerateOptions) -> Result<Sampler, GenerateError> {
        if prompt.is_empty() {
            return Err(GenerateError::EmptyPrompt);
        }
        if prompt.len() > self.context() {
            return Err(GenerateError::PromptTooLong {
                prompt: prompt.len(),
                context: self.context(),
            });
        }
        let vocab = self.model.config.vocab_size;
        if let Some(&id) = prompt.iter().find(|&&id| id as usize >= vocab) {
            return Err(GenerateError::BadToken { id, vocab });
        }
        Ok(Sampler::new(opts.sampler.clone())?)
    }

    /// Starts generating a continuation of `prompt`; the returned iterator
    /// yields token ids as they are sampled.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        opts: GenerateOptions,
    ) -> Result<Generation<'_, 'm>, GenerateError> {
        self.start(prompt, opts, false)
    }

    /// [`Session::generate`] for a generation that decodes in a batch with
    /// others ([`crate::batch::step`]): the prompt is computed but for its
    /// last token, which waits to go through the first decode step with the
    /// other sequences' tokens. A request's first token is then computed
    /// the same way whether its prompt was cached or not (one row, on top of
    /// the same prefix), so its text does not depend on which slot served it.
    pub fn generate_batched(
        &mut self,
        prompt: &[u32],
        opts: GenerateOptions,
    ) -> Result<Generation<'_, 'm>, GenerateError> {
        self.start(prompt, opts, true)
    }

    fn start(
        &mut self,
        prompt: &[u32],
        opts: GenerateOptions,
        defer_last: bool,
    ) -> Result<Generation<'_, 'm>, GenerateError> {
        let stats = StatsRecorder::start();
        let sampler = self.check(prompt, &opts)?;

        // ANCHOR: prefix_reuse
        // reuse the longest cached prefix, but always prefill at least one token
        let reused = common_prefix(&self.tokens, prompt).min(prompt.len() - 1);
        self.cache.truncate(reused);
        self.tokens.truncate(reused);
        // A long prompt goes through in batches: one pass holds attention
        // scores for every (head, new position, cached position), so the
        // memory of a pass grows with batch × context, not context².
        let (computed, pending) = match defer_last {
            true => (&prompt[reused..prompt.len() - 1], prompt.last().copied()),
            false => (&prompt[reused..], None),
        };
        let mut logits = None;
        for batch in computed.chunks(PREFILL_BATCH) {
            logits = Some(self.feed(batch));
        }
        // ANCHOR_END: prefix_reuse
        let mut stats = stats;
        stats.prompt_done(prompt.len() - reused);
        Ok(Generation {
            session: self,
            sampler,
            opts,
            logits,
            pending,
            generated: 0,
            finish: None,
            stats,
            reused,
            constraint: None,
            logprobs: None,
            last_logprobs: None,
        })
    }

    // ANCHOR: feed
    /// Runs `tokens` (positions `len..len+n`) through the model, appending
    /// their keys/values to the cache; returns the last position's logits.
    fn feed(&mut self, tokens: &[u32]) -> Vec<f32> {
        let start = self.tokens.len();
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let input =
            Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), &self.device);
        let (model, cache) = (self.model, self.cache.as_mut());
        // The forward pass runs on a thread of rayon's pool, so the parallel
        // loops inside it (the quantized kernels, burn's CPU ops) start on a
        // thread that is already in the pool instead of handing each of the
        // ~200 loops of a token over from this one and waiting.
        let logits = rayon::scope(|_| model.forward_last(input, start, cache)); // [1, vocab]
        self.tokens.extend_from_slice(tokens);
        logits.into_data().try_to_vec::<f32>().expect("f32 logits")
    }
    // ANCHOR_END: feed
}

/// A generation in progress. Iterate it to get token ids; when it ends,
/// [`Generation::finish_reason`] and [`Generation::stats`] tell why and how fast.
pub struct Generation<'s, 'm> {
    pub(crate) session: &'s mut Session<'m>,
    sampler: Sampler,
    opts: GenerateOptions,
    /// Logits for the next position, if already computed.
    logits: Option<Vec<f32>>,
    /// The last yielded token, not yet fed back into the model.
    pending: Option<u32>,
    generated: usize,
    finish: Option<FinishReason>,
    stats: StatsRecorder,
    reused: usize,
    /// Only tokens that keep the answer valid JSON (`response_format`) or
    /// valid under a GBNF grammar.
    constraint: Option<Box<dyn TokenConstraint>>,
    /// With `Some(top)`, each token's log-probability and the `top` best
    /// alternatives are kept in `last_logprobs`.
    logprobs: Option<usize>,
    last_logprobs: Option<TokenLogprobs>,
}

// ANCHOR: decode_step
impl Iterator for Generation<'_, '_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        // feed back the previous token (lazily: the caller may stop early)
        if let Some(token) = self.next_input() {
            let logits = self.session.feed(&[token]);
            self.fed(logits);
        }
        if self.finish.is_some() {
            return None;
        }
        let mut logits = self.logits.take()?;
        // the model's own distribution, before the mask and the sampler
        let raw = self.logprobs.map(|_| logits.clone());
        if let Some(constraint) = &self.constraint {
            // the grammar's mask: rejected tokens get -inf
            if constraint.mask(&mut logits, &self.opts.stop_tokens) == Allowed::End {
                self.finish = Some(FinishReason::Stop);
                return None;
            }
        }
        let token = self.sampler.sample(&logits, &self.session.tokens);
        if self.opts.stop_tokens.contains(&token) {
            self.finish = Some(FinishReason::Stop);
            return None;
        }
        if let Some(constraint) = &mut self.constraint {
            constraint.accept(token);
        }
        if let (Some(raw), Some(top)) = (raw, self.logprobs) {
            self.last_logprobs = Some(token_logprobs(&raw, token, top));
        }
        self.generated += 1;
        self.stats.token();
        self.pending = Some(token);
        Some(token)
    }
}

impl<'s, 'm> Generation<'s, 'm> {
    /// The token that must go through the model before the next one can be
    /// sampled, if any; first ends the generation if it is over
    /// (`max_tokens` reached, or no room left in the context).
    pub(crate) fn next_input(&mut self) -> Option<u32> {
        if self.finish.is_some() {
            return None;
        }
        if self.generated == self.opts.max_tokens {
            self.finish = Some(FinishReason::Length);
            return None;
        }
        let token = self.pending?;
        if self.session.tokens.len() == self.session.context() {
            self.finish = Some(FinishReason::Context);
            return None;
        }
        Some(token)
    }

    /// The token of [`Generation::next_input`] has gone through the model
    /// (its keys/values are in the cache): `logits` are for the next position.
    pub(crate) fn fed(&mut self, logits: Vec<f32>) {
        self.pending = None;
        self.logits = Some(logits);
    }

    /// The session, to start another generation in it when this one is over.
    pub fn into_session(self) -> &'s mut Session<'m> {
        self.session
    }
}
// ANCHOR_END: decode_step

impl Generation<'_, '_> {
    /// From now on, sample only tokens that `constraint` allows: the
    /// answer will be valid JSON, or valid under a GBNF grammar (see
    /// [`crate::constrained`]).
    pub fn with_constraint(mut self, constraint: impl Into<Box<dyn TokenConstraint>>) -> Self {
        self.constraint = Some(constraint.into());
        self
    }
    /// From now on, keep each token's log-probability and the `top` most
    /// likely tokens at its position ([`Generation::last_logprobs`]).
    pub fn with_logprobs(mut self, top: usize) -> Self {
        self.logprobs = Some(top);
        self
    }
    /// The log-probabilities of the token `next` returned last (with
    /// [`Generation::with_logprobs`]): the model's, before any sampling
    /// stage (see [`crate::logprobs`]).
    pub fn last_logprobs(&self) -> Option<&TokenLogprobs> {
        self.last_logprobs.as_ref()
    }
    /// Why generation stopped (`None` while it is still running).
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish
    }
    /// Timings and counts so far.
    pub fn stats(&self) -> GenerationStats {
        self.stats.finish()
    }
    /// Prompt tokens whose keys/values were reused from the previous turn.
    pub fn reused_tokens(&self) -> usize {
        self.reused
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

// ANCHOR: generate_uncached
/// The plain twin of [`Session::generate`] with greedy decoding: no cache,
/// the whole sequence recomputed for every new token. Quadratic and slow;
/// kept as the reference the cached loop must reproduce exactly.
pub fn generate_greedy_uncached(
    model: &Llama,
    prompt: &[u32],
    max_tokens: usize,
    device: &Device,
) -> Vec<u32> {
    let mut tokens = prompt.to_vec();
    for _ in 0..max_tokens {
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), device);
        let logits = model.forward_last(input, 0, &mut NoCache); // [1, vocab]
        let next = logits.argmax(1).try_into_vec_as::<i64>().expect("int ids")[0] as u32;
        tokens.push(next);
    }
    tokens.split_off(prompt.len())
}
// ANCHOR_END: generate_uncached

/// Logits of the last position of `tokens` computed from scratch — handy for
/// tests and for checking a cache implementation.
pub fn last_logits(
    model: &Llama,
    tokens: &[u32],
    cache: &mut dyn KvCache,
    start: usize,
    device: &Device,
) -> Vec<f32> {
    let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), device);
    model
        .forward_last(input, start, cache)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 logits")
}
