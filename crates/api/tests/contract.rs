//! The public read contract against a real server and a real PostgreSQL: status codes, field
//! names and types, ordering, headers, 304s and the `current` alias.

mod common;
use common::*;

use domain::tournament::TournamentAction;
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;
use testkit::seed;

async fn create_tournament(store: &EventStore, id: i64, slug: &str, start: i64) {
    let config = seed::cup(&format!("Tournament {slug}"), Some(at(start)));
    seed::tournament(store, id, slug, config, at(start)).await;
}

async fn seed(pool: &PgPool) {
    let store = EventStore::new(pool.clone());
    let civilizations = vec![
        seed::civilization(4, "Bohemians"),
        seed::civilization(23, "Japanese"),
    ];
    seed::catalog(&store, vec![seed::solo_rm()], civilizations, at(0)).await;
    create_tournament(&store, 1, "hera", 1).await;
    create_tournament(&store, 2, "later", 5).await;
    for (id, name, profile, presentation) in [
        (
            10,
            "Hera",
            Some(HERA),
            json!({"displayName": "Hera the Great"}),
        ),
        (11, "ACCM", Some(ACCM), json!({})),
        (12, "Zed Placeholder", None, json!({})),
        (13, "Never Polled", Some(5555), json!({})),
    ] {
        let player = TournamentAction::AddPlayerToRoster {
            tournament_player_id: id,
            name: name.into(),
            profile_id: profile,
            presentation,
        };
        seed::manage_all(&store, "hera", [player]).await;
    }
    seed::manage_all(&store, "hera", seed::vikings()).await;
    seed::profile(&store, HERA, "Hera", vec![seed::ladder(2788, 3045, 100)]).await;
    seed::profile(&store, ACCM, "ACCM", vec![seed::ladder(2718, 2892, 90)]).await;
    seed::finished_match(&store, true).await;
    seed::open_lobby(&store, "Hera vs ACCM - Bo7 G3", at(50)).await;
    // Apply everything to the read models.
    seed::project(pool).await;
}

struct Server {
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(pool: PgPool) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = api::router(api::AppState::new(pool));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    /// Every answer is checked against `/openapi.json` (`common::schema`).
    async fn get(&self, path: &str) -> reqwest::Response {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        schema::checked("GET", path, r).await
    }

