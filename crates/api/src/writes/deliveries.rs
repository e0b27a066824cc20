//! A webhook's delivery log and the replay of its dead letters (owner only, issue 15):
//! `GET .../webhooks/{webhook_id}/deliveries`, `POST .../webhooks/{webhook_id}/replay`.
//! The work is in `webhooks::log`; these check the 401 → 404 → 403 order and that the
//! webhook is the tournament's.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::owner;
use crate::error::{ApiError, ApiResult};
use crate::respond::{respond, CacheClass};
use crate::AppState;

/// Attempts shown per webhook (the worker keeps about as many).
const ATTEMPTS_SHOWN: i64 = 50;

/// `POST .../replay`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ReplayRead {
    /// Dead letters queued for another round of attempts.
    pub requeued: u64,
}

pub async fn log(
    State(state): State<AppState>,
    Path((slug, webhook_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    webhook_of(&state, &webhook_id, owner.tournament_id).await?;
    let log = webhooks::log::deliveries(&state.pool, &webhook_id, ATTEMPTS_SHOWN).await?;
    Ok(respond(&log, CacheClass::NoStore, &headers))
}

pub async fn replay(
    State(state): State<AppState>,
    Path((slug, webhook_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    webhook_of(&state, &webhook_id, owner.tournament_id).await?;
    let requeued = webhooks::log::replay(&state.pool, &webhook_id).await?;
    Ok(respond(
        &ReplayRead { requeued },
        CacheClass::NoStore,
        &headers,
    ))
}

/// 404 unless `webhook_id` is a webhook of the tournament.
async fn webhook_of(state: &AppState, webhook_id: &str, tournament_id: i64) -> ApiResult<()> {
    if webhook_id.len() > 64
        || !webhooks::log::belongs(&state.pool, webhook_id, tournament_id).await?
    {
        return Err(ApiError::NotFound("Webhook not found"));
    }
    Ok(())
}
