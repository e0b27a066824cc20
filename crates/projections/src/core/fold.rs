//! The batch machinery behind [`Projector::apply_batch`](crate::runner::Projector::apply_batch)
//! (rebuilds, catch-up): the savepoint and the one-by-one replay on failure, the walk of a batch
//! in log order, the [`Fold`] state every table group folds into, and the nudges of what was
//! folded. What an event does to its tables lives in the table groups' modules, next to its
//! one-by-one statements.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::matches::{MatchEvent, MatchPlayer};
use domain::profile::ProfileIdentity;
use domain::AnyEvent;
use sqlx::{Executor, PgConnection};
use store::RecordedEvent;

use super::apply_one;
use super::matches::MatchRow;
use super::profiles::{RatingWrite, Snapshot};
use super::tournaments::changes_roster;
use crate::nudge::{NudgeKind, Nudges};
use crate::runner::BatchError;

/// Batches with fewer observation events are applied one event at a time: the set-based path
/// costs a few fixed round trips (savepoint, seeds, one statement per table).
const MIN_BATCH: usize = 4;

fn is_observation(e: &AnyEvent) -> bool {
    matches!(
        e,
        AnyEvent::Profile(_) | AnyEvent::Ladder(_) | AnyEvent::Match(_) | AnyEvent::Lobby(_)
    )
}

async fn one_by_one(
    db: &mut PgConnection,
    events: &[(RecordedEvent, AnyEvent)],
    nudges: &mut Nudges,
) -> Result<(), BatchError> {
    for (index, (event, decoded)) in events.iter().enumerate() {
        apply_one(db, event, decoded, nudges)
            .await
            .map_err(|error| BatchError { index, error })?;
    }
    Ok(())
}

pub(super) async fn apply_batch(
    db: &mut PgConnection,
    events: &[(RecordedEvent, AnyEvent)],
    nudges: &mut Nudges,
) -> Result<(), BatchError> {
    if events.iter().filter(|(_, e)| is_observation(e)).count() < MIN_BATCH {
        return one_by_one(db, events, nudges).await;
    }
    let at_first = |error| BatchError { index: 0, error };
    db.execute("SAVEPOINT core_batch").await.map_err(at_first)?;
    let mut touched = Nudges::default();
    match batched(db, events, &mut touched).await {
        Ok(()) => {
            nudges.kinds.extend(touched.kinds);
            nudges.tournament_ids.extend(touched.tournament_ids);
            nudges.everyone |= touched.everyone;
        }
        Err(error) => {
            // A set-based statement cannot say which event it choked on: replay the batch
            // one event at a time, which stops at the culprit (and its aggregate is quarantined).
            db.execute("ROLLBACK TO SAVEPOINT core_batch")
                .await
                .map_err(at_first)?;
            one_by_one(db, events, nudges).await?;
            tracing::warn!(
                %error,
                from = events[0].0.log_position.position,
                to = events[events.len() - 1].0.log_position.position,
                "core: the batched path failed but the events apply one by one"
            );
        }
    }
    db.execute("RELEASE SAVEPOINT core_batch")
        .await
        .map_err(at_first)?;
    Ok(())
}

/// The batch in log order: observation events are folded in memory (from the state of their
/// tables before the batch, which nothing else writes) and written at the end with one
/// statement per table; the others are applied as they come. Only the roster links the two:
/// the tournaments an observation nudges are looked up before the next roster change.
async fn batched(
    db: &mut PgConnection,
    events: &[(RecordedEvent, AnyEvent)],
    touched: &mut Nudges,
) -> sqlx::Result<()> {
    let mut fold = Fold::default();
    fold.seed_lobbies(db, events).await?;
    for (event, decoded) in events {
        if is_observation(decoded) {
            fold.event(event, decoded)?;
            continue;
        }
        if changes_roster(decoded) {
            fold.nudge(db, touched).await?;
        }
        apply_one(db, event, decoded, touched).await?;
    }
    fold.nudge(db, touched).await?;
    fold.write(db).await
}

