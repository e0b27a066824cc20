//! The per-tournament reads derived from the same loaded data as the standings: team standings,
//! civ stats, head-to-head, progression and the summary cards (seed contract §4.7-4.10).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use domain::matches::Outcome;
use domain::standings as rules;
use domain::tournament::RankBy;
use schemars::JsonSchema;
use serde::Serialize;

use crate::catalog::ListEnvelope;
use crate::error::{ApiError, ApiResult};
use crate::query::Params;
use crate::respond::{cached, cached_read, CacheClass};
use crate::standings::{display_name, load, parse_outcome, Loaded};
use crate::tournaments::TournamentRead;
use crate::wire::{ser_dt, ser_opt_dt};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/tournaments/{tournament_slug}/teams/standings",
            get(team_standings),
        )
        .route(
            "/v1/tournaments/{tournament_slug}/civ-stats",
            get(civ_stats),
        )
        .route(
            "/v1/tournaments/{tournament_slug}/head-to-head",
            get(head_to_head),
        )
        .route(
            "/v1/tournaments/{tournament_slug}/progression",
            get(progression),
        )
        .route("/v1/tournaments/{tournament_slug}/summary", get(summary))
}

async fn loaded(state: &AppState, t: &TournamentRead) -> ApiResult<Loaded> {
    load(state, t, Utc::now()).await
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CivStat {
    pub civilization_id: i64,
    pub name: Option<String>,
    pub picks: i64,
    pub wins: i64,
}

/// Civ picks and wins of one profile's in-window games; the unknown civ (-1) is skipped.
fn civ_counts(data: &Loaded, profile: i64, into: &mut BTreeMap<i64, (i64, i64)>) {
    for (_, _, me) in data.games_of(profile) {
        if me.civilization_id == domain::rules::UNKNOWN_CIVILIZATION_ID {
            continue;
        }
        let entry = into.entry(me.civilization_id).or_default();
        entry.0 += 1;
        if parse_outcome(me.outcome.as_deref()) == Some(Outcome::Win) {
            entry.1 += 1;
        }
    }
}

/// Picks DESC, then civ id ASC.
fn civ_list(data: &Loaded, counts: &BTreeMap<i64, (i64, i64)>) -> Vec<CivStat> {
    let mut list: Vec<CivStat> = counts
        .iter()
        .map(|(id, (picks, wins))| CivStat {
            civilization_id: *id,
            name: data.games.civs.get(id).cloned(),
            picks: *picks,
            wins: *wins,
        })
        .collect();
    list.sort_by(|a, b| {
        b.picks
            .cmp(&a.picks)
            .then(a.civilization_id.cmp(&b.civilization_id))
    });
    list
}

// Document identity: `alias` is nullable in the original's schema (ours falls back to the roster
// name).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TeamMemberRead {
    tournament_player_id: i64,
    profile_id: Option<i64>,
    #[schemars(with = "Option<String>")]
    alias: String,
    country: Option<String>,
    current_rating: Option<i64>,
    max_rating: Option<i64>,
    in_match: bool,
    live_match_id: Option<i64>,
    is_captain: bool,
    wins: i64,
    losses: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TeamStandingRow {
    team_id: i64,
    name: String,
    initials: String,
    member_count: i64,
    combined_rating_sum: i64,
    combined_rating_average: f64,
    combined_wins: i64,
    combined_losses: i64,
    civs: Vec<CivStat>,
    members: Vec<TeamMemberRead>,
    /// Win percentage (0–100, 1 dp) over the team's combined in-window games; null when none.
    #[schemars(extend("readOnly" = true))]
    win_pct: Option<f64>,
}

cached_read!(
    team_standings,
    "teams/standings",
    CacheClass::AuthAware,
    team_standings_body
);

async fn team_standings_body(
    state: &AppState,
    t: TournamentRead,
) -> ApiResult<ListEnvelope<TeamStandingRow>> {
    // Concurrently, on their own pooled connections (see `load`).
    let teams = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT id, name, initials FROM live.teams WHERE tournament_id = $1 ORDER BY id",
    )
    .bind(t.id)
    .fetch_all(&state.pool);
    let captains = sqlx::query_as::<_, (i64, bool)>(
        "SELECT tm.tournament_player_id, tm.is_captain FROM live.team_members tm
           JOIN live.teams t ON t.id = tm.team_id WHERE t.tournament_id = $1",
    )
    .bind(t.id)
    .fetch_all(&state.pool);
    let (data, teams, captains) = tokio::try_join!(
        loaded(state, &t),
        async { Ok::<_, ApiError>(teams.await?) },
        async { Ok::<_, ApiError>(captains.await?) },
    )?;
    let captains: HashMap<i64, bool> = captains.into_iter().collect();
    let mut rows = vec![];
    let mut last_polled_at: Option<DateTime<Utc>> = None;
    for (team_id, name, initials) in teams {
        let mut members = vec![];
        let (mut sum, mut rated, mut wins, mut losses) = (0i64, 0i64, 0i64, 0i64);
        let mut civs = BTreeMap::new();
        for r in data.roster.iter().filter(|r| r.team_id == Some(team_id)) {
            let (current, max) = data.ratings(r);
            let metric = match data.rank_by {
                RankBy::PeakRating => max,
                RankBy::CurrentRating => current,
            };
            if let Some(m) = metric {
                sum += m;
                rated += 1;
            }
            let record = r.profile_id.map(|p| data.record_of(p)).unwrap_or_default();
            wins += record.wins;
            losses += record.losses;
            if let Some(p) = r.profile_id {
                civ_counts(&data, p, &mut civs);
            }
            last_polled_at = last_polled_at.max(r.rating_updated_at);
            members.push((
                metric,
                TeamMemberRead {
                    tournament_player_id: r.id,
                    profile_id: r.profile_id,
                    alias: r.alias.clone().unwrap_or_else(|| r.name.clone()),
                    country: r.country.clone(),
                    current_rating: current,
                    max_rating: max,
                    in_match: r.live_match_id.is_some(),
                    live_match_id: r.live_match_id,
                    is_captain: captains.get(&r.id).copied().unwrap_or(false),
                    wins: record.wins,
                    losses: record.losses,
                },
            ));
        }
        // Members by metric DESC, unrated last.
        members.sort_by(|a, b| rules::desc_nulls_last(a.0, b.0));
        rows.push(TeamStandingRow {
            team_id,
            name,
            initials,
            member_count: members.len() as i64,
            combined_rating_sum: sum,
            combined_rating_average: if rated > 0 {
                sum as f64 / rated as f64
            } else {
                0.0
            },
            combined_wins: wins,
            combined_losses: losses,
            civs: civ_list(&data, &civs),
            members: members.into_iter().map(|(_, m)| m).collect(),
            win_pct: rules::win_pct(wins, wins + losses),
        });
    }
    rows.sort_by(|a, b| {
        b.combined_rating_sum
            .cmp(&a.combined_rating_sum)
            .then(a.team_id.cmp(&b.team_id))
    });
    let envelope = ListEnvelope {
        last_polled_at,
        items: rows,
    };
    Ok(envelope)
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PlayerCivStats {
    tournament_player_id: i64,
    profile_id: i64,
    civs: Vec<CivStat>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CivStats {
    #[serde(serialize_with = "ser_opt_dt")]
    last_polled_at: Option<DateTime<Utc>>,
    overall: Vec<CivStat>,
    by_player: Vec<PlayerCivStats>,
}

cached_read!(
    civ_stats,
    "civ-stats",
    CacheClass::AuthAware,
    civ_stats_body
);

async fn civ_stats_body(state: &AppState, t: TournamentRead) -> ApiResult<CivStats> {
    let data = loaded(state, &t).await?;
    let mut overall = BTreeMap::new();
    let mut by_player = vec![];
    let mut last_polled_at = None;
    let mut roster: Vec<_> = data
        .roster
        .iter()
        .filter(|r| r.profile_id.is_some())
        .collect();
    roster.sort_by_key(|r| r.id);
    for r in roster {
        let Some(profile) = r.profile_id else {
            continue;
        };
        let mut mine = BTreeMap::new();
        civ_counts(&data, profile, &mut mine);
        for (_, m, me) in data.games_of(profile) {
            if me.civilization_id != domain::rules::UNKNOWN_CIVILIZATION_ID {
                last_polled_at = last_polled_at.max(m.completed_at);
            }
        }
        for (civ, (picks, wins)) in &mine {
            let e = overall.entry(*civ).or_insert((0, 0));
            e.0 += picks;
            e.1 += wins;
        }
        if !mine.is_empty() {
            by_player.push(PlayerCivStats {
                tournament_player_id: r.id,
                profile_id: profile,
                civs: civ_list(&data, &mine),
            });
        }
    }
    let body = CivStats {
        last_polled_at,
        overall: civ_list(&data, &overall),
        by_player,
    };
    Ok(body)
}

// Document identity: `team_id` (the game's team number) is optional and nullable in the original's
// schema.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["team_id"]))]
pub(crate) struct HeadToHeadPlayer {
    tournament_player_id: i64,
    profile_id: i64,
    name: String,
    #[schemars(with = "Option<i64>")]
    team_id: i64,
    civilization_id: i64,
    civilization_name: Option<String>,
    old_rating: Option<i64>,
    new_rating: Option<i64>,
    #[schemars(with = "Option<crate::openapi::shapes::MatchOutcome>")]
    outcome: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct HeadToHeadMatch {
    match_id: i64,
    map_name: String,
    #[serde(serialize_with = "ser_dt")]
    started_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_opt_dt")]
    completed_at: Option<DateTime<Utc>>,
    duration_seconds: Option<i64>,
    entrants: Vec<HeadToHeadPlayer>,
    #[serde(skip)]
    updated_at: DateTime<Utc>,
}

async fn head_to_head(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let limit = Params(params).int_in("limit", 1, 200, 50)? as usize;
    cached(
        &state,
        &slug,
        format!("head-to-head?limit={limit}"),
        CacheClass::AuthAware,
        &headers,
        |t| head_to_head_body(&state, t, limit),
    )
    .await
}

async fn head_to_head_body(
    state: &AppState,
    t: TournamentRead,
    limit: usize,
) -> ApiResult<ListEnvelope<HeadToHeadMatch>> {
    let data = loaded(state, &t).await?;
    let mut items: Vec<HeadToHeadMatch> = vec![];
    for (match_id, m) in &data.games.matches {
        let mut entrants: Vec<HeadToHeadPlayer> = m
            .players
            .iter()
            .filter(|p| p.outcome.is_some())
            .filter_map(|p| {
                let (tpid, name) = data.roster_by_profile.get(&p.profile_id)?;
                Some(HeadToHeadPlayer {
                    tournament_player_id: *tpid,
                    profile_id: p.profile_id,
                    name: name.clone(),
                    team_id: p.team_id,
                    civilization_id: p.civilization_id,
                    civilization_name: data.games.civs.get(&p.civilization_id).cloned(),
                    old_rating: p.old_rating,
                    new_rating: p.new_rating,
                    outcome: p.outcome.clone(),
                })
            })
            .collect();
        let mut teams: Vec<i64> = entrants.iter().map(|e| e.team_id).collect();
        teams.sort_unstable();
        teams.dedup();
        // Rostered entrants on at least two sides; allies alone do not count.
        if entrants.len() < 2 || teams.len() < 2 || m.completed_at.is_none() {
            continue;
        }
        entrants.sort_by(|a, b| {
            let win = |e: &HeadToHeadPlayer| e.outcome.as_deref() == Some("win");
            win(b).cmp(&win(a)).then(b.old_rating.cmp(&a.old_rating))
        });
        items.push(HeadToHeadMatch {
            match_id: *match_id,
            map_name: m.map_name.clone(),
            started_at: m.started_at,
            completed_at: m.completed_at,
            duration_seconds: m.completed_at.map(|c| (c - m.started_at).num_seconds()),
            entrants,
            updated_at: m.updated_at,
        });
    }
    items.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then(b.match_id.cmp(&a.match_id))
    });
    items.truncate(limit);
    let envelope = ListEnvelope {
        last_polled_at: items.iter().map(|m| m.updated_at).max(),
        items,
    };
    Ok(envelope)
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RatingPoint {
    #[serde(serialize_with = "ser_dt")]
    completed_at: DateTime<Utc>,
    rating: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PlayerProgression {
    tournament_player_id: i64,
    profile_id: i64,
    alias: String,
    points: Vec<RatingPoint>,
}

cached_read!(
    progression,
    "progression",
    CacheClass::AuthAware,
    progression_body
);

async fn progression_body(
    state: &AppState,
    t: TournamentRead,
) -> ApiResult<ListEnvelope<PlayerProgression>> {
    let data = loaded(state, &t).await?;
    let mut series = vec![];
    let mut last_polled_at = None;
    for r in &data.roster {
        let (Some(profile), Some(alias)) = (r.profile_id, &r.alias) else {
            continue;
        };
        let mut games = data.games_of(profile);
        games.retain(|(_, m, me)| m.completed_at.is_some() && me.new_rating.is_some());
        games.sort_by(|a, b| a.1.completed_at.cmp(&b.1.completed_at).then(a.0.cmp(&b.0)));
        let points: Vec<RatingPoint> = games
            .iter()
            .filter_map(|(_, m, me)| {
                Some(RatingPoint {
                    completed_at: m.completed_at?,
                    rating: me.new_rating?,
                })
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        last_polled_at = last_polled_at.max(points.last().map(|p| p.completed_at));
        series.push(PlayerProgression {
            tournament_player_id: r.id,
            profile_id: profile,
            alias: alias.clone(),
            points,
        });
    }
    series.sort_by(|a, b| a.alias.cmp(&b.alias).then(a.profile_id.cmp(&b.profile_id)));
    let envelope = ListEnvelope {
        last_polled_at,
        items: series,
    };
    Ok(envelope)
}

// Inline, as the original's `int | float`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(inline)]
pub(crate) enum CardValue {
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct SummaryCard {
    tournament_player_id: i64,
    profile_id: i64,
    name: String,
    value: CardValue,
}

// Document identity: the run's bounds are optional in the original's schema.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["streak_start", "streak_end"]))]
pub(crate) struct StreakSummaryCard {
    #[serde(flatten)]
    card: SummaryCard,
    #[serde(serialize_with = "ser_opt_dt")]
    streak_start: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_dt")]
    streak_end: Option<DateTime<Utc>>,
}

// Document identity: `highest_current_rating` is optional in the original's schema.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["highest_current_rating"]))]
pub(crate) struct TournamentSummary {
    #[serde(serialize_with = "ser_opt_dt")]
    last_polled_at: Option<DateTime<Utc>>,
    highest_peak_rating: Option<SummaryCard>,
    highest_current_rating: Option<SummaryCard>,
    best_win_rate: Option<SummaryCard>,
    longest_win_streak: Option<StreakSummaryCard>,
    biggest_climber: Option<SummaryCard>,
    most_games_played: Option<SummaryCard>,
}

/// A candidate for one card: (value for ordering, games played, tournament_player_id, card).
type Candidate<C> = (f64, i64, i64, C);

/// Max value; ties → more games played, then the lower tournament_player_id.
fn leader<C>(mut candidates: Vec<Candidate<C>>) -> Option<C> {
    candidates.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.1.cmp(&a.1))
            .then(a.2.cmp(&b.2))
    });
    candidates.into_iter().next().map(|c| c.3)
}

async fn summary(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let min_games = Params(params).int_in("win_rate_min_games", 1, i64::MAX, 5)?;
    cached(
        &state,
        &slug,
        format!("summary?win_rate_min_games={min_games}"),
        CacheClass::AuthAware,
        &headers,
        |t| summary_body(&state, t, min_games),
    )
    .await
}

async fn summary_body(
    state: &AppState,
    t: TournamentRead,
    min_games: i64,
) -> ApiResult<TournamentSummary> {
    let data = loaded(state, &t).await?;
    let (mut rating, mut win_rate, mut streak, mut climber, mut games) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut last_polled_at = None;
    for r in data.roster.iter() {
        let Some(profile) = r.profile_id else {
            continue;
        };
        let record = data.record_of(profile);
        last_polled_at = last_polled_at.max(record.last_match_at);
        let card = |value: CardValue| SummaryCard {
            tournament_player_id: r.id,
            profile_id: profile,
            name: display_name(&r.presentation.0, &r.name),
            value,
        };
        let gp = record.games_played;
        let (current, max) = data.ratings(r);
        let metric = match data.rank_by {
            RankBy::PeakRating => max,
            RankBy::CurrentRating => current,
        };
        if let Some(m) = metric {
            rating.push((m as f64, gp, r.id, card(CardValue::Int(m))));
        }
        if let Some(pct) = record.win_pct.filter(|_| gp >= min_games) {
            win_rate.push((pct, gp, r.id, card(CardValue::Float(pct))));
        }
        if record.longest_win_streak > 0 {
            let span = record.longest_win_streak_span;
            streak.push((
                record.longest_win_streak as f64,
                gp,
                r.id,
                StreakSummaryCard {
                    card: card(CardValue::Int(record.longest_win_streak)),
                    streak_start: span.and_then(|s| s.start),
                    streak_end: span.and_then(|s| s.end),
                },
            ));
        }
        // Signed net change over the window: last minus first rated point.
        let mut points = data.games_of(profile);
        points.retain(|(_, _, me)| me.new_rating.is_some());
        points.sort_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then(a.0.cmp(&b.0)));
        if points.len() >= 2 {
            let first = points[0].2.new_rating.unwrap_or(0);
            let last = points[points.len() - 1].2.new_rating.unwrap_or(0);
            climber.push((
                (last - first) as f64,
                gp,
                r.id,
                card(CardValue::Int(last - first)),
            ));
        }
        if gp > 0 {
            games.push((gp as f64, gp, r.id, card(CardValue::Int(gp))));
        }
    }
    let rating_card = leader(rating);
    let (highest_peak_rating, highest_current_rating) = match data.rank_by {
        RankBy::PeakRating => (rating_card, None),
        RankBy::CurrentRating => (None, rating_card),
    };
    let body = TournamentSummary {
        last_polled_at,
        highest_peak_rating,
        highest_current_rating,
        best_win_rate: leader(win_rate),
        longest_win_streak: leader(streak),
        biggest_climber: leader(climber),
        most_games_played: leader(games),
    };
    Ok(body)
}
