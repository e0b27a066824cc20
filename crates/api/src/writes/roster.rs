//! Roster writes: `POST /players`, `PATCH` and `DELETE /players/{tournament_player_id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use domain::rules;
use domain::tournament::TournamentAction;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use store::ids::{next_id, IdKind};

use super::body::{self, field};
use super::{manage, owner, path_id};
use crate::error::ApiResult;
use crate::openapi::shapes;
use crate::AppState;

/// `RosterPlayerCreate`: the body of `POST /v1/tournaments/{tournament_slug}/players`. A row with a
/// `profile_id` is linked (the poller picks it up); without one it is a placeholder.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct RosterPlayerCreate {
    /// Base roster name, unique on the roster.
    #[serde(deserialize_with = "field::required")]
    #[schemars(length(min = 1, max = rules::MAX_ROSTER_NAME_CHARS))]
    pub name: String,
    /// The upstream profile (`null`: unlinked).
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub profile_id: Option<i64>,
    /// Opaque display bag, at most 8,192 bytes as compact JSON and 32 levels deep, numbers
    /// within ±1e300 (integers within 64 bits always fit), no NUL (`\u0000`) in keys or
    /// strings; otherwise 422 naming `presentation` (default `{}`, also when `null`).
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(with = "shapes::Object")]
    pub presentation: Option<Value>,
}

/// `RosterPlayerUpdate`: the body of `PATCH …/players/{tournament_player_id}`. `null` or
/// absent leaves a field alone (a link cannot be removed).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct RosterPlayerUpdate {
    /// Replaces the whole bag (at most 8,192 bytes as compact JSON and 32 levels deep, numbers
    /// within ±1e300, no NUL).
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(with = "Option<shapes::Object>")]
    pub presentation: Option<Value>,
    /// Links an unlinked row (422 `profile_id is immutable once linked` otherwise).
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub profile_id: Option<i64>,
}

pub async fn add(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let RosterPlayerCreate {
        name,
        profile_id,
        presentation,
    } = body::read(&body)?;
    let presentation = presentation.unwrap_or_else(|| Value::Object(Default::default()));
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
    let RosterPlayerUpdate {
        presentation,
        profile_id,
    } = body::read(&body)?;
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
