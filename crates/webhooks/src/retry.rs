//! When to try a failed delivery again: exponential backoff with full jitter, never sooner
//! than the receiver asked (`Retry-After` in seconds or as an HTTP date, or Discord's 429 body
//! `{"retry_after": seconds}`).

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// A receiver's hint is honoured up to this long (a hostile `Retry-After: 1e9` must not park
/// a subscription for ever; it dead-letters after its attempts instead).
pub const MAX_HINT: Duration = Duration::from_secs(3600);

/// Delay before attempt `failures + 1`: uniform in `[0, min(cap, base × 2^(failures-1))]`
/// (full jitter: retries of many endpoints spread out), at least `hint`.
pub fn delay(base: Duration, cap: Duration, failures: u32, hint: Option<Duration>) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1u32 << exp).min(cap);
    let jittered = ceiling.mul_f64(rand::thread_rng().gen_range(0.0..=1.0));
    match hint {
        Some(hint) => jittered.max(hint.min(MAX_HINT)),
        None => jittered,
    }
}

/// The receiver's wish: `Retry-After` (delta seconds or HTTP date), else a JSON body's
/// `retry_after` (Discord: seconds as a float).
pub fn hint(headers: &HeaderMap, body: &[u8]) -> Option<Duration> {
    if let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(seconds) = value.parse::<f64>() {
            return seconds_f64(seconds);
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(
                at.duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO),
            );
        }
    }
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    seconds_f64(body.get("retry_after")?.as_f64()?)
}

fn seconds_f64(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_HINT.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    #[test]
    fn delay_stays_within_the_exponential_ceiling() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for failures in 1..12 {
            let ceiling = base.saturating_mul(1 << (failures - 1)).min(cap);
            for _ in 0..50 {
                assert!(delay(base, cap, failures, None) <= ceiling);
            }
        }
    }

    #[test]
    fn delay_honours_the_hint() {
        let d = delay(
            Duration::from_millis(1),
            Duration::from_millis(2),
            1,
            Some(Duration::from_secs(5)),
        );
        assert_eq!(d, Duration::from_secs(5));
        let capped = delay(Duration::ZERO, Duration::ZERO, 1, Some(Duration::MAX));
        assert_eq!(capped, MAX_HINT);
    }

    #[test]
    fn hints_from_headers_and_discord_bodies() {
        assert_eq!(hint(&headers("7"), b""), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(120);
        let date = httpdate::fmt_http_date(later);
        let h = hint(&headers(&date), b"").unwrap();
        assert!(h > Duration::from_secs(100) && h <= Duration::from_secs(120));
        let discord =
            br#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#;
        assert_eq!(
            hint(&HeaderMap::new(), discord),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(hint(&HeaderMap::new(), b"not json"), None);
        assert_eq!(hint(&headers("soon"), b""), None);
        assert_eq!(hint(&headers("-3"), b""), None);
    }
}
