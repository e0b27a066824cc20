//! Failure bursts: one `warn!` when a cycle kind starts failing, silence while it keeps
//! failing, one `info!` when it recovers; and the jittered backoff between failed cycles.
//!
//! The original poller logged every failed tick (a 14-minute 5xx burst was hundreds of
//! lines) and retried on a fixed delay; here a burst is one line each way. Public so the
//! stream poller (`crates/stream-live`) logs and backs off the same way.

use std::time::{Duration, Instant};

use rand::Rng;

/// What a cycle outcome means for logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to log (still fine, or still failing).
    Quiet,
    /// The first failure of a burst: log it.
    Started { label: String },
    /// The first success after a burst: log how long it lasted.
    Recovered {
        failed_cycles: u64,
        lasted: Duration,
        label: String,
    },
}

/// The failure state of one cycle kind.
#[derive(Debug, Default)]
pub struct Burst {
    failing: Option<Failing>,
}

#[derive(Debug)]
struct Failing {
    since: Instant,
    cycles: u64,
    /// Label of the first error of the burst (later ones may differ; they are not logged).
    label: String,
}

impl Burst {
    pub fn failure(&mut self, label: &str) -> Transition {
        match &mut self.failing {
            Some(failing) => {
                failing.cycles += 1;
                Transition::Quiet
            }
            None => {
                self.failing = Some(Failing {
                    since: Instant::now(),
                    cycles: 1,
                    label: label.to_owned(),
                });
                Transition::Started {
                    label: label.to_owned(),
                }
            }
        }
    }

    pub fn success(&mut self) -> Transition {
        match self.failing.take() {
            Some(f) => Transition::Recovered {
                failed_cycles: f.cycles,
                lasted: f.since.elapsed(),
                label: f.label,
            },
            None => Transition::Quiet,
        }
    }

    /// Failed cycles in a row (0 when the last cycle succeeded).
    pub fn consecutive_failures(&self) -> u64 {
        self.failing.as_ref().map_or(0, |f| f.cycles)
    }
}

/// Delay before the next attempt after `failures` failed cycles in a row:
/// `min(cap, base × 2^(failures-1))`, ±20 % jitter, and never below a server's
/// `Retry-After` hint. With `failures == 0` it is `cap` (the normal cadence, no jitter).
pub fn retry_delay(
    base: Duration,
    cap: Duration,
    failures: u64,
    retry_after: Option<Duration>,
) -> Duration {
    if failures == 0 {
        return cap;
    }
    let exp = u32::try_from(failures - 1).unwrap_or(u32::MAX).min(20);
    let raw = base.saturating_mul(1u32 << exp).min(cap);
    let jitter = rand::thread_rng().gen_range(0.8..=1.2);
    let delay = raw.mul_f64(jitter);
    match retry_after {
        Some(hint) => delay.max(hint),
        None => delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_transition_each_way_per_burst() {
        let mut b = Burst::default();
        assert_eq!(b.success(), Transition::Quiet);
        assert_eq!(
            b.failure("http_503"),
            Transition::Started {
                label: "http_503".into()
            }
        );
        assert_eq!(b.failure("timeout"), Transition::Quiet);
        assert_eq!(b.failure("http_502"), Transition::Quiet);
        assert_eq!(b.consecutive_failures(), 3);
        match b.success() {
            Transition::Recovered {
                failed_cycles,
                label,
                ..
            } => {
                assert_eq!(failed_cycles, 3);
                assert_eq!(label, "http_503");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(b.success(), Transition::Quiet);
        assert_eq!(b.consecutive_failures(), 0);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let base = Duration::from_secs(5);
        let cap = Duration::from_secs(30);
        assert_eq!(retry_delay(base, cap, 0, None), cap);
        for _ in 0..100 {
            let first = retry_delay(base, cap, 1, None);
            assert!(first >= Duration::from_secs(4) && first <= Duration::from_secs(6));
            let third = retry_delay(base, cap, 3, None);
            assert!(third >= Duration::from_secs(16) && third <= Duration::from_secs(24));
            let late = retry_delay(base, cap, 50, None);
            assert!(late >= Duration::from_secs(24) && late <= Duration::from_secs(36));
        }
        let hinted = retry_delay(base, cap, 1, Some(Duration::from_secs(20)));
        assert!(hinted >= Duration::from_secs(20));
    }
}
