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
//!   DO NOTHING`), a `RankObserved` only updates a rating row that exists;
//! - a rating snapshot whenever `(max_rating, current_rating)` differs from the pair before it;
//! - the state a fold depends on (`matches` rows under lobbies, live sets before lobby updates
//!   and ends) is read once, before the batch, for the keys the batch touches; a key's first
//!   rating pair is compared with `player_ratings` in the snapshot insert.
//!
//! Tournament, catalog, operator and stream-channel events are rare and touch other tables: they
//! are applied one by one as they come. The roster is the one link: the tournaments an observation nudges
//! are looked up before the next roster change, so every event is scoped by the roster of its
//! time. If anything fails, the batch is rolled back to a savepoint and replayed one event at a
//! time, which names the failing event (the runner parks there).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::catalog::CatalogEvent;
use domain::lobby::{LobbyEvent, LobbySnapshot, LobbyState};
use domain::matches::{FinishedMatch, MatchEvent, MatchPlayer, Outcome};
use domain::operator::OperatorEvent;
use domain::profile::{LadderStats, ProfileEvent, ProfileIdentity};
use domain::stream_channel::StreamChannelEvent;
use domain::streams::{self, Channel};
use domain::tournament::{RankBy, TournamentConfig, TournamentEvent};
use domain::AnyEvent;
use sqlx::types::Json;
use sqlx::{Executor, PgConnection};
use store::RecordedEvent;

use crate::nudge::{NudgeKind, Nudges};
use crate::runner::{ApplyFuture, BatchError, BatchFuture, Projector};

pub struct Core;

impl Projector for Core {
    const NAME: &'static str = "core";
    /// 2: no foreign key from `match_players` to `matches` (rebuild speed).
    /// 3: `stream_links` and `live_streams` (stream-live detection).
    const VERSION: i32 = 3;
    const SCHEMA_SQL: &'static str = include_str!("../../../projections/core.sql");
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
        Box::pin(apply_batch(db, events, nudges))
    }
}

async fn apply_one(
    db: &mut PgConnection,
    event: &RecordedEvent,
    decoded: &AnyEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    match decoded {
        AnyEvent::Tournament(e) => tournament(db, event, e, nudges).await,
        AnyEvent::Profile(e) => profile(db, event, e, nudges).await,
        AnyEvent::Match(MatchEvent::MatchFinished(m)) => finished_match(db, event, m, nudges).await,
        AnyEvent::Lobby(e) => lobby(db, event, e, nudges).await,
        AnyEvent::Catalog(e) => catalog(db, event, e, nudges).await,
        AnyEvent::Operator(e) => operator(db, event, e).await,
        AnyEvent::StreamChannel(e) => stream_channel(db, event, e, nudges).await,
    }
}

