//! What the OpenAI endpoints share: the sampling fields of chat and raw
//! completions, the finish reason, `usage`, and the raw prompt's shapes.

use std::collections::HashMap;

use std::sync::Arc;

use locallm_infer::sampler::entropy_seed;
use locallm_infer::{GbnfGrammar, Grammar, SamplerConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, Flavor, Kind};
use crate::state::AppState;
use crate::worker::{Done, Finish};

pub const FLAVOR: Flavor = Flavor::OpenAi;

/// The fields both endpoints (chat and raw completions) share.
#[derive(Deserialize)]
pub struct Common {
    temperature: Option<f32>,
    top_p: Option<f32>,
    frequency_penalty: Option<f32>,
    presence_penalty: Option<f32>,
    pub max_tokens: Option<usize>,
    stop: Option<StopField>,
    seed: Option<i64>,
    n: Option<u32>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    /// chat: `true`/`false`; completions: how many alternatives, 0 to 5.
    logprobs: Option<Value>,
    /// token id (as a string) → bias in [-100, 100], added to its logit.
    logit_bias: Option<HashMap<String, f32>>,
    /// llama.cpp's and vLLM's extensions: 0 (or vLLM's -1) turns it off.
    top_k: Option<i64>,
    /// llama.cpp's and vLLM's extension, in [0, 1].
    min_p: Option<f32>,
    /// llama-server's extension: a GBNF grammar the answer must follow.
    grammar: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StopField {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

impl Common {
    /// llama-server's `grammar` (GBNF, start rule `root`), parsed; a
    /// grammar that does not parse is a 400 saying where.
    pub fn grammar(&self) -> Result<Option<Grammar>, ApiError> {
        let Some(text) = &self.grammar else {
            return Ok(None);
        };
        let grammar =
            GbnfGrammar::parse(text).map_err(|e| bad(format!("`grammar`: {e}"), "grammar"))?;
        Ok(Some(Grammar::Gbnf(Arc::new(grammar))))
    }

    /// `n` > 1 would need one generation per choice; refused, not ignored.
    pub fn check_n(&self) -> Result<(), ApiError> {
        match self.n {
            None | Some(1) => Ok(()),
            Some(n) => Err(bad(format!("only n=1 is supported, got n={n}"), "n")),
        }
    }

    /// Chat: `logprobs: true` and `top_logprobs` (0 to 20) → how many
    /// alternatives to report per token; `None` when not asked for.
    pub fn chat_logprobs(&self, top_logprobs: Option<i64>) -> Result<Option<usize>, ApiError> {
        let asked = match &self.logprobs {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("`logprobs` must be true or false".into(), "logprobs")),
        };
        match top_logprobs {
            None if asked => Ok(Some(0)),
            None => Ok(None),
            Some(_) if !asked => Err(bad(
                "`top_logprobs` needs `logprobs: true`".into(),
                "top_logprobs",
            )),
            Some(n @ 0..=20) => Ok(Some(n as usize)),
            Some(n) => Err(bad(
                format!("`top_logprobs` must be between 0 and 20, got {n}"),
                "top_logprobs",
            )),
        }
    }

    /// Completions: `logprobs: N` (0 to 5) alternatives per token.
    pub fn completion_logprobs(&self) -> Result<Option<usize>, ApiError> {
        match &self.logprobs {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n @ 0..=5) => Ok(Some(n as usize)),
                _ => Err(bad(
                    format!("`logprobs` must be an integer between 0 and 5, got {v}"),
                    "logprobs",
                )),
            },
        }
    }

    /// The sampler settings; `vocab` bounds the ids of `logit_bias`. Ranges
    /// are checked by `AppState::options`.
    pub fn sampler(&self, vocab: usize) -> Result<SamplerConfig, ApiError> {
        let d = SamplerConfig::default();
        let top_k = match self.top_k {
            None => d.top_k,
            Some(-1 | 0) => 0,
            Some(k) if k > 0 => k as usize,
            Some(k) => {
                return Err(bad(
                    format!("`top_k` must be >= 0 (or -1), got {k}"),
                    "top_k",
                ));
            }
        };
        let mut logit_bias = Vec::new();
        for (key, &bias) in self.logit_bias.iter().flatten() {
            let id = key.parse::<u32>().ok().filter(|&id| (id as usize) < vocab);
            let Some(id) = id else {
                let message = format!("`logit_bias`: `{key}` is not a token id below {vocab}");
                return Err(bad(message, "logit_bias"));
            };
            if !(-100.0..=100.0).contains(&bias) {
                let message = format!("`logit_bias`: {bias} for {key} is outside [-100, 100]");
                return Err(bad(message, "logit_bias"));
            }
            logit_bias.push((id, bias));
        }
        logit_bias.sort_by_key(|&(id, _)| id);
        Ok(SamplerConfig {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_p: self.top_p.unwrap_or(d.top_p),
            top_k,
            min_p: self.min_p.unwrap_or(d.min_p),
            frequency_penalty: self.frequency_penalty.unwrap_or(d.frequency_penalty),
            presence_penalty: self.presence_penalty.unwrap_or(d.presence_penalty),
            seed: self.seed.map_or_else(entropy_seed, |s| s as u64),
            logit_bias,
            ..d
        })
    }

    pub fn stop(&self) -> Vec<String> {
        match &self.stop {
            None => Vec::new(),
            Some(StopField::One(s)) => vec![s.clone()],
            Some(StopField::Many(v)) => v.clone(),
        }
    }

    pub fn streamed(&self) -> bool {
        self.stream == Some(true)
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
}

