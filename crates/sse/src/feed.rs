//! Feeds the hub from `nudge_log`: LISTEN for the projector's NOTIFY, and on each one (on a
//! fallback poll, and after every reconnect, since `PgListener` drops notifications sent while
//! it reconnects) read the rows after the last id seen and publish them in id order.
//!
//! Nudge writers serialise on an advisory lock until commit, so ids become visible in
//! increasing order and `id > last` never skips a row.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::coalesce::Coalescer;
use crate::frame::{parse_kind, Nudge};
use crate::hub::Hub;

/// Rows read per query; more are read at once when a poll returns a full page.
const PAGE: i64 = 1000;
/// Connecting and LISTENing may take at most this long before the feed polls instead.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How the feed reaches the database.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// A direct (session) connection URL for LISTEN, e.g. `LISTEN_DATABASE_URL` when the pool
    /// goes through a transaction-mode pooler. `None`: LISTEN on a connection of the pool
    /// (it holds one of the pool's connections for as long as it runs).
    pub listen_url: Option<String>,
    /// Fallback poll of `nudge_log` when no notification arrives.
    pub poll_interval: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            listen_url: None,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Runs the feed and the hub's global heartbeat tick until `shutdown` turns true, then
/// closes the hub. Database errors are logged and retried; it never returns early.
pub async fn run_feed(pool: PgPool, hub: Arc<Hub>, shutdown: watch::Receiver<bool>) {
    run_feed_with(pool, hub, shutdown, FeedOptions::default()).await
}

/// [`run_feed`] with explicit options.
pub async fn run_feed_with(
    pool: PgPool,
    hub: Arc<Hub>,
    shutdown: watch::Receiver<bool>,
    options: FeedOptions,
) {
    // The tick runs beside the feed, so a database that hangs never delays heartbeats (nor
    // the lifetime cap they enforce).
    tokio::join!(
        heartbeats(&hub, shutdown.clone()),
        feed(pool, &hub, shutdown, options)
    );
    hub.close();
}

async fn heartbeats(hub: &Hub, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(hub.config().heartbeat_interval / 2);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.reset(); // the first tick one period from now, not at once
    while !*shutdown.borrow() {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break; // the sender is gone: nobody can stop us any more, so stop now
                }
            }
            _ = tick.tick() => hub.heartbeat(),
        }
    }
}

async fn feed(pool: PgPool, hub: &Hub, mut shutdown: watch::Receiver<bool>, options: FeedOptions) {
    let poll_interval = options.poll_interval.max(Duration::from_millis(10));
    let mut listener: Option<PgListener> = None;
    let mut listen_failing = false;
    let mut poll_failing = false;
    let mut last: Option<i64> = None;
    let mut next_poll = Instant::now();
    let mut next_listen = Instant::now();
    let mut coalescer = Coalescer::new(hub.config().coalesce_window);

    loop {
        if *shutdown.borrow() {
            break;
        }
        coalescer.flush_due(hub, Instant::now());
        // LISTEN before reading, so nothing committed after the read goes unannounced.
        if listener.is_none() && Instant::now() >= next_listen {
            let listening =
                tokio::time::timeout(LISTEN_TIMEOUT, listen(&pool, options.listen_url.as_deref()));
            match listening
                .await
                .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut))
            {
                Ok(l) => {
                    if listen_failing {
                        tracing::info!("stream feed: LISTEN restored");
                    }
                    listen_failing = false;
                    listener = Some(l);
                    next_poll = Instant::now();
                }
                Err(e) => {
                    if !listen_failing {
                        tracing::warn!(error = %e, "stream feed: LISTEN failed; polling nudge_log until it works");
                    }
                    listen_failing = true;
                    next_listen = Instant::now() + poll_interval * 5;
                }
            }
        }
        if Instant::now() >= next_poll {
            let result = match last {
                None => start(&pool, hub).await.map(|head| last = Some(head)),
                Some(ref mut last) => poll(&pool, hub, last, &mut coalescer).await,
            };
            match result {
                Ok(()) => {
                    if poll_failing {
                        tracing::info!("stream feed: nudge_log readable again");
                    }
                    poll_failing = false;
                }
                Err(e) => {
                    if !poll_failing {
                        tracing::warn!(error = %e, "stream feed: cannot read nudge_log; retrying");
                    }
                    poll_failing = true;
                }
            }
            next_poll = Instant::now() + poll_interval;
        }

        let mut until = if listener.is_none() {
            next_poll.min(next_listen)
        } else {
            next_poll
        };
        if let Some(due) = coalescer.due() {
            until = until.min(due);
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep_until(until) => {}
            received = recv(&mut listener) => match received {
                Ok(Some(())) => {
                    // Coalesce a burst: one read covers every notification so far.
                    if let Some(l) = listener.as_mut() {
                        while l.next_buffered().is_some() {}
                    }
                    next_poll = Instant::now();
                }
                Ok(None) => {
                    // Reconnected: notifications sent meanwhile are lost; read the table.
                    tracing::info!("stream feed: LISTEN connection re-established");
                    next_poll = Instant::now();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stream feed: LISTEN connection lost");
                    listener = None;
                    listen_failing = true;
                    next_listen = Instant::now() + poll_interval;
                    next_poll = Instant::now();
                }
            },
        }
    }
}

