//! Matches: `matches`, `match_players` and `profile_aliases`, from `MatchFinished`. Lobbies
//! write `matches` rows too (see [`super::lobbies`]); a finished match clears its lobby's
//! `live_match_players` set.
//!
//! One by one ([`finished_match`]): the match row is upserted (last write wins), its players are
//! inserted once (`ON CONFLICT DO NOTHING`: first write wins), a non-blank alias is upserted.
//!
//! Batched ([`Fold::finished_match`], then [`Fold::write_matches`]): the same rules folded per
//! key in memory, one statement per table at the end of the batch.

use chrono::{DateTime, Utc};
use domain::matches::{FinishedMatch, MatchPlayer, Outcome};
use sqlx::PgConnection;
use store::RecordedEvent;

use super::fold::Fold;
use super::tournaments_of;
use crate::nudge::{NudgeKind, Nudges};

/// The `state` of a finished match's row, in both paths.
fn match_state(m: &FinishedMatch) -> &'static str {
    if m.completed_at.is_some() {
        "completed"
    } else {
        "in_progress"
    }
}

/// The alias a player row records in `profile_aliases`, in both paths: blank ones are not.
fn alias_of(p: &MatchPlayer) -> Option<&str> {
    p.alias.as_deref().filter(|a| !a.trim().is_empty())
}

fn outcome(o: Option<Outcome>) -> Option<&'static str> {
    o.map(|o| match o {
        Outcome::Win => "win",
        Outcome::Loss => "loss",
    })
}

pub(super) async fn finished_match(
    db: &mut PgConnection,
    event: &RecordedEvent,
    m: &FinishedMatch,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let state = match_state(m);
    sqlx::query(
        "INSERT INTO matches (match_id, map_name, matchtype_id, leaderboard_id, started_at,
                              completed_at, description, state, updated_at, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (match_id) DO UPDATE SET
            map_name = excluded.map_name, matchtype_id = excluded.matchtype_id,
            leaderboard_id = excluded.leaderboard_id, started_at = excluded.started_at,
            completed_at = excluded.completed_at, description = excluded.description,
            state = excluded.state, updated_at = excluded.updated_at,
            position = excluded.position",
    )
    .bind(m.match_id)
    .bind(&m.map_name)
    .bind(m.matchtype_id)
    .bind(m.leaderboard_id)
    .bind(m.started_at)
    .bind(m.completed_at)
    .bind(&m.description)
    .bind(state)
    .bind(event.recorded_at)
    .bind(event.log_position.position)
    .execute(&mut *db)
    .await?;
    // A played lobby is no longer live.
    sqlx::query("DELETE FROM live_match_players WHERE match_id = $1")
        .bind(m.match_id)
        .execute(&mut *db)
        .await?;
    let mut profiles = Vec::with_capacity(m.players.len());
    for p in &m.players {
        profiles.push(p.profile_id);
        sqlx::query(
            "INSERT INTO match_players (match_id, profile_id, civilization_id, team_id, outcome,
                                        old_rating, new_rating, xp_gained)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(m.match_id)
        .bind(p.profile_id)
        .bind(p.civilization_id)
        .bind(p.team_id)
        .bind(outcome(p.outcome))
        .bind(p.old_rating)
        .bind(p.new_rating)
        .bind(p.xp_gained)
        .execute(&mut *db)
        .await?;
        if let Some(alias) = alias_of(p) {
            sqlx::query(
                "INSERT INTO profile_aliases (profile_id, alias, updated_at, position)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (profile_id) DO UPDATE SET alias = excluded.alias,
                                                        updated_at = excluded.updated_at,
                                                        position = excluded.position",
            )
            .bind(p.profile_id)
            .bind(alias)
            .bind(event.recorded_at)
            .bind(event.log_position.position)
            .execute(&mut *db)
            .await?;
        }
    }
    let scope = tournaments_of(db, &profiles).await?;
    nudges.touch(NudgeKind::Matches, scope.iter().copied());
    nudges.touch(NudgeKind::Standings, scope.iter().copied());
    nudges.touch(NudgeKind::Live, scope);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The batch path.

/// A `matches` row.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct MatchRow {
    pub(super) map_name: String,
    pub(super) matchtype_id: i64,
    pub(super) leaderboard_id: Option<i64>,
    pub(super) started_at: DateTime<Utc>,
    pub(super) completed_at: Option<DateTime<Utc>>,
    pub(super) description: Option<String>,
    pub(super) state: String,
    pub(super) updated_at: DateTime<Utc>,
    /// The log position of the event that last wrote the row.
    pub(super) position: i64,
}

pub(super) type MatchTuple = (
    i64,
    String,
    i64,
    Option<i64>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
    String,
    DateTime<Utc>,
    i64,
);

