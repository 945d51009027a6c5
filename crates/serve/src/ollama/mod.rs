//! The Ollama API: `/api/chat`, `/api/generate`, `/api/embed` (and the older
//! `/api/embeddings`), `/api/tags`, `/api/show`, `/api/ps`, `/api/version`,
//! so that editor plugins and web UIs that only speak Ollama can use the
//! local model.
//!
//! Streaming is on unless the request says `"stream": false`, and it is not
//! server-sent events but NDJSON: one JSON object per line, the last with
//! `"done": true` and the timings (nanoseconds), as Ollama sends them:
//!
//! ```text
//! {"model":"m","created_at":"2026-12-03T12:00:00.1Z","message":{"role":"assistant","content":"Hel"},"done":false}
//! {"model":"m","created_at":"2026-12-03T12:00:00.2Z","message":{"role":"assistant","content":"lo"},"done":false}
//! {"model":"m","created_at":"...","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",
//!  "total_duration":..,"load_duration":..,"prompt_eval_count":..,"prompt_eval_duration":..,"eval_count":..,"eval_duration":..}
//! ```
//!
//! Errors are `{"error": "..."}`. Sampling settings come in `options`; each
//! is used or refused with a 400 ([`options`]), never dropped.
//!
//! One file per endpoint group ([`chat`], [`generate`], [`embed`],
//! [`models`]), the options, and [`stream`]: NDJSON, timings, timestamps.

mod chat;
mod embed;
mod generate;
mod models;
mod options;
mod stream;

use axum::Router;

use crate::error::{ApiError, Flavor, Kind};
use crate::state::{AppState, Shared};

const FLAVOR: Flavor = Flavor::Ollama;

pub fn router() -> Router<Shared> {
    Router::new()
        .merge(chat::router())
        .merge(generate::router())
        .merge(embed::router())
        .merge(models::router())
}

/// The `model` field names the loaded model. Ollama names carry a tag
/// (`name:tag`) and an untagged name means `:latest`, so both `m` and
/// `m:latest` are this server's model `m`.
fn check_model(state: &AppState, model: &str) -> Result<(), ApiError> {
    let id = state.model_id.as_str();
    if model == id || model.strip_suffix(":latest") == Some(id) {
        return Ok(());
    }
    // Ollama's own wording, which clients match on
    Err(ApiError::new(
        FLAVOR,
        Kind::NotFound,
        format!("model '{model}' not found"),
    ))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(FLAVOR, Kind::BadRequest, message)
}

/// A prompt and a request's settings, as the worker's job: the window is
/// `num_ctx` if the request set one, else the server's context.
fn prepare(
    state: &AppState,
    prompt: Vec<u32>,
    settings: options::Settings,
    grammar: Option<std::sync::Arc<locallm_infer::JsonGrammar>>,
) -> Result<crate::state::Prepared, ApiError> {
    let window = settings.num_ctx.unwrap_or(state.context);
    if prompt.len() >= window {
        return Err(bad(format!(
            "the prompt has {} tokens, but the context holds {window} tokens \
             (the prompt must be shorter than that, to leave room for the answer)",
            prompt.len()
        )));
    }
    let room = window - prompt.len();
    let max_tokens = settings.max_tokens.map_or(room, |n| n.min(room));
    let options = state.options(FLAVOR, prompt.len(), Some(max_tokens), settings.sampler)?;
    Ok(crate::state::Prepared {
        prompt,
        options,
        stop: settings.stop,
        grammar: grammar.map(locallm_infer::Grammar::Json),
    })
}

// ANCHOR: format
/// `format`: `"json"` (any JSON object) or a JSON schema; `""` or absent:
/// free text. Both become the grammar that masks the model's tokens.
fn grammar(
    format: Option<&serde_json::Value>,
) -> Result<Option<std::sync::Arc<locallm_infer::JsonGrammar>>, ApiError> {
    use locallm_infer::JsonGrammar;
    use serde_json::Value;
    let grammar = match format {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) if s == "json" => JsonGrammar::any_object(),
        Some(schema @ Value::Object(_)) => {
            JsonGrammar::from_schema(schema).map_err(|e| bad(format!("format: {e}")))?
        }
        Some(other) => {
            return Err(bad(format!(
                "`format` must be \"json\" or a JSON schema object, got {other}"
            )));
        }
    };
    Ok(Some(std::sync::Arc::new(grammar)))
}
// ANCHOR_END: format

/// `keep_alive` asks how long the model stays loaded after the request; this
/// server keeps its one model for its whole life, which satisfies any value
/// but 0 (unload now), which is refused.
fn check_keep_alive(keep_alive: Option<&serde_json::Value>) -> Result<(), ApiError> {
    use serde_json::Value;
    let zero = match keep_alive {
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::String(s)) => matches!(s.trim(), "0" | "0s" | "0m" | "0h"),
        _ => false,
    };
    if zero {
        return Err(bad(
            "`keep_alive: 0` (unload the model) is not supported: this server keeps its one \
             model loaded until it stops",
        ));
    }
    Ok(())
}

/// The checks `/api/chat` and `/api/generate` share: the model, `keep_alive`,
/// and the features of thinking models and log-probabilities (refused).
fn check_request(
    state: &AppState,
    model: &str,
    keep_alive: Option<&serde_json::Value>,
    think: Option<&serde_json::Value>,
    logprobs: Option<bool>,
    top_logprobs: Option<u32>,
) -> Result<(), ApiError> {
    check_model(state, model)?;
    check_keep_alive(keep_alive)?;
    let thinking = think.is_some_and(|t| t != &serde_json::Value::Bool(false));
    refuse_if(thinking, "`think`")?;
    refuse_if(logprobs == Some(true), "`logprobs`")?;
    refuse_if(top_logprobs.is_some_and(|n| n > 0), "`top_logprobs`")
}

/// A feature this server does not have, asked for with a non-empty value.
fn refuse_if(present: bool, what: &str) -> Result<(), ApiError> {
    if present {
        return Err(bad(format!("{what} is not supported by this server")));
    }
    Ok(())
}
