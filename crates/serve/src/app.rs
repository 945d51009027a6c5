//! The HTTP application: each API's router, merged, under the layers every
//! request goes through (body limit, key check, log line).
//!
//! An API is one module with a `router()`; adding one is one `.merge` line.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;

use crate::middleware::{auth, log_line};
use crate::state::Shared;
use crate::{anthropic, openai, responses, site};

// ANCHOR: router
pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(site::router())
        .merge(openai::router())
        .merge(responses::router())
        .merge(anthropic::router())
        .fallback(site::not_found)
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(from_fn_with_state(state.clone(), auth))
        .layer(from_fn_with_state(state.clone(), log_line))
        .with_state(state)
}
// ANCHOR_END: router
