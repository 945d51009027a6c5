//! The HTTP application: routes, the shared state, and what every request
//! goes through on its way to the model (auth, body limit, one log line).
//!
//! The two API modules ([`crate::openai`], [`crate::anthropic`]) only
//! translate; the steps they share live here:
//!
//! 1. [`AppState::check_model`] — the `model` field names the loaded model;
//! 2. [`AppState::chat_prompt`] — messages → chat template → token ids;
//! 3. [`AppState::check_context`] — the prompt fits, or a 400 that states
//!    both token counts ([`AppState::fit_chat`]: unless the request opts into
//!    truncation);
//! 4. [`AppState::submit`] — a place among `--parallel`, then the worker's queue;
//! 5. [`collect`] or [`sse_stream`] — the worker's events → one body or a stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use locallm_infer::{GenerateOptions, JsonGrammar, SamplerConfig};
use locallm_tokenizer::{ChatTemplate, Message, Tokenizer};
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::error::{ApiError, Flavor, Kind};
use crate::worker::{Done, EmbedJob, Event, Job, Work};
use crate::{anthropic, openai, responses};

/// Everything a handler needs, shared by all of them.
pub struct AppState {
    /// The name clients put in `model` (the GGUF file name without `.gguf`).
    pub model_id: String,
    /// Unix time the server started (OpenAI's `created` of the model).
    pub created: u64,
    pub tokenizer: Arc<Tokenizer>,
    pub template: Option<ChatTemplate>,
    /// The worker session's context size in tokens.
    pub context: usize,
    pub api_key: Option<String>,
    pub body_limit: usize,
    pub log: bool,
    pub jobs: mpsc::UnboundedSender<Work>,
    /// `--parallel` places: requests admitted at once (one runs, the rest queue).
    pub slots: Arc<Semaphore>,
    /// How many places `slots` has in all.
    pub parallel: usize,
    /// The worker's counters, shown by `/health`.
    pub counters: Arc<crate::worker::Counters>,
}

pub type Shared = Arc<AppState>;

// ANCHOR: router
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/health", get(health))
        .route("/v1/models", get(openai::models))
        .route("/v1/models/{id}", get(openai::model))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/completions", post(openai::completions))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/responses", post(responses::responses))
        .route("/v1/messages", post(anthropic::messages))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(state.clone(), log_line))
        .with_state(state)
}
// ANCHOR_END: router

/// The chat page: one HTML file with its script, no build step.
async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

// ANCHOR: health
/// `GET /health`: is the server up, and what is it doing. No content, no
/// key needed (like the page): requests admitted now (running or queued),
/// the `--parallel` places, and the worker's totals. Once every client has
/// finished or left, `active_requests` is back to 0: nothing leaked a place
/// (the worker's one KV cache is only used while a place is held).
async fn health(State(state): State<Shared>) -> Response {
    let free = state.slots.available_permits();
    let load = |c: &AtomicUsize| c.load(Ordering::SeqCst);
    json_ok(json!({
        "status": "ok",
        "model": state.model_id,
        "active_requests": state.parallel - free,
        "slots": state.parallel,
        "slots_free": free,
        "finished": load(&state.counters.finished),
        "cancelled": load(&state.counters.cancelled),
        "generated_tokens": load(&state.counters.generated_tokens),
    }))
}
// ANCHOR_END: health

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    let flavor = Flavor::of_path(uri.path());
    ApiError::new(
        flavor,
        Kind::NotFound,
        format!("no route for {method} {}", uri.path()),
    )
}

// ANCHOR: auth
/// With `--api-key`, every `/v1/` request must carry the key, either OpenAI
/// style (`Authorization: Bearer KEY`) or Anthropic style (`x-api-key: KEY`).
async fn auth(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let Some(key) = &state.api_key else {
        return next.run(req).await;
    };
    if !req.uri().path().starts_with("/v1/") {
        return next.run(req).await; // the page itself is public; its requests are not
    }
    let headers = req.headers();
    let bearer = header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "));
    let given = bearer.or(header(headers, "x-api-key"));
    if given.is_some_and(|given| given.trim() == key) {
        return next.run(req).await;
    }
    let message = match given {
        None => "missing API key: send `Authorization: Bearer KEY` or `x-api-key: KEY`",
        Some(_) => "invalid API key",
    };
    ApiError::new(
        Flavor::of_path(req.uri().path()),
        Kind::Unauthorized,
        message,
    )
    .code("invalid_api_key")
    .into_response()
}
// ANCHOR_END: auth

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Token counts of one request, filled in by its handler (or its stream)
/// and read by the log line. It travels in the response's extensions.
#[derive(Clone, Default)]
pub struct Meter(Arc<(AtomicUsize, AtomicUsize)>);