fn bad(message: String, param: &str) -> ApiError {
    ApiError::new(FLAVOR, Kind::BadRequest, message).param(param)
}

pub fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::EndOfTurn | Finish::StopString(_) => "stop",
        Finish::Length => "length",
    }
}

/// OpenAI's `usage`; `cached_tokens` counts prompt tokens whose KV entries
/// were reused from the previous request, `truncated_prompt_tokens` (with
/// `"truncation": "auto"`) those dropped to make the prompt fit.
#[derive(Serialize, Clone, Copy)]
pub struct Usage {
    prompt_tokens: usize,
    completion_tokens: usize,
    total_tokens: usize,
    prompt_tokens_details: PromptTokensDetails,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated_prompt_tokens: Option<usize>,
}

#[derive(Serialize, Clone, Copy)]
struct PromptTokensDetails {
    cached_tokens: usize,
}

impl Usage {
    pub fn new(done: &Done, truncated: Option<usize>) -> Self {
        Usage {
            prompt_tokens: done.prompt_tokens,
            completion_tokens: done.completion_tokens,
            total_tokens: done.prompt_tokens + done.completion_tokens,
            prompt_tokens_details: PromptTokensDetails {
                cached_tokens: done.cached_tokens,
            },
            truncated_prompt_tokens: truncated,
        }
    }
}

/// `prompt` is a string, a list of one string, or token ids.
pub fn completion_prompt(state: &AppState, prompt: Value) -> Result<Vec<u32>, ApiError> {
    let bad = || {
        ApiError::new(
            FLAVOR,
            Kind::BadRequest,
            "`prompt` must be a string, a list of one string, or a list of token ids",
        )
        .param("prompt")
    };
    match prompt {
        Value::String(text) => state.text_prompt(FLAVOR, &text),
        Value::Array(items) => match items.as_slice() {
            [Value::String(text)] => state.text_prompt(FLAVOR, text),
            _ => {
                let vocab = state.tokenizer.vocab_size() as u64;
                let ids: Option<Vec<u32>> = items
                    .iter()
                    .map(|v| v.as_u64().filter(|&id| id < vocab).map(|id| id as u32))
                    .collect();
                ids.filter(|ids| !ids.is_empty()).ok_or_else(bad)
            }
        },
        _ => Err(bad()),
    }
}
