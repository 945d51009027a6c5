//! The OpenAI Responses API: `POST /v1/responses`.
//!
//! The newer of OpenAI's two chat APIs, and the one applications written
//! since 2025 call. Instead of `messages` it takes `input` (a string, or a
//! list of message items) and `instructions` (the system prompt); instead of
//! `choices` it answers with `output`, a list of items. Streamed, it is a
//! series of *named* events, each with a growing `sequence_number`:
//!
//! ```text
//! response.created → response.in_progress → response.output_item.added
//! → response.content_part.added → response.output_text.delta (× n)
//! → response.output_text.done → response.content_part.done
//! → response.output_item.done → response.completed (or response.incomplete)
//! ```
//!
//! Nothing is stored: `previous_response_id` is refused, and `store` has no
//! effect (chapter 14: nothing leaves or stays behind).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use locallm_infer::sampler::entropy_seed;
use locallm_infer::{Grammar, SamplerConfig};
use locallm_tokenizer::Message;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, Flavor, Kind};
use crate::extract::ApiJson;
use crate::middleware::{Meter, metered};
use crate::sse::{Converted, sse_json, sse_stream, stream_error};
use crate::state::{Prepared, Shared, collect};
use crate::wire::{
    Content, JsonSchemaFormat, ResponseFormat, Truncation, json_ok, new_id, unix_time,
};
use crate::worker::{Done, Event, Finish};

const FLAVOR: Flavor = Flavor::OpenAi;

pub fn router() -> Router<Shared> {
    Router::new().route("/v1/responses", post(responses))
}

#[derive(Deserialize)]
struct ResponsesRequest {
    model: String,
    input: Input,
    instructions: Option<String>,
    max_output_tokens: Option<usize>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    stream: Option<bool>,
    truncation: Option<Truncation>,
    text: Option<TextOptions>,
    previous_response_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    Text(String),
    Items(Vec<InputItem>),
}

/// A message item (`type` is `"message"` or left out).
#[derive(Deserialize)]
struct InputItem {
    #[serde(rename = "type")]
    kind: Option<String>,
    role: Option<String>,
    content: Option<Content>,
}

#[derive(Deserialize)]
struct TextOptions {
    format: Option<TextFormat>,
}

/// `text.format`: like chat completions' `response_format`, but flat.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TextFormat {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: Option<Value> },
}

/// The conversation the request describes, as chat messages.
fn messages(req: &mut ResponsesRequest) -> Result<Vec<Message>, ApiError> {
    let bad = |message: String, param: String| {
        ApiError::new(FLAVOR, Kind::BadRequest, message).param(&param)
    };
    let mut messages = Vec::new();
    if let Some(instructions) = req.instructions.take() {
        messages.push(Message::new("system", instructions));
    }
    match std::mem::replace(&mut req.input, Input::Items(Vec::new())) {
        Input::Text(text) => messages.push(Message::new("user", text)),
        Input::Items(items) => {
            for (i, item) in items.into_iter().enumerate() {
                let param = format!("input[{i}]");
                let kind = item.kind.as_deref().unwrap_or("message");
                if kind != "message" {
                    let message = format!("input items of type `{kind}` are not supported");
                    return Err(bad(message, param));
                }
                let role = match item.role.as_deref() {
                    Some("developer" | "system") => "system",
                    Some(r @ ("user" | "assistant")) => r,
                    other => {
                        let message = format!("unknown role {other:?}");
                        return Err(bad(message, format!("{param}.role")));
                    }
                };
                let content = match item.content {
                    Some(c) => c.text(FLAVOR, &format!("{param}.content"))?,
                    None => String::new(),
                };
                messages.push(Message::new(role, content));
            }
        }
    }
    Ok(messages)
}

