//! `Idempotency-Key`: replays, conflicts, and keys per user.

use super::*;

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
