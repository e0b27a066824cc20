//! Pruning `nudge_log`: the projector appends a row per kind on every batch that changed
//! something, and nothing else ever deleted them.
//!
//! What is kept: the newest [`NudgeRetention::keep_rows`] rows **and** every row younger than
//! [`NudgeRetention::keep_for`], whichever keeps more. Who reads old rows, and why that is
//! enough for them:
//! - an api replica's feed starts from the newest `HubConfig::history` rows (512 by default)
//!   and then reads `id > last seen` about once a second: it only misses rows when it could
//!   not read the table for longer than the retention (the feed then detects the gap and
//!   sends every subscriber `resync`, see `sse`);
//! - `Last-Event-ID` replay serves at most `HubConfig::max_replay` (1,000) missed nudges, from
//!   the ring or from this table; a cursor older than the oldest kept row gets `resync`
//!   ("refetch everything"), never a partial replay.
//!
//! So `keep_rows` must stay above both (the defaults, 10,000 rows / 1 hour, do).

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

/// How much of `nudge_log` to keep (the union of both bounds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NudgeRetention {
    /// The newest rows kept whatever their age.
    pub keep_rows: i64,
    /// Rows younger than this are kept whatever their number.
    pub keep_for: Duration,
}

impl Default for NudgeRetention {
    fn default() -> Self {
        NudgeRetention {
            keep_rows: 10_000,
            keep_for: Duration::from_secs(3600),
        }
    }
}

/// Deletes the rows older than both bounds; returns how many went.
///
/// The cut is an id: below the `keep_rows`-th newest row and below the oldest row younger than
/// `keep_for`, so the rows kept are always a suffix of the log (replay never sees a hole).
pub async fn prune_nudges(db: &PgPool, retention: NudgeRetention) -> sqlx::Result<u64> {
    let keep_rows = retention.keep_rows.max(1);
    let deleted = sqlx::query(
        "DELETE FROM public.nudge_log
          WHERE id < LEAST(
                  -- the keep_rows-th newest (none: fewer rows than that, keep them all)
                  coalesce((SELECT id FROM public.nudge_log ORDER BY id DESC
                             OFFSET $1 - 1 LIMIT 1), 0),
                  -- the oldest row inside the time window (none: no bound from time)
                  coalesce((SELECT id FROM public.nudge_log
                             WHERE created_at >= now() - make_interval(secs => $2)
                             ORDER BY id LIMIT 1), 9223372036854775807))",
    )
    .bind(keep_rows)
    .bind(retention.keep_for.as_secs_f64())
    .execute(db)
    .await?
    .rows_affected();
    Ok(deleted)
}

/// Prunes every `every` until `shutdown` turns true (the worker runs it beside the
/// projector). Failures are logged once per burst and retried at the next tick.
pub async fn run_nudge_pruning(
    db: PgPool,
    retention: NudgeRetention,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failing = false;
    while !*shutdown.borrow() {
        match prune_nudges(&db, retention).await {
            Ok(deleted) => {
                if failing {
                    tracing::info!("nudge_log pruning works again");
                }
                failing = false;
                if deleted > 0 {
                    tracing::debug!(deleted, "nudge_log pruned");
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "nudge_log pruning failed; retrying");
                }
                failing = true;
            }
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}
