//! The scheduled stream poller: standby until its leader lock is ours, then one loop per
//! enabled platform until shutdown or until the lock session breaks. The lock is `poller`'s
//! [`LeaderLock`] on a key of its own, so the stream poller can lead in another process than
//! the upstream poller.

use domain::streams::Platform;
use poller::burst::retry_delay;
use poller::leader::{campaign, hold, Leader, LeaderLock, StandbyLog, TermEnd};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::StreamPoller;

impl StreamPoller {
    /// Polls while this process holds the stream poller's lock; stands by while another
    /// does. Returns at once when no platform has credentials, else when `shutdown` becomes
    /// `true` (or its sender is dropped), releasing the lock.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if self.platforms().is_empty() {
            return;
        }
        let config = &self.inner.config;
        let lock = LeaderLock::new(&self.inner.pool, config.lock_key);
        campaign(&self, lock, config.lock_retry, &mut shutdown).await;
    }
}

impl Leader for StreamPoller {
    const STANDBY_LOG: StandbyLog = StandbyLog {
        reachable_again: "stream poller lock reachable again",
        standing_by: "another process detects streams; standing by",
        unreachable: "cannot reach the database for the stream poller lock",
    };

    async fn lead(&self, lock: &mut LeaderLock, shutdown: &mut watch::Receiver<bool>) -> TermEnd {
        tracing::info!(
            platforms = ?self.platforms(),
            lock_backend_pid = lock.holder_pid().unwrap_or(0),
            "stream poller lock taken; detecting streams"
        );
        // Another leader may have told the aggregates things since our cache was filled.
        self.reset_caches();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut loops = JoinSet::new();
        for platform in self.platforms() {
            loops.spawn(self.clone().cycle_loop(platform, stop_rx.clone()));
        }
        let check_every = self.inner.config.lock_check;
        hold(lock, loops, stop_tx, shutdown, check_every, "stream poller").await
    }
}

impl StreamPoller {
    /// Cycles of one platform until `stop`: the next one an interval after a success, sooner
    /// after failures (a jittered backoff that grows to the interval).
    async fn cycle_loop(self, platform: Platform, mut stop: watch::Receiver<bool>) {
        let interval = match platform {
            Platform::Twitch => self.inner.config.twitch_interval,
            Platform::Youtube => self.inner.config.youtube_interval,
        };
        loop {
            let (_, failures) = self.cycle(platform).await;
            let delay = retry_delay(interval / 4, interval, failures, None);
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}
