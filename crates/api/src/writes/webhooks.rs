//! Webhook subscriptions (issue 15): `GET`/`POST …/webhooks`, `GET`/`PATCH`/`DELETE
//! …/webhooks/{webhook_id}`, `POST …/webhooks/{webhook_id}/rotate-secret`. Owner only, in the
//! contract's 401 → 404 → 403 order like every write.
//!
//! The URL is vetted before the command ([`vet_url`]: scheme, then every address the host
//! resolves to, under the operator's [`UrlPolicy`]); the aggregate checks the rest. Secrets
//! live in `webhook_secrets`, never in the log: a registration stores its secret before the
//! event (an orphan row is harmless; a subscription without a secret could not be signed), a
//! rotation after it (should that write fail, deliveries keep the old secret the owner still
//! has). Reads never show a secret or a URL's path: only the create and rotate answers carry
//! the secret, once.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use domain::tournament::webhooks::{
    MAX_WEBHOOKS_PER_TOURNAMENT, MAX_WEBHOOK_DESCRIPTION_CHARS, MAX_WEBHOOK_URL_CHARS,
};
use domain::tournament::{
    TournamentAction, TournamentError, WebhookChange, WebhookFormat, WebhookRegistration,
    WebhookTarget,
};
use domain::webhook_url::{redact, UrlPolicy, UrlRefusal};
use schemars::JsonSchema;
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use store::webhook_secrets;

use super::body::{self, field};
use super::{manage, owner, Owner};
use crate::error::{ApiError, ApiResult};
use crate::respond::{respond, CacheClass};
use crate::wire::ser_dt;
use crate::AppState;

/// How long registration waits for the host's DNS answer.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// `WebhookRead`: a subscription as its owners see it.
#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub struct WebhookRead {
    pub id: String,
    pub tournament_id: i64,
    /// Scheme, host and port only, then `/…`: a webhook URL's path is a credential (Discord's
    /// is), so no read shows it.
    pub url: String,
    /// `json` (signed generic JSON) or `discord`.
    pub format: String,
    /// Notification kinds delivered; empty means every kind.
    pub kinds: Vec<String>,
    pub description: Option<String>,
    pub paused: bool,
    /// First 8 hex digits of the SHA-256 of the current secret: tells which secret a receiver
    /// holds without showing it.
    pub secret_fingerprint: String,
    #[serde(serialize_with = "ser_dt")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_dt")]
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answers of create and rotate-secret, once.
    /// Store it: it cannot be read again, only rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub secret: Option<String>,
}

/// The two formats, as the body names them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum WebhookFormatName {
    Json,
    Discord,
}

/// The notification kinds, as bodies name them (`domain::tournament::webhooks`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum NotificationKind {
    MatchFinished,
    PeakRating,
    LeadChange,
    StreakMilestone,
    PlayerLive,
    PlayerOffline,
    WindowOpened,
    WindowClosed,
}

/// `WebhookCreate`: the body of `POST /v1/tournaments/{tournament_slug}/webhooks`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct WebhookCreate {
    /// The endpoint: `https` (plain `http` only where the operator allows it), a host that
    /// resolves only to public addresses (unless the operator's allowlist names it). For
    /// `format: discord`, a Discord webhook URL (`https://discord.com/api/webhooks/…`).
    #[serde(deserialize_with = "field::required")]
    #[schemars(length(min = 1, max = MAX_WEBHOOK_URL_CHARS))]
    pub url: String,
    #[serde(default, deserialize_with = "format")]
    #[schemars(with = "WebhookFormatName", extend("default" = "json"))]
    pub format: Option<WebhookFormat>,
    /// Notification kinds to deliver; absent or empty: every kind.
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(with = "Vec<NotificationKind>")]
    pub kinds: Option<Vec<String>>,
    #[serde(default, deserialize_with = "field::optional")]
    #[schemars(length(min = 1, max = MAX_WEBHOOK_DESCRIPTION_CHARS))]
    pub description: Option<String>,
}

