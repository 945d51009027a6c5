//! Errors in each API's own shape.
//!
//! SDKs turn an HTTP error into a typed exception by looking at the status
//! code and the JSON body, so both must be what the real services send:
//!
//! ```text
//! OpenAI     {"error": {"message": "...", "type": "invalid_request_error", "param": "n", "code": null}}
//! Anthropic  {"type": "error", "error": {"type": "invalid_request_error", "message": "..."}}
//! Ollama     {"error": "..."}
//! ```

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Which API a request belongs to, and so which error shape it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenAi,
    Anthropic,
    Ollama,
}

impl Flavor {
    /// `/v1/messages` is Anthropic's, `/api/` Ollama's; everything else
    /// answers like OpenAI.
    pub fn of_path(path: &str) -> Flavor {
        if path.starts_with("/v1/messages") {
            Flavor::Anthropic
        } else if path.starts_with("/api/") {
            Flavor::Ollama
        } else {
            Flavor::OpenAi
        }
    }
}

/// What went wrong, independent of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Malformed JSON, a missing or invalid field, a prompt over the context.
    BadRequest,
    /// No API key, or the wrong one.
    Unauthorized,
    /// Unknown model, route or feature.
    NotFound,
    /// The request body is over the configured limit.
    TooLarge,
    /// More requests than `--parallel` at once.
    Overloaded,
    Internal,
}

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub flavor: Flavor,
    pub kind: Kind,
    pub message: String,
    /// The request field at fault (OpenAI's `param`).
    pub param: Option<String>,
    /// A machine-readable code (OpenAI's `code`), e.g. `context_length_exceeded`.
    pub code: Option<&'static str>,
}

impl ApiError {
    pub fn new(flavor: Flavor, kind: Kind, message: impl Into<String>) -> Self {
        ApiError {
            flavor,
            kind,
            message: message.into(),
            param: None,
            code: None,
        }
    }
    pub fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_string());
        self
    }
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    // ANCHOR: error_status
    pub fn status(&self) -> StatusCode {
        match (self.kind, self.flavor) {
            (Kind::BadRequest, _) => StatusCode::BAD_REQUEST,
            (Kind::Unauthorized, _) => StatusCode::UNAUTHORIZED,
            (Kind::NotFound, _) => StatusCode::NOT_FOUND,
            (Kind::TooLarge, _) => StatusCode::PAYLOAD_TOO_LARGE,
            // Anthropic's "overloaded" has its own, non-standard status
            (Kind::Overloaded, Flavor::Anthropic) => StatusCode::from_u16(529).expect("valid"),
            (Kind::Overloaded, Flavor::OpenAi | Flavor::Ollama) => StatusCode::SERVICE_UNAVAILABLE,
            (Kind::Internal, _) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `type` field of the error body.
    pub fn type_name(&self) -> &'static str {
        match (self.flavor, self.kind) {
            (Flavor::OpenAi, Kind::Overloaded | Kind::Internal) => "server_error",
            (Flavor::OpenAi, _) => "invalid_request_error",
            (Flavor::Anthropic, Kind::BadRequest) => "invalid_request_error",
            (Flavor::Anthropic, Kind::Unauthorized) => "authentication_error",
            (Flavor::Anthropic, Kind::NotFound) => "not_found_error",
            (Flavor::Anthropic, Kind::TooLarge) => "request_too_large",
            (Flavor::Anthropic, Kind::Overloaded) => "overloaded_error",
            (Flavor::Anthropic, Kind::Internal) => "api_error",
            // Ollama's errors have no type, only a message
            (Flavor::Ollama, _) => "error",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        match self.flavor {
            Flavor::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.type_name(),
                "param": self.param,
                "code": self.code,
            }}),
            Flavor::Anthropic => json!({"type": "error", "error": {
                "type": self.type_name(),
                "message": self.message,
            }}),
            Flavor::Ollama => json!({"error": self.message}),
        }
    }
    // ANCHOR_END: error_status
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if self.kind == Kind::Overloaded {
            // busy now, not broken: the SDKs wait this long and try again
            let retry = axum::http::HeaderValue::from_static("1");
            response.headers_mut().insert("retry-after", retry);
        }
        response
    }
}
