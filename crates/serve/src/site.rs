//! The server's own routes, outside the APIs: the chat page at `/`,
//! `GET /health`, and the answer to a route that does not exist. The first
//! two need no key (the key check passes over paths outside `/v1/`).

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::{Html, Response};
use axum::routing::get;
use serde_json::json;

use crate::error::{ApiError, Flavor, Kind};
use crate::state::Shared;
use crate::wire::json_ok;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(page))
        .route("/health", get(health))
}

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
    json_ok(&json!({
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

/// Any other route: a 404 in the shape of the API its path belongs to.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    let flavor = Flavor::of_path(uri.path());
    ApiError::new(
        flavor,
        Kind::NotFound,
        format!("no route for {method} {}", uri.path()),
    )
}
