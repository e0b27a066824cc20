//! The HTTP surface: one router per resource, mounted by [`router`], with explicit shared state.
//!
//! Invariant: handlers read read-model tables and append events through commands; they never
//! write read-model tables.

mod infra;

use axum::Router;
use sqlx::PgPool;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

/// The whole application: infra routes (`/`, `/health`) now, `/v1` resources as they land.
pub fn router(state: AppState) -> Router {
    infra::router().with_state(state)
}
