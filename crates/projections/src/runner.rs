//! Runs a projector: reads the global log from its checkpoint, applies a batch to its tables,
//! advances the checkpoint and announces the change, all in one transaction.
//!
//! Builds: every build of a projector has its own schema (`<name>_b<build>`) and checkpoint row.
//! A new build (new projector version, or `standings projections rebuild`) catches up from
//! position 0 beside the live one, which keeps serving; once caught up, the `live.*` views are
//! pointed at it and the old build's schema is dropped, in one transaction.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use domain::AnyEvent;
use sqlx::postgres::PgListener;
use sqlx::{Executor, PgConnection, PgPool, Row};
use store::log::{read_after, LogPosition};
use store::RecordedEvent;
use tokio::sync::watch;

use crate::nudge::{Nudges, CHANNEL};
use crate::quarantine::{self, Holds};

/// One read model: its SQL, its tables, and how each event changes them.
pub trait Projector: Send + Sync + 'static {
    /// Checkpoint key and schema prefix.
    const NAME: &'static str;
    /// Bump when the SQL or `apply` changes: a new build replaces the live one without downtime.
    const VERSION: i32;
    /// DDL run (with unqualified names) in a new build's schema.
    const SCHEMA_SQL: &'static str;
    /// Tables exposed as `live.<table>` views.
    const TABLES: &'static [&'static str];

    /// Applies one event. Runs inside the batch transaction, with `search_path` set to the
    /// build's schema. Must be deterministic: a rebuild replays the same events.
    fn apply<'a>(
        &'a self,
        db: &'a mut PgConnection,
        event: &'a RecordedEvent,
        decoded: AnyEvent,
        nudges: &'a mut Nudges,
    ) -> ApplyFuture<'a>;

    /// Applies a batch of events, in log order, with the same effect (rows and nudges) as
    /// calling [`Projector::apply`] on each in turn. Same transaction and `search_path`. On
    /// failure, names the event that cannot be applied (the runner quarantines its aggregate). The default
    /// calls `apply` per event; override it to write a batch with a few set-based statements.
    fn apply_batch<'a>(
        &'a self,
        db: &'a mut PgConnection,
        events: &'a [(RecordedEvent, AnyEvent)],
        nudges: &'a mut Nudges,
    ) -> BatchFuture<'a> {
        Box::pin(async move {
            for (index, (event, decoded)) in events.iter().enumerate() {
                self.apply(db, event, decoded.clone(), nudges)
                    .await
                    .map_err(|error| BatchError { index, error })?;
            }
            Ok(())
        })
    }
}

/// Boxed so the runner's futures stay `Send` for every lifetime (async fns in traits with
/// borrowed connections otherwise trip "implementation is not general enough").
pub type ApplyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'a>>;

/// What [`Projector::apply_batch`] returns.
pub type BatchFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BatchError>> + Send + 'a>>;

