//! `/v1/chat/completions`: a conversation in, the assistant's next message
//! out, whole or as a stream of `chat.completion.chunk`s.
//!
//! The file reads as a request does: its fields, the messages it becomes,
//! then the reply (whole or streamed) and the reply's types.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::response::sse::Event as SseEvent;
use axum::routing::post;
use locallm_infer::Grammar;
use locallm_tokenizer::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::common::{Common, FLAVOR, Usage, finish_reason};
use super::fields;
use super::logprobs::{ChatLogprobs, Scores};
use crate::error::{ApiError, Kind};
use crate::extract::ApiJson;
use crate::middleware::{Meter, metered};
use crate::sse::{Converted, sse_json, sse_stream, stream_error};
use crate::state::{AppState, Prepared, Shared, collect};
use crate::tools::{self, Call, CallStream, Plan, Tool, ToolChoice};
use crate::wire::{Content, ResponseFormat, Truncation, json_ok, new_id, unix_time};
use crate::worker::Event;

pub fn router() -> Router<Shared> {
    Router::new().route("/v1/chat/completions", post(chat_completions))
}

#[derive(Deserialize)]
struct ChatRequest {
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
    /// With `logprobs: true`: alternatives per token, 0 to 20.
    top_logprobs: Option<i64>,
    /// Every other field: honoured or refused by [`fields::CHAT`].
    #[serde(flatten)]
    rest: Map<String, Value>,
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

/// `/v1/chat/completions`: the request becomes a prompt for the worker,
/// whose answer goes back whole or as a stream of chunks.
async fn chat_completions(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    state.check_model(FLAVOR, &req.model)?;
    req.common.check_n()?;
    fields::check(&req.rest, fields::CHAT)?;
    let logprobs = req.common.chat_logprobs(req.top_logprobs)?;
    if logprobs.is_some() && req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        let message = "`logprobs` together with `tools` is not supported";
        return Err(ApiError::new(FLAVOR, Kind::BadRequest, message).param("logprobs"));
    }
    let (streamed, include_usage) = (req.common.streamed(), req.common.include_usage());
    let (prepared, plan, truncated) = prepare_chat(&state, req)?;
    let (events, scores) = super::logprobs::submit(&state, prepared, logprobs)?;
    let reply = ChatReply {
        id: new_id("chatcmpl-"),
        created: unix_time(),
        model: state.model_id.clone(),
        plan,
        truncated,
        scores,
    };
    if streamed {
        Ok(reply.stream(events, include_usage))
    } else {
        reply.whole(events).await
    }
}

/// The worker's job for a chat request, the request's tools, and (with
/// `"truncation": "auto"`) how many prompt tokens were dropped to fit.
fn prepare_chat(
    state: &AppState,
    req: ChatRequest,
) -> Result<(Prepared, Plan, Option<usize>), ApiError> {
    let mut messages = chat_messages(req.messages)?;
    let plan = Plan::new(FLAVOR, req.tools, req.tool_choice)?;
    plan.add_to_system(&mut messages);
    let grammar = match &req.response_format {
        Some(format) => format.grammar(FLAVOR)?,
        None => None,
    };
    let truncate = req.truncation == Some(Truncation::Auto);
    let fitted = plan.prompt(state, FLAVOR, messages, truncate)?;
    let prompt = fitted.ids;
    // a forced call's grammar replaces any other; a GBNF `grammar` goes
    // with neither
    let json = fitted.grammar.or(grammar).map(Grammar::Json);
    let grammar = match (req.common.grammar()?, json) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                FLAVOR,
                Kind::BadRequest,
                "`grammar` cannot be combined with `response_format` or a required tool call",
            )
            .param("grammar"));
        }
        (gbnf, json) => gbnf.or(json),
    };
    let max_tokens = req.max_completion_tokens.or(req.common.max_tokens);
    let sampler = req.common.sampler(state.tokenizer.vocab_size())?;
    let options = state.options(FLAVOR, prompt.len(), max_tokens, sampler)?;
    let prepared = Prepared {
        prompt,
        options,
        stop: req.common.stop(),
        grammar,
    };
    // usage reports the dropped tokens when truncation was asked for
    Ok((prepared, plan, truncate.then_some(fitted.dropped)))
}

/// The message roles of the Chat Completions API.
const ROLES: [&str; 5] = ["system", "developer", "user", "assistant", "tool"];

/// The request's messages as chat-template messages: text content, tool
/// calls and results in the model's own format, `developer` as `system`.
fn chat_messages(messages: Vec<ChatMessage>) -> Result<Vec<Message>, ApiError> {
    let mut out = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        // the roles of the API; anything else is the caller's mistake, which
        // the OpenAI API answers with a 400 rather than showing the model a
        // made-up turn
        if !ROLES.contains(&m.role.as_str()) {
            let message = format!(
                "Invalid value: '{}'. Supported values are: {}.",
                m.role,
                ROLES.map(|r| format!("'{r}'")).join(", ")
            );
            return Err(ApiError::new(FLAVOR, Kind::BadRequest, message)
                .param(&format!("messages[{i}].role")));
        }
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
        out.push(Message::new(role, content));
    }
    Ok(out)
}

