//! Loads what a batch needs into a [`Model`] (a few queries keyed by what the batch names) and
//! writes back what it changed (one statement per table).

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use domain::lobby::LobbyEvent;
use domain::matches::MatchEvent;
use domain::profile::ProfileEvent;
use domain::streams::channels_in_presentation;
use domain::tournament::TournamentEvent;
use domain::AnyEvent;
use serde_json::{json, Value};
use sqlx::types::Json;
use sqlx::PgConnection;
use store::RecordedEvent;

use super::model::{tournament_of, Model, Tournament};

fn decode_error(e: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// Everything the batch's events read: the lobbies, profiles and tournaments they name, the
/// tournaments whose window boundary the batch may cross, ratings and civilization names.
pub async fn load(
    db: &mut PgConnection,
    events: &[(&RecordedEvent, &AnyEvent)],
) -> sqlx::Result<Model> {
    let mut model = Model::default();
    let mut lobby_ids: BTreeSet<i64> = BTreeSet::new();
    let mut profiles: BTreeSet<i64> = BTreeSet::new();
    let mut tournament_ids: BTreeSet<i64> = BTreeSet::new();
    let mut updated: HashSet<i64> = HashSet::new();
    let mut civs = false;
    let mut channels: BTreeSet<String> = BTreeSet::new();
    let mut latest: Option<DateTime<Utc>> = None;
    for (event, decoded) in events {
        latest = latest.max(Some(event.recorded_at));
        match decoded {
            AnyEvent::Tournament(e) => {
                if let TournamentEvent::PlayerAddedToRoster { presentation, .. }
                | TournamentEvent::RosterPlayerUpdated { presentation, .. } = e
                {
                    channels.extend(
                        channels_in_presentation(presentation)
                            .iter()
                            .map(|c| c.aggregate_id()),
                    );
                }
                if let Some((id, profile)) = tournament_of(e) {
                    tournament_ids.insert(id);
                    profiles.extend(profile);
                    if matches!(e, TournamentEvent::TournamentUpdated { .. }) {
                        updated.insert(id);
                    }
                }
            }
            AnyEvent::StreamChannel(e) => {
                channels.insert(e.channel().aggregate_id());
            }
            AnyEvent::Profile(ProfileEvent::RatingObserved { profile_id, .. }) => {
                profiles.insert(*profile_id);
            }
            AnyEvent::Match(MatchEvent::MatchFinished(m)) => {
                civs = true;
                profiles.extend(m.players.iter().map(|p| p.profile_id));
            }
            AnyEvent::Lobby(e) => match e {
                LobbyEvent::LiveMatchStarted { snapshot, .. }
                | LobbyEvent::LiveMatchUpdated { snapshot, .. } => {
                    lobby_ids.insert(snapshot.lobby_id);
                    profiles.extend(&snapshot.members);
                }
                LobbyEvent::LiveMatchEnded { lobby_id, .. } => {
                    lobby_ids.insert(*lobby_id);
                }
            },
            _ => {}
        }
    }
    let Some(latest) = latest else {
        return Ok(model);
    };

    if !lobby_ids.is_empty() {
        let ids: Vec<i64> = lobby_ids.into_iter().collect();
        let rows: Vec<(i64, Vec<i64>)> =
            sqlx::query_as("SELECT lobby_id, members FROM notify_lobbies WHERE lobby_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *db)
                .await?;
        for (lobby, members) in rows {
            profiles.extend(&members);
            model.lobbies.insert(lobby, members);
        }
    }

    let profile_ids: Vec<i64> = profiles.iter().copied().collect();
    if !profile_ids.is_empty() {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT profile_id, tournament_id FROM notify_roster WHERE profile_id = ANY($1)",
        )
        .bind(&profile_ids)
        .fetch_all(&mut *db)
        .await?;
        for (profile, tournament) in rows {
            model.index.entry(profile).or_default().insert(tournament);
            tournament_ids.insert(tournament);
        }
    }

    if !channels.is_empty() {
        let keys: Vec<String> = channels.into_iter().collect();
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT channel, tournament_id FROM notify_channels WHERE channel = ANY($1)",
        )
        .bind(&keys)
        .fetch_all(&mut *db)
        .await?;
        for (channel, tournament) in rows {
            model
                .channels
                .entry(channel)
                .or_default()
                .insert(tournament);
            tournament_ids.insert(tournament);
        }
        let live: Vec<String> =
            sqlx::query_scalar("SELECT channel FROM notify_live_channels WHERE channel = ANY($1)")
                .bind(&keys)
                .fetch_all(&mut *db)
                .await?;
        for channel in keys {
            let is_live = live.contains(&channel);
            model.live_channels.insert(channel, is_live);
        }
    }

    let ids: Vec<i64> = tournament_ids.into_iter().collect();
    let rows: Vec<(i64, Json<Value>)> = sqlx::query_as(
        "SELECT tournament_id, state FROM notify_tournaments
          WHERE tournament_id = ANY($1) OR next_boundary <= $2",
    )
    .bind(&ids)
    .bind(latest)
    .fetch_all(&mut *db)
    .await?;
    for (id, Json(state)) in rows {
        let t: Tournament = serde_json::from_value(state).map_err(decode_error)?;
        if updated.contains(&id) {
            // A ladder change re-reads every roster player's rating.
            profiles.extend(t.roster.values().filter_map(|p| p.profile_id));
        }
        model.tournaments.insert_loaded(id, t);
    }

    if !profiles.is_empty() {
        let ids: Vec<i64> = profiles.into_iter().collect();
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT profile_id, leaderboard_id, current_rating, max_rating
               FROM notify_ratings WHERE profile_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&mut *db)
        .await?;
        for (profile, ladder, current, max) in rows {
            model.ratings.insert((profile, ladder), (current, max));
        }
    }

    if civs {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT civilization_id, name FROM notify_civilizations")
                .fetch_all(&mut *db)
                .await?;
        model.civs = rows.into_iter().collect();
    }
    Ok(model)
}

