//! `/v1/leaderboards` and `/v1/civilizations`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::ApiResult;
use crate::respond::{respond, CacheClass};
use crate::tournaments::not_built_yet;
use crate::wire::ser_opt_dt;
use crate::AppState;

/// `{"last_polled_at": ..., "items": [...]}`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "ListEnvelope_{T}_")]
pub struct ListEnvelope<T> {
    #[serde(serialize_with = "ser_opt_dt")]
    pub last_polled_at: Option<DateTime<Utc>>,
    pub items: Vec<T>,
}

#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub(crate) struct LeaderboardRead {
    leaderboard_id: i64,
    name: String,
    is_ranked: bool,
    #[serde(skip)]
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub(crate) struct CivilizationRead {
    civilization_id: i64,
    name: String,
    #[serde(skip)]
    updated_at: DateTime<Utc>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/leaderboards", get(leaderboards))
        .route("/v1/civilizations", get(civilizations))
}

/// Rows of a query, or none while the read models are not built yet.
pub async fn rows_or_empty<T>(result: Result<Vec<T>, sqlx::Error>) -> ApiResult<Vec<T>> {
    match result {
        Ok(rows) => Ok(rows),
        Err(e) if not_built_yet(&e) => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

async fn leaderboards(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let sql = "SELECT leaderboard_id, name, is_ranked, updated_at FROM live.leaderboards
                ORDER BY leaderboard_id";
    catalog_list(&state, &headers, sql, |l: &LeaderboardRead| l.updated_at).await
}

async fn civilizations(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let sql = "SELECT civilization_id, name, updated_at FROM live.civilizations
                ORDER BY civilization_id";
    catalog_list(&state, &headers, sql, |c: &CivilizationRead| c.updated_at).await
}

/// One catalog table as a list; `last_polled_at` is its newest row's `updated_at`.
async fn catalog_list<T>(
    state: &AppState,
    headers: &HeaderMap,
    sql: &'static str,
    updated_at: fn(&T) -> DateTime<Utc>,
) -> ApiResult<Response>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Serialize + Send + Unpin,
{
    let items: Vec<T> = rows_or_empty(sqlx::query_as(sql).fetch_all(&state.pool).await).await?;
    let envelope = ListEnvelope {
        last_polled_at: items.iter().map(updated_at).max(),
        items,
    };
    Ok(respond(&envelope, CacheClass::Static, headers))
}
