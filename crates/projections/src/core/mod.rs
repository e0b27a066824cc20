//! The `core` projector: tournaments, owners, creators, rosters, teams, profiles, ratings,
//! rating snapshots, matches, live lobbies, the catalog and stream channels (SQL:
//! `projections/core.sql`).
//!
//! Two ways in, one meaning. [`Projector::apply`] writes one event with a few statements; it is
//! the reference. [`Projector::apply_batch`] (rebuilds, catch-up) folds the batch's observation
//! events (profiles, matches, lobbies) in memory and writes each of their tables with one
//! set-based statement at the end of the batch:
//! - last write wins per key (`players`, `player_ratings`, `matches`, `profile_aliases`, the
//!   `live_match_players` set of a lobby), first write wins for `match_players` (`ON CONFLICT
//!   DO NOTHING`), a `RankObserved` or a rank of a `LadderRanksObserved` only updates a
//!   rating row that exists;
//! - a rating snapshot whenever `(max_rating, current_rating)` differs from the pair before it;
//! - the state a fold depends on (`matches` rows under lobbies, live sets before lobby updates
//!   and ends) is read once, before the batch, for the keys the batch touches; a key's first
//!   rating pair is compared with `player_ratings` in the snapshot insert.
//!
//! Tournament, catalog, operator and stream-channel events are rare and touch other tables: they
//! are applied one by one as they come. The roster is the one link: the tournaments an
//! observation nudges are looked up before the next roster change, so every event is scoped by
//! the roster of its time. If anything fails, the batch is rolled back to a savepoint and
//! replayed one event at a time, which names the failing event (the runner quarantines its
//! aggregate).
//!
//! # Map
//!
//! One module per group of tables; each holds its one-by-one statements and, for observation
//! events, its fold and set-based writes side by side.
//!
//! | module | tables | events |
//! | --- | --- | --- |
//! | `tournaments` | `tournaments`, `tournament_owners`, `tournament_creators`, `tournament_players`, `teams`, `team_members` | `Tournament*`, `Operator*` (one by one only) |
//! | `profiles` | `players`, `player_ratings`, `player_rating_snapshots` | `ProfileObserved`, `RatingObserved`, `RankObserved`, `LadderRanksObserved` |
//! | `matches` | `matches`, `match_players`, `profile_aliases` | `MatchFinished` |
//! | `lobbies` | `live_match_players` (and `matches` rows of open lobbies) | `LiveMatchStarted`, `LiveMatchUpdated`, `LiveMatchEnded` |
//! | `catalog` | `leaderboards`, `civilizations` | `Catalog*` (one by one only) |
//! | `stream_channels` | `stream_links`, `live_streams` | `StreamChannel*` (one by one only); links from tournament events |
//! | `webhooks` | `webhook_subscriptions` | `Webhook*` (one by one only; no nudges) |
//! | `fold` | — | the batch walk, the savepoint, the [`fold::Fold`] state, nudges |
//! | `tests` | — | batched vs one by one on a log that hits every rule |
//!
//! # Adding a new event
//!
//! 1. Its one-by-one statements in its group's module, called from [`apply_one`] below.
//! 2. Rare, or touching tables no fold writes: done — the batch path applies it one by one.
//!    If it changes which tournaments a profile is on, add it to
//!    `tournaments::changes_roster`.
//! 3. Frequent observation: add it to `fold::is_observation` and to `Fold::event`'s dispatch,
//!    and fold it in its module's `impl Fold` with the meaning of step 1 (same keys, same
//!    first or last write wins). If the fold depends on rows written before the batch, read
//!    them once before it, as `Fold::seed_lobbies` does. Write what it folded in the module's
//!    `write_*`, called from `Fold::write`.
//! 4. Put it in `tests.rs`'s log (`seed`), including the cases where the two paths could
//!    differ (repeated keys in one batch, order against roster changes).
//! 5. A new table or column is a new `VERSION` and a line in [`Core::TABLES`].
//! 6. Every write of a `matches` or `profile_aliases` row sets its `position` to the writing
//!    event's log position, in both paths: the api reads only rows past the last position it
//!    saw (`api/src/games.rs`), so a write that leaves it behind is never seen by a cached
//!    tournament.

use domain::matches::MatchEvent;
use domain::AnyEvent;
use sqlx::PgConnection;
use store::RecordedEvent;

use crate::nudge::Nudges;
use crate::runner::{ApplyFuture, BatchFuture, Projector};

mod catalog;
mod fold;
mod lobbies;
mod matches;
mod profiles;
mod stream_channels;
mod tournaments;
mod webhooks;

#[cfg(test)]
mod tests;

pub struct Core;

impl Projector for Core {
    const NAME: &'static str = "core";
    /// 2: no foreign key from `match_players` to `matches` (rebuild speed).
    /// 3: `stream_links` and `live_streams` (stream-live detection).
    /// 4: `webhook_subscriptions` (issue 15).
    /// 5: `position` on `matches` and `profile_aliases` (the api's game cache reads deltas).
    const VERSION: i32 = 5;
    const SCHEMA_SQL: &'static str = include_str!("../../../../projections/core.sql");
    const TABLES: &'static [&'static str] = &[
        "tournaments",
        "tournament_owners",
        "tournament_creators",
        "tournament_players",
        "teams",
        "team_members",
        "players",
        "player_ratings",
        "player_rating_snapshots",
        "profile_aliases",
        "matches",
        "match_players",
        "live_match_players",
        "leaderboards",
        "civilizations",
        "stream_links",
        "live_streams",
        "webhook_subscriptions",
    ];

    fn apply<'a>(
        &'a self,
        db: &'a mut PgConnection,
        event: &'a RecordedEvent,
        decoded: AnyEvent,
        nudges: &'a mut Nudges,
    ) -> ApplyFuture<'a> {
        Box::pin(async move { apply_one(db, event, &decoded, nudges).await })
    }

    fn apply_batch<'a>(
        &'a self,
        db: &'a mut PgConnection,
        events: &'a [(RecordedEvent, AnyEvent)],
        nudges: &'a mut Nudges,
    ) -> BatchFuture<'a> {
        Box::pin(fold::apply_batch(db, events, nudges))
    }
}

/// The reference path: one event, its group's statements.
async fn apply_one(
    db: &mut PgConnection,
    event: &RecordedEvent,
    decoded: &AnyEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    match decoded {
        AnyEvent::Tournament(e) => tournaments::tournament(db, event, e, nudges).await,
        AnyEvent::Profile(e) => profiles::profile(db, event, e, nudges).await,
        AnyEvent::Ladder(e) => profiles::ladder(db, e, nudges).await,
        AnyEvent::Match(MatchEvent::MatchFinished(m)) => {
            matches::finished_match(db, event, m, nudges).await
        }
        AnyEvent::Lobby(e) => lobbies::lobby(db, event, e, nudges).await,
        AnyEvent::Catalog(e) => catalog::catalog(db, event, e, nudges).await,
        AnyEvent::Operator(e) => tournaments::operator(db, event, e).await,
        AnyEvent::StreamChannel(e) => stream_channels::stream_channel(db, event, e, nudges).await,
    }
}

/// Tournaments that have one of `profiles` on their roster.
async fn tournaments_of(db: &mut PgConnection, profiles: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT DISTINCT tournament_id FROM tournament_players WHERE profile_id = ANY($1)",
    )
    .bind(profiles)
    .fetch_all(db)
    .await
}
