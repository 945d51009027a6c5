//! What the server says about its model: `/api/tags` (the model list),
//! `/api/show` (details, parameters, template, GGUF metadata), `/api/ps`
//! (loaded models) and `/api/version`.
//!
//! A client reads them to fill its model picker (Open WebUI) or to learn
//! the context size (Continue reads `num_ctx` from `/api/show`'s
//! `parameters`), so they describe the one loaded file truthfully: its
//! family and size from the GGUF header, its sha256 as the digest.

use std::io::Read;
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use locallm_infer::SamplerConfig;
use locallm_quant::{MetaValue, QuantMix};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::stream::timestamp;
use super::{FLAVOR, bad, check_model};
use crate::error::{ApiError, Kind};
use crate::extract::ApiJson;
use crate::state::{AppState, Shared};
use crate::wire::json_ok;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/tags", get(tags))
        .route("/api/show", post(show))
        .route("/api/ps", get(ps))
        .route("/api/version", get(version))
}

/// `GET /api/version`: the Ollama API version this server follows (the
/// API as the `ollama` Python client 0.6 speaks it), not locallm's own.
async fn version() -> Response {
    json_ok(&json!({ "version": "0.12.0" }))
}

/// `GET /api/tags`: the one model.
async fn tags(State(state): State<Shared>) -> Result<Response, ApiError> {
    let digest = digest(&state).await?;
    Ok(json_ok(&json!({"models": [{
        "name": state.model_id,
        "model": state.model_id,
        "modified_at": modified_at(&state),
        "size": state.file.size,
        "digest": digest,
        "details": details(&state),
    }]})))
}

