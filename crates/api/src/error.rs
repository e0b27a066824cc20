//! Every error a client can cause, in the contract's legacy shape `{"detail": "..."}`, mapped
//! to HTTP in this one place. No handler returns a 5xx for bad input.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::tournament::{ErrorKind, TournamentError};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    NotFound(&'static str),
    /// Request validation (query or body), pydantic-like: 422 with a list of problems.
    Validation {
        loc: Vec<String>,
        msg: String,
    },
    /// 401 with the contract's text (`Not authenticated`, `Invalid token`, ...).
    Unauthorized(&'static str),
    /// A business rule refused the request (403, 404, 409 or 422) with the contract's text.
    Refused {
        status: StatusCode,
        detail: String,
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

    pub fn body(field: &str, msg: impl Into<String>) -> ApiError {
        ApiError::Validation {
            loc: vec!["body".into(), field.into()],
            msg: msg.into(),
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        ApiError::Unavailable
    }
}

impl From<TournamentError> for ApiError {
    fn from(e: TournamentError) -> Self {
        use TournamentError as T;
        match &e {
            // Shape problems the original caught in pydantic: a list-shaped 422 naming the field.
            T::InvalidField(msg) => {
                let field = msg.split_whitespace().next().unwrap_or("body");
                ApiError::body(field, msg.clone())
            }
            T::InvalidSlug | T::ReservedSlug => ApiError::body("slug", e.to_string()),
            _ => ApiError::Refused {
                status: match e.kind() {
                    ErrorKind::NotFound => StatusCode::NOT_FOUND,
                    ErrorKind::Forbidden => StatusCode::FORBIDDEN,
                    ErrorKind::Conflict => StatusCode::CONFLICT,
                    ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                },
                detail: e.to_string(),
            },
        }
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
            ApiError::Unauthorized(detail) => {
                (StatusCode::UNAUTHORIZED, Json(json!({ "detail": detail }))).into_response()
            }
            ApiError::Refused { status, detail } => {
                (status, Json(json!({ "detail": detail }))).into_response()
            }
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("5"))],
                Json(json!({ "detail": "Service temporarily unavailable" })),
            )
                .into_response(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
