//! Schema-only types: the closed sets of strings the handlers write as plain `String`s (named
//! here so clients get enums, with the names the original service's document used), the error
//! bodies of `error.rs` / `middleware.rs` / `ratelimit.rs` / `idempotency.rs` (the original's
//! `HTTPValidationError` and `ValidationError` exactly as it documented them), and the infra
//! bodies of `infra.rs`.
//!
//! Response *resources* never live here: they are the handlers' own types, deriving
//! `JsonSchema` where they are defined. A test compares real responses with these schemas.

#![allow(dead_code)] // Only their schemas are used.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// An opaque JSON object (e.g. `presentation`).
pub type Object = Map<String, Value>;

/// A game's result for one player.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchOutcome {
    Win,
    Loss,
}

/// A match's lifecycle state.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchState {
    Staging,
    InProgress,
    Completed,
}

/// The metric a tournament ranks by.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    PeakRating,
    CurrentRating,
}

/// `{"detail": "..."}`: 404s, 413, 503 and every write error (seed contract §1.0.2).
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "HTTPError")]
pub struct Detail {
    pub detail: String,
}

/// One problem with a request, as pydantic reports it (we send `type`, `loc` and `msg`).
#[derive(Serialize, JsonSchema)]
#[schemars(transform = super::optional(&["input", "ctx"]))]
pub struct ValidationError {
    /// Where: `["query", "limit"]`, `["path", "tournament_player_id"]`, `["body", ...]`.
    pub loc: Vec<Location>,
    pub msg: String,
    /// `value_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The offending value (pydantic's; we do not send it).
    #[schemars(with = "Value")]
    pub input: (),
    /// pydantic's error context (we do not send it).
    #[schemars(schema_with = "any_object")]
    pub ctx: Map<String, Value>,
}

fn any_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object"})
}

/// A `loc` step: a field name or a list index.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(inline)]
pub enum Location {
    Name(String),
    Index(i64),
}

/// 422: `{"detail": [ValidationError, ...]}`.
#[derive(Serialize, JsonSchema)]
#[schemars(transform = super::optional(&["detail"]))]
pub struct HTTPValidationError {
    pub detail: Vec<ValidationError>,
}

/// 422 for a malformed or reused `Idempotency-Key`: the contract's v1 error envelope
/// (`error_code` `idempotency_key_invalid` or `idempotency_key_reused`).
#[derive(Serialize, JsonSchema)]
pub struct IdempotencyError {
    pub error_code: String,
    pub message: String,
    /// The request's `X-Request-ID`, or `unknown`.
    pub request_id: String,
    #[schemars(with = "chrono::DateTime<chrono::Utc>")]
    pub timestamp: String,
    /// Always `null`.
    pub details: Option<Value>,
}

/// 429: `{"error": "Rate limit exceeded: <N> per 1 minute"}` (the contract's slowapi body).
#[derive(Serialize, JsonSchema)]
pub struct RateLimited {
    pub error: String,
}

/// `GET /`.
#[derive(Serialize, JsonSchema)]
pub struct ServiceStatus {
    /// `ok`.
    pub status: String,
    /// `aoe2-live-standings-api`.
    pub service: String,
}

/// Connections of this process's database pool.
#[derive(Serialize, JsonSchema)]
pub struct PoolUsage {
    pub size: u32,
    pub idle: u64,
}

/// One projector build as `/health` reports it.
#[derive(Serialize, JsonSchema)]
pub struct ProjectionHealth {
    pub name: String,
    /// `live`, `building` or `parked`.
    pub state: String,
    pub lag_events: i64,
    pub last_error: Option<String>,
    /// Poison events the build could not apply; each quarantines its aggregate (tournament).
    pub quarantined: Vec<QuarantinedEvent>,
}

/// An event a projector build could not apply (`projections::Quarantined`): its aggregate's
/// later events are held back behind it, every other aggregate keeps moving. A copy of that
/// struct's fields, kept here so that `projections` need not depend on `schemars`.
#[derive(Serialize, JsonSchema)]
pub struct QuarantinedEvent {
    pub projector: String,
    pub build: i64,
    /// The event's global position.
    pub position: i64,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The tournament's slug when the aggregate is a tournament.
    pub tournament: Option<String>,
    pub error: String,
    /// Later events of the aggregate not applied because of it.
    pub held_back: i64,
    /// A replacement payload is registered: a rebuild applies it.
    pub repaired: bool,
}

/// Something `/health` reports as wrong.
#[derive(Serialize, JsonSchema)]
pub struct HealthProblem {
    /// `database_unreachable`, `projector_parked` or `event_quarantined` (more kinds may be
    /// added).
    pub kind: String,
    /// The projection concerned, if any.
    pub projection: Option<String>,
    /// The error, if any.
    pub detail: Option<String>,
}

/// `GET /health` (readiness): 200 `healthy`; 200 `degraded` when an event is quarantined (only
/// its tournament is stale); 503 `degraded` when a projector is parked; 503 `unhealthy` (with
/// `reason`, without `projections`) when the database is unreachable. `problems` names each
/// fault.
#[derive(Serialize, JsonSchema)]
pub struct Health {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    pub pool: PoolUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projections: Option<Vec<ProjectionHealth>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Empty when healthy.
    pub problems: Vec<HealthProblem>,
}