/// Writes back what the batch changed and inserts its notifications.
pub async fn flush(db: &mut PgConnection, model: &Model) -> sqlx::Result<()> {
    let t = &model.tournaments;
    let mut states = vec![];
    let mut roster_profiles = vec![];
    let mut roster_tournaments = vec![];
    let mut channel_keys = vec![];
    let mut channel_tournaments = vec![];
    for id in &t.dirty {
        let Some(state) = t.get(id) else { continue };
        states.push(json!({
            "tournament_id": id,
            "state": serde_json::to_value(state).map_err(decode_error)?,
            "next_boundary": state.next_boundary(),
        }));
        if !t.roster_changed.contains(id) {
            continue;
        }
        for profile in state.roster.values().filter_map(|p| p.profile_id) {
            roster_profiles.push(profile);
            roster_tournaments.push(*id);
        }
        for channel in state.roster.values().flat_map(|p| &p.channels) {
            channel_keys.push(channel.clone());
            channel_tournaments.push(*id);
        }
    }
    if !states.is_empty() {
        sqlx::query(
            "INSERT INTO notify_tournaments (tournament_id, state, next_boundary)
             SELECT x.tournament_id, x.state, x.next_boundary
               FROM jsonb_to_recordset($1) AS x(tournament_id bigint, state jsonb,
                                                next_boundary timestamptz)
             ON CONFLICT (tournament_id) DO UPDATE
                SET state = excluded.state, next_boundary = excluded.next_boundary",
        )
        .bind(Json(&states))
        .execute(&mut *db)
        .await?;
    }
    // The index tables change only with the roster (a rating observation dirties a state, not
    // its roster).
    let rewritten: Vec<i64> = t
        .dirty
        .iter()
        .filter(|id| t.roster_changed.contains(id))
        .chain(&t.deleted)
        .copied()
        .collect();
    if !rewritten.is_empty() {
        let deleted: Vec<i64> = t.deleted.iter().copied().collect();
        sqlx::query("DELETE FROM notify_tournaments WHERE tournament_id = ANY($1)")
            .bind(&deleted)
            .execute(&mut *db)
            .await?;
        sqlx::query("DELETE FROM notify_roster WHERE tournament_id = ANY($1)")
            .bind(&rewritten)
            .execute(&mut *db)
            .await?;
        sqlx::query(
            "INSERT INTO notify_roster (profile_id, tournament_id)
             SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
        )
        .bind(&roster_profiles)
        .bind(&roster_tournaments)
        .execute(&mut *db)
        .await?;
        sqlx::query("DELETE FROM notify_channels WHERE tournament_id = ANY($1)")
            .bind(&rewritten)
            .execute(&mut *db)
            .await?;
        sqlx::query(
            "INSERT INTO notify_channels (channel, tournament_id)
             SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
        )
        .bind(&channel_keys)
        .bind(&channel_tournaments)
        .execute(&mut *db)
        .await?;
    }

    if !model.live_channels_dirty.is_empty() {
        let keys: Vec<&String> = model.live_channels_dirty.iter().collect();
        sqlx::query("DELETE FROM notify_live_channels WHERE channel = ANY($1)")
            .bind(&keys)
            .execute(&mut *db)
            .await?;
        let live: Vec<&String> = keys
            .into_iter()
            .filter(|k| model.live_channels.get(*k).copied().unwrap_or(false))
            .collect();
        sqlx::query("INSERT INTO notify_live_channels (channel) SELECT unnest($1::text[])")
            .bind(&live)
            .execute(&mut *db)
            .await?;
    }

    if !model.ratings_dirty.is_empty() {
        let mut columns: [Vec<i64>; 4] = Default::default();
        for key in &model.ratings_dirty {
            if let Some((current, max)) = model.ratings.get(key) {
                for (column, value) in columns.iter_mut().zip([key.0, key.1, *current, *max]) {
                    column.push(value);
                }
            }
        }
        sqlx::query(
            "INSERT INTO notify_ratings (profile_id, leaderboard_id, current_rating, max_rating)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
             ON CONFLICT (profile_id, leaderboard_id) DO UPDATE
                SET current_rating = excluded.current_rating, max_rating = excluded.max_rating",
        )
        .bind(&columns[0])
        .bind(&columns[1])
        .bind(&columns[2])
        .bind(&columns[3])
        .execute(&mut *db)
        .await?;
    }

    if !model.lobbies_dirty.is_empty() {
        let ids: Vec<i64> = model.lobbies_dirty.iter().copied().collect();
        sqlx::query("DELETE FROM notify_lobbies WHERE lobby_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *db)
            .await?;
        let open: Vec<Value> = ids
            .iter()
            .filter_map(|id| {
                let members = model.lobbies.get(id).filter(|m| !m.is_empty())?;
                Some(json!({"lobby_id": id, "members": members}))
            })
            .collect();
        sqlx::query(
            "INSERT INTO notify_lobbies (lobby_id, members)
             SELECT x.lobby_id, ARRAY(SELECT jsonb_array_elements_text(x.members)::bigint)
               FROM jsonb_to_recordset($1) AS x(lobby_id bigint, members jsonb)",
        )
        .bind(Json(&open))
        .execute(&mut *db)
        .await?;
    }

    if model.civs_dirty {
        sqlx::query("DELETE FROM notify_civilizations")
            .execute(&mut *db)
            .await?;
        let (ids, names): (Vec<i64>, Vec<String>) =
            model.civs.iter().map(|(id, n)| (*id, n.clone())).unzip();
        sqlx::query(
            "INSERT INTO notify_civilizations (civilization_id, name)
             SELECT * FROM unnest($1::bigint[], $2::text[])",
        )
        .bind(&ids)
        .bind(&names)
        .execute(&mut *db)
        .await?;
    }

    if !model.out.is_empty() {
        sqlx::query(
            "INSERT INTO notifications (id, tournament_id, kind, position, ordinal, occurred_at, body)
             SELECT x.id, x.tournament_id, x.kind, x.position, x.ordinal, x.occurred_at, x.body
               FROM jsonb_to_recordset($1) AS x(id text, tournament_id bigint, kind text,
                                                position bigint, ordinal int,
                                                occurred_at timestamptz, body jsonb)",
        )
        .bind(Json(&model.out))
        .execute(&mut *db)
        .await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(super::CHANNEL)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}
