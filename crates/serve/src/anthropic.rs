//! The Anthropic Messages API: `POST /v1/messages`.
//!
//! The same model behind a different shape: `system` is a field of its own,
//! `max_tokens` is required, content is a string or a list of blocks, and a
//! stream is a sequence of *named* events:
//!
//! ```text
//! event: message_start        {"type":"message_start","message":{..., "content":[], "usage":{...}}}
//! event: content_block_start  {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
//! event: content_block_delta  {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}
//! ...
//! event: content_block_stop   {"type":"content_block_stop","index":0}
//! event: message_delta        {"type":"message_delta","delta":{"stop_reason":"end_turn",...},"usage":{...}}
//! event: message_stop         {"type":"message_stop"}
//! ```

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::response::sse::Event as SseEvent;
use axum::routing::post;
use locallm_infer::sampler::entropy_seed;
use locallm_infer::{Grammar, SamplerConfig};
use locallm_tokenizer::Message;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::error::{ApiError, Flavor, Kind};
use crate::extract::ApiJson;
use crate::middleware::{Meter, metered};
use crate::sse::{Converted, sse_json, sse_stream, stream_error};
use crate::state::{AppState, Prepared, Shared, collect};
use crate::tools::{self, Call, CallStream, Named, Plan, Tool, ToolChoice};
use crate::wire::{Content, Part, Truncation, json_ok, new_id};
use crate::worker::{Done, Event, Finish};

const FLAVOR: Flavor = Flavor::Anthropic;

pub fn router() -> Router<Shared> {
    Router::new().route("/v1/messages", post(messages))
}

#[derive(Deserialize)]
struct MessagesRequest {
    model: String,
    max_tokens: usize,
    messages: Vec<InputMessage>,
    system: Option<Content>,
    stop_sequences: Option<Vec<String>>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    top_k: Option<usize>,
    stream: Option<bool>,
    /// `"auto"`: drop the oldest turns if the prompt does not fit (an extension).
    truncation: Option<Truncation>,
    tools: Option<Vec<AnthropicTool>>,
    tool_choice: Option<AnthropicToolChoice>,
}

/// `{"name", "description", "input_schema"}`.
#[derive(Deserialize)]
struct AnthropicTool {
    name: String,
    description: Option<String>,
    input_schema: Option<Value>,
}

/// `{"type": "auto" | "any" | "none" | "tool", "name"}`.
#[derive(Deserialize)]
struct AnthropicToolChoice {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
}

impl AnthropicToolChoice {
    /// The same choice in OpenAI's terms (`any` is OpenAI's `required`).
    fn to_openai(&self) -> ToolChoice {
        match (self.kind.as_str(), &self.name) {
            ("tool", Some(name)) => ToolChoice::Named {
                function: Named { name: name.clone() },
            },
            ("any", _) => ToolChoice::Mode("required".into()),
            (kind, _) => ToolChoice::Mode(kind.into()),
        }
    }
}

/// A message's content as prompt text: text blocks as they are, `tool_use`
/// and `tool_result` blocks in the model's own tool format. The role
/// becomes `tool` when the message is only tool results.
fn content_text(content: Content, role: String, param: &str) -> Result<(String, String), ApiError> {
    let parts = match content {
        Content::Text(text) => return Ok((role, text)),
        Content::Parts(parts) => parts,
    };
    let only_results = !parts.is_empty() && parts.iter().all(|p| p.kind == "tool_result");
    let mut text = String::new();
    for (i, part) in parts.into_iter().enumerate() {
        let kind = part.kind.clone();
        let piece = match (kind.as_str(), part) {
            ("text", Part { text: Some(t), .. }) => t,
            (
                "tool_use",
                Part {
                    name: Some(name),
                    input,
                    ..
                },
            ) => {
                let input = input.unwrap_or(json!({})).to_string();
                tools::render_calls("", &[(name, input)])
            }
            ("tool_result", Part { content, .. }) => {
                let result = match content {
                    Some(Value::String(s)) => s,
                    Some(Value::Array(blocks)) => blocks
                        .iter()
                        .filter_map(|b| b.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                };
                tools::render_result(&result)
            }
            (kind, _) => {
                let message = format!("content of type `{kind}` is not supported");
                let param = format!("{param}[{i}]");
                return Err(ApiError::new(FLAVOR, Kind::BadRequest, message).param(&param));
            }
        };
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&piece);
    }
    let role = if only_results {
        "tool".to_string()
    } else {
        role
    };
    Ok((role, text))
}

#[derive(Deserialize)]
struct InputMessage {
    role: String,
    content: Content,
}

