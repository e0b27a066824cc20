//! Owners: `GET` and `POST /owners`, `DELETE /owners/{user_id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::tournament::TournamentAction;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::body::{self, field};
use super::{manage, owner};
use crate::error::{ApiError, ApiResult};
use crate::respond::{respond, CacheClass};
use crate::wire::ser_dt;
use crate::AppState;

/// `TournamentOwnerRead`. Profile fields come from the auth service's user lookup (`null` when
/// it is not configured or fails, as in the contract).
// Document identity: the profile fields are optional in the original's schema.
#[derive(Debug, Serialize, schemars::JsonSchema, sqlx::FromRow)]
#[schemars(transform = crate::openapi::optional(&["display_name", "email", "avatar_url"]))]
pub struct TournamentOwnerRead {
    pub user_id: String,
    #[serde(serialize_with = "ser_dt")]
    pub created_at: DateTime<Utc>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

/// A UUID in either case, as the original's schema writes it.
const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// `TournamentOwnerCreate`: the body of `POST /v1/tournaments/{tournament_slug}/owners`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct TournamentOwnerCreate {
    /// The user's id (the JWT `sub`): a UUID in either case, stored lowercase.
    #[serde(deserialize_with = "field::user_id")]
    #[schemars(length(equal = 36), pattern(UUID_PATTERN))]
    pub user_id: String,
}

pub async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    let mut owners: Vec<TournamentOwnerRead> = sqlx::query_as(
        "SELECT user_id, created_at, NULL::text AS display_name, NULL::text AS email,
                NULL::text AS avatar_url
           FROM live.tournament_owners WHERE tournament_id = $1
          ORDER BY created_at, user_id",
    )
    .bind(owner.tournament_id)
    .fetch_all(&state.pool)
    .await?;
    if let Some(directory) = &state.directory {
        let ids: Vec<String> = owners.iter().map(|o| o.user_id.clone()).collect();
        let profiles = directory.lookup(&ids, crate::caller::token(&headers)).await;
        for o in &mut owners {
            if let Some(p) = profiles.get(&o.user_id) {
                o.display_name = p.display_name.clone();
                o.email = p.email.clone();
                o.avatar_url = p.avatar_url.clone();
            }
        }
    }
    Ok(respond(&owners, CacheClass::NoStore, &headers))
}

pub async fn grant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let TournamentOwnerCreate { user_id } = body::read(&body)?;
    let action = TournamentAction::GrantOwner {
        user_id,
        at: Utc::now(),
    };
    manage(&state, &headers, &slug, &owner, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn revoke(
    State(state): State<AppState>,
    Path((slug, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    let user_id = user_uuid(&user).ok_or_else(|| ApiError::Validation {
        loc: vec!["path".into(), "user_id".into()],
        msg: "Input should be a valid UUID".into(),
    })?;
    manage(
        &state,
        &headers,
        &slug,
        &owner,
        TournamentAction::RevokeOwner { user_id },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user id as the contract takes it: a 36-character UUID in either case, stored lowercase.
pub fn user_uuid(text: &str) -> Option<String> {
    if text.len() != 36 {
        return None;
    }
    uuid::Uuid::parse_str(text)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::user_uuid;

    #[test]
    fn user_ids() {
        let lower = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(user_uuid(lower).as_deref(), Some(lower));
        assert_eq!(user_uuid(&lower.to_uppercase()).as_deref(), Some(lower));
        assert_eq!(user_uuid("0f8fad5bd9cb469fa16570867728950e"), None);
        assert_eq!(user_uuid("not-a-uuid"), None);
    }
}
