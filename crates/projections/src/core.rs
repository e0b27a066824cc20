//! The `core` projector: tournaments, owners, creators, rosters, teams, profiles, ratings,
//! rating snapshots, matches, live lobbies and the catalog (SQL: `projections/core.sql`).

use domain::catalog::CatalogEvent;
use domain::lobby::{LobbyEvent, LobbySnapshot, LobbyState};
use domain::matches::{MatchEvent, Outcome};
use domain::operator::OperatorEvent;
use domain::profile::ProfileEvent;
use domain::tournament::{RankBy, TournamentConfig, TournamentEvent};
use domain::AnyEvent;
use sqlx::types::Json;
use sqlx::PgConnection;
use store::RecordedEvent;

use crate::nudge::{NudgeKind, Nudges};
use crate::runner::{ApplyFuture, Projector};

pub struct Core;

impl Projector for Core {
    const NAME: &'static str = "core";
    const VERSION: i32 = 1;
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
    ];

    fn apply<'a>(
        &'a self,
        db: &'a mut PgConnection,
        event: &'a RecordedEvent,
        decoded: AnyEvent,
        nudges: &'a mut Nudges,
    ) -> ApplyFuture<'a> {
        Box::pin(async move {
            match decoded {
                AnyEvent::Tournament(e) => tournament(db, event, e, nudges).await,
                AnyEvent::Profile(e) => profile(db, event, e, nudges).await,
                AnyEvent::Match(MatchEvent::MatchFinished(m)) => {
                    finished_match(db, event, m, nudges).await
                }
                AnyEvent::Lobby(e) => lobby(db, event, e, nudges).await,
                AnyEvent::Catalog(e) => catalog(db, event, e, nudges).await,
                AnyEvent::Operator(e) => operator(db, event, e).await,
            }
        })
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
    e: TournamentEvent,
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
    match e {
        E::TournamentCreated {
            tournament_id,
            slug,
            config,
            created_at,
        } => write_config(db, tournament_id, Some(&slug), &config, created_at).await?,
        E::TournamentUpdated {
            tournament_id,
            config,
            ..
        } => write_config(db, tournament_id, None, &config, event.recorded_at).await?,
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
            tournament_player_id,
            presentation,
            ..
        } => {
            sqlx::query("UPDATE tournament_players SET presentation = $2 WHERE id = $1")
                .bind(tournament_player_id)
                .bind(Json(presentation))
                .execute(&mut *db)
                .await?;
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
    e: ProfileEvent,
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
            profile_id
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
            profile_id
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
            profile_id
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
    m: domain::matches::FinishedMatch,
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
    e: LobbyEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let members: Vec<i64> = match e {
        LobbyEvent::LiveMatchStarted {
            snapshot,
            started_at,
        } => {
            open_lobby(db, &snapshot, Some(started_at), started_at).await?;
            snapshot.members
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
            open_lobby(db, &snapshot, None, observed_at).await?;
            before.extend(snapshot.members);
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
    e: CatalogEvent,
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
                .bind(l.name)
                .bind(l.is_ranked)
                .bind(Json(l.matchtype_ids))
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
                .bind(c.name)
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
    e: OperatorEvent,
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
