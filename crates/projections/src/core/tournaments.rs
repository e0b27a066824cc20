//! Tournament configuration and roster: `tournaments`, `tournament_owners`,
//! `tournament_creators` (operator grants), `tournament_players`, `teams`, `team_members`, and
//! the `stream_links` a configuration or a roster row names (written through
//! [`super::stream_channels::link_streams`]).
//!
//! Rare events: both paths apply them one by one with [`tournament`] and [`operator`]. The
//! batch path only needs to know which of them change the roster ([`changes_roster`]).

use domain::operator::OperatorEvent;
use domain::streams;
use domain::tournament::{RankBy, TournamentConfig, TournamentEvent};
use domain::AnyEvent;
use sqlx::types::Json;
use sqlx::PgConnection;
use store::RecordedEvent;

use super::stream_channels::link_streams;
use crate::nudge::{NudgeKind, Nudges};

/// Events that change which tournaments a profile is on (the nudge scope of what follows): the
/// batch path scopes the observations folded before one of these by the roster before it.
pub(super) fn changes_roster(e: &AnyEvent) -> bool {
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

fn rank_by(r: RankBy) -> &'static str {
    match r {
        RankBy::PeakRating => "peak_rating",
        RankBy::CurrentRating => "current_rating",
    }
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

pub(super) async fn tournament(
    db: &mut PgConnection,
    event: &RecordedEvent,
    e: &TournamentEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    use TournamentEvent as E;
    if super::webhooks::webhook(db, event, e).await? {
        return Ok(());
    }
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
        E::WebhookRegistered(_)
        | E::WebhookEdited(_)
        | E::WebhookPaused(_)
        | E::WebhookResumed(_)
        | E::WebhookDeleted(_)
        | E::WebhookSecretRotated(_) => return Ok(()),
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
        // Applied by `webhooks::webhook` above.
        E::WebhookRegistered(_)
        | E::WebhookEdited(_)
        | E::WebhookPaused(_)
        | E::WebhookResumed(_)
        | E::WebhookDeleted(_)
        | E::WebhookSecretRotated(_) => {}
    }
    for kind in [NudgeKind::Standings, NudgeKind::Matches, NudgeKind::Live] {
        nudges.touch(kind, [tid]);
    }
    Ok(())
}

pub(super) async fn operator(
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
