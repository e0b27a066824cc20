//! The durable side of live-standings: the event store and its schema.
//!
//! - [`EventStore`] runs commands on aggregates (cqrs-es, plain event-store mode: its snapshot
//!   modes apply new events twice) and retries optimistic-concurrency conflicts. Its repository
//!   (`repository.rs`, postgres-es's table and queries) refuses any event that would not read
//!   back as PostgreSQL returns it ([`Unstorable`]) and reports a stored event that does not
//!   decode as an error ([`Unreadable`]), never a panic.
//! - [`log`] reads the global log gap-safely: every committed event exactly once, in a stable
//!   order, even when appends commit out of position order.
//! - [`repair`] registers an operator's replacement payload for one stored event (the log
//!   itself is never changed); [`log`] readers read it instead.
//! - [`transfer`] exports a tournament's events as JSON Lines and imports them elsewhere
//!   (through the repository's round-trip check, idempotently).
//! - [`webhook_secrets`]: webhook signing secrets, kept beside the log (never in it).
//! - [`migrate`] applies `migrations/` (the event store, checkpoints, id sequences). Those tables
//!   are never dropped; read models live in `projections/` and are rebuilt from events.
//!
//! Invariant: nothing here writes read-model tables.

mod event_store;
pub mod ids;
pub mod log;
pub mod repair;
mod repository;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod transfer;
pub mod webhook_secrets;

pub use event_store::{CommandError, EventStore};
pub use log::{LogPosition, RecordedEvent};
pub use repository::{Unreadable, Unstorable};

use sqlx::PgPool;

/// The durable schema, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Applies pending migrations (under sqlx's advisory lock, so concurrent starts are safe).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
