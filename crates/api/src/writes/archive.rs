//! `POST` and `DELETE /v1/tournaments/{tournament_slug}/archive`: an owner archives a
//! finished tournament (no longer polled; public reads from a frozen snapshot, see
//! `frozen.rs`) or un-archives it. Both are idempotent: 204 whether or not anything changed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use domain::tournament::TournamentAction;

use super::{manage, owner};
use crate::error::ApiResult;
use crate::AppState;

pub async fn archive(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let action = TournamentAction::Archive { at: Utc::now() };
    manage(&state, &headers, &slug, &owner, action).await?;
    // This replica serves the snapshot from now on (others learn it from the nudge).
    state.frozen.refresh(&state.pool).await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unarchive(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let action = TournamentAction::Unarchive { at: Utc::now() };
    manage(&state, &headers, &slug, &owner, action).await?;
    state.frozen.refresh(&state.pool).await;
    Ok(StatusCode::NO_CONTENT)
}