impl Meter {
    pub fn record(&self, done: &Done) {
        self.0.0.store(done.prompt_tokens, Ordering::Relaxed);
        self.0.1.store(done.completion_tokens, Ordering::Relaxed);
    }
}

// ANCHOR: log_line
/// One line per request, without content: method, path, status, tokens
/// (prompt+completion), milliseconds. A streamed answer is logged when its
/// body ends (or the client drops it), so the time and counts are final.
async fn log_line(State(state): State<Shared>, req: Request, next: Next) -> Response {
    if !state.log {
        return next.run(req).await;
    }
    let mut line = LogLine {
        start: Instant::now(),
        method: req.method().clone(),
        path: req.uri().path().to_string(),
        // nginx's "client closed request": logged if the client leaves
        // before the handler has answered (its future is then dropped)
        status: StatusCode::from_u16(499).expect("valid"),
        meter: Meter::default(),
    };
    let response = next.run(req).await;
    line.status = response.status();
    line.meter = response
        .extensions()
        .get::<Meter>()
        .cloned()
        .unwrap_or_default();
    response.map(|body| Body::new(LoggedBody { body, _line: line }))
}

struct LogLine {
    start: Instant,
    method: Method,
    path: String,
    status: StatusCode,
    meter: Meter,
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let (prompt, completion) = (&self.meter.0.0, &self.meter.0.1);
        eprintln!(
            "{} {} {} tokens={}+{} {}ms",
            self.method,
            self.path,
            self.status.as_u16(),
            prompt.load(Ordering::Relaxed),
            completion.load(Ordering::Relaxed),
            self.start.elapsed().as_millis()
        );
    }
}
// ANCHOR_END: log_line

/// A response body that carries its log line; the line is written when the
/// body is dropped: sent completely, or abandoned by the client.
struct LoggedBody {
    body: Body,
    _line: LogLine,
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Reads a JSON body, with errors in the request's API shape: 413 over the
/// size limit, 400 for anything that is not the expected JSON.
pub fn parse<T: DeserializeOwned>(
    state: &AppState,
    flavor: Flavor,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                flavor,
                Kind::TooLarge,
                format!(
                    "the request body is larger than the limit of {} bytes",
                    state.body_limit
                ),
            )
        } else {
            ApiError::new(flavor, Kind::BadRequest, rejection.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|err| {
        let message = match err.classify() {
            serde_json::error::Category::Data => format!("invalid request: {err}"),
            _ => format!("the request body is not valid JSON: {err}"),
        };
        ApiError::new(flavor, Kind::BadRequest, message)
    })
}

/// What the worker needs for one answer.
pub struct Prepared {
    pub prompt: Vec<u32>,
    pub options: GenerateOptions,
    pub stop: Vec<String>,
    /// Structured output: the answer must be JSON of this grammar.
    pub grammar: Option<Arc<JsonGrammar>>,
}

impl AppState {
    pub fn check_model(&self, flavor: Flavor, model: &str) -> Result<(), ApiError> {
        if model == self.model_id {
            return Ok(());
        }
        let message = format!(
            "the model `{model}` does not exist; this server has `{}`",
            self.model_id
        );
        Err(ApiError::new(flavor, Kind::NotFound, message)
            .param("model")
            .code("model_not_found"))
    }

    /// A conversation through the model's chat template, as token ids.
    pub fn chat_prompt(&self, flavor: Flavor, messages: &[Message]) -> Result<Vec<u32>, ApiError> {
        let bad = |message: String| ApiError::new(flavor, Kind::BadRequest, message);
        if messages.is_empty() {
            return Err(bad("`messages` must not be empty".into()).param("messages"));
        }
        let template = self
            .template
            .as_ref()
            .ok_or_else(|| bad("this model has no chat template; use /v1/completions".into()))?;
        let text = template
            .render(messages, true)
            .map_err(|e| bad(format!("cannot render the chat template: {e}")))?;
        self.text_prompt(flavor, &text)
    }

