//! The management API against a real server, a real PostgreSQL, a running projector and a
//! JWKS served over HTTP with keys generated here: authentication, the 401 → 404 → 403 order
//! on every write route, the contract's rules, idempotency, read-your-writes and the audit.

mod common;
use common::*;

use std::time::Duration;

use chrono::Utc;
use domain::event::Actor;
use domain::tournament::{Tournament, TournamentAction, TournamentCommand};
use domain::EventMetadata;
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;
use testkit::seed;

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
        let stop = testkit::seed::run_core(&pool);
        seed(&pool).await;
        let cache = std::sync::Arc::new(api::ResponseCache::default());
        let mut state =
            api::AppState::with_cache(pool.clone(), cache).with_auth(auth::Verifier::new(config));
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

#[tokio::test]
async fn only_a_valid_rs256_token_from_the_key_set_is_accepted() {
    let env = Env::start("writes_tokens", Some("https://auth.example")).await;
    let now = Utc::now().timestamp();
    let claims = |sub: &str, aud: &str, iss: &str, exp: i64| json!({"sub": sub, "aud": aud, "iss": iss, "exp": exp, "iat": now});
    let good = claims(OWNER, auth::AUDIENCE, "https://auth.example", now + 600);
    let stranger = auth::DevKey::generate();
    let header = |alg: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"alg": alg, "typ": "JWT"}).to_string())
    };
    let payload = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(good.to_string())
    };
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &good,
        &jsonwebtoken::EncodingKey::from_secret(env.key.public_key_pem().as_bytes()),
    )
    .unwrap();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "valid",
            env.key.sign_claims(&good, Some(env.key.kid())),
            200,
            "",
        ),
        (
            "expired",
            env.key.sign_claims(
                &claims(OWNER, auth::AUDIENCE, "https://auth.example", now - 3600),
                Some(env.key.kid()),
            ),
            401,
            "Invalid token",
        ),
        (
            "wrong audience",
            env.key.sign_claims(
                &claims(OWNER, "someone-else", "https://auth.example", now + 600),
                Some(env.key.kid()),
            ),
            401,
            "Invalid token",
        ),
        (
            "wrong issuer",
            env.key.sign_claims(
                &claims(OWNER, auth::AUDIENCE, "https://evil.example", now + 600),
                Some(env.key.kid()),
            ),
            401,
            "Invalid token",
        ),
        (
            "unknown kid",
            stranger.sign_claims(&good, Some(stranger.kid())),
            401,
            "Invalid token",
        ),
        (
            "alg none",
            format!("{}.{payload}.", header("none")),
            401,
            "Invalid token",
        ),
        ("HS256 with the public key", hs256, 401, "Invalid token"),
        (
            "no subject",
            env.key.sign_claims(
                &json!({"aud": auth::AUDIENCE, "iss": "https://auth.example", "exp": now + 600}),
                Some(env.key.kid()),
            ),
            401,
            "Invalid token: missing subject",
        ),
        ("garbage", "not.a.jwt".into(), 401, "Invalid token"),
    ];
    for (name, token, status, detail) in cases {
        for bearer in [false, true] {
            let mut request = env.client.get(format!("{}/v1/me", env.base));
            request = if bearer {
                request.bearer_auth(&token)
            } else {
                request.header("cookie", format!("criticalbit_access={token}"))
            };
            let r = request.send().await.unwrap();
            assert_eq!(r.status().as_u16(), status, "{name} (bearer: {bearer})");
            let body: Value = r.json().await.unwrap();
            if status == 401 {
                assert_eq!(body["detail"], detail, "{name}");
            } else {
                assert_eq!(body["user_id"], OWNER);
                assert_eq!(body["can_create_tournaments"], true);
            }
        }
    }
    let r = env
        .client
        .get(format!("{}/v1/me", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"],
        "Not authenticated"
    );
}

