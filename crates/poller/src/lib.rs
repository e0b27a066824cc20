//! The upstream poller: cadences, change detection, commands.
//!
//! Four cycle kinds run on their own cadence ([`PollerConfig`]): **stats** (batched
//! `GetPersonalStat` → `ObserveStats` per profile), **matches** (`getRecentMatchHistory` for
//! the profiles whose games moved, plus a slow sweep → `RecordFinishedMatch` per new match),
//! **live** (`findAdvertisements` → lobby `Observe`/`End`) and **catalog**
//! (`getAvailableLeaderboards` → catalog `Observe`, and the matchtype → leaderboard map).
//! The tracked set (linked roster profiles) is re-read every cycle; an empty set makes no
//! upstream call.
//!
//! # Invariants
//!
//! - **Appends only through aggregates; never writes read models.** Every observation becomes
//!   a command on `Profile`, `Match`, `Lobby` or `Catalog` through [`store::EventStore`]; the
//!   aggregate decides whether anything changed. The poller's in-memory caches (last
//!   observation sent, match ids recorded, lobbies open) only save work: losing them (restart,
//!   new leader) costs requests and commands, never a wrong or duplicate event.
//! - **A failed cycle appends nothing wrong.** A transport error, 5xx, 429, timeout, decode
//!   error or `result.code != 0` fails the whole call (never "empty"), so no command is
//!   derived from it. Failures are logged once per burst ([`burst`]) and counted
//!   ([`PollerStats`]); the next attempt comes after a jittered backoff, at most one interval.
//! - **Requests follow activity, not roster size.** Stats cost `ceil(tracked / 32)` requests
//!   per cycle; history is asked only for profiles whose wins + losses or last-match time moved
//!   (first sighting counts), for members of lobbies that just closed, and for a small
//!   rotating sweep slice that bounds staleness.
//! - **One request budget.** Every upstream call of every cycle waits for the client's shared
//!   [`upstream::Budget`] (requests per second, in flight, priorities; a 429 slows them all).
//!   Live lobbies and players in or just out of a game go first, the sweep last. A stats cycle
//!   that cannot ask about everyone within its cadence leaves the rest for the next cycle,
//!   which continues the round-robin there ([`CycleReport::deferred`], logged once per burst).
//! - **One active poller across processes**: [`Poller::run`] polls only while it holds a
//!   session advisory lock on a dedicated connection ([`leader`]); a standby retries every
//!   few seconds and takes over when the holder's session ends.
//!
//! Drive single cycles with [`Poller::run_cycle`] (tests, benchmarks); run the whole thing
//! with leader election with [`Poller::run`].

pub mod burst;
mod catalog;
pub mod config;
mod history;
pub mod leader;
mod live;
pub mod metrics;
mod run;
mod stats;
pub mod tracked;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use domain::event::Actor;
use domain::EventMetadata;
use sqlx::PgPool;
use store::{CommandError, EventStore};
use tracing::Instrument;
use upstream::{UpstreamClient, UpstreamError};

pub use burst::retry_delay;
pub use config::{PollerConfig, DEFAULT_LOCK_KEY};
pub use metrics::{KindSnapshot, PollerStats, StatsSnapshot};
/// The production community API host (`UPSTREAM_BASE_URL`'s default).
pub use upstream::DEFAULT_BASE_URL as DEFAULT_UPSTREAM_BASE_URL;
pub use upstream::{BudgetConfig, BudgetSnapshot, Priority};

/// The four things the poller polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CycleKind {
    Stats,
    Matches,
    Live,
    Catalog,
}

impl CycleKind {
    pub const ALL: [CycleKind; 4] = [
        CycleKind::Stats,
        CycleKind::Matches,
        CycleKind::Live,
        CycleKind::Catalog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CycleKind::Stats => "stats",
            CycleKind::Matches => "matches",
            CycleKind::Live => "live",
            CycleKind::Catalog => "catalog",
        }
    }

    fn index(self) -> usize {
        match self {
            CycleKind::Stats => 0,
            CycleKind::Matches => 1,
            CycleKind::Live => 2,
            CycleKind::Catalog => 3,
        }
    }
}

impl fmt::Display for CycleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one successful cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Size of the tracked set this cycle.
    pub tracked: usize,
    /// HTTP requests (batches, pages) of the upstream call; 0 when no call was needed.
    pub requests: u64,
    /// Profiles asked about (stats, matches) or lobbies listed (live), or leaderboards.
    pub items: usize,
    /// Commands sent to aggregates.
    pub commands: u64,
    /// Stats: profiles whose games moved. Matches: moved profiles asked about.
    pub moved: usize,
    /// Matches: profiles of closed lobbies asked about.
    pub watched: usize,
    /// Matches: profiles of the staleness sweep asked about.
    pub swept: usize,
    /// Stats: profiles not asked about because the cycle ran out of its cadence (the
    /// request budget was short); the next cycle starts with them.
    pub deferred: usize,
}

