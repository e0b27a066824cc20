//! The event repository behind [`crate::EventStore`]: postgres-es's `events` table and queries,
//! with the two guarantees postgres-es 0.5 lacks.
//!
//! - **Every appended event can be read back.** Each insert returns the payload as PostgreSQL
//!   will hand it out, both as stored (`json`) and as every `jsonb` consumer sees it (read
//!   models keep bags in `jsonb`, which rewrites numbers: `1.79e308` becomes a 309-digit
//!   integer, and rejects `\u0000`). Both texts are parsed the way every reader parses them and
//!   decoded into the aggregate's event type *inside the appending transaction*; if either
//!   fails, the transaction rolls back and the caller gets [`Unstorable`], naming the path
//!   inside the event. So a payload that a reader would choke on never reaches the log, whatever
//!   route, CLI command or poller produced it.
//! - **Reading never panics.** postgres-es `unwrap`s the payload decode (a stored event that
//!   does not parse took the connection down with it); here an unreadable row is a
//!   [`PersistenceError::DeserializationError`] carrying [`Unreadable`], which callers map to
//!   an error answer. An operator's repair of the event (`crate::repair`) is read instead of
//!   the stored payload, as the log readers do, so a repaired aggregate takes commands again.
//!
//! Snapshots are not supported: the store runs in plain event-store mode (postgres-es's
//! snapshot modes apply new events twice).

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

/// postgres-es's select, reading the stored text (parsed here, so a bad row is an error), or
/// an operator's repair of it (`crate::repair`: the log readers read the same).
const SELECT_EVENTS: &str = "
SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version,
       coalesce(r.payload, e.payload)::text AS payload, e.metadata::text AS metadata
  FROM events e LEFT JOIN event_repairs r USING (global_position)
 WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 AND e.sequence > $3
 ORDER BY e.sequence";

/// postgres-es's insert, returning what readers of the row will see.
const INSERT_EVENT: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING payload::text AS stored, payload::jsonb::text AS as_jsonb, metadata::text AS metadata";

/// [`INSERT_EVENT`] for `crate::transfer`'s imports: it keeps the source's `recorded_at` (reads
/// show it) and records the event's source identity in `event_imports` in the same statement
/// (`$9` its sequence there, `$10` its position there). Returns what [`round_trip`] checks.
pub(crate) const INSERT_IMPORTED: &str = "
WITH appended AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, recorded_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    RETURNING payload::text AS stored, payload::jsonb::text AS as_jsonb, metadata::text AS metadata,
              global_position
), recorded AS (
    INSERT INTO event_imports (source_aggregate_type, source_aggregate_id, source_sequence,
                               source_recorded_at, source_position, global_position)
    SELECT $1, $2, $9, $8, $10, global_position FROM appended
)
SELECT stored, as_jsonb, metadata FROM appended";

/// A new event that could not be read back as PostgreSQL returns it; nothing was appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event_type} cannot be stored: {reason} (at `{path}`)")]
pub struct Unstorable {
    pub event_type: String,
    /// Where inside the event's payload (`.`-separated, e.g. `config.presentation.x`); `.` when
    /// the problem is not tied to one value.
    pub path: String,
    pub reason: String,
}

/// A stored event that does not decode (a pre-fix deployment may have stored one).
#[derive(Debug, thiserror::Error)]
#[error("stored event {aggregate_type}:{aggregate_id} #{sequence} cannot be read: {reason}")]
pub struct Unreadable {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub reason: String,
}

/// The `events` table, through cqrs-es's repository interface.
pub struct Repository {
    pool: PgPool,
}

impl Repository {
    pub fn new(pool: PgPool) -> Self {
        Repository { pool }
    }

    async fn select<A: Aggregate>(
        &self,
        aggregate_id: &str,
        after_sequence: i64,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let rows = sqlx::query(SELECT_EVENTS)
            .bind(A::TYPE)
            .bind(aggregate_id)
            .bind(after_sequence)
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?;
        rows.iter().map(read_row).collect()
    }

    async fn insert<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
    ) -> Result<(), PersistenceError> {
        let mut tx = self.pool.begin().await.map_err(database_error)?;
        for event in events {
            let returned = sqlx::query(INSERT_EVENT)
                .bind(A::TYPE)
                .bind(&event.aggregate_id)
                .bind(sequence_number(event.sequence)?)
                .bind(&event.event_type)
                .bind(&event.event_version)
                .bind(&event.payload)
                .bind(&event.metadata)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| insert_error(e, &event.event_type))?;
            // Dropping `tx` on the error path rolls the whole batch back.
            check_round_trip::<A>(&returned, &event.event_type)?;
        }
        tx.commit().await.map_err(database_error)
    }
}

impl PersistedEventRepository for Repository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.select::<A>(aggregate_id, -1).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.select::<A>(aggregate_id, sequence_number(last_sequence)?)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Ok(None)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            return Err(PersistenceError::UnknownError(
                "snapshots are not supported: the store runs in plain event-store mode".into(),
            ));
        }
        self.insert::<A>(events).await
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        let events = self.select::<A>(aggregate_id, -1).await?;
        // The channel holds every event, so pushing never waits for the consumer.
        let (mut feed, stream) = ReplayStream::new(events.len().max(1));
        for event in events {
            feed.push(Ok(event)).await?;
        }
        Ok(stream)
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Err(PersistenceError::UnknownError(
            "streaming every aggregate is not supported: read the global log (store::log)".into(),
        ))
    }
}

