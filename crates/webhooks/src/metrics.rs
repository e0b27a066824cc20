//! The worker's metrics, encoded into the API's `/metrics` at scrape time (the api crate
//! calls [`Metrics::encode`]; this crate does not depend on it):
//! `standings_webhook_deliveries_total{outcome}` (delivered | failed | dead_lettered),
//! `standings_webhook_delivery_duration_seconds` (request time of every attempt),
//! `standings_webhook_pending_notifications` and `standings_webhook_lag_seconds` (what the
//! subscriptions have not handled yet, summed, and the oldest one's age, as of the last sweep).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Cheap to clone; clones share the values.
#[derive(Clone)]
pub struct Metrics {
    deliveries: Family<OutcomeLabels, Counter>,
    latency: Histogram,
    pending: Arc<AtomicI64>,
    /// Lag in milliseconds.
    lag_ms: Arc<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            deliveries: Family::default(),
            // 5 ms .. ~20 s
            latency: Histogram::new(exponential_buckets(0.005, 2.0, 13)),
            pending: Arc::default(),
            lag_ms: Arc::default(),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("webhooks::Metrics")
    }
}

impl Metrics {
    pub(crate) fn attempt(&self, outcome: &'static str, seconds: Option<f64>) {
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        if let Some(seconds) = seconds {
            self.latency.observe(seconds);
        }
    }

    pub(crate) fn lag(&self, pending: i64, lag_seconds: f64) {
        self.pending.store(pending, Ordering::Relaxed);
        self.lag_ms
            .store((lag_seconds.max(0.0) * 1000.0) as u64, Ordering::Relaxed);
    }

    /// Deliveries counted so far with `outcome` (tests, bench).
    pub fn count(&self, outcome: &'static str) -> u64 {
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .get()
    }

    /// Writes the metrics into a scrape (names get the registry's `standings_` prefix).
    pub fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.deliveries.encode(encoder.encode_descriptor(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, failed, dead_lettered)",
            None,
            self.deliveries.metric_type(),
        )?)?;
        self.latency.encode(encoder.encode_descriptor(
            "webhook_delivery_duration_seconds",
            "Time of each webhook delivery attempt that reached the endpoint",
            None,
            self.latency.metric_type(),
        )?)?;
        let pending = ConstGauge::new(self.pending.load(Ordering::Relaxed));
        pending.encode(encoder.encode_descriptor(
            "webhook_pending_notifications",
            "Notifications the webhook subscriptions have not handled yet (last sweep)",
            None,
            pending.metric_type(),
        )?)?;
        let lag = ConstGauge::new(self.lag_ms.load(Ordering::Relaxed) as f64 / 1000.0);
        lag.encode(encoder.encode_descriptor(
            "webhook_lag_seconds",
            "Age of the oldest notification not handled yet (last sweep)",
            None,
            lag.metric_type(),
        )?)
    }
}
