//! `/api/embed`: one vector per input, of unit length as Ollama returns
//! them; `/api/embeddings` (its older form): one prompt, the raw vector.
//! Both are the mean-pooled hidden states of the chat model
//! (`locallm_infer::embed`), as `/v1/embeddings` returns them.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{FLAVOR, bad, check_keep_alive, check_model, options, refuse_if};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::{AppState, Shared};
use crate::wire::json_ok;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/embed", post(embed))
        .route("/api/embeddings", post(embeddings))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbedRequest {
    model: String,
    /// A string or a list of strings.
    #[serde(default)]
    input: Value,
    /// Cut inputs longer than the context (default) or refuse them.
    truncate: Option<bool>,
    options: Option<Map<String, Value>>,
    keep_alive: Option<Value>,
    dimensions: Option<usize>,
}

// ANCHOR: embed
async fn embed(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<EmbedRequest>,
) -> Result<Response, ApiError> {
    let clock = std::time::Instant::now();
    check_model(&state, &req.model)?;
    check_keep_alive(req.keep_alive.as_ref())?;
    refuse_if(
        req.dimensions.is_some(),
        "`dimensions` (vectors have the model's width)",
    )?;
    let window = embed_window(&state, req.options.as_ref())?;
    let texts: Vec<String> = match req.input {
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => vec![s],
        Value::Array(items) => (items.into_iter())
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(bad(
                    "invalid input type: `input` is a string or a list of strings",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(bad(
                "invalid input type: `input` is a string or a list of strings",
            ));
        }
    };
    let mut inputs = Vec::new();
    for text in &texts {
        let mut ids = state.text_prompt(FLAVOR, text)?;
        // the embedding pass needs the ids to fit the context, as a prompt does
        if ids.len() >= window {
            if req.truncate == Some(false) {
                return Err(bad("input length exceeds maximum context length"));
            }
            ids.truncate(window - 1);
        }
        inputs.push(ids);
    }
    let count: usize = inputs.iter().map(Vec::len).sum();
    let vectors = if inputs.is_empty() {
        Vec::new()
    } else {
        state.embed(FLAVOR, inputs).await?
    };
    let embeddings: Vec<Vec<f32>> = vectors.into_iter().map(unit).collect();
    let total = clock.elapsed().as_nanos() as u64;
    Ok(json_ok(&json!({
        "model": req.model, "embeddings": embeddings,
        "total_duration": total, "load_duration": 0, "prompt_eval_count": count,
    })))
}
// ANCHOR_END: embed

/// The vector scaled to length 1 (Ollama's `normalize`); zero stays zero.
fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// `options` of an embedding request: only `num_ctx` means anything here.
fn embed_window(state: &AppState, options: Option<&Map<String, Value>>) -> Result<usize, ApiError> {
    if let Some(key) = options
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| *k != "num_ctx")
    {
        return Err(bad(format!("option `{key}` has no effect on embeddings")));
    }
    let settings = options::parse(options, state.context)?;
    Ok(settings.num_ctx.unwrap_or(state.context))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbeddingsRequest {
    model: String,
    #[serde(default)]
    prompt: String,
    options: Option<Map<String, Value>>,
    keep_alive: Option<Value>,
}

/// `/api/embeddings`: the older endpoint, one prompt, the vector as it is.
async fn embeddings(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<EmbeddingsRequest>,
) -> Result<Response, ApiError> {
    check_model(&state, &req.model)?;
    check_keep_alive(req.keep_alive.as_ref())?;
    let window = embed_window(&state, req.options.as_ref())?;
    if req.prompt.is_empty() {
        return Ok(json_ok(&json!({ "embedding": [] })));
    }
    let ids = state.text_prompt(FLAVOR, &req.prompt)?;
    if ids.len() >= window {
        return Err(bad("input length exceeds maximum context length"));
    }
    let vector = state
        .embed(FLAVOR, vec![ids])
        .await?
        .pop()
        .unwrap_or_default();
    Ok(json_ok(&json!({ "embedding": vector })))
}
