//! Schema-only types: the closed sets of strings the handlers write as plain `String`s (named
//! here so clients get enums, with the names the original service's document used), the error
//! bodies of `error.rs` / `middleware.rs` / `ratelimit.rs`, and the infra bodies of `infra.rs`.
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
pub enum Outcome {
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

/// One problem with a request (pydantic-like).
#[derive(Serialize, JsonSchema)]
pub struct ValidationError {
    /// `value_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where: `["query", "limit"]`, `["path", "tournament_player_id"]`, `["body", ...]`.
    pub loc: Vec<String>,
    pub msg: String,
}

/// 422: `{"detail": [ValidationError, ...]}`.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "HTTPValidationError")]
pub struct ValidationErrors {
    pub detail: Vec<ValidationError>,
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
}

/// `GET /health`: `healthy`, or `degraded` (200) when a projector is parked; 503 `unhealthy`
/// (with `reason`, without `projections`) when the database is unreachable.
#[derive(Serialize, JsonSchema)]
pub struct Health {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    pub pool: PoolUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projections: Option<Vec<ProjectionHealth>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
