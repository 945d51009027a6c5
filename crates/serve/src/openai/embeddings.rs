//! `/v1/embeddings`: one vector per input.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{FLAVOR, completion_prompt};
use crate::error::{ApiError, Kind};
use crate::extract::ApiJson;
use crate::state::Shared;
use crate::wire::json_ok;

pub fn router() -> Router<Shared> {
    Router::new().route("/v1/embeddings", post(embeddings))
}

#[derive(Deserialize)]
struct EmbeddingsRequest {
    model: String,
    input: Value,
    encoding_format: Option<String>,
    dimensions: Option<usize>,
}

// ANCHOR: embeddings
/// `/v1/embeddings`: one vector per input, the mean of the chat model's final
/// hidden states (`locallm_infer::embed`). `input` is a string, a list of
/// strings, a list of token ids or a list of such lists; vectors come as
/// floats or, with `"encoding_format": "base64"` (the Python SDK's default),
/// as little-endian f32 bytes in base64.
async fn embeddings(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<EmbeddingsRequest>,
) -> Result<Response, ApiError> {
    state.check_model(FLAVOR, &req.model)?;
    let bad = |message: &str, param: &str| {
        ApiError::new(FLAVOR, Kind::BadRequest, message.to_string()).param(param)
    };
    if req.dimensions.is_some() {
        return Err(bad(
            "`dimensions` is not supported: vectors have the model's width",
            "dimensions",
        ));
    }
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(bad(
                "`encoding_format` must be `float` or `base64`",
                "encoding_format",
            ));
        }
    };
    let items = match req.input {
        Value::Array(items) if !items.is_empty() && !items.iter().all(Value::is_u64) => items,
        one => vec![one],
    };
    let mut inputs = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let ids = completion_prompt(&state, item).map_err(|e| e.param(&format!("input[{i}]")))?;
        state.check_context(FLAVOR, &ids, &format!("input[{i}]"))?;
        inputs.push(ids);
    }
    let tokens: usize = inputs.iter().map(Vec::len).sum();
    let vectors = state.embed(FLAVOR, inputs).await?;
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Ok(json_ok(&json!({
        "object": "list", "data": data, "model": state.model_id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}
// ANCHOR_END: embeddings
