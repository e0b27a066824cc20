//! `POST /v1/tournaments`, `PATCH` and `DELETE /v1/tournaments/{tournament_slug}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::rules;
use domain::tournament::{
    CreateTournament, CreatorFacts, LeaderboardFacts, RankBy, TournamentAction, TournamentCommand,
    TournamentConfig, TournamentPatch,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use store::ids::{next_id, IdKind};

use super::body::{self, field};
use super::{audit_log, execute, manage, metadata, owner, settle};
use crate::caller::authenticate;
use crate::error::ApiResult;
use crate::openapi::shapes;
use crate::tournaments::{find, rank_by_text, TournamentRead};
use crate::AppState;

/// `TournamentCreate`: the body of `POST /v1/tournaments`. Unknown keys (the original's
/// `grand_finals_date`) are ignored.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct TournamentCreate {
    /// URL key, unique and immutable; `current` is reserved.
    #[serde(deserialize_with = "field::required")]
    #[schemars(length(min = 1, max = rules::MAX_SLUG_CHARS), pattern(rules::SLUG_PATTERN))]
    pub slug: String,
    #[serde(deserialize_with = "field::required")]
    #[schemars(length(min = 1, max = rules::MAX_TOURNAMENT_NAME_CHARS))]
    pub name: String,
    /// The one upstream ladder the tournament tracks (a supported ranked board).
    #[serde(deserialize_with = "field::required")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub leaderboard_id: i64,
    /// Default `peak_rating` (also when `null`).
    #[serde(default, deserialize_with = "field::rank_by")]
    #[schemars(with = "shapes::RankBy", extend("default" = "peak_rating"))]
    pub rank_by: Option<RankBy>,
    /// Window start (`null`: open), in the years 1 to 9999; a naive time reads as UTC.
    #[serde(default, deserialize_with = "field::datetime")]
    pub start_date: Option<DateTime<Utc>>,
    /// Rated-window end (`null`: open); not before `start_date`.
    #[serde(default, deserialize_with = "field::datetime")]
    pub end_date: Option<DateTime<Utc>>,
    /// Minor currency units.
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(range(min = 0))]
    pub prize_pool_cents: Option<i64>,
    /// Host Twitch / YouTube channel URLs, each 1 to 256 characters (default `[]`, also when
    /// `null`).
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(with = "Vec<String>", length(max = rules::MAX_HOST_STREAM_URLS))]
    pub host_stream_urls: Option<Vec<String>>,
    /// Opaque display bag, at most 16,384 bytes as compact JSON and 32 levels deep, numbers
    /// within ±1e300 (integers within 64 bits always fit), no NUL (`\u0000`) in keys or
    /// strings; otherwise 422 naming `presentation` (default `{}`, also when `null`).
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(with = "shapes::Object")]
    pub presentation: Option<Value>,
}

