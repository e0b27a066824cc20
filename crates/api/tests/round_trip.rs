//! Issue 11: no write can freeze the log. Against a real server, PostgreSQL and projector:
//!
//! - a `presentation` holding a number PostgreSQL would hand back unreadable is a 422 naming
//!   the field, and nothing is appended (before: 200, then every reader of the log stuck);
//! - a tournament whose stored event does not decode (as a deployment before the fix stored
//!   one) answers its writes with a 503 in the contract's shape instead of dropping the
//!   connection, other tournaments keep taking writes, and an operator's repair of the event
//!   makes it take writes again;
//! - a property test drives every write route with free-form JSON and text fields full of
//!   extreme numbers (as raw JSON text: `1e400`, 400-digit integers), deep nesting, long
//!   strings, every Unicode plane and NUL: each answer is a 4xx that appended nothing, or a 2xx
//!   whose events load back and project.

mod common;
use common::*;

use std::time::Duration;

use chrono::Utc;
use domain::tournament::Tournament;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;

struct Env {
    base: String,
    client: reqwest::Client,
    token: String,
    pool: PgPool,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Env {
    async fn start(prefix: &str) -> Env {
        let pool = store::testing::migrated_pool(prefix).await;
        let key = auth::DevKey::generate();
        let config = auth::VerifierConfig::new(jwks_server(key.jwks()).await);
        let stop = testkit::seed::run_core(&pool);
        seed(&pool).await;
        let cache = std::sync::Arc::new(api::ResponseCache::default());
        let state =
            api::AppState::with_cache(pool.clone(), cache).with_auth(auth::Verifier::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = api::router(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let env = Env {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap(),
            token: key.mint(OWNER, Duration::from_secs(3600), None),
            pool,
            _stop: stop,
        };
        for slug in ["cup", "other"] {
            let (status, body) = env
                .send("POST", "/v1/tournaments", cup(slug))
                .await
                .unwrap();
            assert_eq!(status, 201, "{body}");
        }
        let (status, body) = env
            .send(
                "POST",
                "/v1/tournaments/cup/players",
                json!({"name": "Hera"}),
            )
            .await
            .unwrap();
        assert_eq!(status, 204, "{body}");
        env
    }

    /// Sends `body` (raw JSON text, or a value) as the owner. `Err` is a transport failure
    /// (a dropped connection).
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: impl Into<Body>,
    ) -> Result<(u16, Value), String> {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .client
            .request(verb, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(body.into().0)
            .send()
            .await
            .map_err(|e| format!("transport: {e:?}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| format!("body: {e:?}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn events(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn roster_id(&self) -> i64 {
        sqlx::query_scalar("SELECT min(id) FROM live.tournament_players")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn parked(&self) -> Option<String> {
        projections::runner::builds(&self.pool)
            .await
            .unwrap()
            .into_iter()
            .find(|b| b.parked_at.is_some())
            .map(|b| format!("{} parked: {:?}", b.name, b.last_error))
    }
}

struct Body(Vec<u8>);

impl From<Value> for Body {
    fn from(value: Value) -> Self {
        Body(value.to_string().into_bytes())
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body(text.into_bytes())
    }
}

/// The catalog (ladder 3 is a supported ranked board) and `OWNER` on the creator allowlist.
async fn seed(pool: &PgPool) {
    let store = EventStore::new(pool.clone());
    testkit::seed::solo_rm_catalog(&store, Utc::now()).await;
    testkit::seed::grant_creators(&store, &[OWNER], "test", Utc::now()).await;
    testkit::seed::wait_for_creators(pool, 1).await;
}

fn cup(slug: &str) -> Value {
    json!({"slug": slug, "name": "Spring Cup", "leaderboard_id": 3,
           "start_date": "2026-01-01T00:00:00Z", "presentation": {"accent": "gold"}})
}

/// The issue's reproductions: each was a 200 that froze every read model.
#[tokio::test]
async fn numbers_the_log_cannot_give_back_are_refused_with_a_422_naming_the_field() {
    let env = Env::start("round_trip_422").await;
    let roster_entry = format!("/v1/tournaments/cup/players/{}", env.roster_id().await);
    let cases = [
        (
            "PATCH",
            "/v1/tournaments/cup",
            r#"{"presentation": {"x": 1.7976931348623157e308}}"#.to_string(),
        ),
        (
            "POST",
            "/v1/tournaments",
            cup("fresh").to_string().replace(
                r#""accent":"gold""#,
                r#""x":[1,{"y":1.7976931348623157e308}]"#,
            ),
        ),
        (
            "POST",
            "/v1/tournaments/cup/players",
            r#"{"name": "Liereyy", "presentation": {"x": -1.79e308}}"#.to_string(),
        ),
        (
            "PATCH",
            roster_entry.as_str(),
            r#"{"presentation": {"x": -1.79e308}}"#.to_string(),
        ),
    ];
    for (method, path, body) in cases {
        let before = env.events().await;
        let (status, answer) = env.send(method, path, body.clone()).await.unwrap();
        assert_eq!(status, 422, "{method} {path} {body}: {answer}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", "presentation"]),
            "{answer}"
        );
        let msg = answer["detail"][0]["msg"].as_str().unwrap();
        assert!(
            msg.contains("1e300") && msg.contains("presentation.x"),
            "{msg}"
        );
        assert_eq!(env.events().await, before, "{body}: nothing appended");
    }
    // The log is intact: the projector is not parked and the tournament takes writes.
    let (status, answer) = env
        .send(
            "PATCH",
            "/v1/tournaments/cup",
            json!({"presentation": {"x": 1e300}}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["presentation"]["x"], json!(1e300));
    assert_eq!(env.parked().await, None);
}

/// As a deployment before the fix left it: an event whose payload no reader can decode.
#[tokio::test]
async fn a_tournament_with_an_unreadable_event_answers_503_and_others_keep_working() {
    let env = Env::start("round_trip_503").await;
    let huge = format!("17976931348623157{}", "0".repeat(292));
    let poison: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         SELECT 'Tournament', 'cup', max(sequence) + 1, 'RosterPlayerUpdated', '1', $1::json, '{}'
           FROM events WHERE aggregate_type = 'Tournament' AND aggregate_id = 'cup'
         RETURNING global_position",
    )
    .bind(format!(
        r#"{{"RosterPlayerUpdated": {{"tournament_id": 1, "tournament_player_id": 1,
             "presentation": {{"x": {huge}}}}}}}"#
    ))
    .fetch_one(&env.pool)
    .await
    .unwrap();
    for (method, path, body) in [
        ("PATCH", "/v1/tournaments/cup", json!({"name": "Renamed"})),
        (
            "POST",
            "/v1/tournaments/cup/players",
            json!({"name": "ACCM"}),
        ),
        ("DELETE", "/v1/tournaments/cup", json!({})),
    ] {
        let before = env.events().await;
        // Before the fix: a panic in postgres-es and a dropped connection (`Err` here).
        let (status, answer) = env.send(method, path, body).await.unwrap();
        assert_eq!(status, 503, "{method} {path}: {answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains("operator"),
            "{answer}"
        );
        assert_eq!(env.events().await, before);
    }
    let (status, answer) = env
        .send(
            "PATCH",
            "/v1/tournaments/other",
            json!({"name": "Still here"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let store = EventStore::new(env.pool.clone());
    let other = store.load::<Tournament>("other").await.unwrap();
    assert_eq!(other.config.unwrap().name, "Still here");

    // An operator's repair (`standings events repair`) is read by commands too: `cup` takes
    // writes again, and the stored row is untouched.
    let fixed = json!({"RosterPlayerUpdated": {"tournament_id": 1, "tournament_player_id": 1,
                                               "presentation": {"x": 1}}});
    store::repair::register(&env.pool, poison, &fixed, "test")
        .await
        .unwrap();
    let (status, answer) = env
        .send("PATCH", "/v1/tournaments/cup", json!({"name": "Repaired"}))
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let cup = store.load::<Tournament>("cup").await.unwrap();
    assert_eq!(cup.config.unwrap().name, "Repaired");
    let stored: String =
        sqlx::query_scalar("SELECT payload::text FROM events WHERE global_position = $1")
            .bind(poison)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(stored.contains(&huge));
}

// ---------------------------------------------------------------------------------------------
// The property test.

/// A JSON document built as text, so numbers serde_json could not hold (`1e400`) go in as is.
#[derive(Clone, Debug)]
enum Json {
    Number(&'static str),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
    /// `depth` arrays around a number, written out (a tree this deep is awkward to shrink).
    Nested(usize),
}

impl Json {
    fn write(&self, out: &mut String) {
        match self {
            Json::Number(n) => out.push_str(n),
            Json::Text(s) => out.push_str(&Value::String(s.clone()).to_string()),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
            Json::Nested(depth) => {
                out.push_str(&"[".repeat(*depth));
                out.push('1');
                out.push_str(&"]".repeat(*depth));
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// Numbers beyond what the log can give back (or beyond f64), as raw JSON text.
const EXTREME_NUMBERS: &[&str] = &[
    "1.7976931348623157e308",
    "-1.7976931348623157e308",
    "-1.79e308",
    "1e308",
    "1.0000000000000001e300",
    "1e400",
    "-1e400",
    "1e999999",
];

/// Numbers at the edges that must be kept.
const NUMBERS: &[&str] = &[
    "1e300",
    "-1e300",
    "5e-324",
    "-5e-324",
    "1e-400",
    "-0",
    "-0.0",
    "0",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "1.5",
];

/// Any characters (every plane), short or long; one string in eight holds a NUL.
fn text() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        3 => any::<char>().prop_filter("NUL is added on purpose", |c| *c != '\0'),
        1 => prop::char::range('\u{10000}', '\u{10FFFF}'),
    ];
    let short = prop::collection::vec(chars, 0..16).prop_map(|c| c.into_iter().collect::<String>());
    let long = (any::<char>(), 100..20_000usize).prop_map(|(c, n)| c.to_string().repeat(n));
    let text = prop_oneof![9 => short, 1 => long];
    (text, prop::bool::weighted(0.125)).prop_map(|(mut text, nul)| {
        if nul {
            let at = text
                .char_indices()
                .nth(text.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            text.insert(at, '\0');
        }
        text
    })
}

fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        3 => prop::sample::select(NUMBERS).prop_map(Json::Number),
        1 => prop::sample::select(EXTREME_NUMBERS).prop_map(Json::Number),
        3 => text().prop_map(Json::Text),
        1 => prop::sample::select(&[8usize, 30, 31, 33, 64, 127, 129, 1000][..]).prop_map(Json::Nested),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec((text(), inner), 0..4).prop_map(Json::Object),
        ]
    })
}

/// A free-form bag: mostly an object (as documented), sometimes anything.
fn bag() -> impl Strategy<Value = Json> {
    prop_oneof![
        5 => prop::collection::vec((text(), json()), 0..4).prop_map(Json::Object),
        1 => json(),
    ]
}

/// One write: the route (by index) and its generated fields.
fn write() -> impl Strategy<Value = (usize, Json, String)> {
    (0..7usize, bag(), text())
}

/// Method, path and body of write `route` with the generated `bag` and `text`.
fn request(
    env_roster: i64,
    team: i64,
    (route, bag, text): &(usize, Json, String),
) -> (String, String, String) {
    let bag = bag.text();
    let text = Value::String(text.clone()).to_string();
    let (method, path, body) = match route {
        0 => (
            "POST",
            "/v1/tournaments".to_string(),
            format!(
                r#"{{"slug":"p{}","name":{text},"leaderboard_id":3,"presentation":{bag}}}"#,
                rand_slug()
            ),
        ),
        1 => (
            "PATCH",
            "/v1/tournaments/cup".to_string(),
            format!(r#"{{"name":{text},"presentation":{bag}}}"#),
        ),
        2 => (
            "PATCH",
            "/v1/tournaments/cup".to_string(),
            format!(r#"{{"presentation":{bag}}}"#),
        ),
        3 => (
            "POST",
            "/v1/tournaments/cup/players".to_string(),
            format!(r#"{{"name":{text},"presentation":{bag}}}"#),
        ),
        4 => (
            "PATCH",
            format!("/v1/tournaments/cup/players/{env_roster}"),
            format!(r#"{{"presentation":{bag}}}"#),
        ),
        5 => (
            "POST",
            "/v1/tournaments/cup/teams".to_string(),
            format!(r#"{{"name":{text},"initials":{text}}}"#),
        ),
        _ => (
            "PATCH",
            format!("/v1/tournaments/cup/teams/{team}"),
            format!(r#"{{"name":{text},"initials":"AB","extra":{bag}}}"#),
        ),
    };
    (method.to_string(), path, body)
}

fn rand_slug() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// 4xx and nothing appended, or 2xx and every tournament loads from its events and reads back.
async fn check(env: &Env, method: &str, path: &str, body: String) -> Result<u16, String> {
    let before = env.events().await;
    let (status, answer) = env.send(method, path, body.clone()).await?;
    let shown = |answer: &Value| answer.to_string().chars().take(300).collect::<String>();
    match status {
        200..=299 => {
            let slugs: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = 'Tournament'",
            )
            .fetch_all(&env.pool)
            .await
            .unwrap();
            for slug in slugs {
                EventStore::new(env.pool.clone())
                    .load::<Tournament>(&slug)
                    .await
                    .map_err(|e| format!("{slug} no longer loads: {e}"))?;
            }
            let (status, read) = env
                .send("GET", "/v1/tournaments/cup", String::new())
                .await?;
            if status != 200 {
                return Err(format!("read after the write: {status} {}", shown(&read)));
            }
            if let Some(parked) = env.parked().await {
                return Err(parked);
            }
        }
        400..=499 => {
            let detail_ok = answer["detail"].is_string()
                || answer["detail"][0]["loc"][0] == "body"
                    && answer["detail"][0]["msg"].is_string();
            if !detail_ok {
                return Err(format!(
                    "{status} not in the contract's shape: {}",
                    shown(&answer)
                ));
            }
            let after = env.events().await;
            if after != before {
                return Err(format!("{status} but {} events appended", after - before));
            }
        }
        _ => return Err(format!("{status}: {}", shown(&answer))),
    }
    Ok(status)
}

#[test]
fn every_write_either_refuses_and_appends_nothing_or_reads_back() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (env, roster, team) = runtime.block_on(async {
        let env = Env::start("round_trip_prop").await;
        let (status, answer) = env
            .send(
                "POST",
                "/v1/tournaments/cup/teams",
                json!({"name": "Vikings", "initials": "VK"}),
            )
            .await
            .unwrap();
        assert!(status < 300, "{answer}");
        let team: i64 = sqlx::query_scalar("SELECT min(id) FROM live.teams")
            .fetch_one(&env.pool)
            .await
            .unwrap();
        let roster = env.roster_id().await;
        (env, roster, team)
    });
    let config = Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    };
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    // Deterministic: the same cases every run (`PROPTEST_CASES` runs more of them).
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&write(), |case| {
        let (method, path, body) = request(roster, team, &case);
        let status = runtime
            .block_on(check(&env, &method, &path, body))
            .map_err(TestCaseError::fail)?;
        *statuses.borrow_mut().entry(status).or_default() += 1;
        Ok(())
    });
    let statuses = statuses.into_inner();
    eprintln!("statuses: {statuses:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        statuses.keys().any(|s| *s < 300) && statuses.contains_key(&422),
        "both outcomes exercised: {statuses:?}"
    );
}
