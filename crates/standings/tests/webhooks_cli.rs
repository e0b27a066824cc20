//! `standings webhooks …` through the real binary: add (secret printed once and stored), list
//! (redacted), edit, pause, resume, rotate-secret, delete; the URL rules apply as on the API;
//! the audit names the operator. `deliveries` and `replay` show and requeue a dead letter that
//! the real worker made against a local endpoint answering 500.

#[path = "../../webhooks/tests/support/mod.rs"]
mod support;

use std::process::Output;
use std::time::Duration;

use chrono::Utc;
use store::EventStore;
use testkit::{seed, HERA};

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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Brings the `notifications` projector (the worker runs it in production) to the log's head.
async fn notifications(pool: &sqlx::PgPool) {
    projections::runner::catch_up(pool, &projections::notifications::Notifications, 500)
        .await
        .expect("notifications catch up");
}

#[tokio::test]
async fn deliveries_show_a_dead_letter_and_replay_requeues_it() {
    let url = embedded_pg::testing::fresh_database("cli_webhook_deliveries").await;
    assert!(standings(&url, &["migrate"], &[]).await.status.success());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    // A tournament with one roster player, as tests/webhook_kill.rs seeds it, and another
    // tournament whose slug does not own the webhook.
    let store = EventStore::new(pool.clone());
    let at = testkit::people::at;
    seed::cup_with_hera(&store).await;
    seed::tournament(&store, 2, "other", seed::plain("Other", None), at(-10)).await;
    seed::project(&pool).await;

    let receiver = support::Receiver::failing(usize::MAX, 500);
    let endpoint = receiver.serve().await;
    let t = ["--tournament", "cup"];
    let added = standings(
        &url,
        &["webhooks", "add", t[0], t[1], "--url", &endpoint],
        LOCAL,
    )
    .await;
    let id = stdout(&added)
        .split_whitespace()
        .nth(2)
        .expect("registered webhook <id>")
        .to_string();

    // Before the worker's `notifications` projector built its table: a clear error.
    let unbuilt = standings(&url, &["webhooks", "deliveries", t[0], t[1], &id], &[]).await;
    assert!(!unbuilt.status.success());
    assert!(
        stderr(&unbuilt).contains("notifications read model is not built"),
        "{}",
        stderr(&unbuilt)
    );
    notifications(&pool).await;

    // Nothing delivered yet: an empty log, and nothing to replay (not an error).
    let empty = standings(&url, &["webhooks", "deliveries", t[0], t[1], &id], &[]).await;
    assert!(empty.status.success());
    assert!(
        stdout(&empty).contains("attempts: none") && stdout(&empty).contains("dead letters: none"),
        "{}",
        stdout(&empty)
    );
    let none = standings(&url, &["webhooks", "replay", t[0], t[1], &id], &[]).await;
    assert!(none.status.success());
    assert!(stdout(&none).contains("requeued 0 "), "{}", stdout(&none));

    // A baseline rating and a new peak: one `peak_rating` notification, which the worker
    // dead-letters after its one attempt.
    for step in 0..2 {
        seed::profile_now(
            &store,
            HERA,
            "Hera",
            vec![seed::ladder(2000 + step, 2000 + step, 10 + step)],
        )
        .await;
    }
    seed::project(&pool).await;
    notifications(&pool).await;
    let config = webhooks::DeliveryConfig {
        max_attempts: 1,
        ..support::fast_config()
    };
    let deliverer = webhooks::Deliverer::new(config, pool.clone()).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(deliverer.run(stopped));
    let log = support::log_until(&pool, &id, Duration::from_secs(15), |log| {
        !log.dead_letters.is_empty()
    })
    .await;
    // Stopped before the replay, so the dead letter stays requeued for the test to see.
    stop.send(true).unwrap();
    worker.await.unwrap();
    let dead = log.dead_letters[0].notification_id.clone();
    assert!(dead.contains("-peak_rating-"), "{dead}");

    let text = standings(&url, &["webhooks", "deliveries", t[0], t[1], &id], &[]).await;
    assert!(text.status.success());
    let text = stdout(&text);
    for expected in [
        "active",
        "dead letters awaiting replay 1",
        "attempts (last 1, newest first)",
        "attempt 1  dead_lettered  HTTP 500",
        "dead letters (1):",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert_eq!(text.matches(&dead).count(), 2, "{text}");
    assert!(!text.contains("(requeued)"), "{text}");

    let json = |output: Output| -> serde_json::Value {
        assert!(output.status.success());
        serde_json::from_slice(&output.stdout).expect("deliveries --json is JSON")
    };
    let deliveries_json = ["webhooks", "deliveries", t[0], t[1], &id, "--json"];
    let before = json(standings(&url, &deliveries_json, &[]).await);
    assert_eq!(before["dead_letters"][0]["notification_id"], dead.as_str());
    assert_eq!(before["dead_letters"][0]["requeued"], false);
    assert_eq!(before["state"]["dead_letters"], 1);
    assert_eq!(before["attempts"][0]["status"], 500);

    let replayed = standings(&url, &["webhooks", "replay", t[0], t[1], &id], &[]).await;
    assert!(replayed.status.success());
    assert!(
        stdout(&replayed).contains("requeued 1 "),
        "{}",
        stdout(&replayed)
    );
    let after = json(standings(&url, &deliveries_json, &[]).await);
    assert_eq!(after["dead_letters"][0]["notification_id"], dead.as_str());
    assert_eq!(after["dead_letters"][0]["requeued"], true);
    assert_eq!(after["state"]["dead_letters"], 0);
    let text = stdout(&standings(&url, &["webhooks", "deliveries", t[0], t[1], &id], &[]).await);
    assert!(
        text.contains("(requeued)") && text.contains("awaiting replay 0"),
        "{text}"
    );
    let again = standings(&url, &["webhooks", "replay", t[0], t[1], &id], &[]).await;
    assert!(again.status.success());
    assert!(stdout(&again).contains("requeued 0 "), "{}", stdout(&again));

    // An unknown id, another tournament's slug and an unknown tournament: a clear error, no
    // output, a failing exit; nothing is requeued.
    for (slug, webhook, message) in [
        ("cup", "no-such-webhook", "Webhook not found"),
        ("other", id.as_str(), "Webhook not found"),
        ("nope", id.as_str(), "Tournament not found"),
    ] {
        for command in ["deliveries", "replay"] {
            let refused = standings(
                &url,
                &["webhooks", command, "--tournament", slug, webhook],
                &[],
            )
            .await;
            assert!(!refused.status.success(), "{command} {slug} {webhook}");
            assert!(stderr(&refused).contains(message), "{}", stderr(&refused));
            assert!(!stderr(&refused).contains("panicked"));
            assert!(stdout(&refused).is_empty(), "{}", stdout(&refused));
        }
    }
}
