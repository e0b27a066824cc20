//! `GET /v1/tournaments/{tournament_slug}/standings/history`: the bump chart (seed contract §4.6): the
//! table's positions over time, with daily buckets plus a bucket whenever positions change.

use std::collections::BTreeSet;

use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use domain::standings::desc_nulls_last;
use domain::tournament::RankBy;
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::respond::{cached_read, CacheClass};
use crate::standings::{display_name, load, Loaded};
use crate::tournaments::TournamentRead;
use crate::wire::{ser_dt, ser_opt_dt};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/tournaments/{tournament_slug}/standings/history",
        get(history),
    )
}

// Document identity: `current_rating` is optional in the original's schema.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["current_rating"]))]
pub(crate) struct StandingHistoryPoint {
    position: usize,
    peak_rating: Option<i64>,
    current_rating: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PlayerStandingHistory {
    tournament_player_id: i64,
    profile_id: Option<i64>,
    name: String,
    points: Vec<StandingHistoryPoint>,
}

// Document identity: Both combined figures are optional in the original's schema.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(
    rename = "TeamStandingHistoryPoint",
    transform = crate::openapi::optional(&["combined_peak_elo", "combined_current_elo"])
)]
pub(crate) struct TeamHistoryPoint {
    position: usize,
    combined_peak_elo: Option<i64>,
    combined_current_elo: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TeamStandingHistory {
    team_id: i64,
    name: String,
    initials: String,
    points: Vec<TeamHistoryPoint>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct StandingsHistory {
    #[serde(serialize_with = "ser_opt_dt")]
    last_polled_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_buckets")]
    buckets: Vec<DateTime<Utc>>,
    players: Vec<PlayerStandingHistory>,
    teams: Vec<TeamStandingHistory>,
}

fn ser_buckets<S: serde::Serializer>(b: &[DateTime<Utc>], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Dt(#[serde(serialize_with = "ser_dt")] DateTime<Utc>);
    s.collect_seq(b.iter().map(|d| Dt(*d)))
}

cached_read!(history, "standings/history", CacheClass::AuthAware, compute);

/// One entrant's inputs to the sweep.
struct Entrant {
    tournament_player_id: i64,
    profile_id: Option<i64>,
    name: String,
    base_name: String,
    team_id: Option<i64>,
    live_max: Option<i64>,
    live_current: Option<i64>,
    /// In-window (completed_at, new_rating), oldest first.
    log: Vec<(DateTime<Utc>, i64)>,
    /// In-window snapshot observations of the mode's column, oldest first.
    observations: Vec<(DateTime<Utc>, i64)>,
    baseline: Option<i64>,
}

async fn compute(state: &AppState, t: TournamentRead) -> ApiResult<StandingsHistory> {
    let data = load(state, &t, Utc::now()).await?;
    let empty = StandingsHistory {
        last_polled_at: None,
        buckets: vec![],
        players: vec![],
        teams: vec![],
    };
    if data.roster.is_empty() {
        return Ok(empty);
    }
    let peak_mode = data.rank_by == RankBy::PeakRating;
    let profiles: Vec<i64> = data.roster.iter().filter_map(|r| r.profile_id).collect();
    // Snapshots of the mode's column up to the end of the window.
    let snapshots = sqlx::query_as::<_, (i64, DateTime<Utc>, i64, Option<i64>)>(
        "SELECT profile_id, observed_at, max_rating, current_rating
           FROM live.player_rating_snapshots
          WHERE profile_id = ANY($1) AND leaderboard_id = $2
            AND observed_at <= coalesce($3, 'infinity'::timestamptz)
          ORDER BY observed_at, position",
    )
    .bind(&profiles)
    .bind(t.leaderboard_id)
    .bind(t.end_date)
    .fetch_all(&state.pool);
    // Games before the window, for the rebase-aware pre-event peak.
    let pre_window = async {
        let rows: Vec<(i64, Option<i64>, Option<i64>)> = match (peak_mode, t.start_date) {
            (true, Some(start)) => {
                sqlx::query_as(
                    "SELECT mp.profile_id, mp.old_rating, mp.new_rating
                       FROM live.match_players mp JOIN live.matches m ON m.match_id = mp.match_id
                      WHERE mp.profile_id = ANY($1) AND m.leaderboard_id = $2 AND m.started_at < $3
                      ORDER BY m.started_at, m.match_id",
                )
                .bind(&profiles)
                .bind(t.leaderboard_id)
                .bind(start)
                .fetch_all(&state.pool)
                .await?
            }
            _ => vec![],
        };
        Ok::<_, ApiError>(rows)
    };
    let teams = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT id, name, initials FROM live.teams WHERE tournament_id = $1 ORDER BY id",
    )
    .bind(t.id)
    .fetch_all(&state.pool);
    // Concurrently, on their own pooled connections (see `load`).
    let (snapshots, pre_window, teams) = tokio::try_join!(
        async { Ok::<_, ApiError>(snapshots.await?) },
        pre_window,
        async { Ok::<_, ApiError>(teams.await?) },
    )?;
    let entrants = entrants(&data, &t, peak_mode, &snapshots, &pre_window);

    // The time axis.
    let mut event_times: Vec<DateTime<Utc>> = entrants
        .iter()
        .flat_map(|e| {
            e.log
                .iter()
                .map(|p| p.0)
                .chain(e.observations.iter().map(|p| p.0))
        })
        .collect();
    event_times.sort_unstable();
    let Some(start) = t.start_date.or_else(|| event_times.first().copied()) else {
        return Ok(empty);
    };
    let last_event = event_times.last().copied().unwrap_or(start).max(start);
    let anchors = daily_anchors(start, last_event);
    let mut candidates: BTreeSet<DateTime<Utc>> = anchors.clone();
    candidates.extend(event_times.iter().copied().filter(|&e| e >= start));

    let mut buckets = vec![];
    let mut player_points: Vec<Vec<StandingHistoryPoint>> =
        entrants.iter().map(|_| vec![]).collect();
    let mut team_points: Vec<Vec<TeamHistoryPoint>> = teams.iter().map(|_| vec![]).collect();
    let mut previous: Option<Vec<usize>> = None;
    let count = candidates.len();
    let mut progress: Vec<Progress> = entrants.iter().map(|_| Progress::default()).collect();
    for (i, at) in candidates.into_iter().enumerate() {
        // Metric and tiebreak of every entrant at `at`.
        let values: Vec<(Option<i64>, Option<i64>)> = entrants
            .iter()
            .zip(&mut progress)
            .map(|(e, progress)| metric_at(e, progress, at, peak_mode))
            .collect();
        let mut order: Vec<usize> = (0..entrants.len()).collect();
        order.sort_by(|&a, &b| {
            desc_nulls_last(values[a].0, values[b].0)
                .then(desc_nulls_last(values[a].1, values[b].1))
                .then(entrants[a].base_name.cmp(&entrants[b].base_name))
                .then(
                    entrants[a]
                        .tournament_player_id
                        .cmp(&entrants[b].tournament_player_id),
                )
        });
        let mut positions = vec![0; entrants.len()];
        for (rank, &idx) in order.iter().enumerate() {
            positions[idx] = rank + 1;
        }
        let changed = previous.as_ref() != Some(&positions);
        if anchors.contains(&at) || changed || i + 1 == count {
            buckets.push(at);
            for (idx, points) in player_points.iter_mut().enumerate() {
                let metric = values[idx].0;
                points.push(StandingHistoryPoint {
                    position: positions[idx],
                    peak_rating: metric.filter(|_| peak_mode),
                    current_rating: metric.filter(|_| !peak_mode),
                });
            }
            let combined: Vec<i64> = teams
                .iter()
                .map(|(team_id, _, _)| {
                    entrants
                        .iter()
                        .zip(&values)
                        .filter(|(e, _)| e.team_id == Some(*team_id))
                        .map(|(_, v)| v.0.unwrap_or(0))
                        .sum()
                })
                .collect();
            let mut team_order: Vec<usize> = (0..teams.len()).collect();
            team_order.sort_by(|&a, &b| {
                combined[b]
                    .cmp(&combined[a])
                    .then(teams[a].0.cmp(&teams[b].0))
            });
            for (rank, &idx) in team_order.iter().enumerate() {
                team_points[idx].push(TeamHistoryPoint {
                    position: rank + 1,
                    combined_peak_elo: peak_mode.then_some(combined[idx]),
                    combined_current_elo: (!peak_mode).then_some(combined[idx]),
                });
            }
        }
        previous = Some(positions);
    }

    let mut players: Vec<PlayerStandingHistory> = entrants
        .iter()
        .zip(player_points)
        .map(|(e, points)| PlayerStandingHistory {
            tournament_player_id: e.tournament_player_id,
            profile_id: e.profile_id,
            name: e.name.clone(),
            points,
        })
        .collect();
    players.sort_by_key(|p| p.tournament_player_id);
    let teams = teams
        .into_iter()
        .zip(team_points)
        .map(|((team_id, name, initials), points)| TeamStandingHistory {
            team_id,
            name,
            initials,
            points,
        })
        .collect();
    Ok(StandingsHistory {
        last_polled_at: event_times.last().copied(),
        buckets,
        players,
        teams,
    })
}

/// Daily anchors kept at most, counted back from the day of the last event.
const MAX_DAILY_ANCHORS: i64 = 1_000;

/// The time axis's anchors (contract step 5): the start, and every midnight (UTC) from the
/// start's day through the last event's, but at most [`MAX_DAILY_ANCHORS`] of them. A window
/// may start in year 1 (found by the fuzz test): two thousand years of daily buckets made a
/// response that took minutes to build. Days before the kept ones still get a bucket for every
/// change of positions (event times are candidates of their own).
fn daily_anchors(start: DateTime<Utc>, last_event: DateTime<Utc>) -> BTreeSet<DateTime<Utc>> {
    let midnight = |d: DateTime<Utc>| d.date_naive().and_time(NaiveTime::MIN).and_utc();
    let last_day = midnight(last_event);
    let mut anchors = BTreeSet::from([start]);
    let mut day = midnight(start).max(last_day - Duration::days(MAX_DAILY_ANCHORS - 1));
    while day <= last_day {
        anchors.insert(day.max(start));
        day += Duration::days(1);
    }
    anchors
}

fn entrants(
    data: &Loaded,
    t: &TournamentRead,
    peak_mode: bool,
    snapshots: &[(i64, DateTime<Utc>, i64, Option<i64>)],
    pre_window: &[(i64, Option<i64>, Option<i64>)],
) -> Vec<Entrant> {
    data.roster
        .iter()
        .map(|r| {
            let (live_current, live_max) = (r.current_rating, r.max_rating);
            let mut log = vec![];
            let mut entry_rating = None;
            let mut observations = vec![];
            let mut pre_start_observation = None;
            let mut pre_event_peak: Option<i64> = None;
            if let Some(profile) = r.profile_id {
                let mut games = data.games_of(profile);
                games.retain(|(_, m, me)| m.completed_at.is_some() && me.new_rating.is_some());
                games.sort_by(|a, b| a.1.completed_at.cmp(&b.1.completed_at).then(a.0.cmp(&b.0)));
                entry_rating = games.first().and_then(|g| g.2.old_rating);
                log = games
                    .iter()
                    .filter_map(|(_, m, me)| Some((m.completed_at?, me.new_rating?)))
                    .collect();
                for s in snapshots.iter().filter(|s| s.0 == profile) {
                    let value = if peak_mode { Some(s.2) } else { s.3 };
                    let Some(value) = value else { continue };
                    match t.start_date {
                        Some(start) if s.1 <= start => pre_start_observation = Some(value),
                        _ => observations.push((s.1, value)),
                    }
                }
                // Rebase-aware: a value above today's peak belongs to a dead era; start over.
                for (_, old, new) in pre_window.iter().filter(|g| g.0 == profile) {
                    for v in [old, new].into_iter().flatten() {
                        if live_max.is_some_and(|m| *v > m) {
                            pre_event_peak = None;
                        } else {
                            pre_event_peak = pre_event_peak.max(Some(*v));
                        }
                    }
                }
            }
            let snapshot_baseline =
                pre_start_observation.or_else(|| observations.first().map(|o| o.1));
            let baseline = if peak_mode {
                live_max.map(|live| {
                    let max_in_window = log.iter().map(|p| p.1).max();
                    let base = snapshot_baseline
                        .or_else(|| (max_in_window.is_none_or(|m| live > m)).then_some(live))
                        .or(pre_event_peak);
                    match (base, entry_rating) {
                        (Some(b), Some(e)) => b.max(e),
                        (b, e) => b.or(e).unwrap_or(live),
                    }
                })
            } else {
                live_current.and(entry_rating.or(snapshot_baseline).or(live_current))
            };
            Entrant {
                tournament_player_id: r.id,
                profile_id: r.profile_id,
                name: display_name(&r.presentation.0, &r.name),
                base_name: r.name.clone(),
                team_id: r.team_id,
                live_max,
                live_current,
                log,
                observations,
                baseline,
            }
        })
        .collect()
}

/// (metric, tiebreak) of an entrant at `at`.
/// How far [`metric_at`] has read an entrant's log and observations (both in time order), and
/// the largest value of each so far: the candidates come in time order, so every point is
/// read once instead of once per candidate.
#[derive(Default)]
struct Progress {
    log: usize,
    seen: usize,
    log_max: Option<i64>,
    seen_max: Option<i64>,
}

/// Reads `points` (in time order) from `*next` up to `at`; returns the largest value read.
fn advance(points: &[(DateTime<Utc>, i64)], next: &mut usize, at: DateTime<Utc>) -> Option<i64> {
    let mut max = None;
    while let Some(p) = points.get(*next).filter(|p| p.0 <= at) {
        max = max.max(Some(p.1));
        *next += 1;
    }
    max
}

/// The metric and tiebreak of `e` at `at`, no earlier than the last call with `progress`.
fn metric_at(
    e: &Entrant,
    progress: &mut Progress,
    at: DateTime<Utc>,
    peak_mode: bool,
) -> (Option<i64>, Option<i64>) {
    progress.log_max = progress.log_max.max(advance(&e.log, &mut progress.log, at));
    progress.seen_max = progress
        .seen_max
        .max(advance(&e.observations, &mut progress.seen, at));
    let log = &e.log[..progress.log];
    let seen = &e.observations[..progress.seen];
    if peak_mode {
        let metric = e.live_max.and_then(|live| {
            let best = [e.baseline, progress.seen_max, progress.log_max]
                .into_iter()
                .flatten()
                .max();
            best.map(|b| b.min(live))
        });
        (metric, log.last().map(|p| p.1).or(e.live_current))
    } else {
        let metric = match (log.last(), seen.last()) {
            (Some(l), Some(s)) => Some(if l.0 >= s.0 { l.1 } else { s.1 }),
            (Some(l), None) => Some(l.1),
            (None, Some(s)) => Some(s.1),
            (None, None) => e.baseline,
        };
        (e.live_current.and(metric), e.live_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn anchors_are_the_start_and_each_midnight_through_the_last_event() {
        let anchors = daily_anchors(t("2026-05-01T12:00:00Z"), t("2026-05-03T08:00:00Z"));
        assert_eq!(
            anchors.into_iter().collect::<Vec<_>>(),
            [
                t("2026-05-01T12:00:00Z"),
                t("2026-05-02T00:00:00Z"),
                t("2026-05-03T00:00:00Z")
            ]
        );
        let same_day = daily_anchors(t("2026-05-01T12:00:00Z"), t("2026-05-01T12:00:00Z"));
        assert_eq!(same_day.len(), 1);
    }

    #[test]
    fn a_window_opened_in_year_one_keeps_the_last_thousand_days() {
        let start = t("0001-01-01T00:00:00Z");
        let last = t("2026-05-03T08:00:00Z");
        let anchors = daily_anchors(start, last);
        assert_eq!(anchors.len() as i64, MAX_DAILY_ANCHORS + 1);
        assert_eq!(anchors.first(), Some(&start));
        assert_eq!(anchors.last(), Some(&t("2026-05-03T00:00:00Z")));
    }
}
