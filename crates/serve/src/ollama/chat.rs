//! `/api/chat`: messages in, the assistant's next message out, streamed as
//! NDJSON unless `"stream": false`. Tools (`tools`, `tool_calls`) go through
//! the same Hermes format as the OpenAI API's.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use locallm_tokenizer::Message;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::stream::{Clock, collect, ndjson, now};
use super::{bad, check_request, grammar, options, prepare, refuse_if};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::middleware::{Meter, metered};
use crate::sse::Converted;
use crate::state::Shared;
use crate::tools::{self, Call, CallStream, Plan, Tool};
use crate::wire::json_ok;
use crate::worker::Event;

use super::FLAVOR;

pub fn router() -> Router<Shared> {
    Router::new().route("/api/chat", post(chat))
}

/// Ollama's chat request; a field it does not have is a 400.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRequest {
    model: String,
    #[serde(default)]
    messages: Vec<ChatMessage>,
    tools: Option<Vec<Tool>>,
    /// Streams unless `false`.
    stream: Option<bool>,
    format: Option<Value>,
    options: Option<Map<String, Value>>,
    keep_alive: Option<Value>,
    /// Thinking models only: `false` (or absent) is accepted.
    think: Option<Value>,
    logprobs: Option<bool>,
    top_logprobs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatMessage {
    role: String,
    #[serde(default)]
    content: String,
    images: Option<Vec<Value>>,
    thinking: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireCall>,
    /// Which call a `tool` message answers: identification only, the
    /// model's format lists results in order.
    #[allow(dead_code)]
    tool_name: Option<String>,
    #[allow(dead_code)]
    tool_call_id: Option<String>,
}

/// A call as Ollama writes it: `arguments` is a JSON object (not a string).
#[derive(Deserialize)]
struct WireCall {
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

/// The roles of Ollama's chat messages.
const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

async fn chat(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let mut clock = Clock::start();
    check_request(
        &state,
        &req.model,
        req.keep_alive.as_ref(),
        req.think.as_ref(),
        req.logprobs,
        req.top_logprobs,
    )?;
    let model = req.model.clone();
    // no messages: Ollama's way to load a model, which is loaded already
    if req.messages.is_empty() {
        return Ok(json_ok(&json!({
            "model": model, "created_at": now(),
            "message": {"role": "assistant", "content": ""},
            "done": true, "done_reason": "load",
        })));
    }
    let settings = options::parse(req.options.as_ref(), state.context)?;
    let grammar = grammar(req.format.as_ref())?;
    let mut messages = chat_messages(req.messages)?;
    let plan = Plan::new(FLAVOR, req.tools, None)?;
    plan.add_to_system(&mut messages);
    // Ollama drops the oldest turns of a conversation that does not fit
    let fitted = plan.prompt(&state, FLAVOR, messages, true)?;
    let prepared = prepare(&state, fitted.ids, settings, grammar)?;
    let events = state.submit(FLAVOR, prepared)?;
    let meter = Meter::default();
    if req.stream == Some(false) {
        let (text, done) = collect(events, &mut clock).await?;
        meter.record(&done);
        let (content, calls) = plan.split(&text);
        let mut body = json!({
            "model": model, "created_at": now(),
            "message": message(&content, &calls), "done": true,
        });
        merge(&mut body, json!(clock.stats(&done)));
        return Ok(metered(json_ok(&body), meter));
    }
    Ok(metered(
        stream(model, plan, events, clock, meter.clone()),
        meter,
    ))
}

// ANCHOR: chat_stream
/// One object per piece of text; tool calls (held back until they are
/// known) in one object; then the last, empty one with the statistics.
fn stream(
    model: String,
    plan: Plan,
    events: tokio::sync::mpsc::UnboundedReceiver<Event>,
    mut clock: Clock,
    meter: Meter,
) -> Response {
    let mut calls_stream = CallStream::new(&plan);
    let piece = move |message: Value, done: bool| json!({"model": model, "created_at": now(), "message": message, "done": done});
    ndjson(Vec::new(), events, move |event| {
        clock.see(&event);
        match event {
            Event::Started { .. } => Converted::nothing(),
            Event::Text(text) => {
                let text = calls_stream.pass(text);
                if text.is_empty() {
                    return Converted::nothing();
                }
                Converted::more(vec![piece(message(&text, &[]), false)])
            }
            Event::Done(done) => {
                meter.record(&done);
                let mut out = Vec::new();
                let (rest, calls) = calls_stream.finish(&plan);
                if !rest.is_empty() || !calls.is_empty() {
                    out.push(piece(message(&rest, &calls), false));
                }
                let mut last = piece(message("", &[]), true);
                merge(&mut last, json!(clock.stats(&done)));
                out.push(last);
                Converted::last(out)
            }
            Event::Error(message) => Converted::last(vec![json!({ "error": message })]),
        }
    })
}
// ANCHOR_END: chat_stream

/// The assistant's message: its text and, if any, its tool calls.
fn message(content: &str, calls: &[Call]) -> Value {
    let mut message = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        let calls: Vec<Value> = calls
            .iter()
            .map(|c| json!({"function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        message["tool_calls"] = json!(calls);
    }
    message
}

/// Adds the fields of `extra` (an object) to `body`.
fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

/// The request's messages as chat-template messages, tool calls and
/// results in the model's own format.
fn chat_messages(messages: Vec<ChatMessage>) -> Result<Vec<Message>, ApiError> {
    let mut out = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        if !ROLES.contains(&m.role.as_str()) {
            return Err(bad(format!(
                "messages[{i}]: invalid role '{}'; the roles are {}",
                m.role,
                ROLES.join(", ")
            )));
        }
        let images = m.images.as_ref().is_some_and(|v| !v.is_empty());
        refuse_if(
            images,
            &format!("messages[{i}].images (this model reads text only)"),
        )?;
        let thinking = m.thinking.as_ref().is_some_and(|t| !t.is_empty());
        refuse_if(thinking, &format!("messages[{i}].thinking"))?;
        let content = match m.role.as_str() {
            "tool" => tools::render_result(&m.content),
            _ if !m.tool_calls.is_empty() => {
                let calls: Vec<(String, String)> = (m.tool_calls.into_iter())
                    .map(|c| (c.function.name, c.function.arguments.to_string()))
                    .collect();
                tools::render_calls(&m.content, &calls)
            }
            _ => m.content,
        };
        out.push(Message::new(m.role, content));
    }
    Ok(out)
}
