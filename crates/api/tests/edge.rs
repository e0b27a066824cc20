//! The OpenAPI document, `/docs`, `/metrics` and rate limits against a real server (wired like
//! the binary: the api router, the stream route, connect info) and a real PostgreSQL.

mod common;
use common::*;

use std::sync::Arc;

use domain::tournament::TournamentAction;
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;
use testkit::seed;

use api::openapi::writes::NOT_YET_SERVED;
use api::ratelimit::{RateLimitConfig, TrustedProxies};
use api::{AppState, Edge};

/// One tournament with a roster (linked, unlinked, never polled), a team, two polled profiles,
/// a finished match and an open lobby: every read has rows.
async fn seed(pool: &PgPool) {
    let store = EventStore::new(pool.clone());
    seed::catalog(
        &store,
        vec![seed::solo_rm()],
        vec![seed::civilization(4, "Bohemians")],
        at(0),
    )
    .await;
    seed::tournament(&store, 1, "hera", seed::cup("Hera Cup", Some(at(1))), at(1)).await;
    let mut actions = vec![];
    for (id, name, profile) in [
        (10, "Hera", Some(HERA)),
        (11, "ACCM", Some(ACCM)),
        (12, "Placeholder", None),
        (13, "Never Polled", Some(5555)),
    ] {
        actions.push(TournamentAction::AddPlayerToRoster {
            tournament_player_id: id,
            name: name.into(),
            profile_id: profile,
            presentation: json!({}),
        });
    }
    actions.extend(seed::vikings());
    seed::manage_all(&store, "hera", actions).await;
    seed::played(&store).await;
    seed::project(pool).await;
}

struct Server {
    base: String,
    client: reqwest::Client,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// The api router with `edge`, plus the stream route and its feed, as `run_service` wires
    /// them (minus the lean listener).
    async fn start(pool: PgPool, edge: Edge) -> Server {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let hub = sse::Hub::new(sse::HubConfig::default());
        tokio::spawn(sse::run_feed(pool.clone(), hub.clone(), stopped));
        let counted = hub.clone();
        edge.metrics
            .sse_subscribers_from(move || counted.subscriber_count() as u64);
        let app = api::router(AppState::new(pool.clone()).with_edge(Arc::new(edge)))
            .merge(sse::router(sse::StreamState::new(hub, pool)));
        let base = testkit::serve(app).await;
        Server {
            base,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }
}

async fn seeded(name: &str, edge: Edge) -> Server {
    let pool = store::testing::migrated_pool(name).await;
    seed(&pool).await;
    Server::start(pool, edge).await
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// `{param}` → a value of the seed.
fn concrete(path: &str) -> String {
    path.replace("{tournament_slug}", "hera")
        .replace("{match_id}", &MATCH_ID.to_string())
        .replace("{tournament_player_id}", "10")
        .replace("{team_id}", "20")
        .replace("{user_id}", OWNER)
        .replace("{webhook_id}", "no-such-webhook")
}

/// (method, path template, operationId) of every documented operation.
fn operations(doc: &Value) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                out.push((method.to_uppercase(), path.clone(), id.to_string()));
            }
        }
    }
    out
}

