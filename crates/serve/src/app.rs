//! The HTTP application: each API's router, merged, under the layers every
//! request goes through (body limit, key check, CORS, request count, log line).
//!
//! An API is one module with a `router()`; adding one is one `.merge` line.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method};
use axum::middleware::from_fn_with_state;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::middleware::{auth, count_request, log_line};
use crate::state::Shared;
use crate::{anthropic, extras, ollama, openai, responses, site};

// ANCHOR: router
pub fn router(state: Shared) -> Router {
    let apis = Router::new()
        .merge(site::router())
        .merge(openai::router())
        .merge(responses::router())
        .merge(anthropic::router())
        .merge(ollama::router())
        .merge(extras::router())
        .fallback(site::not_found)
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(from_fn_with_state(state.clone(), auth));
    // outside the key check: a browser's preflight carries no key
    let apis = match cors(&state.cors_origins) {
        Some(cors) => apis.layer(cors),
        None => apis,
    };
    apis.layer(from_fn_with_state(state.clone(), count_request))
        .layer(from_fn_with_state(state.clone(), log_line))
        .with_state(state)
}
// ANCHOR_END: router

// ANCHOR: cors
/// `--cors-origin`: which web pages (by origin) may call the server from a
/// browser. None (the default): no layer, no CORS header, so a browser lets
/// only pages of the server's own origin (the chat page) read the answers.
/// `*` allows every origin.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok());
        AllowOrigin::list(list)
    };
    let layer = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        // the SDKs send their own headers (x-api-key, anthropic-version, ...)
        .allow_headers(AllowHeaders::mirror_request());
    Some(layer)
}
// ANCHOR_END: cors

/// A `--cors-origin` value: `*` or an origin such as `http://localhost:3000`
/// (scheme, host, optional port; no path).
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("--cors-origin {origin:?}: an origin starts with http:// or https://")
        })?;
    if rest.is_empty() || rest.contains('/') || HeaderValue::from_str(origin).is_err() {
        return Err(format!(
            "--cors-origin {origin:?}: an origin is scheme://host[:port], without a path \
             (e.g. http://localhost:3000), or *"
        ));
    }
    Ok(())
}
