//! [`SimHandle`]: the shared, thread-safe simulator (ladder + clock + faults + counters).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::SimConfig;
use crate::faults::{
    ActiveFaults, Control, Endpoint, FaultState, FaultWindow, LatencyControl, Outcome, Plan,
    RateLimitWindow, RenameWindow, RequestCounters, ResultCodeWindow, TimeoutWindow,
};
use crate::ladder::{Ladder, MatchSpec, SimError};
use crate::model::{LadderStats, Lobby, MatchRecord, Player};
use crate::payloads;
use crate::traffic::Traffic;

/// Most simulated time one sync plays; beyond it the clock skips ahead instead.
const MAX_CATCH_UP_MS: i64 = 24 * 3600 * 1000;

/// The real-time clock that drives simulated time.
#[derive(Debug)]
struct Clock {
    speed: f64,
    frozen: bool,
    anchor_real: Instant,
    anchor_sim_ms: i64,
}

#[derive(Debug)]
struct Inner {
    config: SimConfig,
    clock: Mutex<Clock>,
    ladder: Mutex<Ladder>,
    faults: Mutex<FaultState>,
    counters: Mutex<RequestCounters>,
    traffic: Mutex<Traffic>,
    catalog: Vec<u8>,
}

/// Cheap to clone; every clone controls the same simulation.
///
/// Lock order: clock, then ladder. Faults and counters are independent.
#[derive(Debug, Clone)]
pub struct SimHandle {
    inner: Arc<Inner>,
}

/// A poisoned lock only means another thread panicked mid-update; the data is still usable
/// for a simulator, and refusing to serve would turn one bug into many.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `GET /sim/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// Simulated epoch seconds.
    pub now: i64,
    pub speed: f64,
    pub frozen: bool,
    pub players: usize,
    pub open_lobbies: usize,
    pub ongoing_matches: usize,
    /// Ranked games finished since the simulation was built (warm-up included).
    pub matches_played: u64,
    /// Bumped by every observable ladder change.
    pub version: u64,
    pub faults: ActiveFaults,
    pub requests: RequestCounters,
}

impl SimHandle {
    /// Build the ladder (and play its warm-up).
    pub fn new(config: SimConfig) -> Self {
        let config = config.normalized();
        let ladder = Ladder::new(&config);
        let clock = Clock {
            speed: config.speed,
            frozen: config.frozen,
            anchor_real: Instant::now(),
            anchor_sim_ms: ladder.now_ms(),
        };
        Self {
            inner: Arc::new(Inner {
                clock: Mutex::new(clock),
                ladder: Mutex::new(ladder),
                faults: Mutex::new(FaultState::default()),
                counters: Mutex::new(RequestCounters::default()),
                traffic: Mutex::new(Traffic::default()),
                catalog: payloads::catalog(),
                config,
            }),
        }
    }

    /// The (normalized) config the simulation was built from.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    // ------------------------------------------------------------------ time

    /// Catch simulated time up with the real clock (no-op when frozen or at speed 0).
    /// Every request does this first; a background ticker does it while serving.
    pub fn sync(&self) {
        let mut clock = lock(&self.inner.clock);
        self.sync_locked(&mut clock);
    }

    fn sync_locked(&self, clock: &mut Clock) {
        if clock.frozen || clock.speed <= 0.0 {
            return;
        }
        let elapsed_ms = clock.anchor_real.elapsed().as_secs_f64() * 1000.0 * clock.speed;
        let target = clock
            .anchor_sim_ms
            .saturating_add(elapsed_ms.min(i64::MAX as f64 / 2.0) as i64);
        let mut ladder = lock(&self.inner.ladder);
        let limit = ladder.now_ms().saturating_add(MAX_CATCH_UP_MS);
        if target > limit {
            // Too far behind (huge speed, or a long stall): drop the excess rather than
            // simulate for ages under the lock; the clock restarts from here.
            ladder.advance_to_ms(limit);
            clock.anchor_real = Instant::now();
            clock.anchor_sim_ms = limit;
        } else {
            ladder.advance_to_ms(target);
        }
    }

    /// Sync, run `f` on the clock, then restart the clock from the ladder's time.
    fn with_clock<R>(&self, f: impl FnOnce(&mut Clock, &mut Ladder) -> R) -> R {
        let mut clock = lock(&self.inner.clock);
        self.sync_locked(&mut clock);
        let mut ladder = lock(&self.inner.ladder);
        let out = f(&mut clock, &mut ladder);
        clock.anchor_real = Instant::now();
        clock.anchor_sim_ms = ladder.now_ms();
        out
    }