#[tokio::test]
async fn every_write_route_checks_anonymous_then_tournament_then_owner() {
    let env = Env::start("writes_routes", None).await;
    let (status, created) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(cup("spring")))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["slug"], "spring");
    assert_eq!(created["host_stream_live"], false);
    // Read your writes: the next read sees it.
    let (status, detail) = env.call("GET", "/v1/tournaments/spring", None, None).await;
    assert_eq!((status, &detail["name"]), (200, &json!("Spring Cup")));
    let (_, me) = env.call("GET", "/v1/me", Some(OWNER), None).await;
    assert_eq!(me["owned_tournaments"][0]["slug"], "spring");

    let (status, _) = env
        .call(
            "POST",
            "/v1/tournaments/spring/players",
            Some(OWNER),
            Some(json!({"name": "Hera", "profile_id": 199325})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = env
        .call(
            "POST",
            "/v1/tournaments/spring/players",
            Some(OWNER),
            Some(json!({"name": "Placeholder"})),
        )
        .await;
    assert_eq!(status, 204);
    let (hera, placeholder) = (
        env.roster_id("Hera").await,
        env.roster_id("Placeholder").await,
    );
    let (status, team) = env
        .call(
            "POST",
            "/v1/tournaments/spring/teams",
            Some(OWNER),
            Some(json!({"name": "Vikings", "initials": "VK"})),
        )
        .await;
    assert_eq!(status, 201);
    let team_id = team["id"].as_i64().unwrap();
    assert_eq!(team["tournament_id"], created["id"]);

    // (method, path, body, owner's status). Non-owners and anonymous callers change nothing.
    let t = "/v1/tournaments/spring";
    let routes: Vec<(&str, String, Option<Value>, u16)> = vec![
        (
            "PATCH",
            t.to_string(),
            Some(json!({"name": "Spring Cup 2026"})),
            200,
        ),
        (
            "POST",
            format!("{t}/players"),
            Some(json!({"name": "ACCM"})),
            204,
        ),
        (
            "PATCH",
            format!("{t}/players/{placeholder}"),
            Some(json!({"profile_id": 347269})),
            204,
        ),
        (
            "POST",
            format!("{t}/teams"),
            Some(json!({"name": "Franks", "initials": "FRA"})),
            201,
        ),
        (
            "PATCH",
            format!("{t}/teams/{team_id}"),
            Some(json!({"initials": "VIK"})),
            200,
        ),
        (
            "POST",
            format!("{t}/teams/{team_id}/members"),
            Some(json!({"tournament_player_id": hera})),
            204,
        ),
        (
            "PATCH",
            format!("{t}/teams/{team_id}/captain"),
            Some(json!({"tournament_player_id": hera})),
            204,
        ),
        ("DELETE", format!("{t}/teams/{team_id}/captain"), None, 204),
        (
            "DELETE",
            format!("{t}/teams/{team_id}/members/{hera}"),
            None,
            204,
        ),
        ("GET", format!("{t}/owners"), None, 200),
        (
            "POST",
            format!("{t}/owners"),
            Some(json!({"user_id": THIRD})),
            204,
        ),
        ("DELETE", format!("{t}/owners/{THIRD}"), None, 204),
        ("DELETE", format!("{t}/teams/{team_id}"), None, 204),
        ("DELETE", format!("{t}/players/{hera}"), None, 204),
        ("DELETE", t.to_string(), None, 204),
    ];
    for (method, path, body, owner_status) in routes {
        let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&env.pool)
            .await
            .unwrap();
        let (status, error) = env.call(method, &path, None, body.clone()).await;
        assert_eq!(
            (status, &error["detail"]),
            (401, &json!("Not authenticated")),
            "{method} {path}"
        );
        let missing = path.replacen("/spring", "/nope", 1);
        let (status, error) = env.call(method, &missing, Some(OTHER), body.clone()).await;
        assert_eq!(
            (status, &error["detail"]),
            (404, &json!("Tournament not found")),
            "{method} {missing}"
        );
        let (status, error) = env.call(method, &path, Some(OTHER), body.clone()).await;
        assert_eq!(
            (status, &error["detail"]),
            (403, &json!("Not a tournament owner")),
            "{method} {path}"
        );
        let events_after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&env.pool)
            .await
            .unwrap();
        assert_eq!(
            events_before, events_after,
            "refused {method} {path} appended nothing"
        );
        let (status, answer) = env.call(method, &path, Some(OWNER), body).await;
        assert_eq!(status, owner_status, "owner {method} {path}: {answer}");
    }
    let (status, _) = env.call("GET", "/v1/tournaments/spring", None, None).await;
    assert_eq!(status, 404, "deleted");
    // The `current` alias is for reads only.
    let (status, _) = env
        .call(
            "PATCH",
            "/v1/tournaments/current",
            Some(OWNER),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn contract_rules_hold_through_the_api() {
    let env = Env::start("writes_rules", None).await;
    let (status, _) = env
        .call("POST", "/v1/tournaments", Some(THIRD), Some(cup("x")))
        .await;
    assert_eq!(status, 403, "not on the creator allowlist");
    let mut bad = cup("current");
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(bad.clone()))
        .await;
    assert_eq!(status, 422, "{body}");
    bad["slug"] = json!("cup");
    bad["leaderboard_id"] = json!(5);
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(bad.clone()))
        .await;
    assert_eq!(status, 422);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Leaderboard 5 (UNRANKED) is not a supported"),
        "{body}"
    );
    bad["leaderboard_id"] = json!(3);
    bad["end_date"] = json!("2025-01-01T00:00:00Z");
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(bad))
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (422, &json!("start_date must not be after end_date"))
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments",
            Some(OWNER),
            Some(json!({"slug": "cup"})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "name"]));
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OTHER), Some(cup("cup")))
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Tournament 'cup' already exists"))
    );

    // PATCH: explicit null clears nullable fields and is refused for the others.
    let (status, body) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"name": null})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"start_date": null, "rank_by": "current_rating"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["start_date"], &body["rank_by"]),
        (&Value::Null, &json!("current_rating"))
    );

    // Last-owner guard.
    let (status, body) = env
        .call(
            "DELETE",
            &format!("/v1/tournaments/cup/owners/{OWNER}"),
            Some(OWNER),
            None,
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (
            422,
            &json!("Cannot revoke the last owner — the tournament would become uneditable")
        )
    );
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/owners",
            Some(OWNER),
            Some(json!({"user_id": OTHER.to_uppercase()}))
        )
        .await
        .0,
        204
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/owners",
            Some(OTHER),
            Some(json!({"user_id": OTHER})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("User is already an owner"))
    );
    let (_, owners) = env
        .call("GET", "/v1/tournaments/cup/owners", Some(OTHER), None)
        .await;
    let ids: Vec<&str> = owners
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![OWNER, OTHER], "created_at order, lowercase ids");
    assert_eq!(
        env.call(
            "DELETE",
            &format!("/v1/tournaments/cup/owners/{OWNER}"),
            Some(OTHER),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        env.call("GET", "/v1/tournaments/cup/owners", Some(OWNER), None)
            .await
            .0,
        403,
        "revoked"
    );

    // Link immutability and roster conflicts.
    let add = |name: &str, profile: Option<i64>| json!({"name": name, "profile_id": profile});
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Hera", Some(1)))
        )
        .await
        .0,
        204
    );
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Later", None))
        )
        .await
        .0,
        204
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Hera", None)),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Name already on the roster"))
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Clone", Some(1))),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Player already on the roster"))
    );
    let (hera, later) = (env.roster_id("Hera").await, env.roster_id("Later").await);
    let (status, body) = env
        .call(
            "PATCH",
            &format!("/v1/tournaments/cup/players/{hera}"),
            Some(OTHER),
            Some(json!({"profile_id": 2})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (422, &json!("profile_id is immutable once linked"))
    );
    let (status, body) = env
        .call(
            "PATCH",
            &format!("/v1/tournaments/cup/players/{later}"),
            Some(OTHER),
            Some(json!({"profile_id": 1})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Player 1 already on the roster"))
    );
    assert_eq!(
        env.call(
            "PATCH",
            &format!("/v1/tournaments/cup/players/{later}"),
            Some(OTHER),
            Some(json!({"profile_id": 2}))
        )
        .await
        .0,
        204
    );
    let (status, _) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup/players/abc",
            Some(OTHER),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 422, "non-integer path id");
    let (status, body) = env
        .call(
            "DELETE",
            "/v1/tournaments/cup/players/999999",
            Some(OTHER),
            None,
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (404, &json!("Player not found in this tournament"))
    );

    // Captain swap: the second captain replaces the first, in one event that names both.
    let (_, team) = env
        .call(
            "POST",
            "/v1/tournaments/cup/teams",
            Some(OTHER),
            Some(json!({"name": "Vikings", "initials": "VK"})),
        )
        .await;
    let team = team["id"].as_i64().unwrap();
    for member in [hera, later] {
        let path = format!("/v1/tournaments/cup/teams/{team}/members");
        assert_eq!(
            env.call(
                "POST",
                &path,
                Some(OTHER),
                Some(json!({"tournament_player_id": member}))
            )
            .await
            .0,
            204
        );
    }
    let (status, body) = env
        .call(
            "POST",
            &format!("/v1/tournaments/cup/teams/{team}/members"),
            Some(OTHER),
            Some(json!({"tournament_player_id": hera})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Player already on the team"))
    );
    let captain = format!("/v1/tournaments/cup/teams/{team}/captain");
    for member in [hera, later] {
        assert_eq!(
            env.call(
                "PATCH",
                &captain,
                Some(OTHER),
                Some(json!({"tournament_player_id": member}))
            )
            .await
            .0,
            204
        );
    }
    // Linked but never-polled players are hidden from the team table: read the model itself.
    let captains: Vec<i64> = sqlx::query_scalar(
        "SELECT tournament_player_id FROM live.team_members WHERE team_id = $1 AND is_captain",
    )
    .bind(team)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(captains, vec![later], "one captain: the second");
    let (_, audit) = env
        .call("GET", "/v1/tournaments/cup/events?limit=200", None, None)
        .await;
    let swap = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["event_type"] == "TeamCaptainSet")
        .unwrap();
    assert_eq!(swap["change"]["previous_captain"], hera);
    let (status, body) = env
        .call(
            "PATCH",
            &captain,
            Some(OTHER),
            Some(json!({"tournament_player_id": 424242})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (404, &json!("Player not found on this team"))
    );
    let (status, body) = env
        .call(
            "DELETE",
            "/v1/tournaments/cup/teams/999999",
            Some(OTHER),
            None,
        )
        .await;
    assert_eq!((status, &body["detail"]), (404, &json!("Team not found")));

    // Roster cap: 100 rows, then 422 (rows added straight to the store to keep this quick).
    let store = EventStore::new(env.pool.clone());
    let operator = EventMetadata::new(Actor::Operator("test".into()));
    for n in 0..98 {
        let command = TournamentCommand::Manage {
            actor: Actor::Operator("test".into()),
            action: TournamentAction::AddPlayerToRoster {
                tournament_player_id: 10_000 + n,
                name: format!("Filler {n}"),
                profile_id: None,
                presentation: json!({}),
            },
        };
        store
            .execute::<Tournament>("cup", command, &operator)
            .await
            .unwrap();
    }
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("One too many", None)),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Roster is at the 100-row ceiling"),
        "{body}"
    );
}

