//! The client over real HTTP against a tiny local axum server on 127.0.0.1:0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use upstream::{paths, UpstreamClient, UpstreamConfig, UpstreamError};

const MATCH_HISTORY: &str = include_str!("fixtures/match_history.json");
const LEADERBOARDS: &str = include_str!("fixtures/leaderboards.json");
const LEADERBOARD_PAGE: &str = include_str!("fixtures/leaderboard_page.json");

/// One request as the fake saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    raw_query: String,
    params: HashMap<String, String>,
    user_agent: String,
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    fn json(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::json("")
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

struct Fake {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serve `respond(request, index_of_request)` for every path.
async fn fake<F>(respond: F) -> Fake
where
    F: Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let respond = Arc::new(respond);
    let recorded = seen.clone();
    let app = Router::new().fallback(move |req: Request| {
        let recorded = recorded.clone();
        let respond = respond.clone();
        async move {
            let url = reqwest::Url::parse(&format!("http://fake{}", req.uri())).unwrap();
            let request = Seen {
                path: url.path().to_owned(),
                raw_query: url.query().unwrap_or_default().to_owned(),
                params: url.query_pairs().into_owned().collect(),
                user_agent: req
                    .headers()
                    .get("user-agent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned(),
            };
            let index = {
                let mut all = recorded.lock().unwrap();
                all.push(request.clone());
                all.len() - 1
            };
            let reply = respond(&request, index);
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            let mut builder = Response::builder()
                .status(reply.status)
                .header("content-type", "application/json");
            for (name, value) in reply.headers {
                builder = builder.header(name, value);
            }
            builder.body(Body::from(reply.body)).unwrap()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake {
        base_url: format!("http://{addr}"),
        seen,
    }
}

/// Short timeouts and backoffs so every test stays well under 2 s.
fn config(base_url: &str) -> UpstreamConfig {
    UpstreamConfig {
        base_url: base_url.to_owned(),
        timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
        max_retries: 2,
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        retry_after_cap: Duration::from_secs(5),
        ..UpstreamConfig::default()
    }
}

fn client(fake: &Fake) -> UpstreamClient {
    UpstreamClient::new(config(&fake.base_url)).unwrap()
}

/// Parse `[1,2,3]` back into ids.
fn bracket_ids(param: &str) -> Vec<i64> {
    let inner = param
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .expect("bracketed list");
    inner.split(',').map(|s| s.parse().unwrap()).collect()
}

/// A `GetPersonalStat` body for `ids`, statgroup ids offset from profile ids.
fn personal_stats_body(ids: &[i64]) -> String {
    let groups: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id + 1_000_000, "name": "", "type": 1,
            "members": [{"profile_id": id, "alias": format!("p{id}"), "name": format!("/steam/{id}")}]}))
        .collect();
    let stats: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"statgroup_id": id + 1_000_000, "leaderboard_id": 3,
            "rating": 1000 + id, "wins": 1, "losses": 2, "rank": -1})
        })
        .collect();
    json!({"result": {"code": 0, "message": "SUCCESS"}, "statGroups": groups, "leaderboardStats": stats})
        .to_string()
}

fn lobbies_body(first_id: i64, count: usize) -> String {
    let lobbies: Vec<Value> = (0..count as i64)
        .map(|i| {
            json!({"id": first_id + i, "state": 0, "mapname": "my map", "matchtype_id": 0,
            "matchmembers": [{"match_id": first_id + i, "profile_id": 10 + i}]})
        })
        .collect();
    json!({"result": {"code": 0, "message": "SUCCESS"}, "matches": lobbies, "avatars": []})
        .to_string()
}

