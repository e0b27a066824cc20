//! The one error type every call returns.

use std::time::Duration;

/// A failed upstream call. Never "empty but fine": a body we cannot trust is an error.
///
/// Every variant holds plain data (no `reqwest::Error`), so callers and fakes can build,
/// clone and compare errors freely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// A non-success HTTP status other than 429 (5xx after retries, or any 4xx).
    #[error("upstream answered HTTP {status}")]
    Http { status: u16 },

    /// The request (connect, headers or body) exceeded the configured timeout.
    #[error("upstream request timed out")]
    Timeout,

    /// Connection refused/reset, TLS failure, broken body stream and similar.
    #[error("upstream transport error: {message}")]
    Transport { message: String },

    /// HTTP 200 but the body is not the JSON we expect: not JSON at all, a required field
    /// missing or renamed, a wrong type. `path` locates the offending value
    /// (e.g. `statGroups[0].members[0]`; `.` when the top level itself is wrong).
    #[error("cannot decode {endpoint} response at `{path}`: {message}")]
    Decode {
        endpoint: &'static str,
        path: String,
        message: String,
    },

    /// HTTP 200 with `result.code != 0` in the envelope.
    #[error("upstream result code {code}: {message}")]
    ResultCode { code: i64, message: String },

    /// HTTP 429 still answered after the retries; `retry_after` is the server's hint, if any.
    #[error("upstream rate limited (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },

    /// Not sent: the shared request budget had no room before the caller's deadline (a
    /// cycle that ran out of time; the caller picks the request up next cycle).
    #[error("not sent: no room in the upstream request budget before the deadline")]
    Deferred,
}

impl UpstreamError {
    /// Whether trying again later may succeed (5xx, 429, timeouts, transport failures).
    ///
    /// Decode and result-code errors are not transient: the same body will fail the same way.
    pub fn is_transient(&self) -> bool {
        match self {
            UpstreamError::Http { status } => *status >= 500 || *status == 408,
            UpstreamError::Timeout
            | UpstreamError::Transport { .. }
            | UpstreamError::RateLimited { .. } => true,
            UpstreamError::Decode { .. }
            | UpstreamError::ResultCode { .. }
            | UpstreamError::Deferred => false,
        }
    }

    /// A short, low-cardinality label (`http_503`, `timeout`, `decode`, ...) for counting
    /// failures by kind when a caller logs a burst once.
    pub fn label(&self) -> String {
        match self {
            UpstreamError::Http { status } => format!("http_{status}"),
            UpstreamError::Timeout => "timeout".to_owned(),
            UpstreamError::Transport { .. } => "transport".to_owned(),
            UpstreamError::Decode { .. } => "decode".to_owned(),
            UpstreamError::ResultCode { code, .. } => format!("result_code_{code}"),
            UpstreamError::RateLimited { .. } => "rate_limited".to_owned(),
            UpstreamError::Deferred => "deferred".to_owned(),
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = UpstreamError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_classification() {
        assert!(UpstreamError::Http { status: 503 }.is_transient());
        assert!(UpstreamError::Timeout.is_transient());
        assert!(UpstreamError::RateLimited { retry_after: None }.is_transient());
        assert!(!UpstreamError::Http { status: 400 }.is_transient());
        assert!(!UpstreamError::ResultCode {
            code: -1,
            message: "FAILED".into()
        }
        .is_transient());
        assert_eq!(UpstreamError::Http { status: 502 }.label(), "http_502");
    }
}