/// `WebhookUpdate`: the body of `PATCH …/webhooks/{webhook_id}`. Only present keys are
/// applied; `null` is refused except for `description` (clears it). `paused` pauses or
/// resumes delivery.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = body::no_null_defaults)]
pub struct WebhookUpdate {
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(length(min = 1, max = MAX_WEBHOOK_URL_CHARS))]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "format_patch")]
    #[schemars(with = "WebhookFormatName")]
    pub format: Option<WebhookFormat>,
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(with = "Vec<NotificationKind>")]
    pub kinds: Option<Vec<String>>,
    #[serde(default, deserialize_with = "field::nullable")]
    #[schemars(
        with = "Option<String>",
        length(min = 1, max = MAX_WEBHOOK_DESCRIPTION_CHARS)
    )]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "field::not_null")]
    #[schemars(with = "bool")]
    pub paused: Option<bool>,
}

fn format_text<E: serde::de::Error>(text: String) -> Result<WebhookFormat, E> {
    match text.as_str() {
        "json" => Ok(WebhookFormat::Json),
        "discord" => Ok(WebhookFormat::Discord),
        _ => Err(E::custom("Input should be 'json' or 'discord'")),
    }
}

/// POST: absent and `null` read as the default (`json`).
fn format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WebhookFormat>, D::Error> {
    match field::optional::<D, serde_json::Value>(d)? {
        None => Ok(None),
        Some(serde_json::Value::String(s)) => format_text(s).map(Some),
        Some(_) => Err(D::Error::custom("Input should be 'json' or 'discord'")),
    }
}

/// PATCH: absent → `None`, `null` → 422.
fn format_patch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WebhookFormat>, D::Error> {
    format_text(field::required::<D, String>(d)?).map(Some)
}

/// Checks `url` under `policy`: its shape and scheme, then every address its host resolves to
/// (tokio's resolver, at most 3 s). The operator CLI uses it too.
pub async fn vet_url(policy: &UrlPolicy, url: &str) -> Result<WebhookTarget, UrlRefusal> {
    if url.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return Err(UrlRefusal(format!(
            "must be 1-{MAX_WEBHOOK_URL_CHARS} characters"
        )));
    }
    let target = policy.check_syntax(url)?;
    let allowlisted = policy.host_allowed(&target.host)
        || target.literal.is_some_and(|ip| policy.address_allowed(ip));
    let addrs: Vec<IpAddr> = match target.literal {
        Some(ip) => vec![ip],
        None if allowlisted => vec![],
        None => {
            let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                Ok(Err(_)) => {
                    return Err(UrlRefusal(format!("host {} does not resolve", target.host)))
                }
                Err(_) => {
                    return Err(UrlRefusal(format!(
                        "host {} did not resolve within {} s",
                        target.host,
                        RESOLVE_TIMEOUT.as_secs()
                    )))
                }
            }
        }
    };
    policy.check_addresses(&target, &addrs)?;
    Ok(WebhookTarget {
        url: url.to_string(),
        host_allowlisted: allowlisted,
    })
}

async fn vetted(state: &AppState, url: &str) -> ApiResult<WebhookTarget> {
    vet_url(&state.webhook_urls, url)
        .await
        .map_err(|refusal| ApiError::body("url", refusal.to_string()))
}

/// The subscriptions of a tournament (or the one named), oldest first.
async fn fetch(
    state: &AppState,
    tournament_id: i64,
    id: Option<&str>,
) -> ApiResult<Vec<WebhookRead>> {
    let mut rows: Vec<WebhookRead> = sqlx::query_as(
        "SELECT subscription_id AS id, tournament_id, url, format, kinds, description, paused,
                secret_fingerprint, created_at, updated_at, NULL::text AS secret
           FROM live.webhook_subscriptions
          WHERE tournament_id = $1 AND ($2::text IS NULL OR subscription_id = $2)
          ORDER BY created_position",
    )
    .bind(tournament_id)
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    for row in &mut rows {
        row.url = redact(&row.url);
    }
    Ok(rows)
}

fn not_found() -> ApiError {
    TournamentError::WebhookNotFound.into()
}