/// `POST /v1/messages`: the request becomes a prompt for the worker, whose
/// answer goes back as one message or as a stream of named events.
async fn messages(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<MessagesRequest>,
) -> Result<Response, ApiError> {
    state.check_model(FLAVOR, &req.model)?;
    let streamed = req.stream == Some(true);
    let (prepared, plan, truncated) = prepare(&state, req)?;
    let (prompt_len, stops) = (prepared.prompt.len(), prepared.stop.clone());
    let events = state.submit(FLAVOR, prepared)?;
    let reply = MessageReply {
        id: new_id("msg_"),
        model: state.model_id.clone(),
        plan,
        prompt_len,
        // stop sequences are matched after empty ones are dropped
        stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
        truncated,
    };
    if streamed {
        Ok(reply.stream(events))
    } else {
        reply.whole(events).await
    }
}

/// The worker's job for a request, the request's tools, and (with
/// `"truncation": "auto"`) how many prompt tokens were dropped to fit.
fn prepare(
    state: &AppState,
    req: MessagesRequest,
) -> Result<(Prepared, Plan, Option<usize>), ApiError> {
    let mut messages = input_messages(req.system, req.messages)?;
    let tools: Option<Vec<Tool>> = req.tools.map(|tools| {
        let tools = tools.into_iter().map(|t| {
            json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.input_schema}})
        });
        serde_json::from_value(Value::Array(tools.collect())).unwrap_or_default()
    });
    let choice = req.tool_choice.as_ref().map(AnthropicToolChoice::to_openai);
    let plan = Plan::new(FLAVOR, tools, choice)?;
    plan.add_to_system(&mut messages);
    if messages.iter().all(|m| m.role == "system") {
        return Err(ApiError::new(
            FLAVOR,
            Kind::BadRequest,
            "`messages` must not be empty",
        ));
    }
    let truncate = req.truncation == Some(Truncation::Auto);
    let fitted = plan.prompt(state, FLAVOR, messages, truncate)?;
    let prompt = fitted.ids;
    let d = SamplerConfig::default();
    let sampler = SamplerConfig {
        temperature: req.temperature.unwrap_or(d.temperature),
        top_p: req.top_p.unwrap_or(d.top_p),
        top_k: req.top_k.unwrap_or(d.top_k),
        seed: entropy_seed(),
        ..d
    };
    let options = state.options(FLAVOR, prompt.len(), Some(req.max_tokens), sampler)?;
    let prepared = Prepared {
        prompt,
        options,
        stop: req.stop_sequences.unwrap_or_default(),
        grammar: fitted.grammar.map(Grammar::Json),
    };
    Ok((prepared, plan, truncate.then_some(fitted.dropped)))
}

/// `system` and the turns as chat-template messages.
fn input_messages(
    system: Option<Content>,
    turns: Vec<InputMessage>,
) -> Result<Vec<Message>, ApiError> {
    let mut messages = Vec::new();
    if let Some(system) = system {
        messages.push(Message::system(system.text(FLAVOR, "system")?));
    }
    for (i, m) in turns.into_iter().enumerate() {
        if m.role != "user" && m.role != "assistant" {
            let message = format!("messages[{i}].role must be `user` or `assistant`");
            return Err(ApiError::new(FLAVOR, Kind::BadRequest, message));
        }
        let (role, content) = content_text(m.content, m.role, &format!("messages[{i}].content"))?;
        messages.push(Message::new(role, content));
    }
    Ok(messages)
}

/// What every reply to one request shares.
struct MessageReply {
    id: String,
    model: String,
    plan: Plan,
    prompt_len: usize,
    /// The request's stop sequences, empty ones dropped.
    stops: Vec<String>,
    truncated: Option<usize>,
}

