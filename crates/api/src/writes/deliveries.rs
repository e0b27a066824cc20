//! A webhook's delivery log and the replay of its dead letters (owner only, issue 15):
//! `GET .../webhooks/{webhook_id}/deliveries`, `POST .../webhooks/{webhook_id}/replay`.
//! The work is in `webhooks::log`; these check the 401 → 404 → 403 order and that the
//! webhook is the tournament's.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::owner;
use super::webhooks::existing;
use crate::error::ApiResult;
use crate::respond::{respond, CacheClass};
use crate::AppState;

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
    existing(&owner, &webhook_id)?;
    let log =
        match webhooks::log::deliveries(&state.pool, &webhook_id, webhooks::log::ATTEMPTS_SHOWN)
            .await
        {
            Ok(log) => log,
            // A fresh deployment before the notifications projector's first build: nothing
            // can have been delivered yet.
            Err(e) if crate::tournaments::not_built_yet(&e) => webhooks::log::DeliveryLog {
                state: None,
                attempts: vec![],
                dead_letters: vec![],
            },
            Err(e) => return Err(e.into()),
        };
    Ok(respond(&log, CacheClass::NoStore, &headers))
}

pub async fn replay(
    State(state): State<AppState>,
    Path((slug, webhook_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    existing(&owner, &webhook_id)?;
    let requeued = webhooks::log::replay(&state.pool, &webhook_id).await?;
    Ok(respond(
        &ReplayRead { requeued },
        CacheClass::NoStore,
        &headers,
    ))
}
