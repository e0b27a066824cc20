//! Response parsers: raw bodies in, cleaned observations out.
//!
//! Every parser first checks the `result` envelope (HTTP 200 with `result.code != 0` is an
//! error, not an empty answer), then deserializes tolerant raw structs (unknown fields are
//! ignored; required fields fail with the JSON path of the offending value), then applies the
//! upstream quirks. They are public so fakes and tests can run the same code on canned bodies.

mod catalog;
mod history;
mod lobbies;
mod stats;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Result, UpstreamError};

pub use catalog::parse_catalog;
pub use history::parse_match_history;
pub(crate) use history::sort_matches;
pub use lobbies::parse_advertisements;
pub(crate) use lobbies::parse_advertisements_page;
pub use stats::{parse_leaderboard_page, parse_personal_stats};

/// Endpoint names used in decode errors.
pub(crate) mod endpoint {
    pub const PERSONAL_STATS: &str = "GetPersonalStat";
    pub const RECENT_MATCH_HISTORY: &str = "getRecentMatchHistory";
    pub const ADVERTISEMENTS: &str = "findAdvertisements";
    pub const LEADERBOARDS: &str = "getAvailableLeaderboards";
    pub const LEADERBOARD_PAGE: &str = "getLeaderBoard2";
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Option<ResultStatus>,
}

#[derive(Deserialize)]
struct ResultStatus {
    code: i64,
    #[serde(default)]
    message: Option<String>,
}

/// Check the envelope, then deserialize the whole body as `T`.
///
/// A body without `result` is accepted: the production poller never read it, and the data
/// arrays are still required by `T`.
fn decode_body<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T> {
    let envelope: Envelope = deserialize(endpoint, body)?;
    if let Some(status) = envelope.result {
        if status.code != 0 {
            return Err(UpstreamError::ResultCode {
                code: status.code,
                message: status.message.unwrap_or_default(),
            });
        }
    }
    deserialize(endpoint, body)
}

fn deserialize<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        decode_error(endpoint, path, err.into_inner().to_string())
    })?;
    // Trailing garbage after the object means a truncated or concatenated body.
    de.end()
        .map_err(|err| decode_error(endpoint, ".".to_owned(), err.to_string()))?;
    Ok(value)
}

pub(crate) fn decode_error(endpoint: &'static str, path: String, message: String) -> UpstreamError {
    UpstreamError::Decode {
        endpoint,
        path,
        message,
    }
}

/// Epoch seconds → timestamp; `0`, negative or out-of-range values mean "not set".
fn epoch(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.filter(|&s| s > 0)
        .and_then(|s| DateTime::from_timestamp(s, 0))
}

/// `-1` (any negative) is upstream's "not ranked / not set".
fn non_negative(value: Option<i64>) -> Option<i64> {
    value.filter(|&v| v >= 0)
}

/// Empty strings are upstream's "none".
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_errors() {
        let err = parse_personal_stats(br#"{"result":{"code":-1,"message":"FAILED"}}"#)
            .expect_err("non-zero code");
        assert_eq!(
            err,
            UpstreamError::ResultCode {
                code: -1,
                message: "FAILED".into()
            }
        );
        let err = parse_personal_stats(b"<html>502 Bad Gateway</html>").expect_err("not json");
        assert!(matches!(err, UpstreamError::Decode { .. }), "{err:?}");
        let err = parse_personal_stats(b"[1,2]").expect_err("not an object");
        assert!(matches!(err, UpstreamError::Decode { .. }), "{err:?}");
        let err = parse_personal_stats(br#"{"statGroups":[],"leaderboardStats":[]} x"#)
            .expect_err("trailing garbage");
        assert!(matches!(err, UpstreamError::Decode { .. }), "{err:?}");
    }

    #[test]
    fn helpers() {
        assert_eq!(epoch(Some(0)), None);
        assert_eq!(epoch(None), None);
        assert_eq!(epoch(Some(1)).map(|t| t.timestamp()), Some(1));
        assert_eq!(epoch(Some(i64::MAX)), None);
        assert_eq!(non_negative(Some(-1)), None);
        assert_eq!(non_negative(Some(0)), Some(0));
    }
}
