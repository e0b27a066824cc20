//! Live lobbies: `live_match_players` (who is in a lobby now) and the `matches` row a lobby
//! opens or updates (a lobby id is its match id; a stale lobby never un-completes a match).
//!
//! One by one ([`lobby`]): the row and the set are written per event; members who left are read
//! before they are replaced, so they are nudged too.
//!
//! Batched ([`Fold::lobby`], then [`Fold::write_live`]; the rows through
//! [`Fold::write_matches`]): the `matches` rows and live sets the batch's lobbies depend on are
//! read once before the batch ([`Fold::seed_lobbies`]), folded in memory and written at the end.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use domain::lobby::{LobbyEvent, LobbySnapshot, LobbyState};
use domain::AnyEvent;
use sqlx::PgConnection;
use store::RecordedEvent;

use super::fold::Fold;
use super::matches::{MatchRow, MatchTuple};
use super::tournaments_of;
use crate::nudge::{NudgeKind, Nudges};

/// The `state` of a lobby's `matches` row, in both paths.
fn lobby_state(s: LobbyState) -> &'static str {
    match s {
        LobbyState::Staging => "staging",
        LobbyState::InProgress => "in_progress",
    }
}

async fn open_lobby(
    db: &mut PgConnection,
    s: &LobbySnapshot,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    at: chrono::DateTime<chrono::Utc>,
    position: i64,
) -> sqlx::Result<()> {
    let state = lobby_state(s.state);
    // A stale lobby can never un-complete a match.
    sqlx::query(
        "INSERT INTO matches (match_id, map_name, matchtype_id, leaderboard_id, started_at,
                              completed_at, description, state, updated_at, position)
         VALUES ($1, $2, $3, NULL, $4, NULL, $5, $6, $7, $8)
         ON CONFLICT (match_id) DO UPDATE SET
            map_name = excluded.map_name, description = excluded.description,
            state = excluded.state, updated_at = excluded.updated_at,
            position = excluded.position
          WHERE matches.completed_at IS NULL",
    )
    .bind(s.lobby_id)
    .bind(&s.map_name)
    .bind(s.matchtype_id)
    .bind(started_at.unwrap_or(at))
    .bind(&s.description)
    .bind(state)
    .bind(at)
    .bind(position)
    .execute(&mut *db)
    .await?;
    sqlx::query("DELETE FROM live_match_players WHERE match_id = $1")
        .bind(s.lobby_id)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "INSERT INTO live_match_players (match_id, profile_id)
         SELECT $1, unnest($2::bigint[])
          WHERE EXISTS (SELECT 1 FROM matches WHERE match_id = $1 AND completed_at IS NULL)",
    )
    .bind(s.lobby_id)
    .bind(&s.members)
    .execute(&mut *db)
    .await?;
    Ok(())
}

