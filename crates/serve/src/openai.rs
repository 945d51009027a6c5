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

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::response::sse::Event as SseEvent;
use std::sync::Arc;

use base64::Engine;

use locallm_infer::sampler::entropy_seed;
use locallm_infer::{JsonGrammar, SamplerConfig};
use locallm_tokenizer::Message;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{
    Meter, Prepared, Shared, collect, json_ok, metered, model_object, new_id, parse, sse_json,
    sse_stream, stream_error, unix_time,
};
use crate::error::{ApiError, Flavor, Kind};
use crate::tools::{self, Call, CallStream, Plan, Tool, ToolChoice};
use crate::worker::{Done, Event, Finish};

const FLAVOR: Flavor = Flavor::OpenAi;

#[derive(Deserialize)]
pub struct ChatRequest {
    model: String,
    messages: Vec<ChatMessage>,
    #[serde(flatten)]
    common: Common,
    max_completion_tokens: Option<usize>,
    /// `"auto"`: drop the oldest turns if the prompt does not fit (an
    /// extension, named after the Responses API's field).
    truncation: Option<Truncation>,
    response_format: Option<ResponseFormat>,
    tools: Option<Vec<Tool>>,
    tool_choice: Option<ToolChoice>,
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

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Truncation {
    Auto,
    Disabled,
}

#[derive(Deserialize)]
pub struct CompletionRequest {
    model: String,
    prompt: Value,
    #[serde(flatten)]
    common: Common,
}

/// The fields both endpoints share.
#[derive(Deserialize)]
struct Common {
    temperature: Option<f32>,
    top_p: Option<f32>,
    frequency_penalty: Option<f32>,
    presence_penalty: Option<f32>,
    max_tokens: Option<usize>,
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

#[derive(Deserialize)]
struct ChatMessage {
    role: String,
    #[serde(default)]
    content: Option<Content>,
    /// An assistant turn that called tools.
    #[serde(default)]
    tool_calls: Vec<WireCall>,
}

/// A tool call as OpenAI writes it: arguments are a JSON *string*.
#[derive(Deserialize)]
struct WireCall {
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    arguments: String,
}

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

impl Common {
    /// What the engine cannot do is refused, not silently ignored.
    fn check_n(&self) -> Result<(), ApiError> {
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

    fn sampler(&self) -> SamplerConfig {
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

    fn stop(&self) -> Vec<String> {
        match &self.stop {
            None => Vec::new(),
            Some(StopField::One(s)) => vec![s.clone()],
            Some(StopField::Many(v)) => v.clone(),
        }
    }

    fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
}

pub async fn models(State(state): State<Shared>) -> Response {
    json_ok(json!({"object": "list", "data": [model_object(&state)]}))
}

pub async fn model(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.check_model(FLAVOR, &id) {
        Ok(()) => json_ok(model_object(&state)),
        Err(err) => axum::response::IntoResponse::into_response(err),
    }
}

#[derive(Deserialize)]
pub struct EmbeddingsRequest {
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
pub async fn embeddings(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: EmbeddingsRequest = parse(&state, FLAVOR, body)?;
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
            let embedding = match base64 {
                false => json!(v),
                true => {
                    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                    json!(base64::engine::general_purpose::STANDARD.encode(bytes))
                }
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Ok(json_ok(json!({
        "object": "list", "data": data, "model": state.model_id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}
// ANCHOR_END: embeddings

pub async fn chat_completions(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: ChatRequest = parse(&state, FLAVOR, body)?;
    state.check_model(FLAVOR, &req.model)?;
    req.common.check_n()?;
    let mut messages = Vec::new();
    for (i, m) in req.messages.into_iter().enumerate() {
        let content = match m.content {
            Some(c) => c.text(FLAVOR, &format!("messages[{i}].content"))?,
            None => String::new(),
        };
        // the model's own format for calls it made and results it got
        let content = match m.role.as_str() {
            "tool" => tools::render_result(&content),
            _ if !m.tool_calls.is_empty() => {
                let calls: Vec<(String, String)> = m
                    .tool_calls
                    .into_iter()
                    .map(|c| (c.function.name, c.function.arguments))
                    .collect();
                tools::render_calls(&content, &calls)
            }
            _ => content,
        };
        // OpenAI's newer name for the system role
        let role = if m.role == "developer" {
            "system".into()
        } else {
            m.role
        };
        messages.push(Message::new(role, content));
    }
    let plan = Plan::new(FLAVOR, req.tools, req.tool_choice)?;
    plan.add_to_system(&mut messages);
    let grammar = match &req.response_format {
        Some(format) => format.grammar(FLAVOR)?,
        None => None,
    };
    let truncate = req.truncation == Some(Truncation::Auto);
    let (mut prompt, dropped) = state.fit_chat(FLAVOR, messages, truncate)?;
    let grammar = match plan.forced() {
        Some((open, call)) => {
            state.extend_prompt(FLAVOR, &mut prompt, &open, "messages")?;
            Some(call)
        }
        None => grammar,
    };
    // usage reports the dropped tokens when truncation was asked for
    let truncated = truncate.then_some(dropped);
    let max_tokens = req.max_completion_tokens.or(req.common.max_tokens);
    let options = state.options(FLAVOR, prompt.len(), max_tokens, req.common.sampler())?;
    let stop = req.common.stop();
    let events = state.submit(
        FLAVOR,
        Prepared {
            prompt,
            options,
            stop,
            grammar,
        },
    )?;

    let (id, created, model) = (new_id("chatcmpl-"), unix_time(), state.model_id.clone());
    let meter = Meter::default();
    if req.common.stream != Some(true) {
        let (text, done) = collect(FLAVOR, events).await?;
        meter.record(&done);
        let (text, calls) = plan.split(&text);
        let mut message = json!({"role": "assistant", "content": text});
        let mut finish = finish_reason(&done.finish);
        if !calls.is_empty() {
            message["content"] = if text.is_empty() {
                Value::Null
            } else {
                json!(text)
            };
            message["tool_calls"] = wire_calls(&calls);
            finish = "tool_calls";
        }
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish,
            }],
            "usage": usage(&done, truncated),
        });
        return Ok(metered(json_ok(body), meter));
    }

    // ANCHOR: chat_chunks
    let include_usage = req.common.include_usage();
    let chunk = move |delta: Value, finish: Option<&str>| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let first = vec![sse_json(
        None,
        &chunk(json!({"role": "assistant", "content": ""}), None),
    )];
    let m = meter.clone();
    // with tools, text that may be a call is held back until it is known
    let with_tools = !plan.tools().is_empty();
    let mut calls_stream = CallStream::new(&plan);
    let stream = sse_stream(first, events, move |event| match event {
        Event::Started { .. } => (Vec::new(), false),
        Event::Text(text) => {
            let text = match with_tools {
                true => calls_stream.push(&text),
                false => text,
            };
            match text.is_empty() {
                true => (Vec::new(), false),
                false => (
                    vec![sse_json(None, &chunk(json!({"content": text}), None))],
                    false,
                ),
            }
        }
        Event::Done(done) => {
            m.record(&done);
            let mut out = Vec::new();
            let mut finish = finish_reason(&done.finish);
            let (rest, calls) = calls_stream.finish(&plan);
            if !rest.is_empty() {
                out.push(sse_json(None, &chunk(json!({"content": rest}), None)));
            }
            if !calls.is_empty() {
                let delta = json!({"tool_calls": wire_calls(&calls)});
                out.push(sse_json(None, &chunk(delta, None)));
                finish = "tool_calls";
            }
            let last = chunk(json!({}), Some(finish));
            out.push(sse_json(None, &last));
            if include_usage {
                let mut u = chunk(json!({}), None);
                u["choices"] = json!([]);
                u["usage"] = usage(&done, truncated);
                out.push(sse_json(None, &u));
            }
            out.push(SseEvent::default().data("[DONE]"));
            (out, true)
        }
        Event::Error(message) => (vec![stream_error(FLAVOR, message)], true),
    });
    // ANCHOR_END: chat_chunks
    Ok(metered(stream, meter))
}

/// `/v1/completions`: a raw prompt, no chat template.
pub async fn completions(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: CompletionRequest = parse(&state, FLAVOR, body)?;
    state.check_model(FLAVOR, &req.model)?;
    req.common.check_n()?;
    let prompt = completion_prompt(&state, req.prompt)?;
    state.check_context(FLAVOR, &prompt, "prompt")?;
    // OpenAI's default for this endpoint is 16 tokens
    let max_tokens = Some(req.common.max_tokens.unwrap_or(16));
    let options = state.options(FLAVOR, prompt.len(), max_tokens, req.common.sampler())?;
    let stop = req.common.stop();
    let events = state.submit(
        FLAVOR,
        Prepared {
            prompt,
            options,
            stop,
            grammar: None,
        },
    )?;

    let (id, created, model) = (new_id("cmpl-"), unix_time(), state.model_id.clone());
    let meter = Meter::default();
    let object = move |text: &str, finish: Option<&str>| {
        json!({
            "id": id, "object": "text_completion", "created": created, "model": model,
            "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}],
        })
    };
    if req.common.stream != Some(true) {
        let (text, done) = collect(FLAVOR, events).await?;
        meter.record(&done);
        let mut body = object(&text, Some(finish_reason(&done.finish)));
        body["usage"] = usage(&done, None);
        return Ok(metered(json_ok(body), meter));
    }
    let include_usage = req.common.include_usage();
    let m = meter.clone();
    let stream = sse_stream(Vec::new(), events, move |event| match event {
        Event::Started { .. } => (Vec::new(), false),
        Event::Text(text) => (vec![sse_json(None, &object(&text, None))], false),
        Event::Done(done) => {
            m.record(&done);
            let mut last = object("", Some(finish_reason(&done.finish)));
            if include_usage {
                last["usage"] = usage(&done, None);
            }
            (
                vec![sse_json(None, &last), SseEvent::default().data("[DONE]")],
                true,
            )
        }
        Event::Error(message) => (vec![stream_error(FLAVOR, message)], true),
    });
    Ok(metered(stream, meter))
}

/// `prompt` is a string, a list of one string, or token ids.
fn completion_prompt(state: &crate::app::AppState, prompt: Value) -> Result<Vec<u32>, ApiError> {
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

/// Calls in OpenAI's shape: `arguments` as a JSON string, an id per call.
fn wire_calls(calls: &[Call]) -> Value {
    let calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"index": i, "id": new_id("call_"), "type": "function",
                   "function": {"name": c.name, "arguments": c.arguments.to_string()}})
        })
        .collect();
    json!(calls)
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
fn usage(done: &Done, truncated: Option<usize>) -> Value {
    let mut usage = json!({
        "prompt_tokens": done.prompt_tokens,
        "completion_tokens": done.completion_tokens,
        "total_tokens": done.prompt_tokens + done.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": done.cached_tokens},
    });
    if let Some(dropped) = truncated {
        usage["truncated_prompt_tokens"] = json!(dropped);
    }
    usage
}
