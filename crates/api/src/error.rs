//! Every error a client can cause, in the contract's legacy shape `{"detail": "..."}`, mapped
//! to HTTP in this one place. No handler returns a 5xx for bad input.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    NotFound(&'static str),
    /// Request validation (query or body), pydantic-like: 422 with a list of problems.
    Validation {
        loc: Vec<String>,
        msg: String,
    },
    /// Something on our side (database down): 503, never a panic.
    Unavailable,
}

impl ApiError {
    pub fn query(field: &str, msg: impl Into<String>) -> ApiError {
        ApiError::Validation {
            loc: vec!["query".into(), field.into()],
            msg: msg.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        ApiError::Unavailable
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound(detail) => {
                (StatusCode::NOT_FOUND, Json(json!({ "detail": detail }))).into_response()
            }
            ApiError::Validation { loc, msg } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "detail": [{ "type": "value_error", "loc": loc, "msg": msg }] })),
            )
                .into_response(),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "detail": "Service temporarily unavailable" })),
            )
                .into_response(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
