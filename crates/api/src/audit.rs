//! `GET /v1/tournaments/{tournament_slug}/events`: the audit trail of a tournament, straight from the
//! event log: who changed what, when, paged by log position.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiResult;
use crate::query::Params;
use crate::respond::{respond, CacheClass};
use crate::tournaments::find_cached;
use crate::wire::ser_dt;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/tournaments/{tournament_slug}/events", get(events))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AuditEntry {
    position: i64,
    event_type: String,
    /// `user:<uuid>`, `operator:<name>` or `poller`.
    actor: Option<String>,
    request_id: Option<String>,
    #[serde(serialize_with = "ser_dt")]
    recorded_at: DateTime<Utc>,
    /// The event's data as stored.
    change: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AuditPage {
    items: Vec<AuditEntry>,
    /// Pass as `after` for the next page; `null` when this page is the last.
    next_after: Option<i64>,
}

async fn events(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let params = Params(params);
    let after = params.int_in("after", 0, i64::MAX, 0)?;
    let limit = params.int_in("limit", 1, 200, 50)?;
    let t = find_cached(&state, &slug).await?;
    // This tournament's events only: a deleted tournament's slug may have been reused.
    let rows: Vec<(i64, String, Value, Value, DateTime<Utc>)> = sqlx::query_as(
        "SELECT global_position, event_type, payload, metadata, recorded_at FROM events
          WHERE aggregate_type = 'Tournament' AND aggregate_id = $1 AND global_position > $2
            AND (SELECT (value->>'tournament_id')::bigint FROM json_each(payload) LIMIT 1) = $3
          ORDER BY global_position LIMIT $4",
    )
    .bind(&t.slug)
    .bind(after)
    .bind(t.id)
    .bind(limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<AuditEntry> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(position, event_type, payload, metadata, recorded_at)| {
            let field = |k: &str| metadata.get(k).and_then(Value::as_str).map(str::to_string);
            let mut change = payload
                .as_object()
                .and_then(|o| o.values().next().cloned())
                .unwrap_or(payload);
            redact_webhook_url(&event_type, &mut change);
            AuditEntry {
                position,
                event_type,
                actor: field("actor"),
                request_id: field("request_id"),
                recorded_at,
                change,
            }
        })
        .collect();
    let page = AuditPage {
        next_after: more.then(|| items.last().map(|e| e.position)).flatten(),
        items,
    };
    Ok(respond(&page, CacheClass::NoStore, &headers))
}

/// A webhook URL's path and query are credentials (Discord's token is in the path): this
/// public trail shows only scheme, host and port. Secrets are never in the log at all.
fn redact_webhook_url(event_type: &str, change: &mut Value) {
    if !domain::tournament::webhooks::EVENTS_WITH_URL.contains(&event_type) {
        return;
    }
    if let Some(url) = change.get_mut("url") {
        let redacted = domain::webhook_url::redact(url.as_str().unwrap_or_default());
        *url = Value::String(redacted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_redacted_and_other_events_untouched() {
        let mut change = serde_json::json!({"url": "https://discord.com/api/webhooks/1/tok"});
        redact_webhook_url("WebhookEdited", &mut change);
        assert_eq!(change["url"], "https://discord.com/…");
        let mut other = serde_json::json!({"url": "https://twitch.tv/x/y"});
        redact_webhook_url("TournamentUpdated", &mut other);
        assert_eq!(other["url"], "https://twitch.tv/x/y");
    }
}
