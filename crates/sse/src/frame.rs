//! SSE frames, byte for byte. Nudge frames are encoded once per nudge and shared by every
//! subscriber; the rest are tiny and per connection.
//!
//! The `data:` JSON uses Python `json.dumps` spacing (`": "` and `", "`) exactly, as the
//! original service did: front-ends may compare payloads.

use std::fmt::Write as _;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use projections::nudge::NudgeKind;

/// `retry:` sent once at connect: EventSource reconnects after 5 s.
pub const RETRY_MS: u32 = 5000;

/// The contract's heartbeat comment.
pub const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// One row of `nudge_log`, as the hub publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nudge {
    /// `nudge_log.id`: the SSE `id:`.
    pub id: i64,
    pub kind: NudgeKind,
    /// `None`: concerns every tournament.
    pub tournament_ids: Option<Vec<i64>>,
    /// `nudge_log.created_at`, sent as `polled_at`.
    pub polled_at: DateTime<Utc>,
}

impl Nudge {
    /// The SSE event of this nudge:
    /// `id: 7\nevent: standings\ndata: {"polled_at": "…", "tournament_ids": [3, 7]}\n\n`.
    pub fn encode(&self) -> Bytes {
        self.encode_with_id(true)
    }

    /// [`Nudge::encode`], without the `id:` line when `with_id` is false: the client keeps
    /// its last event id (a coalesced batch's id goes on its last frame only).
    pub fn encode_with_id(&self, with_id: bool) -> Bytes {
        let mut out = String::with_capacity(128);
        if with_id {
            let _ = writeln!(out, "id: {}", self.id);
        }
        let _ = write!(
            out,
            "event: {}\ndata: {{\"polled_at\": \"{}\", \"tournament_ids\": ",
            self.kind.as_str(),
            python_isoformat(self.polled_at)
        );
        match &self.tournament_ids {
            None => out.push_str("null"),
            Some(ids) => {
                out.push('[');
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{id}");
                }
                out.push(']');
            }
        }
        out.push_str("}\n\n");
        Bytes::from(out)
    }

    /// Whether a subscriber watching `filter` (`None`: everything) should get this nudge.
    pub fn concerns(&self, filter: Option<&[i64]>) -> bool {
        scope_matches(self.tournament_ids.as_deref(), filter)
    }
}

/// A nudge scoped to `scope` (`None`: every tournament) goes to a subscriber watching `filter`
/// (`None`: every nudge) when either is `None` or they share a tournament.
pub fn scope_matches(scope: Option<&[i64]>, filter: Option<&[i64]>) -> bool {
    match (scope, filter) {
        (None, _) | (_, None) => true,
        (Some(scope), Some(filter)) => scope.iter().any(|id| filter.contains(id)),
    }
}

/// Parses a `nudge_log.kind`; anything else is skipped (and logged) by the feed.
pub fn parse_kind(kind: &str) -> Option<NudgeKind> {
    match kind {
        "standings" => Some(NudgeKind::Standings),
        "matches" => Some(NudgeKind::Matches),
        "live" => Some(NudgeKind::Live),
        _ => None,
    }
}

/// `datetime.isoformat()` of an aware UTC datetime: microseconds only when non-zero, `+00:00`.
pub fn python_isoformat(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_micros() == 0 {
        at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// The first frame of a connection: `retry:`, then `hello` saying where the stream stands.
/// `id` is the SSE id the client may resume from after this frame (`None`: keep its own,
/// because missed nudges follow and have not been delivered yet).
pub fn hello(id: Option<i64>, last_id: i64) -> String {
    let mut out = format!("retry: {RETRY_MS}\n");
    if let Some(id) = id {
        let _ = writeln!(out, "id: {id}");
    }
    let _ = write!(out, "event: hello\ndata: {{\"last_id\": {last_id}}}\n\n");
    out
}

/// "Refetch everything": the missed nudges cannot be replayed. `with_retry` on the first frame.
pub fn resync(last_id: i64, with_retry: bool) -> String {
    let mut out = String::with_capacity(64);
    if with_retry {
        let _ = writeln!(out, "retry: {RETRY_MS}");
    }
    let _ = write!(
        out,
        "id: {last_id}\nevent: resync\ndata: {{\"last_id\": {last_id}}}\n\n"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_779_278_400_000_000 + micros).unwrap()
    }

    #[test]
    fn nudge_frames_use_python_json_spacing() {
        let nudge = Nudge {
            id: 42,
            kind: NudgeKind::Standings,
            tournament_ids: Some(vec![3, 7]),
            polled_at: at(123_456),
        };
        assert_eq!(
            &nudge.encode()[..],
            b"id: 42\nevent: standings\ndata: {\"polled_at\": \"2026-05-20T12:00:00.123456+00:00\", \"tournament_ids\": [3, 7]}\n\n"
        );
        let everyone = Nudge {
            id: 1,
            kind: NudgeKind::Live,
            tournament_ids: None,
            polled_at: at(0),
        };
        assert_eq!(
            &everyone.encode()[..],
            b"id: 1\nevent: live\ndata: {\"polled_at\": \"2026-05-20T12:00:00+00:00\", \"tournament_ids\": null}\n\n"
        );
        assert_eq!(
            &everyone.encode_with_id(false)[..],
            b"event: live\ndata: {\"polled_at\": \"2026-05-20T12:00:00+00:00\", \"tournament_ids\": null}\n\n"
        );
        let empty = Nudge {
            tournament_ids: Some(vec![]),
            ..everyone
        };
        assert!(empty.encode().ends_with(b"\"tournament_ids\": []}\n\n"));
    }

    #[test]
    fn microseconds_keep_leading_zeros() {
        assert_eq!(python_isoformat(at(5)), "2026-05-20T12:00:00.000005+00:00");
    }

    #[test]
    fn scopes() {
        assert!(scope_matches(None, Some(&[1])));
        assert!(scope_matches(Some(&[1, 2]), None));
        assert!(scope_matches(Some(&[1, 2]), Some(&[2])));
        assert!(!scope_matches(Some(&[1, 2]), Some(&[3])));
        assert!(!scope_matches(Some(&[]), Some(&[3])));
    }

    #[test]
    fn control_frames() {
        assert_eq!(
            hello(Some(9), 9),
            "retry: 5000\nid: 9\nevent: hello\ndata: {\"last_id\": 9}\n\n"
        );
        assert_eq!(
            hello(None, 9),
            "retry: 5000\nevent: hello\ndata: {\"last_id\": 9}\n\n"
        );
        assert_eq!(
            resync(4, false),
            "id: 4\nevent: resync\ndata: {\"last_id\": 4}\n\n"
        );
        assert_eq!(parse_kind("matches"), Some(NudgeKind::Matches));
        assert_eq!(parse_kind("Matches"), None);
    }
}
