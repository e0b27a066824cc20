//! Team writes: teams, members and captains (seed contract §1.3).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::rules;
use domain::tournament::{TournamentAction, TournamentError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::ids::{next_id, IdKind};

use super::body::{self, field};
use super::{manage, owner, path_id};
use crate::error::ApiResult;
use crate::AppState;

/// `TeamRead`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TeamRead {
    pub id: i64,
    pub tournament_id: i64,
    pub name: String,
    pub initials: String,
}

/// `TeamCreate`: the body of `POST /v1/tournaments/{tournament_slug}/teams`. Names need not be unique.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct TeamCreate {
    #[serde(deserialize_with = "field::required")]
    #[schemars(length(min = 1, max = rules::MAX_TEAM_NAME_CHARS))]
    pub name: String,
    #[serde(deserialize_with = "field::required")]
    #[schemars(length(min = 1, max = rules::MAX_TEAM_INITIALS_CHARS))]
    pub initials: String,
}

/// `TeamUpdate`: the body of `PATCH /v1/tournaments/{tournament_slug}/teams/{team_id}`. Only
/// present keys are applied; `null` is refused (422), although the original's schema lists
/// both as nullable.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct TeamUpdate {
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(
        with = "Option<String>",
        length(min = 1, max = rules::MAX_TEAM_NAME_CHARS)
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(
        with = "Option<String>",
        length(min = 1, max = rules::MAX_TEAM_INITIALS_CHARS)
    )]
    pub initials: Option<String>,
}

/// `TeamMemberCreate`: the body of `POST …/teams/{team_id}/members`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct TeamMemberCreate {
    /// A roster entry of this tournament.
    #[serde(deserialize_with = "field::positive")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub tournament_player_id: i64,
}

/// `TeamCaptainSet`: the body of `PATCH …/teams/{team_id}/captain`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct TeamCaptainSet {
    /// A member of the team.
    #[serde(deserialize_with = "field::positive")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub tournament_player_id: i64,
}

pub async fn create(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    let TeamCreate { name, initials } = body::read(&body)?;
    let team_id = next_id(&state.pool, IdKind::Team).await?;
    let action = TournamentAction::CreateTeam {
        team_id,
        name: name.clone(),
        initials: initials.clone(),
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    let team = TeamRead {
        id: team_id,
        tournament_id: owner.tournament_id,
        name,
        initials,
    };
    Ok((StatusCode::CREATED, Json(team)).into_response())
}

/// The team in the path (the aggregate answers 404 `Team not found` for another tournament's).
fn team_id(text: &str) -> ApiResult<i64> {
    path_id("team_id", text)
}

pub async fn update(
    State(state): State<AppState>,
    Path((slug, team)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    let team_id = team_id(&team)?;
    let current = owner
        .tournament
        .teams
        .get(&team_id)
        .ok_or(TournamentError::TeamNotFound)?;
    let TeamUpdate { name, initials } = body::read(&body)?;
    let read = TeamRead {
        id: team_id,
        tournament_id: owner.tournament_id,
        name: name.clone().unwrap_or_else(|| current.name.clone()),
        initials: initials.clone().unwrap_or_else(|| current.initials.clone()),
    };
    let action = TournamentAction::UpdateTeam {
        team_id,
        name,
        initials,
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    Ok(Json(read).into_response())
}

pub async fn delete(
    state: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    team_action(state, path, headers, |team_id| {
        TournamentAction::DeleteTeam { team_id }
    })
    .await
}

/// Routes named by the team alone (no body).
async fn team_action(
    State(state): State<AppState>,
    Path((slug, team)): Path<(String, String)>,
    headers: HeaderMap,
    action: fn(i64) -> TournamentAction,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let team_id = team_id(&team)?;
    manage(&state, &headers, &slug, &owner, action(team_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_member(
    state: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    member_action(
        state,
        path,
        headers,
        body,
        |bytes| body::read::<TeamMemberCreate>(bytes).map(|b| b.tournament_player_id),
        |team_id, tournament_player_id| TournamentAction::AddTeamMember {
            team_id,
            tournament_player_id,
        },
    )
    .await
}

/// Routes whose body is `{"tournament_player_id": <int > 0>}` (`read` picks the body type).
async fn member_action(
    State(state): State<AppState>,
    Path((slug, team)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    read: fn(&[u8]) -> ApiResult<i64>,
    action: fn(i64, i64) -> TournamentAction,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let team_id = team_id(&team)?;
    let tournament_player_id = read(&body)?;
    manage(
        &state,
        &headers,
        &slug,
        &owner,
        action(team_id, tournament_player_id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_member(
    State(state): State<AppState>,
    Path((slug, team, player)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let team_id = team_id(&team)?;
    let tournament_player_id = path_id("tournament_player_id", &player)?;
    let action = TournamentAction::RemoveTeamMember {
        team_id,
        tournament_player_id,
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_captain(
    state: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    member_action(
        state,
        path,
        headers,
        body,
        |bytes| body::read::<TeamCaptainSet>(bytes).map(|b| b.tournament_player_id),
        |team_id, tournament_player_id| TournamentAction::SetTeamCaptain {
            team_id,
            tournament_player_id,
        },
    )
    .await
}

pub async fn clear_captain(
    state: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    team_action(state, path, headers, |team_id| {
        TournamentAction::ClearTeamCaptain { team_id }
    })
    .await
}
