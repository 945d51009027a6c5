//! Chapter 0.4 exercise: how many prompt tokens came from the cache?
//!
//! The server keeps the tokens of the last prompt and answer, with their
//! keys and values, in its KV cache. A new prompt that starts with the same
//! tokens (the same system prompt, the earlier turns of a chat) reuses
//! their keys and values instead of computing them again. One prompt token
//! is always computed again, even when all of them are cached: the model's
//! output at the last prompt token is what the first answer token is
//! sampled from.
//!
//! The two APIs report this differently:
//!
//! - OpenAI: `prompt_tokens` counts every prompt token, and
//!   `prompt_tokens_details.cached_tokens` the reused ones among them;
//! - Anthropic: `input_tokens` counts only the prompt tokens that were
//!   computed, and `cache_read_input_tokens` the reused ones.
//!
//! Check your work with `./check.sh ch00-4-cache-usage` (from `exercises/`).

/// Token ids.
pub type Token = u32;

/// How many tokens of `prompt` can be taken from a cache that holds
/// `cached`; 0 for an empty prompt.
pub fn reused(cached: &[Token], prompt: &[Token]) -> usize {
    let common = cached
        .iter()
        .zip(prompt)
        .take_while(|(a, b)| a == b)
        .count();
    // the last prompt token is computed again, for its logits
    common.min(prompt.len().saturating_sub(1))
}

/// OpenAI's `usage` numbers for the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAiUsage {
    pub prompt_tokens: usize,
    pub cached_tokens: usize,
}

/// Anthropic's `usage` numbers for the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnthropicUsage {
    pub input_tokens: usize,
    pub cache_read_input_tokens: usize,
}

/// What an OpenAI client is told about this prompt.
pub fn openai_usage(cached: &[Token], prompt: &[Token]) -> OpenAiUsage {
    OpenAiUsage {
        prompt_tokens: prompt.len(),
        cached_tokens: reused(cached, prompt),
    }
}

/// What an Anthropic client is told about this prompt.
pub fn anthropic_usage(cached: &[Token], prompt: &[Token]) -> AnthropicUsage {
    let from_cache = reused(cached, prompt);
    AnthropicUsage {
        input_tokens: prompt.len() - from_cache,
        cache_read_input_tokens: from_cache,
    }
}