/// Everything the observation events of a batch write, folded in log order.
///
/// Lookups by key (`persistent(false)`) are planned at each call: a plan cached while a new
/// build's tables were small keeps scanning them whole as they grow (autoanalyze does not
/// come round during a rebuild). Inserts from `unnest` have nothing to plan.
#[derive(Default)]
pub(super) struct Fold<'a> {
    // profiles.rs
    pub(super) players: HashMap<i64, (&'a ProfileIdentity, DateTime<Utc>)>,
    /// The last `(max_rating, current_rating)` per key seen in the batch.
    pub(super) pairs: HashMap<(i64, i64), (i64, i64)>,
    pub(super) ratings: HashMap<(i64, i64), RatingWrite<'a>>,
    pub(super) snapshots: Vec<Snapshot>,
    // matches.rs and lobbies.rs
    /// `matches` rows as they stand (seeded for lobbies; `None` = no row).
    pub(super) matches: HashMap<i64, Option<MatchRow>>,
    pub(super) matches_dirty: HashSet<i64>,
    /// First write wins (`ON CONFLICT DO NOTHING`).
    pub(super) match_players: Vec<(i64, &'a MatchPlayer)>,
    pub(super) match_players_seen: HashSet<(i64, i64)>,
    /// Alias, `updated_at` and log position of the last write per profile.
    pub(super) aliases: HashMap<i64, (&'a str, DateTime<Utc>, i64)>,
    // lobbies.rs (and a finished match, which ends its lobby)
    /// `live_match_players` sets as they stand (seeded for lobby updates and ends).
    pub(super) live: HashMap<i64, Vec<i64>>,
    pub(super) live_touched: HashSet<i64>,
    // Every group: see `nudge`.
    /// Profiles whose tournaments to nudge, per kind.
    pub(super) standings: Vec<i64>,
    pub(super) matches_scope: Vec<i64>,
    pub(super) live_scope: Vec<i64>,
}

impl<'a> Fold<'a> {
    /// Folds one observation event, with the meaning of its one-by-one statements.
    fn event(&mut self, event: &'a RecordedEvent, decoded: &'a AnyEvent) -> sqlx::Result<()> {
        match decoded {
            AnyEvent::Profile(e) => self.profile(event, e),
            AnyEvent::Ladder(e) => self.ladder(e),
            AnyEvent::Match(MatchEvent::MatchFinished(m)) => self.finished_match(event, m),
            AnyEvent::Lobby(e) => self.lobby(event, e)?,
            AnyEvent::Tournament(_)
            | AnyEvent::Catalog(_)
            | AnyEvent::Operator(_)
            | AnyEvent::StreamChannel(_) => {
                return Err(sqlx::Error::Protocol(
                    "core: not an observation event".into(),
                ));
            }
        }
        Ok(())
    }

    async fn write(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        self.write_matches(db).await?;
        self.write_live(db).await?;
        self.write_profiles(db).await?;
        self.write_ratings(db).await
    }

    /// Nudges for the observations folded since the last call: the tournaments of the
    /// profiles they touched, per kind, as the roster stands now. Called before every roster
    /// change and at the end, so each observation is scoped by the roster of its time.
    async fn nudge(&mut self, db: &mut PgConnection, touched: &mut Nudges) -> sqlx::Result<()> {
        let standings = std::mem::take(&mut self.standings);
        let matches = std::mem::take(&mut self.matches_scope);
        let live = std::mem::take(&mut self.live_scope);
        let mut all: Vec<i64> = standings
            .iter()
            .chain(&matches)
            .chain(&live)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        if all.is_empty() {
            return Ok(());
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT DISTINCT profile_id, tournament_id FROM tournament_players
              WHERE profile_id = ANY($1)",
        )
        .bind(&all)
        .fetch_all(&mut *db)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut of: HashMap<i64, Vec<i64>> = HashMap::new();
        for (profile, tournament) in rows {
            of.entry(profile).or_default().push(tournament);
        }
        for (kind, profiles) in [
            (NudgeKind::Standings, &standings),
            (NudgeKind::Matches, &matches),
            (NudgeKind::Live, &live),
        ] {
            touched.touch(
                kind,
                profiles.iter().filter_map(|p| of.get(p)).flatten().copied(),
            );
        }
        Ok(())
    }
}
