//! `/v1/tournaments` reads and the tournament lookup every per-tournament route shares
//! (including the reserved `current` alias).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgPool;

use crate::error::{ApiError, ApiResult};
use crate::respond::{respond, CacheClass};
use crate::wire::{ser_dt, ser_opt_dt};
use crate::AppState;

// Document identity: `presentation` and `host_stream_live` are optional in the original's schema
// (defaults).
#[derive(Clone, Debug, Serialize, JsonSchema, sqlx::FromRow)]
#[schemars(transform = crate::openapi::optional(&["presentation", "host_stream_live"]))]
pub struct TournamentRead {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub leaderboard_id: i64,
    #[schemars(with = "crate::openapi::shapes::RankBy")]
    pub rank_by: String,
    #[serde(serialize_with = "ser_opt_dt")]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_dt")]
    pub end_date: Option<DateTime<Utc>>,
    pub prize_pool_cents: Option<i64>,
    #[schemars(with = "Vec<String>")]
    pub host_stream_urls: Json<Vec<String>>,
    #[schemars(with = "crate::openapi::shapes::Object")]
    pub presentation: Json<Value>,
    /// Any host channel (`host_stream_urls`) live on any platform.
    #[schemars(extend("default" = false))]
    pub host_stream_live: bool,
    #[serde(serialize_with = "ser_dt")]
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, slug, name, leaderboard_id, rank_by, start_date, end_date, \
                       prize_pool_cents, host_stream_urls, presentation, \
                       EXISTS (SELECT 1 FROM live.stream_links sl \
                                 JOIN live.live_streams ls USING (platform, channel) \
                                WHERE sl.tournament_id = tournaments.id \
                                  AND sl.tournament_player_id IS NULL) AS host_stream_live, \
                       created_at";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tournaments", get(list))
        .route("/v1/tournaments/{tournament_slug}", get(detail))
}

/// `rank_by` as the contract spells it.
pub fn rank_by_text(rank_by: domain::tournament::RankBy) -> String {
    match rank_by {
        domain::tournament::RankBy::PeakRating => "peak_rating".into(),
        domain::tournament::RankBy::CurrentRating => "current_rating".into(),
    }
}

/// Postgres "undefined table": the read models are not built yet on a fresh deployment.
pub fn not_built_yet(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "42P01")
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let sql = format!("SELECT {COLUMNS} FROM live.tournaments ORDER BY created_at DESC, id DESC");
    let rows: Vec<TournamentRead> = match sqlx::query_as(&sql).fetch_all(&state.pool).await {
        Ok(rows) => rows,
        Err(e) if not_built_yet(&e) => vec![],
        Err(e) => return Err(e.into()),
    };
    Ok(respond(&rows, CacheClass::Static, &headers))
}

async fn detail(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let tournament = find_cached(&state, &slug).await?;
    Ok(respond(&tournament, CacheClass::Static, &headers))
}

/// The tournaments `user` owns, newest first (`/v1/me`).
pub async fn owned_by(pool: &PgPool, user: &str) -> ApiResult<Vec<TournamentRead>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM live.tournaments
          WHERE id IN (SELECT tournament_id FROM live.tournament_owners WHERE user_id = $1)
          ORDER BY created_at DESC, id DESC"
    );
    match sqlx::query_as(&sql).bind(user).fetch_all(pool).await {
        Ok(rows) => Ok(rows),
        Err(e) if not_built_yet(&e) => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

/// [`find`] through the response cache's slug map (hot reads resolve a slug per request).
pub async fn find_cached(state: &AppState, slug: &str) -> ApiResult<TournamentRead> {
    if let Some(t) = state.cache.as_ref().and_then(|c| c.tournament(slug)) {
        return Ok(t);
    }
    let t = find(&state.pool, slug).await?;
    if let Some(cache) = &state.cache {
        cache.remember_tournament(slug, &t);
    }
    Ok(t)
}

/// The tournament a read route names, resolving `current` to the latest started tournament
/// (else the newest created). 404 `Tournament not found` otherwise.
pub async fn find(pool: &PgPool, slug: &str) -> ApiResult<TournamentRead> {
    // Not a slug anyone could have created (and PostgreSQL refuses some bytes, e.g. NUL).
    if slug != domain::rules::RESERVED_SLUG && !domain::rules::is_valid_slug(slug) {
        return Err(ApiError::NotFound("Tournament not found"));
    }
    let sql = if slug == domain::rules::RESERVED_SLUG {
        format!(
            "SELECT {COLUMNS} FROM live.tournaments
              ORDER BY (start_date <= now()) IS TRUE DESC,
                       CASE WHEN start_date <= now() THEN start_date END DESC,
                       created_at DESC, id DESC
              LIMIT 1"
        )
    } else {
        format!("SELECT {COLUMNS} FROM live.tournaments WHERE slug = $1")
    };
    let mut query = sqlx::query_as::<_, TournamentRead>(&sql);
    if slug != domain::rules::RESERVED_SLUG {
        query = query.bind(slug);
    }
    match query.fetch_optional(pool).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(ApiError::NotFound("Tournament not found")),
        Err(e) if not_built_yet(&e) => Err(ApiError::NotFound("Tournament not found")),
        Err(e) => Err(e.into()),
    }
}