    // ANCHOR: truncation
    /// The chat prompt, checked against the context. A request that opts into
    /// truncation (`"truncation": "auto"`) instead loses its oldest turns
    /// (never a system message, never the last turn) until it fits; the
    /// second value is how many prompt tokens that dropped.
    pub fn fit_chat(
        &self,
        flavor: Flavor,
        mut messages: Vec<Message>,
        truncate: bool,
    ) -> Result<(Vec<u32>, usize), ApiError> {
        let full = self.chat_prompt(flavor, &messages)?;
        if !truncate || full.len() < self.context {
            self.check_context(flavor, &full, "messages")?;
            return Ok((full, 0));
        }
        loop {
            let oldest = messages.iter().position(|m| m.role != "system");
            match oldest {
                Some(i) if i + 1 < messages.len() => messages.remove(i),
                // nothing left to drop: the last turn alone is too long
                _ => return Err(self.overflow(flavor, full.len(), "messages")),
            };
            let ids = self.chat_prompt(flavor, &messages)?;
            if ids.len() < self.context {
                let dropped = full.len() - ids.len();
                return Ok((ids, dropped));
            }
        }
    }
    // ANCHOR_END: truncation

    /// Appends `text` (no special tokens) to a prompt, checking it still fits.
    pub fn extend_prompt(
        &self,
        flavor: Flavor,
        prompt: &mut Vec<u32>,
        text: &str,
        param: &str,
    ) -> Result<(), ApiError> {
        let ids = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ApiError::new(flavor, Kind::Internal, format!("cannot tokenize: {e}")))?;
        prompt.extend(ids);
        self.check_context(flavor, prompt, param)
    }

    /// Plain text as token ids (special-token text is parsed as in a chat prompt).
    pub fn text_prompt(&self, flavor: Flavor, text: &str) -> Result<Vec<u32>, ApiError> {
        let ids = self
            .tokenizer
            .encode_prompt(text)
            .map_err(|e| ApiError::new(flavor, Kind::Internal, format!("cannot tokenize: {e}")))?;
        if ids.is_empty() {
            return Err(ApiError::new(
                flavor,
                Kind::BadRequest,
                "the prompt is empty",
            ));
        }
        Ok(ids)
    }

    // ANCHOR: check_context
    /// Context overflow is never silent: the answer needs at least one free
    /// position after the prompt.
    pub fn check_context(
        &self,
        flavor: Flavor,
        prompt: &[u32],
        param: &str,
    ) -> Result<(), ApiError> {
        match prompt.len() < self.context {
            true => Ok(()),
            false => Err(self.overflow(flavor, prompt.len(), param)),
        }
    }

    fn overflow(&self, flavor: Flavor, prompt_len: usize, param: &str) -> ApiError {
        let message = format!(
            "the prompt has {prompt_len} tokens, but this server's context holds {} tokens \
             (the prompt must be shorter than that, to leave room for the answer)",
            self.context
        );
        ApiError::new(flavor, Kind::BadRequest, message)
            .param(param)
            .code("context_length_exceeded")
    }
    // ANCHOR_END: check_context

    /// The generation settings: the request's values over llama.cpp's
    /// defaults; `max_tokens` defaults to what is left of the context.
    pub fn options(
        &self,
        flavor: Flavor,
        prompt_len: usize,
        max_tokens: Option<usize>,
        sampler: SamplerConfig,
    ) -> Result<GenerateOptions, ApiError> {
        let bad =
            |message: String, param| ApiError::new(flavor, Kind::BadRequest, message).param(param);
        // the APIs' own ranges: OpenAI 0..=2, Anthropic 0..=1
        let max_temperature = match flavor {
            Flavor::OpenAi => 2.0,
            Flavor::Anthropic => 1.0,
        };
        if !(0.0..=max_temperature).contains(&sampler.temperature) {
            let message = format!(
                "`temperature` must be between 0 and {max_temperature}, got {}",
                sampler.temperature
            );
            return Err(bad(message, "temperature"));
        }
        sampler.validate().map_err(|e| bad(e.to_string(), e.name))?;
        if max_tokens == Some(0) {
            return Err(bad("`max_tokens` must be at least 1".into(), "max_tokens"));
        }
        Ok(GenerateOptions {
            max_tokens: max_tokens.unwrap_or(self.context - prompt_len),
            sampler,
            stop_tokens: self.tokenizer.stop_tokens().to_vec(),
        })
    }

    // ANCHOR: submit
    /// Queues a request for the worker; its events arrive on the returned
    /// channel. Dropping the receiver cancels the request.
    pub fn submit(
        &self,
        flavor: Flavor,
        prepared: Prepared,
    ) -> Result<mpsc::UnboundedReceiver<Event>, ApiError> {
        let permit = self.slot(flavor)?;
        let (events, receiver) = mpsc::unbounded_channel();
        let job = Job {
            prompt: prepared.prompt,
            options: prepared.options,
            stop: prepared.stop,
            grammar: prepared.grammar,
            events,
            permit,
        };
        self.jobs
            .send(Work::Generate(job))
            .map_err(|_| ApiError::new(flavor, Kind::Internal, "the model thread has stopped"))?;
        Ok(receiver)
    }
    // ANCHOR_END: submit

    /// One of the `--parallel` places, or a 503/529 at once.
    fn slot(&self, flavor: Flavor) -> Result<OwnedSemaphorePermit, ApiError> {
        self.slots.clone().try_acquire_owned().map_err(|_| {
            let message = "the server is busy (all --parallel places are taken); retry later";
            ApiError::new(flavor, Kind::Overloaded, message)
        })
    }

    /// Queues texts to embed; waits for their vectors.
    pub async fn embed(
        &self,
        flavor: Flavor,
        inputs: Vec<Vec<u32>>,
    ) -> Result<Vec<Vec<f32>>, ApiError> {
        let permit = self.slot(flavor)?;
        let (reply, vectors) = tokio::sync::oneshot::channel();
        let stopped = || ApiError::new(flavor, Kind::Internal, "the model thread has stopped");
        self.jobs
            .send(Work::Embed(EmbedJob {
                inputs,
                reply,
                permit,
            }))
            .map_err(|_| stopped())?;
        vectors.await.map_err(|_| stopped())
    }
}