    /// Stop (or restart) the clock. Explicit controls (`advance`, `play_match`, lobbies)
    /// still apply while frozen; nothing else changes.
    pub fn set_frozen(&self, frozen: bool) {
        self.with_clock(|clock, _| clock.frozen = frozen);
    }

    /// Simulated seconds per real second (negative/NaN → 0).
    pub fn set_speed(&self, speed: f64) {
        let speed = if speed.is_finite() {
            speed.max(0.0)
        } else {
            0.0
        };
        self.with_clock(|clock, _| clock.speed = speed);
    }

    /// Play `dt` of simulated time now, frozen or not.
    pub fn advance(&self, dt: Duration) {
        self.with_clock(|_, ladder| ladder.advance(dt));
    }

    /// Current simulated time (epoch seconds), after syncing.
    pub fn now(&self) -> i64 {
        self.with_ladder(|l| l.now())
    }

    // ------------------------------------------------------------------ ladder access

    /// Run `f` on the synced ladder (for reads the handle does not wrap).
    pub fn with_ladder<R>(&self, f: impl FnOnce(&mut Ladder) -> R) -> R {
        let mut clock = lock(&self.inner.clock);
        self.sync_locked(&mut clock);
        let mut ladder = lock(&self.inner.ladder);
        drop(clock);
        f(&mut ladder)
    }

    /// The first `n` profile ids, in a stable order (for tournament rosters).
    pub fn roster(&self, n: usize) -> Vec<i64> {
        lock(&self.inner.ladder).roster(n)
    }

    pub fn player(&self, profile_id: i64) -> Option<Player> {
        self.with_ladder(|l| l.player(profile_id).cloned())
    }

    /// Current stats of a player on a leaderboard (`None`: no row).
    pub fn stats(&self, profile_id: i64, leaderboard_id: i64) -> Option<LadderStats> {
        self.with_ladder(|l| l.stats(profile_id, leaderboard_id).cloned())
    }

    /// Recent matches of a player, newest first.
    pub fn history(&self, profile_id: i64) -> Vec<Arc<MatchRecord>> {
        self.with_ladder(|l| l.history(profile_id))
    }

    pub fn lobbies(&self) -> Vec<Lobby> {
        self.with_ladder(|l| l.lobbies().cloned().collect())
    }

    /// Force a game that ends now; returns its match id.
    pub fn play_match(&self, spec: &MatchSpec) -> Result<i64, SimError> {
        self.with_clock(|_, l| l.play_match(spec))
    }

    /// Force a 1v1 Random Map game won by `winner` against `loser`.
    pub fn play_1v1(&self, winner: i64, loser: i64) -> Result<i64, SimError> {
        self.play_match(&MatchSpec::one_v_one(winner, loser, 0))
    }

    /// Open a lobby that stays until [`SimHandle::close_lobby`].
    pub fn open_lobby(&self, members: &[i64]) -> Result<i64, SimError> {
        self.with_clock(|_, l| l.open_lobby(members))
    }

    pub fn close_lobby(&self, lobby_id: i64) -> bool {
        self.with_clock(|_, l| l.close_lobby(lobby_id))
    }

    // ------------------------------------------------------------------ faults

    /// Apply a control (the `POST /sim/control` body). Invalid fault specs change nothing.
    pub fn control(&self, c: &Control) -> Result<SimState, SimError> {
        if let Some(speed) = c.speed {
            if !speed.is_finite() || speed < 0.0 {
                return Err(SimError::InvalidControl(
                    "speed must be a finite number >= 0".into(),
                ));
            }
        }
        let now = Instant::now();
        {
            // Validate the fault part first so a bad request changes nothing at all.
            let mut scratch = FaultState::default();
            scratch.apply(c, now)?;
        }
        if c.reset_counters {
            *lock(&self.inner.counters) = RequestCounters::default();
        }
        if c.clear_faults {
            lock(&self.inner.faults).clear();
        }
        if c.speed.is_some() || c.frozen.is_some() || c.advance_ms.is_some() {
            self.with_clock(|clock, ladder| {
                if let Some(speed) = c.speed {
                    clock.speed = speed;
                }
                if let Some(frozen) = c.frozen {
                    clock.frozen = frozen;
                }
                if let Some(ms) = c.advance_ms {
                    ladder.advance(Duration::from_millis(ms));
                }
            });
        }
        lock(&self.inner.faults).apply(c, now)?;
        Ok(self.state())
    }

    fn fault(&self, c: Control) {
        // Controls built by the helpers below are always valid.
        let _ = self.control(&c);
    }

