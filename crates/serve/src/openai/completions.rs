//! `/v1/completions`: a raw prompt, no chat template, continued.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::response::sse::Event as SseEvent;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{Common, FLAVOR, Usage, completion_prompt, finish_reason};
use super::fields;
use super::logprobs::{CompletionLogprobs, Scores};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::middleware::{Meter, metered};
use crate::sse::{Converted, sse_json, sse_stream, stream_error};
use crate::state::{Prepared, Shared, collect};
use crate::wire::{json_ok, new_id, unix_time};
use crate::worker::Event;

pub fn router() -> Router<Shared> {
    Router::new().route("/v1/completions", post(completions))
}

#[derive(Deserialize)]
struct CompletionRequest {
    model: String,
    prompt: Value,
    #[serde(flatten)]
    common: Common,
    /// Every other field: honoured or refused by [`fields::COMPLETIONS`].
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// `/v1/completions`: a raw prompt, no chat template.
async fn completions(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<CompletionRequest>,
) -> Result<Response, ApiError> {
    state.check_model(FLAVOR, &req.model)?;
    req.common.check_n()?;
    fields::check(&req.rest, fields::COMPLETIONS)?;
    let logprobs = req.common.completion_logprobs()?;
    let prompt = completion_prompt(&state, req.prompt)?;
    state.check_context(FLAVOR, &prompt, "prompt")?;
    // OpenAI's default for this endpoint is 16 tokens
    let max_tokens = Some(req.common.max_tokens.unwrap_or(16));
    let sampler = req.common.sampler(state.tokenizer.vocab_size())?;
    let options = state.options(FLAVOR, prompt.len(), max_tokens, sampler)?;
    let stop = req.common.stop();
    let prepared = Prepared {
        prompt,
        options,
        stop,
        grammar: req.common.grammar()?,
    };
    let (events, mut scores) = super::logprobs::submit(&state, prepared, logprobs)?;

    let reply = CompletionReply {
        id: new_id("cmpl-"),
        created: unix_time(),
        model: state.model_id.clone(),
    };
    let meter = Meter::default();
    if !req.common.streamed() {
        let (text, done) = collect(FLAVOR, events).await?;
        meter.record(&done);
        let finish = Some(finish_reason(&done.finish));
        let logprobs = scores.as_mut().map(Scores::completion);
        let body = reply.body(&text, logprobs, finish, Some(Usage::new(&done, None)));
        return Ok(metered(json_ok(&body), meter));
    }
    let include_usage = req.common.include_usage();
    let m = meter.clone();
    let stream = sse_stream(Vec::new(), events, move |event| match event {
        Event::Started { .. } => Converted::nothing(),
        Event::Text(text) => {
            let logprobs = scores.as_mut().map(Scores::completion);
            let body = reply.body(&text, logprobs, None, None);
            Converted::more(vec![sse_json(None, &body)])
        }
        Event::Done(done) => {
            m.record(&done);
            let usage = include_usage.then(|| Usage::new(&done, None));
            let last = reply.body("", None, Some(finish_reason(&done.finish)), usage);
            Converted::last(vec![
                sse_json(None, &last),
                SseEvent::default().data("[DONE]"),
            ])
        }
        Event::Error(message) => Converted::last(vec![stream_error(FLAVOR, message)]),
    });
    Ok(metered(stream, meter))
}

/// What every reply to one raw-prompt request shares.
struct CompletionReply {
    id: String,
    created: u64,
    model: String,
}

impl CompletionReply {
    /// The whole answer, or one streamed piece of it.
    fn body<'a>(
        &'a self,
        text: &'a str,
        logprobs: Option<CompletionLogprobs>,
        finish_reason: Option<&'static str>,
        usage: Option<Usage>,
    ) -> TextCompletion<'a> {
        TextCompletion {
            id: &self.id,
            object: "text_completion",
            created: self.created,
            model: &self.model,
            choices: [TextChoice {
                index: 0,
                text,
                logprobs,
                finish_reason,
            }],
            usage,
        }
    }
}

/// A raw-prompt answer, whole or one streamed piece.
#[derive(Serialize)]
struct TextCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [TextChoice<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

#[derive(Serialize)]
struct TextChoice<'a> {
    index: usize,
    text: &'a str,
    logprobs: Option<CompletionLogprobs>,
    finish_reason: Option<&'static str>,
}
