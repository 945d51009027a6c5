//! What the OpenAI endpoints share: the sampling fields of chat and raw
//! completions, the finish reason, `usage`, and the raw prompt's shapes.

use locallm_infer::SamplerConfig;
use locallm_infer::sampler::entropy_seed;
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
    logprobs: Option<Value>,
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
    /// What the engine cannot do is refused, not silently ignored.
    pub fn check_n(&self) -> Result<(), ApiError> {
        if matches!(
            self.logprobs,
            Some(Value::Bool(true)) | Some(Value::Number(_))
        ) {
            let message = "`logprobs` is not supported by this server";
            return Err(ApiError::new(FLAVOR, Kind::BadRequest, message).param("logprobs"));
        }
        match self.n {
            None | Some(1) => Ok(()),
            Some(n) => Err(ApiError::new(
                FLAVOR,
                Kind::BadRequest,
                format!("only n=1 is supported, got n={n}"),
            )
            .param("n")),
        }
    }

    pub fn sampler(&self) -> SamplerConfig {
        let d = SamplerConfig::default();
        SamplerConfig {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_p: self.top_p.unwrap_or(d.top_p),
            frequency_penalty: self.frequency_penalty.unwrap_or(d.frequency_penalty),
            presence_penalty: self.presence_penalty.unwrap_or(d.presence_penalty),
            seed: self.seed.map_or_else(entropy_seed, |s| s as u64),
            ..d
        }
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