    /// Added delay on every community response until changed (`Duration::ZERO` = off).
    pub fn set_latency(&self, latency: Duration) {
        self.fault(Control {
            latency: Some(LatencyControl {
                ms: millis(latency),
                duration_ms: None,
            }),
            ..Control::default()
        });
    }

    /// 502/503/504 on every community path for `d`.
    pub fn server_errors_for(&self, d: Duration) {
        self.fault(Control {
            server_errors: Some(window(d)),
            ..Control::default()
        });
    }

    /// Requests hang until the window ends (at most 30 s), then get a 504.
    pub fn timeouts_for(&self, d: Duration) {
        self.fault(Control {
            timeouts: Some(TimeoutWindow {
                duration_ms: millis(d),
                ..TimeoutWindow::default()
            }),
            ..Control::default()
        });
    }

    /// 429 for `d`, with `Retry-After: <secs>` when given.
    pub fn rate_limit_for(&self, d: Duration, retry_after_secs: Option<u64>) {
        self.fault(Control {
            rate_limit: Some(RateLimitWindow {
                duration_ms: millis(d),
                endpoints: None,
                retry_after_secs,
            }),
            ..Control::default()
        });
    }

    /// HTTP 200 with a truncated (invalid) JSON body for `d`.
    pub fn malformed_for(&self, d: Duration) {
        self.fault(Control {
            malformed: Some(window(d)),
            ..Control::default()
        });
    }

    /// HTTP 200 with each endpoint's main key renamed for `d` (see
    /// [`Endpoint::default_rename`]).
    pub fn rename_key_for(&self, d: Duration) {
        self.fault(Control {
            rename_key: Some(RenameWindow {
                duration_ms: millis(d),
                ..RenameWindow::default()
            }),
            ..Control::default()
        });
    }

    /// HTTP 200 with `result.code = -1` and no data arrays for `d`.
    pub fn result_code_for(&self, d: Duration) {
        self.fault(Control {
            result_code: Some(ResultCodeWindow {
                duration_ms: millis(d),
                ..ResultCodeWindow::default()
            }),
            ..Control::default()
        });
    }

    /// End every fault window and the added latency now.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    pub(crate) fn plan(&self, endpoint: Endpoint) -> Plan {
        lock(&self.inner.faults).plan(endpoint, Instant::now())
    }

    // ------------------------------------------------------------------ counters, state

    pub fn counters(&self) -> RequestCounters {
        lock(&self.inner.counters).clone()
    }

    /// Arrival times and concurrency of community requests since the last reset.
    pub fn traffic(&self) -> Traffic {
        lock(&self.inner.traffic).clone()
    }

    /// Reads the traffic log in place (a clone of a long log is costly).
    pub fn with_traffic<R>(&self, f: impl FnOnce(&Traffic) -> R) -> R {
        f(&lock(&self.inner.traffic))
    }

    pub(crate) fn asked_for(&self, ids: &[i64]) {
        lock(&self.inner.traffic).asked_for(ids);
    }

    pub(crate) fn served_stats(&self, ids: &[i64]) {
        lock(&self.inner.traffic).served_stats(ids);
    }

    pub(crate) fn arrive(&self, endpoint: Endpoint) {
        lock(&self.inner.traffic).arrive(endpoint);
    }

    pub(crate) fn leave(&self) {
        lock(&self.inner.traffic).leave();
    }

    pub fn reset_counters(&self) {
        lock(&self.inner.traffic).reset();
        *lock(&self.inner.counters) = RequestCounters::default();
    }

    pub(crate) fn record(&self, endpoint: Endpoint, outcome: Outcome) {
        lock(&self.inner.counters).record(endpoint, outcome);
    }

    pub(crate) fn record_not_found(&self) {
        lock(&self.inner.counters).not_found += 1;
    }

    pub fn state(&self) -> SimState {
        let (speed, frozen) = {
            let clock = lock(&self.inner.clock);
            (clock.speed, clock.frozen)
        };
        let mut state = self.with_ladder(|l| SimState {
            now: l.now(),
            speed,
            frozen,
            players: l.players().len(),
            open_lobbies: l.lobbies().count(),
            ongoing_matches: l.ongoing_matches(),
            matches_played: l.matches_played(),
            version: l.version(),
            faults: ActiveFaults::default(),
            requests: RequestCounters::default(),
        });
        state.faults = lock(&self.inner.faults).snapshot(Instant::now());
        state.requests = self.counters();
        state
    }

    pub(crate) fn catalog_body(&self) -> Vec<u8> {
        self.inner.catalog.clone()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn window(d: Duration) -> FaultWindow {
    FaultWindow {
        duration_ms: millis(d),
        endpoints: None,
    }
}
