//! `GET …/standings/as-of?as_of=<datetime>` (and the older `…/standings?as_of=`): the table as
//! it stood at a past instant, rebuilt from the event log: the tournament's configuration,
//! roster and teams from its events recorded by then, each player's figures from their last
//! observation by then, and only the matches the service had recorded by then. Live indicators are not historical: they read false.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use domain::ladder::{ladder_id, LadderEvent};
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

/// How the players' figures at the instant are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The last relevant events per profile, found by `events_aggregate_time` (served).
    Indexed,
    /// Every profile and ladder event up to the instant, folded (the original way; kept as
    /// the reference the indexed answer is tested against).
    Replay,
}

pub async fn standings(
    pool: &PgPool,
    current: &TournamentRead,
    at: DateTime<Utc>,
    method: Method,
) -> ApiResult<ListEnvelope<StandingRow>> {
    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events
          WHERE aggregate_type = 'Tournament' AND aggregate_id = $1 AND recorded_at <= $2"
    ))
    .bind(&current.slug)
    .bind(at)
    .fetch_all(pool)
    .await?;
    // The aggregate's own fold: config, roster (with presentation) and teams as they stood.
    let state =
        Tournament::replay(
            decode_all(rows)
                .into_iter()
                .filter_map(|(_, event, _)| match event {
                    AnyEvent::Tournament(e) => Some(e),
                    _ => None,
                }),
        );
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
    let profiles = match method {
        Method::Indexed => {
            profiles_indexed(pool, &profile_ids, tournament.leaderboard_id, at).await?
        }
        Method::Replay => {
            profiles_by_replay(pool, &profile_ids, tournament.leaderboard_id, at).await?
        }
    };

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

type StoredEvent = (i64, String, String, String, Value, DateTime<Utc>);

/// Events in log order, decoded (an undecodable one is skipped, as the projector parks it).
fn decode_all(mut rows: Vec<StoredEvent>) -> Vec<(i64, AnyEvent, DateTime<Utc>)> {
    rows.sort_by_key(|r| r.0);
    rows.into_iter()
        .filter_map(
            |(position, aggregate_type, event_type, version, payload, at)| match AnyEvent::decode(
                &aggregate_type,
                &event_type,
                &version,
                payload,
            ) {
                Ok(event) => Some((position, event, at)),
                Err(e) => {
                    tracing::warn!(error = %e, "as_of: undecodable event skipped");
                    None
                }
            },
        )
        .collect()
}

const COLUMNS: &str =
    "global_position, aggregate_type, event_type, event_version, payload::jsonb, recorded_at";

/// The roster's figures at `at` by folding every profile event and ladder rank event up to it.
async fn profiles_by_replay(
    pool: &PgPool,
    profile_ids: &[String],
    board: i64,
    at: DateTime<Utc>,
) -> ApiResult<HashMap<i64, ProfileAt>> {
    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events
          WHERE ((aggregate_type = 'Profile' AND aggregate_id = ANY($1))
                 OR (aggregate_type = 'Ladder' AND aggregate_id LIKE $3))
            AND recorded_at <= $2"
    ))
    .bind(profile_ids)
    .bind(at)
    .bind(format!("{board}@%"))
    .fetch_all(pool)
    .await?;
    Ok(fold(decode_all(rows), board))
}