/// Every route of the seed contract's endpoint table (§1.1) but the docs themselves.
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/.well-known/security.txt"),
    ("GET", "/v1/flags"),
    ("GET", "/v1/me"),
    ("GET", "/v1/leaderboards"),
    ("GET", "/v1/civilizations"),
    ("GET", "/v1/stream"),
    ("GET", "/v1/tournaments"),
    ("POST", "/v1/tournaments"),
    ("GET", "/v1/tournaments/{tournament_slug}"),
    ("PATCH", "/v1/tournaments/{tournament_slug}"),
    ("DELETE", "/v1/tournaments/{tournament_slug}"),
    ("GET", "/v1/tournaments/{tournament_slug}/standings"),
    ("GET", "/v1/tournaments/{tournament_slug}/standings/history"),
    ("GET", "/v1/tournaments/{tournament_slug}/teams/standings"),
    ("GET", "/v1/tournaments/{tournament_slug}/civ-stats"),
    ("GET", "/v1/tournaments/{tournament_slug}/summary"),
    ("GET", "/v1/tournaments/{tournament_slug}/head-to-head"),
    ("GET", "/v1/tournaments/{tournament_slug}/progression"),
    ("GET", "/v1/tournaments/{tournament_slug}/players"),
    (
        "GET",
        "/v1/tournaments/{tournament_slug}/players/{tournament_player_id}",
    ),
    ("POST", "/v1/tournaments/{tournament_slug}/players"),
    (
        "PATCH",
        "/v1/tournaments/{tournament_slug}/players/{tournament_player_id}",
    ),
    (
        "DELETE",
        "/v1/tournaments/{tournament_slug}/players/{tournament_player_id}",
    ),
    ("GET", "/v1/tournaments/{tournament_slug}/matches"),
    (
        "GET",
        "/v1/tournaments/{tournament_slug}/matches/{match_id}",
    ),
    ("GET", "/v1/tournaments/{tournament_slug}/live"),
    ("POST", "/v1/tournaments/{tournament_slug}/teams"),
    ("PATCH", "/v1/tournaments/{tournament_slug}/teams/{team_id}"),
    (
        "DELETE",
        "/v1/tournaments/{tournament_slug}/teams/{team_id}",
    ),
    (
        "POST",
        "/v1/tournaments/{tournament_slug}/teams/{team_id}/members",
    ),
    (
        "DELETE",
        "/v1/tournaments/{tournament_slug}/teams/{team_id}/members/{tournament_player_id}",
    ),
    (
        "PATCH",
        "/v1/tournaments/{tournament_slug}/teams/{team_id}/captain",
    ),
    (
        "DELETE",
        "/v1/tournaments/{tournament_slug}/teams/{team_id}/captain",
    ),
    ("GET", "/v1/tournaments/{tournament_slug}/owners"),
    ("POST", "/v1/tournaments/{tournament_slug}/owners"),
    (
        "DELETE",
        "/v1/tournaments/{tournament_slug}/owners/{user_id}",
    ),
];

async fn fetch_doc(s: &Server) -> Value {
    let r = s.get("/openapi.json").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/json");
    let text = r.text().await.unwrap();
    // aide's types accept only 3.1.x documents.
    let _: aide::openapi::OpenApi = serde_json::from_str(&text).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn openapi_json_is_3_1_and_documents_every_contract_route() {
    let s = seeded("edge_doc", Edge::default()).await;
    let doc = fetch_doc(&s).await;
    let parsed: aide::openapi::OpenApi =
        serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(parsed.info.title, "AoE2 Live Standings API");
    assert_eq!(parsed.info.version, "0.0.1");
    assert!(parsed
        .info
        .description
        .unwrap()
        .contains("Game Content Usage Rules"));
    let documented: Vec<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    for (method, path) in CONTRACT_ROUTES {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is not documented"
        );
    }
    let ids: Vec<String> = operations(&doc).into_iter().map(|(_, _, id)| id).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "operationIds are unique");
    // The stream is described by hand.
    assert!(
        doc["paths"]["/v1/stream"]["get"]["responses"]["200"]["content"]
            .get("text/event-stream")
            .is_some()
    );
    // Query bounds are the handlers'.
    let limit = doc["paths"]["/v1/tournaments/{tournament_slug}/matches"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(
        (
            &limit["schema"]["minimum"],
            &limit["schema"]["maximum"],
            &limit["schema"]["default"]
        ),
        (&json!(1), &json!(200), &json!(50))
    );
    // Rate-limited routes document the 429; exempt ones do not.
    assert!(doc["paths"]["/v1/tournaments"]["get"]["responses"]["429"].is_object());
    assert!(doc["paths"]["/health"]["get"]["responses"]["429"].is_null());
}

#[tokio::test]
async fn documented_routes_are_served() {
    let s = seeded("edge_served", Edge::default()).await;
    let doc = fetch_doc(&s).await;
    for (method, path, id) in operations(&doc) {
        let url = format!("{}{}", s.base, concrete(&path));
        let request = s
            .client
            .request(method.parse().unwrap(), &url)
            .timeout(std::time::Duration::from_secs(10));
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        // Read only the head of the stream.
        let body: Value = if path == "/v1/stream" {
            Value::Null
        } else {
            r.json().await.unwrap_or(Value::Null)
        };
        let unrouted = status == 405 || (status == 404 && body == json!({"detail": "Not Found"}));
        if NOT_YET_SERVED.contains(&id.as_str()) {
            assert!(
                unrouted,
                "{method} {path} ({id}) is served now: remove it from NOT_YET_SERVED and \
                 give it its real types in openapi/writes.rs"
            );
        } else {
            assert!(
                !unrouted,
                "{method} {path} ({id}) is documented but not routed"
            );
        }
    }
}