/// A batch failed at `events[index]`.
#[derive(Debug)]
pub struct BatchError {
    pub index: usize,
    pub error: sqlx::Error,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// A checkpoint row.
#[derive(Clone, Debug, PartialEq)]
pub struct Build {
    pub build: i64,
    pub name: String,
    pub version: i32,
    pub status: String,
    pub position: LogPosition,
    pub events: i64,
    pub parked_at: Option<i64>,
    pub last_error: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Build {
    pub fn schema(&self) -> String {
        schema_name(&self.name, self.build)
    }

    pub fn is_live(&self) -> bool {
        self.status == "live"
    }
}

/// First key of the per-build advisory locks (the second is the build id).
const BUILD_LOCK_SPACE: i32 = 0x5354_4e44; // "STND"

/// Second key of the lock nudge writers share (build ids start at 1, so 0 is free).
const NUDGE_LOCK_KEY: i32 = 0;

fn schema_name(name: &str, build: i64) -> String {
    format!("{name}_b{build}")
}

macro_rules! select_builds {
    ($rest:literal) => {
        concat!(
            "SELECT build, name, version, status, tx::text::bigint AS tx, position, events, \
             parked_at, last_error, updated_at FROM projection_checkpoints ",
            $rest
        )
    };
}

fn build_from_row(row: &sqlx::postgres::PgRow) -> sqlx::Result<Build> {
    Ok(Build {
        build: row.try_get("build")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        status: row.try_get("status")?,
        position: LogPosition {
            tx: row.try_get("tx")?,
            position: row.try_get("position")?,
        },
        events: row.try_get("events")?,
        parked_at: row.try_get("parked_at")?,
        last_error: row.try_get("last_error")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Every build of every projector, oldest first.
pub async fn builds(db: &PgPool) -> sqlx::Result<Vec<Build>> {
    let rows = sqlx::query(select_builds!("ORDER BY name, build"))
        .fetch_all(db)
        .await?;
    rows.iter().map(build_from_row).collect()
}

async fn load_build(db: &mut PgConnection, build: i64) -> sqlx::Result<Option<Build>> {
    let row = sqlx::query(select_builds!("WHERE build = $1"))
        .bind(build)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(build_from_row).transpose()
}

/// Creates a new build of `P` from position 0: its checkpoint row and its schema.
pub async fn start_build<P: Projector>(db: &PgPool) -> sqlx::Result<i64> {
    let mut tx = db.begin().await?;
    let build: i64 = sqlx::query_scalar(
        "INSERT INTO projection_checkpoints (name, version) VALUES ($1, $2) RETURNING build",
    )
    .bind(P::NAME)
    .bind(P::VERSION)
    .fetch_one(&mut *tx)
    .await?;
    let schema = schema_name(P::NAME, build);
    (&mut *tx)
        .execute(sqlx::raw_sql(&format!(
            "CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema}, public;"
        )))
        .await?;
    (&mut *tx).execute(sqlx::raw_sql(P::SCHEMA_SQL)).await?;
    expose_new_tables::<P>(&mut tx, &schema).await?;
    tx.commit().await?;
    tracing::info!(
        projector = P::NAME,
        build,
        version = P::VERSION,
        "build started"
    );
    Ok(build)
}

/// A version that adds tables is deployed while the previous build still serves: readers of
/// the new version query `live.<new table>` before the new build is promoted. Give each table
/// the live build lacks a view on the new build's (still filling) table at once, so those reads
/// see fewer rows for a while instead of failing. Before any build is live, nothing is exposed.
async fn expose_new_tables<P: Projector>(db: &mut PgConnection, schema: &str) -> sqlx::Result<()> {
    let serving: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM projection_checkpoints WHERE name = $1 AND status = 'live')",
    )
    .bind(P::NAME)
    .fetch_one(&mut *db)
    .await?;
    if !serving {
        return Ok(());
    }
    for table in P::TABLES {
        let missing: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NULL")
            .bind(format!("live.{table}"))
            .fetch_one(&mut *db)
            .await?;
        if missing {
            (&mut *db)
                .execute(sqlx::raw_sql(&format!(
                    "CREATE VIEW live.{table} AS SELECT * FROM {schema}.{table}"
                )))
                .await?;
            tracing::info!(
                projector = P::NAME,
                table,
                "new table exposed before promotion"
            );
        }
    }
    Ok(())
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub applied: usize,
    /// The read returned fewer events than asked for: nothing more is readable right now.
    pub caught_up: bool,
    /// Someone else is stepping this build right now; nothing was done.
    pub busy: bool,
}

/// Applies the next batch of up to `batch` events to `build`, in one transaction with its
/// checkpoint and (for the live build) its NOTIFY.
pub async fn step<P: Projector>(
    db: &PgPool,
    projector: &P,
    build: i64,
    batch: i64,
) -> Result<Step, ProjectionError> {
    let mut tx = db.begin().await?;
    // One stepper per build at a time (a worker and `projections rebuild` may both drive it).
    // An advisory lock takes no xid, so it does not hold back the log read below.
    let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2::int4)")
        .bind(BUILD_LOCK_SPACE)
        .bind(build as i32)
        .fetch_one(&mut *tx)
        .await?;
    if !mine {
        return Ok(Step {
            applied: 0,
            caught_up: false,
            busy: true,
        });
    }
    let current = load_build(&mut tx, build)
        .await?
        .ok_or_else(|| sqlx::Error::RowNotFound)?;
    // Read before writing anything: this transaction must not hold an xid yet (see store::log).
    let events = read_after(&mut tx, current.position, batch).await?;
    let Some(last) = events.last().map(|e| e.log_position) else {
        return Ok(Step {
            applied: 0,
            caught_up: true,
            busy: false,
        });
    };
    let read = events.len();
    let mut holds = Holds::load(&mut tx, build).await?;
    (&mut *tx)
        .execute(sqlx::raw_sql(&format!(
            "SET LOCAL search_path TO {}, public",
            current.schema()
        )))
        .await?;
    // An event of a quarantined aggregate waits behind its poison event; an undecodable event
    // quarantines its aggregate. Everything else is applied.
    let mut decoded = Vec::with_capacity(read);
    let mut not_applied: Vec<(RecordedEvent, Option<String>)> = vec![];
    for event in events {
        if holds.holds(&event) {
            not_applied.push((event, None));
            continue;
        }
        match event.decode() {
            Ok(d) => decoded.push((event, d)),
            Err(e) => {
                holds.add(&event);
                let error = describe(&event, &e.to_string());
                not_applied.push((event, Some(error)));
            }
        }
    }
    let mut nudges = Nudges::default();
    if let Err(BatchError { index, error }) =
        projector.apply_batch(&mut tx, &decoded, &mut nudges).await
    {
        drop(tx);
        return match decoded.get(index) {
            Some((event, _)) if !quarantine::is_transient(&error) => {
                // Quarantine it on its own and step again: the batch is replayed without it.
                quarantine_event(db, &current, event, describe(event, &error.to_string())).await?;
                Ok(Step {
                    applied: 0,
                    caught_up: false,
                    busy: false,
                })
            }
            _ => Err(ProjectionError::Db(error)),
        };
    }
    for (event, error) in &not_applied {
        if let Some(error) = error {
            tracing::error!(projector = %current.name, build, position = event.log_position.position,
                %error, "event quarantined");
        }
        quarantine::record(&mut tx, build, event, error.as_deref()).await?;
    }
    let applied = decoded.len();
    // A build parked by an earlier version resumes (its poison event is now quarantined).
    sqlx::query(
        "UPDATE projection_checkpoints
            SET tx = $2::text::xid8, position = $3, events = events + $4, updated_at = now(),
                parked_at = NULL, last_error = NULL
          WHERE build = $1",
    )
    .bind(build)
    .bind(last.tx.to_string())
    .bind(last.position)
    .bind(applied as i64)
    .execute(&mut *tx)
    .await?;
    if current.is_live() && !nudges.is_empty() {
        announce(&mut tx, &nudges, last.position).await?;
    }
    tx.commit().await?;
    Ok(Step {
        applied,
        caught_up: (read as i64) < batch,
        busy: false,
    })
}

/// Appends one `nudge_log` row per kind and NOTIFYs, inside the caller's transaction (the
/// runner's batch transaction; benchmarks call it to nudge the way a projector does).
pub async fn announce(db: &mut PgConnection, nudges: &Nudges, position: i64) -> sqlx::Result<()> {
    // Serialise nudge writers until commit, so nudge ids become visible in id order.
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(BUILD_LOCK_SPACE)
        .bind(NUDGE_LOCK_KEY)
        .execute(&mut *db)
        .await?;
    let kinds: Vec<&str> = nudges.kinds.iter().map(|k| k.as_str()).collect();
    sqlx::query(
        "INSERT INTO public.nudge_log (kind, tournament_ids, position)
         SELECT kind, $2, $3 FROM unnest($1::text[]) AS kind",
    )
    .bind(&kinds)
    .bind(nudges.scope())
    .bind(position)
    .execute(&mut *db)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(nudges.payload(position))
        .execute(&mut *db)
        .await?;
    Ok(())
}

fn describe(event: &RecordedEvent, error: &str) -> String {
    format!(
        "{} #{} ({}:{}): {error}",
        event.event_type, event.log_position.position, event.aggregate_type, event.aggregate_id
    )
}

/// Records that `build` cannot apply `event`: its aggregate is quarantined from there on.
async fn quarantine_event(
    db: &PgPool,
    build: &Build,
    event: &RecordedEvent,
    error: String,
) -> sqlx::Result<()> {
    let position = event.log_position.position;
    tracing::error!(projector = %build.name, build = build.build, position, %error, "event quarantined");
    let mut conn = db.acquire().await?;
    quarantine::record(&mut conn, build.build, event, Some(&error)).await
}

/// Serves `build` once it has caught up: points every `live.<table>` view at its schema, marks
/// it live and drops every other build of the projector, in one transaction. Returns false
/// (and changes nothing) when the build still has events to apply.
pub async fn promote<P: Projector>(db: &PgPool, build: i64) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    // Serialise with steppers of this build and with other promotions of the projector.
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2::int4)")
        .bind(BUILD_LOCK_SPACE)
        .bind(build as i32)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('projection:' || $1))")
        .bind(P::NAME)
        .execute(&mut *tx)
        .await?;
    let Some(current) = load_build(&mut tx, build).await? else {
        return Ok(false);
    };
    if current.parked_at.is_some() || !read_after(&mut tx, current.position, 1).await?.is_empty() {
        return Ok(false);
    }
    let schema = schema_name(P::NAME, build);
    let mut ddl = String::new();
    for table in P::TABLES.iter() {
        ddl.push_str(&format!(
            "DROP VIEW IF EXISTS live.{table}; CREATE VIEW live.{table} AS SELECT * FROM {schema}.{table};"
        ));
    }
    (&mut *tx).execute(sqlx::raw_sql(&ddl)).await?;
    let old: Vec<i64> = sqlx::query_scalar(
        "DELETE FROM projection_checkpoints WHERE name = $1 AND build <> $2 RETURNING build",
    )
    .bind(P::NAME)
    .bind(build)
    .fetch_all(&mut *tx)
    .await?;
    for old_build in old.clone() {
        (&mut *tx)
            .execute(sqlx::raw_sql(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                schema_name(P::NAME, old_build)
            )))
            .await?;
    }
    sqlx::query(
        "UPDATE projection_checkpoints SET status = 'live', updated_at = now() WHERE build = $1",
    )
    .bind(build)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if !current.is_live() {
        tracing::info!(projector = P::NAME, build, dropped = ?old, "build is live");
    }
    Ok(true)
}