pub(super) async fn lobby(
    db: &mut PgConnection,
    event: &RecordedEvent,
    e: &LobbyEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let members: Vec<i64> = match e {
        LobbyEvent::LiveMatchStarted {
            snapshot,
            started_at,
        } => {
            let position = event.log_position.position;
            open_lobby(db, snapshot, Some(*started_at), *started_at, position).await?;
            snapshot.members.clone()
        }
        LobbyEvent::LiveMatchUpdated {
            snapshot,
            observed_at,
        } => {
            // Members who left still need a nudge: read them before replacing.
            let mut before: Vec<i64> =
                sqlx::query_scalar("SELECT profile_id FROM live_match_players WHERE match_id = $1")
                    .bind(snapshot.lobby_id)
                    .fetch_all(&mut *db)
                    .await?;
            open_lobby(
                db,
                snapshot,
                None,
                *observed_at,
                event.log_position.position,
            )
            .await?;
            before.extend(&snapshot.members);
            before
        }
        LobbyEvent::LiveMatchEnded { lobby_id, .. } => {
            sqlx::query_scalar(
                "DELETE FROM live_match_players WHERE match_id = $1 RETURNING profile_id",
            )
            .bind(lobby_id)
            .fetch_all(&mut *db)
            .await?
        }
    };
    let scope = tournaments_of(db, &members).await?;
    nudges.touch(NudgeKind::Live, scope);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The batch path.

impl<'a> Fold<'a> {
    /// Reads the state before the batch of the keys whose next value depends on it: `matches`
    /// rows under lobbies (a lobby never un-completes a match) and live sets before lobby
    /// updates and ends (their members are nudged). Rating pairs are compared in the snapshot
    /// insert itself.
    pub(super) async fn seed_lobbies(
        &mut self,
        db: &mut PgConnection,
        events: &'a [(RecordedEvent, AnyEvent)],
    ) -> sqlx::Result<()> {
        let mut lobby_matches = HashSet::new();
        let mut lobby_live = HashSet::new();
        for (_, e) in events {
            match e {
                AnyEvent::Lobby(LobbyEvent::LiveMatchStarted { snapshot, .. }) => {
                    lobby_matches.insert(snapshot.lobby_id);
                }
                AnyEvent::Lobby(LobbyEvent::LiveMatchUpdated { snapshot, .. }) => {
                    lobby_matches.insert(snapshot.lobby_id);
                    lobby_live.insert(snapshot.lobby_id);
                }
                AnyEvent::Lobby(LobbyEvent::LiveMatchEnded { lobby_id, .. }) => {
                    lobby_live.insert(*lobby_id);
                }
                _ => {}
            }
        }
        if !lobby_matches.is_empty() {
            let ids: Vec<i64> = lobby_matches.iter().copied().collect();
            self.matches = ids.iter().map(|id| (*id, None)).collect();
            let rows: Vec<MatchTuple> = sqlx::query_as(
                "SELECT match_id, map_name, matchtype_id, leaderboard_id, started_at, completed_at,
                        description, state, updated_at, position
                   FROM matches WHERE match_id = ANY($1)",
            )
            .persistent(false)
            .bind(&ids)
            .fetch_all(&mut *db)
            .await?;
            for (
                id,
                map_name,
                matchtype_id,
                leaderboard_id,
                started_at,
                completed_at,
                description,
                state,
                updated_at,
                position,
            ) in rows
            {
                let row = MatchRow {
                    map_name,
                    matchtype_id,
                    leaderboard_id,
                    started_at,
                    completed_at,
                    description,
                    state,
                    updated_at,
                    position,
                };
                self.matches.insert(id, Some(row));
            }
        }
        if !lobby_live.is_empty() {
            let ids: Vec<i64> = lobby_live.iter().copied().collect();
            self.live = ids.iter().map(|id| (*id, Vec::new())).collect();
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT match_id, profile_id FROM live_match_players WHERE match_id = ANY($1)",
            )
            .persistent(false)
            .bind(&ids)
            .fetch_all(&mut *db)
            .await?;
            for (id, profile) in rows {
                self.live.entry(id).or_default().push(profile);
            }
        }
        Ok(())
    }

    /// Folds a lobby event, with the meaning of [`lobby`]'s statements.
    pub(super) fn lobby(&mut self, event: &RecordedEvent, e: &'a LobbyEvent) -> sqlx::Result<()> {
        let position = event.log_position.position;
        match e {
            LobbyEvent::LiveMatchStarted {
                snapshot,
                started_at,
            } => {
                self.open_lobby(snapshot, Some(*started_at), *started_at, position)?;
                self.live_scope.extend(&snapshot.members);
            }
            LobbyEvent::LiveMatchUpdated {
                snapshot,
                observed_at,
            } => {
                // Members who left still need a nudge.
                if let Some(before) = self.live.get(&snapshot.lobby_id) {
                    self.live_scope.extend(before);
                }
                self.open_lobby(snapshot, None, *observed_at, position)?;
                self.live_scope.extend(&snapshot.members);
            }
            LobbyEvent::LiveMatchEnded { lobby_id, .. } => {
                if let Some(before) = self.live.insert(*lobby_id, Vec::new()) {
                    self.live_scope.extend(before);
                }
                self.live_touched.insert(*lobby_id);
            }
        }
        Ok(())
    }

    fn open_lobby(
        &mut self,
        s: &LobbySnapshot,
        started_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
        position: i64,
    ) -> sqlx::Result<()> {
        let state = lobby_state(s.state);
        // Seeded for every lobby of the batch: `None` means no row yet.
        let row = self.matches.entry(s.lobby_id).or_insert(None);
        match row {
            None => {
                *row = Some(MatchRow {
                    map_name: s.map_name.clone(),
                    matchtype_id: s.matchtype_id,
                    leaderboard_id: None,
                    started_at: started_at.unwrap_or(at),
                    completed_at: None,
                    description: s.description.clone(),
                    state: state.to_string(),
                    updated_at: at,
                    position,
                });
                self.matches_dirty.insert(s.lobby_id);
            }
            // A stale lobby can never un-complete a match.
            Some(r) if r.completed_at.is_none() => {
                r.map_name.clone_from(&s.map_name);
                r.description.clone_from(&s.description);
                r.state = state.to_string();
                r.updated_at = at;
                r.position = position;
                self.matches_dirty.insert(s.lobby_id);
            }
            Some(_) => {}
        }
        let open = row.as_ref().is_some_and(|r| r.completed_at.is_none());
        let members = if open {
            let mut unique = s.members.clone();
            unique.sort_unstable();
            unique.dedup();
            if unique.len() != s.members.len() {
                // One by one, this violates the primary key: let that path report it.
                return Err(sqlx::Error::Protocol(format!(
                    "lobby {} lists a member twice",
                    s.lobby_id
                )));
            }
            unique
        } else {
            Vec::new()
        };
        self.live.insert(s.lobby_id, members);
        self.live_touched.insert(s.lobby_id);
        Ok(())
    }

    pub(super) async fn write_live(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        if self.live_touched.is_empty() {
            return Ok(());
        }
        let touched: Vec<i64> = self.live_touched.iter().copied().collect();
        sqlx::query("DELETE FROM live_match_players WHERE match_id = ANY($1)")
            .persistent(false)
            .bind(&touched)
            .execute(&mut *db)
            .await?;
        let mut match_id = Vec::new();
        let mut profile_id = Vec::new();
        for m in &touched {
            for p in self.live.get(m).into_iter().flatten() {
                match_id.push(*m);
                profile_id.push(*p);
            }
        }
        if !match_id.is_empty() {
            sqlx::query(
                "INSERT INTO live_match_players (match_id, profile_id)
                 SELECT * FROM unnest($1::int8[], $2::int8[])",
            )
            .bind(&match_id)
            .bind(&profile_id)
            .execute(&mut *db)
            .await?;
        }
        Ok(())
    }
}