#[tokio::test]
async fn idempotency_keys_replay_conflict_and_are_per_user() {
    let env = Env::start("writes_idempotency", None).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    let key = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let path = "/v1/tournaments/cup/teams";
    let first = env
        .send(
            "POST",
            path,
            Some(OWNER),
            Some(json!({"name": "A", "initials": "A"})),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = env
        .send(
            "POST",
            path,
            Some(OWNER),
            Some(json!({"name": "A", "initials": "A"})),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert!(
        again.headers().contains_key("x-request-id"),
        "replays pass through the middleware"
    );
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "same answer, same team id"
    );
    let teams: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'TeamCreated'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(teams, 1, "the replay executed nothing");

    let other_body = env
        .send(
            "POST",
            path,
            Some(OWNER),
            Some(json!({"name": "B", "initials": "B"})),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(other_body.status(), 422);
    let error: Value = other_body.json().await.unwrap();
    assert_eq!(error["error_code"], "idempotency_key_reused");
    assert!(error["request_id"]
        .as_str()
        .is_some_and(|id| !id.is_empty() && id != "unknown"));
    let invalid = env
        .send(
            "POST",
            path,
            Some(OWNER),
            Some(json!({"name": "C", "initials": "C"})),
            &[("idempotency-key", "nope")],
        )
        .await;
    assert_eq!(invalid.status(), 422);
    assert_eq!(
        invalid.json::<Value>().await.unwrap()["error_code"],
        "idempotency_key_invalid"
    );

    // A refusal is remembered too (4xx replays), and keys are per user.
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/owners",
            Some(OWNER),
            Some(json!({"user_id": OTHER}))
        )
        .await
        .0,
        204
    );
    let as_other = env
        .send(
            "POST",
            path,
            Some(OTHER),
            Some(json!({"name": "A", "initials": "A"})),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(as_other.status(), 201, "another user's key space");
    assert_ne!(as_other.json::<Value>().await.unwrap()["id"], first["id"]);

    // The audit trail records the key and the request id the client sent.
    let tagged = env
        .send(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OWNER),
            Some(json!({"name": "Tagged"})),
            &[
                ("idempotency-key", "6b1c1f5e-9f4e-4a59-8c5e-1b2a3c4d5e6f"),
                ("x-request-id", "req-audit-1"),
            ],
        )
        .await;
    assert_eq!(tagged.status(), 204);
    let (_, audit) = env
        .call("GET", "/v1/tournaments/cup/events?limit=200", None, None)
        .await;
    let added = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "PlayerAddedToRoster")
        .unwrap();
    assert_eq!(added["actor"], format!("user:{OWNER}"));
    assert_eq!(added["request_id"], "req-audit-1");
    assert_eq!(env.roster_names("cup").await, vec!["Tagged"]);
}

