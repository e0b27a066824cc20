//! Roster writes: `POST /players`, `PATCH` and `DELETE /players/{tournament_player_id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use domain::tournament::TournamentAction;
use serde_json::Value;
use store::ids::{next_id, IdKind};

use super::body::Body;
use super::{manage, owner, path_id};
use crate::error::ApiResult;
use crate::AppState;

pub async fn add(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let body = Body::parse(&body)?;
    let name: String = body.required("name")?;
    let profile_id: Option<i64> = body.optional("profile_id")?;
    let presentation = body
        .optional::<Value>("presentation")?
        .unwrap_or_else(|| Value::Object(Default::default()));
    let tournament_player_id = next_id(&state.pool, IdKind::TournamentPlayer).await?;
    let action = TournamentAction::AddPlayerToRoster {
        tournament_player_id,
        name,
        profile_id,
        presentation,
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn update(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let tournament_player_id = path_id("tournament_player_id", &id)?;
    let body = Body::parse(&body)?;
    // `null` for either field means "leave alone" (a link cannot be removed).
    let presentation: Option<Value> = body.optional("presentation")?;
    let profile_id: Option<i64> = body.optional("profile_id")?;
    let action = TournamentAction::UpdateRosterPlayer {
        tournament_player_id,
        presentation,
        profile_id,
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let tournament_player_id = path_id("tournament_player_id", &id)?;
    let action = TournamentAction::RemovePlayerFromRoster {
        tournament_player_id,
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    Ok(StatusCode::NO_CONTENT)
}
