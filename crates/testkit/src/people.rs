//! The seeded people and ids, and the test clock.

use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::EventMetadata;

/// Owns the seeded tournaments (and, where a test grants it, is on the creator allowlist).
pub const OWNER: &str = "11111111-1111-1111-1111-111111111111";
/// Authenticated, owns nothing.
pub const OTHER: &str = "22222222-2222-2222-2222-222222222222";
pub const HERA: i64 = 199325;
pub const ACCM: i64 = 347269;
pub const MATCH_ID: i64 = 485301122;

/// A fixed instant `minute` minutes into the seeded tournament's history.
pub fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_779_000_000 + minute * 60, 0).expect("a small offset is in range")
}

/// Metadata of a command sent by [`OWNER`].
pub fn owner() -> EventMetadata {
    EventMetadata::new(Actor::User(OWNER.into()))
}

/// Metadata of a command sent by the poller.
pub fn poller() -> EventMetadata {
    EventMetadata::new(Actor::Poller)
}