#[tokio::test]
async fn audit_names_the_actor_and_as_of_shows_the_table_before_a_change() {
    let env = Env::start("writes_as_of", None).await;
    let before_creation = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    let add = |name: &str| json!({"name": name});
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OWNER),
            Some(add("Early"))
        )
        .await
        .0,
        204
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OWNER),
            Some(add("Late"))
        )
        .await
        .0,
        204
    );
    assert_eq!(
        env.call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"name": "Renamed"}))
        )
        .await
        .0,
        200
    );

    let names = |table: &Value| -> Vec<String> {
        table["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, now) = env
        .call("GET", "/v1/tournaments/cup/standings", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(names(&now), vec!["Early", "Late"]);
    let at = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let path = format!("/v1/tournaments/cup/standings?as_of={}", at(between));
    let (status, then) = env.call("GET", &path, None, None).await;
    assert_eq!(status, 200, "{then}");
    assert_eq!(names(&then), vec!["Early"], "the table before Late joined");
    // The documented operation of its own answers the same; the old parameter stays served.
    let documented = format!("/v1/tournaments/cup/standings/as-of?as_of={}", at(between));
    let (status, same) = env.call("GET", &documented, None, None).await;
    assert_eq!((status, &same), (200, &then));
    let (status, error) = env
        .call("GET", "/v1/tournaments/cup/standings/as-of", None, None)
        .await;
    assert_eq!(status, 422);
    assert_eq!(error["detail"][0]["loc"], json!(["query", "as_of"]));
    let (status, _) = env
        .call(
            "GET",
            &format!(
                "/v1/tournaments/cup/standings?as_of={}",
                at(before_creation)
            ),
            None,
            None,
        )
        .await;
    assert_eq!(status, 404, "the tournament did not exist yet");
    let (status, error) = env
        .call(
            "GET",
            "/v1/tournaments/cup/standings?as_of=yesterday",
            None,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error["detail"][0]["loc"], json!(["query", "as_of"]));

    let (_, audit) = env
        .call("GET", "/v1/tournaments/cup/events", None, None)
        .await;
    let late = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "PlayerAddedToRoster" && e["change"]["name"] == "Late")
        .expect("the roster change is in the audit trail");
    assert_eq!(late["actor"], format!("user:{OWNER}"));
    assert!(late["request_id"].as_str().is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn first_party_origins_get_credentialed_cors_and_preflights() {
    let env = Env::start("writes_cors", None).await;
    let first = "http://localhost:5173";
    let preflight = env
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/tournaments/x/players", env.base),
        )
        .header("origin", first)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], first);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PATCH"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Idempotency-Key"));

    let get = |origin: &'static str, path: &'static str| {
        let request = env
            .client
            .get(format!("{}{path}", env.base))
            .header("origin", origin);
        async move { request.send().await.unwrap() }
    };
    let r = get(first, "/v1/tournaments").await;
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        first,
        "echoed, not *"
    );
    assert_eq!(r.headers()["vary"], "Origin");
    let r = get("https://overlay.example", "/v1/tournaments").await;
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(!r.headers().contains_key("access-control-allow-credentials"));
    let r = get("https://overlay.example", "/v1/me").await;
    assert!(
        !r.headers().contains_key("access-control-allow-origin"),
        "/v1/me is never open"
    );
    let r = env
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/tournaments", env.base),
        )
        .header("origin", "https://overlay.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        !r.headers().contains_key("access-control-allow-origin"),
        "no third-party preflight"
    );
}

