//! Authentication: only a valid RS256 token from the key set, and the 401 → 404 → 403 order
//! on every write route.

use super::*;

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