#[tokio::test]
async fn personal_stats_is_chunked_with_bracketed_param() {
    let fake = fake(|req, _| {
        Reply::json(personal_stats_body(&bracket_ids(
            &req.params["profile_ids"],
        )))
    })
    .await;
    let ids: Vec<i64> = (1..=70).collect();
    let stats = client(&fake).personal_stats(&ids).await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    let chunks: Vec<Vec<i64>> = requests
        .iter()
        .map(|r| bracket_ids(&r.params["profile_ids"]))
        .collect();
    assert_eq!(chunks[0], (1..=32).collect::<Vec<_>>());
    assert_eq!(chunks[1], (33..=64).collect::<Vec<_>>());
    assert_eq!(chunks[2], (65..=70).collect::<Vec<_>>());
    for r in &requests {
        assert_eq!(r.path, paths::PERSONAL_STATS);
        assert_eq!(r.params["title"], "age2");
        assert!(
            r.raw_query.contains("profile_ids=%5B"),
            "one percent-encoded bracketed param: {}",
            r.raw_query
        );
        assert_eq!(r.raw_query.matches("profile_ids=").count(), 1);
        assert!(
            r.user_agent.starts_with("live-standings/"),
            "{}",
            r.user_agent
        );
    }
    assert_eq!(stats.profiles.len(), 70);
    assert_eq!(stats.ratings.len(), 70);
    assert_eq!(stats.ratings[69].profile_id, 70);
    assert_eq!(stats.ratings[69].rating, 1070);
    assert_eq!(stats.profiles[0].steam_id.as_deref(), Some("1"));
}

#[tokio::test]
async fn empty_id_list_sends_nothing() {
    let fake = fake(|_, _| Reply::status(500)).await;
    let c = client(&fake);
    assert!(c.personal_stats(&[]).await.unwrap().profiles.is_empty());
    assert!(c
        .recent_match_history(&[])
        .await
        .unwrap()
        .matches
        .is_empty());
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn match_history_is_batched_and_deduplicated() {
    // Every batch answers with the same two matches, as upstream would for shared games.
    let fake = fake(|_, _| Reply::json(MATCH_HISTORY)).await;
    let ids: Vec<i64> = (1..=25).collect();
    let history = client(&fake).recent_match_history(&ids).await.unwrap();
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "batches of 10");
    assert_eq!(
        bracket_ids(&requests[2].params["profile_ids"]),
        (21..=25).collect::<Vec<_>>()
    );
    assert!(requests
        .iter()
        .all(|r| r.path == paths::RECENT_MATCH_HISTORY));
    let ids: Vec<i64> = history.matches.iter().map(|m| m.match_id).collect();
    assert_eq!(ids, vec![484977310, 485301122]);
    assert_eq!(history.aliases.len(), 2);
}

#[tokio::test]
async fn advertisements_page_while_full() {
    let fake = fake(|req, _| {
        let start: usize = req.params["start"].parse().unwrap();
        let count = if start < 200 { 100 } else { 7 };
        Reply::json(lobbies_body(500_000_000 + start as i64, count))
    })
    .await;
    let lobbies = client(&fake).advertisements().await.unwrap();
    let starts: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.params["start"].clone())
        .collect();
    assert_eq!(starts, vec!["0", "100", "200"]);
    assert_eq!(lobbies.len(), 207);
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.path == paths::ADVERTISEMENTS));
}

#[tokio::test]
async fn advertisements_page_cap_and_dedupe() {
    // Always a full page of the same lobbies: stop at the cap, keep each lobby once.
    let fake = fake(|_, _| Reply::json(lobbies_body(1, 100))).await;
    let mut cfg = config(&fake.base_url);
    cfg.max_lobby_pages = 3;
    let lobbies = UpstreamClient::new(cfg)
        .unwrap()
        .advertisements()
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(lobbies.len(), 100);
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let fake = fake(|_, n| {
        if n < 2 {
            Reply::status(503)
        } else {
            Reply::json(LEADERBOARDS)
        }
    })
    .await;
    let catalog = client(&fake).available_leaderboards().await.unwrap();
    assert_eq!(catalog.leaderboards.len(), 4);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path, paths::AVAILABLE_LEADERBOARDS);
    assert_eq!(requests[0].raw_query, "title=age2");
}