/// The subscription after a write (the write settled, so the read model has it).
async fn read_back(state: &AppState, owner: &Owner, id: &str) -> ApiResult<WebhookRead> {
    fetch(state, owner.tournament_id, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            tracing::warn!(id, "webhook not in the read model after its write settled");
            ApiError::Unavailable
        })
}

/// 404 `Webhook not found` unless the tournament has subscription `id` (from the aggregate
/// the owner check loaded: no query, so any path text is safe).
pub(super) fn existing(owner: &Owner, id: &str) -> ApiResult<()> {
    if owner.tournament.webhooks.contains_key(id) {
        Ok(())
    } else {
        Err(not_found())
    }
}

pub async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    let rows = fetch(&state, owner.tournament_id, None).await?;
    Ok(respond(&rows, CacheClass::NoStore, &headers))
}

pub async fn get(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    existing(&owner, &id)?;
    let row = read_back(&state, &owner, &id).await?;
    Ok(respond(&row, CacheClass::NoStore, &headers))
}

pub async fn create(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    let WebhookCreate {
        url,
        format,
        kinds,
        description,
    } = body::read(&body)?;
    // The cap before any DNS lookup (the aggregate checks it again).
    if owner.tournament.webhooks.len() >= MAX_WEBHOOKS_PER_TOURNAMENT {
        return Err(TournamentError::WebhookLimit.into());
    }
    let target = vetted(&state, &url).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let secret = webhook_secrets::generate();
    webhook_secrets::save(&state.pool, &id, &secret).await?;
    let action = TournamentAction::RegisterWebhook(Box::new(WebhookRegistration {
        subscription_id: id.clone(),
        target,
        format: format.unwrap_or(WebhookFormat::Json),
        kinds: kinds.unwrap_or_default(),
        description,
        secret_fingerprint: webhook_secrets::fingerprint(&secret),
        at: Utc::now(),
    }));
    if let Err(e) = manage(&state, &headers, &slug, &owner, action).await {
        if let Err(forget) = webhook_secrets::forget(&state.pool, &id).await {
            tracing::warn!(error = %forget, "could not forget a refused webhook's secret");
        }
        return Err(e);
    }
    let mut read = read_back(&state, &owner, &id).await?;
    read.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(read)).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    existing(&owner, &id)?;
    let WebhookUpdate {
        url,
        format,
        kinds,
        description,
        paused,
    } = body::read(&body)?;
    let target = match url {
        Some(url) => Some(vetted(&state, &url).await?),
        None => None,
    };
    if target.is_some() || format.is_some() || kinds.is_some() || description.is_some() {
        let change = WebhookChange::Edit {
            target,
            format,
            kinds,
            description,
        };
        manage(&state, &headers, &slug, &owner, change_of(&id, change)).await?;
    }
    if let Some(paused) = paused {
        let change = if paused {
            WebhookChange::Pause
        } else {
            WebhookChange::Resume
        };
        manage(&state, &headers, &slug, &owner, change_of(&id, change)).await?;
    }
    let read = read_back(&state, &owner, &id).await?;
    Ok(Json(read).into_response())
}

fn change_of(id: &str, change: WebhookChange) -> TournamentAction {
    TournamentAction::ChangeWebhook {
        subscription_id: id.to_string(),
        change,
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let owner = owner(&state, &headers, &slug).await?;
    existing(&owner, &id)?;
    manage(
        &state,
        &headers,
        &slug,
        &owner,
        change_of(&id, WebhookChange::Delete),
    )
    .await?;
    if let Err(e) = webhook_secrets::forget(&state.pool, &id).await {
        tracing::warn!(error = %e, "could not forget a deleted webhook's secret");
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let owner = owner(&state, &headers, &slug).await?;
    existing(&owner, &id)?;
    let secret = webhook_secrets::generate();
    let change = WebhookChange::RotateSecret {
        secret_fingerprint: webhook_secrets::fingerprint(&secret),
    };
    manage(&state, &headers, &slug, &owner, change_of(&id, change)).await?;
    webhook_secrets::save(&state.pool, &id, &secret).await?;
    let mut read = read_back(&state, &owner, &id).await?;
    read.secret = Some(secret);
    Ok(Json(read).into_response())
}
