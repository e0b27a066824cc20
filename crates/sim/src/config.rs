//! Simulator settings.

use std::time::Duration;

/// Activity preset for benchmarks: about one game per player every ten hours.
pub const ACTIVITY_LOW: f64 = 0.1;
/// Activity preset for benchmarks: about two games per player per hour.
pub const ACTIVITY_HIGH: f64 = 2.0;

/// Largest ladder the generator builds (keeps profile and statgroup id ranges apart).
pub const MAX_PLAYERS: usize = 100_000;

/// Everything that shapes a simulation. Same config (and same sequence of controls) → same
/// payloads, byte for byte.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of the one RNG every random choice draws from.
    pub seed: u64,
    /// Number of ladder players (at least 8, at most [`MAX_PLAYERS`]).
    pub players: usize,
    /// Simulated seconds per real second while the clock runs (0 = only `advance` moves time).
    pub speed: f64,
    /// Start frozen: the clock stops and payloads stay byte-identical between polls.
    pub frozen: bool,
    /// Ranked games per player per hour of simulated time (average over players).
    pub activity: f64,
    /// Custom lobbies kept open at any time (they open and close by themselves).
    pub lobbies: usize,
    /// Finished matches kept per player for `getRecentMatchHistory`.
    pub history_window: usize,
    /// Simulated epoch seconds at the end of the warm-up (when serving starts).
    pub start_time: i64,
    /// Simulated time played before serving, so histories are not empty at start.
    pub warmup: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            players: 200,
            speed: 1.0,
            frozen: false,
            activity: 0.5,
            lobbies: 4,
            history_window: 20,
            // 2026-05-17, the era of the reference's samples.
            start_time: 1_779_000_000,
            warmup: Duration::from_secs(2 * 3600),
        }
    }
}

impl SimConfig {
    /// The same config with nonsense values pulled into range (no error, no panic).
    pub fn normalized(&self) -> Self {
        let finite_non_negative = |v: f64, fallback: f64| {
            if v.is_finite() && v >= 0.0 {
                v
            } else {
                fallback
            }
        };
        Self {
            players: self.players.clamp(8, MAX_PLAYERS),
            speed: finite_non_negative(self.speed, 1.0),
            activity: finite_non_negative(self.activity, 0.5).min(60.0),
            lobbies: self.lobbies.min(10_000),
            history_window: self.history_window.clamp(1, 1000),
            // Keep timestamps positive and far from overflow.
            start_time: self.start_time.clamp(1_000_000_000, 4_000_000_000),
            warmup: self.warmup.min(Duration::from_secs(30 * 24 * 3600)),
            ..self.clone()
        }
    }
}