#[tokio::test]
async fn real_responses_match_their_documented_schemas() {
    let s = seeded("edge_shapes", Edge::default()).await;
    let doc = fetch_doc(&s).await;
    let mut checked = 0;
    for (method, path, id) in operations(&doc) {
        if method != "GET" || NOT_YET_SERVED.contains(&id.as_str()) {
            continue;
        }
        let responses = &doc["paths"][&path]["get"]["responses"];
        let mut urls = vec![concrete(&path)];
        if path.ends_with("/matches") {
            urls.push(format!("{}?state=completed&limit=1", concrete(&path)));
        }
        if path.ends_with("/text/player") {
            urls = vec![format!("{}?q=a", concrete(&path))];
        }
        if path.ends_with("/standings/as-of") {
            urls = vec![format!("{}?as_of=2026-05-17T07:00:00Z", concrete(&path))];
        }
        if path.ends_with("/players/{tournament_player_id}") {
            urls.push(concrete(&path).replace("/10", "/12"));
        }
        let first = urls[0].clone();
        for url in urls {
            let r = s.get(&url).await;
            let status = r.status().as_u16().to_string();
            let Some(schema) = responses[&status]["content"]["application/json"].get("schema")
            else {
                assert!(
                    responses[&status].is_object(),
                    "{url}: status {status} is not documented"
                );
                continue;
            };
            // Authenticated reads answer 401 here: their error body is checked too.
            let body: Value = r.json().await.unwrap();
            schema::check(&doc, schema, &body, &url).unwrap();
            checked += usize::from(status == "200");
        }
        // Documented errors have their documented shapes too.
        let public = doc["paths"][&path]["get"].get("security").is_none();
        if public && path.starts_with("/v1/tournaments/{tournament_slug}") {
            let url = first.replacen("/hera", "/nope", 1);
            let r = s.get(&url).await;
            assert_eq!(r.status(), 404, "{url}");
            let body: Value = r.json().await.unwrap();
            let schema = &responses["404"]["content"]["application/json"]["schema"];
            schema::check(&doc, schema, &body, &url).unwrap();
        }
    }
    assert!(checked >= 20, "checked {checked} responses");
    // The rows are real (the check above is not vacuous).
    let standings: Value = s
        .get("/v1/tournaments/hera/standings")
        .await
        .json()
        .await
        .unwrap();
    assert!(standings["items"].as_array().unwrap().len() >= 3);
    assert!(
        !standings["items"][0]["tournament_record"]["recent_matchups"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = s.get("/v1/tournaments/hera/head-to-head?limit=0").await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let schema = &doc["paths"]["/v1/tournaments/{tournament_slug}/head-to-head"]["get"]
        ["responses"]["422"]["content"]["application/json"]["schema"];
    schema::check(&doc, schema, &body, "422").unwrap();
}

#[tokio::test]
async fn docs_page_works_offline() {
    let s = seeded("edge_docs", Edge::default()).await;
    let r = s.get("/docs").await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("openapi.json"));
    // Only relative references: nothing from another host.
    let mut scripts = vec![];
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let target = part.split('"').next().unwrap();
            assert!(
                !target.contains("//") && !target.starts_with('/'),
                "{target} is not a local, relative reference"
            );
            scripts.push(target.to_string());
        }
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert_eq!(scripts.len(), 1);
    for (encoding, compressed) in [("gzip", true), ("identity", false)] {
        // reqwest here has no gzip feature: the bytes arrive as sent.
        let r = s
            .client
            .get(format!("{}/{}", s.base, scripts[0]))
            .header("Accept-Encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(header(&r, "content-type").starts_with("text/javascript"));
        assert_eq!(
            header(&r, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&r, "content-encoding") == "gzip", compressed);
        let bytes = r.bytes().await.unwrap();
        if compressed {
            assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
        } else {
            assert!(bytes.starts_with(b"(function(){"));
        }
    }
}

fn limited(per_minute: u32, trusted: &str) -> Edge {
    Edge::new(RateLimitConfig {
        per_minute,
        trusted_proxies: TrustedProxies::parse(trusted).unwrap(),
    })
}

#[tokio::test]
async fn request_301_in_a_minute_is_refused_per_client_ip() {
    // Loopback is a trusted proxy by default: its CF-Connecting-IP names the client.
    let s = seeded("edge_limits", Edge::new(RateLimitConfig::default())).await;
    for n in 1..=300 {
        let r = s.get("/v1/tournaments").await;
        assert_eq!(r.status(), 200, "request {n}");
    }
    let r = s.get("/v1/tournaments").await;
    assert_eq!(r.status(), 429);
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(r.headers().get("cache-control").is_none());
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "Rate limit exceeded: 300 per 1 minute"})
    );
    // Another client behind the trusted proxy, another route, exempt routes: still served.
    let other = s
        .client
        .get(format!("{}/v1/tournaments", s.base))
        .header("CF-Connecting-IP", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    let forwarded = s
        .client
        .get(format!("{}/v1/tournaments", s.base))
        .header("X-Forwarded-For", "198.51.100.3")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 200);
    assert_eq!(s.get("/v1/tournaments/hera").await.status(), 200);
    for path in ["/", "/health", "/docs", "/openapi.json", "/metrics"] {
        assert_eq!(s.get(path).await.status(), 200, "{path}");
    }
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "standings_http_requests_total{method=\"GET\",route=\"/v1/tournaments\",status=\"429\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let s = seeded("edge_untrusted", limited(300, "10.0.0.0/8")).await;
    for n in 0..300 {
        let r = s
            .client
            .get(format!("{}/v1/tournaments", s.base))
            .header("X-Forwarded-For", format!("203.0.113.{}", n % 250))
            .header("CF-Connecting-IP", format!("198.51.100.{}", n % 250))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {n}");
    }
    let r = s
        .client
        .get(format!("{}/v1/tournaments", s.base))
        .header("CF-Connecting-IP", "192.0.2.1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "every request counted against the peer");
}

