//! Wire formats shared by every REST response: datetimes as pydantic v2 writes them (the
//! original's responses, `reference/seed-samples/`). The SSE payload is written by `crates/sse`
//! with Python's `isoformat()` instead, as the original's stream does.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// `2026-11-13T17:06:59Z`, or `2026-12-04T17:06:59.670779Z` when the microseconds are not zero
/// (six digits, never more: Python's datetimes stop at microseconds).
pub fn iso(dt: &DateTime<Utc>) -> String {
    let micros = dt.nanosecond() / 1_000;
    match dt.with_nanosecond(micros * 1_000) {
        Some(truncated) if micros != 0 => truncated.to_rfc3339_opts(SecondsFormat::Micros, true),
        _ => dt
            .with_nanosecond(0)
            .unwrap_or(*dt)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    }
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
    fn utc_with_z_and_fraction_digits_only_for_microseconds() {
        let whole = DateTime::from_timestamp(1_779_000_000, 0).unwrap();
        assert_eq!(iso(&whole), "2026-05-17T06:40:00Z");
        let micros = DateTime::from_timestamp(1_779_000_000, 670_779_000).unwrap();
        assert_eq!(iso(&micros), "2026-05-17T06:40:00.670779Z");
        let round = DateTime::from_timestamp(1_779_000_000, 120_000_000).unwrap();
        assert_eq!(iso(&round), "2026-05-17T06:40:00.120000Z");
        // Below a microsecond is below Python's resolution: dropped, not rounded.
        let nanos = DateTime::from_timestamp(1_779_000_000, 999).unwrap();
        assert_eq!(iso(&nanos), "2026-05-17T06:40:00Z");
        let both = DateTime::from_timestamp(1_779_000_000, 1_000_999).unwrap();
        assert_eq!(iso(&both), "2026-05-17T06:40:00.001000Z");
    }
}