#[tokio::test]
async fn owners_are_enriched_from_the_auth_service_and_survive_its_outage() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/users/lookup",
        axum::routing::get(
            move |headers: axum::http::HeaderMap, query: axum::extract::RawQuery| {
                let seen = seen.clone();
                async move {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let cookie = headers
                        .get("cookie")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    assert!(
                        cookie.starts_with("criticalbit_access="),
                        "the caller's cookie is forwarded"
                    );
                    let query = query.0.unwrap_or_default();
                    assert_eq!(
                        query.matches("ids=").count(),
                        2,
                        "misses batched, deduplicated: {query}"
                    );
                    axum::Json(
                        json!([{"id": OWNER.to_uppercase(), "email": "host@example.org",
                                    "display_name": "Host", "avatar_url": null}]),
                    )
                }
            },
        ),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let env = Env::start_with("writes_directory", None, Some(&format!("http://{addr}"))).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/owners",
            Some(OWNER),
            Some(json!({"user_id": OTHER}))
        )
        .await
        .0,
        204
    );
    let (status, owners) = env
        .call("GET", "/v1/tournaments/cup/owners", Some(OWNER), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(owners[0]["display_name"], "Host");
    assert_eq!(owners[0]["email"], "host@example.org");
    assert_eq!(
        owners[1]["display_name"],
        Value::Null,
        "unknown to the auth service"
    );
    // The auth service goes away: the cached profile stays, nothing fails.
    server.abort();
    let (status, owners) = env
        .call("GET", "/v1/tournaments/cup/owners", Some(OWNER), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(owners[0]["display_name"], "Host");
    assert_eq!(owners[1]["display_name"], Value::Null);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second read missed only OTHER, and failed quietly"
    );
}