/// The builds of `P` this binary can advance: a live build of the current version and any
/// build still catching up. Starts a first build when there is none of the current version.
async fn active_builds<P: Projector>(db: &PgPool) -> sqlx::Result<Vec<Build>> {
    let mine: Vec<Build> = builds(db)
        .await?
        .into_iter()
        .filter(|b| b.name == P::NAME)
        .collect();
    let mut active: Vec<Build> = mine
        .iter()
        .filter(|b| b.version == P::VERSION)
        .cloned()
        .collect();
    if active.is_empty() {
        let build = start_build::<P>(db).await?;
        let mut conn = db.acquire().await?;
        active.extend(load_build(&mut conn, build).await?);
    }
    Ok(active)
}

/// Brings every active build of `P` up to the head of the log once (promoting a build that
/// caught up). Returns how many events were applied. Used by the worker loop and by tests.
pub async fn catch_up<P: Projector>(
    db: &PgPool,
    projector: &P,
    batch: i64,
) -> Result<usize, ProjectionError> {
    let mut applied = 0;
    for build in active_builds::<P>(db).await? {
        loop {
            let step = step(db, projector, build.build, batch).await?;
            applied += step.applied;
            if step.caught_up || step.busy {
                break;
            }
        }
        if !build.is_live() {
            promote::<P>(db, build.build).await?;
        }
    }
    Ok(applied)
}

