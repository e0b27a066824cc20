//! Shared by the webhook tests: the tables other slices own, made by hand, and a local
//! receiver over real HTTP.
//!
//! The worker's own tests run no projector, so `stand_ins` creates the two tables it reads
//! (`live.webhook_subscriptions`, core's, and `live.notifications`, the notifications
//! projector's) with the projectors' columns, and `notify` writes rows directly. The whole
//! pipeline (projectors deriving, the binary delivering) is `tests/webhook_kill.rs`.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sqlx::PgPool;

pub const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtZm9yLXdlYmhvb2stZGVsaXZlcnk";

/// The tables of other slices, as stand-ins where they do not exist (see the module note).
pub async fn stand_ins(pool: &PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS live.webhook_subscriptions (
             subscription_id    text PRIMARY KEY,
             tournament_id      bigint NOT NULL,
             url                text NOT NULL,
             format             text NOT NULL,
             kinds              text[] NOT NULL,
             description        text,
             paused             boolean NOT NULL,
             secret_fingerprint text NOT NULL,
             created_position   bigint NOT NULL,
             created_at         timestamptz NOT NULL,
             updated_at         timestamptz NOT NULL);
         CREATE TABLE IF NOT EXISTS live.notifications (
             id            text PRIMARY KEY,
             tournament_id bigint NOT NULL,
             kind          text NOT NULL,
             position      bigint NOT NULL,
             ordinal       int NOT NULL,
             occurred_at   timestamptz NOT NULL,
             body          jsonb NOT NULL,
             UNIQUE (tournament_id, position, ordinal));
         CREATE TABLE IF NOT EXISTS public.webhook_secrets (
             subscription_id text PRIMARY KEY,
             secret          text NOT NULL,
             rotated_at      timestamptz NOT NULL);",
    )
    .execute(pool)
    .await
    .expect("create the stand-in tables");
}

pub async fn subscribe(pool: &PgPool, id: &str, tournament_id: i64, url: &str, format: &str) {
    sqlx::query(
        "INSERT INTO live.webhook_subscriptions
                (subscription_id, tournament_id, url, format, kinds, paused, secret_fingerprint,
                 created_position, created_at, updated_at)
         VALUES ($1, $2, $3, $4, '{}', false, 'test', 0, now(), now())",
    )
    .bind(id)
    .bind(tournament_id)
    .bind(url)
    .bind(format)
    .execute(pool)
    .await
    .expect("insert subscription");
    sqlx::query(
        "INSERT INTO public.webhook_secrets (subscription_id, secret, rotated_at)
         VALUES ($1, $2, now())",
    )
    .bind(id)
    .bind(SECRET)
    .execute(pool)
    .await
    .expect("insert secret");
}

pub async fn set_url(pool: &PgPool, id: &str, url: &str) {
    sqlx::query("UPDATE live.webhook_subscriptions SET url = $2 WHERE subscription_id = $1")
        .bind(id)
        .bind(url)
        .execute(pool)
        .await
        .expect("update url");
}

/// Inserts notification `position` (ordinal 0, kind `match_finished`) of `tournament_id`;
/// returns its id.
pub async fn notify(pool: &PgPool, tournament_id: i64, position: i64) -> String {
    let id = format!("n-{position}-match_finished-0");
    let body = json!({
        "id": id, "kind": "match_finished", "occurred_at": "2026-12-07T16:00:00Z",
        "position": position,
        "tournament": {"slug": "cup", "name": "Winter Cup"},
        "data": {"match_id": position, "map": "Arabia", "players": [
            {"name": "Hera", "profile_id": 1, "civ": "Mayans", "team": 1, "won": true},
            {"name": "ACCM", "profile_id": 2, "civ": "Franks", "team": 2, "won": false}]}
    });
    sqlx::query(
        "INSERT INTO live.notifications VALUES ($1, $2, 'match_finished', $3, 0, now(), $4)",
    )
    .bind(&id)
    .bind(tournament_id)
    .bind(position)
    .bind(body)
    .execute(pool)
    .await
    .expect("insert notification");
    id
}

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status the receiver answered.
    pub status: u16,
}

/// A failure answer: status, headers, body.
pub type Failure = (u16, Vec<(&'static str, String)>, String);

/// A local endpoint: answers `fail_first` requests with `failure` (status, headers, body),
/// then 200; records every request.
#[derive(Clone, Default)]
pub struct Receiver {
    pub log: Arc<Mutex<Vec<Received>>>,
    pub fail_first: Arc<Mutex<usize>>,
    pub failure: Arc<Mutex<Failure>>,
    pub delay: Arc<Mutex<Duration>>,
    /// Requests that arrived (counted before the delay; `log` has those answered).
    pub arrivals: Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    pub fn failing(n: usize, status: u16) -> Self {
        let r = Self::default();
        *r.fail_first.lock().unwrap() = n;
        r.failure.lock().unwrap().0 = status;
        r
    }

    pub async fn serve(&self) -> String {
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Ids answered 2xx, in order.
    pub fn delivered_ids(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|r| r.status < 300)
            .map(|r| r.id)
            .collect()
    }

    /// Waits until `done` holds for the log (panics after `within`).
    pub async fn wait_for(&self, within: Duration, done: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if done(&self.received()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "receiver: condition not met within {within:?}; got {:?}",
                self.received()
                    .iter()
                    .map(|r| (&r.id, r.status))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    r.arrivals.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let delay = *r.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let id = headers
        .get("x-standings-notification-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let fail = {
        let mut left = r.fail_first.lock().unwrap();
        let fail = *left > 0;
        if fail {
            *left -= 1;
        }
        fail
    };
    let (status, extra, text) = if fail {
        r.failure.lock().unwrap().clone()
    } else {
        (200, vec![], String::new())
    };
    r.log.lock().unwrap().push(Received {
        id,
        headers,
        body: body.to_vec(),
        at: Instant::now(),
        status,
    });
    let mut response = (StatusCode::from_u16(status).unwrap(), text).into_response();
    for (name, value) in extra {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// A worker config for tests: fast backoff and sweep, loopback allowed.
pub fn fast_config() -> webhooks::DeliveryConfig {
    webhooks::DeliveryConfig {
        policy: webhooks::UrlPolicy {
            allow_http: true,
            allowed: webhooks::UrlPolicy::parse_allowed("127.0.0.1,localhost").unwrap(),
        },
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(100),
        sweep: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        lock_retry: Duration::from_millis(100),
        lock_check: Duration::from_secs(1),
        ..webhooks::DeliveryConfig::default()
    }
}

/// Runs a worker until the returned sender is dropped or sends `true`.
pub fn start(
    pool: &PgPool,
    config: webhooks::DeliveryConfig,
) -> (tokio::sync::watch::Sender<bool>, webhooks::Deliverer) {
    let deliverer = webhooks::Deliverer::new(config, pool.clone()).expect("client");
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(deliverer.clone().run(rx));
    (tx, deliverer)
}

pub fn body_json(r: &Received) -> Value {
    serde_json::from_slice(&r.body).expect("a JSON body")
}

/// Polls `sub`'s delivery log until `done` holds for it (the receiver sees a request before
/// the worker commits its outcome); panics after `within`.
pub async fn log_until(
    pool: &PgPool,
    sub: &str,
    within: Duration,
    done: impl Fn(&webhooks::log::DeliveryLog) -> bool,
) -> webhooks::log::DeliveryLog {
    let deadline = Instant::now() + within;
    loop {
        let log = webhooks::log::deliveries(pool, sub, 50)
            .await
            .expect("read the delivery log");
        if done(&log) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "{sub}: not reached within {within:?}: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