#[tokio::test]
async fn hostile_input_gets_a_4xx_and_changes_nothing() {
    let env = Env::start("writes_hostile", None).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    let events = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
            .fetch_one(&env.pool)
            .await
            .unwrap()
    };
    let before = events().await;
    let requests: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/v1/tournaments/%00", None),
        ("GET", "/v1/tournaments/%00/standings", None),
        ("GET", "/v1/tournaments/cup/standings?as_of=%00", None),
        ("GET", "/v1/tournaments/cup/matches?state=%00", None),
        (
            "GET",
            "/v1/tournaments/cup/players/99999999999999999999",
            None,
        ),
        ("GET", "/v1/tournaments/cup/events?after=-1", None),
        ("PATCH", "/v1/tournaments/%00", Some(json!({"name": "x"}))),
        ("DELETE", "/v1/tournaments/cup%00", None),
        (
            "POST",
            "/v1/tournaments/cup/players",
            Some(json!({"name": "a\u{0}b"})),
        ),
        (
            "POST",
            "/v1/tournaments/cup/players",
            Some(json!({"name": "ok", "presentation": {"k": "\u{0}"}})),
        ),
        (
            "POST",
            "/v1/tournaments/cup/players",
            Some(json!({"name": "x".repeat(65)})),
        ),
        (
            "POST",
            "/v1/tournaments/cup/players",
            Some(json!({"name": "ok", "profile_id": 1e300})),
        ),
        (
            "POST",
            "/v1/tournaments/cup/players",
            Some(json!({"name": "ok", "presentation": [1]})),
        ),
        (
            "POST",
            "/v1/tournaments/cup/teams",
            Some(json!({"name": "", "initials": "TOOLONGXX"})),
        ),
        (
            "PATCH",
            "/v1/tournaments/cup",
            Some(json!({"presentation": {"x": "y".repeat(17_000)}})),
        ),
        (
            "PATCH",
            "/v1/tournaments/cup",
            Some(json!({"host_stream_urls": ["a", "b", "c", "d", "e", "f"]})),
        ),
        (
            "PATCH",
            "/v1/tournaments/cup",
            Some(json!({"rank_by": "median"})),
        ),
        (
            "PATCH",
            "/v1/tournaments/cup",
            Some(json!({"start_date": "soon"})),
        ),
        (
            "PATCH",
            "/v1/tournaments/cup",
            Some(json!({"prize_pool_cents": -1})),
        ),
        ("PATCH", "/v1/tournaments/cup", Some(json!([1, 2]))),
        (
            "POST",
            "/v1/tournaments/cup/owners",
            Some(json!({"user_id": "not-a-uuid"})),
        ),
        ("DELETE", "/v1/tournaments/cup/owners/%00", None),
        (
            "POST",
            "/v1/tournaments",
            Some(json!({"slug": "Bad Slug", "name": "x", "leaderboard_id": 3})),
        ),
        (
            "POST",
            "/v1/tournaments",
            Some(json!({"slug": "x".repeat(70), "name": "x", "leaderboard_id": 3})),
        ),
    ];
    for (method, path, body) in requests {
        let (status, answer) = env.call(method, path, Some(OWNER), body).await;
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {answer}"
        );
    }
    // Broken JSON, sent raw.
    let r = env
        .client
        .post(format!("{}/v1/tournaments/cup/players", env.base))
        .header("cookie", format!("criticalbit_access={}", env.token(OWNER)))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(events().await, before, "nothing was appended");
}

