//! Unversioned infrastructure routes (seed contract §1.1 rows 1-2).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/.well-known/security.txt", get(security_txt))
        .route("/v1/flags", get(flags))
}

/// Unknown paths: the contract's 404 shape.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response()
}

async fn security_txt() -> Response {
    let mut response = "Contact: mailto:security@criticalbit.gg\n\
                        Expires: 2027-05-30T00:00:00.000Z\n\
                        Canonical: https://aoe2-live-standings-api.criticalbit.gg/.well-known/security.txt\n\
                        Preferred-Languages: en\n"
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `FEATURE_<NAME>` environment variables as `{name: bool}`; true for 1 / true / yes.
async fn flags() -> Response {
    let flags: serde_json::Map<String, serde_json::Value> = std::env::vars()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("FEATURE_")?.to_lowercase();
            let on = matches!(value.to_lowercase().as_str(), "1" | "true" | "yes");
            Some((name, serde_json::Value::Bool(on)))
        })
        .collect();
    no_store(serde_json::Value::Object(flags), StatusCode::OK)
}

fn no_store(body: serde_json::Value, status: StatusCode) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn root() -> Response {
    no_store(
        json!({"status": "ok", "service": "aoe2-live-standings-api"}),
        StatusCode::OK,
    )
}

/// `healthy` when the database answers and no projector is parked; `degraded` (still 200: stale
/// reads beat none) when one is parked, with its error, or has quarantined a poison event (named
/// with its tournament); 503 when the database is unreachable.
/// Pool usage is reported so connection exhaustion shows before it bites.
async fn health(State(state): State<AppState>) -> Response {
    let pool = json!({"size": state.pool.size(), "idle": state.pool.num_idle()});
    match projections::status::report(&state.pool).await {
        Ok(builds) => {
            let parked = builds
                .iter()
                .any(|b| b.state == "parked" || !b.quarantined.is_empty());
            let status = if parked { "degraded" } else { "healthy" };
            let projections: Vec<_> = builds
                .iter()
                .map(|b| {
                    json!({
                        "name": b.name, "state": b.state, "lag_events": b.lag_events,
                        "last_error": b.last_error, "quarantined": b.quarantined,
                    })
                })
                .collect();
            no_store(
                json!({"status": status, "pool": pool, "projections": projections}),
                StatusCode::OK,
            )
        }
        Err(_) => no_store(
            json!({"status": "unhealthy", "reason": "database unreachable", "pool": pool}),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}