#[tokio::test]
async fn metrics_show_requests_open_streams_and_projector_lag() {
    let s = seeded("edge_metrics", Edge::default()).await;
    for _ in 0..3 {
        assert_eq!(s.get("/v1/tournaments/hera/standings").await.status(), 200);
    }
    assert_eq!(s.get("/v1/tournaments/nope").await.status(), 404);
    assert_eq!(s.get("/no/such/path").await.status(), 404);
    let metrics = |s: &Server| {
        let url = format!("{}/metrics", s.base);
        let client = s.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(header(&r, "cache-control"), "no-store");
            assert!(header(&r, "content-type").starts_with("application/openmetrics-text"));
            r.text().await.unwrap()
        }
    };
    let text = metrics(&s).await;
    for line in [
        "standings_http_requests_total{method=\"GET\",route=\"/v1/tournaments/{tournament_slug}/standings\",status=\"200\"} 3",
        "standings_http_requests_total{method=\"GET\",route=\"/v1/tournaments/{tournament_slug}\",status=\"404\"} 1",
        "standings_http_requests_total{method=\"GET\",route=\"<unmatched>\",status=\"404\"} 1",
        "standings_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/tournaments/{tournament_slug}/standings\"} 3",
        "standings_sse_subscribers 0",
        "standings_projector_lag_available 1",
        "standings_projector_lag_events{projector=\"core\",build=\"1\"} 0",
        "standings_projector_parked{projector=\"core\",build=\"1\"} 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    assert!(text.ends_with("# EOF\n"));

    // An open stream shows in the gauge, and leaves it when closed.
    let stream = s.get("/v1/stream").await;
    assert_eq!(stream.status(), 200);
    let text = metrics(&s).await;
    assert!(text.contains("standings_sse_subscribers 1"), "{text}");
    drop(stream);
    let mut gone = false;
    for _ in 0..100 {
        if metrics(&s).await.contains("standings_sse_subscribers 0") {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "the closed stream left the gauge");
}
