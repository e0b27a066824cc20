//! [`PollerStats`]: lock-free counters a poller updates and anyone holding the `Arc` reads,
//! so tests assert "logged once per burst" and benchmarks count requests without scraping logs.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crate::CycleKind;

/// Counters of one cycle kind.
#[derive(Debug, Default)]
pub struct KindCounters {
    pub cycles_ok: AtomicU64,
    pub cycles_failed: AtomicU64,
    /// Failure bursts that started (one `warn!` each).
    pub bursts_started: AtomicU64,
    /// Failure bursts that ended with a success (one `info!` each).
    pub bursts_recovered: AtomicU64,
    /// HTTP requests of successful calls, first attempts only (batches and pages); the
    /// client's own retries are not visible here.
    pub requests: AtomicU64,
    /// Profiles asked about (stats, history) or lobbies listed (live).
    pub items_requested: AtomicU64,
    /// Commands sent to aggregates (each appends zero or more events).
    pub commands: AtomicU64,
    /// Cycles that ran out of their cadence before asking about everything (stats).
    pub overruns: AtomicU64,
    /// Overrun bursts that started (one `warn!` each).
    pub overrun_bursts: AtomicU64,
    /// Profiles left for the next cycle because the cycle ran out of time.
    pub deferred: AtomicU64,
    /// Time spent in cycles (ok or failed), and the longest one, in milliseconds.
    pub busy_ms: AtomicU64,
    pub longest_ms: AtomicU64,
}

/// A plain copy of [`KindCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindSnapshot {
    pub cycles_ok: u64,
    pub cycles_failed: u64,
    pub bursts_started: u64,
    pub bursts_recovered: u64,
    pub requests: u64,
    pub items_requested: u64,
    pub commands: u64,
    pub overruns: u64,
    pub overrun_bursts: u64,
    pub deferred: u64,
    pub busy_ms: u64,
    pub longest_ms: u64,
}

impl KindCounters {
    pub fn snapshot(&self) -> KindSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        KindSnapshot {
            cycles_ok: get(&self.cycles_ok),
            cycles_failed: get(&self.cycles_failed),
            bursts_started: get(&self.bursts_started),
            bursts_recovered: get(&self.bursts_recovered),
            requests: get(&self.requests),
            items_requested: get(&self.items_requested),
            commands: get(&self.commands),
            overruns: get(&self.overruns),
            overrun_bursts: get(&self.overrun_bursts),
            deferred: get(&self.deferred),
            busy_ms: get(&self.busy_ms),
            longest_ms: get(&self.longest_ms),
        }
    }
}

/// Counters of a whole poller.
#[derive(Debug, Default)]
pub struct PollerStats {
    kinds: [KindCounters; 4],
    /// Whether this poller currently holds the leader lock.
    pub is_leader: AtomicBool,
    /// Terms as leader started (lock taken).
    pub terms: AtomicU64,
    /// Terms that ended because the lock connection broke.
    pub terms_lost: AtomicU64,
    /// Backend pid of the connection holding the lock (0 when not leading); lets tests
    /// break exactly that connection.
    pub lock_backend_pid: AtomicI64,
}

/// A plain copy of [`PollerStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub stats: KindSnapshot,
    pub matches: KindSnapshot,
    pub live: KindSnapshot,
    pub catalog: KindSnapshot,
    pub is_leader: bool,
    pub terms: u64,
    pub terms_lost: u64,
}

impl StatsSnapshot {
    pub fn kind(&self, kind: CycleKind) -> KindSnapshot {
        match kind {
            CycleKind::Stats => self.stats,
            CycleKind::Matches => self.matches,
            CycleKind::Live => self.live,
            CycleKind::Catalog => self.catalog,
        }
    }

    /// Sum over kinds (e.g. all upstream requests, all commands).
    pub fn total(&self, field: impl Fn(&KindSnapshot) -> u64) -> u64 {
        CycleKind::ALL.iter().map(|&k| field(&self.kind(k))).sum()
    }
}

impl PollerStats {
    pub fn kind(&self, kind: CycleKind) -> &KindCounters {
        &self.kinds[kind.index()]
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            stats: self.kind(CycleKind::Stats).snapshot(),
            matches: self.kind(CycleKind::Matches).snapshot(),
            live: self.kind(CycleKind::Live).snapshot(),
            catalog: self.kind(CycleKind::Catalog).snapshot(),
            is_leader: self.is_leader.load(Ordering::Relaxed),
            terms: self.terms.load(Ordering::Relaxed),
            terms_lost: self.terms_lost.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
