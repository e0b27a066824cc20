//! Operator repairs of poison events: a replacement payload for one stored event, read by every
//! log reader instead of the stored one. The `events` row is never changed (the log is
//! forever); the repair is a row of its own in `event_repairs`, with the operator's reason.

use domain::AnyEvent;
use serde_json::Value;
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error("no event at position {0}")]
    NoSuchEvent(i64),
    /// The replacement does not decode as the event's type and version: it would be poison too.
    #[error("the replacement payload does not decode as {event_type} v{version}: {reason}")]
    DoesNotDecode {
        event_type: String,
        version: String,
        reason: String,
    },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// One stored event as an operator sees it: the stored payload as PostgreSQL returns it (it may
/// not parse) and the registered repair, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub repair: Option<Repair>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Repair {
    pub payload: String,
    pub reason: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The event at `position`, or `None`.
pub async fn stored_event(db: &PgPool, position: i64) -> sqlx::Result<Option<StoredEvent>> {
    type Row = (
        String,
        String,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version,
                e.payload::text, r.payload::text, r.reason, r.created_at
           FROM events e LEFT JOIN event_repairs r USING (global_position)
          WHERE e.global_position = $1",
    )
    .bind(position)
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(
            aggregate_type,
            aggregate_id,
            sequence,
            event_type,
            event_version,
            payload,
            repaired,
            reason,
            created_at,
        )| StoredEvent {
            position,
            aggregate_type,
            aggregate_id,
            sequence,
            event_type,
            event_version,
            payload,
            repair: match (repaired, reason, created_at) {
                (Some(payload), Some(reason), Some(created_at)) => Some(Repair {
                    payload,
                    reason,
                    created_at,
                }),
                _ => None,
            },
        },
    ))
}

/// Registers `payload` as the replacement for the event at `position` (replacing an earlier
/// repair of it). It is committed only if it decodes as that event's type and version after
/// a round trip through PostgreSQL, exactly as log readers will read it.
pub async fn register(
    db: &PgPool,
    position: i64,
    payload: &Value,
    reason: &str,
) -> Result<StoredEvent, RepairError> {
    let mut tx = db.begin().await?;
    let event: Option<(String, String, String)> = sqlx::query_as(
        "SELECT aggregate_type, event_type, event_version FROM events WHERE global_position = $1",
    )
    .bind(position)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((aggregate_type, event_type, event_version)) = event else {
        return Err(RepairError::NoSuchEvent(position));
    };
    let stored: String = sqlx::query_scalar(
        "INSERT INTO event_repairs (global_position, payload, reason) VALUES ($1, $2, $3)
         ON CONFLICT (global_position)
            DO UPDATE SET payload = excluded.payload, reason = excluded.reason, created_at = now()
         RETURNING payload::text",
    )
    .bind(position)
    .bind(sqlx::types::Json(payload))
    .bind(reason)
    .fetch_one(&mut *tx)
    .await?;
    let refuse = |reason: String| RepairError::DoesNotDecode {
        event_type: event_type.clone(),
        version: event_version.clone(),
        reason,
    };
    let read_back: Value = serde_json::from_str(&stored).map_err(|e| refuse(e.to_string()))?;
    AnyEvent::decode(&aggregate_type, &event_type, &event_version, read_back)
        .map_err(|e| refuse(e.to_string()))?;
    tx.commit().await?;
    stored_event(db, position)
        .await?
        .ok_or(RepairError::NoSuchEvent(position))
}
