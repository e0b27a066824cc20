//! Projectors turn the global event log into read-model tables.
//!
//! Each batch (read-model rows, the projector's checkpoint and the `pg_notify` that tells API
//! replicas what changed) commits in **one transaction**: a nudge never announces uncommitted
//! data, and a crash never loses or doubles an applied event. Projectors read the log
//! themselves (`store::log`), never through cqrs-es `Query` processors, which run after the
//! append's commit and would lose updates on a crash between the two.
//!
//! Invariant: nothing but a projector writes read-model tables; read paths use `live.*` views.

pub mod core;
pub mod notifications;
pub mod nudge;
pub mod quarantine;
pub mod retention;
pub mod runner;
pub mod status;

pub use nudge::{NudgeKind, Nudges};
pub use quarantine::Quarantined;
pub use retention::NudgeRetention;
pub use runner::{Build, ProjectionError, Projector};

/// Compile-time guard: the runner's futures must stay `Send` (spawned by the binary). sqlx's
/// `raw_sql(..).execute(&mut *tx)` form breaks this; call `Executor::execute` instead.
#[cfg(test)]
mod send_check {
    fn is_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    fn runner_futures_are_send(pool: sqlx::PgPool) {
        is_send(crate::runner::catch_up(&pool, &crate::core::Core, 1));
        is_send(crate::runner::promote::<crate::core::Core>(&pool, 1));
        is_send(crate::runner::start_build::<crate::core::Core>(&pool));
    }
}
