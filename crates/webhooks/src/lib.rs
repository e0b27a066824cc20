//! Webhook delivery (issue 15): the notifications the `notifications` projector derives from
//! the log, POSTed to each subscription's endpoint at least once, in order per endpoint, as
//! signed generic JSON or as a Discord message (docs/notifications.md).
//!
//! - [`worker`]: the leader-only delivery loop: per-subscription cursor, retries, dead letters.
//! - [`client`]: the SSRF-safe HTTP client (internal addresses refused unless allowlisted,
//!   no redirects, bounded time and response size).
//! - [`sign`]: the `X-Standings-Signature` HMAC; [`discord`]: the Discord rendering;
//!   [`retry`]: backoff with full jitter and `Retry-After`.
//! - [`log`]: the delivery log, replay and lag that routes and the CLI read.
//! - [`metrics`]: counters and gauges the API's `/metrics` encodes.
//!
//! It reads `live.webhook_subscriptions`, `live.notifications` and `webhook_secrets`, and
//! writes only its own tables (`migrations/0006_webhook_delivery.sql`).

pub mod client;
pub mod discord;
pub mod log;
pub mod metrics;
pub mod retry;
pub mod sign;
mod store;
pub mod worker;

pub use domain::webhook_url::UrlPolicy;
pub use metrics::Metrics;
pub use worker::{Deliverer, DeliveryConfig};