/// `TournamentUpdate`: the body of `PATCH /v1/tournaments/{tournament_slug}`. Only present
/// keys are applied; `null` clears `start_date`, `end_date` and `prize_pool_cents` and is
/// refused (422) for the other fields, although the original's schema lists them as nullable.
/// `slug` cannot change (ignored, like any unknown key).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct TournamentUpdate {
    /// `null` is refused.
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(
        with = "Option<String>",
        length(min = 1, max = rules::MAX_TOURNAMENT_NAME_CHARS)
    )]
    pub name: Option<String>,
    /// A supported ranked board; `null` is refused.
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(with = "Option<i64>", extend("exclusiveMinimum" = 0))]
    pub leaderboard_id: Option<i64>,
    /// `null` is refused.
    #[serde(default, deserialize_with = "field::rank_by_patch")]
    #[schemars(with = "Option<shapes::RankBy>")]
    pub rank_by: Option<RankBy>,
    /// `null` opens the window's start.
    #[serde(default, deserialize_with = "field::datetime_patch")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub start_date: Option<Option<DateTime<Utc>>>,
    /// `null` opens the window's end.
    #[serde(default, deserialize_with = "field::datetime_patch")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub end_date: Option<Option<DateTime<Utc>>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "field::nullable")]
    #[schemars(with = "Option<i64>", range(min = 0))]
    pub prize_pool_cents: Option<Option<i64>>,
    /// Replaces the whole list (URLs of 1 to 256 characters); `null` is refused.
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(
        with = "Option<Vec<String>>",
        length(max = rules::MAX_HOST_STREAM_URLS)
    )]
    pub host_stream_urls: Option<Vec<String>>,
    /// Replaces the whole bag (at most 16,384 bytes as compact JSON and 32 levels deep, numbers
    /// within ±1e300, no NUL); `null` is refused.
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(with = "Option<shapes::Object>")]
    pub presentation: Option<Value>,
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let user = authenticate(&state, &headers).await?;
    let creator = creator_facts(&state.pool, &user).await?;
    let body: TournamentCreate = body::read(&body)?;
    let slug = body.slug;
    let config = TournamentConfig {
        name: body.name,
        leaderboard_id: body.leaderboard_id,
        rank_by: body.rank_by.unwrap_or_default(),
        start_date: body.start_date,
        end_date: body.end_date,
        prize_pool_cents: body.prize_pool_cents,
        host_stream_urls: body.host_stream_urls.unwrap_or_default(),
        presentation: body
            .presentation
            .unwrap_or_else(|| Value::Object(Default::default())),
    };
    let leaderboard = leaderboard_facts(&state.pool, config.leaderboard_id).await?;
    let tournament_id = next_id(&state.pool, IdKind::Tournament).await?;
    let at = Utc::now();
    let command = TournamentCommand::Create {
        actor: Actor::User(user.clone()),
        create: Box::new(CreateTournament {
            tournament_id,
            slug: slug.clone(),
            config: config.clone(),
            owner: Some(user.clone()),
            creator,
            leaderboard,
            at,
        }),
    };
    let meta = metadata(Actor::User(user.clone()), &headers);
    execute(&state, &slug, command, &meta).await?;
    audit_log("tournament_create", &user, &slug, tournament_id, &meta);
    settle(&state, &slug, Some(tournament_id)).await;
    let created = TournamentRead {
        id: tournament_id,
        slug,
        name: config.name,
        leaderboard_id: config.leaderboard_id,
        rank_by: rank_by_text(config.rank_by),
        start_date: config.start_date,
        end_date: config.end_date,
        prize_pool_cents: config.prize_pool_cents,
        host_stream_urls: sqlx::types::Json(config.host_stream_urls),
        presentation: sqlx::types::Json(config.presentation),
        host_stream_live: false,
        created_at: at,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    let body: TournamentUpdate = body::read(&body)?;
    let patch = TournamentPatch {
        name: body.name,
        leaderboard_id: body.leaderboard_id,
        rank_by: body.rank_by,
        start_date: body.start_date,
        end_date: body.end_date,
        prize_pool_cents: body.prize_pool_cents,
        host_stream_urls: body.host_stream_urls,
        presentation: body.presentation,
    };
    let leaderboard = match patch.leaderboard_id {
        Some(id) => leaderboard_facts(&state.pool, id).await?,
        None => None,
    };
    let action = TournamentAction::Update {
        patch: Box::new(patch),
        leaderboard,
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    let updated = find(&state.pool, &slug).await?;
    Ok(Json(updated).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    manage(&state, &headers, &slug, &owner, TournamentAction::Delete).await?;
    // Its webhooks went with it: their secrets (kept beside the log) go too.
    let webhooks: Vec<String> = owner.tournament.webhooks.keys().cloned().collect();
    if let Err(e) = store::webhook_secrets::forget_all(&state.pool, &webhooks).await {
        tracing::warn!(error = %e, "could not forget a deleted tournament's webhook secrets");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The creator allowlist and the caller's owned-tournament count, from the read models.
pub async fn creator_facts(pool: &PgPool, user: &str) -> ApiResult<CreatorFacts> {
    let row: sqlx::Result<Option<(bool, i64)>> = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM live.tournament_creators WHERE user_id = $1),
                (SELECT count(*) FROM live.tournament_owners WHERE user_id = $1)",
    )
    .bind(user)
    .fetch_optional(pool)
    .await;
    let (on_allowlist, owned) = not_built_as_none(row)?.unwrap_or((false, 0));
    Ok(CreatorFacts {
        on_allowlist,
        owned_tournaments: owned as usize,
    })
}

/// What the catalog knows about a leaderboard (`None`: not loaded / unknown).
async fn leaderboard_facts(pool: &PgPool, id: i64) -> ApiResult<Option<LeaderboardFacts>> {
    let row: sqlx::Result<Option<(String, bool)>> =
        sqlx::query_as("SELECT name, is_ranked FROM live.leaderboards WHERE leaderboard_id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await;
    let row = not_built_as_none(row)?;
    Ok(row.map(|(name, is_ranked)| LeaderboardFacts { name, is_ranked }))
}

/// A read model that is not built yet (fresh deployment) knows nothing.
fn not_built_as_none<T>(row: sqlx::Result<Option<T>>) -> ApiResult<Option<T>> {
    match row {
        Err(e) if crate::tournaments::not_built_yet(&e) => Ok(None),
        other => Ok(other?),
    }
}