async fn listen(pool: &PgPool, url: Option<&str>) -> sqlx::Result<PgListener> {
    let mut listener = match url {
        Some(url) => PgListener::connect(url).await?,
        None => PgListener::connect_with(pool).await?,
    };
    listener.listen(projections::nudge::CHANNEL).await?;
    Ok(listener)
}

/// `Ok(Some)`: a notification; `Ok(None)`: the connection was lost and re-established.
async fn recv(listener: &mut Option<PgListener>) -> sqlx::Result<Option<()>> {
    match listener {
        Some(l) => l.try_recv().await.map(|n| n.map(|_| ())),
        None => std::future::pending().await,
    }
}

type Row = (i64, String, Option<Vec<i64>>, DateTime<Utc>);

/// Whether rows right after `last` may have been deleted (rather than never written: ids
/// have gaps when a writer rolls back): the table's oldest row is past them. Pruning keeps a
/// suffix of ids (`projections::retention`).
async fn pruned_past(pool: &PgPool, last: i64) -> sqlx::Result<bool> {
    let oldest: Option<i64> = sqlx::query_scalar("SELECT min(id) FROM public.nudge_log")
        .fetch_one(pool)
        .await?;
    Ok(oldest.is_some_and(|oldest| oldest > last.saturating_add(1)))
}

fn to_nudge((id, kind, tournament_ids, polled_at): Row) -> Option<Nudge> {
    match parse_kind(&kind) {
        Some(kind) => Some(Nudge {
            id,
            kind,
            tournament_ids,
            polled_at,
        }),
        None => {
            tracing::warn!(id, kind, "stream feed: unknown nudge kind skipped");
            None
        }
    }
}

/// Records the head without publishing (like the original's first poll) and loads the newest
/// rows into the ring for resuming clients. Returns the head id.
async fn start(pool: &PgPool, hub: &Hub) -> sqlx::Result<i64> {
    let mut tx = pool.begin().await?;
    // One snapshot for both reads.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let head: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM public.nudge_log")
        .fetch_one(&mut *tx)
        .await?;
    let mut rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, tournament_ids, created_at FROM public.nudge_log
          ORDER BY id DESC LIMIT $1",
    )
    .bind(hub.config().history.min(hub.config().capacity) as i64)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.reverse();
    let floor = rows.first().map_or(head, |row| row.0 - 1);
    let history: Vec<Nudge> = rows.into_iter().filter_map(to_nudge).collect();
    tracing::debug!(head, floor, loaded = history.len(), "stream feed: started");
    hub.start(head, floor, history);
    Ok(head)
}

async fn poll(
    pool: &PgPool,
    hub: &Hub,
    last: &mut i64,
    coalescer: &mut Coalescer,
) -> sqlx::Result<()> {
    loop {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, kind, tournament_ids, created_at FROM public.nudge_log
              WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(*last)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        let full = rows.len() as i64 == PAGE;
        if rows
            .first()
            .is_some_and(|row| row.0 > last.saturating_add(1))
            && pruned_past(pool, *last).await?
        {
            // Rows we never read were pruned (this replica could not read the table for
            // longer than the retention): subscribers may have missed anything.
            let head = rows.last().map_or(*last, |row| row.0);
            tracing::warn!(last = *last, head, "stream feed: nudges pruned before this replica read them; sending resync to every subscriber");
            hub.resync_all(head);
        }
        if let Some(row) = rows.last() {
            *last = row.0;
        }
        coalescer.add(
            hub,
            rows.into_iter().filter_map(to_nudge).collect(),
            Instant::now(),
        );
        if !full {
            return Ok(());
        }
    }
}
