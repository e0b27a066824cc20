//! Webhook subscriptions (issue 15), on the writes environment (both projectors running): the owner-only order, secrets shown once and rotated, the URL safety rules at
//! registration, the read table, idempotency, and a public audit trail without URLs' paths.

use super::*;

use sha2::{Digest, Sha256};

impl Env {
    /// The writes environment with tournament `cup`, the webhooks' home.
    async fn with_cup(prefix: &str) -> Env {
        let env = Env::start(prefix, None).await;
        let cup = json!({"slug": "cup", "name": "Spring Cup", "leaderboard_id": 3});
        assert_eq!(
            env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup))
                .await
                .0,
            201
        );
        env
    }

    async fn register(&self, body: Value) -> (u16, Value) {
        self.call("POST", HOOKS, Some(OWNER), Some(body)).await
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    async fn stored_secret(&self, id: &str) -> Option<String> {
        store::webhook_secrets::secret(&self.pool, id)
            .await
            .unwrap()
    }

    /// `(url, format, kinds, description, paused, fingerprint)` of the read-table row.
    async fn row(&self, id: &str) -> Option<Row> {
        sqlx::query_as(
            "SELECT url, format, kinds, description, paused, secret_fingerprint
               FROM live.webhook_subscriptions WHERE subscription_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .unwrap()
    }
}

/// `(url, format, kinds, description, paused, fingerprint)` of a `webhook_subscriptions` row.
type Row = (String, String, Vec<String>, Option<String>, bool, String);

const HOOKS: &str = "/v1/tournaments/cup/webhooks";

fn hook(id: &str) -> String {
    format!("{HOOKS}/{id}")
}

fn fingerprint(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn owner_only_secret_shown_once_and_rotated() {
    let env = Env::with_cup("webhooks_owner").await;
    let body = json!({"url": "http://127.0.0.1:9/hook/abc", "kinds": ["match_finished"]});
    // 401 → 404 → 403, before the body is looked at.
    assert_eq!(
        env.call("POST", HOOKS, None, Some(body.clone())).await.0,
        401
    );
    assert_eq!(env.call("GET", HOOKS, None, None).await.0, 401);
    let (status, answer) = env
        .call(
            "POST",
            "/v1/tournaments/nope/webhooks",
            Some(OTHER),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, answer["detail"].as_str()),
        (404, Some("Tournament not found"))
    );
    let (status, answer) = env.call("POST", HOOKS, Some(OTHER), Some(json!({}))).await;
    assert_eq!(
        (status, answer["detail"].as_str()),
        (403, Some("Not a tournament owner"))
    );
    assert_eq!(env.call("GET", HOOKS, Some(OTHER), None).await.0, 403);

    let (status, created) = env.register(body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 43,
        "{secret}"
    );
    assert_eq!(created["secret_fingerprint"], fingerprint(&secret));
    assert_eq!(created["url"], "http://127.0.0.1:9/…");
    assert_eq!(created["format"], "json");
    assert_eq!(created["kinds"], json!(["match_finished"]));
    assert_eq!(created["paused"], false);
    assert_eq!(
        env.stored_secret(&id).await.as_deref(),
        Some(secret.as_str())
    );

    // Reads never show the secret, and show the URL without its path.
    let (status, list) = env.call("GET", HOOKS, Some(OWNER), None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, one) = env.call("GET", &hook(&id), Some(OWNER), None).await;
    assert_eq!(status, 200);
    for read in [&list[0], &one] {
        assert!(read.get("secret").is_none(), "{read}");
        assert_eq!(read["url"], "http://127.0.0.1:9/…");
        assert_eq!(read["secret_fingerprint"], fingerprint(&secret));
    }
    assert!(!list.to_string().contains("whsec_"));

    // Rotation: a new secret, once, a new fingerprint everywhere; the old one is gone.
    let rotate = format!("{}/rotate-secret", hook(&id));
    assert_eq!(env.call("POST", &rotate, Some(OTHER), None).await.0, 403);
    let (status, rotated) = env.call("POST", &rotate, Some(OWNER), None).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["secret_fingerprint"], fingerprint(&new_secret));
    assert_eq!(
        env.stored_secret(&id).await.as_deref(),
        Some(new_secret.as_str())
    );
    assert_eq!(env.row(&id).await.unwrap().5, fingerprint(&new_secret));
    let (_, one) = env.call("GET", &hook(&id), Some(OWNER), None).await;
    assert_eq!(one["secret_fingerprint"], fingerprint(&new_secret));
    assert!(one.get("secret").is_none());

    // Unknown subscriptions: 404 on every route.
    let missing = hook("0f8fad5b-d9cb-469f-a165-70867728950e");
    for (method, path) in [
        ("GET", missing.clone()),
        ("PATCH", missing.clone()),
        ("DELETE", missing.clone()),
        ("POST", format!("{missing}/rotate-secret")),
    ] {
        let (status, answer) = env.call(method, &path, Some(OWNER), Some(json!({}))).await;
        assert_eq!(
            (status, answer["detail"].as_str()),
            (404, Some("Webhook not found")),
            "{method}"
        );
    }
}