/// Found by `tests/fuzz.rs`: a presentation nested ~120 levels deep passed every check, was
/// appended, and could then never be read back (serde_json stops at 128 levels): the projector
/// retried it forever, every later write waited out its settle timeout and reads went stale.
#[tokio::test]
async fn a_presentation_too_deep_to_read_back_is_refused() {
    let env = Env::start("writes_deep", None).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    let events = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
            .fetch_one(&env.pool)
            .await
            .unwrap()
    };
    let before = events().await;
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    for (method, path, body) in [
        (
            "POST",
            "/v1/tournaments/cup/players",
            format!(
                r#"{{"name": "Deep", "presentation": {{"a": {}}}}}"#,
                nested(120)
            ),
        ),
        (
            "PATCH",
            "/v1/tournaments/cup",
            format!(r#"{{"presentation": {{"a": {}}}}}"#, nested(40)),
        ),
        (
            "POST",
            "/v1/tournaments",
            format!(
                r#"{{"slug": "deep", "name": "Deep", "leaderboard_id": 3, "presentation": {{"a": {}}}}}"#,
                nested(100)
            ),
        ),
    ] {
        let r = env
            .client
            .request(method.parse().unwrap(), format!("{}{path}", env.base))
            .header("cookie", format!("criticalbit_access={}", env.token(OWNER)))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{method} {path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "presentation"]),
            "{body}"
        );
    }
    assert_eq!(events().await, before, "nothing was appended");
    // The projector keeps up: a write still answers with its read.
    let started = std::time::Instant::now();
    let (status, _) = env
        .call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OWNER),
            Some(json!({"name": "Shallow", "presentation": {"a": [[[1]]]}})),
        )
        .await;
    assert_eq!(status, 204);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(env.roster_names("cup").await, ["Shallow"]);
}

