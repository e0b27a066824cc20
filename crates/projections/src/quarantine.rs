//! A poison event stops only what it touches: when a projector build cannot decode or apply an
//! event, that event's aggregate (for a tournament: the tournament) is quarantined in that build.
//! The event and every later event of the same aggregate are recorded in
//! `projection_quarantine` and not applied, so that aggregate's events are never applied out of
//! order; every other aggregate's events keep being applied.
//!
//! The way out keeps the log immutable: `standings events repair` registers a replacement
//! payload (`store::repair`), and `standings projections rebuild` builds a new build, which
//! reads the repaired event and has nothing quarantined; promoting it drops the old build and
//! its quarantine rows.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use store::RecordedEvent;

/// One quarantined aggregate of one build: where it stopped, and what it held back since.
#[derive(Clone, Debug, Serialize, PartialEq, sqlx::FromRow)]
pub struct Quarantined {
    pub projector: String,
    pub build: i64,
    /// Global position of the event that could not be applied.
    pub position: i64,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The tournament's slug when the aggregate is a tournament.
    #[sqlx(default)]
    pub tournament: Option<String>,
    pub error: String,
    /// Later events of the aggregate not applied because of it.
    pub held_back: i64,
    /// An operator registered a replacement payload for the event: rebuild to apply it.
    pub repaired: bool,
}

/// The aggregate type whose id is a tournament's slug (`domain::tournament::Tournament::TYPE`).
const TOURNAMENT: &str = "Tournament";

/// Every quarantined aggregate of every build, oldest event first.
pub async fn list(db: &PgPool) -> sqlx::Result<Vec<Quarantined>> {
    let mut rows: Vec<Quarantined> = sqlx::query_as(
        "SELECT c.name AS projector, q.build, q.global_position AS position, q.event_type,
                q.aggregate_type, q.aggregate_id, q.error,
                (SELECT count(*) FROM projection_quarantine h
                  WHERE h.build = q.build AND h.aggregate_type = q.aggregate_type
                    AND h.aggregate_id = q.aggregate_id AND h.error IS NULL) AS held_back,
                EXISTS (SELECT 1 FROM event_repairs r WHERE r.global_position = q.global_position)
                  AS repaired
           FROM projection_quarantine q JOIN projection_checkpoints c USING (build)
          WHERE q.error IS NOT NULL
          ORDER BY q.global_position, q.build",
    )
    .fetch_all(db)
    .await?;
    for row in &mut rows {
        row.tournament = (row.aggregate_type == TOURNAMENT).then(|| row.aggregate_id.clone());
    }
    Ok(rows)
}

/// The quarantined aggregates of a build, as `(type, id) -> sequence` of the event each stopped
/// at: that event and every later one of the aggregate are held back.
#[derive(Debug, Default)]
pub(crate) struct Holds(HashMap<(String, String), i64>);

impl Holds {
    pub(crate) async fn load(db: &mut PgConnection, build: i64) -> sqlx::Result<Holds> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT aggregate_type, aggregate_id, min(sequence) FROM projection_quarantine
              WHERE build = $1 AND error IS NOT NULL GROUP BY 1, 2",
        )
        .bind(build)
        .fetch_all(db)
        .await?;
        Ok(Holds(
            rows.into_iter()
                .map(|(kind, id, sequence)| ((kind, id), sequence))
                .collect(),
        ))
    }

    /// Whether `event` must wait behind a quarantined event of its aggregate.
    pub(crate) fn holds(&self, event: &RecordedEvent) -> bool {
        self.0
            .get(&(event.aggregate_type.clone(), event.aggregate_id.clone()))
            .is_some_and(|&sequence| event.sequence >= sequence)
    }

    /// Quarantines `event`'s aggregate from `event` on.
    pub(crate) fn add(&mut self, event: &RecordedEvent) {
        let key = (event.aggregate_type.clone(), event.aggregate_id.clone());
        let sequence = self.0.entry(key).or_insert(event.sequence);
        *sequence = (*sequence).min(event.sequence);
    }
}

/// Records `event` as not applied by `build`: `error` for the event that could not be applied,
/// `None` for one held back behind it. Recording twice is harmless.
pub(crate) async fn record(
    db: &mut PgConnection,
    build: i64,
    event: &RecordedEvent,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO public.projection_quarantine
                (build, global_position, aggregate_type, aggregate_id, sequence, event_type, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (build, global_position) DO NOTHING",
    )
    .bind(build)
    .bind(event.log_position.position)
    .bind(&event.aggregate_type)
    .bind(&event.aggregate_id)
    .bind(event.sequence)
    .bind(&event.event_type)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether an apply error could go away on retry (the connection, the server, a lost
/// serialization race): then the batch is retried, nothing is quarantined. Anything else (a
/// constraint, a value PostgreSQL refuses, a decode) fails the same way on every replay.
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => {
            // SQLSTATE classes: 08 connection, 40 rollback (serialization, deadlock), 53
            // resources, 57 operator intervention (shutdown, cancel), 58 system error.
            let class = e.code().map(|c| c.chars().take(2).collect::<String>());
            matches!(
                class.as_deref(),
                Some("08" | "40" | "53" | "57" | "58") | None
            )
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}
