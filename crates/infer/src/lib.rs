//! # locallm-infer: from a model to text
//!
//! The model maps tokens to logits. Everything that turns that into an answer
//! lives here, in the order a token meets it:
//!
//! 1. [`kv_cache`] — keys and values of past positions, kept so that each new
//!    token costs the same as the first; [`quantized_cache`] stores them in
//!    f16, Q8_0 or Q4_0 blocks, for a fraction of the memory;
//! 2. [`generate`] — prefill, then the decode loop, as an iterator of tokens;
//!    [`batch`] — one decode step for several generations at once, each
//!    in its own session (continuous batching, as a server does);
//! 3. [`sampler`] — how one token is chosen from the logits; [`logprobs`] —
//!    the model's log-probabilities of the chosen token and its rivals;
//! 4. [`stats`] — prompt tokens, time to first token, tokens per second;
//! 5. [`perplexity`](mod@perplexity) — how well the model predicts a text;
//! 6. [`embed`] — one vector per text, from the final hidden states;
//! 7. [`json_grammar`] and [`constrained`] — structured output, as a
//!    sampler stage: a JSON Schema compiled to a grammar, a byte-level
//!    automaton that walks it, and the token mask built on that, so that
//!    the answer parses; [`gbnf`] — llama.cpp's grammar format, any
//!    language a user writes as rules, through the same token mask.
//!
//! Tool use (the call format, argument validation, the agent loop) is built
//! on this crate in `locallm-agent`.

pub mod batch;
pub mod constrained;
pub mod embed;
pub mod gbnf;
pub mod generate;
pub mod json_grammar;
pub mod kv_cache;
pub mod logprobs;
pub mod perplexity;
pub mod quantized_cache;
pub mod sampler;
pub mod stats;

pub use constrained::{
    ByteAutomaton, Constraint, GbnfConstraint, Grammar, JsonConstraint, TokenConstraint, TokenTrie,
};
pub use gbnf::{GbnfError, GbnfGrammar};
pub use generate::{
    FinishReason, GenerateError, GenerateOptions, Generation, PREFILL_BATCH, Session,
    generate_greedy_uncached,
};
pub use json_grammar::{JsonGrammar, SchemaError};
pub use kv_cache::{HostCache, PreallocatedCache, SessionCache};
pub use logprobs::{TokenLogprobs, token_logprobs};
pub use perplexity::{
    BaseLogProbs, KlDivergence, Perplexity, PerplexityError, PerplexityOptions, base_log_probs,
    kl_divergence, next_token_log_probs, perplexity,
};
pub use quantized_cache::{CacheError, CacheFactory, CacheType, CacheTypes, QuantizedCache};
pub use sampler::{Sampler, SamplerConfig};
pub use stats::GenerationStats;