/// The roster's figures at `at` from only the events that decide them, each found through
/// `events_aggregate_time` (migration 0004): per profile its last `ProfileObserved`, its last
/// `RatingObserved` and `RankObserved` on `board`, and the ladder rank events after that
/// rating, walked back hour by hour from `at` until every profile's rank is settled. Folding
/// these gives what folding everything gives, since every other event is overwritten by one
/// of them (tested against [`Method::Replay`] in `tests/as_of_indexed.rs`).
async fn profiles_indexed(
    pool: &PgPool,
    profile_ids: &[String],
    board: i64,
    at: DateTime<Utc>,
) -> ApiResult<HashMap<i64, ProfileAt>> {
    // "Last" by `recorded_at`: one profile's events are appended by one poller in order, so
    // that is their log order too. The payload filters read the current (only) event version.
    let mut rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT e.* FROM unnest($1::text[]) AS p(id),
                LATERAL (VALUES ('ProfileObserved'), ('RatingObserved'), ('RankObserved'))
                    AS k(event_type),
                LATERAL (SELECT {COLUMNS} FROM events
                          WHERE aggregate_type = 'Profile' AND aggregate_id = p.id
                            AND event_type = k.event_type AND recorded_at <= $2
                            AND CASE k.event_type
                                  WHEN 'RatingObserved' THEN
                                    payload -> 'RatingObserved' -> 'stats' ->> 'leaderboard_id'
                                      = $3::text
                                  WHEN 'RankObserved' THEN
                                    payload -> 'RankObserved' ->> 'leaderboard_id' = $3::text
                                  ELSE true END
                          ORDER BY recorded_at DESC, sequence DESC LIMIT 1) AS e"
    ))
    .bind(profile_ids)
    .bind(at)
    .bind(board)
    .fetch_all(pool)
    .await?;

    // Where each profile's rating stands in the log: ladder events before it do not matter.
    let mut rated: HashMap<i64, (i64, DateTime<Utc>)> = HashMap::new();
    for (position, _, event_type, _, payload, recorded_at) in &rows {
        if event_type == "RatingObserved" {
            if let Some(id) = payload["RatingObserved"]["profile_id"].as_i64() {
                rated.insert(id, (*position, *recorded_at));
            }
        }
    }
    // Walk the ladder's hourly aggregates back from `at`. The first event of each hour
    // repeats every rank, so this nearly always ends within the hour of `at`. A profile is
    // settled by a later event naming it, or by reaching its rating. Hours are named by
    // observation time, which precedes recording: an hour's events are recorded at or after
    // its start, so one starting more than an hour (of slack) before the oldest unsettled
    // rating holds nothing newer than it.
    let mut unsettled = rated.clone();
    // Nothing is recorded in the future: a far-future `at` starts from now.
    let mut hour = at.min(Utc::now()) + Duration::hours(1);
    // Hours per query: a few, then doubling while the walk goes on (a ladder left unpolled),
    // so even a year is a dozen queries.
    let mut span = 3;
    while let Some(oldest) = unsettled.values().map(|(_, t)| *t).min() {
        if hour < oldest - Duration::hours(2) {
            break;
        }
        let ids: Vec<String> = (0..span)
            .map(|h| ladder_id(board, hour - Duration::hours(h)))
            .collect();
        hour -= Duration::hours(span);
        span = (span * 2).min(24 * 32);
        let ladder: Vec<StoredEvent> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM events
              WHERE aggregate_type = 'Ladder' AND aggregate_id = ANY($1) AND recorded_at <= $2
              ORDER BY global_position DESC"
        ))
        .bind(&ids)
        .bind(at)
        .fetch_all(pool)
        .await?;
        for row in ladder {
            let position = row.0;
            unsettled.retain(|_, (rating_position, _)| *rating_position < position);
            if unsettled.is_empty() {
                break;
            }
            if let Some(ranks) = row.4["LadderRanksObserved"]["ranks"].as_array() {
                for r in ranks {
                    if let Some(id) = r["profile_id"].as_i64() {
                        unsettled.remove(&id);
                    }
                }
            }
            rows.push(row);
        }
    }
    Ok(fold(decode_all(rows), board))
}

/// The roster's figures from their events in log order, as the profile aggregate and the
/// ladder projection fold them.
fn fold(events: Vec<(i64, AnyEvent, DateTime<Utc>)>, board: i64) -> HashMap<i64, ProfileAt> {
    let mut profiles: HashMap<i64, ProfileAt> = HashMap::new();
    for (_, event, recorded_at) in events {
        let event = match event {
            AnyEvent::Profile(event) => event,
            AnyEvent::Ladder(LadderEvent::LadderRanksObserved {
                leaderboard_id,
                ranks,
                ..
            }) if leaderboard_id == board => {
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
            } if stats.leaderboard_id == board => {
                profiles.entry(profile_id).or_default().ladder = Some((stats, recorded_at));
            }
            ProfileEvent::RankObserved {
                profile_id,
                leaderboard_id,
                rank,
                rank_total,
                ..
            } if leaderboard_id == board => {
                if let Some((stats, _)) = &mut profiles.entry(profile_id).or_default().ladder {
                    stats.rank = rank;
                    stats.rank_total = rank_total;
                }
            }
            _ => {}
        }
    }
    profiles
}
