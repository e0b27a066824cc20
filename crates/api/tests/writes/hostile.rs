//! Hostile input gets a 4xx and changes nothing; the regressions the fuzzer (`tests/fuzz/`)
//! found; datetimes written as pydantic writes them.

use super::*;

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

/// Found by `tests/fuzz/`: a presentation nested ~120 levels deep passed every check, was
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

/// Found by `tests/fuzz/`: chrono reads years PostgreSQL cannot store (`as_of` answered 503),
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

/// Found by `tests/fuzz/`: axum's own rejection of a path segment that is not UTF-8 was a
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
