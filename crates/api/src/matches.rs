//! `/v1/tournaments/{tournament_slug}/matches`, `/matches/{match_id}` and `/live`: matches that involve a
//! rostered profile (not windowed, any leaderboard), newest first.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::PgPool;

use crate::catalog::ListEnvelope;
use crate::error::{ApiError, ApiResult};
use crate::query::Params;
use crate::respond::{cache_key, cached, cached_read, respond, CacheClass};
use crate::tournaments::{find_cached, TournamentRead};
use crate::wire::{ser_dt, ser_opt_dt};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tournaments/{tournament_slug}/matches", get(list))
        .route(
            "/v1/tournaments/{tournament_slug}/matches/{match_id}",
            get(detail),
        )
        .route("/v1/tournaments/{tournament_slug}/live", get(live))
}

#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub struct MatchPlayerRead {
    #[serde(skip)]
    pub match_id: i64,
    pub profile_id: i64,
    pub civilization_id: i64,
    pub team_id: i64,
    #[schemars(with = "Option<crate::openapi::shapes::MatchOutcome>")]
    pub outcome: Option<String>,
    pub old_rating: Option<i64>,
    pub new_rating: Option<i64>,
    pub xp_gained: i64,
}

#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub struct MatchRead {
    pub match_id: i64,
    pub map_name: String,
    pub matchtype_id: i64,
    pub leaderboard_id: Option<i64>,
    #[serde(serialize_with = "ser_dt")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_opt_dt")]
    pub completed_at: Option<DateTime<Utc>>,
    pub description: Option<String>,
    #[schemars(with = "crate::openapi::shapes::MatchState")]
    pub state: String,
    #[serde(serialize_with = "ser_dt")]
    pub updated_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub players: Vec<MatchPlayerRead>,
}

// Document identity: `last_polled_at` is optional and nullable in the original's schema (we always
// send a time).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["last_polled_at"]))]
pub(crate) struct MatchDetail {
    #[serde(flatten)]
    read: MatchRead,
    #[serde(serialize_with = "ser_dt")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    last_polled_at: DateTime<Utc>,
}

const COLUMNS: &str = "m.match_id, m.map_name, m.matchtype_id, m.leaderboard_id, m.started_at, \
                       m.completed_at, m.description, m.state, m.updated_at";

/// Embeds each match's players (always, even in lists).
pub async fn with_players(pool: &PgPool, mut matches: Vec<MatchRead>) -> ApiResult<Vec<MatchRead>> {
    let ids: Vec<i64> = matches.iter().map(|m| m.match_id).collect();
    let players: Vec<MatchPlayerRead> = sqlx::query_as(
        "SELECT match_id, profile_id, civilization_id, team_id, outcome, old_rating, new_rating,
                xp_gained
           FROM live.match_players WHERE match_id = ANY($1) ORDER BY match_id, team_id, profile_id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut by_match: HashMap<i64, Vec<MatchPlayerRead>> = HashMap::new();
    for p in players {
        by_match.entry(p.match_id).or_default().push(p);
    }
    for m in &mut matches {
        m.players = by_match.remove(&m.match_id).unwrap_or_default();
    }
    Ok(matches)
}

/// Matches with their players, as a list whose `last_polled_at` is the newest match's.
async fn listed(pool: &PgPool, rows: Vec<MatchRead>) -> ApiResult<ListEnvelope<MatchRead>> {
    let items = with_players(pool, rows).await?;
    Ok(ListEnvelope {
        last_polled_at: items.iter().map(|m| m.updated_at).max(),
        items,
    })
}

const STATES: [&str; 3] = ["staging", "in_progress", "completed"];

async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let params = Params(params);
    let profile_id: Option<i64> = params.get("profile_id")?;
    let leaderboard_id: Option<i64> = params.get("leaderboard_id")?;
    let match_state: Option<String> = params.get("state")?;
    if let Some(s) = &match_state {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::query(
                "state",
                "must be one of staging, in_progress, completed",
            ));
        }
    }
    let limit = params.int_in("limit", 1, 200, 50)?;
    let key = cache_key("matches", &params.0);
    let filter = MatchFilter {
        profile_id,
        leaderboard_id,
        state: match_state,
        limit,
    };
    cached(&state, &slug, key, CacheClass::Static, &headers, |t| {
        list_body(&state, t, filter)
    })
    .await
}

struct MatchFilter {
    profile_id: Option<i64>,
    leaderboard_id: Option<i64>,
    state: Option<String>,
    limit: i64,
}

async fn list_body(
    state: &AppState,
    t: TournamentRead,
    f: MatchFilter,
) -> ApiResult<ListEnvelope<MatchRead>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM live.matches m
          WHERE m.match_id IN (SELECT mp.match_id FROM live.match_players mp
                                 JOIN live.tournament_players tp ON tp.profile_id = mp.profile_id
                                WHERE tp.tournament_id = $1)
            AND ($2::bigint IS NULL OR m.match_id IN
                   (SELECT match_id FROM live.match_players WHERE profile_id = $2))
            AND ($3::bigint IS NULL OR m.leaderboard_id = $3)
            AND ($4::text IS NULL OR m.state = $4)
          ORDER BY m.started_at DESC, m.match_id DESC
          LIMIT $5"
    );
    let rows: Vec<MatchRead> = sqlx::query_as(&sql)
        .bind(t.id)
        .bind(f.profile_id)
        .bind(f.leaderboard_id)
        .bind(f.state)
        .bind(f.limit)
        .fetch_all(&state.pool)
        .await?;
    listed(&state.pool, rows).await
}

async fn detail(
    State(state): State<AppState>,
    Path((slug, match_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let match_id: i64 = match_id.parse().map_err(|_| ApiError::Validation {
        loc: vec!["path".into(), "match_id".into()],
        msg: "must be an integer".into(),
    })?;
    let t = find_cached(&state, &slug).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM live.matches m
          WHERE m.match_id = $2
            AND EXISTS (SELECT 1 FROM live.match_players mp
                          JOIN live.tournament_players tp ON tp.profile_id = mp.profile_id
                         WHERE mp.match_id = m.match_id AND tp.tournament_id = $1)"
    );
    let row: Option<MatchRead> = sqlx::query_as(&sql)
        .bind(t.id)
        .bind(match_id)
        .fetch_optional(&state.pool)
        .await?;
    let row = row.ok_or(ApiError::NotFound("Match not found"))?;
    let read = with_players(&state.pool, vec![row])
        .await?
        .pop()
        .ok_or(ApiError::NotFound("Match not found"))?;
    let class = if read.state == "completed" {
        CacheClass::Completed
    } else {
        CacheClass::NoStore
    };
    let detail = MatchDetail {
        last_polled_at: read.updated_at,
        read,
    };
    Ok(respond(&detail, class, &headers))
}

cached_read!(live, "live", CacheClass::Live, live_body);

async fn live_body(state: &AppState, t: TournamentRead) -> ApiResult<ListEnvelope<MatchRead>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM live.matches m
          WHERE m.state IN ('staging', 'in_progress')
            AND m.match_id IN (SELECT lmp.match_id FROM live.live_match_players lmp
                                 JOIN live.tournament_players tp ON tp.profile_id = lmp.profile_id
                                WHERE tp.tournament_id = $1)
          ORDER BY m.started_at DESC, m.match_id DESC"
    );
    let rows: Vec<MatchRead> = sqlx::query_as(&sql)
        .bind(t.id)
        .fetch_all(&state.pool)
        .await?;
    listed(&state.pool, rows).await
}
