//! The HTTP surface: one router per resource, mounted by [`router`], with explicit shared state
//! and the contract's cross-cutting behaviour (request ids, security headers, Cache-Control
//! defaults, open CORS for public reads, body size limit) in [`middleware`].
//!
//! Invariant: handlers read `live.*` read models and send commands; they never write read-model
//! tables. Every client error is a 4xx in the contract's shape (`error.rs`), never a 5xx.

mod catalog;
mod error;
mod infra;
mod insights;
mod matches;
mod middleware;
mod players;
mod query;
mod respond;
mod standings;
mod tournaments;
mod wire;

use axum::Router;
use sqlx::PgPool;

pub use standings::{compute as compute_standings, StandingRow};

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(infra::router())
        .merge(tournaments::router())
        .merge(catalog::router())
        .merge(standings::router())
        .merge(matches::router())
        .merge(insights::router())
        .merge(players::router())
        .fallback(infra::not_found)
        .layer(axum::middleware::from_fn(middleware::common))
        .with_state(state)
}