fn rank_by(r: RankBy) -> &'static str {
    match r {
        RankBy::PeakRating => "peak_rating",
        RankBy::CurrentRating => "current_rating",
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

async fn write_config(
    db: &mut PgConnection,
    id: i64,
    slug: Option<&str>,
    c: &TournamentConfig,
    created_at: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tournaments (id, slug, name, leaderboard_id, rank_by, start_date, end_date,
                                  prize_pool_cents, host_stream_urls, presentation, created_at)
         VALUES ($1, coalesce($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, leaderboard_id = excluded.leaderboard_id,
            rank_by = excluded.rank_by, start_date = excluded.start_date,
            end_date = excluded.end_date, prize_pool_cents = excluded.prize_pool_cents,
            host_stream_urls = excluded.host_stream_urls, presentation = excluded.presentation",
    )
    .bind(id)
    .bind(slug)
    .bind(&c.name)
    .bind(c.leaderboard_id)
    .bind(rank_by(c.rank_by))
    .bind(c.start_date)
    .bind(c.end_date)
    .bind(c.prize_pool_cents)
    .bind(Json(&c.host_stream_urls))
    .bind(Json(&c.presentation))
    .bind(created_at)
    .execute(db)
    .await?;
    Ok(())
}

async fn tournament(
    db: &mut PgConnection,
    event: &RecordedEvent,
    e: &TournamentEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    use TournamentEvent as E;
    let tid = match &e {
        E::TournamentCreated { tournament_id, .. }
        | E::TournamentUpdated { tournament_id, .. }
        | E::TournamentDeleted { tournament_id }
        | E::OwnerGranted { tournament_id, .. }
        | E::OwnerRevoked { tournament_id, .. }
        | E::PlayerAddedToRoster { tournament_id, .. }
        | E::PlayerRemovedFromRoster { tournament_id, .. }
        | E::RosterPlayerLinked { tournament_id, .. }
        | E::RosterPlayerUpdated { tournament_id, .. }
        | E::TeamCreated { tournament_id, .. }
        | E::TeamUpdated { tournament_id, .. }
        | E::TeamDeleted { tournament_id, .. }
        | E::TeamMemberAdded { tournament_id, .. }
        | E::TeamMemberRemoved { tournament_id, .. }
        | E::TeamCaptainSet { tournament_id, .. }
        | E::TeamCaptainCleared { tournament_id, .. } => *tournament_id,
    };
    let tournament_id = tid;
    match e {
        E::TournamentCreated {
            slug,
            config,
            created_at,
            ..
        } => {
            write_config(db, tournament_id, Some(slug), config, *created_at).await?;
            let channels = streams::channels_in_urls(&config.host_stream_urls);
            link_streams(db, tournament_id, None, &channels).await?;
        }
        E::TournamentUpdated { config, .. } => {
            write_config(db, tournament_id, None, config, event.recorded_at).await?;
            let channels = streams::channels_in_urls(&config.host_stream_urls);
            link_streams(db, tournament_id, None, &channels).await?;
        }
        E::TournamentDeleted { tournament_id } => {
            sqlx::query("DELETE FROM tournaments WHERE id = $1")
                .bind(tournament_id)
                .execute(&mut *db)
                .await?;
        }
        E::OwnerGranted {
            tournament_id,
            user_id,
            granted_at,
        } => {
            sqlx::query(
                "INSERT INTO tournament_owners (tournament_id, user_id, created_at)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(tournament_id)
            .bind(user_id)
            .bind(granted_at)
            .execute(&mut *db)
            .await?;
        }
        E::OwnerRevoked {
            tournament_id,
            user_id,
        } => {
            sqlx::query("DELETE FROM tournament_owners WHERE tournament_id = $1 AND user_id = $2")
                .bind(tournament_id)
                .bind(user_id)
                .execute(&mut *db)
                .await?;
        }
        E::PlayerAddedToRoster {
            tournament_id,
            tournament_player_id,
            name,
            profile_id,
            presentation,
        } => {
            sqlx::query(
                "INSERT INTO tournament_players (id, tournament_id, profile_id, name, presentation)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tournament_player_id)
            .bind(tournament_id)
            .bind(profile_id)
            .bind(name)
            .bind(Json(presentation))
            .execute(&mut *db)
            .await?;
            let channels = streams::channels_in_presentation(presentation);
            link_streams(db, *tournament_id, Some(*tournament_player_id), &channels).await?;
        }
        E::PlayerRemovedFromRoster {
            tournament_player_id,
            ..
        } => {
            sqlx::query("DELETE FROM tournament_players WHERE id = $1")
                .bind(tournament_player_id)
                .execute(&mut *db)
                .await?;
        }
        E::RosterPlayerLinked {
            tournament_player_id,
            profile_id,
            ..
        } => {
            sqlx::query("UPDATE tournament_players SET profile_id = $2 WHERE id = $1")
                .bind(tournament_player_id)
                .bind(profile_id)
                .execute(&mut *db)
                .await?;
        }
        E::RosterPlayerUpdated {
            tournament_id,
            tournament_player_id,
            presentation,
        } => {
            sqlx::query("UPDATE tournament_players SET presentation = $2 WHERE id = $1")
                .bind(tournament_player_id)
                .bind(Json(presentation))
                .execute(&mut *db)
                .await?;
            let channels = streams::channels_in_presentation(presentation);
            link_streams(db, *tournament_id, Some(*tournament_player_id), &channels).await?;
        }
        E::TeamCreated {
            tournament_id,
            team_id,
            name,
            initials,
        } => {
            sqlx::query(
                "INSERT INTO teams (id, tournament_id, name, initials) VALUES ($1, $2, $3, $4)",
            )
            .bind(team_id)
            .bind(tournament_id)
            .bind(name)
            .bind(initials)
            .execute(&mut *db)
            .await?;
        }
        E::TeamUpdated {
            team_id,
            name,
            initials,
            ..
        } => {
            sqlx::query("UPDATE teams SET name = $2, initials = $3 WHERE id = $1")
                .bind(team_id)
                .bind(name)
                .bind(initials)
                .execute(&mut *db)
                .await?;
        }
        E::TeamDeleted { team_id, .. } => {
            sqlx::query("DELETE FROM teams WHERE id = $1")
                .bind(team_id)
                .execute(&mut *db)
                .await?;
        }
        E::TeamMemberAdded {
            team_id,
            tournament_player_id,
            ..
        } => {
            sqlx::query("INSERT INTO team_members (team_id, tournament_player_id) VALUES ($1, $2)")
                .bind(team_id)
                .bind(tournament_player_id)
                .execute(&mut *db)
                .await?;
        }
        E::TeamMemberRemoved {
            team_id,
            tournament_player_id,
            ..
        } => {
            sqlx::query(
                "DELETE FROM team_members WHERE team_id = $1 AND tournament_player_id = $2",
            )
            .bind(team_id)
            .bind(tournament_player_id)
            .execute(&mut *db)
            .await?;
        }
        E::TeamCaptainSet {
            team_id,
            tournament_player_id,
            ..
        } => {
            // Clear first: the partial unique index allows one captain at any instant.
            sqlx::query(
                "UPDATE team_members SET is_captain = false WHERE team_id = $1 AND is_captain",
            )
            .bind(team_id)
            .execute(&mut *db)
            .await?;
            sqlx::query(
                "UPDATE team_members SET is_captain = true
                  WHERE team_id = $1 AND tournament_player_id = $2",
            )
            .bind(team_id)
            .bind(tournament_player_id)
            .execute(&mut *db)
            .await?;
        }
        E::TeamCaptainCleared { team_id, .. } => {
            sqlx::query("UPDATE team_members SET is_captain = false WHERE team_id = $1")
                .bind(team_id)
                .execute(&mut *db)
                .await?;
        }
    }
    for kind in [NudgeKind::Standings, NudgeKind::Matches, NudgeKind::Live] {
        nudges.touch(kind, [tid]);
    }
    Ok(())
}

async fn profile(
    db: &mut PgConnection,
    event: &RecordedEvent,
    e: &ProfileEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let profile_id = match e {
        ProfileEvent::ProfileObserved {
            profile_id,
            identity,
            observed_at,
        } => {
            sqlx::query(
                "INSERT INTO players (profile_id, alias, country, steam_id, level, xp, region_id,
                                      clan_name, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (profile_id) DO UPDATE SET
                    alias = excluded.alias, country = excluded.country,
                    steam_id = excluded.steam_id, level = excluded.level, xp = excluded.xp,
                    region_id = excluded.region_id, clan_name = excluded.clan_name,
                    updated_at = excluded.updated_at",
            )
            .bind(profile_id)
            .bind(&identity.alias)
            .bind(&identity.country)
            .bind(&identity.steam_id)
            .bind(identity.level)
            .bind(identity.xp)
            .bind(identity.region_id)
            .bind(&identity.clan_name)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
            *profile_id
        }
        ProfileEvent::RatingObserved {
            profile_id,
            stats: s,
            observed_at,
        } => {
            let current_rating = s.rating;
            let max_rating = s.highest_rating.max(s.rating);
            // Snapshot whenever the ranked pair differs from the last one (self-seeding).
            sqlx::query(
                "INSERT INTO player_rating_snapshots
                        (profile_id, leaderboard_id, max_rating, current_rating, observed_at, position)
                 SELECT $1, $2, $3, $4, $5, $6
                  WHERE NOT EXISTS (SELECT 1 FROM player_ratings
                                     WHERE profile_id = $1 AND leaderboard_id = $2
                                       AND max_rating = $3 AND current_rating = $4)",
            )
            .bind(profile_id)
            .bind(s.leaderboard_id)
            .bind(max_rating)
            .bind(current_rating)
            .bind(observed_at)
            .bind(event.log_position.position)
            .execute(&mut *db)
            .await?;
            sqlx::query(
                "INSERT INTO player_ratings (profile_id, leaderboard_id, current_rating, max_rating,
                        wins, losses, streak, drops, rank, rank_total, region_rank,
                        region_rank_total, last_match_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (profile_id, leaderboard_id) DO UPDATE SET
                    current_rating = excluded.current_rating, max_rating = excluded.max_rating,
                    wins = excluded.wins, losses = excluded.losses, streak = excluded.streak,
                    drops = excluded.drops, rank = excluded.rank, rank_total = excluded.rank_total,
                    region_rank = excluded.region_rank,
                    region_rank_total = excluded.region_rank_total,
                    last_match_at = excluded.last_match_at, updated_at = excluded.updated_at",
            )
            .bind(profile_id)
            .bind(s.leaderboard_id)
            .bind(current_rating)
            .bind(max_rating)
            .bind(s.wins)
            .bind(s.losses)
            .bind(s.streak)
            .bind(s.drops)
            .bind(s.rank)
            .bind(s.rank_total)
            .bind(s.region_rank)
            .bind(s.region_rank_total)
            .bind(s.last_match_at)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
            *profile_id
        }
        ProfileEvent::RankObserved {
            profile_id,
            leaderboard_id,
            rank,
            rank_total,
            region_rank,
            region_rank_total,
            observed_at,
        } => {
            sqlx::query(
                "UPDATE player_ratings SET rank = $3, rank_total = $4, region_rank = $5,
                        region_rank_total = $6, updated_at = $7
                  WHERE profile_id = $1 AND leaderboard_id = $2",
            )
            .bind(profile_id)
            .bind(leaderboard_id)
            .bind(rank)
            .bind(rank_total)
            .bind(region_rank)
            .bind(region_rank_total)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
            *profile_id
        }
    };
    let scope = tournaments_of(db, &[profile_id]).await?;
    nudges.touch(NudgeKind::Standings, scope);
    Ok(())
}

fn outcome(o: Option<Outcome>) -> Option<&'static str> {
    o.map(|o| match o {
        Outcome::Win => "win",
        Outcome::Loss => "loss",
    })
}

async fn finished_match(
    db: &mut PgConnection,
    event: &RecordedEvent,
    m: &FinishedMatch,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let state = if m.completed_at.is_some() {
        "completed"
    } else {
        "in_progress"
    };
    sqlx::query(
        "INSERT INTO matches (match_id, map_name, matchtype_id, leaderboard_id, started_at,
                              completed_at, description, state, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (match_id) DO UPDATE SET
            map_name = excluded.map_name, matchtype_id = excluded.matchtype_id,
            leaderboard_id = excluded.leaderboard_id, started_at = excluded.started_at,
            completed_at = excluded.completed_at, description = excluded.description,
            state = excluded.state, updated_at = excluded.updated_at",
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
        if let Some(alias) = p.alias.as_deref().filter(|a| !a.trim().is_empty()) {
            sqlx::query(
                "INSERT INTO profile_aliases (profile_id, alias, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (profile_id) DO UPDATE SET alias = excluded.alias,
                                                        updated_at = excluded.updated_at",
            )
            .bind(p.profile_id)
            .bind(alias)
            .bind(event.recorded_at)
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

async fn open_lobby(
    db: &mut PgConnection,
    s: &LobbySnapshot,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    at: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    let state = match s.state {
        LobbyState::Staging => "staging",
        LobbyState::InProgress => "in_progress",
    };
    // A stale lobby can never un-complete a match.
    sqlx::query(
        "INSERT INTO matches (match_id, map_name, matchtype_id, leaderboard_id, started_at,
                              completed_at, description, state, updated_at)
         VALUES ($1, $2, $3, NULL, $4, NULL, $5, $6, $7)
         ON CONFLICT (match_id) DO UPDATE SET
            map_name = excluded.map_name, description = excluded.description,
            state = excluded.state, updated_at = excluded.updated_at
          WHERE matches.completed_at IS NULL",
    )
    .bind(s.lobby_id)
    .bind(&s.map_name)
    .bind(s.matchtype_id)
    .bind(started_at.unwrap_or(at))
    .bind(&s.description)
    .bind(state)
    .bind(at)
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

async fn lobby(
    db: &mut PgConnection,
    _event: &RecordedEvent,
    e: &LobbyEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let members: Vec<i64> = match e {
        LobbyEvent::LiveMatchStarted {
            snapshot,
            started_at,
        } => {
            open_lobby(db, snapshot, Some(*started_at), *started_at).await?;
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
            open_lobby(db, snapshot, None, *observed_at).await?;
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

async fn catalog(
    db: &mut PgConnection,
    _event: &RecordedEvent,
    e: &CatalogEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    match e {
        CatalogEvent::LeaderboardsObserved {
            leaderboards,
            observed_at,
        } => {
            sqlx::query("DELETE FROM leaderboards")
                .execute(&mut *db)
                .await?;
            for l in leaderboards {
                sqlx::query(
                    "INSERT INTO leaderboards (leaderboard_id, name, is_ranked, matchtypes, updated_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(l.leaderboard_id)
                .bind(&l.name)
                .bind(l.is_ranked)
                .bind(Json(&l.matchtype_ids))
                .bind(observed_at)
                .execute(&mut *db)
                .await?;
            }
        }
        CatalogEvent::CivilizationsObserved {
            civilizations,
            observed_at,
        } => {
            sqlx::query("DELETE FROM civilizations")
                .execute(&mut *db)
                .await?;
            for c in civilizations {
                sqlx::query(
                    "INSERT INTO civilizations (civilization_id, name, updated_at) VALUES ($1, $2, $3)",
                )
                .bind(c.civilization_id)
                .bind(&c.name)
                .bind(observed_at)
                .execute(&mut *db)
                .await?;
            }
            // Civilization names appear in standings and civ stats of every tournament.
            nudges.touch_everyone(NudgeKind::Standings);
        }
    }
    Ok(())
}

async fn operator(
    db: &mut PgConnection,
    _event: &RecordedEvent,
    e: &OperatorEvent,
) -> sqlx::Result<()> {
    match e {
        OperatorEvent::CreatorGranted {
            user_id,
            granted_at,
        } => {
            sqlx::query(
                "INSERT INTO tournament_creators (user_id, created_at) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(granted_at)
            .execute(db)
            .await?;
        }
        OperatorEvent::CreatorRevoked { user_id } => {
            sqlx::query("DELETE FROM tournament_creators WHERE user_id = $1")
                .bind(user_id)
                .execute(db)
                .await?;
        }
    }
    Ok(())
}

/// Replaces the stream channels a roster row (`Some`) or a tournament's hosts (`None`) name.
async fn link_streams(
    db: &mut PgConnection,
    tournament_id: i64,
    tournament_player_id: Option<i64>,
    channels: &[Channel],
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM stream_links WHERE tournament_id = $1
            AND tournament_player_id IS NOT DISTINCT FROM $2",
    )
    .bind(tournament_id)
    .bind(tournament_player_id)
    .execute(&mut *db)
    .await?;
    if channels.is_empty() {
        return Ok(());
    }
    let platforms: Vec<&str> = channels.iter().map(|c| c.platform.as_str()).collect();
    let names: Vec<&str> = channels.iter().map(|c| c.channel.as_str()).collect();
    sqlx::query(
        "INSERT INTO stream_links (tournament_id, tournament_player_id, platform, channel)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[])",
    )
    .bind(tournament_id)
    .bind(tournament_player_id)
    .bind(&platforms)
    .bind(&names)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// A channel went live, changed title or went offline: its row in `live_streams`, and a `live`
/// nudge to the tournaments whose roster or hosts name it.
async fn stream_channel(
    db: &mut PgConnection,
    _event: &RecordedEvent,
    e: &StreamChannelEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let channel = e.channel();
    match e {
        StreamChannelEvent::StreamWentLive {
            title,
            category,
            started_at,
            observed_at,
            ..
        } => {
            sqlx::query(
                "INSERT INTO live_streams (platform, channel, title, category, started_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (platform, channel) DO UPDATE SET
                    title = excluded.title, category = excluded.category,
                    started_at = excluded.started_at, updated_at = excluded.updated_at",
            )
            .bind(channel.platform.as_str())
            .bind(&channel.channel)
            .bind(title)
            .bind(category)
            .bind(started_at)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
        }
        StreamChannelEvent::StreamUpdated {
            title,
            category,
            observed_at,
            ..
        } => {
            sqlx::query(
                "UPDATE live_streams SET title = $3, category = $4, updated_at = $5
                  WHERE platform = $1 AND channel = $2",
            )
            .bind(channel.platform.as_str())
            .bind(&channel.channel)
            .bind(title)
            .bind(category)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
        }
        StreamChannelEvent::StreamWentOffline { .. } => {
            sqlx::query("DELETE FROM live_streams WHERE platform = $1 AND channel = $2")
                .bind(channel.platform.as_str())
                .bind(&channel.channel)
                .execute(&mut *db)
                .await?;
        }
    }
    let scope: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT tournament_id FROM stream_links WHERE platform = $1 AND channel = $2",
    )
    .bind(channel.platform.as_str())
    .bind(&channel.channel)
    .fetch_all(&mut *db)
    .await?;
    nudges.touch(NudgeKind::Live, scope);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The batch path.

/// Batches with fewer observation events are applied one event at a time: the set-based path
/// costs a few fixed round trips (savepoint, seeds, one statement per table).
const MIN_BATCH: usize = 4;

fn is_observation(e: &AnyEvent) -> bool {
    matches!(
        e,
        AnyEvent::Profile(_) | AnyEvent::Match(_) | AnyEvent::Lobby(_)
    )
}

/// Events that change which tournaments a profile is on (the nudge scope of what follows).
fn changes_roster(e: &AnyEvent) -> bool {
    matches!(
        e,
        AnyEvent::Tournament(
            TournamentEvent::PlayerAddedToRoster { .. }
                | TournamentEvent::PlayerRemovedFromRoster { .. }
                | TournamentEvent::RosterPlayerLinked { .. }
                | TournamentEvent::TournamentDeleted { .. }
        )
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

async fn apply_batch(
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
            // one event at a time, which stops at the culprit (and the build parks there).
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
    fold.seed(db, events).await?;
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

/// A `matches` row.
#[derive(Clone, Debug, PartialEq)]
struct MatchRow {
    map_name: String,
    matchtype_id: i64,
    leaderboard_id: Option<i64>,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    description: Option<String>,
    state: String,
    updated_at: DateTime<Utc>,
}

type MatchTuple = (
    i64,
    String,
    i64,
    Option<i64>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
    String,
    DateTime<Utc>,
);

#[derive(Clone, Copy)]
struct Rank {
    rank: Option<i64>,
    rank_total: Option<i64>,
    region_rank: Option<i64>,
    region_rank_total: Option<i64>,
}

/// A `player_rating_snapshots` row to insert.
struct Snapshot {
    profile_id: i64,
    leaderboard_id: i64,
    max_rating: i64,
    current_rating: i64,
    observed_at: DateTime<Utc>,
    position: i64,
    /// The first of its key in the batch: kept only if `player_ratings` holds another pair.
    first: bool,
}

/// What a batch does to one `player_ratings` key.
enum RatingWrite<'a> {
    /// The whole row: the last `RatingObserved`, with any `RankObserved` after it.
    Row {
        stats: &'a LadderStats,
        max_rating: i64,
        rank: Rank,
        updated_at: DateTime<Utc>,
    },
    /// Only `RankObserved` events: the last one, applied if the row exists.
    RankOnly {
        rank: Rank,
        updated_at: DateTime<Utc>,
    },
}

/// Everything the observation events of a batch write, folded in log order.
///
/// Lookups by key (`persistent(false)`) are planned at each call: a plan cached while a new
/// build's tables were small keeps scanning them whole as they grow (autoanalyze does not
/// come round during a rebuild). Inserts from `unnest` have nothing to plan.
#[derive(Default)]
struct Fold<'a> {
    players: HashMap<i64, (&'a ProfileIdentity, DateTime<Utc>)>,
    /// The last `(max_rating, current_rating)` per key seen in the batch.
    pairs: HashMap<(i64, i64), (i64, i64)>,
    ratings: HashMap<(i64, i64), RatingWrite<'a>>,
    snapshots: Vec<Snapshot>,
    /// `matches` rows as they stand (seeded for lobbies; `None` = no row).
    matches: HashMap<i64, Option<MatchRow>>,
    matches_dirty: HashSet<i64>,
    /// First write wins (`ON CONFLICT DO NOTHING`).
    match_players: Vec<(i64, &'a MatchPlayer)>,
    match_players_seen: HashSet<(i64, i64)>,
    aliases: HashMap<i64, (&'a str, DateTime<Utc>)>,
    /// `live_match_players` sets as they stand (seeded for lobby updates and ends).
    live: HashMap<i64, Vec<i64>>,
    live_touched: HashSet<i64>,
    /// Profiles whose tournaments to nudge, per kind.
    standings: Vec<i64>,
    matches_scope: Vec<i64>,
    live_scope: Vec<i64>,
}

fn lobby_state(s: LobbyState) -> &'static str {
    match s {
        LobbyState::Staging => "staging",
        LobbyState::InProgress => "in_progress",
    }
}

impl<'a> Fold<'a> {
    /// Reads the state before the batch of the keys whose next value depends on it: `matches`
    /// rows under lobbies (a lobby never un-completes a match) and live sets before lobby
    /// updates and ends (their members are nudged). Rating pairs are compared in the snapshot
    /// insert itself.
    async fn seed(
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
                        description, state, updated_at
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

    /// Folds one event, with the meaning of its one-by-one statements.
    fn event(&mut self, event: &'a RecordedEvent, decoded: &'a AnyEvent) -> sqlx::Result<()> {
        match decoded {
            AnyEvent::Profile(ProfileEvent::ProfileObserved {
                profile_id,
                identity,
                observed_at,
            }) => {
                self.players.insert(*profile_id, (identity, *observed_at));
                self.standings.push(*profile_id);
            }
            AnyEvent::Profile(ProfileEvent::RatingObserved {
                profile_id,
                stats,
                observed_at,
            }) => {
                let key = (*profile_id, stats.leaderboard_id);
                let max_rating = stats.highest_rating.max(stats.rating);
                let pair = (max_rating, stats.rating);
                // The first of a key compares with the table (in the insert), the others with
                // the pair before them, whether or not that one made a snapshot.
                let first = match self.pairs.insert(key, pair) {
                    None => Some(true),
                    Some(last) if last != pair => Some(false),
                    Some(_) => None,
                };
                if let Some(first) = first {
                    self.snapshots.push(Snapshot {
                        profile_id: key.0,
                        leaderboard_id: key.1,
                        max_rating,
                        current_rating: stats.rating,
                        observed_at: *observed_at,
                        position: event.log_position.position,
                        first,
                    });
                }
                let rank = Rank {
                    rank: stats.rank,
                    rank_total: stats.rank_total,
                    region_rank: stats.region_rank,
                    region_rank_total: stats.region_rank_total,
                };
                self.ratings.insert(
                    key,
                    RatingWrite::Row {
                        stats,
                        max_rating,
                        rank,
                        updated_at: *observed_at,
                    },
                );
                self.standings.push(*profile_id);
            }
            AnyEvent::Profile(ProfileEvent::RankObserved {
                profile_id,
                leaderboard_id,
                rank,
                rank_total,
                region_rank,
                region_rank_total,
                observed_at,
            }) => {
                let new = Rank {
                    rank: *rank,
                    rank_total: *rank_total,
                    region_rank: *region_rank,
                    region_rank_total: *region_rank_total,
                };
                match self.ratings.get_mut(&(*profile_id, *leaderboard_id)) {
                    Some(RatingWrite::Row {
                        rank, updated_at, ..
                    })
                    | Some(RatingWrite::RankOnly { rank, updated_at }) => {
                        *rank = new;
                        *updated_at = *observed_at;
                    }
                    None => {
                        self.ratings.insert(
                            (*profile_id, *leaderboard_id),
                            RatingWrite::RankOnly {
                                rank: new,
                                updated_at: *observed_at,
                            },
                        );
                    }
                }
                self.standings.push(*profile_id);
            }
            AnyEvent::Match(MatchEvent::MatchFinished(m)) => {
                let row = MatchRow {
                    map_name: m.map_name.clone(),
                    matchtype_id: m.matchtype_id,
                    leaderboard_id: m.leaderboard_id,
                    started_at: m.started_at,
                    completed_at: m.completed_at,
                    description: m.description.clone(),
                    state: if m.completed_at.is_some() {
                        "completed"
                    } else {
                        "in_progress"
                    }
                    .to_string(),
                    updated_at: event.recorded_at,
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
                    if let Some(alias) = p.alias.as_deref().filter(|a| !a.trim().is_empty()) {
                        self.aliases
                            .insert(p.profile_id, (alias, event.recorded_at));
                    }
                    self.standings.push(p.profile_id);
                    self.matches_scope.push(p.profile_id);
                    self.live_scope.push(p.profile_id);
                }
            }
            AnyEvent::Lobby(LobbyEvent::LiveMatchStarted {
                snapshot,
                started_at,
            }) => {
                self.open_lobby(snapshot, Some(*started_at), *started_at)?;
                self.live_scope.extend(&snapshot.members);
            }
            AnyEvent::Lobby(LobbyEvent::LiveMatchUpdated {
                snapshot,
                observed_at,
            }) => {
                // Members who left still need a nudge.
                if let Some(before) = self.live.get(&snapshot.lobby_id) {
                    self.live_scope.extend(before);
                }
                self.open_lobby(snapshot, None, *observed_at)?;
                self.live_scope.extend(&snapshot.members);
            }
            AnyEvent::Lobby(LobbyEvent::LiveMatchEnded { lobby_id, .. }) => {
                if let Some(before) = self.live.insert(*lobby_id, Vec::new()) {
                    self.live_scope.extend(before);
                }
                self.live_touched.insert(*lobby_id);
            }
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

    fn open_lobby(
        &mut self,
        s: &LobbySnapshot,
        started_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
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
                });
                self.matches_dirty.insert(s.lobby_id);
            }
            // A stale lobby can never un-complete a match.
            Some(r) if r.completed_at.is_none() => {
                r.map_name.clone_from(&s.map_name);
                r.description.clone_from(&s.description);
                r.state = state.to_string();
                r.updated_at = at;
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

    async fn write(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        self.write_matches(db).await?;
        self.write_live(db).await?;
        self.write_profiles(db).await?;
        self.write_ratings(db).await
    }

    async fn write_matches(&self, db: &mut PgConnection) -> sqlx::Result<()> {
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
                }
            }
            sqlx::query(
                "INSERT INTO matches (match_id, map_name, matchtype_id, leaderboard_id, started_at,
                                      completed_at, description, state, updated_at)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[],
                                      $5::timestamptz[], $6::timestamptz[], $7::text[],
                                      $8::text[], $9::timestamptz[])
                 ON CONFLICT (match_id) DO UPDATE SET
                    map_name = excluded.map_name, matchtype_id = excluded.matchtype_id,
                    leaderboard_id = excluded.leaderboard_id, started_at = excluded.started_at,
                    completed_at = excluded.completed_at, description = excluded.description,
                    state = excluded.state, updated_at = excluded.updated_at",
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
            for (p, (a, at)) in &self.aliases {
                profile_id.push(*p);
                alias.push(*a);
                updated_at.push(*at);
            }
            sqlx::query(
                "INSERT INTO profile_aliases (profile_id, alias, updated_at)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::timestamptz[])
                 ON CONFLICT (profile_id) DO UPDATE SET alias = excluded.alias,
                                                        updated_at = excluded.updated_at",
            )
            .bind(&profile_id)
            .bind(&alias)
            .bind(&updated_at)
            .execute(&mut *db)
            .await?;
        }
        Ok(())
    }

    async fn write_live(&self, db: &mut PgConnection) -> sqlx::Result<()> {
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

    async fn write_profiles(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        if self.players.is_empty() {
            return Ok(());
        }
        let n = self.players.len();
        let mut profile_id = Vec::with_capacity(n);
        let mut alias = Vec::with_capacity(n);
        let mut country = Vec::with_capacity(n);
        let mut steam_id = Vec::with_capacity(n);
        let mut level = Vec::with_capacity(n);
        let mut xp = Vec::with_capacity(n);
        let mut region_id = Vec::with_capacity(n);
        let mut clan_name = Vec::with_capacity(n);
        let mut updated_at = Vec::with_capacity(n);
        for (p, (identity, at)) in &self.players {
            profile_id.push(*p);
            alias.push(identity.alias.as_str());
            country.push(identity.country.as_deref());
            steam_id.push(identity.steam_id.as_deref());
            level.push(identity.level);
            xp.push(identity.xp);
            region_id.push(identity.region_id);
            clan_name.push(identity.clan_name.as_deref());
            updated_at.push(*at);
        }
        sqlx::query(
            "INSERT INTO players (profile_id, alias, country, steam_id, level, xp, region_id,
                                  clan_name, updated_at)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::int8[],
                                  $6::int8[], $7::int8[], $8::text[], $9::timestamptz[])
             ON CONFLICT (profile_id) DO UPDATE SET
                alias = excluded.alias, country = excluded.country,
                steam_id = excluded.steam_id, level = excluded.level, xp = excluded.xp,
                region_id = excluded.region_id, clan_name = excluded.clan_name,
                updated_at = excluded.updated_at",
        )
        .bind(&profile_id)
        .bind(&alias)
        .bind(&country)
        .bind(&steam_id)
        .bind(&level)
        .bind(&xp)
        .bind(&region_id)
        .bind(&clan_name)
        .bind(&updated_at)
        .execute(&mut *db)
        .await?;
        Ok(())
    }

    async fn write_ratings(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        if !self.snapshots.is_empty() {
            let n = self.snapshots.len();
            let mut profile_id = Vec::with_capacity(n);
            let mut leaderboard_id = Vec::with_capacity(n);
            let mut max_rating = Vec::with_capacity(n);
            let mut current_rating = Vec::with_capacity(n);
            let mut observed_at = Vec::with_capacity(n);
            let mut position = Vec::with_capacity(n);
            let mut first = Vec::with_capacity(n);
            for x in &self.snapshots {
                profile_id.push(x.profile_id);
                leaderboard_id.push(x.leaderboard_id);
                max_rating.push(x.max_rating);
                current_rating.push(x.current_rating);
                observed_at.push(x.observed_at);
                position.push(x.position);
                first.push(x.first);
            }
            // Before the rating rows are written: a key's first pair compares with the row as
            // it was before the batch.
            sqlx::query(
                "INSERT INTO player_rating_snapshots
                        (profile_id, leaderboard_id, max_rating, current_rating, observed_at, position)
                 SELECT u.profile_id, u.leaderboard_id, u.max_rating, u.current_rating,
                        u.observed_at, u.position
                   FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[],
                               $5::timestamptz[], $6::int8[], $7::bool[])
                        AS u (profile_id, leaderboard_id, max_rating, current_rating,
                              observed_at, position, first)
                  WHERE NOT u.first
                     OR NOT EXISTS (SELECT 1 FROM player_ratings r
                                     WHERE r.profile_id = u.profile_id
                                       AND r.leaderboard_id = u.leaderboard_id
                                       AND r.max_rating = u.max_rating
                                       AND r.current_rating = u.current_rating)",
            )
            .persistent(false)
            .bind(&profile_id)
            .bind(&leaderboard_id)
            .bind(&max_rating)
            .bind(&current_rating)
            .bind(&observed_at)
            .bind(&position)
            .bind(&first)
            .execute(&mut *db)
            .await?;
        }
        let mut rows = RatingColumns::default();
        let mut ranks = RatingColumns::default();
        for ((p, l), write) in &self.ratings {
            match write {
                RatingWrite::Row {
                    stats,
                    max_rating,
                    rank,
                    updated_at,
                } => {
                    rows.push(*p, *l, rank, *updated_at);
                    rows.current_rating.push(stats.rating);
                    rows.max_rating.push(*max_rating);
                    rows.wins.push(stats.wins);
                    rows.losses.push(stats.losses);
                    rows.streak.push(stats.streak);
                    rows.drops.push(stats.drops);
                    rows.last_match_at.push(stats.last_match_at);
                }
                RatingWrite::RankOnly { rank, updated_at } => {
                    ranks.push(*p, *l, rank, *updated_at);
                }
            }
        }
        if !rows.profile_id.is_empty() {
            sqlx::query(
                "INSERT INTO player_ratings (profile_id, leaderboard_id, current_rating, max_rating,
                        wins, losses, streak, drops, rank, rank_total, region_rank,
                        region_rank_total, last_match_at, updated_at)
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[],
                                      $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[],
                                      $11::int8[], $12::int8[], $13::timestamptz[],
                                      $14::timestamptz[])
                 ON CONFLICT (profile_id, leaderboard_id) DO UPDATE SET
                    current_rating = excluded.current_rating, max_rating = excluded.max_rating,
                    wins = excluded.wins, losses = excluded.losses, streak = excluded.streak,
                    drops = excluded.drops, rank = excluded.rank, rank_total = excluded.rank_total,
                    region_rank = excluded.region_rank,
                    region_rank_total = excluded.region_rank_total,
                    last_match_at = excluded.last_match_at, updated_at = excluded.updated_at",
            )
            .bind(&rows.profile_id)
            .bind(&rows.leaderboard_id)
            .bind(&rows.current_rating)
            .bind(&rows.max_rating)
            .bind(&rows.wins)
            .bind(&rows.losses)
            .bind(&rows.streak)
            .bind(&rows.drops)
            .bind(&rows.rank)
            .bind(&rows.rank_total)
            .bind(&rows.region_rank)
            .bind(&rows.region_rank_total)
            .bind(&rows.last_match_at)
            .bind(&rows.updated_at)
            .execute(&mut *db)
            .await?;
        }
        if !ranks.profile_id.is_empty() {
            sqlx::query(
                "UPDATE player_ratings r SET rank = u.rank, rank_total = u.rank_total,
                        region_rank = u.region_rank, region_rank_total = u.region_rank_total,
                        updated_at = u.updated_at
                   FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[],
                               $6::int8[], $7::timestamptz[])
                        AS u (profile_id, leaderboard_id, rank, rank_total, region_rank,
                              region_rank_total, updated_at)
                  WHERE r.profile_id = u.profile_id AND r.leaderboard_id = u.leaderboard_id",
            )
            .persistent(false)
            .bind(&ranks.profile_id)
            .bind(&ranks.leaderboard_id)
            .bind(&ranks.rank)
            .bind(&ranks.rank_total)
            .bind(&ranks.region_rank)
            .bind(&ranks.region_rank_total)
            .bind(&ranks.updated_at)
            .execute(&mut *db)
            .await?;
        }
        Ok(())
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

/// `player_ratings` columns for one statement.
#[derive(Default)]
struct RatingColumns {
    profile_id: Vec<i64>,
    leaderboard_id: Vec<i64>,
    current_rating: Vec<i64>,
    max_rating: Vec<i64>,
    wins: Vec<i64>,
    losses: Vec<i64>,
    streak: Vec<i64>,
    drops: Vec<i64>,
    rank: Vec<Option<i64>>,
    rank_total: Vec<Option<i64>>,
    region_rank: Vec<Option<i64>>,
    region_rank_total: Vec<Option<i64>>,
    last_match_at: Vec<Option<DateTime<Utc>>>,
    updated_at: Vec<DateTime<Utc>>,
}

impl RatingColumns {
    fn push(&mut self, profile_id: i64, leaderboard_id: i64, rank: &Rank, at: DateTime<Utc>) {
        self.profile_id.push(profile_id);
        self.leaderboard_id.push(leaderboard_id);
        self.rank.push(rank.rank);
        self.rank_total.push(rank.rank_total);
        self.region_rank.push(rank.region_rank);
        self.region_rank_total.push(rank.region_rank_total);
        self.updated_at.push(at);
    }
}

#[cfg(test)]
mod tests {
    //! The batch path against the one-event-at-a-time reference, on a log built to hit every
    //! fold rule: keys written several times in one batch, rating snapshots that change and
    //! do not, rank updates before and after rating rows, lobbies that become matches (both
    //! orders), a stale lobby after completion, roster changes in the middle of a batch.

    use std::collections::HashMap;

    use chrono::{DateTime, Utc};
    use domain::catalog::{CatalogEvent, Civilization, Leaderboard};
    use domain::lobby::{LobbyEvent, LobbySnapshot, LobbyState};
    use domain::matches::{FinishedMatch, MatchEvent, MatchPlayer, Outcome};
    use domain::operator::OperatorEvent;
    use domain::profile::{LadderStats, ProfileEvent, ProfileIdentity};
    use domain::stream_channel::StreamChannelEvent;
    use domain::streams::{Channel, Platform};
    use domain::tournament::{RankBy, TournamentConfig, TournamentEvent};
    use serde_json::{json, Value};
    use sqlx::{Executor, PgPool};
    use store::log::{read_after, LogPosition};
    use store::RecordedEvent;

    use super::Core;
    use crate::runner::{builds, catch_up, start_build, Projector};
    use crate::Nudges;

    const A: i64 = 100;
    const B: i64 = 200;
    const C: i64 = 300;
    const X: i64 = 9_001;
    const Y: i64 = 9_002;
    const Z: i64 = 9_003;

    /// Appends events straight into `events`, one transaction each, with a moving clock.
    struct Log {
        pool: PgPool,
        sequences: HashMap<(String, String), i64>,
        minute: i64,
    }

    impl Log {
        fn new(pool: &PgPool) -> Log {
            Log {
                pool: pool.clone(),
                sequences: HashMap::new(),
                minute: 0,
            }
        }

        fn now(&mut self) -> DateTime<Utc> {
            self.minute += 1;
            DateTime::from_timestamp(1_779_000_000 + self.minute * 60, 0).unwrap()
        }

        async fn push<T: serde::Serialize>(&mut self, aggregate: &str, id: &str, event: &T) -> i64 {
            let payload = serde_json::to_value(event).unwrap();
            let event_type = payload.as_object().unwrap().keys().next().unwrap().clone();
            let at = self.now();
            let sequence = self
                .sequences
                .entry((aggregate.into(), id.into()))
                .or_insert(0);
            *sequence += 1;
            let sequence = *sequence;
            sqlx::query_scalar(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                     event_version, payload, metadata, recorded_at)
                 VALUES ($1, $2, $3, $4, '1', $5::text::json, '{}', $6)
                 RETURNING global_position",
            )
            .bind(aggregate)
            .bind(id)
            .bind(sequence)
            .bind(event_type)
            .bind(payload.to_string())
            .bind(at)
            .fetch_one(&self.pool)
            .await
            .unwrap()
        }

        async fn profile(&mut self, e: ProfileEvent) {
            let id = match &e {
                ProfileEvent::ProfileObserved { profile_id, .. }
                | ProfileEvent::RatingObserved { profile_id, .. }
                | ProfileEvent::RankObserved { profile_id, .. } => *profile_id,
            };
            self.push("Profile", &id.to_string(), &e).await;
        }

        async fn identity(&mut self, profile_id: i64, alias: &str, xp: i64) {
            let observed_at = self.now();
            self.profile(ProfileEvent::ProfileObserved {
                profile_id,
                identity: ProfileIdentity {
                    alias: alias.into(),
                    country: Some("de".into()),
                    steam_id: None,
                    level: 3,
                    xp,
                    region_id: 2,
                    clan_name: None,
                },
                observed_at,
            })
            .await;
        }

        async fn rating(&mut self, profile_id: i64, board: i64, rating: i64, peak: i64, wins: i64) {
            let observed_at = self.now();
            self.profile(ProfileEvent::RatingObserved {
                profile_id,
                stats: LadderStats {
                    leaderboard_id: board,
                    rating,
                    highest_rating: peak,
                    wins,
                    losses: 3,
                    streak: 1,
                    drops: 0,
                    rank: Some(500),
                    rank_total: Some(1000),
                    region_rank: None,
                    region_rank_total: None,
                    last_match_at: Some(observed_at),
                },
                observed_at,
            })
            .await;
        }

        async fn rank(&mut self, profile_id: i64, board: i64, rank: i64) {
            let observed_at = self.now();
            self.profile(ProfileEvent::RankObserved {
                profile_id,
                leaderboard_id: board,
                rank: Some(rank),
                rank_total: Some(1000 + rank),
                region_rank: Some(rank / 2),
                region_rank_total: None,
                observed_at,
            })
            .await;
        }

        async fn tournament(&mut self, slug: &str, e: TournamentEvent) {
            self.push("Tournament", slug, &e).await;
        }

        async fn stream(&mut self, platform: Platform, channel: &str, title: Option<&str>) {
            let observed_at = self.now();
            let c = Channel::new(platform, channel);
            let e = match title {
                Some(t) if t.starts_with('~') => StreamChannelEvent::StreamUpdated {
                    platform,
                    channel: channel.into(),
                    title: Some(t.into()),
                    category: None,
                    observed_at,
                },
                Some(t) => StreamChannelEvent::StreamWentLive {
                    platform,
                    channel: channel.into(),
                    title: Some(t.into()),
                    category: Some("Age of Empires II".into()),
                    started_at: Some(observed_at),
                    observed_at,
                },
                None => StreamChannelEvent::StreamWentOffline {
                    platform,
                    channel: channel.into(),
                    observed_at,
                },
            };
            self.push("StreamChannel", &c.aggregate_id(), &e).await;
        }

        async fn lobby(&mut self, e: LobbyEvent) {
            let id = match &e {
                LobbyEvent::LiveMatchStarted { snapshot, .. }
                | LobbyEvent::LiveMatchUpdated { snapshot, .. } => snapshot.lobby_id,
                LobbyEvent::LiveMatchEnded { lobby_id, .. } => *lobby_id,
            };
            self.push("Lobby", &id.to_string(), &e).await;
        }

        async fn open(&mut self, lobby_id: i64, members: &[i64], map: &str, first: bool) {
            let at = self.now();
            let snapshot = LobbySnapshot {
                lobby_id,
                map_name: map.into(),
                description: Some(format!("lobby {lobby_id} on {map}")),
                matchtype_id: 0,
                state: LobbyState::Staging,
                members: members.to_vec(),
            };
            self.lobby(if first {
                LobbyEvent::LiveMatchStarted {
                    snapshot,
                    started_at: at,
                }
            } else {
                LobbyEvent::LiveMatchUpdated {
                    snapshot,
                    observed_at: at,
                }
            })
            .await;
        }

        async fn end(&mut self, lobby_id: i64) {
            let ended_at = self.now();
            self.lobby(LobbyEvent::LiveMatchEnded { lobby_id, ended_at })
                .await;
        }

        async fn finished(
            &mut self,
            match_id: i64,
            players: &[(i64, Option<&str>, i64)],
            done: bool,
        ) {
            let at = self.now();
            let m = FinishedMatch {
                match_id,
                map_name: format!("Arabia {match_id}"),
                matchtype_id: 6,
                leaderboard_id: Some(3),
                started_at: at,
                completed_at: done.then_some(at),
                description: Some("AUTOMATCH".into()),
                players: players
                    .iter()
                    .enumerate()
                    .map(|(i, (profile_id, alias, civ))| MatchPlayer {
                        profile_id: *profile_id,
                        alias: alias.map(str::to_string),
                        civilization_id: *civ,
                        team_id: i as i64 % 2,
                        outcome: Some(if i % 2 == 0 {
                            Outcome::Win
                        } else {
                            Outcome::Loss
                        }),
                        old_rating: Some(1000),
                        new_rating: None,
                        xp_gained: 10,
                    })
                    .collect(),
            };
            self.push(
                "Match",
                &match_id.to_string(),
                &MatchEvent::MatchFinished(m),
            )
            .await;
        }
    }

    fn config(name: &str) -> TournamentConfig {
        TournamentConfig {
            name: name.into(),
            leaderboard_id: 3,
            rank_by: RankBy::PeakRating,
            start_date: None,
            end_date: None,
            prize_pool_cents: None,
            host_stream_urls: vec![],
            presentation: json!({}),
        }
    }

    async fn seed(log: &mut Log) {
        let at = log.now();
        log.push(
            "Catalog",
            "age2",
            &CatalogEvent::LeaderboardsObserved {
                leaderboards: vec![Leaderboard {
                    leaderboard_id: 3,
                    name: "RM_1V1".into(),
                    is_ranked: true,
                    matchtype_ids: vec![6],
                }],
                observed_at: at,
            },
        )
        .await;
        log.push(
            "Operator",
            "creators",
            &OperatorEvent::CreatorGranted {
                user_id: "u1".into(),
                granted_at: at,
            },
        )
        .await;
        let created_at = log.now();
        log.tournament(
            "a",
            TournamentEvent::TournamentCreated {
                tournament_id: 1,
                slug: "a".into(),
                config: config("A Cup"),
                created_at,
            },
        )
        .await;
        for (id, name, profile) in [(11, "A", Some(A)), (12, "B", Some(B)), (13, "TBD", None)] {
            log.tournament(
                "a",
                TournamentEvent::PlayerAddedToRoster {
                    tournament_id: 1,
                    tournament_player_id: id,
                    name: name.into(),
                    profile_id: profile,
                    presentation: json!({
                        "displayName": name,
                        "streamUrls": [format!("https://twitch.tv/{name}"), "https://youtube.com/@shared"],
                    }),
                },
            )
            .await;
        }
        // Stream channels: live, retitled, offline, live again; one named by nobody.
        log.stream(Platform::Twitch, "a", Some("Bo7")).await;
        log.stream(Platform::Youtube, "@shared", Some("Shared"))
            .await;
        log.stream(Platform::Twitch, "nobody", Some("Unlisted"))
            .await;
        log.stream(Platform::Twitch, "a", Some("~Game 2")).await;
        log.tournament(
            "a",
            TournamentEvent::TeamCreated {
                tournament_id: 1,
                team_id: 21,
                name: "Team".into(),
                initials: "T".into(),
            },
        )
        .await;
        log.tournament(
            "a",
            TournamentEvent::TeamMemberAdded {
                tournament_id: 1,
                team_id: 21,
                tournament_player_id: 11,
            },
        )
        .await;

        // Identity and rating rows written several times; snapshots that change and do not.
        log.identity(A, "Ann", 1).await;
        log.identity(A, "Ann", 2).await;
        log.rank(A, 3, 70).await; // no row yet: nothing
        log.rating(A, 3, 1000, 1000, 10).await; // snapshot (1000, 1000)
        log.rank(A, 3, 50).await;
        log.rating(A, 3, 1000, 990, 11).await; // same pair (1000, 1000): no snapshot
        log.rank(A, 3, 40).await;
        log.rating(A, 3, 1010, 1010, 12).await; // snapshot (1010, 1010)
        log.rating(A, 3, 1010, 1010, 13).await; // same: none
        log.rating(A, 3, 1000, 1010, 13).await; // snapshot (1010, 1000)
        log.rank(A, 3, 45).await;
        log.rank(C, 3, 9).await; // no row: nothing
        log.rating(B, 4, 900, 0, 1).await; // peak missing: floored, snapshot (900, 900)
        log.rank(B, 4, 30).await;
        log.identity(B, "Bob", 5).await;

        // A lobby that is played: open, change, the match, a stale listing, the end.
        log.open(5_001, &[A, X], "my map", true).await;
        log.open(5_001, &[A, X, Y], "Arena", false).await;
        log.finished(7_001, &[(A, Some("Ann"), 4), (X, Some("Xavier"), 5)], true)
            .await;
        log.finished(
            5_001,
            &[(A, Some("Ann2"), 6), (X, Some("X"), 7), (A, Some("dup"), 9)],
            true,
        )
        .await;
        log.open(5_001, &[A, X, Y], "Stale", false).await; // never un-completes
        log.end(5_001).await;
        log.open(5_002, &[B, Z], "Nomad", true).await;
        log.finished(
            7_002,
            &[(Z, Some(""), 1), (C, None, 2), (A, Some("Ann3"), 3)],
            true,
        )
        .await;

        // The roster changes mid-batch: C now nudges tournament 1, B no longer does.
        log.tournament(
            "a",
            TournamentEvent::RosterPlayerLinked {
                tournament_id: 1,
                tournament_player_id: 13,
                profile_id: C,
            },
        )
        .await;
        log.rating(C, 3, 1200, 1250, 40).await;
        log.open(5_002, &[B, C, Z], "Nomad", false).await;
        log.tournament(
            "a",
            TournamentEvent::TournamentUpdated {
                tournament_id: 1,
                config: config("A Cup (renamed)"),
                changed: vec!["name".into()],
            },
        )
        .await;
        log.identity(B, "Bobby", 6).await;
        log.stream(Platform::Twitch, "b", Some("B live")).await;
        log.tournament(
            "a",
            TournamentEvent::RosterPlayerUpdated {
                tournament_id: 1,
                tournament_player_id: 11,
                presentation: json!({"displayName": "A", "twitch": "https://twitch.tv/a2"}),
            },
        )
        .await;
        log.stream(Platform::Youtube, "@shared", None).await;
        log.tournament(
            "a",
            TournamentEvent::PlayerRemovedFromRoster {
                tournament_id: 1,
                tournament_player_id: 12,
            },
        )
        .await;
        log.rank(B, 4, 31).await;
        log.open(5_003, &[B, Z], "Hideout", true).await;

        // A match recorded before its lobby shows up (still in progress), then the lobby.
        log.finished(7_003, &[(A, Some("Ann4"), 8), (Y, Some("Yan"), 9)], false)
            .await;
        log.open(7_003, &[A, Y], "Lobby of 7003", true).await;
        let observed_at = log.now();
        log.push(
            "Catalog",
            "age2",
            &CatalogEvent::CivilizationsObserved {
                civilizations: vec![Civilization {
                    civilization_id: 4,
                    name: "Bohemians".into(),
                }],
                observed_at,
            },
        )
        .await;
        // The same match again: players keep their first row, the match row the last.
        log.finished(7_001, &[(A, Some("Ann5"), 44), (X, Some("X2"), 55)], true)
            .await;
        log.end(5_002).await;
        log.end(5_003).await;

        // A second tournament takes A: A's next observations nudge both.
        let created_at = log.now();
        log.tournament(
            "b",
            TournamentEvent::TournamentCreated {
                tournament_id: 2,
                slug: "b".into(),
                config: config("B Cup"),
                created_at,
            },
        )
        .await;
        log.tournament(
            "b",
            TournamentEvent::PlayerAddedToRoster {
                tournament_id: 2,
                tournament_player_id: 31,
                name: "A".into(),
                profile_id: Some(A),
                presentation: json!({}),
            },
        )
        .await;
        log.rating(A, 3, 1020, 1020, 14).await;
        log.rank(A, 3, 20).await;
        log.identity(A, "Ann", 3).await;
        log.identity(C, "Cid", 1).await;
        log.open(5_004, &[A, C], "Arabia", true).await;
        let created_at = log.now();
        let mut hosted = config("C Cup");
        hosted.host_stream_urls = vec!["https://twitch.tv/a2".into(), "https://twitch.tv/B".into()];
        log.tournament(
            "c",
            TournamentEvent::TournamentCreated {
                tournament_id: 3,
                slug: "c".into(),
                config: hosted,
                created_at,
            },
        )
        .await;
        log.stream(Platform::Twitch, "a2", Some("A2")).await;
        log.stream(Platform::Twitch, "b", None).await;
    }

    /// The whole log, once every appended event is readable (another test's transaction on
    /// the shared cluster can hold the gap-safe reader back for a moment).
    async fn read_log(pool: &PgPool) -> Vec<RecordedEvent> {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(pool)
            .await
            .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let mut all: Vec<RecordedEvent> = Vec::new();
        for _ in 0..2000 {
            let at = all.last().map_or(LogPosition::START, |e| e.log_position);
            let events = read_after(&mut conn, at, 10_000).await.unwrap();
            if events.is_empty() {
                if all.len() as i64 == total {
                    return all;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            all.extend(events);
        }
        panic!("the log did not become readable");
    }

    /// Builds `core` from position 0 in a fresh schema with steps of `chunk` events, either
    /// with `apply_batch` or with `apply` per event. Returns the schema and each step's nudges.
    async fn build(
        pool: &PgPool,
        log: &[RecordedEvent],
        batched: bool,
        chunk: usize,
    ) -> (String, Vec<Nudges>) {
        let build = start_build::<Core>(pool).await.unwrap();
        let schema = format!("core_b{build}");
        let mut nudges = Vec::new();
        for events in log.chunks(chunk) {
            let mut tx = pool.begin().await.unwrap();
            (&mut *tx)
                .execute(format!("SET LOCAL search_path TO {schema}, public").as_str())
                .await
                .unwrap();
            let decoded: Vec<_> = events
                .iter()
                .map(|e| (e.clone(), e.decode().unwrap()))
                .collect();
            let mut step = Nudges::default();
            if batched {
                Core.apply_batch(&mut tx, &decoded, &mut step)
                    .await
                    .unwrap();
            } else {
                for (event, d) in &decoded {
                    Core.apply(&mut tx, event, d.clone(), &mut step)
                        .await
                        .unwrap();
                }
            }
            tx.commit().await.unwrap();
            nudges.push(step);
        }
        (schema, nudges)
    }

    async fn dump(pool: &PgPool, schema: &str) -> Vec<(String, Vec<Value>)> {
        let mut out = vec![];
        for table in Core::TABLES {
            let rows: Vec<Value> = sqlx::query_scalar(&format!(
                "SELECT to_jsonb(t) FROM {schema}.{table} t ORDER BY to_jsonb(t)::text"
            ))
            .fetch_all(pool)
            .await
            .unwrap();
            out.push((table.to_string(), rows));
        }
        out
    }

    fn rows<'a>(dump: &'a [(String, Vec<Value>)], table: &str) -> &'a [Value] {
        &dump.iter().find(|(t, _)| t == table).unwrap().1
    }

    #[tokio::test]
    async fn the_batch_path_builds_what_one_event_at_a_time_builds() {
        let pool = store::testing::migrated_pool("core_batch").await;
        let mut log = Log::new(&pool);
        seed(&mut log).await;
        let events = read_log(&pool).await;

        let (schema, reference_nudges) = build(&pool, &events, false, 1_000).await;
        let reference = dump(&pool, &schema).await;
        for chunk in [1, 2, 3, 4, 5, 7, 8, 13, 21, 1_000] {
            let (one, one_nudges) = build(&pool, &events, false, chunk).await;
            let (batched, batched_nudges) = build(&pool, &events, true, chunk).await;
            assert_eq!(
                dump(&pool, &batched).await,
                reference,
                "tables, chunk {chunk}"
            );
            assert_eq!(
                dump(&pool, &one).await,
                reference,
                "reference, chunk {chunk}"
            );
            assert_eq!(batched_nudges, one_nudges, "nudges, chunk {chunk}");
        }
        assert_eq!(reference_nudges.len(), 1);
        // Everyone (civilizations), and every tournament, of every kind.
        let all = &reference_nudges[0];
        assert!(all.everyone);
        assert_eq!(
            all.tournament_ids.iter().copied().collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(all.kinds.len(), 3);

        // The log does exercise the rules.
        let snapshots: Vec<(i64, i64, i64)> = rows(&reference, "player_rating_snapshots")
            .iter()
            .map(|r| {
                let n = |k: &str| r[k].as_i64().unwrap();
                (n("profile_id"), n("max_rating"), n("current_rating"))
            })
            .filter(|(p, _, _)| *p == A)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            snapshots,
            [
                (A, 1000, 1000),
                (A, 1010, 1000),
                (A, 1010, 1010),
                (A, 1020, 1020)
            ]
        );
        let ratings = rows(&reference, "player_ratings");
        let a = ratings.iter().find(|r| r["profile_id"] == A).unwrap();
        assert_eq!(
            (a["current_rating"].as_i64(), a["rank"].as_i64()),
            (Some(1020), Some(20))
        );
        let b = ratings.iter().find(|r| r["profile_id"] == B).unwrap();
        assert_eq!(
            (b["max_rating"].as_i64(), b["rank"].as_i64()),
            (Some(900), Some(31))
        );
        assert!(ratings
            .iter()
            .all(|r| r["profile_id"] != C || r["leaderboard_id"] == 3));
        let a_player = rows(&reference, "players")
            .iter()
            .find(|r| r["profile_id"] == A)
            .unwrap();
        assert_eq!(a_player["xp"], 3);
        let mut civ: Vec<(i64, i64)> = rows(&reference, "match_players")
            .iter()
            .filter(|r| r["match_id"] == 7_001 || r["match_id"] == 5_001)
            .map(|r| {
                (
                    r["profile_id"].as_i64().unwrap(),
                    r["civilization_id"].as_i64().unwrap(),
                )
            })
            .collect();
        civ.sort_unstable();
        assert_eq!(civ, [(A, 4), (A, 6), (X, 5), (X, 7)], "first write wins");
        let aliases: Vec<(i64, String)> = rows(&reference, "profile_aliases")
            .iter()
            .map(|r| {
                (
                    r["profile_id"].as_i64().unwrap(),
                    r["alias"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(aliases.contains(&(A, "Ann5".into())));
        assert!(!aliases.iter().any(|(p, _)| *p == Z || *p == C));
        let matches = rows(&reference, "matches");
        let lobby = matches.iter().find(|r| r["match_id"] == 5_001).unwrap();
        assert_eq!(
            lobby["state"], "completed",
            "a stale lobby never un-completes"
        );
        assert_eq!(lobby["map_name"], "Arabia 5001");
        let early = matches.iter().find(|r| r["match_id"] == 7_003).unwrap();
        assert_eq!(early["map_name"], "Lobby of 7003");
        let live: Vec<(i64, i64)> = rows(&reference, "live_match_players")
            .iter()
            .map(|r| {
                (
                    r["match_id"].as_i64().unwrap(),
                    r["profile_id"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(live, [(5_004, A), (5_004, C), (7_003, A), (7_003, Y)]);

        let streams: Vec<(String, String, Option<String>)> = rows(&reference, "live_streams")
            .iter()
            .map(|r| {
                (
                    r["platform"].as_str().unwrap().into(),
                    r["channel"].as_str().unwrap().into(),
                    r["title"].as_str().map(Into::into),
                )
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let s = |p: &str, c: &str, t: &str| (p.to_string(), c.to_string(), Some(t.to_string()));
        assert_eq!(
            streams,
            [
                s("twitch", "a", "~Game 2"),
                s("twitch", "a2", "A2"),
                s("twitch", "nobody", "Unlisted"),
            ]
        );
        let mut links: Vec<(i64, Option<i64>, String)> = rows(&reference, "stream_links")
            .iter()
            .map(|r| {
                (
                    r["tournament_id"].as_i64().unwrap(),
                    r["tournament_player_id"].as_i64(),
                    format!(
                        "{}:{}",
                        r["platform"].as_str().unwrap(),
                        r["channel"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        links.sort();
        let l = |t, p, c: &str| (t, p, c.to_string());
        assert_eq!(
            links,
            [
                l(1, Some(11), "twitch:a2"),
                l(1, Some(13), "twitch:tbd"),
                l(1, Some(13), "youtube:@shared"),
                l(3, None, "twitch:a2"),
                l(3, None, "twitch:b"),
            ],
            "removed and edited rows drop their links; hosts are linked"
        );
    }

    #[tokio::test]
    async fn stream_changes_nudge_live_for_the_tournaments_that_name_the_channel() {
        let pool = store::testing::migrated_pool("core_streams").await;
        let mut log = Log::new(&pool);
        seed(&mut log).await;
        let events = read_log(&pool).await;
        let (_, nudges) = build(&pool, &events, false, 1).await;
        let of = |kind: &str, channel: &str| -> Vec<&Nudges> {
            events
                .iter()
                .zip(&nudges)
                .filter(|(e, _)| e.event_type == kind && e.aggregate_id == channel)
                .map(|(_, n)| n)
                .collect()
        };
        let scope = |n: &Nudges| {
            (
                n.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                n.tournament_ids.iter().copied().collect::<Vec<_>>(),
            )
        };
        // Row 11 ("A") and row 13 ("TBD") name @shared in tournament 1.
        assert_eq!(
            scope(of("StreamWentLive", "youtube:@shared")[0]),
            (vec!["live"], vec![1])
        );
        // Nobody names it: no nudge.
        assert!(of("StreamWentLive", "twitch:nobody")[0].is_empty());
        // b goes live while row 12 is on tournament 1's roster; goes offline after the row was
        // removed and tournament 3's hosts named b.
        assert_eq!(
            scope(of("StreamWentLive", "twitch:b")[0]),
            (vec!["live"], vec![1])
        );
        assert_eq!(
            scope(of("StreamWentOffline", "twitch:b")[0]),
            (vec!["live"], vec![3])
        );
        // a2: row 11 of tournament 1 and the hosts of tournament 3.
        assert_eq!(
            scope(of("StreamWentLive", "twitch:a2")[0]),
            (vec!["live"], vec![1, 3])
        );
    }

    #[tokio::test]
    async fn a_poison_event_inside_a_batch_quarantines_only_its_aggregate() {
        let pool = store::testing::migrated_pool("core_batch_poison").await;
        let mut log = Log::new(&pool);
        for xp in 0..6 {
            log.identity(A, "Ann", xp).await;
            log.rating(A, 3, 1000 + xp, 1000 + xp, xp).await;
        }
        // Decodes, but PostgreSQL text cannot hold NUL: the set-based insert fails, and the
        // one-by-one replay names this event.
        log.identity(B, "Bad\u{0}Name", 1).await;
        let poison: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
            .fetch_one(&pool)
            .await
            .unwrap();
        for xp in 0..6 {
            log.rating(A, 3, 2000 + xp, 2000 + xp, xp).await;
            log.rating(B, 3, 2000 + xp, 2000 + xp, xp).await;
        }
        read_log(&pool).await;
        catch_up(&pool, &Core, 1_000).await.unwrap();
        let quarantined = crate::quarantine::list(&pool).await.unwrap();
        assert_eq!(quarantined.len(), 1, "{quarantined:?}");
        assert_eq!(quarantined[0].position, poison);
        assert_eq!(quarantined[0].aggregate_id, B.to_string());
        assert_eq!(quarantined[0].held_back, 6);
        assert!(quarantined[0].error.contains("ProfileObserved"));
        let build = &builds(&pool).await.unwrap()[0];
        assert_eq!(build.events, 18, "every event of A is applied, none of B");
        let rating: i64 = sqlx::query_scalar(
            "SELECT current_rating FROM live.player_ratings WHERE profile_id = $1",
        )
        .bind(A)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(rating, 2005);
    }
}
