//! What the HTTP edge needs beside the handlers' state: the rate limiter and the metrics.
//! `AppState::new` / `with_cache` give limits off and a fresh registry (tests, benchmarks);
//! the binary builds one from its settings with [`Edge::new`] and `AppState::with_edge`.

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::ratelimit::{RateLimitConfig, RateLimiter};

#[derive(Default)]
pub struct Edge {
    /// `None`: no limits (`RATE_LIMIT_PER_MINUTE=0`, benchmarks).
    pub limiter: Option<Arc<RateLimiter>>,
    pub metrics: Metrics,
}

impl Edge {
    pub fn new(rate_limits: RateLimitConfig) -> Edge {
        let limiter = RateLimiter::new(rate_limits).map(Arc::new);
        let metrics = Metrics::new();
        if let Some(limiter) = &limiter {
            let limiter = limiter.clone();
            metrics.limiter_keys_from(move || limiter.tracked_keys() as u64);
        }
        Edge { limiter, metrics }
    }
}
