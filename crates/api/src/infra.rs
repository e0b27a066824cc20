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
/// reads beat none) when one is parked, with its error; 503 when the database is unreachable.
/// Pool usage is reported so connection exhaustion shows before it bites.
async fn health(State(state): State<AppState>) -> Response {
    let pool = json!({"size": state.pool.size(), "idle": state.pool.num_idle()});
    match projections::status::report(&state.pool).await {
        Ok(builds) => {
            let parked = builds.iter().any(|b| b.state == "parked");
            let status = if parked { "degraded" } else { "healthy" };
            let projections: Vec<_> = builds
                .iter()
                .map(|b| {
                    json!({
                        "name": b.name, "state": b.state, "lag_events": b.lag_events,
                        "last_error": b.last_error,
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
