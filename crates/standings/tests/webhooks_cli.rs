//! `standings webhooks …` through the real binary: add (secret printed once and stored), list
//! (redacted), edit, pause, resume, rotate-secret, delete; the URL rules apply as on the API;
//! the audit names the operator.

use std::process::Output;

use chrono::Utc;
use store::EventStore;
use testkit::seed;

/// As operator `alice`, with `env` on top.
async fn standings(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let env = [&[("USER", "alice")], env].concat();
    testkit::process::operator(env!("CARGO_BIN_EXE_standings"), url, args, &env).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const LOCAL: &[(&str, &str)] = &[
    ("WEBHOOK_ALLOW_HTTP", "true"),
    ("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1"),
];

#[tokio::test]
async fn operator_round_trip() {
    let url = embedded_pg::testing::fresh_database("cli_webhooks").await;
    assert!(standings(&url, &["migrate"], &[]).await.status.success());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    seed::catalog(
        &EventStore::new(pool.clone()),
        vec![seed::solo_rm()],
        vec![],
        Utc::now(),
    )
    .await;
    seed::project(&pool).await;
    let created = standings(
        &url,
        &["tournament", "create", "--slug", "cup", "--name", "Cup"],
        &[],
    )
    .await;
    assert!(created.status.success());
    let t = ["--tournament", "cup"];

    // Without the operator's settings: https only, and no loopback.
    let refused = standings(
        &url,
        &[
            "webhooks",
            "add",
            t[0],
            t[1],
            "--url",
            "http://127.0.0.1:9/h",
        ],
        &[],
    )
    .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("must use https"));
    let refused = standings(
        &url,
        &[
            "webhooks",
            "add",
            t[0],
            t[1],
            "--url",
            "https://127.0.0.1:9/h",
        ],
        &[],
    )
    .await;
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));

    let add = [
        "webhooks",
        "add",
        t[0],
        t[1],
        "--url",
        "http://127.0.0.1:9/hook/PATHTOKEN",
        "--kinds",
        "match_finished,lead_change",
    ];
    let added = stdout(&standings(&url, &add, LOCAL).await);
    let id = added
        .split_whitespace()
        .nth(2)
        .expect("registered webhook <id>")
        .to_string();
    let secret = added
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("the secret, once")
        .to_string();
    assert_eq!(
        store::webhook_secrets::secret(&pool, &id)
            .await
            .unwrap()
            .as_deref(),
        Some(secret.as_str())
    );

    let listed = stdout(&standings(&url, &["webhooks", "list", t[0], t[1]], &[]).await);
    assert!(
        listed.contains(&id) && listed.contains("http://127.0.0.1:9/…"),
        "{listed}"
    );
    assert!(listed.contains("lead_change,match_finished") && listed.contains("active"));
    assert!(
        !listed.contains("PATHTOKEN") && !listed.contains("whsec_"),
        "{listed}"
    );

    let ok = |o: Output| assert!(o.status.success());
    ok(standings(&url, &["webhooks", "pause", t[0], t[1], &id], &[]).await);
    let listed = stdout(&standings(&url, &["webhooks", "list", t[0], t[1]], &[]).await);
    assert!(listed.contains("paused"), "{listed}");
    ok(standings(&url, &["webhooks", "resume", t[0], t[1], &id], &[]).await);
    let edit = [
        "webhooks",
        "edit",
        t[0],
        t[1],
        &id,
        "--kinds",
        "",
        "--description",
        "ops",
    ];
    ok(standings(&url, &edit, &[]).await);
    let rotated =
        stdout(&standings(&url, &["webhooks", "rotate-secret", t[0], t[1], &id], &[]).await);
    let new_secret = rotated
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("the new secret")
        .to_string();
    assert_ne!(new_secret, secret);
    let (kinds, description, paused): (Vec<String>, Option<String>, bool) = sqlx::query_as(
        "SELECT kinds, description, paused FROM live.webhook_subscriptions
          WHERE subscription_id = $1",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (kinds.len(), description.as_deref(), paused),
        (0, Some("ops"), false)
    );

    ok(standings(&url, &["webhooks", "delete", t[0], t[1], &id], &[]).await);
    let listed = stdout(&standings(&url, &["webhooks", "list", t[0], t[1]], &[]).await);
    assert!(listed.contains("no webhooks"), "{listed}");
    assert!(store::webhook_secrets::secret(&pool, &id)
        .await
        .unwrap()
        .is_none());
    let unknown = standings(&url, &["webhooks", "pause", t[0], t[1], &id], &[]).await;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Webhook not found"));

    let actors: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT metadata->>'actor' FROM events WHERE event_type LIKE 'Webhook%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(actors, ["operator:alice"]);
}
