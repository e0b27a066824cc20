//! `GET …/standings/as-of?as_of=<datetime>` (and the older `…/standings?as_of=`): the table as
//! it stood at a past instant, rebuilt from the event log: the tournament's configuration,
//! roster and teams from its events recorded by then, each player's figures from their last
//! observation by then, and only the matches the service had recorded by then. Live indicators are not historical: they read false.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::ladder::LadderEvent;
use domain::profile::{LadderStats, ProfileEvent, ProfileIdentity};
use domain::tournament::{Tournament, TournamentConfig};
use domain::AnyEvent;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgPool;

use crate::catalog::ListEnvelope;
use crate::error::{ApiError, ApiResult};
use crate::standings::{load_with, RosterRow, StandingRow};
use crate::tournaments::{rank_by_text, TournamentRead};

#[derive(Default)]
struct ProfileAt {
    identity: Option<(ProfileIdentity, DateTime<Utc>)>,
    ladder: Option<(LadderStats, DateTime<Utc>)>,
}

type StoredEvent = (String, String, String, Value, DateTime<Utc>);

fn decode(row: StoredEvent) -> Option<(AnyEvent, DateTime<Utc>)> {
    let (aggregate_type, event_type, version, payload, recorded_at) = row;
    match AnyEvent::decode(&aggregate_type, &event_type, &version, payload) {
        Ok(event) => Some((event, recorded_at)),
        Err(e) => {
            tracing::warn!(error = %e, "as_of: undecodable event skipped");
            None
        }
    }
}

pub async fn standings(
    pool: &PgPool,
    current: &TournamentRead,
    at: DateTime<Utc>,
) -> ApiResult<ListEnvelope<StandingRow>> {
    let rows: Vec<StoredEvent> = sqlx::query_as(
        "SELECT aggregate_type, event_type, event_version, payload::jsonb, recorded_at FROM events
          WHERE aggregate_type = 'Tournament' AND aggregate_id = $1 AND recorded_at <= $2
          ORDER BY sequence",
    )
    .bind(&current.slug)
    .bind(at)
    .fetch_all(pool)
    .await?;
    // The aggregate's own fold: config, roster (with presentation) and teams as they stood.
    let state =
        Tournament::replay(rows.into_iter().filter_map(decode).filter_map(
            |(event, _)| match event {
                AnyEvent::Tournament(e) => Some(e),
                _ => None,
            },
        ));
    // A reused slug's other tournament, or none yet: this tournament did not exist then.
    let config = match (state.tournament_id, state.config) {
        (Some(id), Some(config)) if id == current.id => config,
        _ => return Err(ApiError::NotFound("Tournament not found")),
    };
    let mut tournament = current.clone();
    apply_config(&mut tournament, config);
    let (roster, teams) = (state.roster, state.teams);

    let profile_ids: Vec<String> = roster
        .values()
        .filter_map(|r| r.profile_id.map(|p| p.to_string()))
        .collect();
    // The roster's profile events and the tournament ladder's rank events (ids
    // `<leaderboard>@<hour>`, see `domain::ladder`), in log order.
    let rows: Vec<StoredEvent> = sqlx::query_as(
        "SELECT aggregate_type, event_type, event_version, payload::jsonb, recorded_at FROM events
          WHERE ((aggregate_type = 'Profile' AND aggregate_id = ANY($1))
                 OR (aggregate_type = 'Ladder' AND aggregate_id LIKE $3))
            AND recorded_at <= $2
          ORDER BY global_position",
    )
    .bind(&profile_ids)
    .bind(at)
    .bind(format!("{}@%", tournament.leaderboard_id))
    .fetch_all(pool)
    .await?;
    let mut profiles: HashMap<i64, ProfileAt> = HashMap::new();
    for (event, recorded_at) in rows.into_iter().filter_map(decode) {
        let event = match event {
            AnyEvent::Profile(event) => event,
            AnyEvent::Ladder(LadderEvent::LadderRanksObserved {
                leaderboard_id,
                ranks,
                ..
            }) if leaderboard_id == tournament.leaderboard_id => {
                // As `RankObserved`: only a player with a rating row so far.
                for r in ranks {
                    if let Some(ProfileAt {
                        ladder: Some((stats, _)),
                        ..
                    }) = profiles.get_mut(&r.profile_id)
                    {
                        stats.rank = r.rank;
                        stats.rank_total = r.rank_total;
                    }
                }
                continue;
            }
            _ => continue,
        };
        match event {
            ProfileEvent::ProfileObserved {
                profile_id,
                identity,
                ..
            } => {
                profiles.entry(profile_id).or_default().identity = Some((identity, recorded_at));
            }
            ProfileEvent::RatingObserved {
                profile_id, stats, ..
            } if stats.leaderboard_id == tournament.leaderboard_id => {
                profiles.entry(profile_id).or_default().ladder = Some((stats, recorded_at));
            }
            ProfileEvent::RankObserved {
                profile_id,
                leaderboard_id,
                rank,
                rank_total,
                ..
            } if leaderboard_id == tournament.leaderboard_id => {
                if let Some((stats, _)) = &mut profiles.entry(profile_id).or_default().ladder {
                    stats.rank = rank;
                    stats.rank_total = rank_total;
                }
            }
            _ => {}
        }
    }

    let team_of = |id: i64| teams.iter().find(|(_, t)| t.members.contains(&id));
    let roster_rows: Vec<RosterRow> = roster
        .into_iter()
        .map(|(id, r)| {
            let p = r.profile_id.and_then(|p| profiles.get(&p));
            let identity = p.and_then(|p| p.identity.as_ref());
            let ladder = p.and_then(|p| p.ladder.as_ref());
            let team = team_of(id);
            RosterRow {
                id,
                profile_id: r.profile_id,
                name: r.name,
                presentation: Json(r.presentation),
                polled: identity.is_some(),
                alias: identity.map(|(i, _)| i.alias.clone()),
                country: identity.and_then(|(i, _)| i.country.clone()),
                player_updated_at: identity.map(|(_, at)| *at),
                current_rating: ladder.map(|(s, _)| s.rating),
                max_rating: ladder.map(|(s, _)| s.highest_rating.max(s.rating)),
                wins: ladder.map(|(s, _)| s.wins),
                losses: ladder.map(|(s, _)| s.losses),
                streak: ladder.map(|(s, _)| s.streak),
                rank: ladder.and_then(|(s, _)| s.rank),
                rank_total: ladder.and_then(|(s, _)| s.rank_total),
                last_match_at: ladder.and_then(|(s, _)| s.last_match_at),
                rating_updated_at: ladder.map(|(_, at)| *at),
                team_id: team.map(|(id, _)| *id),
                team_name: team.map(|(_, t)| t.name.clone()),
                team_initials: team.map(|(_, t)| t.initials.clone()),
                live_match_id: None,
                stream_live: false,
                stream_title: None,
                stream_category: None,
            }
        })
        .collect();
    let loaded = load_with(pool, &tournament, at, roster_rows, Some(at)).await?;
    let items = loaded.standing_rows();
    Ok(ListEnvelope {
        last_polled_at: items.iter().filter_map(|r| r.updated_at).max(),
        items,
    })
}

fn apply_config(t: &mut TournamentRead, config: TournamentConfig) {
    t.name = config.name;
    t.leaderboard_id = config.leaderboard_id;
    t.rank_by = rank_by_text(config.rank_by);
    t.start_date = config.start_date;
    t.end_date = config.end_date;
    t.prize_pool_cents = config.prize_pool_cents;
    t.host_stream_urls = Json(config.host_stream_urls);
    t.presentation = Json(config.presentation);
}
