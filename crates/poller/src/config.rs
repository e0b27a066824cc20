//! [`PollerConfig`]: cadences, the upstream client and leader election, with the production
//! defaults of the design (§9). The binary fills it from flags and environment variables.

use std::time::Duration;

use upstream::UpstreamConfig;

/// Advisory-lock key of the one active poller (`"lspoller"` in ASCII).
pub const DEFAULT_LOCK_KEY: i64 = 0x6c73_706f_6c6c_6572;

/// Everything that shapes a poller. `Default` gives production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerConfig {
    /// `GetPersonalStat` cadence (`POLL_STATS_SECONDS`, 30 s).
    pub stats_interval: Duration,
    /// `getRecentMatchHistory` cadence (`POLL_MATCHES_SECONDS`, 60 s).
    pub matches_interval: Duration,
    /// `findAdvertisements` cadence (`POLL_LIVE_SECONDS`, 15 s).
    pub live_interval: Duration,
    /// `getAvailableLeaderboards` cadence after a success (`POLL_CATALOG_SECONDS`, 1800 s).
    pub catalog_interval: Duration,
    /// First catalog retry after a failure (60 s); doubles per failed cycle up to the interval.
    pub catalog_retry: Duration,
    /// Every tracked profile's history is re-read at least once per this period, a rotating
    /// slice per matches cycle (`POLL_SWEEP_SECONDS`, 3600 s). Bounds staleness when a game
    /// moves no ladder stats (custom games) or upstream's history lags its stats.
    pub sweep_period: Duration,
    /// After a lobby with tracked members closes, its members' history is checked at
    /// 1, 2, 4, 8, … matches cycles for this long, until the lobby's match id shows up
    /// (custom games move no ladder stats). 2 h covers a long game.
    pub lobby_watch: Duration,
    /// Upstream client: base URL (`UPSTREAM_BASE_URL`), timeouts, retries, batch sizes.
    pub upstream: UpstreamConfig,
    /// How often a standby tries to take the lock (5 s): a dead leader is replaced well
    /// within two stats cycles.
    pub lock_retry: Duration,
    /// How often the leader checks its lock connection is alive (and the timeout of that
    /// check); a broken connection ends its term.
    pub lock_check: Duration,
    /// Key of the session advisory lock that elects the one active poller.
    pub lock_key: i64,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            stats_interval: Duration::from_secs(30),
            matches_interval: Duration::from_secs(60),
            live_interval: Duration::from_secs(15),
            catalog_interval: Duration::from_secs(1800),
            catalog_retry: Duration::from_secs(60),
            sweep_period: Duration::from_secs(3600),
            lobby_watch: Duration::from_secs(2 * 3600),
            upstream: UpstreamConfig::default(),
            lock_retry: Duration::from_secs(5),
            lock_check: Duration::from_secs(5),
            lock_key: DEFAULT_LOCK_KEY,
        }
    }
}

impl PollerConfig {
    /// Defaults with another upstream host.
    pub fn with_base_url(base_url: impl Into<String>) -> Self {
        let mut config = Self::default();
        config.upstream.base_url = base_url.into();
        config
    }

    /// Matches cycles per sweep period (at least 1).
    pub fn sweep_cycles(&self) -> u64 {
        cycles(self.sweep_period, self.matches_interval)
    }

    /// Matches cycles a closed lobby's members stay watched (at least 1).
    pub fn lobby_watch_cycles(&self) -> u64 {
        cycles(self.lobby_watch, self.matches_interval)
    }
}

/// `ceil(period / interval)`, at least 1; a zero interval counts as 1 ms.
fn cycles(period: Duration, interval: Duration) -> u64 {
    let interval = interval.as_millis().max(1);
    let n = period.as_millis().div_ceil(interval);
    u64::try_from(n).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design() {
        let c = PollerConfig::default();
        assert_eq!(c.stats_interval, Duration::from_secs(30));
        assert_eq!(c.matches_interval, Duration::from_secs(60));
        assert_eq!(c.live_interval, Duration::from_secs(15));
        assert_eq!(c.catalog_interval, Duration::from_secs(1800));
        assert_eq!(c.catalog_retry, Duration::from_secs(60));
        assert_eq!(c.upstream.base_url, upstream::DEFAULT_BASE_URL);
        assert_eq!(c.sweep_cycles(), 60);
        assert_eq!(c.lobby_watch_cycles(), 120);
        // A standby retries several times per stats cycle.
        assert!(c.lock_retry * 2 < c.stats_interval);
    }

    #[test]
    fn cycle_counts_round_up_and_never_reach_zero() {
        assert_eq!(cycles(Duration::from_secs(90), Duration::from_secs(60)), 2);
        assert_eq!(cycles(Duration::ZERO, Duration::from_secs(60)), 1);
        assert_eq!(cycles(Duration::from_secs(1), Duration::ZERO), 1000);
    }
}
