//! What can go wrong asking a platform. Messages never carry request URLs: those hold the
//! Twitch client secret (token endpoint) and the YouTube API key.

/// A failed platform call. Nothing derived from it is appended.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("request timed out")]
    Timeout,
    #[error("transport: {0}")]
    Transport(String),
    #[error("HTTP {status}")]
    Status { status: u16 },
    /// Helix said 401 again with a freshly minted token.
    #[error("unauthorized with a fresh token")]
    Unauthorized,
    /// YouTube refused for quota (`quotaExceeded`, `dailyLimitExceeded`, `rateLimitExceeded`).
    #[error("quota exceeded")]
    QuotaExceeded,
    #[error("unexpected body: {0}")]
    Decode(String),
}

impl PlatformError {
    /// Low-cardinality label for logs (`http_503`, `timeout`, `quota`, …).
    pub fn label(&self) -> String {
        match self {
            PlatformError::Timeout => "timeout".into(),
            PlatformError::Transport(_) => "transport".into(),
            PlatformError::Status { status } => format!("http_{status}"),
            PlatformError::Unauthorized => "unauthorized".into(),
            PlatformError::QuotaExceeded => "quota".into(),
            PlatformError::Decode(_) => "decode".into(),
        }
    }
}

impl From<reqwest::Error> for PlatformError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            return PlatformError::Timeout;
        }
        if e.is_decode() {
            return PlatformError::Decode(e.without_url().to_string());
        }
        PlatformError::Transport(e.without_url().to_string())
    }
}

/// The HTTP client of a platform: every call (and its connect) bounded by `timeout`.
pub(crate) fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, PlatformError> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()?)
}