    async fn json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn server() -> Server {
    let pool = store::testing::migrated_pool("api_contract").await;
    seed(&pool).await;
    Server::start(pool).await
}

#[tokio::test]
async fn tournaments_list_detail_current_and_404() {
    let s = server().await;
    let r = s.get("/v1/tournaments").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "cache-control"),
        "public, s-maxage=15, max-age=0, must-revalidate"
    );
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert!(!header(&r, "x-request-id").is_empty());
    let list: Value = r.json().await.unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["later", "hera"], "created_at DESC");
    let hera = &list[1];
    for key in [
        "id",
        "slug",
        "name",
        "leaderboard_id",
        "rank_by",
        "start_date",
        "end_date",
        "prize_pool_cents",
        "host_stream_urls",
        "presentation",
        "host_stream_live",
        "created_at",
    ] {
        assert!(hera.get(key).is_some(), "TournamentRead.{key}");
    }
    assert_eq!(hera["rank_by"], "peak_rating");
    assert_eq!(hera["start_date"], "2026-05-17T06:41:00Z");
    assert_eq!(hera["end_date"], Value::Null);
    assert_eq!(hera["host_stream_live"], false);

    let (status, detail) = s.json("/v1/tournaments/hera").await;
    assert_eq!((status, detail["id"].as_i64()), (200, Some(1)));
    // Both have started; `current` is the latest started.
    let (_, current) = s.json("/v1/tournaments/current").await;
    assert_eq!(current["slug"], "later");
    let (status, missing) = s.json("/v1/tournaments/nope").await;
    assert_eq!(status, 404);
    assert_eq!(missing, json!({"detail": "Tournament not found"}));
    let (status, _) = s.json("/v1/tournaments/nope/standings").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn standings_rows_order_fields_and_caching() {
    let s = server().await;
    let r = s.get("/v1/tournaments/hera/standings").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "cache-control"),
        "public, s-maxage=15, max-age=0, must-revalidate"
    );
    let etag = header(&r, "etag");
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    let body: Value = r.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    // Peak mode: Hera (3045) before ACCM (2892); the unlinked row is the name-sorted tail;
    // the linked row never polled is hidden.
    assert_eq!(names, vec!["Hera the Great", "ACCM", "Zed Placeholder"]);
    assert!(body["last_polled_at"].is_string());

    let hera = &items[0];
    for key in [
        "tournament_player_id",
        "profile_id",
        "name",
        "alias",
        "country",
        "team",
        "presentation",
        "current_rating",
        "max_rating",
        "wins",
        "losses",
        "streak",
        "recent_results",
        "tournament_record",
        "rank",
        "rank_total",
        "in_match",
        "live_match_id",
        "stream_live",
        "stream_title",
        "stream_category",
        "last_match_at",
        "updated_at",
        "games",
        "win_pct",
    ] {
        assert!(hera.get(key).is_some(), "StandingRow.{key}");
    }
    assert_eq!(hera["alias"], "Hera");
    assert_eq!(hera["max_rating"], 3045);
    assert_eq!(hera["games"], 110);
    assert_eq!(hera["win_pct"], 90.9);
    assert_eq!(
        hera["team"],
        json!({"team_id": 20, "name": "Vikings", "initials": "VK"})
    );
    assert_eq!(hera["recent_results"], json!(["win"]));
    assert_eq!(hera["in_match"], true);
    assert_eq!(hera["live_match_id"], 486002117);
    let record = &hera["tournament_record"];
    assert_eq!(record["games_played"], 1);
    assert_eq!(record["streak"], 1);
    assert_eq!(record["peak_rating"], 2788);
    assert_eq!(record["win_pct"], 100.0);
    let matchup = &record["recent_matchups"][0];
    assert_eq!(matchup["outcome"], "win");
    assert_eq!(matchup["civilization_name"], "Bohemians");
    assert_eq!(matchup["opponent_profile_id"], ACCM);
    assert_eq!(matchup["opponent_name"], "ACCM");
    assert_eq!(matchup["opponent_tournament_player_id"], 11);
    assert_eq!(matchup["opponent_civilization_name"], "Japanese");
    assert_eq!(matchup["map_name"], "Arabia");

    let placeholder = &items[2];
    assert_eq!(placeholder["profile_id"], Value::Null);
    assert_eq!(placeholder["alias"], "Zed Placeholder");
    assert_eq!(placeholder["updated_at"], Value::Null);
    assert_eq!(placeholder["tournament_record"]["games_played"], 0);

    // Same body → 304 on If-None-Match; the auth cookie flips the cache branch.
    let again = s
        .client
        .get(format!("{}/v1/tournaments/hera/standings", s.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let private = s
        .client
        .get(format!("{}/v1/tournaments/hera/standings", s.base))
        .header("Cookie", "criticalbit_access=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&private, "cache-control"), "private, no-store");
    assert!(!header(&private, "vary").to_lowercase().contains("cookie"));
}

#[tokio::test]
async fn matches_detail_live_and_query_validation() {
    let s = server().await;
    let (status, list) = s.json("/v1/tournaments/hera/matches").await;
    assert_eq!(status, 200);
    let first = &list["items"][0];
    assert_eq!(first["match_id"], MATCH_ID);
    assert_eq!(first["state"], "completed");
    assert_eq!(first["players"].as_array().unwrap().len(), 2);
    for key in [
        "profile_id",
        "civilization_id",
        "team_id",
        "outcome",
        "old_rating",
        "new_rating",
        "xp_gained",
    ] {
        assert!(
            first["players"][0].get(key).is_some(),
            "MatchPlayerRead.{key}"
        );
    }
    for bad in [
        "limit=0",
        "limit=201",
        "limit=x",
        "state=bogus",
        "profile_id=abc",
    ] {
        let (status, body) = s.json(&format!("/v1/tournaments/hera/matches?{bad}")).await;
        assert_eq!(status, 422, "{bad}");
        assert!(body["detail"].is_array(), "{bad}: {body}");
    }
    let (_, filtered) = s
        .json(&format!(
            "/v1/tournaments/hera/matches?profile_id={ACCM}&state=completed&limit=1"
        ))
        .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);

    let r = s
        .get(&format!("/v1/tournaments/hera/matches/{MATCH_ID}"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "cache-control"),
        "public, s-maxage=60, max-age=0, must-revalidate"
    );
    let detail: Value = r.json().await.unwrap();
    assert_eq!(detail["last_polled_at"], detail["updated_at"]);
    let (status, body) = s.json("/v1/tournaments/hera/matches/1").await;
    assert_eq!((status, body), (404, json!({"detail": "Match not found"})));
    assert_eq!(s.json("/v1/tournaments/hera/matches/abc").await.0, 422);

    let r = s.get("/v1/tournaments/hera/live").await;
    assert_eq!(
        header(&r, "cache-control"),
        "public, s-maxage=10, max-age=0, must-revalidate"
    );
    let live: Value = r.json().await.unwrap();
    assert_eq!(live["items"][0]["match_id"], 486002117);
    assert_eq!(live["items"][0]["state"], "staging");
    assert_eq!(live["items"][0]["map_name"], "Arena");
}

#[tokio::test]
async fn infra_catalog_cors_and_unknown_paths() {
    let s = server().await;
    assert_eq!(
        s.json("/").await,
        (
            200,
            json!({"status": "ok", "service": "aoe2-live-standings-api"})
        )
    );
    let (status, health) = s.json("/health").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("healthy")));
    let r = s.get("/.well-known/security.txt").await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Contact: mailto:security@criticalbit.gg"));
    let (status, boards) = s.json("/v1/leaderboards").await;
    assert_eq!(status, 200);
    assert_eq!(
        boards["items"],
        json!([{"leaderboard_id": 3, "name": "SOLO_RM_RANKED", "is_ranked": true}])
    );
    let (_, civs) = s.json("/v1/civilizations").await;
    assert_eq!(
        civs["items"][0],
        json!({"civilization_id": 4, "name": "Bohemians"})
    );
    assert_eq!(s.json("/v1/flags").await.0, 200);

    let r = s
        .client
        .get(format!("{}/v1/tournaments", s.base))
        .header("Origin", "https://overlay.example")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    assert_eq!(header(&r, "access-control-allow-credentials"), "");
    let r = s.get("/health").await;
    assert_eq!(header(&r, "access-control-allow-origin"), "");

    let (status, body) = s.json("/v1/nothing-here").await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let r = s
        .client
        .get(format!("{}/v1/tournaments", s.base))
        .header("X-Request-ID", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-request-id"), "trace-me-1");
}