/// What every reply to one chat request shares.
struct ChatReply {
    id: String,
    created: u64,
    model: String,
    plan: Plan,
    truncated: Option<usize>,
    /// With `logprobs`: the tokens' log-probabilities.
    scores: Option<Scores>,
}

impl ChatReply {
    /// Waits for the whole answer: one `chat.completion`.
    async fn whole(mut self, events: mpsc::UnboundedReceiver<Event>) -> Result<Response, ApiError> {
        let (text, done) = collect(FLAVOR, events).await?;
        let logprobs = self.scores.as_mut().map(Scores::chat);
        let meter = Meter::default();
        meter.record(&done);
        let (text, calls) = self.plan.split(&text);
        let (content, wire_calls, finish) = if calls.is_empty() {
            (Some(text), Vec::new(), finish_reason(&done.finish))
        } else {
            // `content` is null unless prose came before the calls
            let content = (!text.is_empty()).then_some(text);
            (content, tool_calls(&calls), "tool_calls")
        };
        let body = ChatCompletion {
            id: &self.id,
            object: "chat.completion",
            created: self.created,
            model: &self.model,
            choices: [CompletionChoice {
                index: 0,
                message: AssistantMessage::new(content, wire_calls),
                logprobs,
                finish_reason: finish,
            }],
            usage: Usage::new(&done, self.truncated),
        };
        Ok(metered(json_ok(&body), meter))
    }

    // ANCHOR: chat_chunks
    /// The answer as it comes: a chunk with the role, one per piece of text,
    /// one with the finish reason, one with the usage if asked, `[DONE]`.
    fn stream(mut self, events: mpsc::UnboundedReceiver<Event>, include_usage: bool) -> Response {
        // asked for, `usage` is null in every chunk but the last
        let no_usage = include_usage.then_some(None);
        let role = Delta {
            role: Some("assistant"),
            content: Some(String::new()),
            ..Delta::default()
        };
        let first = vec![self.delta(role, None, None, no_usage)];
        let meter = Meter::default();
        let m = meter.clone();
        // with tools, text that may be a call is held back until it is known
        let with_tools = !self.plan.tools().is_empty();
        let mut calls_stream = CallStream::new(&self.plan);
        let stream = sse_stream(first, events, move |event| match event {
            Event::Started { .. } => Converted::nothing(),
            Event::Text(text) => {
                let text = if with_tools {
                    calls_stream.push(&text)
                } else {
                    text
                };
                if text.is_empty() {
                    return Converted::nothing();
                }
                // the tokens behind this text (never held back: no tools)
                let logprobs = self.scores.as_mut().map(Scores::chat);
                Converted::more(vec![self.delta(
                    Delta::text(text),
                    logprobs,
                    None,
                    no_usage,
                )])
            }
            Event::Done(done) => {
                m.record(&done);
                let mut out = Vec::new();
                let mut finish = finish_reason(&done.finish);
                let (rest, calls) = calls_stream.finish(&self.plan);
                if !rest.is_empty() {
                    out.push(self.delta(Delta::text(rest), None, None, no_usage));
                }
                if !calls.is_empty() {
                    let delta = Delta {
                        tool_calls: tool_calls(&calls),
                        ..Delta::default()
                    };
                    out.push(self.delta(delta, None, None, no_usage));
                    finish = "tool_calls";
                }
                out.push(self.delta(Delta::default(), None, Some(finish), no_usage));
                if include_usage {
                    let usage = Usage::new(&done, self.truncated);
                    out.push(sse_json(None, &self.chunk(Vec::new(), Some(Some(usage)))));
                }
                out.push(SseEvent::default().data("[DONE]"));
                Converted::last(out)
            }
            Event::Error(message) => Converted::last(vec![stream_error(FLAVOR, message)]),
        });
        metered(stream, meter)
    }
    // ANCHOR_END: chat_chunks

    /// A chunk with one choice's `delta` (and its tokens' `logprobs`).
    fn delta(
        &self,
        delta: Delta,
        logprobs: Option<ChatLogprobs>,
        finish_reason: Option<&'static str>,
        usage: Option<Option<Usage>>,
    ) -> SseEvent {
        let choice = ChunkChoice {
            index: 0,
            delta,
            logprobs,
            finish_reason,
        };
        sse_json(None, &self.chunk(vec![choice], usage))
    }

    fn chunk(&self, choices: Vec<ChunkChoice>, usage: Option<Option<Usage>>) -> ChatChunk<'_> {
        ChatChunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices,
            usage,
        }
    }
}

