//! The delivery worker against local receivers over real HTTP, on a real PostgreSQL.

mod support;

use std::time::Duration;

use support::*;

const WAIT: Duration = Duration::from_secs(15);

async fn pool() -> sqlx::PgPool {
    let pool = store::testing::migrated_pool("webhooks").await;
    stand_ins(&pool).await;
    pool
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_everything_in_order_with_the_same_ids() {
    let pool = pool().await;
    let receiver = Receiver::failing(3, 503);
    let url = receiver.serve().await;
    subscribe(&pool, "sub-a", 1, &url, "json").await;
    let mut ids = vec![];
    for position in [10, 11, 12, 13, 14] {
        ids.push(notify(&pool, 1, position).await);
    }
    // Another tournament's notification is not for this subscription.
    notify(&pool, 2, 15).await;
    let (_stop, worker) = start(&pool, fast_config());
    receiver
        .wait_for(WAIT, |log| {
            log.iter().filter(|r| r.status == 200).count() >= 5
        })
        .await;
    assert_eq!(receiver.delivered_ids(), ids);
    let all: Vec<_> = receiver.received().iter().map(|r| r.id.clone()).collect();
    // The first three tries were the first notification, retried with the same id.
    assert_eq!(all[..4], [&ids[0]; 4].map(String::clone));
    let log = log_until(&pool, "sub-a", WAIT, |log| {
        log.state.as_ref().is_some_and(|s| s.pending == 0)
    })
    .await;
    let failed = log
        .attempts
        .iter()
        .filter(|a| a.outcome == "failed")
        .count();
    assert_eq!(failed, 3);
    assert!(log.attempts.iter().any(|a| a.status == Some(503)));
    assert_eq!(log.state.as_ref().map(|s| s.pending), Some(0));
    // The counters move right after the commit the log shows.
    for _ in 0..100 {
        if worker.metrics().count("delivered") == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(worker.metrics().count("delivered"), 5);
    assert_eq!(worker.metrics().count("failed"), 3);
}

#[tokio::test]
async fn a_dead_endpoint_dead_letters_and_replays_after_a_fix() {
    let pool = pool().await;
    let receiver = Receiver::failing(usize::MAX, 500);
    let url = receiver.serve().await;
    subscribe(&pool, "sub-dead", 1, &url, "json").await;
    let first = notify(&pool, 1, 20).await;
    let second = notify(&pool, 1, 21).await;
    let config = webhooks::DeliveryConfig {
        max_attempts: 2,
        ..fast_config()
    };
    let (_stop, _worker) = start(&pool, config);
    // Two attempts each, then the cursor moves on.
    let log = log_until(&pool, "sub-dead", WAIT, |log| log.dead_letters.len() == 2).await;
    assert_eq!(receiver.received().len(), 4);
    let dead: Vec<_> = log
        .dead_letters
        .iter()
        .map(|d| d.notification_id.clone())
        .collect();
    assert_eq!(dead, [first.clone(), second.clone()]);
    assert!(log
        .dead_letters
        .iter()
        .all(|d| d.attempts == 2 && d.last_error.contains("500")));
    assert_eq!(log.state.as_ref().map(|s| s.pending), Some(0));
    assert_eq!(log.state.as_ref().map(|s| s.dead_letters), Some(2));
    // The endpoint is fixed; the owner replays: both arrive, in order, with the same ids.
    *receiver.fail_first.lock().unwrap() = 0;
    assert_eq!(webhooks::log::replay(&pool, "sub-dead").await.unwrap(), 2);
    receiver
        .wait_for(WAIT, |log| {
            log.iter().filter(|r| r.status == 200).count() >= 2
        })
        .await;
    assert_eq!(receiver.delivered_ids(), [first.clone(), second.clone()]);
    let third = notify(&pool, 1, 22).await;
    receiver
        .wait_for(WAIT, |log| {
            log.iter().filter(|r| r.status == 200).count() >= 3
        })
        .await;
    assert_eq!(receiver.delivered_ids(), [first, second, third]);
    log_until(&pool, "sub-dead", WAIT, |log| log.dead_letters.is_empty()).await;
}

#[tokio::test]
async fn internal_addresses_are_refused_without_the_allowlist() {
    let pool = pool().await;
    let receiver = Receiver::default();
    let url = receiver.serve().await;
    let by_name = url.replace("127.0.0.1", "localhost");
    subscribe(&pool, "sub-ip", 1, &url, "json").await;
    subscribe(&pool, "sub-name", 1, &by_name, "json").await;
    notify(&pool, 1, 30).await;
    let config = webhooks::DeliveryConfig {
        policy: webhooks::UrlPolicy {
            allow_http: true,
            allowed: vec![],
        },
        max_attempts: 1,
        ..fast_config()
    };
    let (_stop, _worker) = start(&pool, config);
    for sub in ["sub-ip", "sub-name"] {
        let log = log_until(&pool, sub, WAIT, |log| !log.dead_letters.is_empty()).await;
        assert_eq!(log.dead_letters.len(), 1, "{sub}: {log:?}");
        let error = log.attempts[0].error.clone().unwrap_or_default();
        assert!(error.contains("may not reach"), "{sub}: {error}");
    }
    assert!(
        receiver.received().is_empty(),
        "nothing may reach the receiver"
    );
}

#[tokio::test]
async fn the_signature_verifies_with_pythons_hmac() {
    let pool = pool().await;
    let receiver = Receiver::default();
    let url = receiver.serve().await;
    subscribe(&pool, "sub-sig", 1, &url, "json").await;
    let id = notify(&pool, 1, 40).await;
    let (_stop, _worker) = start(&pool, fast_config());
    receiver.wait_for(WAIT, |log| !log.is_empty()).await;
    let got = &receiver.received()[0];
    let header = |name: &str| got.headers.get(name).unwrap().to_str().unwrap().to_string();
    assert_eq!(header("x-standings-notification-id"), id);
    assert_eq!(header("content-type"), "application/json");
    assert!(header("user-agent").starts_with("live-standings-webhooks/"));
    let body = body_json(got);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["data"]["map"], "Arabia");
    let timestamp = header("x-standings-timestamp");
    let signature = header("x-standings-signature");
    // An independent implementation: Python's hmac module, as docs/notifications.md shows it.
    let script = "import hmac, hashlib, sys\n\
        secret, ts, body = sys.argv[1], sys.argv[2], sys.stdin.buffer.read()\n\
        print('v1=' + hmac.new(secret.encode(), ts.encode() + b'.' + body, hashlib.sha256).hexdigest())";
    let mut python = std::process::Command::new("python3")
        .args(["-c", script, SECRET, &timestamp])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    python.stdin.take().unwrap().write_all(&got.body).unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), signature);
    // And it is over this body: a tampered body does not verify.
    let tampered = webhooks::sign::signature(
        &webhooks::sign::Secret::new(SECRET.into()),
        timestamp.parse().unwrap(),
        &[&got.body[..], b" "].concat(),
    );
    assert_ne!(tampered, signature);
}

