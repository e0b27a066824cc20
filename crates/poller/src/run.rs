//! The scheduled poller: standby until the leader lock is ours, then one loop per cycle kind
//! until shutdown or until the lock session breaks.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::burst::retry_delay;
use crate::leader::{campaign, hold, Leader, LeaderLock, StandbyLog, TermEnd};
use crate::{CycleKind, Poller};

impl Poller {
    /// Polls while this process holds the leader lock; stands by while another does. Returns
    /// when `shutdown` becomes `true` (or its sender is dropped), releasing the lock.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let config = &self.inner.config;
        let lock = LeaderLock::new(&self.inner.pool, config.lock_key);
        campaign(&self, lock, config.lock_retry, &mut shutdown).await;
    }
}

impl Leader for Poller {
    const STANDBY_LOG: StandbyLog = StandbyLog {
        reachable_again: "leader lock reachable again",
        standing_by: "another poller holds the leader lock; standing by",
        unreachable: "cannot reach the database for the leader lock",
    };

    /// One term as leader.
    async fn lead(&self, lock: &mut LeaderLock, shutdown: &mut watch::Receiver<bool>) -> TermEnd {
        let stats = &self.inner.stats;
        let pid = lock.holder_pid().unwrap_or(0);
        stats.is_leader.store(true, Ordering::Relaxed);
        stats.terms.fetch_add(1, Ordering::Relaxed);
        stats
            .lock_backend_pid
            .store(i64::from(pid), Ordering::Relaxed);
        tracing::info!(lock_backend_pid = pid, "leader lock taken; polling");
        // Another leader may have told the aggregates things since our caches were filled.
        self.reset_caches();

        let (stop_tx, stop_rx) = watch::channel(false);
        let first_stats = Arc::new(watch::channel(false).0);
        let mut loops = JoinSet::new();
        for kind in CycleKind::ALL {
            loops.spawn(
                self.clone()
                    .cycle_loop(kind, stop_rx.clone(), first_stats.clone()),
            );
        }
        let check_every = self.inner.config.lock_check;
        let end = hold(lock, loops, stop_tx, shutdown, check_every, "poller").await;
        if end != TermEnd::Shutdown {
            stats.terms_lost.fetch_add(1, Ordering::Relaxed);
        }
        stats.is_leader.store(false, Ordering::Relaxed);
        stats.lock_backend_pid.store(0, Ordering::Relaxed);
        end
    }
}

impl Poller {
    /// Cycles of one kind until `stop`: after a success the next comes one interval later,
    /// after failures sooner (a jittered backoff that grows to the interval).
    async fn cycle_loop(
        self,
        kind: CycleKind,
        mut stop: watch::Receiver<bool>,
        first_stats: Arc<watch::Sender<bool>>,
    ) {
        if kind == CycleKind::Matches {
            // The first stats cycle of a term marks everyone as moved: start right after it
            // rather than one whole matches interval later.
            let mut done = first_stats.subscribe();
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::timeout(self.inner.config.matches_interval, done.wait_for(|d| *d)) => {}
            }
        }
        loop {
            let started = tokio::time::Instant::now();
            let (result, failures) = self.cycle(kind).await;
            if kind == CycleKind::Stats {
                first_stats.send_replace(true);
            }
            let retry_after = result.as_ref().err().and_then(|e| e.retry_after());
            let mut delay = self.next_delay(kind, failures, retry_after);
            if failures == 0 {
                // The cadence counts from the start of a cycle: a cycle that used its whole
                // cadence (the budget was short) is followed at once, never overlapped.
                delay = delay.saturating_sub(started.elapsed());
            }
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            if stopping(&stop) {
                return;
            }
        }
    }

    fn next_delay(
        &self,
        kind: CycleKind,
        failures: u64,
        retry_after: Option<Duration>,
    ) -> Duration {
        let c = &self.inner.config;
        let (interval, base) = match kind {
            CycleKind::Stats => (c.stats_interval, c.stats_interval / 4),
            CycleKind::Matches => (c.matches_interval, c.matches_interval / 4),
            CycleKind::Live => (c.live_interval, c.live_interval / 4),
            CycleKind::Catalog => (c.catalog_interval, c.catalog_retry),
        };
        retry_delay(base, interval, failures, retry_after)
    }
}

fn stopping(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow()
}