impl MessageReply {
    /// Waits for the whole answer: one `message`.
    async fn whole(self, events: mpsc::UnboundedReceiver<Event>) -> Result<Response, ApiError> {
        let (text, done) = collect(FLAVOR, events).await?;
        let meter = Meter::default();
        meter.record(&done);
        let (text, calls) = self.plan.split(&text);
        let stop = self.stop_fields(&done.finish, &calls);
        let mut content = Vec::new();
        if !text.is_empty() || calls.is_empty() {
            content.push(json!({"type": "text", "text": text}));
        }
        content.extend(calls.iter().map(tool_use_block));
        let body = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": content,
            "stop_reason": stop["stop_reason"], "stop_sequence": stop["stop_sequence"],
            "usage": usage(self.prompt_len, &done, self.truncated),
        });
        Ok(metered(json_ok(&body), meter))
    }

    // ANCHOR: message_events
    /// The answer as named events: the message and a text block open, text
    /// deltas, the block closes, each tool call as a block of its own, then
    /// the stop reason and usage.
    fn stream(self, events: mpsc::UnboundedReceiver<Event>) -> Response {
        let meter = Meter::default();
        let m = meter.clone();
        let mut calls_stream = CallStream::new(&self.plan);
        let stream = sse_stream(Vec::new(), events, move |event| match event {
            Event::Started { cached_tokens, .. } => {
                let start = json!({"type": "message_start", "message": {
                    "id": self.id, "type": "message", "role": "assistant", "model": self.model,
                    "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": {
                        "input_tokens": self.prompt_len - cached_tokens,
                        "cache_read_input_tokens": cached_tokens,
                        "cache_creation_input_tokens": 0,
                        "output_tokens": 0,
                    },
                }});
                let block = json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}});
                Converted::more(vec![
                    sse_json(Some("message_start"), &start),
                    sse_json(Some("content_block_start"), &block),
                    sse_json(Some("ping"), &json!({"type": "ping"})),
                ])
            }
            Event::Text(text) => {
                let text = calls_stream.pass(text);
                if text.is_empty() {
                    return Converted::nothing();
                }
                Converted::more(vec![text_delta(&text)])
            }
            Event::Done(done) => {
                m.record(&done);
                let (rest, calls) = calls_stream.finish(&self.plan);
                let mut events = Vec::new();
                if !rest.is_empty() {
                    events.push(text_delta(&rest));
                }
                events.push(block_stop(0));
                // each call is a block of its own, its input streamed as JSON
                for (i, call) in calls.iter().enumerate() {
                    let mut block = tool_use_block(call);
                    block["input"] = json!({});
                    let start = json!({"type": "content_block_start", "index": i + 1,
                        "content_block": block});
                    let delta = json!({"type": "content_block_delta", "index": i + 1,
                        "delta": {"type": "input_json_delta",
                                  "partial_json": call.arguments.to_string()}});
                    events.push(sse_json(Some("content_block_start"), &start));
                    events.push(sse_json(Some("content_block_delta"), &delta));
                    events.push(block_stop(i + 1));
                }
                let delta = json!({"type": "message_delta",
                    "delta": self.stop_fields(&done.finish, &calls),
                    "usage": usage(self.prompt_len, &done, self.truncated)});
                events.push(sse_json(Some("message_delta"), &delta));
                events.push(sse_json(
                    Some("message_stop"),
                    &json!({"type": "message_stop"}),
                ));
                Converted::last(events)
            }
            Event::Error(message) => Converted::last(vec![stream_error(FLAVOR, message)]),
        });
        metered(stream, meter)
    }
    // ANCHOR_END: message_events

    /// `stop_reason` and `stop_sequence`: a tool call wins over how the text ended.
    fn stop_fields(&self, finish: &Finish, calls: &[Call]) -> Value {
        let (reason, sequence) = match finish {
            _ if !calls.is_empty() => ("tool_use", None),
            Finish::EndOfTurn => ("end_turn", None),
            Finish::StopString(i) => ("stop_sequence", self.stops.get(*i).cloned()),
            Finish::Length => ("max_tokens", None),
        };
        json!({"stop_reason": reason, "stop_sequence": sequence})
    }
}

fn text_delta(text: &str) -> SseEvent {
    let delta = json!({"type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": text}});
    sse_json(Some("content_block_delta"), &delta)
}

fn block_stop(index: usize) -> SseEvent {
    sse_json(
        Some("content_block_stop"),
        &json!({"type": "content_block_stop", "index": index}),
    )
}

/// A call as Anthropic's `tool_use` content block.
fn tool_use_block(call: &Call) -> Value {
    json!({"type": "tool_use", "id": new_id("toolu_"), "name": call.name, "input": call.arguments})
}

/// Anthropic's `usage`: `input_tokens` does not include the prompt tokens
/// read from the cache, which are counted separately. With `"truncation":
/// "auto"`, `truncated_input_tokens` says how many were dropped to fit.
fn usage(prompt_len: usize, done: &Done, truncated: Option<usize>) -> Value {
    let mut usage = json!({
        "input_tokens": prompt_len - done.cached_tokens,
        "cache_read_input_tokens": done.cached_tokens,
        "cache_creation_input_tokens": 0,
        "output_tokens": done.completion_tokens,
    });
    if let Some(dropped) = truncated {
        usage["truncated_input_tokens"] = json!(dropped);
    }
    usage
}
