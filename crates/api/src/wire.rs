//! Wire formats shared by every response: datetimes as Python's `isoformat()` prints them.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// `2026-05-20T12:00:00+00:00`, with `.ffffff` only when there are microseconds.
pub fn iso(dt: &DateTime<Utc>) -> String {
    let format = if dt.nanosecond() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    dt.to_rfc3339_opts(format, false)
}

pub fn ser_dt<S: Serializer>(dt: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iso(dt))
}

pub fn ser_opt_dt<S: Serializer>(dt: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match dt {
        Some(dt) => s.serialize_str(&iso(dt)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_like_python() {
        let whole = DateTime::from_timestamp(1_779_000_000, 0).unwrap();
        assert_eq!(iso(&whole), "2026-05-17T06:40:00+00:00");
        let micros = DateTime::from_timestamp(1_779_000_000, 123_456_000).unwrap();
        assert_eq!(iso(&micros), "2026-05-17T06:40:00.123456+00:00");
    }
}
