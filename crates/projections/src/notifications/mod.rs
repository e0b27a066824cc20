//! The `notifications` projector: derives webhook notifications from the log (SQL:
//! `projections/notifications.sql`; kinds and bodies: docs/notifications.md). Its one exposed
//! table, `live.notifications`, is the outbox the delivery worker (`crates/webhooks`) reads per
//! subscription, by `(position, ordinal)`.
//!
//! **Deterministic.** Every notification is a function of the log up to its event: the id is
//! `n-<position>-<kind>-<tournament>[-<subject>]`, the body is built only from event payloads
//! and the projector's own state (never the clock, never another projector's tables), and every
//! iteration that orders output is over sorted keys. A rebuild reproduces the table exactly.
//!
//! **One path.** `model` is pure: [`db::load`] fetches what a batch's events name (tournament
//! states, the roster index, ratings, lobbies), `Model::apply` derives event by event in log
//! order, and [`db::flush`] writes back. `apply` runs it on a batch of one, `apply_batch` on
//! the whole batch; if the batch fails, it is rolled back to a savepoint and replayed one event at
//! a time, which names the failing event (as `core` does).
//!
//! | module | what |
//! | --- | --- |
//! | `model` | per-tournament state and what each event derives |
//! | `body` | kinds, ids and the generic JSON bodies |
//! | `db` | load and flush the state tables, insert the notifications |

use domain::AnyEvent;
use sqlx::{Executor, PgConnection};
use store::RecordedEvent;

use crate::nudge::Nudges;
use crate::runner::{ApplyFuture, BatchError, BatchFuture, Projector};

pub mod body;
mod db;
pub mod model;

pub use body::Kind;
pub use model::STREAK_MILESTONES;

/// NOTIFYed (in the batch transaction, so at commit) when a batch wrote notifications: the
/// webhook worker wakes on it instead of waiting for its sweep.
pub const CHANNEL: &str = "standings_notifications";

pub struct Notifications;

impl Projector for Notifications {
    const NAME: &'static str = "notifications";
    const VERSION: i32 = 1;
    const SCHEMA_SQL: &'static str = include_str!("../../../../projections/notifications.sql");
    const TABLES: &'static [&'static str] = &["notifications"];

    fn apply<'a>(
        &'a self,
        db: &'a mut PgConnection,
        event: &'a RecordedEvent,
        decoded: AnyEvent,
        _nudges: &'a mut Nudges,
    ) -> ApplyFuture<'a> {
        Box::pin(async move { derive(db, &[(event, &decoded)]).await })
    }

    fn apply_batch<'a>(
        &'a self,
        db: &'a mut PgConnection,
        events: &'a [(RecordedEvent, AnyEvent)],
        _nudges: &'a mut Nudges,
    ) -> BatchFuture<'a> {
        Box::pin(apply_batch(db, events))
    }
}

/// Load, derive in log order, write back.
async fn derive(db: &mut PgConnection, events: &[(&RecordedEvent, &AnyEvent)]) -> sqlx::Result<()> {
    let mut model = db::load(db, events).await?;
    for (event, decoded) in events {
        model.apply(event, decoded);
    }
    db::flush(db, &model).await
}

async fn apply_batch(
    db: &mut PgConnection,
    events: &[(RecordedEvent, AnyEvent)],
) -> Result<(), BatchError> {
    let at_first = |error| BatchError { index: 0, error };
    let all: Vec<(&RecordedEvent, &AnyEvent)> = events.iter().map(|(e, d)| (e, d)).collect();
    db.execute("SAVEPOINT notifications_batch")
        .await
        .map_err(at_first)?;
    if let Err(error) = derive(db, &all).await {
        db.execute("ROLLBACK TO SAVEPOINT notifications_batch")
            .await
            .map_err(at_first)?;
        for (index, one) in all.iter().enumerate() {
            derive(db, std::slice::from_ref(one))
                .await
                .map_err(|error| BatchError { index, error })?;
        }
        tracing::warn!(%error, "notifications: the batch failed but its events apply one by one");
    }
    db.execute("RELEASE SAVEPOINT notifications_batch")
        .await
        .map_err(at_first)?;
    Ok(())
}