#[tokio::test]
async fn unsafe_or_invalid_endpoints_are_refused_and_append_nothing() {
    let env = Env::with_cup("webhooks_refused").await;
    let cases = [
        (json!({"url": "ftp://127.0.0.1/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "http://user:pw@127.0.0.1/x"}), "url"),
        (json!({"url": "http://10.0.0.1/x"}), "url"),
        (json!({"url": "http://192.168.1.20:8080/x"}), "url"),
        (json!({"url": "http://127.0.0.2/x"}), "url"),
        (json!({"url": "http://[::1]:9/x"}), "url"),
        (json!({"url": "http://[::ffff:10.1.1.1]/x"}), "url"),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data"}),
            "url",
        ),
        (json!({"url": "http://100.64.0.1/x"}), "url"),
        (json!({"url": "http://224.0.0.1/x"}), "url"),
        (json!({"url": "http://0.0.0.0/x"}), "url"),
        (json!({"url": "http://[fd12::1]/x"}), "url"),
        (json!({"url": "https://192.0.2.1/x"}), "url"),
        (
            json!({"url": format!("http://127.0.0.1/{}", "a".repeat(2100))}),
            "url",
        ),
        // A public address, but not a Discord webhook URL for the discord format.
        (
            json!({"url": "https://1.1.1.1/hook", "format": "discord"}),
            "url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "format": "slack"}),
            "format",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "kinds": ["goal_scored"]}),
            "kinds",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "kinds": "match_finished"}),
            "kinds",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "description": ""}),
            "description",
        ),
        (json!({"kinds": []}), "url"),
    ];
    for (body, field) in cases {
        let (status, answer) = env.register(body.clone()).await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", field]),
            "{body} → {answer}"
        );
    }
    let (_, answer) = env
        .register(json!({"url": "http://169.254.169.254/latest"}))
        .await;
    let msg = answer["detail"][0]["msg"].as_str().unwrap();
    assert!(msg.contains("link-local"), "{msg}");
    let (_, answer) = env
        .register(json!({"url": "https://1.1.1.1/hook", "format": "discord"}))
        .await;
    assert!(answer["detail"][0]["msg"]
        .as_str()
        .unwrap()
        .contains("Discord"));
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE event_type LIKE 'Webhook%'")
            .await,
        0
    );
    assert_eq!(
        env.count("SELECT count(*) FROM webhook_secrets").await,
        0,
        "a refused registration leaves no secret behind"
    );

    // A Discord URL registers (its host is allowlisted here: no DNS in tests).
    let discord = json!({"url": "https://discord.com/api/webhooks/123/tok", "format": "discord"});
    let (status, created) = env.register(discord).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["url"], "https://discord.com/…");

    // At most 20 per tournament.
    for i in 1..20 {
        let url = format!("http://127.0.0.1:9/h{i}");
        assert_eq!(env.register(json!({"url": url})).await.0, 201);
    }
    let (status, answer) = env.register(json!({"url": "http://127.0.0.1:9/x"})).await;
    assert_eq!(
        (status, answer["detail"].as_str()),
        (422, Some("A tournament may have at most 20 webhooks"))
    );
    assert_eq!(
        env.count("SELECT count(*) FROM live.webhook_subscriptions")
            .await,
        20
    );
}