fn sequence_number(sequence: usize) -> Result<i64, PersistenceError> {
    i64::try_from(sequence)
        .map_err(|_| PersistenceError::UnknownError("sequence number out of range".into()))
}

fn read_row(row: &PgRow) -> Result<SerializedEvent, PersistenceError> {
    let aggregate_type: String = row.try_get("aggregate_type").map_err(database_error)?;
    let aggregate_id: String = row.try_get("aggregate_id").map_err(database_error)?;
    let sequence: i64 = row.try_get("sequence").map_err(database_error)?;
    let unreadable = |reason: String| {
        PersistenceError::DeserializationError(Box::new(Unreadable {
            aggregate_type: aggregate_type.clone(),
            aggregate_id: aggregate_id.clone(),
            sequence,
            reason,
        }))
    };
    let event_type: String = row.try_get("event_type").map_err(database_error)?;
    let event_version: String = row.try_get("event_version").map_err(database_error)?;
    let payload: String = row.try_get("payload").map_err(database_error)?;
    let metadata: String = row.try_get("metadata").map_err(database_error)?;
    let payload =
        serde_json::from_str::<Value>(&payload).map_err(|e| unreadable(format!("payload: {e}")))?;
    let metadata = serde_json::from_str::<Value>(&metadata)
        .map_err(|e| unreadable(format!("metadata: {e}")))?;
    // The same upcasts as the projectors (`AnyEvent::decode`): one place for old shapes.
    let payload = domain::event::upcast(&aggregate_type, &event_type, &event_version, payload);
    Ok(SerializedEvent::new(
        aggregate_id.clone(),
        usize::try_from(sequence).map_err(|_| unreadable("negative sequence".into()))?,
        aggregate_type.clone(),
        event_type,
        event_version,
        payload,
        metadata,
    ))
}

/// Decodes what the insert returned exactly as readers will: the stored text as the event
/// store and the global log read it, the `jsonb` text as read models see it.
fn check_round_trip<A: Aggregate>(row: &PgRow, event_type: &str) -> Result<(), PersistenceError> {
    round_trip::<A::Event>(row, event_type).map_err(|e| match e {
        RoundTrip::Db(e) => database_error(e),
        RoundTrip::Unstorable(u) => PersistenceError::UnknownError(Box::new(u)),
    })
}

/// Why a returned row failed [`round_trip`].
pub(crate) enum RoundTrip {
    Db(sqlx::Error),
    Unstorable(Unstorable),
}

/// The check behind [`check_round_trip`], for any event type `E` (imports name the aggregate
/// at run time: `crate::transfer`). `row` holds the `RETURNING` columns of [`INSERT_EVENT`].
pub(crate) fn round_trip<E: DeserializeOwned>(
    row: &PgRow,
    event_type: &str,
) -> Result<(), RoundTrip> {
    let stored: String = row.try_get("stored").map_err(RoundTrip::Db)?;
    let as_jsonb: String = row.try_get("as_jsonb").map_err(RoundTrip::Db)?;
    let metadata: String = row.try_get("metadata").map_err(RoundTrip::Db)?;
    let unstorable = |(path, reason): (String, String)| {
        RoundTrip::Unstorable(Unstorable {
            event_type: event_type.to_string(),
            path,
            reason,
        })
    };
    decode::<E>(&stored).map_err(unstorable)?;
    // Usually the same text (the payload is bound as `jsonb`): parse it once.
    if as_jsonb != stored {
        decode::<E>(&as_jsonb).map_err(unstorable)?;
    }
    decode::<std::collections::HashMap<String, String>>(&metadata)
        .map_err(|(path, reason)| unstorable((format!("metadata.{path}"), reason)))?;
    Ok(())
}

/// Parses `text` into a JSON value, then into `T`; on failure, the path of the offending value
/// (without the event's variant tag) and the reason.
fn decode<T: DeserializeOwned>(text: &str) -> Result<T, (String, String)> {
    let mut parser = serde_json::Deserializer::from_str(text);
    let value: Value = serde_path_to_error::deserialize(&mut parser).map_err(describe)?;
    serde_path_to_error::deserialize(value).map_err(describe)
}

fn describe<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> (String, String) {
    let path = error.path().to_string();
    // cqrs-es payloads are `{"VariantName": {...}}`: the variant is the event type, said apart.
    let path = match path.split_once('.') {
        Some((_variant, rest)) => rest.to_string(),
        None => ".".to_string(),
    };
    (path, error.inner().to_string())
}

/// Maps an insert failure: a duplicate sequence is a lost race (retried by the caller); a value
/// PostgreSQL refuses (`22xxx`, e.g. `\u0000` in `jsonb`) is [`Unstorable`].
fn insert_error(error: sqlx::Error, event_type: &str) -> PersistenceError {
    if let sqlx::Error::Database(db) = &error {
        match db.code().as_deref() {
            Some("23505") => return PersistenceError::OptimisticLockError,
            Some(code) if code.starts_with("22") => {
                return PersistenceError::UnknownError(Box::new(Unstorable {
                    event_type: event_type.to_string(),
                    path: ".".to_string(),
                    reason: db.message().to_string(),
                }))
            }
            _ => {}
        }
    }
    database_error(error)
}

fn database_error(error: sqlx::Error) -> PersistenceError {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        other => PersistenceError::UnknownError(Box::new(other)),
    }
}
