//! One request budget shared by every upstream call of a process (all cycles, all clones of
//! a client): at most `requests_per_second` request starts per second and `max_in_flight`
//! requests at once. When the budget is short, a waiter of higher [`Priority`] goes first
//! (first come, first served within a priority).
//!
//! A 429 slows the *whole* budget down (AIMD): the rate is halved (once per round of requests
//! sent before the cut) and nothing is sent until the server's `Retry-After` has passed; the
//! rate then climbs back linearly to its ceiling over `recovery`.
//!
//! The pacing is a small GCRA without burst (each start gets the next free slot, slots
//! `1/rate` apart) rather than the `governor` crate: the rate here changes at run time (AIMD)
//! and waiters are ordered by priority, neither of which a fixed `governor` quota offers.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Who goes first when the budget is short (higher first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// The slow staleness sweep.
    Sweep,
    /// Ordinary cycles (stats round-robin, catalog).
    #[default]
    Normal,
    /// Players in a game or just out of one.
    Hot,
    /// Live lobbies.
    Live,
}

/// Budget settings. `Default` gives the production values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Ceiling of request starts per second (`UPSTREAM_REQUESTS_PER_SECOND`, 10).
    pub requests_per_second: u32,
    /// Requests in flight at once (`UPSTREAM_MAX_IN_FLIGHT`, 4).
    pub max_in_flight: u32,
    /// Time from a 429 rate cut back to the ceiling (`UPSTREAM_BUDGET_RECOVERY_SECONDS`, 60).
    pub recovery: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 10,
            max_in_flight: 4,
            recovery: Duration::from_secs(60),
        }
    }
}

/// The rate never drops below this share of the ceiling: a long 429 storm still lets a
/// trickle through, so the poller notices when it ends.
const FLOOR_SHARE: f64 = 0.1;

/// A pause when a 429 carries no `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

/// A plain copy of the budget's state (metrics, tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetSnapshot {
    /// Requests per second allowed now.
    pub rate: f64,
    pub ceiling: f64,
    pub in_flight: u32,
    /// Calls waiting for a slot.
    pub waiting: usize,
    /// Rate cuts after a 429 so far.
    pub cuts: u64,
    /// Whether sending is paused (a `Retry-After` is running).
    pub paused: bool,
}

/// The shared budget. Use through [`Budget::acquire`].
pub struct Budget {
    config: BudgetConfig,
    state: Mutex<State>,
    /// Woken whenever the head of the queue may have changed or a request finished.
    changed: Notify,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("config", &self.config)
            .field("now", &self.snapshot())
            .finish()
    }
}

struct State {
    /// Waiters ordered by (priority desc, arrival).
    waiting: BTreeSet<(std::cmp::Reverse<Priority>, u64)>,
    next_ticket: u64,
    in_flight: u32,
    /// Earliest start of the next request.
    next_slot: Instant,
    paused_until: Instant,
    /// The last rate cut: when, and the rate it cut to.
    cut: Option<(Instant, f64)>,
    cuts: u64,
}

impl State {
    /// The allowed rate at `now`: the ceiling, or climbing back linearly after a cut.
    fn rate(&self, config: &BudgetConfig, now: Instant) -> f64 {
        let ceiling = f64::from(config.requests_per_second.max(1));
        match self.cut {
            None => ceiling,
            Some((at, cut_to)) => {
                let recovery = config.recovery.as_secs_f64();
                let progress = if recovery <= 0.0 {
                    1.0
                } else {
                    (now.saturating_duration_since(at).as_secs_f64() / recovery).min(1.0)
                };
                cut_to + (ceiling - cut_to) * progress
            }
        }
    }
}

