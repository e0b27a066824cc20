//! A webhook's delivery log and the replay of its dead letters: owner only (issue 15).

use super::*;

#[path = "../../../webhooks/tests/support/mod.rs"]
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