/// `GET /api/ps`: the model is always loaded (on the CPU: no VRAM).
async fn ps(State(state): State<Shared>) -> Result<Response, ApiError> {
    let digest = digest(&state).await?;
    Ok(json_ok(&json!({"models": [{
        "name": state.model_id,
        "model": state.model_id,
        "size": state.file.size,
        "digest": digest,
        "details": details(&state),
        "size_vram": 0,
        "context_length": state.context,
    }]})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowRequest {
    /// `name` is the field's older name (Continue still sends it).
    model: Option<String>,
    name: Option<String>,
    /// Long arrays (the vocabulary) in `model_info` in full.
    #[serde(default)]
    verbose: bool,
}

// ANCHOR: show
/// `POST /api/show`: details, the defaults the server samples with (as
/// Modelfile `parameters`), the chat template (Jinja, as in the GGUF file,
/// not Ollama's Go templates), and the GGUF metadata.
async fn show(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<ShowRequest>,
) -> Result<Response, ApiError> {
    let model = req
        .model
        .or(req.name)
        .ok_or_else(|| bad("model is required"))?;
    check_model(&state, &model)?;
    let d = SamplerConfig::default();
    // Ollama's layout: the name padded to 30, then the value
    let parameters = [
        ("num_ctx", state.context.to_string()),
        ("temperature", d.temperature.to_string()),
        ("top_k", d.top_k.to_string()),
        ("top_p", d.top_p.to_string()),
        ("min_p", d.min_p.to_string()),
        ("repeat_penalty", d.repeat_penalty.to_string()),
        ("repeat_last_n", d.repeat_last_n.to_string()),
    ]
    .iter()
    .map(|(k, v)| format!("{k:<30} {v}"))
    .collect::<Vec<_>>()
    .join("\n");
    let template = state.tokenizer.chat_template_source().unwrap_or_default();
    let mut capabilities = vec!["completion", "embedding"];
    if state.template.is_some() {
        capabilities.push("tools");
    }
    Ok(json_ok(&json!({
        "modelfile": format!(
            "# Modelfile of the model locallm serves\nFROM {}\n",
            state.file.path.display()
        ),
        "parameters": parameters,
        "template": template,
        "details": details(&state),
        "model_info": model_info(&state, req.verbose),
        "capabilities": capabilities,
        "modified_at": modified_at(&state),
    })))
}
// ANCHOR_END: show

/// Family, size and quantization, from the GGUF header.
fn details(state: &AppState) -> Value {
    let facts = &state.facts;
    json!({
        "parent_model": "",
        "format": "gguf",
        "family": facts.architecture,
        "families": [facts.architecture],
        "parameter_size": human_number(facts.parameters),
        "quantization_level": facts.file_type.map_or("unknown", file_type_name),
    })
}

/// llama.cpp's `enum llama_ftype` by name: the mixes locallm writes, and
/// the two plain float files.
fn file_type_name(file_type: u64) -> &'static str {
    match file_type {
        0 => "F32",
        32 => "BF16",
        n => (QuantMix::ALL.into_iter())
            .find(|m| u64::from(m.file_type()) == n)
            .map_or("unknown", |m| m.name()),
    }
}

/// A parameter count as Ollama writes `parameter_size` (its
/// `format.RoundedParameter`): 134515008 → `134.52M`, 2850000000 → `2.9B`.
fn human_number(n: u64) -> String {
    let n = n as f64;
    let (value, unit, decimals) = match n {
        n if n >= 1e9 => (n / 1e9, "B", 1),
        n if n >= 1e6 => (n / 1e6, "M", 2),
        n if n >= 1e3 => (n / 1e3, "K", 0),
        n => return format!("{n}"),
    };
    if value == value.floor() {
        format!("{value:.0}{unit}")
    } else {
        format!("{value:.decimals$}{unit}")
    }
}

/// The GGUF metadata as JSON, as Ollama shows it: without `general.name`
/// and the chat template (shown as `template`), the parameter count added,
/// arrays longer than 5 left empty unless `verbose`.
fn model_info(state: &AppState, verbose: bool) -> Map<String, Value> {
    let mut info = Map::new();
    for (key, value) in &state.facts.metadata {
        if key == "general.name" || key == "tokenizer.chat_template" {
            continue;
        }
        let value = match value {
            MetaValue::Array(items) if items.len() > 5 && !verbose => json!([]),
            v => meta_json(v),
        };
        info.insert(key.clone(), value);
    }
    info.insert(
        "general.parameter_count".into(),
        json!(state.facts.parameters),
    );
    info
}

fn meta_json(value: &MetaValue) -> Value {
    match value {
        MetaValue::U8(v) => json!(v),
        MetaValue::I8(v) => json!(v),
        MetaValue::U16(v) => json!(v),
        MetaValue::I16(v) => json!(v),
        MetaValue::U32(v) => json!(v),
        MetaValue::I32(v) => json!(v),
        MetaValue::U64(v) => json!(v),
        MetaValue::I64(v) => json!(v),
        MetaValue::F32(v) => json!(v),
        MetaValue::F64(v) => json!(v),
        MetaValue::Bool(v) => json!(v),
        MetaValue::String(v) => json!(v),
        MetaValue::Array(items) => Value::Array(items.iter().map(meta_json).collect()),
    }
}

fn modified_at(state: &AppState) -> String {
    timestamp(UNIX_EPOCH + Duration::from_secs(state.file.modified))
}

/// The file's sha256, read once (on a blocking thread) and kept.
async fn digest(state: &Shared) -> Result<String, ApiError> {
    let path = state.file.path.clone();
    let hash = state.file.digest.get_or_try_init(|| async move {
        let hashed = tokio::task::spawn_blocking(move || sha256_file(&path)).await;
        let failed = |e: String| ApiError::new(FLAVOR, Kind::Internal, e);
        hashed
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| failed(e.to_string()))
    });
    hash.await.cloned()
}

fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    let hash = hasher.finalize();
    Ok(hash.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of Ollama's own test of `RoundedParameter`
    /// (format/format_test.go, `TestRoundedParameter`).
    #[test]
    fn parameter_sizes_read_as_ollama_writes_them() {
        for (n, expected) in [
            (0, "0"),
            (1_000_000, "1M"),
            (125_000_000, "125M"),
            (500_500_000, "500.50M"),
            (500_550_000, "500.55M"),
            (1_000_000_000, "1B"),
            (2_800_000_000, "2.8B"),
            (2_850_000_000, "2.9B"),
            (1_000_000_000_000, "1000B"),
        ] {
            assert_eq!(human_number(n), expected, "{n}");
        }
    }
}
