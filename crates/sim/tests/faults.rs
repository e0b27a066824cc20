//! Each fault knob produces its fault, then ends by itself.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sim::Endpoint;
use upstream::UpstreamError;

/// Short, but long enough for a few requests on a busy 2-core machine.
const WINDOW: Duration = Duration::from_millis(500);

/// Wait until every fault window reported by the simulator has ended.
async fn wait_out(s: &Served) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while s.sim.state().faults.any() {
        assert!(Instant::now() < deadline, "fault window never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn assert_recovered(s: &Served) {
    wait_out(s).await;
    let ids = s.sim.roster(4);
    let client = s.client();
    client
        .personal_stats(&ids)
        .await
        .expect("stats after the window");
    client
        .recent_match_history(&ids)
        .await
        .expect("history after the window");
    client
        .advertisements()
        .await
        .expect("lobbies after the window");
    client
        .available_leaderboards()
        .await
        .expect("catalog after the window");
    client
        .leaderboard_page(3, 1, 10)
        .await
        .expect("page after the window");
}

#[tokio::test]
async fn server_error_burst_hits_every_path() {
    let s = serve(frozen_config(41)).await;
    let ids = s.sim.roster(2);
    s.sim.server_errors_for(WINDOW);
    let client = s.client();
    let errors = [
        client.personal_stats(&ids).await.expect_err("5xx"),
        client.recent_match_history(&ids).await.expect_err("5xx"),
        client.available_leaderboards().await.expect_err("5xx"),
        client.advertisements().await.expect_err("5xx"),
        client.leaderboard_page(3, 1, 5).await.expect_err("5xx"),
    ];
    let statuses: Vec<String> = errors.iter().map(UpstreamError::label).collect();
    assert_eq!(
        statuses,
        ["http_502", "http_503", "http_504", "http_502", "http_503"]
    );
    let counters = s.sim.counters();
    assert_eq!(counters.endpoint(Endpoint::PersonalStat).server_error, 1);
    assert_eq!(counters.total, 5);
    assert_recovered(&s).await;
    assert_eq!(s.sim.counters().endpoint(Endpoint::PersonalStat).ok, 1);
}

#[tokio::test]
async fn latency_is_added_and_can_expire() {
    let s = serve(frozen_config(42)).await;
    s.sim.set_latency(Duration::from_millis(400));
    let t = Instant::now();
    s.client()
        .available_leaderboards()
        .await
        .expect("slow but fine");
    assert!(t.elapsed() >= Duration::from_millis(400));
    s.sim.set_latency(Duration::ZERO);
    // A windowed latency over HTTP.
    let state: Value = s
        .post_json(
            "/sim/control",
            &json!({"latency": {"ms": 400, "duration_ms": 300}}),
        )
        .await;
    assert_eq!(state["faults"]["latency_ms"], 400);
    tokio::time::sleep(WINDOW).await;
    let t = Instant::now();
    s.client()
        .available_leaderboards()
        .await
        .expect("fast again");
    assert!(t.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn timeout_burst_hangs_past_the_client_timeout() {
    let s = serve(frozen_config(43)).await;
    s.sim.timeouts_for(Duration::from_millis(800));
    let err = s
        .client_with_timeout(Duration::from_millis(100))
        .available_leaderboards()
        .await
        .expect_err("hangs");
    assert_eq!(err, UpstreamError::Timeout);
    // A patient client gets a 504 when the window ends, not a hang of 30 s.
    let t = Instant::now();
    let (status, _) = s.get(&format!("{CATALOG}?title=age2")).await;
    assert_eq!(status, 504);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_recovered(&s).await;
    assert_eq!(
        s.sim
            .counters()
            .endpoint(Endpoint::AvailableLeaderboards)
            .timeout,
        2
    );
}

#[tokio::test]
async fn rate_limit_with_and_without_retry_after() {
    let s = serve(frozen_config(44)).await;
    s.sim.rate_limit_for(WINDOW, Some(2));
    let response = s
        .http
        .get(s.url(&format!("{CATALOG}?title=age2")))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let err = s.client().available_leaderboards().await.expect_err("429");
    assert_eq!(
        err,
        UpstreamError::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert_recovered(&s).await;
    s.sim.rate_limit_for(WINDOW, None);
    let err = s.client().available_leaderboards().await.expect_err("429");
    assert_eq!(err, UpstreamError::RateLimited { retry_after: None });
    assert_recovered(&s).await;
}

#[tokio::test]
async fn malformed_bodies_are_not_json() {
    let s = serve(frozen_config(45)).await;
    let ids = s.sim.roster(3);
    s.sim.malformed_for(WINDOW);
    let (status, body) = s.get(&format!("{STATS}{}", ids_query(&ids))).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    let err = s.client().personal_stats(&ids).await.expect_err("garbage");
    assert!(matches!(err, UpstreamError::Decode { .. }), "{err:?}");
    assert_recovered(&s).await;
}

#[tokio::test]
async fn renamed_keys_fail_decoding() {
    let s = serve(frozen_config(46)).await;
    let ids = s.sim.roster(3);
    s.sim.rename_key_for(WINDOW);
    let (_, body) = s.get(&format!("{STATS}{}", ids_query(&ids))).await;
    let raw: Value = serde_json::from_slice(&body).expect("still JSON");
    assert!(raw.get("statgroups").is_some() && raw.get("statGroups").is_none());
    let client = s.client();
    for err in [
        client.personal_stats(&ids).await.expect_err("renamed"),
        client
            .recent_match_history(&ids)
            .await
            .expect_err("renamed"),
        client.advertisements().await.expect_err("renamed"),
    ] {
        assert!(matches!(err, UpstreamError::Decode { .. }), "{err:?}");
    }
    assert_eq!(
        s.sim
            .counters()
            .endpoint(Endpoint::RecentMatchHistory)
            .renamed_key,
        1
    );
    assert_recovered(&s).await;

    // A custom rename over HTTP, limited to one endpoint.
    let response = s
        .http
        .post(s.url("/sim/control"))
        .json(
            &json!({"rename_key": {"duration_ms": 10_000, "from": "civilization_id", "to": "race_id",
                       "endpoints": ["getRecentMatchHistory"]}}),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 200);
    let (_, body) = s.get(&format!("{HISTORY}{}", ids_query(&ids))).await;
    let text = String::from_utf8(body).expect("utf8");
    assert!(!text.contains("civilization_id") && text.contains("race_id"));
    // Legacy civ key: the tolerant parser still reads it.
    s.client()
        .recent_match_history(&ids)
        .await
        .expect("tolerated");
    s.client()
        .personal_stats(&ids)
        .await
        .expect("other endpoints untouched");
    s.sim.clear_faults();
    assert_recovered(&s).await;
}

#[tokio::test]
async fn result_code_without_arrays() {
    let s = serve(frozen_config(47)).await;
    let ids = s.sim.roster(2);
    s.sim.result_code_for(WINDOW);
    let (status, body) = s.get(&format!("{STATS}{}", ids_query(&ids))).await;
    assert_eq!(status, 200);
    assert_eq!(body, br#"{"result":{"code":-1,"message":"FAILED"}}"#);
    let err = s.client().personal_stats(&ids).await.expect_err("code -1");
    assert!(
        matches!(err, UpstreamError::ResultCode { code: -1, .. }),
        "{err:?}"
    );
    assert_recovered(&s).await;
}

#[tokio::test]
async fn control_endpoint_filters_validates_and_reports() {
    let s = serve(frozen_config(48)).await;
    let ids = s.sim.roster(2);
    let post = |body: Value| {
        let s = &s;
        async move {
            let r = s
                .http
                .post(s.url("/sim/control"))
                .json(&body)
                .send()
                .await
                .expect("post");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        }
    };
    let (status, state) = post(json!({
        "server_errors": {"duration_ms": 10_000, "endpoints": ["getRecentMatchHistory"]},
        "reset_counters": true
    }))
    .await;
    assert_eq!(status, 200);
    assert!(state["faults"]["server_errors_remaining_ms"].as_u64() > Some(0));
    let client = s.client();
    client.personal_stats(&ids).await.expect("not filtered");
    let err = client
        .recent_match_history(&ids)
        .await
        .expect_err("filtered");
    assert_eq!(err, UpstreamError::Http { status: 502 });

    for bad in [
        json!({"nope": 1}),
        json!({"server_errors": {"duration_ms": 300, "endpoints": ["nope"]}}),
        json!({"rename_key": {"duration_ms": 300, "from": "a"}}),
        json!({"speed": -1.0}),
        json!({"timeouts": {}}),
    ] {
        let (status, body) = post(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let garbage = s
        .http
        .post(s.url("/sim/control"))
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(garbage.status().as_u16(), 400);

    let state: Value = s.get_json("/sim/state").await;
    let by = &state["requests"]["by_endpoint"];
    assert_eq!(by["GetPersonalStat"]["ok"], 1);
    assert_eq!(by["getRecentMatchHistory"]["server_error"], 1);
    assert_eq!(state["requests"]["total"], 2);

    let (_, state) = post(json!({"clear_faults": true})).await;
    assert!(state["faults"]["server_errors_remaining_ms"].is_null());
    client.recent_match_history(&ids).await.expect("cleared");
}