#[tokio::test]
async fn edits_pause_resume_and_delete_reach_the_read_table() {
    let env = Env::with_cup("webhooks_lifecycle").await;
    let (_, created) = env
        .register(json!({"url": "http://127.0.0.1:9/a", "description": "results"}))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let position: i64 = sqlx::query_scalar(
        "SELECT global_position FROM events WHERE event_type = 'WebhookRegistered'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let created_position: i64 = sqlx::query_scalar(
        "SELECT created_position FROM live.webhook_subscriptions WHERE subscription_id = $1",
    )
    .bind(&id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(created_position, position);
    let row = env.row(&id).await.unwrap();
    assert_eq!(
        row.0, "http://127.0.0.1:9/a",
        "the read table keeps the full URL"
    );
    assert_eq!(
        (row.1.as_str(), row.2.len(), row.3.as_deref(), row.4),
        ("json", 0, Some("results"), false)
    );

    let (status, read) = env
        .call(
            "PATCH",
            &hook(&id),
            Some(OWNER),
            Some(json!({"paused": true})),
        )
        .await;
    assert_eq!((status, &read["paused"]), (200, &json!(true)));
    assert!(env.row(&id).await.unwrap().4);
    let (status, _) = env
        .call(
            "PATCH",
            &hook(&id),
            Some(OWNER),
            Some(json!({"paused": false})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!env.row(&id).await.unwrap().4);

    let edit = json!({"url": "http://127.0.0.1:10/b", "kinds": ["lead_change", "peak_rating"],
                      "description": null});
    let (status, read) = env.call("PATCH", &hook(&id), Some(OWNER), Some(edit)).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["url"], "http://127.0.0.1:10/…");
    let row = env.row(&id).await.unwrap();
    assert_eq!(row.0, "http://127.0.0.1:10/b");
    assert_eq!(row.2, ["lead_change", "peak_rating"]);
    assert_eq!(row.3, None);

    // A refused edit changes nothing.
    let (status, _) = env
        .call(
            "PATCH",
            &hook(&id),
            Some(OWNER),
            Some(json!({"url": "http://10.0.0.1/x"})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = env
        .call(
            "PATCH",
            &hook(&id),
            Some(OWNER),
            Some(json!({"format": "discord"})),
        )
        .await;
    assert_eq!(
        status, 422,
        "a json endpoint cannot become discord without a Discord URL"
    );
    assert_eq!(env.row(&id).await.unwrap().0, "http://127.0.0.1:10/b");
    assert_eq!(env.row(&id).await.unwrap().1, "json");

    assert_eq!(
        env.call("DELETE", &hook(&id), Some(OTHER), None).await.0,
        403
    );
    assert_eq!(
        env.call("DELETE", &hook(&id), Some(OWNER), None).await.0,
        204
    );
    assert!(env.row(&id).await.is_none());
    assert!(env.stored_secret(&id).await.is_none());
    assert_eq!(env.call("GET", &hook(&id), Some(OWNER), None).await.0, 404);
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE event_type LIKE 'Webhook%' ORDER BY global_position",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    // Deleting the tournament takes its subscriptions and their secrets with it.
    let (_, other) = env.register(json!({"url": "http://127.0.0.1:9/c"})).await;
    let other = other["id"].as_str().unwrap().to_string();
    assert!(env.stored_secret(&other).await.is_some());
    assert_eq!(
        env.call("DELETE", "/v1/tournaments/cup", Some(OWNER), None)
            .await
            .0,
        204
    );
    assert!(env.row(&other).await.is_none());
    assert!(env.stored_secret(&other).await.is_none());
    assert_eq!(
        types,
        [
            "WebhookRegistered",
            "WebhookPaused",
            "WebhookResumed",
            "WebhookEdited",
            "WebhookDeleted"
        ]
    );
}

#[tokio::test]
async fn idempotent_registration_and_a_redacted_public_audit_trail() {
    let env = Env::with_cup("webhooks_audit").await;
    let key = "6b1c1f5e-9f4e-4a59-8c5e-1b2a3c4d5e6f";
    let body = json!({"url": "http://127.0.0.1:9/hook/PATHTOKEN?sig=QUERYTOKEN"});
    let first = env
        .send(
            "POST",
            HOOKS,
            Some(OWNER),
            Some(body.clone()),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = env
        .send(
            "POST",
            HOOKS,
            Some(OWNER),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "same id, same secret"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE event_type = 'WebhookRegistered'")
            .await,
        1
    );
    let id = first["id"].as_str().unwrap();
    let rotate = format!("{}/rotate-secret", hook(id));
    assert_eq!(env.call("POST", &rotate, Some(OWNER), None).await.0, 200);
    let edit =
        json!({"url": "https://discord.com/api/webhooks/1/DISCORDTOKEN", "format": "discord"});
    assert_eq!(
        env.call("PATCH", &hook(id), Some(OWNER), Some(edit))
            .await
            .0,
        200
    );
    let secret = env.stored_secret(id).await.unwrap();

    // The trail is public: no token needed, and nothing secret in it.
    let (status, trail) = env
        .call("GET", "/v1/tournaments/cup/events", None, None)
        .await;
    assert_eq!(status, 200);
    let text = trail.to_string();
    for hidden in [
        "PATHTOKEN",
        "QUERYTOKEN",
        "DISCORDTOKEN",
        "whsec_",
        secret.as_str(),
    ] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    let items = trail["items"].as_array().unwrap();
    let registered = items
        .iter()
        .find(|e| e["event_type"] == "WebhookRegistered")
        .unwrap();
    assert_eq!(registered["actor"], format!("user:{OWNER}"));
    assert_eq!(registered["change"]["url"], "http://127.0.0.1:9/…");
    let edited = items
        .iter()
        .find(|e| e["event_type"] == "WebhookEdited")
        .unwrap();
    assert_eq!(edited["change"]["url"], "https://discord.com/…");
    assert_eq!(edited["change"]["changed"], json!(["url", "format"]));
    assert!(items
        .iter()
        .any(|e| e["event_type"] == "WebhookSecretRotated"));
}

#[tokio::test]
async fn the_delivery_log_and_replay_are_owner_only() {
    let env = Env::with_cup("webhook_log").await;
    let (status, created) = env
        .register(json!({"url": "http://127.0.0.1:9/h", "format": "json"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let tournament_id: i64 =
        sqlx::query_scalar("SELECT id FROM live.tournaments WHERE slug = 'cup'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO webhook_dead_letters
                (subscription_id, notification_id, tournament_id, position, ordinal, attempts, last_error)
         VALUES ($1, 'n-5-match_finished-0', $2, 5, 0, 8, 'HTTP 500')",
    )
    .bind(&id)
    .bind(tournament_id)
    .execute(&env.pool)
    .await
    .unwrap();
    // The delivery log reads the notifications projector's view: wait for its first build.
    for _ in 0..1000 {
        let live: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('live.notifications')::text")
                .fetch_one(&env.pool)
                .await
                .unwrap();
        if live.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log = format!("{}/deliveries", hook(&id));
    let replay = format!("{}/replay", hook(&id));
    // 401 → 404 → 403, then the webhook must be the tournament's (any path text: no 5xx).
    for (method, path) in [("GET", &log), ("POST", &replay)] {
        assert_eq!(env.call(method, path, None, None).await.0, 401);
        let elsewhere = path.replace("/cup/", "/nowhere/");
        assert_eq!(env.call(method, &elsewhere, Some(OWNER), None).await.0, 404);
        assert_eq!(env.call(method, path, Some(OTHER), None).await.0, 403);
        for unknown in ["hook-2", "%00", "%E2%80%AE"] {
            let (status, body) = env
                .call(method, &path.replace(&id, unknown), Some(OWNER), None)
                .await;
            assert_eq!(
                (status, &body["detail"]),
                (404, &json!("Webhook not found"))
            );
        }
    }
    let (status, body) = env.call("GET", &log, Some(OWNER), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["dead_letters"][0]["notification_id"],
        "n-5-match_finished-0"
    );
    assert_eq!(body["dead_letters"][0]["requeued"], false);
    assert_eq!(body["state"]["dead_letters"], 1);
    let (status, body) = env.call("POST", &replay, Some(OWNER), None).await;
    assert_eq!((status, &body), (200, &json!({"requeued": 1})));
    let (_, body) = env.call("POST", &replay, Some(OWNER), None).await;
    assert_eq!(body, json!({"requeued": 0}));
    let (_, body) = env.call("GET", &log, Some(OWNER), None).await;
    assert_eq!(body["dead_letters"][0]["requeued"], true);
    // Before the notifications projector's first build (a fresh deployment) the log is empty,
    // not a 5xx.
    sqlx::raw_sql("DROP VIEW live.notifications")
        .execute(&env.pool)
        .await
        .unwrap();
    let (status, body) = env.call("GET", &log, Some(OWNER), None).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"state": null, "attempts": [], "dead_letters": []})
        )
    );
}
