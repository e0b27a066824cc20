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

/// Healthy when the database answers; 503 otherwise so load balancers route around us.
async fn health(State(state): State<AppState>) -> Response {
    match sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => no_store(json!({"status": "healthy"}), StatusCode::OK),
        Err(_) => no_store(
            json!({"status": "unhealthy", "reason": "database unreachable"}),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}
