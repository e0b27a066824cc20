//! `/v1/tournaments/{tournament_slug}/players` and `/players/{tournament_player_id}`: roster entries with
//! their polled identity and ladder ratings.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use crate::catalog::ListEnvelope;
use crate::error::{ApiError, ApiResult};
use crate::matches::{with_players, MatchRead};
use crate::query::Params;
use crate::respond::{respond, CacheClass};
use crate::tournaments::find_cached;
use crate::wire::ser_opt_dt;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tournaments/{tournament_slug}/players", get(list))
        .route(
            "/v1/tournaments/{tournament_slug}/players/{tournament_player_id}",
            get(detail),
        )
}

#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub(crate) struct PlayerRatingRead {
    #[serde(skip)]
    profile_id: i64,
    leaderboard_id: i64,
    current_rating: i64,
    max_rating: i64,
    wins: i64,
    losses: i64,
    streak: i64,
    drops: i64,
    rank: Option<i64>,
    rank_total: Option<i64>,
    region_rank: Option<i64>,
    region_rank_total: Option<i64>,
    #[serde(serialize_with = "ser_opt_dt")]
    last_match_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::wire::ser_dt")]
    updated_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct RosterPlayer {
    id: i64,
    profile_id: Option<i64>,
    name: String,
    presentation: Json<Value>,
    polled: bool,
    alias: Option<String>,
    country: Option<String>,
    steam_id: Option<String>,
    level: Option<i64>,
    xp: Option<i64>,
    region_id: Option<i64>,
    clan_name: Option<String>,
    updated_at: Option<DateTime<Utc>>,
}

// Document identity: `presentation` and `ratings` are optional in the original's schema (pydantic
// defaults).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["presentation", "ratings"]))]
pub(crate) struct PlayerRead {
    tournament_player_id: i64,
    profile_id: Option<i64>,
    name: String,
    alias: String,
    country: Option<String>,
    steam_id: Option<String>,
    level: Option<i64>,
    xp: Option<i64>,
    region_id: Option<i64>,
    clan_name: Option<String>,
    #[serde(serialize_with = "ser_opt_dt")]
    updated_at: Option<DateTime<Utc>>,
    #[schemars(with = "crate::openapi::shapes::Object")]
    presentation: Value,
    ratings: Vec<PlayerRatingRead>,
}

// Document identity: `last_polled_at` and `recent_matches` are optional in the original's schema.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["last_polled_at", "recent_matches"]))]
pub(crate) struct PlayerDetail {
    #[serde(flatten)]
    player: PlayerRead,
    #[serde(serialize_with = "ser_opt_dt")]
    last_polled_at: Option<DateTime<Utc>>,
    #[schemars(extend("default" = []))]
    recent_matches: Vec<MatchRead>,
}

const ROSTER: &str = "
    SELECT tp.id, tp.profile_id, tp.name, tp.presentation, (p.profile_id IS NOT NULL) AS polled,
           p.alias, p.country, p.steam_id, p.level, p.xp, p.region_id, p.clan_name, p.updated_at
      FROM live.tournament_players tp
      LEFT JOIN live.players p ON p.profile_id = tp.profile_id
     WHERE tp.tournament_id = $1";

fn read(r: RosterPlayer, ratings: Vec<PlayerRatingRead>) -> PlayerRead {
    PlayerRead {
        tournament_player_id: r.id,
        profile_id: r.profile_id,
        alias: r.alias.unwrap_or_else(|| r.name.clone()),
        name: r.name,
        country: r.country,
        steam_id: r.steam_id,
        level: r.level,
        xp: r.xp,
        region_id: r.region_id,
        clan_name: r.clan_name,
        updated_at: r.updated_at,
        presentation: r.presentation.0,
        ratings,
    }
}

