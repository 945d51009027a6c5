//! # locallm-infer: from a model to text
//!
//! The model maps tokens to logits. Everything that turns that into an answer
//! lives here, in the order a token meets it:
//!
//! 1. [`kv_cache`] — keys and values of past positions, kept so that each new
//!    token costs the same as the first; [`quantized_cache`] stores them in
//!    f16, Q8_0 or Q4_0 blocks, for a fraction of the memory;
//! 2. [`generate`] — prefill, then the decode loop, as an iterator of tokens;
//! 3. [`sampler`] — how one token is chosen from the logits;
//! 4. [`stats`] — prompt tokens, time to first token, tokens per second;
//! 5. [`perplexity`] — how well the model predicts a text;
//! 6. [`embed`] — one vector per text, from the final hidden states;
//! 7. [`json_grammar`] and [`constrained`] — structured output: a JSON
//!    (schema) automaton turned into a token mask, so that the answer parses;
//! 8. [`tools`], [`validate`] and [`agent`] — tool use: the Hermes call
//!    format, argument validation, and the loop that runs the calls
//!    ([`example_tools`] holds three deterministic tools to try it on).

pub mod agent;
pub mod constrained;
pub mod embed;
pub mod example_tools;
pub mod generate;
pub mod json_grammar;
pub mod kv_cache;
pub mod perplexity;
pub mod quantized_cache;
pub mod sampler;
pub mod stats;
pub mod tools;
pub mod validate;

pub use agent::{Agent, AgentError, AgentOptions, ChatModel, LocalModel, Outcome, ToolFn};
pub use constrained::{JsonConstraint, TokenTrie};
pub use generate::{
    FinishReason, GenerateError, GenerateOptions, Generation, PREFILL_BATCH, Session,
    generate_greedy_uncached,
};
pub use json_grammar::{JsonGrammar, SchemaError};
pub use kv_cache::{PreallocatedCache, SessionCache};
pub use perplexity::{
    BaseLogProbs, KlDivergence, Perplexity, PerplexityError, PerplexityOptions, base_log_probs,
    kl_divergence, perplexity,
};
pub use quantized_cache::{CacheError, CacheFactory, CacheType, CacheTypes, QuantizedCache};
pub use sampler::{Sampler, SamplerConfig};
pub use stats::GenerationStats;
pub use validate::{ValidationError, validate};