#[tokio::test]
async fn retry_after_and_discord_retry_after_are_honoured() {
    let pool = pool().await;
    // A generic endpoint answering 429 with Retry-After: 1 (seconds) once.
    let plain = Receiver::failing(1, 429);
    plain.failure.lock().unwrap().1 = vec![("retry-after", "1".to_string())];
    // A Discord-like endpoint answering 429 with {"retry_after": 0.7} once.
    let discord = Receiver::failing(1, 429);
    discord.failure.lock().unwrap().2 =
        r#"{"message": "You are being rate limited.", "retry_after": 0.7, "global": false}"#.into();
    let plain_url = plain.serve().await;
    let discord_url = discord.serve().await;
    subscribe(&pool, "sub-plain", 1, &plain_url, "json").await;
    subscribe(&pool, "sub-discord", 1, &discord_url, "discord").await;
    notify(&pool, 1, 50).await;
    let (_stop, _worker) = start(&pool, fast_config());
    for (receiver, at_least) in [
        (&plain, Duration::from_secs(1)),
        (&discord, Duration::from_millis(700)),
    ] {
        receiver.wait_for(WAIT, |log| log.len() >= 2).await;
        let log = receiver.received();
        // A lower bound only: the backoff alone (at most 100 ms here) would retry sooner.
        let gap = log[1].at - log[0].at;
        assert!(gap >= at_least, "retried after {gap:?}, asked {at_least:?}");
        assert_eq!(log[1].status, 200);
    }
    // The Discord format: a rendered message, no signature.
    let message = body_json(&discord.received()[1]);
    assert_eq!(message["embeds"][0]["title"], "Hera won on Arabia");
    assert!(message["content"]
        .as_str()
        .unwrap()
        .starts_with("Winter Cup: "));
    assert!(discord.received()[1]
        .headers
        .get("x-standings-signature")
        .is_none());
}

#[tokio::test]
async fn a_slow_endpoint_does_not_delay_the_others() {
    let pool = pool().await;
    let slow = Receiver::default();
    *slow.delay.lock().unwrap() = Duration::from_secs(3);
    let fast = Receiver::default();
    let slow_url = slow.serve().await;
    let fast_url = fast.serve().await;
    subscribe(&pool, "sub-slow", 1, &slow_url, "json").await;
    subscribe(&pool, "sub-fast", 1, &fast_url, "json").await;
    for position in [60, 61, 62] {
        notify(&pool, 1, position).await;
    }
    let (_stop, _worker) = start(&pool, fast_config());
    fast.wait_for(WAIT, |log| log.len() >= 3).await;
    // The slow endpoint has not even answered its first request yet.
    assert!(slow.received().is_empty());
    slow.wait_for(WAIT, |log| !log.is_empty()).await;
}

#[tokio::test]
async fn a_paused_subscription_skips_what_it_missed() {
    let pool = pool().await;
    let receiver = Receiver::default();
    let url = receiver.serve().await;
    subscribe(&pool, "sub-paused", 1, &url, "json").await;
    sqlx::query("UPDATE live.webhook_subscriptions SET paused = true")
        .execute(&pool)
        .await
        .unwrap();
    notify(&pool, 1, 70).await;
    let (_stop, _worker) = start(&pool, fast_config());
    log_until(&pool, "sub-paused", WAIT, |log| {
        log.state.as_ref().is_some_and(|s| s.position == 70)
    })
    .await;
    sqlx::query("UPDATE live.webhook_subscriptions SET paused = false")
        .execute(&pool)
        .await
        .unwrap();
    let next = notify(&pool, 1, 71).await;
    receiver.wait_for(WAIT, |log| !log.is_empty()).await;
    assert_eq!(receiver.delivered_ids(), [next]);
}
