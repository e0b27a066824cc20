//! `GET /v1/stream`: server-sent nudges for live-standings clients.
//!
//! - [`Hub`]: one per process; a ring of recent frames (each encoded once, shared by every
//!   subscriber), a cursor per subscriber, one global heartbeat tick. A subscriber that falls
//!   behind the ring gets `resync` and is closed; a slow client never holds the others back.
//! - [`run_feed`]: LISTENs for the projector's NOTIFY and reads `nudge_log` (after every
//!   notification, every second, and after every reconnect), publishing rows in id order,
//!   coalesced ([`coalesce`], [`HubConfig::coalesce_window`]); it also drives the heartbeat
//!   tick, and closes the hub when told to stop.
//! - [`router`] / [`stream()`]: the axum route (`?tournament=SLUG`, `Last-Event-ID`).
//! - [`StallGuard`]: a listener for `axum::serve` whose connections fail when their writes
//!   stop progressing, so a client that stops reading is dropped.
//! - [`LeanListener`]: like [`StallGuard`], but answers `GET /v1/stream` connections itself
//!   with a minimal HTTP/1.1 responder (~2.5 KiB per stream instead of ~20 KiB behind
//!   `axum::serve`, measured with `sse_load`; ~1.7 KiB in the api binary since the direct
//!   writes, measured with `sse_fleet`) and hands every other connection to axum. Its
//!   streams' frames are written by the hub's passes (`direct.rs`), not one task per stream.
//!
//! Stream protocol: `retry: 5000`, then `hello` (`id: H`, `data: {"last_id": H}`), or the
//! missed nudges after a resumable `Last-Event-ID` (hello without `id:` first), or `resync`
//! when it cannot be resumed; then nudges (`id: <nudge id>`, `event: standings|matches|live`,
//! `data: {"polled_at": "…+00:00", "tournament_ids": null | [3, 7]}`) and `: heartbeat`
//! comments; closed after 600 s.
//!
//! Coalescing: with a window (the service's `NUDGE_COALESCE_MILLIS`), the nudges of a window
//! go out together at its end, one per kind, each standing for every `nudge_log` row of its
//! kind in the window: `polled_at` is the newest row's, `tournament_ids` the union of theirs
//! (`null` if any is). Only the last of them that a client receives carries `id:` (the
//! window's newest row id); the others carry none, so the client keeps its previous id until
//! it has the whole window. Ids a client sees still increase, and a resume after any of them
//! replays (coalesced) nudges covering every row after it, whichever replica serves it.
//!
//! Wiring (binary):
//! ```ignore
//! let hub = sse::Hub::new(sse::HubConfig::default());
//! background.spawn(sse::run_feed(pool.clone(), hub.clone(), stop_rx.clone()));
//! let state = sse::StreamState::new(hub.clone(), pool.clone());
//! let app = api_router.merge(sse::router(state.clone()));
//! let listener = sse::LeanListener::new(tcp_listener, state, sse::LeanOptions::default())?;
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(async move { shutdown_signal().await; hub.close() })
//!     .await?;
//! ```

pub mod coalesce;
mod direct;
mod feed;
pub mod frame;
mod http;
mod hub;
mod lean;
pub mod limits;
mod serve;
mod stall;

pub use feed::{run_feed, run_feed_with, FeedOptions};
pub use frame::Nudge;
pub use http::{
    router, stream, ClientFn, RateFn, RateLimited, StreamGate, StreamState, MAX_TOURNAMENTS,
};
pub use hub::{Hub, HubConfig, HubStats, Subscription};
pub use lean::{LeanListener, LeanOptions};
pub use limits::{ConnectionLimits, Connections};
pub use serve::{serve, ServeOptions};
pub use stall::{GuardedStream, StallGuard};