async fn responses(
    State(state): State<Shared>,
    ApiJson(mut req): ApiJson<ResponsesRequest>,
) -> Result<Response, ApiError> {
    state.check_model(FLAVOR, &req.model)?;
    if req.previous_response_id.is_some() {
        let message = "this server stores no responses; send the whole conversation in `input`";
        return Err(ApiError::new(FLAVOR, Kind::BadRequest, message).param("previous_response_id"));
    }
    let grammar = match req.text.as_mut().and_then(|t| t.format.take()) {
        None | Some(TextFormat::Text) => None,
        Some(TextFormat::JsonObject) => ResponseFormat::JsonObject.grammar(FLAVOR)?,
        Some(TextFormat::JsonSchema { name, schema }) => {
            let json_schema = JsonSchemaFormat::new(name, schema);
            ResponseFormat::JsonSchema { json_schema }.grammar(FLAVOR)?
        }
    };
    let messages = messages(&mut req)?;
    let truncate = req.truncation == Some(Truncation::Auto);
    let (prompt, _dropped) = state.fit_chat(FLAVOR, messages, truncate)?;
    let d = SamplerConfig::default();
    let sampler = SamplerConfig {
        temperature: req.temperature.unwrap_or(d.temperature),
        top_p: req.top_p.unwrap_or(d.top_p),
        seed: entropy_seed(),
        ..d
    };
    let (temperature, top_p) = (sampler.temperature, sampler.top_p);
    let options = state.options(FLAVOR, prompt.len(), req.max_output_tokens, sampler)?;
    let prepared = Prepared {
        prompt,
        options,
        stop: Vec::new(),
        grammar: grammar.map(Grammar::Json),
    };
    let events = state.submit(FLAVOR, prepared)?;

    let object = ResponseObject {
        id: new_id("resp_"),
        message_id: new_id("msg_"),
        created_at: unix_time(),
        model: state.model_id.clone(),
        temperature,
        top_p,
        max_output_tokens: req.max_output_tokens,
        truncation: if truncate { "auto" } else { "disabled" },
    };
    let meter = Meter::default();
    if req.stream != Some(true) {
        let (text, done) = collect(FLAVOR, events).await?;
        meter.record(&done);
        return Ok(metered(json_ok(&object.finished(&text, &done)), meter));
    }

    // ANCHOR: response_events
    let mut seq = 0u64;
    let mut event = move |kind: &str, mut body: Value| {
        body["type"] = json!(kind);
        body["sequence_number"] = json!(seq);
        seq += 1;
        sse_json(Some(kind), &body)
    };
    let (item_id, started) = (object.message_id.clone(), object.in_progress());
    let first = vec![
        event("response.created", json!({"response": started})),
        event("response.in_progress", json!({"response": started})),
        event(
            "response.output_item.added",
            json!({"output_index": 0, "item": object.message("in_progress", None)}),
        ),
        event(
            "response.content_part.added",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                   "part": output_text("")}),
        ),
    ];
    let mut text = String::new();
    let m = meter.clone();
    let stream = sse_stream(first, events, move |e| match e {
        Event::Started { .. } => Converted::nothing(),
        Event::Text(piece) => {
            text.push_str(&piece);
            let delta = json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                               "delta": piece, "logprobs": []});
            Converted::more(vec![event("response.output_text.delta", delta)])
        }
        Event::Done(done) => {
            m.record(&done);
            let at = json!({"item_id": item_id, "output_index": 0, "content_index": 0});
            let mut text_done = at.clone();
            text_done["text"] = json!(text);
            text_done["logprobs"] = json!([]);
            let mut part_done = at;
            part_done["part"] = output_text(&text);
            let finished = object.finished(&text, &done);
            let last = match done.finish {
                Finish::Length => "response.incomplete",
                _ => "response.completed",
            };
            let item = json!({"output_index": 0, "item": finished["output"][0]});
            let out = vec![
                event("response.output_text.done", text_done),
                event("response.content_part.done", part_done),
                event("response.output_item.done", item),
                event(last, json!({"response": finished})),
            ];
            Converted::last(out)
        }
        Event::Error(message) => Converted::last(vec![stream_error(FLAVOR, message)]),
    });
    // ANCHOR_END: response_events
    Ok(metered(stream, meter))
}

/// The parts of a `response` object known before the answer.
struct ResponseObject {
    id: String,
    message_id: String,
    created_at: u64,
    model: String,
    temperature: f32,
    top_p: f32,
    max_output_tokens: Option<usize>,
    truncation: &'static str,
}

impl ResponseObject {
    fn base(&self, status: &str) -> Value {
        json!({
            "id": self.id, "object": "response", "created_at": self.created_at,
            "status": status, "model": self.model, "output": [],
            "error": null, "incomplete_details": null, "instructions": null,
            "max_output_tokens": self.max_output_tokens, "metadata": {},
            "parallel_tool_calls": false, "temperature": self.temperature,
            "top_p": self.top_p, "tool_choice": "none", "tools": [],
            "text": {"format": {"type": "text"}}, "truncation": self.truncation,
            "store": false, "usage": null,
        })
    }

    fn in_progress(&self) -> Value {
        self.base("in_progress")
    }

    fn message(&self, status: &str, text: Option<&str>) -> Value {
        let content = match text {
            Some(t) => json!([output_text(t)]),
            None => json!([]),
        };
        json!({"type": "message", "id": self.message_id, "status": status,
               "role": "assistant", "content": content})
    }

    /// The whole response once the answer is done; an answer cut by
    /// `max_output_tokens` is `incomplete`, as OpenAI reports it.
    fn finished(&self, text: &str, done: &Done) -> Value {
        let complete = done.finish != Finish::Length;
        let status = if complete { "completed" } else { "incomplete" };
        let mut r = self.base(status);
        r["output"] = json!([self.message(status, Some(text))]);
        if !complete {
            r["incomplete_details"] = json!({"reason": "max_output_tokens"});
        }
        r["usage"] = json!({
            "input_tokens": done.prompt_tokens,
            "input_tokens_details": {"cached_tokens": done.cached_tokens},
            "output_tokens": done.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": done.prompt_tokens + done.completion_tokens,
        });
        r
    }
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}
