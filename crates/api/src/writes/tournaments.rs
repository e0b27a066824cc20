//! `POST /v1/tournaments`, `PATCH` and `DELETE /v1/tournaments/{slug}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use domain::event::Actor;
use domain::tournament::{
    CreateTournament, CreatorFacts, LeaderboardFacts, RankBy, TournamentAction, TournamentCommand,
    TournamentConfig, TournamentPatch,
};
use serde_json::Value;
use sqlx::PgPool;
use store::ids::{next_id, IdKind};

use super::body::Body;
use super::{audit_log, execute, manage, metadata, owner, settle};
use crate::caller::authenticate;
use crate::error::{ApiError, ApiResult};
use crate::tournaments::{find, rank_by_text, TournamentRead};
use crate::AppState;

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let user = authenticate(&state, &headers).await?;
    let creator = creator_facts(&state.pool, &user).await?;
    let body = Body::parse(&body)?;
    let slug: String = body.required("slug")?;
    let config = TournamentConfig {
        name: body.required("name")?,
        leaderboard_id: body.required("leaderboard_id")?,
        rank_by: rank_by(&body)?.unwrap_or_default(),
        start_date: body.datetime("start_date")?.flatten(),
        end_date: body.datetime("end_date")?.flatten(),
        prize_pool_cents: body.optional("prize_pool_cents")?,
        host_stream_urls: body.optional("host_stream_urls")?.unwrap_or_default(),
        presentation: body
            .optional::<Value>("presentation")?
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
    let body = Body::parse(&body)?;
    let patch = TournamentPatch {
        name: body.not_null("name")?,
        leaderboard_id: body.not_null("leaderboard_id")?,
        rank_by: if body.contains("rank_by") {
            Some(rank_by(&body)?.ok_or_else(rank_by_error)?)
        } else {
            None
        },
        start_date: body.datetime("start_date")?,
        end_date: body.datetime("end_date")?,
        prize_pool_cents: body.nullable("prize_pool_cents")?,
        host_stream_urls: body.not_null("host_stream_urls")?,
        presentation: body.not_null("presentation")?,
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
    Ok(StatusCode::NO_CONTENT)
}

fn rank_by_error() -> ApiError {
    ApiError::body(
        "rank_by",
        "Input should be 'peak_rating' or 'current_rating'",
    )
}

fn rank_by(body: &Body) -> ApiResult<Option<RankBy>> {
    match body.optional::<String>("rank_by") {
        Ok(None) => Ok(None),
        Ok(Some(text)) => match text.as_str() {
            "peak_rating" => Ok(Some(RankBy::PeakRating)),
            "current_rating" => Ok(Some(RankBy::CurrentRating)),
            _ => Err(rank_by_error()),
        },
        Err(_) => Err(rank_by_error()),
    }
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