/// Found by `tests/fuzz.rs`: chrono reads years PostgreSQL cannot store (`as_of` answered 503),
/// and a window opened in year 1 made `/standings/history` build two thousand years of daily
/// buckets (minutes per request).
#[tokio::test]
async fn datetimes_outside_pythons_years_are_422_and_an_ancient_window_still_charts() {
    let env = Env::start("writes_years", None).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    for as_of in [
        "%2B100000-01-01T00:00:00",
        "-5000-01-01T00:00:00",
        "0000-01-01",
    ] {
        let (status, body) = env
            .call(
                "GET",
                &format!("/v1/tournaments/cup/standings?as_of={as_of}"),
                None,
                None,
            )
            .await;
        assert_eq!(
            (status, &body["detail"][0]["loc"]),
            (422, &json!(["query", "as_of"])),
            "{as_of}: {body}"
        );
    }
    let (status, body) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"start_date": "+100000-01-01T00:00:00"})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"][0]["loc"]),
        (422, &json!(["body", "start_date"])),
        "{body}"
    );
    let (status, body) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"start_date": "0001-01-01T00:00:00Z", "end_date": "9999-12-31T23:59:59Z"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let started = std::time::Instant::now();
    let (status, body) = env
        .call("GET", "/v1/tournaments/cup/standings/history", None, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// Found by `tests/fuzz.rs`: axum's own rejection of a path segment that is not UTF-8 was a
/// `text/plain` 400; the contract's errors are JSON.
#[tokio::test]
async fn framework_rejections_are_json_in_the_contracts_shape() {
    let env = Env::start("writes_rejections", None).await;
    for (method, path, user) in [
        ("GET", "/v1/tournaments/%FF", None),
        ("GET", "/v1/tournaments/%C3%28/standings", None),
        ("DELETE", "/v1/tournaments/cup/teams/%E2%82", Some(OWNER)),
        ("PATCH", "/v1/tournaments/cup/players/%FF", Some(OWNER)),
    ] {
        let r = env.send(method, path, user, Some(json!({})), &[]).await;
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        assert_eq!(
            r.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
        let body: Value = r.json().await.unwrap();
        assert!(body["detail"].is_string(), "{method} {path}: {body}");
    }
}

/// Issue 12: REST datetimes are written as the original (pydantic v2) writes them: UTC `Z`,
/// six fraction digits only when the microseconds are not zero; in resources, the audit trail
/// and error envelopes alike (`common::schema` checks every answer's shape besides).
#[tokio::test]
async fn datetimes_are_written_as_pydantic_writes_them() {
    let env = Env::start("writes_datetimes", None).await;
    let (status, _) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
        .await;
    assert_eq!(status, 201);
    let window = json!({
        "start_date": "2026-12-04T18:06:59.670779+01:00",
        "end_date": "2026-12-11T17:06:59",
    });
    let (status, updated) = env
        .call("PATCH", "/v1/tournaments/cup", Some(OWNER), Some(window))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["start_date"], "2026-12-04T17:06:59.670779Z");
    assert_eq!(updated["end_date"], "2026-12-11T17:06:59Z");
    let (_, read) = env.call("GET", "/v1/tournaments/cup", None, None).await;
    assert_eq!(
        (&read["start_date"], &read["end_date"]),
        (&updated["start_date"], &updated["end_date"])
    );
    let created = read["created_at"].as_str().unwrap();
    assert!(schema::is_pydantic_datetime(created), "{created}");

    let (_, audit) = env
        .call("GET", "/v1/tournaments/cup/events", None, None)
        .await;
    for entry in audit["items"].as_array().unwrap() {
        let at = entry["recorded_at"].as_str().unwrap();
        assert!(schema::is_pydantic_datetime(at), "{at}");
    }

    let refused = env
        .send(
            "POST",
            "/v1/tournaments/cup/teams",
            Some(OWNER),
            Some(json!({"name": "C", "initials": "C"})),
            &[("idempotency-key", "nope")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let envelope: Value = refused.json().await.unwrap();
    let at = envelope["timestamp"].as_str().unwrap();
    assert!(schema::is_pydantic_datetime(at), "{at}");
}

#[path = "../../webhooks/tests/support/mod.rs"]
mod webhook_support;

#[tokio::test]
async fn webhook_delivery_log_and_replay_are_owner_only() {
    let env = Env::start("writes_webhook_log", None).await;
    let (status, created) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(cup("winter")))
        .await;
    assert_eq!(status, 201, "{created}");
    let tournament_id: i64 =
        sqlx::query_scalar("SELECT id FROM live.tournaments WHERE slug = 'winter'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    webhook_support::stand_ins(&env.pool).await;
    webhook_support::subscribe(
        &env.pool,
        "hook-1",
        tournament_id,
        "https://example.org/h",
        "json",
    )
    .await;
    sqlx::query(
        "INSERT INTO webhook_dead_letters
                (subscription_id, notification_id, tournament_id, position, ordinal, attempts, last_error)
         VALUES ('hook-1', 'n-5-match_finished-0', $1, 5, 0, 8, 'HTTP 500')",
    )
    .bind(tournament_id)
    .execute(&env.pool)
    .await
    .unwrap();
    let log = "/v1/tournaments/winter/webhooks/hook-1/deliveries";
    let replay = "/v1/tournaments/winter/webhooks/hook-1/replay";
    // 401 → 404 → 403, then the webhook must be the tournament's.
    for (method, path) in [("GET", log), ("POST", replay)] {
        assert_eq!(env.call(method, path, None, None).await.0, 401);
        let elsewhere = path.replace("/winter/", "/nowhere/");
        assert_eq!(env.call(method, &elsewhere, Some(OWNER), None).await.0, 404);
        assert_eq!(env.call(method, path, Some(OTHER), None).await.0, 403);
        let unknown = path.replace("hook-1", "hook-2");
        let (status, body) = env.call(method, &unknown, Some(OWNER), None).await;
        assert_eq!(
            (status, &body["detail"]),
            (404, &json!("Webhook not found"))
        );
    }
    let (status, body) = env.call("GET", log, Some(OWNER), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["dead_letters"][0]["notification_id"],
        "n-5-match_finished-0"
    );
    assert_eq!(body["dead_letters"][0]["requeued"], false);
    assert_eq!(body["state"]["dead_letters"], 1);
    let (status, body) = env.call("POST", replay, Some(OWNER), None).await;
    assert_eq!((status, &body), (200, &json!({"requeued": 1})));
    let (_, body) = env.call("POST", replay, Some(OWNER), None).await;
    assert_eq!(body, json!({"requeued": 0}));
    let (_, body) = env.call("GET", log, Some(OWNER), None).await;
    assert_eq!(body["dead_letters"][0]["requeued"], true);
}