/// `/health` is readiness: a parked projector is 503 `degraded`, named in `problems` (it was
/// 200 before: a load balancer kept sending traffic to a replica whose reads had stopped).
#[tokio::test]
async fn health_is_503_while_a_projector_is_parked() {
    let pool = store::testing::migrated_pool("api_health").await;
    seed(&pool).await;
    let s = Server::start(pool.clone()).await;
    let (status, health) = s.json("/health").await;
    assert_eq!((status, health["problems"].clone()), (200, json!([])));
    // What the runner records when an event fails to apply (`runner.rs::park`).
    sqlx::query(
        "UPDATE projection_checkpoints
            SET parked_at = position + 1, last_error = 'event 42: cannot apply'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (status, health) = s.json("/health").await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(
        health["problems"][0]["kind"], "projector_parked",
        "{health}"
    );
    assert_eq!(health["problems"][0]["detail"], "event 42: cannot apply");
    assert_eq!(health["projections"][0]["state"], "parked");
}

#[tokio::test]
async fn players_teams_civs_head_to_head_progression_and_summary() {
    let s = server().await;
    let (status, players) = s.json("/v1/tournaments/hera/players").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = players["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["ACCM", "Hera", "Zed Placeholder"],
        "base name ASC"
    );
    let hera = &players["items"][1];
    assert_eq!(hera["alias"], "Hera");
    assert_eq!(hera["ratings"][0]["leaderboard_id"], 3);
    assert_eq!(hera["ratings"][0]["max_rating"], 3045);
    let (_, filtered) = s
        .json("/v1/tournaments/hera/players?leaderboard_id=4")
        .await;
    assert_eq!(filtered["items"][1]["ratings"], json!([]));
    assert_eq!(
        s.json("/v1/tournaments/hera/players?leaderboard_id=x")
            .await
            .0,
        422
    );

    let (status, detail) = s
        .json("/v1/tournaments/hera/players/10?match_limit=5")
        .await;
    assert_eq!(status, 200);
    assert_eq!(detail["recent_matches"][0]["match_id"], MATCH_ID);
    assert!(detail["last_polled_at"].is_string());
    let (_, unlinked) = s.json("/v1/tournaments/hera/players/12").await;
    assert_eq!(
        (unlinked["alias"].as_str(), &unlinked["last_polled_at"]),
        (Some("Zed Placeholder"), &Value::Null)
    );
    assert_eq!(
        s.json("/v1/tournaments/hera/players/999").await,
        (
            404,
            json!({"detail": "Player not found in this tournament"})
        )
    );
    assert_eq!(
        s.json("/v1/tournaments/hera/players/10?match_limit=0")
            .await
            .0,
        422
    );

    let (status, teams) = s.json("/v1/tournaments/hera/teams/standings").await;
    assert_eq!(status, 200);
    let team = &teams["items"][0];
    assert_eq!(team["team_id"], 20);
    assert_eq!(team["member_count"], 1);
    assert_eq!(team["combined_rating_sum"], 3045);
    assert_eq!(team["combined_rating_average"], 3045.0);
    assert_eq!(
        (
            team["combined_wins"].as_i64(),
            team["combined_losses"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(team["members"][0]["is_captain"], false);
    assert_eq!(
        team["civs"],
        json!([{"civilization_id": 4, "name": "Bohemians", "picks": 1, "wins": 1}])
    );

    let (_, civs) = s.json("/v1/tournaments/hera/civ-stats").await;
    assert_eq!(
        civs["overall"],
        json!([
            {"civilization_id": 4, "name": "Bohemians", "picks": 1, "wins": 1},
            {"civilization_id": 23, "name": "Japanese", "picks": 1, "wins": 0}
        ])
    );
    assert_eq!(civs["by_player"][0]["tournament_player_id"], 10);

    let (_, h2h) = s.json("/v1/tournaments/hera/head-to-head").await;
    let game = &h2h["items"][0];
    assert_eq!(game["match_id"], MATCH_ID);
    assert_eq!(game["duration_seconds"], 1800);
    assert_eq!(
        game["entrants"][0]["name"], "Hera the Great",
        "winners first"
    );
    assert_eq!(game["entrants"][1]["profile_id"], ACCM);
    assert_eq!(
        s.json("/v1/tournaments/hera/head-to-head?limit=500")
            .await
            .0,
        422
    );

    let (_, progression) = s.json("/v1/tournaments/hera/progression").await;
    let aliases: Vec<&str> = progression["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, vec!["ACCM", "Hera"]);
    assert_eq!(progression["items"][1]["points"][0]["rating"], 2788);

    let (status, summary) = s
        .json("/v1/tournaments/hera/summary?win_rate_min_games=1")
        .await;
    assert_eq!(status, 200);
    assert_eq!(summary["highest_peak_rating"]["value"], 3045);
    assert_eq!(summary["highest_current_rating"], Value::Null);
    assert_eq!(summary["best_win_rate"]["name"], "Hera the Great");
    assert_eq!(summary["best_win_rate"]["value"], 100.0);
    assert_eq!(summary["longest_win_streak"]["value"], 1);
    assert!(summary["longest_win_streak"]["streak_end"].is_string());
    assert_eq!(
        summary["biggest_climber"],
        Value::Null,
        "needs two rated points"
    );
    // Both played one game: the tie goes to the lower tournament_player_id.
    assert_eq!(summary["most_games_played"]["tournament_player_id"], 10);
    let (_, default_min) = s.json("/v1/tournaments/hera/summary").await;
    assert_eq!(
        default_min["best_win_rate"],
        Value::Null,
        "5 games needed by default"
    );
    assert_eq!(
        s.json("/v1/tournaments/hera/summary?win_rate_min_games=0")
            .await
            .0,
        422
    );
}

#[tokio::test]
async fn hot_reads_come_from_memory_until_a_nudge_invalidates_them() {
    let pool = store::testing::migrated_pool("api_cache").await;
    seed(&pool).await;
    let cache = std::sync::Arc::new(api::ResponseCache::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api::router(api::AppState::with_cache(pool.clone(), cache.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let s = Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
    };
    let max_of_hera = |body: &Value| body["items"][0]["max_rating"].as_i64();
    let (_, before) = s.json("/v1/tournaments/hera/standings").await;
    assert_eq!(max_of_hera(&before), Some(3045));
    assert!(!cache.is_empty());

    // Hera reaches a new peak; until the nudge arrives, the cached table is served.
    let store = EventStore::new(pool.clone());
    seed::profile(&store, HERA, "Hera", vec![seed::ladder(3100, 3100, 101)]).await;
    seed::project(&pool).await;
    let (_, cached) = s.json("/v1/tournaments/hera/standings").await;
    assert_eq!(max_of_hera(&cached), Some(3045), "served from memory");
    cache.invalidate(Some(&[2]));
    let (_, other) = s.json("/v1/tournaments/hera/standings").await;
    assert_eq!(
        max_of_hera(&other),
        Some(3045),
        "another tournament's nudge changes nothing"
    );
    cache.invalidate(Some(&[1]));
    let (_, after) = s.json("/v1/tournaments/hera/standings").await;
    assert_eq!(max_of_hera(&after), Some(3100));

    // Precompressed bodies, negotiated.
    for (accept, encoding) in [("br", "br"), ("gzip", "gzip"), ("identity", "")] {
        let r = s
            .client
            .get(format!("{}/v1/tournaments/hera/standings", s.base))
            .header("Accept-Encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-encoding"), encoding, "{accept}");
        assert_eq!(header(&r, "vary"), "Accept-Encoding");
        let etag = header(&r, "etag");
        let again = s
            .client
            .get(format!("{}/v1/tournaments/hera/standings", s.base))
            .header("Accept-Encoding", accept)
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{accept}");
    }
}

#[tokio::test]
async fn the_audit_trail_shows_who_changed_what_paged_by_position() {
    let s = server().await;
    let (status, page) = s.json("/v1/tournaments/hera/events?limit=3").await;
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["event_type"], "TournamentCreated");
    assert_eq!(items[0]["actor"], format!("user:{OWNER}"));
    assert_eq!(items[1]["event_type"], "OwnerGranted");
    assert_eq!(items[2]["change"]["name"], "Hera");
    let next = page["next_after"].as_i64().unwrap();
    let (_, rest) = s
        .json(&format!(
            "/v1/tournaments/hera/events?after={next}&limit=200"
        ))
        .await;
    let types: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "PlayerAddedToRoster",
            "PlayerAddedToRoster",
            "PlayerAddedToRoster",
            "TeamCreated",
            "TeamMemberAdded"
        ]
    );
    assert_eq!(rest["next_after"], Value::Null);
    assert_eq!(s.json("/v1/tournaments/hera/events?limit=0").await.0, 422);
    assert_eq!(s.json("/v1/tournaments/nope/events").await.0, 404);
}

#[tokio::test]
async fn standings_history_buckets_positions_and_teams() {
    let s = server().await;
    let (status, h) = s.json("/v1/tournaments/hera/standings/history").await;
    assert_eq!(status, 200);
    // The window opens at minute 1; the day's anchor is the start, the last bucket the last
    // event (the match at minute 40); positions never change in between.
    assert_eq!(
        h["buckets"],
        json!(["2026-05-17T06:41:00Z", "2026-05-17T07:20:00Z"])
    );
    assert_eq!(h["last_polled_at"], "2026-05-17T07:20:00Z");
    let players = h["players"].as_array().unwrap();
    let ids: Vec<i64> = players
        .iter()
        .map(|p| p["tournament_player_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![10, 11, 12]);
    assert_eq!(players[0]["name"], "Hera the Great");
    assert_eq!(
        players[0]["points"],
        json!([
            {"position": 1, "peak_rating": 3045, "current_rating": null},
            {"position": 1, "peak_rating": 3045, "current_rating": null}
        ])
    );
    assert_eq!(players[1]["points"][1]["position"], 2);
    assert_eq!(
        players[2]["points"][0],
        json!({"position": 3, "peak_rating": null, "current_rating": null})
    );
    assert_eq!(
        h["teams"][0]["points"][0],
        json!({"position": 1, "combined_peak_elo": 3045, "combined_current_elo": null})
    );
}

/// Chat-bot text: one `text/plain` line under 400 characters, cached like the JSON (ETag, 304).
#[tokio::test]
async fn chat_text_is_one_plain_line_cached_like_the_json() {
    let s = server().await;
    let r = s.get("/v1/tournaments/hera/text/standings?top=2").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        header(&r, "cache-control"),
        "public, s-maxage=15, max-age=0, must-revalidate"
    );
    let etag = header(&r, "etag");
    let line = r.text().await.unwrap();
    assert_eq!(
        line,
        "Tournament hera: 1. Hera 2788 (1-0) | 2. ACCM 2718 (0-1)"
    );
    let again = s
        .client
        .get(format!(
            "{}/v1/tournaments/hera/text/standings?top=2",
            s.base
        ))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // By alias (any case), roster name prefix, or profile id: the same player.
    for q in ["hera", "Hera%20the", &HERA.to_string()] {
        let r = s
            .get(&format!("/v1/tournaments/hera/text/player?q={q}"))
            .await;
        assert_eq!(r.status(), 200, "{q}");
        let line = r.text().await.unwrap();
        assert_eq!(
            line,
            "Hera: #1 of 3 in Tournament hera | rating 2788 (peak 2788) | ladder #5 | \
             1-0 in the tournament | W1 | playing now",
            "{q}"
        );
    }
    let (status, body) = s.json("/v1/tournaments/hera/text/player?q=nobody").await;
    assert_eq!((status, body), (404, json!({"detail": "Player not found"})));
    let (status, _) = s.json("/v1/tournaments/hera/text/player").await;
    assert_eq!(status, 422);
    let (status, _) = s.json("/v1/tournaments/hera/text/standings?top=0").await;
    assert_eq!(status, 422);
    let long = "x".repeat(65);
    let (status, _) = s
        .json(&format!("/v1/tournaments/hera/text/player?q={long}"))
        .await;
    assert_eq!(status, 422);
    let (status, _) = s.json("/v1/tournaments/nope/text/standings").await;
    assert_eq!(status, 404);
}
