//! The global log: every committed event exactly once, in one stable order.
//!
//! `global_position` is handed out when a row is inserted, not when its transaction commits, so
//! a transaction holding position 10 can commit after one holding 11. A reader that resumes from
//! "`global_position` > last seen" would skip 10 forever. Instead each event records the id of
//! the transaction that appended it (`tx`), and a reader only returns events whose transaction is
//! older than the oldest transaction still running (`pg_snapshot_xmin`): all of those have
//! finished, so no event can ever appear below that line again. Events are ordered by
//! `(tx, global_position)`, and the resume point is that pair.
//!
//! The cost is latency, never correctness: a slow appending transaction holds back events of
//! younger transactions until it finishes. Read-only transactions have no xid and never hold
//! the line back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::event::DecodeError;
use domain::{AnyEvent, EventMetadata};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};

/// A point in the global log: the appending transaction and the event's position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    pub tx: i64,
    pub position: i64,
}

impl LogPosition {
    /// Before the first event.
    pub const START: LogPosition = LogPosition { tx: 0, position: 0 };
}

/// One event as stored, with its place in the global log.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    pub log_position: LogPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
    /// Why `payload` could not be read back (then it is `null`): the event is poison for every
    /// reader, and [`RecordedEvent::decode`] says so instead of the whole read failing.
    pub unreadable: Option<String>,
}

impl RecordedEvent {
    /// The typed domain event (old versions upcast).
    pub fn decode(&self) -> Result<AnyEvent, DecodeError> {
        if let Some(reason) = &self.unreadable {
            return Err(DecodeError::Unreadable {
                aggregate_type: self.aggregate_type.clone(),
                event_type: self.event_type.clone(),
                reason: reason.clone(),
            });
        }
        AnyEvent::decode(
            &self.aggregate_type,
            &self.event_type,
            &self.event_version,
            self.payload.clone(),
        )
    }

    pub fn metadata(&self) -> Option<EventMetadata> {
        EventMetadata::from_json(&self.metadata)
    }
}

const READ_AFTER: &str = "
    SELECT tx::text::bigint AS tx, global_position, aggregate_type, aggregate_id, sequence,
           event_type, event_version, payload::text AS payload, metadata, recorded_at
      FROM events
     WHERE (tx, global_position) > ($1::text::xid8, $2)
       AND tx < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY events.tx, events.global_position
     LIMIT $3";

// `ORDER BY events.tx`, not the `tx` output alias (a bigint cast): only the column's order can
// use the `events_log_order` index; sorting the alias scans and sorts the whole log each read.

/// Operator repairs (see [`crate::repair`]) in the position range of a batch (a repair in the
/// range but of no event of the batch is ignored). A second query on the primary key rather
/// than a join or a subquery per row: the join sorted the whole rest of the log before the
/// limit, and the subquery made a 10,000-event read 3-7x slower (docs/performance.md).
const REPAIRS: &str = "
    SELECT global_position, payload::text AS payload FROM event_repairs
     WHERE global_position BETWEEN $1 AND $2";

/// Where the last event of an aggregate sits in the log (`None`: it has none).
pub async fn last_of(
    db: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
) -> sqlx::Result<Option<LogPosition>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT tx::text::bigint, global_position FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(tx, position)| LogPosition { tx, position }))
}

/// Up to `limit` events after `after`, in log order. An empty result means "caught up for now".
///
/// Run it before the transaction writes anything (so it has no xid of its own yet), or the
/// transaction's own xid holds the line back for the rest of it.
pub async fn read_after(
    db: &mut PgConnection,
    after: LogPosition,
    limit: i64,
) -> sqlx::Result<Vec<RecordedEvent>> {
    let rows = sqlx::query(READ_AFTER)
        .bind(after.tx.to_string())
        .bind(after.position)
        .bind(limit)
        .fetch_all(&mut *db)
        .await?;
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let positions = rows
        .iter()
        .map(|row| row.try_get("global_position"))
        .collect::<sqlx::Result<Vec<i64>>>()?;
    // An operator's repair replaces the stored payload for every reader; the row stays as is.
    let first = positions.iter().min().copied().unwrap_or_default();
    let last = positions.iter().max().copied().unwrap_or_default();
    let repairs: HashMap<i64, String> = sqlx::query_as(REPAIRS)
        .bind(first)
        .bind(last)
        .fetch_all(db)
        .await?
        .into_iter()
        .collect();
    rows.iter().map(|row| decode_row(row, &repairs)).collect()
}

fn decode_row(
    row: &sqlx::postgres::PgRow,
    repairs: &HashMap<i64, String>,
) -> sqlx::Result<RecordedEvent> {
    // Parsed here, per event, so one unreadable payload quarantines what it touches instead
    // of failing every read of the batch (which would retry forever, unseen).
    let position: i64 = row.try_get("global_position")?;
    let text: String = match repairs.get(&position) {
        Some(repaired) => repaired.clone(),
        None => row.try_get("payload")?,
    };
    let (payload, unreadable) = match serde_json::from_str::<Value>(&text) {
        Ok(v) => (v, None),
        Err(e) => (Value::Null, Some(e.to_string())),
    };
    Ok(RecordedEvent {
        unreadable,
        log_position: LogPosition {
            tx: row.try_get("tx")?,
            position,
        },
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload,
        metadata: row.try_get("metadata")?,
        recorded_at: row.try_get("recorded_at")?,
    })
}