/// Waits for a whole answer.
pub async fn collect(
    flavor: Flavor,
    mut events: mpsc::UnboundedReceiver<Event>,
) -> Result<(String, Done), ApiError> {
    let mut text = String::new();
    while let Some(event) = events.recv().await {
        match event {
            Event::Started { .. } => {}
            Event::Text(piece) => text.push_str(&piece),
            Event::Done(done) => return Ok((text, done)),
            Event::Error(message) => return Err(ApiError::new(flavor, Kind::Internal, message)),
        }
    }
    Err(ApiError::new(
        flavor,
        Kind::Internal,
        "the model thread has stopped",
    ))
}

/// Turns the worker's events into server-sent events: `first` goes out at
/// once, then `convert` maps each worker event to SSE events until it says
/// the stream is over. Comments keep an idle connection (a request waiting
/// in the queue) alive, and let us notice a client that left.
pub fn sse_stream<F>(
    first: Vec<SseEvent>,
    events: mpsc::UnboundedReceiver<Event>,
    convert: F,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>>
where
    F: FnMut(Event) -> (Vec<SseEvent>, bool) + Send + 'static,
{
    let state = (VecDeque::from(first), events, convert, false);
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(event) = s.0.pop_front() {
                return Some((Ok(event), s));
            }
            if s.3 {
                return None;
            }
            let (out, last) = match s.1.recv().await {
                Some(event) => (s.2)(event),
                None => return None, // the worker is gone
            };
            s.0.extend(out);
            s.3 = last;
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new())
}

/// A JSON SSE event (`data: {...}`), optionally with an `event:` name.
pub fn sse_json(name: Option<&str>, value: &serde_json::Value) -> SseEvent {
    let event = match name {
        Some(name) => SseEvent::default().event(name),
        None => SseEvent::default(),
    };
    event.data(value.to_string())
}

/// Attaches the meter to a response, for the log line.
pub fn metered(response: impl IntoResponse, meter: Meter) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(meter);
    response
}

/// `prefix` + a unique hex id, e.g. `chatcmpl-18c2...`.
pub fn new_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{:x}{n:04x}", now_nanos())
}

pub fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A JSON `Ok` response.
pub fn json_ok(value: serde_json::Value) -> Response {
    Json(value).into_response()
}

/// The `error` event that ends a stream when the worker fails mid-way.
pub fn stream_error(flavor: Flavor, message: String) -> SseEvent {
    let error = ApiError::new(flavor, Kind::Internal, message);
    match flavor {
        Flavor::OpenAi => sse_json(None, &error.body()),
        Flavor::Anthropic => sse_json(Some("error"), &error.body()),
    }
}

/// The body of `/v1/models`' entries.
pub fn model_object(state: &AppState) -> serde_json::Value {
    json!({
        "id": state.model_id,
        "object": "model",
        "created": state.created,
        "owned_by": "locallm",
    })
}