async fn ratings(
    state: &AppState,
    profiles: &[i64],
    leaderboard_id: Option<i64>,
) -> ApiResult<HashMap<i64, Vec<PlayerRatingRead>>> {
    let rows: Vec<PlayerRatingRead> = sqlx::query_as(
        "SELECT profile_id, leaderboard_id, current_rating, max_rating, wins, losses, streak,
                drops, rank, rank_total, region_rank, region_rank_total, last_match_at, updated_at
           FROM live.player_ratings
          WHERE profile_id = ANY($1) AND ($2::bigint IS NULL OR leaderboard_id = $2)
          ORDER BY profile_id, leaderboard_id",
    )
    .bind(profiles)
    .bind(leaderboard_id)
    .fetch_all(&state.pool)
    .await?;
    let mut by_profile: HashMap<i64, Vec<PlayerRatingRead>> = HashMap::new();
    for r in rows {
        by_profile.entry(r.profile_id).or_default().push(r);
    }
    Ok(by_profile)
}

async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let leaderboard_id: Option<i64> = Params(params).get("leaderboard_id")?;
    let t = find_cached(&state, &slug).await?;
    let mut roster: Vec<RosterPlayer> = sqlx::query_as(ROSTER)
        .bind(t.id)
        .fetch_all(&state.pool)
        .await?;
    // Linked rows stay hidden until their first stats poll.
    roster.retain(|r| r.profile_id.is_none() || r.polled);
    roster.sort_by(|a, b| a.name.cmp(&b.name));
    let profiles: Vec<i64> = roster.iter().filter_map(|r| r.profile_id).collect();
    let mut by_profile = ratings(&state, &profiles, leaderboard_id).await?;
    let mut last_polled_at: Option<DateTime<Utc>> = None;
    let items: Vec<PlayerRead> = roster
        .into_iter()
        .map(|r| {
            let ratings = r
                .profile_id
                .and_then(|p| by_profile.remove(&p))
                .unwrap_or_default();
            last_polled_at = last_polled_at
                .max(r.updated_at)
                .max(ratings.iter().map(|x| x.updated_at).max());
            read(r, ratings)
        })
        .collect();
    let envelope = ListEnvelope {
        last_polled_at,
        items,
    };
    Ok(respond(&envelope, CacheClass::AuthAware, &headers))
}

async fn detail(
    State(state): State<AppState>,
    Path((slug, tournament_player_id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let tournament_player_id: i64 =
        tournament_player_id
            .parse()
            .map_err(|_| ApiError::Validation {
                loc: vec!["path".into(), "tournament_player_id".into()],
                msg: "must be an integer".into(),
            })?;
    let match_limit = Params(params).int_in("match_limit", 1, 100, 20)?;
    let t = find_cached(&state, &slug).await?;
    let sql = format!("{ROSTER} AND tp.id = $2");
    let row: Option<RosterPlayer> = sqlx::query_as(&sql)
        .bind(t.id)
        .bind(tournament_player_id)
        .fetch_optional(&state.pool)
        .await?;
    let row = row.ok_or(ApiError::NotFound("Player not found in this tournament"))?;
    let polled_profile = row.profile_id.filter(|_| row.polled);
    let (ratings, recent_matches) = match polled_profile {
        Some(profile) => {
            let ratings = ratings(&state, &[profile], None)
                .await?
                .remove(&profile)
                .unwrap_or_default();
            let matches: Vec<MatchRead> = sqlx::query_as(
                "SELECT m.match_id, m.map_name, m.matchtype_id, m.leaderboard_id, m.started_at,
                        m.completed_at, m.description, m.state, m.updated_at
                   FROM live.matches m
                  WHERE m.match_id IN (SELECT match_id FROM live.match_players WHERE profile_id = $1)
                  ORDER BY m.started_at DESC, m.match_id DESC LIMIT $2",
            )
            .bind(profile)
            .bind(match_limit)
            .fetch_all(&state.pool)
            .await?;
            (ratings, with_players(&state.pool, matches).await?)
        }
        None => (vec![], vec![]),
    };
    let last_polled_at = polled_profile.and_then(|_| {
        row.updated_at
            .max(ratings.iter().map(|r| r.updated_at).max())
            .max(recent_matches.iter().map(|m| m.updated_at).max())
    });
    let mut player = read(row, ratings);
    if polled_profile.is_none() {
        // Unlinked or not polled yet: the same shape, nothing polled.
        player.alias = player.name.clone();
    }
    let detail = PlayerDetail {
        player,
        last_polled_at,
        recent_matches,
    };
    Ok(respond(&detail, CacheClass::AuthAware, &headers))
}