/// Catches `P` up until its live build has applied the committed event at `target`, or `wait`
/// has passed; whether it did. A committed event is read only once every older transaction in
/// the cluster (any database) has ended, and a running worker may hold the build for a moment,
/// so one [`catch_up`] may return before it: this polls until it is applied. For commands that
/// show their change at once (the operator CLI).
pub async fn catch_up_to<P: Projector>(
    db: &PgPool,
    projector: &P,
    target: LogPosition,
    wait: Duration,
) -> Result<bool, ProjectionError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        catch_up(db, projector, 10_000).await?;
        let applied = builds(db)
            .await?
            .iter()
            .any(|b| b.name == P::NAME && b.is_live() && b.position >= target);
        if applied {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The worker loop: catch up, then wait for `events_appended` (LISTEN) or a poll interval, until
/// `shutdown` flips. A poison event does not stop it: see [`crate::quarantine`].
pub async fn run<P: Projector>(
    db: PgPool,
    projector: P,
    batch: i64,
    mut shutdown: watch::Receiver<bool>,
) {
    const POLL: Duration = Duration::from_millis(500);
    let mut listener: Option<PgListener> = None;
    while !*shutdown.borrow() {
        if listener.is_none() {
            listener = match PgListener::connect_with(&db).await {
                Ok(mut l) => match l.listen("events_appended").await {
                    Ok(()) => Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN failed; polling");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection failed; polling");
                    None
                }
            };
        }
        let delay = match catch_up(&db, &projector, batch).await {
            Ok(_) => POLL,
            Err(e) => {
                tracing::warn!(projector = P::NAME, error = %e, "projector step failed; retrying");
                Duration::from_secs(1)
            }
        };
        // Whatever arrives while we sleep, the next catch_up reads from the checkpoint: a
        // notification lost during a reconnect costs at most one poll interval.
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(delay) => {}
            received = async {
                match listener.as_mut() {
                    Some(l) => l.try_recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            } => {
                if received.is_err() {
                    listener = None;
                }
            }
        }
    }
}