/// Why a cycle failed. Nothing derived from the failed call was appended.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// Reading the tracked set or a term hint failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Appending a command failed (the commands before it were appended, and are correct).
    #[error("event store: {0}")]
    Store(String),
}

impl CycleError {
    /// Low-cardinality label for logs and counters (`http_503`, `timeout`, `decode`, …).
    pub fn label(&self) -> String {
        match self {
            CycleError::Upstream(e) => e.label(),
            CycleError::Database(_) => "database".to_owned(),
            CycleError::Store(_) => "store".to_owned(),
        }
    }

    /// A server's `Retry-After` hint, honoured by the backoff.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CycleError::Upstream(UpstreamError::RateLimited { retry_after }) => *retry_after,
            _ => None,
        }
    }
}

/// Error building a poller.
#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    #[error("cannot build the upstream client: {0}")]
    Client(#[from] UpstreamError),
}

/// The poller. Cheap to clone; clones share caches, counters and cycle locks.
#[derive(Clone)]
pub struct Poller {
    inner: Arc<Inner>,
}

struct Inner {
    config: PollerConfig,
    client: UpstreamClient,
    pool: PgPool,
    store: EventStore,
    metadata: EventMetadata,
    stats: Arc<PollerStats>,
    state: Mutex<State>,
    /// One cycle of a kind at a time; holds that kind's failure and overrun bursts.
    kinds: [tokio::sync::Mutex<KindBursts>; 4],
}

/// Log-once state of one cycle kind.
#[derive(Default)]
struct KindBursts {
    failures: burst::Burst,
    /// Cycles in a row that ran out of their cadence.
    overruns: burst::Burst,
}

/// In-memory caches. Behind a std mutex that is never held across an `.await`.
#[derive(Default)]
struct State {
    stats: stats::StatsState,
    history: history::HistoryState,
    live: live::LiveState,
    catalog: catalog::CatalogState,
}

impl Poller {
    /// A poller appending through an [`EventStore`] on `pool`.
    pub fn new(config: PollerConfig, pool: PgPool) -> Result<Self, PollerError> {
        let client = UpstreamClient::new(config.upstream.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                store: EventStore::new(pool.clone()),
                pool,
                metadata: EventMetadata::new(Actor::Poller),
                stats: Arc::new(PollerStats::default()),
                state: Mutex::new(State::default()),
                kinds: Default::default(),
                config,
            }),
        })
    }

    pub fn config(&self) -> &PollerConfig {
        &self.inner.config
    }

    /// Live counters (share the `Arc` to watch a running poller).
    pub fn stats_handle(&self) -> Arc<PollerStats> {
        self.inner.stats.clone()
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// The request budget every upstream call of this poller shares.
    pub fn budget(&self) -> Arc<upstream::Budget> {
        self.inner.client.budget()
    }

    /// Every HTTP attempt to upstream and its 429 answers, retries included.
    pub fn upstream_counters(&self) -> Arc<upstream::ClientCounters> {
        self.inner.client.counters()
    }

    /// Run one cycle of `kind` now (waits if one of that kind is running), with the same
    /// logging and counters as the scheduled loop. Needs no leadership: callers that run
    /// several pollers must elect one themselves (see [`Poller::run`]).
    pub async fn run_cycle(&self, kind: CycleKind) -> Result<CycleReport, CycleError> {
        self.cycle(kind).await.0
    }

    /// Forget every cache (as a new leader term does): the next cycles re-send what they
    /// observe and the aggregates drop what they already know.
    pub fn reset_caches(&self) {
        self.inner.lock_state().reset();
    }

    /// One cycle plus the failures in a row after it (for the scheduler's backoff).
    async fn cycle(&self, kind: CycleKind) -> (Result<CycleReport, CycleError>, u64) {
        let inner = &*self.inner;
        let mut bursts = inner.kinds[kind.index()].lock().await;
        let span = tracing::info_span!(
            "poll_cycle",
            kind = kind.name(),
            tracked = tracing::field::Empty,
            requests = tracing::field::Empty,
            commands = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = async {
            match kind {
                CycleKind::Stats => stats::cycle(inner).await,
                CycleKind::Matches => history::cycle(inner).await,
                CycleKind::Live => live::cycle(inner).await,
                CycleKind::Catalog => catalog::cycle(inner).await,
            }
        }
        .instrument(span.clone())
        .await;
        let counters = inner.stats.kind(kind);
        let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        PollerStats::add(&counters.busy_ms, took);
        counters
            .longest_ms
            .fetch_max(took, std::sync::atomic::Ordering::Relaxed);
        let _entered = span.enter();
        match &result {
            Ok(report) => {
                span.record("tracked", report.tracked);
                span.record("requests", report.requests);
                span.record("commands", report.commands);
                PollerStats::add(&counters.cycles_ok, 1);
                PollerStats::add(&counters.requests, report.requests);
                PollerStats::add(&counters.items_requested, report.items as u64);
                tracing::debug!(
                    items = report.items,
                    moved = report.moved,
                    watched = report.watched,
                    swept = report.swept,
                    "poll cycle ok"
                );
                report_overrun(kind, report, counters, &mut bursts.overruns);
                if let burst::Transition::Recovered {
                    failed_cycles,
                    lasted,
                    label,
                } = bursts.failures.success()
                {
                    PollerStats::add(&counters.bursts_recovered, 1);
                    tracing::info!(
                        failed_cycles,
                        lasted_ms = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX),
                        first_error = %label,
                        "poll cycles recovered"
                    );
                }
            }
            Err(e) => {
                PollerStats::add(&counters.cycles_failed, 1);
                let label = e.label();
                match bursts.failures.failure(&label) {
                    burst::Transition::Started { .. } => {
                        PollerStats::add(&counters.bursts_started, 1);
                        tracing::warn!(error = %label, detail = %e, "poll cycles failing");
                    }
                    _ => tracing::debug!(error = %label, detail = %e, "poll cycle failed"),
                }
            }
        }
        let failures = bursts.failures.consecutive_failures();
        drop(_entered);
        (result, failures)
    }
}

