//! [`ApiJson`]: a request body read as JSON, or an error in the API's own
//! shape (axum's `Json` would answer a plain-text 400 or 415 that no SDK
//! understands).
//!
//! The route says which API a request belongs to ([`Flavor::of_path`], as
//! for the key check and unknown routes), so a handler only names the type
//! it expects:
//!
//! ```text
//! async fn messages(State(state): State<Shared>, ApiJson(req): ApiJson<MessagesRequest>)
//! ```
//!
//! Like the SDKs, it does not insist on a `Content-Type`: any body is read
//! as JSON.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Flavor, Kind};
use crate::state::Shared;

/// A JSON request body of type `T`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Shared> for ApiJson<T> {
    type Rejection = ApiError;

    /// 413 over the size limit, 400 for anything that is not the expected JSON.
    async fn from_request(req: Request, state: &Shared) -> Result<Self, ApiError> {
        let flavor = Flavor::of_path(req.uri().path());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                let message = format!(
                    "the request body is larger than the limit of {} bytes",
                    state.body_limit
                );
                ApiError::new(flavor, Kind::TooLarge, message)
            } else {
                ApiError::new(flavor, Kind::BadRequest, rejection.body_text())
            }
        })?;
        let value = serde_json::from_slice(&bytes).map_err(|err| {
            let message = match err.classify() {
                serde_json::error::Category::Data => format!("invalid request: {err}"),
                _ => format!("the request body is not valid JSON: {err}"),
            };
            ApiError::new(flavor, Kind::BadRequest, message)
        })?;
        Ok(ApiJson(value))
    }
}
