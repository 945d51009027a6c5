//! What more than one API puts on the wire: message content (a string or a
//! list of parts), the `truncation` switch, structured output's formats,
//! ids and timestamps, and the one way a body becomes JSON.
//!
//! The API modules take these from here, never from each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::response::{IntoResponse, Response};
use locallm_infer::JsonGrammar;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, Flavor, Kind};

/// Message content: a string, or a list of parts of which we take the text.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
pub struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    /// Anthropic's `tool_use` blocks: the tool and its input.
    pub name: Option<String>,
    pub input: Option<Value>,
    /// Anthropic's `tool_result` blocks: a string or text blocks.
    pub content: Option<Value>,
}

impl Content {
    /// The text of the content; non-text parts (images, ...) are refused.
    pub fn text(self, flavor: Flavor, param: &str) -> Result<String, ApiError> {
        match self {
            Content::Text(text) => Ok(text),
            Content::Parts(parts) => {
                let mut text = String::new();
                for part in parts {
                    match (part.kind.as_str(), part.text) {
                        // the Responses API names them input_text/output_text
                        ("text" | "input_text" | "output_text", Some(t)) => text.push_str(&t),
                        (kind, _) => {
                            let message = format!(
                                "content of type `{kind}` is not supported; only `text` is"
                            );
                            return Err(
                                ApiError::new(flavor, Kind::BadRequest, message).param(param)
                            );
                        }
                    }
                }
                Ok(text)
            }
        }
    }
}

/// `"truncation": "auto"` drops the oldest turns if the prompt does not fit
/// (the Responses API's field; an extension in the other two).
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Truncation {
    Auto,
    Disabled,
}

// ANCHOR: response_format
/// Structured output: `{"type": "json_object"}` (any JSON object) or
/// `{"type": "json_schema", "json_schema": {"name": .., "schema": {..}}}`.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Deserialize)]
pub struct JsonSchemaFormat {
    #[allow(dead_code)] // required by the API; the grammar does not need it
    name: String,
    schema: Option<Value>,
}

impl JsonSchemaFormat {
    pub fn new(name: String, schema: Option<Value>) -> Self {
        JsonSchemaFormat { name, schema }
    }
}

impl ResponseFormat {
    /// The grammar the answer must follow; an unsupported schema is a 400
    /// that names the keyword, never a silently unenforced constraint.
    pub fn grammar(&self, flavor: Flavor) -> Result<Option<Arc<JsonGrammar>>, ApiError> {
        let grammar = match self {
            ResponseFormat::Text => return Ok(None),
            ResponseFormat::JsonObject => JsonGrammar::any_object(),
            ResponseFormat::JsonSchema { json_schema } => match &json_schema.schema {
                None => JsonGrammar::any_value(),
                Some(schema) => JsonGrammar::from_schema(schema).map_err(|e| {
                    ApiError::new(flavor, Kind::BadRequest, e.to_string())
                        .param("response_format.json_schema.schema")
                })?,
            },
        };
        Ok(Some(Arc::new(grammar)))
    }
}
// ANCHOR_END: response_format

/// `prefix` + a unique hex id, e.g. `chatcmpl-18c2...`.
pub fn new_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}{nanos:x}{n:04x}")
}

pub fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A body as JSON text. It goes through a [`Value`], whose objects keep
/// their keys sorted: typed bodies and `json!` ones come out in the same
/// (alphabetical) field order, the order these APIs have always sent.
pub fn to_json(body: &impl Serialize) -> String {
    let value = serde_json::to_value(body).expect("response bodies are plain data");
    value.to_string()
}

/// A JSON `200 OK` response.
pub fn json_ok(body: &impl Serialize) -> Response {
    let value = serde_json::to_value(body).expect("response bodies are plain data");
    Json(value).into_response()
}