impl<'a> Fold<'a> {
    /// Folds a `MatchFinished`, with the meaning of [`finished_match`]'s statements.
    pub(super) fn finished_match(&mut self, event: &'a RecordedEvent, m: &'a FinishedMatch) {
        let row = MatchRow {
            map_name: m.map_name.clone(),
            matchtype_id: m.matchtype_id,
            leaderboard_id: m.leaderboard_id,
            started_at: m.started_at,
            completed_at: m.completed_at,
            description: m.description.clone(),
            state: match_state(m).to_string(),
            updated_at: event.recorded_at,
            position: event.log_position.position,
        };
        self.matches.insert(m.match_id, Some(row));
        self.matches_dirty.insert(m.match_id);
        // A played lobby is no longer live.
        self.live.insert(m.match_id, Vec::new());
        self.live_touched.insert(m.match_id);
        for p in &m.players {
            if self.match_players_seen.insert((m.match_id, p.profile_id)) {
                self.match_players.push((m.match_id, p));
            }
            if let Some(alias) = alias_of(p) {
                self.aliases.insert(
                    p.profile_id,
                    (alias, event.recorded_at, event.log_position.position),
                );
            }
            self.standings.push(p.profile_id);
            self.matches_scope.push(p.profile_id);
            self.live_scope.push(p.profile_id);
        }
    }

    pub(super) async fn write_matches(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        if !self.matches_dirty.is_empty() {
            let n = self.matches_dirty.len();
            let mut id = Vec::with_capacity(n);
            let mut map_name = Vec::with_capacity(n);
            let mut matchtype_id = Vec::with_capacity(n);
            let mut leaderboard_id = Vec::with_capacity(n);
            let mut started_at = Vec::with_capacity(n);
            let mut completed_at = Vec::with_capacity(n);
            let mut description = Vec::with_capacity(n);
            let mut state = Vec::with_capacity(n);
            let mut updated_at = Vec::with_capacity(n);
            let mut position = Vec::with_capacity(n);
            for m in &self.matches_dirty {
                if let Some(Some(r)) = self.matches.get(m) {
                    id.push(*m);
                    map_name.push(r.map_name.as_str());
                    matchtype_id.push(r.matchtype_id);
                    leaderboard_id.push(r.leaderboard_id);
                    started_at.push(r.started_at);
                    completed_at.push(r.completed_at);
                    description.push(r.description.as_deref());
                    state.push(r.state.as_str());
                    updated_at.push(r.updated_at);
                    position.push(r.position);
                }
            }
            sqlx::query(
                "INSERT INTO matches (match_id, map_name, matchtype_id, leaderboard_id, started_at,
                                      completed_at, description, state, updated_at, position)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[],
                                      $5::timestamptz[], $6::timestamptz[], $7::text[],
                                      $8::text[], $9::timestamptz[], $10::int8[])
                 ON CONFLICT (match_id) DO UPDATE SET
                    map_name = excluded.map_name, matchtype_id = excluded.matchtype_id,
                    leaderboard_id = excluded.leaderboard_id, started_at = excluded.started_at,
                    completed_at = excluded.completed_at, description = excluded.description,
                    state = excluded.state, updated_at = excluded.updated_at,
                    position = excluded.position",
            )
            .bind(&id)
            .bind(&map_name)
            .bind(&matchtype_id)
            .bind(&leaderboard_id)
            .bind(&started_at)
            .bind(&completed_at)
            .bind(&description)
            .bind(&state)
            .bind(&updated_at)
            .bind(&position)
            .execute(&mut *db)
            .await?;
        }
        if !self.match_players.is_empty() {
            let n = self.match_players.len();
            let mut match_id = Vec::with_capacity(n);
            let mut profile_id = Vec::with_capacity(n);
            let mut civilization_id = Vec::with_capacity(n);
            let mut team_id = Vec::with_capacity(n);
            let mut result = Vec::with_capacity(n);
            let mut old_rating = Vec::with_capacity(n);
            let mut new_rating = Vec::with_capacity(n);
            let mut xp_gained = Vec::with_capacity(n);
            for (m, p) in &self.match_players {
                match_id.push(*m);
                profile_id.push(p.profile_id);
                civilization_id.push(p.civilization_id);
                team_id.push(p.team_id);
                result.push(outcome(p.outcome));
                old_rating.push(p.old_rating);
                new_rating.push(p.new_rating);
                xp_gained.push(p.xp_gained);
            }
            sqlx::query(
                "INSERT INTO match_players (match_id, profile_id, civilization_id, team_id, outcome,
                                            old_rating, new_rating, xp_gained)
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::text[],
                                      $6::int8[], $7::int8[], $8::int8[])
                 ON CONFLICT DO NOTHING",
            )
            .bind(&match_id)
            .bind(&profile_id)
            .bind(&civilization_id)
            .bind(&team_id)
            .bind(&result)
            .bind(&old_rating)
            .bind(&new_rating)
            .bind(&xp_gained)
            .execute(&mut *db)
            .await?;
        }
        if !self.aliases.is_empty() {
            let n = self.aliases.len();
            let mut profile_id = Vec::with_capacity(n);
            let mut alias = Vec::with_capacity(n);
            let mut updated_at = Vec::with_capacity(n);
            let mut position = Vec::with_capacity(n);
            for (p, (a, at, at_position)) in &self.aliases {
                profile_id.push(*p);
                alias.push(*a);
                updated_at.push(*at);
                position.push(*at_position);
            }
            sqlx::query(
                "INSERT INTO profile_aliases (profile_id, alias, updated_at, position)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::timestamptz[], $4::int8[])
                 ON CONFLICT (profile_id) DO UPDATE SET alias = excluded.alias,
                                                        updated_at = excluded.updated_at,
                                                        position = excluded.position",
            )
            .bind(&profile_id)
            .bind(&alias)
            .bind(&updated_at)
            .bind(&position)
            .execute(&mut *db)
            .await?;
        }
        Ok(())
    }
}
