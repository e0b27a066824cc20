//! `kill -9` of the webhook worker mid-delivery loses nothing: the real `standings` binary
//! delivers to a slow local receiver, is SIGKILLed while a request is in flight, and a second
//! process finishes the job. The receiver may see a duplicate id, never a missing one, and
//! first sees them in order. The notifications come from the worker's own `notifications`
//! projector; the webhook is added by the operator CLI.

#[path = "../crates/webhooks/tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use testkit::HERA;

use support::*;

/// The worker process, SIGKILLed when dropped (a failing test leaves no process behind).
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(url: &str) -> Worker {
    let mut child = Command::new(env!("CARGO_BIN_EXE_standings"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("BIND", "127.0.0.1:0")
        .env("ROLE", "worker")
        .env("LOG_LEVEL", "warn")
        // Nothing listens there: the poller fails quietly and polls nothing.
        .env("UPSTREAM_BASE_URL", "http://127.0.0.1:9")
        .env("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
        .env("WEBHOOK_ALLOW_HTTP", "true")
        .env("WEBHOOK_SWEEP_SECONDS", "1")
        .env("WEBHOOK_BACKOFF_BASE_SECONDS", "0.05")
        .env("WEBHOOK_BACKOFF_CAP_SECONDS", "0.2")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start standings");
    let listening = testkit::process::listening_on(&mut child);
    let worker = Worker(child);
    listening.expect("the worker listens");
    worker
}

/// The ids the `notifications` projector derived for subscription `sub`'s tournament after the
/// subscription was created, in log order, once there are `n` of them.
async fn derived_ids(pool: &sqlx::PgPool, sub: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT n.id FROM live.notifications n
               JOIN live.webhook_subscriptions s USING (tournament_id)
              WHERE s.subscription_id = $1 AND n.position > s.created_position
              ORDER BY n.position, n.ordinal",
        )
        .bind(sub)
        .fetch_all(pool)
        .await
        .unwrap_or_default();
        if ids.len() >= n {
            assert_eq!(ids.len(), n, "one notification per rise: {ids:?}");
            assert!(ids.iter().all(|id| id.contains("-peak_rating-")), "{ids:?}");
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "the projector derived only {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn kill_9_mid_delivery_loses_nothing() {
    let url = embedded_pg::testing::fresh_database("webhook_kill").await;
    let status = Command::new(env!("CARGO_BIN_EXE_standings"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("LOG_LEVEL", "warn")
        .status()
        .unwrap();
    assert!(status.success());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let receiver = Receiver::default();
    *receiver.delay.lock().unwrap() = Duration::from_millis(150);
    let endpoint = receiver.serve().await;
    // The real pipeline: a tournament with one roster player (seeded as its owner would), a
    // webhook added by the operator CLI, and 31 rising ratings that the worker's own
    // `notifications` projector turns into 30 `peak_rating` notifications (the first in-window
    // rating is the baseline).
    let store = store::EventStore::new(pool.clone());
    testkit::seed::cup_with_hera(&store).await;
    testkit::seed::project(&pool).await;
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_standings"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("LOG_LEVEL", "warn")
            .env("USER", "operator")
            .env("WEBHOOK_ALLOW_HTTP", "true")
            .env("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
            .output()
            .unwrap()
    };
    let added = cli(&["webhooks", "add", "--tournament", "cup", "--url", &endpoint]);
    assert!(added.status.success(), "{added:?}");
    let added = String::from_utf8_lossy(&added.stdout).into_owned();
    let sub = added
        .lines()
        .find_map(|l| l.strip_prefix("registered webhook "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("registered webhook <id>")
        .to_string();
    for step in 0..=30 {
        testkit::seed::profile_now(
            &store,
            HERA,
            "Hera",
            vec![testkit::seed::ladder(2000 + step, 2000 + step, 10 + step)],
        )
        .await;
    }

    let mut first = worker(&url);
    // SIGKILL as the 8th request arrives: it is in flight, its outcome not committed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.arrivals.load(Ordering::SeqCst) < 8 {
        assert!(
            Instant::now() < deadline,
            "the first worker never delivered"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.0.kill().expect("SIGKILL the worker");
    first.0.wait().unwrap();
    let before_restart = receiver.delivered_ids().len();
    assert!(before_restart < 30, "killed too late to prove anything");

    let second = worker(&url);
    let ids = derived_ids(&pool, &sub, 30).await;
    receiver
        .wait_for(Duration::from_secs(40), |log| {
            let got: std::collections::HashSet<_> = log.iter().map(|r| r.id.as_str()).collect();
            ids.iter().all(|id| got.contains(id.as_str()))
        })
        .await;
    drop(second);

    // Every id arrived; first arrivals are in order; anything extra is a repeat.
    let delivered = receiver.delivered_ids();
    let mut firsts: Vec<String> = vec![];
    for id in &delivered {
        if !firsts.contains(id) {
            firsts.push(id.clone());
        }
    }
    assert_eq!(firsts, ids);
    assert!(
        delivered.len() <= ids.len() + 2,
        "at most the in-flight one (and its neighbour) again: {delivered:?}"
    );
}
