//! The server's extras, in llama.cpp server's shapes: `/tokenize` and
//! `/detokenize` (text ⇄ token ids with the model's own tokenizer), and
//! `/metrics` in the Prometheus text format.
//!
//! ```text
//! POST /tokenize   {"content": "Hello", "with_pieces": true}
//!               →  {"tokens": [{"id": 19556, "piece": "Hello"}]}
//! POST /detokenize {"tokens": [19556]}  →  {"content": "Hello"}
//! GET  /metrics    →  llamacpp:tokens_predicted_total 42 ...
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, Flavor, Kind};
use crate::extract::ApiJson;
use crate::metrics::Exposition;
use crate::state::Shared;
use crate::wire::json_ok;

/// Errors here take llama.cpp server's (OpenAI-like) shape.
const FLAVOR: Flavor = Flavor::OpenAi;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/tokenize", post(tokenize))
        .route("/detokenize", post(detokenize))
        .route("/metrics", get(metrics))
}

/// llama.cpp's fields and defaults (tools/server/README.md).
#[derive(Deserialize)]
struct TokenizeRequest {
    content: Value,
    /// Put BOS first, if the model asks for one.
    #[serde(default)]
    add_special: bool,
    /// Special-token text (`<|im_start|>`) becomes that token.
    #[serde(default = "yes")]
    parse_special: bool,
    /// Each id with its piece: a string, or its bytes if not valid UTF-8.
    #[serde(default)]
    with_pieces: bool,
}

fn yes() -> bool {
    true
}

// ANCHOR: tokenize
/// `POST /tokenize`: the ids the model would see for `content`.
async fn tokenize(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<TokenizeRequest>,
) -> Result<Response, ApiError> {
    let Value::String(text) = req.content else {
        let message = "`content` must be a string";
        return Err(ApiError::new(FLAVOR, Kind::BadRequest, message).param("content"));
    };
    let tokenizer = &state.tokenizer;
    let mut ids = Vec::new();
    if req.add_special && tokenizer.add_bos_token() {
        ids.extend(tokenizer.bos_id());
    }
    let encoded = tokenizer.encode(&text, req.parse_special);
    ids.extend(encoded.map_err(|e| ApiError::new(FLAVOR, Kind::Internal, e.to_string()))?);
    if !req.with_pieces {
        return Ok(json_ok(&json!({ "tokens": ids })));
    }
    let tokens: Vec<Value> = ids
        .iter()
        .map(|&id| {
            let bytes = tokenizer.token_to_piece(id).unwrap_or_default();
            let piece = match std::str::from_utf8(bytes) {
                Ok(text) => json!(text),
                Err(_) => json!(bytes), // part of a character: its bytes
            };
            json!({"id": id, "piece": piece})
        })
        .collect();
    Ok(json_ok(&json!({ "tokens": tokens })))
}
// ANCHOR_END: tokenize

#[derive(Deserialize)]
struct DetokenizeRequest {
    tokens: Vec<u32>,
}

/// `POST /detokenize`: the text of some ids (bytes that are not UTF-8 become U+FFFD).
async fn detokenize(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<DetokenizeRequest>,
) -> Result<Response, ApiError> {
    let text = state
        .tokenizer
        .decode(&req.tokens)
        .map_err(|e| ApiError::new(FLAVOR, Kind::BadRequest, e.to_string()).param("tokens"))?;
    Ok(json_ok(&json!({ "content": text })))
}

// ANCHOR: metrics
/// `GET /metrics`: counts and durations, no content. llama.cpp's names where
/// llama.cpp has the same measure; `locallm:` for the rest.
async fn metrics(State(state): State<Shared>) -> Response {
    let c = &state.counters;
    let load = |a: &AtomicUsize| a.load(Ordering::SeqCst) as f64;
    let (prompt_tokens, prompt_seconds) = (load(&c.prompt_tokens), c.prompt_time.get());
    let (predicted, predicted_seconds) = (load(&c.generated_tokens), c.decode_time.get());
    // admitted = running + waiting (generation and embedding requests)
    let admitted = (state.parallel - state.slots.available_permits()) as f64;
    let running = load(&c.running);

    let mut out = Exposition::default();
    // llama.cpp's help texts (tools/server/server-task.cpp)
    #[rustfmt::skip]
    let llamacpp = [
        ("prompt_tokens_total", "counter",
            "Number of prompt tokens processed, excluding cached tokens", prompt_tokens),
        ("prompt_tokens_cached_total", "counter",
            "Number of prompt tokens reused from the cache", load(&c.prompt_tokens_cached)),
        ("prompt_seconds_total", "counter", "Total time spent processing prompts", prompt_seconds),
        ("tokens_predicted_total", "counter", "Number of generation tokens processed", predicted),
        ("tokens_predicted_seconds_total", "counter",
            "Total time spent generating tokens", predicted_seconds),
        ("requests_processing", "gauge", "Number of requests processing", running),
        ("requests_deferred", "gauge", "Number of requests deferred", (admitted - running).max(0.0)),
    ];
    for (name, kind, help, value) in llamacpp {
        let name = format!("llamacpp:{name}");
        match kind {
            "counter" => out.counter(&name, help, value),
            _ => out.gauge(&name, help, value),
        }
    }
    out.counter(
        "locallm:requests_finished_total",
        "Generation requests answered to the end.",
        load(&c.finished),
    );
    out.counter(
        "locallm:requests_cancelled_total",
        "Generation requests stopped because the client went away.",
        load(&c.cancelled),
    );
    out.counter(
        "locallm:decode_steps_total",
        "Batched decode steps: one forward pass for the next token of every active request.",
        load(&c.decode_steps),
    );
    out.requests(
        "locallm:http_requests_total",
        "HTTP requests by route and status.",
        &state.requests,
    );
    out.histogram(
        "locallm:time_to_first_token_seconds",
        "Seconds from a request's arrival in the queue to its first generated token.",
        &c.first_token,
    );
    out.histogram(
        "locallm:decode_tokens_per_second",
        "Per request: generated tokens per second of decoding (after the prompt).",
        &c.decode_rate,
    );
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], out.finish()).into_response()
}
// ANCHOR_END: metrics
