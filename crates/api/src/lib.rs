//! The HTTP surface: one router per resource, mounted by [`router`], with explicit shared state
//! and the contract's cross-cutting behaviour (request ids, security headers, Cache-Control
//! defaults, open CORS for public reads, body size limit) in [`middleware`], per-client rate
//! limits in [`ratelimit`], request metrics and `GET /metrics` in [`metrics`], and the OpenAPI
//! document with its `/docs` in [`openapi`].
//!
//! Invariant: handlers read `live.*` read models and send commands; they never write read-model
//! tables. Every client error is a 4xx in the contract's shape (`error.rs`), never a 5xx.

mod as_of;
mod audit;
mod cache;
mod caller;
mod catalog;
mod cors;
mod directory;
pub mod edge;
mod error;
mod frozen;
mod games;
mod history;
mod idempotency;
mod infra;
mod insights;
mod matches;
pub(crate) mod me;
pub mod metrics;
mod middleware;
pub mod openapi;
mod players;
mod query;
pub mod ratelimit;
mod respond;
mod standings;
mod text;
mod tournaments;
mod wire;
mod writes;

use std::sync::Arc;

use axum::Router;
use sqlx::PgPool;

pub use standings::{compute as compute_standings, StandingRow};
pub use tournaments::not_built_yet;
pub use writes::{parse_datetime, vet_url as vet_webhook_url};

/// The as-of table of `slug` at `at` as JSON, served (`indexed`) or by the full replay: lets
/// tests and the bench compare the two ways. Not part of the API.
#[doc(hidden)]
pub async fn as_of_standings_json(
    pool: &PgPool,
    slug: &str,
    at: chrono::DateTime<chrono::Utc>,
    indexed: bool,
) -> Result<serde_json::Value, String> {
    let method = if indexed {
        as_of::Method::Indexed
    } else {
        as_of::Method::Replay
    };
    let run = async {
        let t = tournaments::find(pool, slug).await?;
        as_of::standings(pool, &t, at, method).await
    };
    let table = run.await.map_err(|e| format!("{e:?}"))?;
    serde_json::to_value(&table).map_err(|e| e.to_string())
}

pub use cache::ResponseCache;
pub use cors::CorsPolicy;
pub use directory::UserDirectory;
pub use edge::Edge;
pub use frozen::{Frozen, ARCHIVED};
pub use middleware::SECURITY_HEADERS;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Hot per-tournament responses; `None` when nothing invalidates it (no nudge feed).
    pub cache: Option<Arc<ResponseCache>>,
    /// Rate limiter and metrics.
    pub edge: Arc<Edge>,
    /// Verifies access tokens; `None`: no key set configured, every token is invalid.
    pub auth: Option<auth::Verifier>,
    /// Browser origins allowed to call with credentials (first-party front-ends).
    pub cors: Arc<CorsPolicy>,
    /// Owner profiles from the auth service; `None`: owners' profile fields are null.
    pub directory: Option<Arc<UserDirectory>>,
    /// Snapshots of archived tournaments' reads; empty until [`Frozen::refresh`] runs.
    pub frozen: Arc<Frozen>,
    /// Where webhooks may point (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOWED_HOSTS`); default:
    /// `https` to public addresses only.
    pub webhook_urls: Arc<domain::webhook_url::UrlPolicy>,
}

impl AppState {
    /// Computes every response (no nudge feed to invalidate a cache), accepts no token.
    pub fn new(pool: PgPool) -> AppState {
        AppState {
            pool,
            cache: None,
            edge: Arc::default(),
            auth: None,
            cors: Arc::new(CorsPolicy::default()),
            directory: None,
            frozen: Arc::default(),
            webhook_urls: Arc::default(),
        }
    }

    /// Serves hot reads from `cache`, which the caller must invalidate on every nudge.
    pub fn with_cache(pool: PgPool, cache: Arc<ResponseCache>) -> AppState {
        AppState {
            cache: Some(cache),
            ..AppState::new(pool)
        }
    }

    /// Echoes these origins with credentials (default: development's localhost ports).
    pub fn with_cors(mut self, policy: CorsPolicy) -> AppState {
        self.cors = Arc::new(policy);
        self
    }

    /// Fills owners' display name, email and avatar from the auth service at `base_url`.
    pub fn with_directory(mut self, base_url: &str) -> AppState {
        self.directory = Some(Arc::new(UserDirectory::new(base_url)));
        self
    }

    /// Accepts the tokens `verifier` accepts (writes, `/v1/me`).
    pub fn with_auth(mut self, verifier: auth::Verifier) -> AppState {
        self.auth = Some(verifier);
        self
    }

    /// Lets webhooks point where `policy` allows (the binary's settings; tests allow
    /// `http` to 127.0.0.1).
    pub fn with_webhook_policy(mut self, policy: domain::webhook_url::UrlPolicy) -> AppState {
        self.webhook_urls = Arc::new(policy);
        self
    }

    /// Rate limits and metrics from the binary's settings.
    pub fn with_edge(mut self, edge: Arc<Edge>) -> AppState {
        self.edge = edge;
        self
    }
}

/// The whole application. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// so the rate limiter sees the peer address.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] plus `extra` routes (the binary's overlays and live page) behind the same edge
/// middleware (rate limits, security headers, request ids, metrics), without this crate
/// depending on theirs.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let app = Router::new()
        .merge(extra)
        .merge(infra::router())
        .merge(tournaments::router())
        .merge(catalog::router())
        .merge(standings::router())
        .merge(matches::router())
        .merge(insights::router())
        .merge(players::router())
        .merge(audit::router())
        .merge(history::router())
        .merge(text::router())
        .merge(me::router())
        .merge(writes::router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        )))
        .merge(openapi::router())
        .merge(metrics::router())
        .fallback(infra::not_found)
        // Innermost: a frozen answer still gets the edge's headers, limits and metrics.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            frozen::layer,
        ))
        .with_state(state.clone());
    // Snapshots are rendered through the handlers (not the edge: no rate limit, no metrics).
    state.frozen.set_app(app.clone());
    app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        ratelimit::limit,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        cors::layer,
    ))
    .layer(axum::middleware::from_fn(middleware::common))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        metrics::track,
    ))
}