/// A whole chat answer. (`logprobs` is `null` unless asked for.)
#[derive(Serialize)]
struct ChatCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [CompletionChoice; 1],
    usage: Usage,
}

#[derive(Serialize)]
struct CompletionChoice {
    index: usize,
    message: AssistantMessage,
    logprobs: Option<ChatLogprobs>,
    finish_reason: &'static str,
}

/// The answer's message: `content` is `null` when it is only tool calls.
#[derive(Serialize)]
struct AssistantMessage {
    role: &'static str,
    content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall>,
}

impl AssistantMessage {
    fn new(content: Option<String>, tool_calls: Vec<ToolCall>) -> Self {
        AssistantMessage {
            role: "assistant",
            content,
            tool_calls,
        }
    }
}

/// One streamed piece of a chat answer.
#[derive(Serialize)]
struct ChatChunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChunkChoice>,
    /// Absent unless `stream_options.include_usage`; then `null` in every
    /// chunk but the last, which carries the counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct ChunkChoice {
    index: usize,
    delta: Delta,
    logprobs: Option<ChatLogprobs>,
    finish_reason: Option<&'static str>,
}

/// What a chunk adds to the message; fields left out are unchanged.
#[derive(Serialize, Default)]
struct Delta {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall>,
}

impl Delta {
    fn text(text: String) -> Self {
        Delta {
            content: Some(text),
            ..Delta::default()
        }
    }
}

/// A call in OpenAI's shape: `arguments` as a JSON string, an id per call.
#[derive(Serialize)]
struct ToolCall {
    index: usize,
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionCall,
}

#[derive(Serialize)]
struct FunctionCall {
    name: String,
    arguments: String,
}

fn tool_calls(calls: &[Call]) -> Vec<ToolCall> {
    (calls.iter().enumerate())
        .map(|(index, c)| ToolCall {
            index,
            id: new_id("call_"),
            kind: "function",
            function: FunctionCall {
                name: c.name.clone(),
                arguments: c.arguments.to_string(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::wire::to_json;
    use crate::worker::{Done, Finish};

    /// The typed bodies replaced `json!` ones written out by hand; the bytes
    /// on the wire must not change (SDKs and the book's listings see them).
    #[test]
    fn typed_bodies_are_byte_for_byte_the_json_they_replaced() {
        let reply = ChatReply {
            id: "chatcmpl-1".into(),
            created: 7,
            model: "m".into(),
            plan: Plan::None,
            truncated: Some(3),
            scores: None,
        };
        let done = Done {
            finish: Finish::Length,
            prompt_tokens: 5,
            completion_tokens: 2,
            cached_tokens: 1,
        };
        let usage = Usage::new(&done, reply.truncated);
        let old_usage = json!({
            "prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 1}, "truncated_prompt_tokens": 3,
        });
        assert_eq!(to_json(&usage), old_usage.to_string());

        let choice = |delta, finish_reason| ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason,
        };
        let text = reply.chunk(vec![choice(Delta::text("hi".into()), None)], Some(None));
        let old_text = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "logprobs": null,
                         "finish_reason": null}],
            "usage": null,
        });
        assert_eq!(to_json(&text), old_text.to_string());

        let last = reply.chunk(vec![choice(Delta::default(), Some("length"))], None);
        let old_last = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "length"}],
        });
        assert_eq!(to_json(&last), old_last.to_string());

        let counts = reply.chunk(Vec::new(), Some(Some(usage)));
        let old_counts = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [], "usage": old_usage,
        });
        assert_eq!(to_json(&counts), old_counts.to_string());

        let call = Call {
            name: "get_weather".into(),
            arguments: json!({"city": "Paris"}),
        };
        let calls = tool_calls(std::slice::from_ref(&call));
        let whole = ChatCompletion {
            id: &reply.id,
            object: "chat.completion",
            created: reply.created,
            model: &reply.model,
            choices: [CompletionChoice {
                index: 0,
                message: AssistantMessage::new(None, calls),
                logprobs: None,
                finish_reason: "tool_calls",
            }],
            usage,
        };
        // the call's id is new each time: read it back
        let value = serde_json::to_value(&whole).unwrap();
        let call_id = value["choices"][0]["message"]["tool_calls"][0]["id"].clone();
        let old_whole = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "m",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": null, "tool_calls": [{
                    "index": 0, "id": call_id, "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                }]},
                "logprobs": null,
                "finish_reason": "tool_calls",
            }],
            "usage": old_usage,
        });
        assert_eq!(to_json(&whole), old_whole.to_string());

        let prose = AssistantMessage::new(Some("hello".into()), Vec::new());
        let old_prose = json!({"role": "assistant", "content": "hello"});
        assert_eq!(to_json(&prose), old_prose.to_string());
    }
}
