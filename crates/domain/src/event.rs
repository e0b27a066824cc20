//! What every event carries besides its payload, and how a stored event is read back.
//!
//! ## Versioning and upcasting
//! Every event is stored with `event_version` (today [`CURRENT_EVENT_VERSION`]). A stored event is
//! never rewritten. When an event's shape changes, bump [`CURRENT_EVENT_VERSION`] for it and add
//! an arm to [`upcast`] that turns the old JSON payload into the new shape; both the aggregate
//! loader and the projectors' global log reader go through [`AnyEvent::decode`], so old events are
//! upcast in exactly one place.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    catalog::Catalog, catalog::CatalogEvent, ladder::Ladder, ladder::LadderEvent, lobby::Lobby,
    lobby::LobbyEvent, matches::Match, matches::MatchEvent, operator::Operator,
    operator::OperatorEvent, profile::Profile, profile::ProfileEvent,
    stream_channel::StreamChannel, stream_channel::StreamChannelEvent, tournament::Tournament,
    tournament::TournamentEvent,
};
use cqrs_es::Aggregate;

pub const CURRENT_EVENT_VERSION: &str = "1";

/// Who caused a change: shown in the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    /// An authenticated user (JWT `sub`).
    User(String),
    /// Someone with shell access running the `standings` CLI.
    Operator(String),
    /// The upstream poller.
    Poller,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Operator(name) => write!(f, "operator:{name}"),
            Actor::Poller => f.write_str("poller"),
        }
    }
}

impl Actor {
    /// Parses the `Display` form back (`user:<id>`, `operator:<name>`, `poller`).
    pub fn parse(text: &str) -> Option<Actor> {
        match text.split_once(':') {
            Some(("user", id)) if !id.is_empty() => Some(Actor::User(id.to_string())),
            Some(("operator", name)) if !name.is_empty() => Some(Actor::Operator(name.to_string())),
            None if text == "poller" => Some(Actor::Poller),
            _ => None,
        }
    }
}

/// Event metadata (stored in the `metadata` column): actor, request id and idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMetadata {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

impl EventMetadata {
    pub const ACTOR: &'static str = "actor";
    pub const REQUEST_ID: &'static str = "request_id";
    pub const IDEMPOTENCY_KEY: &'static str = "idempotency_key";

    pub fn new(actor: Actor) -> Self {
        EventMetadata {
            actor,
            request_id: None,
            idempotency_key: None,
        }
    }

    /// The string map cqrs-es stores with each event.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([(Self::ACTOR.to_string(), self.actor.to_string())]);
        if let Some(id) = &self.request_id {
            map.insert(Self::REQUEST_ID.to_string(), id.clone());
        }
        if let Some(key) = &self.idempotency_key {
            map.insert(Self::IDEMPOTENCY_KEY.to_string(), key.clone());
        }
        map
    }

    /// Reads metadata back from the stored JSON object; `None` if it has no valid actor.
    pub fn from_json(value: &Value) -> Option<Self> {
        let get = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        Some(EventMetadata {
            actor: Actor::parse(&get(Self::ACTOR)?)?,
            request_id: get(Self::REQUEST_ID),
            idempotency_key: get(Self::IDEMPOTENCY_KEY),
        })
    }
}

/// Any domain event, as read back from the global log.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyEvent {
    Tournament(TournamentEvent),
    Profile(ProfileEvent),
    Ladder(LadderEvent),
    Match(MatchEvent),
    Lobby(LobbyEvent),
    Catalog(CatalogEvent),
    Operator(OperatorEvent),
    StreamChannel(StreamChannelEvent),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown aggregate type {0:?}")]
    UnknownAggregate(String),
    #[error("event {event_type} v{version} of {aggregate_type}: {source}")]
    Payload {
        aggregate_type: String,
        event_type: String,
        version: String,
        source: serde_json::Error,
    },
    /// The stored JSON itself cannot be read back (e.g. nested beyond the parser's limit).
    #[error("event {event_type} of {aggregate_type}: stored payload unreadable: {reason}")]
    Unreadable {
        aggregate_type: String,
        event_type: String,
        reason: String,
    },
}

impl AnyEvent {
    /// Decodes a stored payload (upcasting old versions first).
    pub fn decode(
        aggregate_type: &str,
        event_type: &str,
        event_version: &str,
        payload: Value,
    ) -> Result<AnyEvent, DecodeError> {
        let payload = upcast(aggregate_type, event_type, event_version, payload);
        let wrap = |source| DecodeError::Payload {
            aggregate_type: aggregate_type.to_string(),
            event_type: event_type.to_string(),
            version: event_version.to_string(),
            source,
        };
        let event = match aggregate_type {
            Tournament::TYPE => {
                AnyEvent::Tournament(serde_json::from_value(payload).map_err(wrap)?)
            }
            Profile::TYPE => AnyEvent::Profile(serde_json::from_value(payload).map_err(wrap)?),
            Ladder::TYPE => AnyEvent::Ladder(serde_json::from_value(payload).map_err(wrap)?),
            Match::TYPE => AnyEvent::Match(serde_json::from_value(payload).map_err(wrap)?),
            Lobby::TYPE => AnyEvent::Lobby(serde_json::from_value(payload).map_err(wrap)?),
            Catalog::TYPE => AnyEvent::Catalog(serde_json::from_value(payload).map_err(wrap)?),
            Operator::TYPE => AnyEvent::Operator(serde_json::from_value(payload).map_err(wrap)?),
            StreamChannel::TYPE => {
                AnyEvent::StreamChannel(serde_json::from_value(payload).map_err(wrap)?)
            }
            other => return Err(DecodeError::UnknownAggregate(other.to_string())),
        };
        Ok(event)
    }
}

/// Turns a payload stored at `event_version` into the current shape. Version 1 is current for
/// every event, so today this is the identity; see the module docs for how to add a step.
pub fn upcast(
    _aggregate_type: &str,
    _event_type: &str,
    _event_version: &str,
    payload: Value,
) -> Value {
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_round_trips_through_its_text_form() {
        for actor in [
            Actor::User("6f1c".into()),
            Actor::Operator("alice".into()),
            Actor::Poller,
        ] {
            assert_eq!(Actor::parse(&actor.to_string()), Some(actor));
        }
        assert_eq!(Actor::parse("user:"), None);
        assert_eq!(Actor::parse("root"), None);
    }

    #[test]
    fn metadata_round_trips_through_json() {
        let meta = EventMetadata {
            actor: Actor::User("u1".into()),
            request_id: Some("r1".into()),
            idempotency_key: None,
        };
        let json = serde_json::to_value(meta.to_map()).unwrap();
        assert_eq!(EventMetadata::from_json(&json), Some(meta));
    }

    #[test]
    fn decode_rejects_unknown_aggregate_and_bad_payload() {
        assert!(matches!(
            AnyEvent::decode("Nope", "X", "1", Value::Null),
            Err(DecodeError::UnknownAggregate(_))
        ));
        assert!(matches!(
            AnyEvent::decode(
                "Tournament",
                "TournamentCreated",
                "1",
                serde_json::json!({"x": 1})
            ),
            Err(DecodeError::Payload { .. })
        ));
    }
}

/// Errors of the observation aggregates: an observation malformed beyond what the upstream
/// parser already rejects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObservationError {
    #[error("{0}")]
    Invalid(String),
}