/// Counts a cycle that ran out of its cadence; logs the first of a burst and the end of it.
fn report_overrun(
    kind: CycleKind,
    report: &CycleReport,
    counters: &metrics::KindCounters,
    overruns: &mut burst::Burst,
) {
    if report.deferred == 0 {
        if let burst::Transition::Recovered {
            failed_cycles,
            lasted,
            ..
        } = overruns.success()
        {
            tracing::info!(
                overrun_cycles = failed_cycles,
                lasted_ms = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX),
                "poll cycles fit their cadence again"
            );
        }
        return;
    }
    PollerStats::add(&counters.overruns, 1);
    PollerStats::add(&counters.deferred, report.deferred as u64);
    if let burst::Transition::Started { .. } = overruns.failure("overrun") {
        PollerStats::add(&counters.overrun_bursts, 1);
        tracing::warn!(
            kind = kind.name(),
            tracked = report.tracked,
            asked = report.items,
            deferred = report.deferred,
            "poll cycle cannot ask about everyone within its cadence (request budget too small); \
             continuing round-robin"
        );
    }
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves caches that are at worst stale, and caches
        // only save work: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends one command; a refused command is logged and skipped (the observation was
    /// malformed beyond what the parser rejects), a store failure fails the cycle.
    async fn send<A>(
        &self,
        kind: CycleKind,
        aggregate_id: &str,
        command: A::Command,
    ) -> Result<Sent, CycleError>
    where
        A: cqrs_es::Aggregate<Services = ()>,
        A::Command: Clone,
    {
        let sent = self
            .store
            .execute::<A>(aggregate_id, command, &self.metadata)
            .await;
        PollerStats::add(&self.stats.kind(kind).commands, 1);
        match sent {
            Ok(()) => Ok(Sent::Appended),
            Err(CommandError::Rejected(e)) => {
                tracing::warn!(aggregate = A::TYPE, id = aggregate_id, error = %e, "observation refused");
                Ok(Sent::Refused)
            }
            Err(e) => Err(CycleError::Store(e.to_string())),
        }
    }
}

/// How a command went (an append of zero events counts as appended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Appended,
    Refused,
}

impl State {
    /// Tracked players in a game or just out of one: members of open lobbies and of closed
    /// lobbies whose game is not recorded yet. Their requests go first.
    fn hot_profiles(&self, tracked: &std::collections::HashSet<i64>) -> Vec<i64> {
        let mut hot: Vec<i64> = self
            .live
            .members()
            .chain(self.history.watched_members())
            .filter(|id| tracked.contains(id))
            .collect();
        hot.sort_unstable();
        hot.dedup();
        hot
    }

    fn reset(&mut self) {
        // Recorded match ids stay valid across terms: a match once appended never changes.
        let recorded = std::mem::take(&mut self.history.recorded);
        *self = State::default();
        self.history.recorded = recorded;
    }
}

/// `ceil(items / batch)`: the requests a batched call makes.
fn batches(items: usize, batch: usize) -> u64 {
    u64::try_from(items.div_ceil(batch.max(1))).unwrap_or(u64::MAX)
}

/// The matchtype → leaderboard map in force: upstream's (if seen) over the verified floor.
type MatchtypeMap = BTreeMap<i64, i64>;

/// Compile-time guard: the binary spawns these futures, so they must stay `Send`.
#[cfg(test)]
mod send_check {
    fn is_send<T: Send + 'static>(_: T) {}
    #[allow(dead_code)]
    fn poller_futures_are_send(poller: crate::Poller, rx: tokio::sync::watch::Receiver<bool>) {
        is_send(poller.clone().run(rx));
        is_send(async move { poller.run_cycle(crate::CycleKind::Stats).await.is_ok() });
    }
}