impl Budget {
    pub fn new(config: BudgetConfig) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            config,
            state: Mutex::new(State {
                waiting: BTreeSet::new(),
                next_ticket: 0,
                in_flight: 0,
                next_slot: now,
                paused_until: now,
                cut: None,
                cuts: 0,
            }),
            changed: Notify::new(),
        })
    }

    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Never held across an await; a panic under it leaves plain numbers: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> BudgetSnapshot {
        let now = Instant::now();
        let state = self.lock();
        BudgetSnapshot {
            rate: state.rate(&self.config, now),
            ceiling: f64::from(self.config.requests_per_second.max(1)),
            in_flight: state.in_flight,
            waiting: state.waiting.len(),
            cuts: state.cuts,
            paused: state.paused_until > now,
        }
    }

    /// Waits for room to send one request: first in the queue (by priority, then arrival),
    /// a free in-flight slot, then the start slot the rate allows. `deadline`: give up
    /// (`None`) if no slot was granted by then. Dropping the future leaves the queue cleanly.
    pub async fn acquire(
        self: &Arc<Self>,
        priority: Priority,
        deadline: Option<Instant>,
    ) -> Option<Permit> {
        let key = {
            let mut state = self.lock();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            let key = (std::cmp::Reverse(priority), ticket);
            state.waiting.insert(key);
            key
        };
        let mut queued = Queued {
            budget: self,
            key: Some(key),
        };
        let slot = loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a wake-up between check and await is not lost.
            notified.as_mut().enable();
            if let Some(slot) = self.try_take(key) {
                queued.key = None;
                break slot;
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        // `queued` leaves the queue on drop (and wakes the next waiter).
                        return None;
                    }
                }
                None => notified.await,
            }
        };
        // Built before sleeping, so a cancelled wait frees the in-flight slot.
        let mut permit = Permit {
            budget: self.clone(),
            sent_at: slot,
        };
        let mut slot = slot;
        loop {
            tokio::time::sleep_until(slot).await;
            // A 429 may have paused sending while we waited: take a new slot after the pause
            // (at the new rate), rather than all sending at once when it ends.
            let mut state = self.lock();
            let now = Instant::now();
            if state.paused_until <= now {
                break;
            }
            slot = self.next_slot(&mut state, now);
        }
        permit.sent_at = Instant::now();
        Some(permit)
    }

    /// Takes a start slot if `key` heads the queue and a request may be in flight.
    fn try_take(&self, key: (std::cmp::Reverse<Priority>, u64)) -> Option<Instant> {
        let mut state = self.lock();
        if state.waiting.first() != Some(&key)
            || state.in_flight >= self.config.max_in_flight.max(1)
        {
            return None;
        }
        state.waiting.remove(&key);
        state.in_flight += 1;
        let slot = self.next_slot(&mut state, Instant::now());
        drop(state);
        // The next waiter is now the head: let it check.
        self.changed.notify_waiters();
        Some(slot)
    }

    /// The next free start slot, at the rate allowed then.
    fn next_slot(&self, state: &mut State, now: Instant) -> Instant {
        let slot = now.max(state.next_slot).max(state.paused_until);
        let rate = state.rate(&self.config, slot);
        state.next_slot = slot + Duration::from_secs_f64(1.0 / rate);
        slot
    }

    /// A request sent at `sent_at` was answered 429.
    fn rate_limited(&self, sent_at: Instant, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut state = self.lock();
        let pause = retry_after.unwrap_or(DEFAULT_PAUSE);
        state.paused_until = state.paused_until.max(now + pause);
        // Requests sent before the last cut saw the old rate: one cut per round, not one per
        // 429 of the same burst.
        if state.cut.is_some_and(|(at, _)| sent_at < at) {
            return;
        }
        let ceiling = f64::from(self.config.requests_per_second.max(1));
        let current = state.rate(&self.config, now);
        let cut_to = (current / 2.0).max(ceiling * FLOOR_SHARE);
        state.cut = Some((now, cut_to));
        state.cuts += 1;
        // Slots already promised keep their place; later ones follow the new rate.
    }
}

