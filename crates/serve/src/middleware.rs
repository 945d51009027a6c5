//! What every request goes through around its handler: the key check
//! ([`auth`]), one count per route and status for `/metrics`
//! ([`count_request`]), and one log line with its token counts
//! ([`log_line`], fed by the handler's [`Meter`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Flavor, Kind};
use crate::state::Shared;
use crate::worker::Done;

// ANCHOR: auth
/// With `--api-key`, every API request (`/v1/`, Ollama's `/api/`, and
/// `/tokenize`, `/detokenize`, `/metrics`) must carry the key, either
/// OpenAI style (`Authorization: Bearer KEY`, which Ollama clients send too)
/// or Anthropic style (`x-api-key: KEY`).
pub async fn auth(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let Some(key) = &state.api_key else {
        return next.run(req).await;
    };
    if !needs_key(req.uri().path()) {
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

/// The paths a key protects: everything but the page, `/health` and
/// unknown routes (which answer 404 either way).
fn needs_key(path: &str) -> bool {
    path.starts_with("/v1/")
        || path.starts_with("/api/")
        || matches!(path, "/tokenize" | "/detokenize" | "/metrics")
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Counts the request for `/metrics`, by the route that matched (never the
/// raw path: one series per unknown URL would grow without bound).
pub async fn count_request(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let response = next.run(req).await;
    state.requests.add(&route, response.status().as_u16());
    response
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
pub async fn log_line(State(state): State<Shared>, req: Request, next: Next) -> Response {
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

/// Attaches the meter to a response, for the log line.
pub fn metered(response: impl IntoResponse, meter: Meter) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(meter);
    response
}