#[tokio::test]
async fn persistent_5xx_gives_http_error_after_retries() {
    let fake = fake(|_, _| Reply::status(502)).await;
    let err = client(&fake).available_leaderboards().await.unwrap_err();
    assert_eq!(err, UpstreamError::Http { status: 502 });
    assert!(err.is_transient());
    assert_eq!(fake.requests().len(), 3, "1 attempt + 2 retries");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let fake = fake(|_, _| Reply::status(400)).await;
    let err = client(&fake).personal_stats(&[1]).await.unwrap_err();
    assert_eq!(err, UpstreamError::Http { status: 400 });
    assert!(!err.is_transient());
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let fake = fake(|_, n| {
        if n == 0 {
            Reply::status(429).header("retry-after", "1")
        } else {
            Reply::json(LEADERBOARDS)
        }
    })
    .await;
    let started = Instant::now();
    let client = client(&fake);
    client.available_leaderboards().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(fake.requests().len(), 2);
    // Every attempt and every 429 is counted, retries included.
    assert_eq!(client.counters().read(), (2, 1));
    assert!(elapsed >= Duration::from_millis(950), "waited {elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "waited {elapsed:?}");
}

#[tokio::test]
async fn rate_limit_retry_after_is_capped() {
    let fake = fake(|_, n| {
        if n == 0 {
            Reply::status(429).header("retry-after", "3600")
        } else {
            Reply::json(LEADERBOARDS)
        }
    })
    .await;
    let mut cfg = config(&fake.base_url);
    cfg.retry_after_cap = Duration::from_millis(50);
    let started = Instant::now();
    UpstreamClient::new(cfg)
        .unwrap()
        .available_leaderboards()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn rate_limit_exhausted_reports_hint() {
    let fake = fake(|_, _| Reply::status(429).header("retry-after", "7")).await;
    let mut cfg = config(&fake.base_url);
    cfg.max_retries = 0;
    let err = UpstreamClient::new(cfg)
        .unwrap()
        .available_leaderboards()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        UpstreamError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn slow_upstream_times_out_after_retries() {
    let fake = fake(|_, _| Reply::json(LEADERBOARDS).delay(Duration::from_secs(3))).await;
    let mut cfg = config(&fake.base_url);
    cfg.timeout = Duration::from_millis(100);
    let started = Instant::now();
    let err = UpstreamClient::new(cfg)
        .unwrap()
        .available_leaderboards()
        .await
        .unwrap_err();
    assert_eq!(err, UpstreamError::Timeout);
    assert_eq!(fake.requests().len(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_without_retries() {
    let fake = fake(|_, _| Reply::json("<html>oops</html>")).await;
    let err = client(&fake).personal_stats(&[1, 2]).await.unwrap_err();
    assert!(
        matches!(
            err,
            UpstreamError::Decode {
                endpoint: "GetPersonalStat",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn result_code_is_an_error_without_retries() {
    let fake = fake(|_, _| Reply::json(r#"{"result":{"code":-1,"message":"FAILED"}}"#)).await;
    let err = client(&fake).recent_match_history(&[1]).await.unwrap_err();
    assert_eq!(
        err,
        UpstreamError::ResultCode {
            code: -1,
            message: "FAILED".into()
        }
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_transport_error() {
    // Bind then drop to get a port nobody listens on.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = UpstreamClient::new(config(&format!("http://{addr}")))
        .unwrap()
        .available_leaderboards()
        .await
        .unwrap_err();
    assert!(matches!(err, UpstreamError::Transport { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn leaderboard_page_params() {
    let fake = fake(|_, _| Reply::json(LEADERBOARD_PAGE)).await;
    let page = client(&fake).leaderboard_page(3, 1, 200).await.unwrap();
    assert_eq!(page.rank_total, Some(47807));
    let r = &fake.requests()[0];
    assert_eq!(r.path, paths::LEADERBOARD_PAGE);
    assert_eq!(r.params["leaderboard_id"], "3");
    assert_eq!(r.params["start"], "1");
    assert_eq!(r.params["count"], "200");
    assert_eq!(r.params["sortBy"], "1");
    assert_eq!(r.params["title"], "age2");
}

#[tokio::test]
async fn base_url_trailing_slash_is_tolerated() {
    let fake = fake(|_, _| Reply::json(LEADERBOARDS)).await;
    let c = UpstreamClient::new(config(&format!("{}/", fake.base_url))).unwrap();
    c.available_leaderboards().await.unwrap();
    assert_eq!(fake.requests()[0].path, paths::AVAILABLE_LEADERBOARDS);
}
