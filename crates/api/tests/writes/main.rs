//! The management API against a real server, a real PostgreSQL, a running projector and a
//! JWKS served over HTTP with keys generated here: authentication, the 401 → 404 → 403 order
//! on every write route, the contract's rules, idempotency, read-your-writes and the audit.
//!
//! One binary (`cargo test -p api --test writes`), a module per group of routes and rules:
//! `tokens` (authentication, the 401 → 404 → 403 order), `rules` (the contract's rules),
//! `idempotency`, `audit` (the trail and `as_of`), `cors`, `owners` (enrichment from the auth
//! service), `hostile` (bad input, and what the fuzzer found) and `webhooks` (subscriptions,
//! their delivery log and replay).

#[path = "../common/mod.rs"]
mod common;
use common::*;

mod audit;
mod cors;
mod hostile;
mod idempotency;
mod owners;
mod rules;
mod tokens;
mod webhooks;

use std::time::Duration;

use chrono::Utc;
use domain::event::Actor;
use domain::tournament::{Tournament, TournamentAction, TournamentCommand};
use domain::EventMetadata;
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;
use testkit::seed;

/// Receivers in tests listen on 127.0.0.1 (allowlisted, plain http); `discord.com` is
/// allowlisted by name so a Discord URL registers without DNS in the sandbox.
fn webhook_policy() -> domain::webhook_url::UrlPolicy {
    domain::webhook_url::UrlPolicy {
        allow_http: true,
        allowed: domain::webhook_url::UrlPolicy::parse_allowed("127.0.0.1,discord.com").unwrap(),
    }
}

const THIRD: &str = "33333333-3333-3333-3333-333333333333";

struct Env {
    base: String,
    client: reqwest::Client,
    key: auth::DevKey,
    pool: PgPool,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Env {
    async fn start(prefix: &str, issuer: Option<&str>) -> Env {
        Env::start_with(prefix, issuer, None).await
    }

    async fn start_with(prefix: &str, issuer: Option<&str>, directory: Option<&str>) -> Env {
        let pool = store::testing::migrated_pool(prefix).await;
        let key = auth::DevKey::generate();
        let mut config = auth::VerifierConfig::new(jwks_server(key.jwks()).await);
        config.issuer = issuer.map(str::to_string);
        let stop = testkit::seed::run_projectors(&pool);
        seed(&pool).await;
        let cache = std::sync::Arc::new(api::ResponseCache::default());
        let mut state = api::AppState::with_cache(pool.clone(), cache)
            .with_auth(auth::Verifier::new(config))
            .with_webhook_policy(webhook_policy());
        if let Some(base) = directory {
            state = state.with_directory(base);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = api::router(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Env {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            key,
            pool,
            _stop: stop,
        }
    }

    fn token(&self, user: &str) -> String {
        self.key.mint(user, Duration::from_secs(600), None)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let r = self.send(method, path, user, body, &[]).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(verb, format!("{}{path}", self.base));
        if let Some(user) = user {
            request = request.header("cookie", format!("criticalbit_access={}", self.token(user)));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // Every answer is checked against `/openapi.json` (`common::schema`).
        let response = request.send().await.unwrap();
        schema::checked(method, path, response).await
    }

    /// A roster row's id, from the read model (linked rows stay hidden from `/players` until
    /// their first stats poll, and nothing polls here).
    async fn roster_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM live.tournament_players WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{name} on the roster: {e}"))
    }

    async fn roster_names(&self, slug: &str) -> Vec<String> {
        let (status, body) = self
            .call(
                "GET",
                &format!("/v1/tournaments/{slug}/players"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200);
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The catalog (ladder 3 is a supported ranked board) and the creator allowlist.
async fn seed(pool: &PgPool) {
    let store = EventStore::new(pool.clone());
    let boards = vec![seed::solo_rm(), seed::unranked()];
    seed::catalog(&store, boards, vec![], Utc::now()).await;
    seed::grant_creators(&store, &[OWNER, OTHER], "test", Utc::now()).await;
    // The creator facts come from the read models: wait for them.
    seed::wait_for_creators(pool, 2).await;
}

fn cup(slug: &str) -> Value {
    json!({"slug": slug, "name": "Spring Cup", "leaderboard_id": 3,
           "start_date": "2026-01-01T00:00:00Z", "host_stream_urls": ["https://twitch.tv/host"],
           "presentation": {"accent": "gold"}})
}
