//! `GET /v1/me`: who the caller is, what they own, and whether they may create tournaments.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::caller::authenticate;
use crate::error::ApiResult;
use crate::respond::{respond, CacheClass};
use crate::tournaments::{owned_by, TournamentRead};
use crate::writes::creator_facts;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/me", get(me))
}

/// `MeRead`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MeRead {
    pub user_id: String,
    pub owned_tournaments: Vec<TournamentRead>,
    pub can_create_tournaments: bool,
}

async fn me(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let user_id = authenticate(&state, &headers).await?;
    let owned_tournaments = owned_by(&state.pool, &user_id).await?;
    let can_create_tournaments = creator_facts(&state.pool, &user_id).await?.on_allowlist;
    let me = MeRead {
        user_id,
        owned_tournaments,
        can_create_tournaments,
    };
    Ok(respond(&me, CacheClass::Private, &headers))
}
