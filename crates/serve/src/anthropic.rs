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

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use locallm_infer::SamplerConfig;
use locallm_infer::sampler::entropy_seed;
use locallm_tokenizer::Message;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{
    Meter, Prepared, Shared, collect, json_ok, metered, new_id, parse, sse_json, sse_stream,
    stream_error,
};
use crate::error::{ApiError, Flavor, Kind};
use crate::openai::{Content, Truncation};
use crate::worker::{Done, Event, Finish};

const FLAVOR: Flavor = Flavor::Anthropic;

#[derive(Deserialize)]
pub struct MessagesRequest {
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
}

#[derive(Deserialize)]
struct InputMessage {
    role: String,
    content: Content,
}

pub async fn messages(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: MessagesRequest = parse(&state, FLAVOR, body)?;
    state.check_model(FLAVOR, &req.model)?;
    let mut messages = Vec::new();
    if let Some(system) = req.system {
        messages.push(Message::system(system.text(FLAVOR, "system")?));
    }
    for (i, m) in req.messages.into_iter().enumerate() {
        if m.role != "user" && m.role != "assistant" {
            let message = format!("messages[{i}].role must be `user` or `assistant`");
            return Err(ApiError::new(FLAVOR, Kind::BadRequest, message));
        }
        let content = m.content.text(FLAVOR, &format!("messages[{i}].content"))?;
        messages.push(Message::new(m.role, content));
    }
    if messages.iter().all(|m| m.role == "system") {
        return Err(ApiError::new(
            FLAVOR,
            Kind::BadRequest,
            "`messages` must not be empty",
        ));
    }
    let truncate = req.truncation == Some(Truncation::Auto);
    let (prompt, dropped) = state.fit_chat(FLAVOR, messages, truncate)?;
    let truncated = truncate.then_some(dropped);
    let d = SamplerConfig::default();
    let sampler = SamplerConfig {
        temperature: req.temperature.unwrap_or(d.temperature),
        top_p: req.top_p.unwrap_or(d.top_p),
        top_k: req.top_k.unwrap_or(d.top_k),
        seed: entropy_seed(),
        ..d
    };
    let options = state.options(FLAVOR, prompt.len(), Some(req.max_tokens), sampler)?;
    let stops = req.stop_sequences.unwrap_or_default();
    let prompt_len = prompt.len();
    let prepared = Prepared {
        prompt,
        options,
        stop: stops.clone(),
        grammar: None,
    };
    let events = state.submit(FLAVOR, prepared)?;

    let (id, model) = (new_id("msg_"), state.model_id.clone());
    let meter = Meter::default();
    // stop sequences are matched after empty ones are dropped
    let stops: Vec<String> = stops.into_iter().filter(|s| !s.is_empty()).collect();
    let stop_fields = move |finish: &Finish| {
        let (reason, sequence) = match finish {
            Finish::EndOfTurn => ("end_turn", None),
            Finish::StopString(i) => ("stop_sequence", stops.get(*i).cloned()),
            Finish::Length => ("max_tokens", None),
        };
        json!({"stop_reason": reason, "stop_sequence": sequence})
    };
    if req.stream != Some(true) {
        let (text, done) = collect(FLAVOR, events).await?;
        meter.record(&done);
        let stop = stop_fields(&done.finish);
        let body = json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop["stop_reason"], "stop_sequence": stop["stop_sequence"],
            "usage": usage(prompt_len, &done, truncated),
        });
        return Ok(metered(json_ok(body), meter));
    }

    // ANCHOR: message_events
    let m = meter.clone();
    let stream = sse_stream(Vec::new(), events, move |event| match event {
        Event::Started { cached_tokens } => {
            let start = json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {
                    "input_tokens": prompt_len - cached_tokens,
                    "cache_read_input_tokens": cached_tokens,
                    "cache_creation_input_tokens": 0,
                    "output_tokens": 0,
                },
            }});
            let block = json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}});
            let events = vec![
                sse_json(Some("message_start"), &start),
                sse_json(Some("content_block_start"), &block),
                sse_json(Some("ping"), &json!({"type": "ping"})),
            ];
            (events, false)
        }
        Event::Text(text) => {
            let delta = json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": text}});
            (vec![sse_json(Some("content_block_delta"), &delta)], false)
        }
        Event::Done(done) => {
            m.record(&done);
            let events = vec![
                sse_json(
                    Some("content_block_stop"),
                    &json!({"type": "content_block_stop", "index": 0}),
                ),
                sse_json(
                    Some("message_delta"),
                    &json!({"type": "message_delta", "delta": stop_fields(&done.finish),
                        "usage": usage(prompt_len, &done, truncated)}),
                ),
                sse_json(Some("message_stop"), &json!({"type": "message_stop"})),
            ];
            (events, true)
        }
        Event::Error(message) => (vec![stream_error(FLAVOR, message)], true),
    });
    // ANCHOR_END: message_events
    Ok(metered(stream, meter))
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