/// Leaves the queue if the wait is abandoned (deadline, cancelled future).
struct Queued<'a> {
    budget: &'a Budget,
    key: Option<(std::cmp::Reverse<Priority>, u64)>,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.budget.lock().waiting.remove(&key);
            self.budget.changed.notify_waiters();
        }
    }
}

/// Room for one request; hold it until the answer is read. Dropping it frees the slot.
#[must_use]
pub struct Permit {
    budget: Arc<Budget>,
    sent_at: Instant,
}

impl Permit {
    /// The answer was 429: slow the whole budget down.
    pub fn rate_limited(&self, retry_after: Option<Duration>) {
        self.budget.rate_limited(self.sent_at, retry_after);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        {
            let mut state = self.budget.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        self.budget.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real time, lower bounds only: a timer never fires early, so "not before" is exact
    // while "not after" would depend on the machine's load.

    fn budget(rps: u32, in_flight: u32, recovery: Duration) -> Arc<Budget> {
        Budget::new(BudgetConfig {
            requests_per_second: rps,
            max_in_flight: in_flight,
            recovery,
        })
    }

    #[tokio::test]
    async fn starts_are_spaced_by_the_rate() {
        let b = budget(50, 64, Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..5u32 {
            let p = b
                .acquire(Priority::Normal, None)
                .await
                .expect("no deadline");
            assert!(
                p.sent_at - t0 >= Duration::from_millis(20) * i,
                "start {i} too early"
            );
        }
    }

    #[tokio::test]
    async fn a_higher_priority_waiter_goes_first() {
        let b = budget(1000, 1, Duration::from_secs(1));
        let held = b.acquire(Priority::Normal, None).await.expect("first");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for p in [
            Priority::Sweep,
            Priority::Normal,
            Priority::Live,
            Priority::Hot,
        ] {
            let (b2, order) = (b.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _p = b2.acquire(p, None).await;
                order.lock().unwrap().push(p);
            }));
            // Wait until it is queued, so the arrival order is the array order.
            while b.snapshot().waiting < tasks.len() {
                tokio::task::yield_now().await;
            }
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            vec![
                Priority::Live,
                Priority::Hot,
                Priority::Normal,
                Priority::Sweep
            ]
        );
    }

    #[tokio::test]
    async fn a_deadline_gives_up_and_leaves_the_queue() {
        let b = budget(1000, 1, Duration::from_secs(1));
        let held = b.acquire(Priority::Normal, None).await.expect("first");
        let deadline = Instant::now() + Duration::from_millis(30);
        assert!(b.acquire(Priority::Live, Some(deadline)).await.is_none());
        assert_eq!(b.snapshot().waiting, 0);
        assert_eq!(b.snapshot().in_flight, 1, "in flight is bounded");
        drop(held);
        assert_eq!(b.snapshot().in_flight, 0);
    }

    #[tokio::test]
    async fn a_429_halves_the_rate_once_pauses_and_recovers() {
        let b = budget(10, 64, Duration::from_secs(2));
        let p1 = b.acquire(Priority::Normal, None).await.unwrap();
        let p2 = b.acquire(Priority::Normal, None).await.unwrap();
        p1.rate_limited(Some(Duration::from_millis(200)));
        p2.rate_limited(Some(Duration::from_millis(200)));
        let s = b.snapshot();
        assert_eq!((s.cuts, s.paused), (1, true), "one cut per round");
        assert!(s.rate >= 5.0 && s.rate < 6.0, "halved: {}", s.rate);
        let before = Instant::now();
        let p3 = b.acquire(Priority::Live, None).await.unwrap();
        assert!(
            p3.sent_at - before >= Duration::from_millis(190),
            "waited out the pause"
        );
        // p3 was sent after the cut: its 429 cuts again.
        p3.rate_limited(None);
        assert_eq!(b.snapshot().cuts, 2);
        let a = b.snapshot().rate;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(b.snapshot().rate > a, "climbing back");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            (b.snapshot().rate - 10.0).abs() < 1e-9,
            "back at the ceiling"
        );
    }
}
