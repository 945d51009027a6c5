//! `/api/generate`: one prompt (with an optional `system`) through the chat
//! template, or as it is with `"raw": true`; the answer streamed as NDJSON
//! unless `"stream": false`. The last object carries `context`: the ids of
//! prompt and answer, which a client may send back to continue.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use locallm_tokenizer::Message;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::stream::{Clock, collect, ndjson, now};
use super::{FLAVOR, bad, check_request, grammar, options, prepare, refuse_if};
use crate::error::{ApiError, Kind};
use crate::extract::ApiJson;
use crate::middleware::{Meter, metered};
use crate::sse::Converted;
use crate::state::{AppState, Shared};
use crate::wire::json_ok;
use crate::worker::Event;

pub fn router() -> Router<Shared> {
    Router::new().route("/api/generate", post(generate))
}

/// Ollama's generate request; a field it does not have is a 400.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateRequest {
    model: String,
    #[serde(default)]
    prompt: String,
    /// Fill-in-the-middle: the text after the answer (refused if not empty).
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    system: String,
    /// A Go template for the prompt (refused if not empty: the model's own
    /// chat template is used).
    #[serde(default)]
    template: String,
    /// Token ids of an earlier prompt and answer (a previous `context`).
    #[serde(default)]
    context: Vec<u32>,
    stream: Option<bool>,
    #[serde(default)]
    raw: bool,
    format: Option<Value>,
    images: Option<Vec<Value>>,
    options: Option<Map<String, Value>>,
    keep_alive: Option<Value>,
    think: Option<Value>,
    logprobs: Option<bool>,
    top_logprobs: Option<u32>,
    /// Image generation (not a text model's job).
    width: Option<u32>,
    height: Option<u32>,
    steps: Option<u32>,
}

async fn generate(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<GenerateRequest>,
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
    refuse_if(!req.suffix.is_empty(), "`suffix` (fill-in-the-middle)")?;
    refuse_if(
        !req.template.is_empty(),
        "`template` (the model's chat template is used)",
    )?;
    refuse_if(
        req.images.as_ref().is_some_and(|v| !v.is_empty()),
        "`images`",
    )?;
    let image = req.width.is_some() || req.height.is_some() || req.steps.is_some();
    refuse_if(image, "image generation (`width`, `height`, `steps`)")?;
    refuse_if(req.raw && !req.system.is_empty(), "`system` with `raw`")?;
    let model = req.model.clone();
    // an empty prompt: Ollama's way to load a model, which is loaded already
    if req.prompt.is_empty() && req.context.is_empty() {
        return Ok(json_ok(&json!({
            "model": model, "created_at": now(), "response": "",
            "done": true, "done_reason": "load",
        })));
    }
    let settings = options::parse(req.options.as_ref(), state.context)?;
    let grammar = grammar(req.format.as_ref())?;
    let prompt = prompt_ids(&state, &req)?;
    let prepared = prepare(&state, prompt.clone(), settings, grammar)?;
    let events = state.submit(FLAVOR, prepared)?;
    // raw mode returns no context (as in Ollama)
    let context = (!req.raw).then_some(prompt);
    let reply = Reply {
        model,
        context,
        state: state.clone(),
    };
    let meter = Meter::default();
    if req.stream == Some(false) {
        let (text, done) = collect(events, &mut clock).await?;
        meter.record(&done);
        let mut body = reply.object(&text, true);
        reply.finish(&mut body, &text, json!(clock.stats(&done)));
        return Ok(metered(json_ok(&body), meter));
    }
    let m = meter.clone();
    let mut answer = String::new();
    let stream = ndjson(Vec::new(), events, move |event| {
        clock.see(&event);
        match event {
            Event::Started { .. } => Converted::nothing(),
            Event::Text(text) => {
                answer.push_str(&text);
                Converted::more(vec![reply.object(&text, false)])
            }
            Event::Done(done) => {
                m.record(&done);
                let mut last = reply.object("", true);
                reply.finish(&mut last, &answer, json!(clock.stats(&done)));
                Converted::last(vec![last])
            }
            Event::Error(message) => Converted::last(vec![json!({ "error": message })]),
        }
    });
    Ok(metered(stream, meter))
}

/// The prompt's ids: an earlier `context` first, then the new prompt —
/// through the chat template (with `system`), or as it is with `raw`.
fn prompt_ids(state: &AppState, req: &GenerateRequest) -> Result<Vec<u32>, ApiError> {
    let vocab = state.tokenizer.vocab_size();
    if let Some(&id) = req.context.iter().find(|&&id| id as usize >= vocab) {
        return Err(bad(format!(
            "context: token id {id} is not in the vocabulary ({vocab} tokens)"
        )));
    }
    let mut ids = if req.raw {
        state.text_prompt(FLAVOR, &req.prompt)?
    } else {
        let mut messages = Vec::new();
        if !req.system.is_empty() {
            messages.push(Message::new("system", req.system.clone()));
        }
        messages.push(Message::new("user", req.prompt.clone()));
        state.chat_prompt(FLAVOR, &messages)?
    };
    if !req.context.is_empty() {
        // the context already begins the sequence: no second BOS
        if ids
            .first()
            .is_some_and(|&id| Some(id) == state.tokenizer.bos_id())
        {
            ids.remove(0);
        }
        ids.splice(0..0, req.context.iter().copied());
    }
    Ok(ids)
}

/// What the objects of one answer share.
struct Reply {
    model: String,
    /// The prompt's ids, for the last object's `context` (not with `raw`).
    context: Option<Vec<u32>>,
    state: Shared,
}

impl Reply {
    fn object(&self, response: &str, done: bool) -> Value {
        json!({"model": self.model, "created_at": now(), "response": response, "done": done})
    }

    /// The last object: statistics, and `context` (prompt and answer ids).
    fn finish(&self, body: &mut Value, answer: &str, stats: Value) {
        let Some(object) = body.as_object_mut() else {
            return;
        };
        if let Value::Object(stats) = stats {
            object.extend(stats);
        }
        if let Some(prompt) = &self.context {
            let mut ids = prompt.clone();
            match self.state.tokenizer.encode(answer, false) {
                Ok(answer) => ids.extend(answer),
                Err(e) => {
                    let e = ApiError::new(FLAVOR, Kind::Internal, e.to_string());
                    object.insert("error".into(), json!(e.message));
                }
            }
            object.insert("context".into(), json!(ids));
        }
    }
}
