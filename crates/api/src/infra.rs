//! Unversioned infrastructure routes (seed contract §1.1 rows 1-2).

use std::time::Duration;

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

/// How long `/health` waits for the database (the pool's acquire timeout is ~2 s too): a
/// load balancer's probe gets an answer within 2 s, whatever the database does.
const HEALTH_BUDGET: Duration = Duration::from_millis(1500);

/// Readiness: 200 `healthy` when the database answers and every projector is applying
/// events; 503 `degraded` when one is parked (this replica serves stale reads: take it out
/// of rotation only if another can do better, and alert), 503 `unhealthy` when the database
/// is unreachable (or does not answer within [`HEALTH_BUDGET`]). A quarantined poison event
/// is 200 `degraded`: only its tournament is stale, which no other replica can do better, so
/// a load balancer must keep this one (alert on `problems` or the metric instead).
/// `problems` lists what is wrong, one entry each. Liveness (the process answers at all) is
/// `GET /`.
async fn health(State(state): State<AppState>) -> Response {
    let pool = json!({"size": state.pool.size(), "idle": state.pool.num_idle()});
    let report = tokio::time::timeout(HEALTH_BUDGET, projections::status::report(&state.pool));
    match report.await {
        Ok(Ok(builds)) => {
            if let Some(cache) = &state.cache {
                cache.database_answered();
            }
            let parked: Vec<_> = builds
                .iter()
                .filter(|b| b.state == "parked")
                .map(|b| {
                    json!({
                        "kind": "projector_parked", "projection": b.name,
                        "detail": b.last_error,
                    })
                })
                .collect();
            let quarantined = builds.iter().flat_map(|b| {
                b.quarantined.iter().map(move |q| {
                    json!({
                        "kind": "event_quarantined", "projection": b.name,
                        "detail": format!(
                            "event {} ({}) of {}{}: {}",
                            q.position,
                            q.event_type,
                            q.aggregate_id,
                            q.tournament
                                .as_deref()
                                .map(|t| format!(", tournament {t}"))
                                .unwrap_or_default(),
                            q.error
                        ),
                    })
                })
            });
            let unready = !parked.is_empty();
            let problems: Vec<_> = parked.into_iter().chain(quarantined).collect();
            let projections: Vec<_> = builds
                .iter()
                .map(|b| {
                    json!({
                        "name": b.name, "state": b.state, "lag_events": b.lag_events,
                        "last_error": b.last_error, "quarantined": b.quarantined,
                    })
                })
                .collect();
            let (status, code) = match (problems.is_empty(), unready) {
                (true, _) => ("healthy", StatusCode::OK),
                (false, false) => ("degraded", StatusCode::OK),
                (false, true) => ("degraded", StatusCode::SERVICE_UNAVAILABLE),
            };
            no_store(
                json!({"status": status, "pool": pool, "projections": projections,
                       "problems": problems}),
                code,
            )
        }
        Ok(Err(_)) | Err(_) => {
            // Reads the cache holds are answered from it (marked stale) without waiting.
            if let Some(cache) = &state.cache {
                cache.database_failed();
            }
            let mut response = no_store(
                json!({"status": "unhealthy", "reason": "database unreachable", "pool": pool,
                       "problems": [{"kind": "database_unreachable", "projection": null,
                                     "detail": "database unreachable"}]}),
                StatusCode::SERVICE_UNAVAILABLE,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}
