//! A tournament's events as JSON Lines, to move it to another deployment (docs/archive.md,
//! "Event export").
//!
//! - [`export`] writes a [`Header`] line, then every event of the tournament's aggregate and of
//!   the observations its reads depend on, as [`ExportedEvent`] lines in log order.
//! - [`import`] appends such a file in one transaction, through the repository's round-trip
//!   check (never append what cannot be read back), keeping each event's `recorded_at`. The
//!   tournament's surrogate ids are kept when this deployment never handed them out, replaced
//!   otherwise (`event_import_ids` records which). Each appended event is recorded in
//!   `event_imports` by its identity at the source, so importing the same file again appends
//!   nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod export;
mod import;

pub use export::{export, ExportError};
pub use import::{import, IdMapping, ImportError, ImportReport};

/// `format` of the header line: tells this file from any other JSON Lines.
pub const FORMAT: &str = "live-standings-events";
/// Bumped when a line changes shape; [`import`] refuses other versions.
pub const VERSION: u32 = 1;

/// The first line of an export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub source: Source,
    /// The tournament's slug (its aggregate id).
    pub tournament: String,
    /// The last global position of the source's log when the export was taken.
    pub log_position: i64,
    /// How many event lines follow.
    pub count: u64,
}

/// Where an export comes from (for people; imports identify events, not deployments).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub software: String,
    pub database: String,
    pub exported_at: DateTime<Utc>,
}

/// One event line: the stored event with its metadata and its place in the source's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// As every reader reads it (an operator's repair replaces the stored payload).
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
    /// `global_position` at the source.
    pub position: i64,
}
