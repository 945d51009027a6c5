//! The OpenAI API: `/v1/models`, `/v1/chat/completions`, `/v1/completions`,
//! and `/v1/embeddings` (mean-pooled hidden states of the chat model).
//!
//! A streamed chat answer is a series of server-sent events, each a
//! `chat.completion.chunk`, ending with a literal `[DONE]`:
//!
//! ```text
//! data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],...}
//! data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],...}
//! data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],...}
//! data: {"object":"chat.completion.chunk","choices":[],"usage":{...}}      (with stream_options.include_usage)
//! data: [DONE]
//! ```
//!
//! One file per endpoint ([`chat`], [`completions`], [`embeddings`]; the
//! model list is here), [`common`]: the fields, `usage` and prompt shapes
//! they share, [`logprobs`]: the two shapes of `logprobs`, and [`fields`]:
//! what happens to every other field a request carries.
//!
//! Sampling fields: `temperature`, `top_p`, `frequency_penalty`,
//! `presence_penalty`, `seed`, `stop`, `logit_bias` (token id → bias in
//! [-100, 100], applied first, as llama.cpp does), and llama.cpp's and
//! vLLM's extensions `top_k` and `min_p`. `logprobs` (chat: `true` with
//! `top_logprobs` up to 20; completions: 0 to 5) reports the model's own
//! log-probabilities, before any sampling stage — OpenAI's meaning, and the
//! numbers perplexity scores (llama.cpp's `post_sampling_probs` would be the
//! sampler's instead). `n` > 1 is a 400: one generation per request.
//! Any other field is honoured, refused, or (unknown) a 400: [`fields`].

mod chat;
mod common;
mod completions;
mod embeddings;
mod fields;
mod logprobs;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::{AppState, Shared};
use crate::wire::json_ok;
use common::FLAVOR;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .merge(chat::router())
        .merge(completions::router())
        .merge(embeddings::router())
}

async fn models(State(state): State<Shared>) -> Response {
    json_ok(&json!({"object": "list", "data": [model_object(&state)]}))
}

async fn model(State(state): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    state.check_model(FLAVOR, &id)?;
    Ok(json_ok(&model_object(&state)))
}

/// The body of `/v1/models`' entries.
fn model_object(state: &AppState) -> Value {
    json!({
        "id": state.model_id,
        "object": "model",
        "created": state.created,
        "owned_by": "locallm",
    })
}
