//! `Idempotency-Key` on writes (seed contract §1.0.6), with three deliberate differences:
//! keys are scoped to the authenticated user (one user cannot replay another's answer), they
//! expire after 24 hours, and a reservation row makes a concurrent duplicate wait its turn
//! (409) instead of executing twice. Replays pass through the other middleware like any
//! response (security headers, request id), which the original's outermost layer skipped.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::caller::authenticate;
use crate::AppState;

const MAX_BODY_BYTES: usize = 1_048_576;
const PURGE_EVERY: Duration = Duration::from_secs(3600);
static LAST_PURGE: Mutex<Option<Instant>> = Mutex::new(None);

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let applies = matches!(
        *request.method(),
        Method::POST | Method::PATCH | Method::DELETE | Method::PUT
    );
    let Some(key) = request.headers().get("idempotency-key").cloned() else {
        return next.run(request).await;
    };
    if !applies {
        return next.run(request).await;
    }
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let Some(key) = key.to_str().ok().and_then(uuid_shaped) else {
        return envelope(
            &request_id,
            "idempotency_key_invalid",
            "Idempotency-Key must be a UUID",
        );
    };
    // Anonymous or invalid callers get their 401 from the handler; nothing to remember.
    let Ok(user) = authenticate(&state, request.headers()).await else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"detail": "Request body too large"})),
        )
            .into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b" ");
    hasher.update(&bytes);
    let fingerprint = format!("{:x}", hasher.finalize());

    match reserve(&state, &user, key, &fingerprint).await {
        Ok(Reservation::Mine) => {}
        Ok(Reservation::Taken(Stored {
            fingerprint: stored,
            status,
            body,
            content_type,
        })) => {
            if stored != fingerprint {
                return envelope(
                    &request_id,
                    "idempotency_key_reused",
                    "Idempotency-Key was used previously with a different request body or path",
                );
            }
            let Some(status) = status else {
                return (
                    StatusCode::CONFLICT,
                    Json(json!({"detail": "A request with this Idempotency-Key is still in progress"})),
                )
                    .into_response();
            };
            let mut response = Response::new(Body::from(body.unwrap_or_default()));
            *response.status_mut() = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
            if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Err(e) => {
            tracing::error!(error = %e, "idempotency store failed");
            return crate::error::ApiError::Unavailable.into_response();
        }
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    if status.is_server_error() {
        forget(&state, &user, key).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let stored = sqlx::query(
        "UPDATE idempotency_keys SET status = $3, body = $4, content_type = $5
          WHERE user_id = $1 AND key = $2",
    )
    .bind(&user)
    .bind(key)
    .bind(status.as_u16() as i16)
    .bind(bytes.as_ref())
    .bind(content_type)
    .execute(&state.pool)
    .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "cannot store an idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

enum Reservation {
    Mine,
    /// Another request holds the key: its answer (`status` NULL while it still runs).
    Taken(Stored),
}

#[derive(sqlx::FromRow)]
struct Stored {
    fingerprint: String,
    status: Option<i16>,
    body: Option<Vec<u8>>,
    content_type: Option<String>,
}

async fn reserve(
    state: &AppState,
    user: &str,
    key: uuid::Uuid,
    fingerprint: &str,
) -> sqlx::Result<Reservation> {
    purge_now_and_then(state).await;
    // An expired row is as good as none.
    sqlx::query(
        "DELETE FROM idempotency_keys
          WHERE user_id = $1 AND key = $2 AND created_at < now() - interval '24 hours'",
    )
    .bind(user)
    .bind(key)
    .execute(&state.pool)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(key)
    .bind(fingerprint)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Reservation::Mine);
    }
    let stored: Option<Stored> = sqlx::query_as(
        "SELECT fingerprint, status, body, content_type FROM idempotency_keys
          WHERE user_id = $1 AND key = $2",
    )
    .bind(user)
    .bind(key)
    .fetch_optional(&state.pool)
    .await?;
    // Expired and purged between our two statements: treat as still running elsewhere.
    Ok(Reservation::Taken(stored.unwrap_or(Stored {
        fingerprint: fingerprint.to_string(),
        status: None,
        body: None,
        content_type: None,
    })))
}

async fn forget(state: &AppState, user: &str, key: uuid::Uuid) {
    let _ = sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2")
        .bind(user)
        .bind(key)
        .execute(&state.pool)
        .await;
}

/// Drops expired keys at most once an hour per process.
async fn purge_now_and_then(state: &AppState) {
    let due = match LAST_PURGE.lock() {
        Ok(mut last) if last.is_none_or(|at| at.elapsed() >= PURGE_EVERY) => {
            *last = Some(Instant::now());
            true
        }
        _ => false,
    };
    if due {
        let _ = sqlx::query(
            "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'",
        )
        .execute(&state.pool)
        .await;
    }
}

/// `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`.
fn uuid_shaped(text: &str) -> Option<uuid::Uuid> {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let shaped = groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    shaped.then(|| uuid::Uuid::parse_str(text).ok()).flatten()
}

/// The contract's v1 error envelope, which its idempotency errors always use.
fn envelope(request_id: &str, code: &str, message: &str) -> Response {
    let timestamp = crate::wire::iso(&chrono::Utc::now());
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "error_code": code,
            "message": message,
            "request_id": request_id,
            "timestamp": timestamp,
            "details": null,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::uuid_shaped;

    #[test]
    fn keys_must_be_uuid_shaped() {
        assert!(uuid_shaped("0f8fad5b-d9cb-469f-a165-70867728950e").is_some());
        assert!(uuid_shaped("0F8FAD5B-D9CB-469F-A165-70867728950E").is_some());
        for bad in [
            "",
            "abc",
            "0f8fad5bd9cb469fa16570867728950e",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
        ] {
            assert!(uuid_shaped(bad).is_none(), "{bad}");
        }
    }
}
