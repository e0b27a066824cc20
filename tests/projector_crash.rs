//! `kill -9` of a worker in the middle of a projector batch, then a restart: no event is lost
//! and none is applied twice (rows, checkpoint and counter move in one transaction).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;

const BIN: &str = env!("CARGO_BIN_EXE_standings");
const EVENTS: i64 = 20_000;

fn start_worker(url: &str) -> Child {
    Command::new(BIN)
        .args(["serve", "--role", "worker"])
        .env("DATABASE_URL", url)
        .env("BIND", "127.0.0.1:0")
        // The poller runs in a worker: point it at a closed port, never at the real upstream.
        .env("UPSTREAM_BASE_URL", "http://127.0.0.1:9")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn worker")
}

/// Appends `EVENTS` rating observations spread over 500 profiles, straight into the log.
async fn append_ratings(pool: &PgPool) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         SELECT 'Profile', (1000 + i % 500)::text, i / 500, 'RatingObserved', '1',
                json_build_object('RatingObserved', json_build_object(
                    'profile_id', 1000 + i % 500,
                    'stats', json_build_object(
                        'leaderboard_id', 3, 'rating', 1000 + i % 977, 'highest_rating', 2000,
                        'wins', i, 'losses', i / 2, 'streak', 1, 'drops', 0, 'rank', null,
                        'rank_total', null, 'region_rank', null, 'region_rank_total', null,
                        'last_match_at', null),
                    'observed_at', to_char(timestamptz '2026-06-01' + i * interval '1 second',
                                           'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))),
                '{\"actor\": \"poller\"}'
           FROM generate_series(0, $1 - 1) AS i",
    )
    .bind(EVENTS)
    .execute(pool)
    .await
    .expect("append events");
}

async fn applied(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT coalesce(max(events), 0) FROM projection_checkpoints")
        .fetch_one(pool)
        .await
        .unwrap_or(0)
}

async fn wait_for(pool: &PgPool, what: &str, timeout: Duration, done: impl Fn(i64) -> bool) -> i64 {
    let start = Instant::now();
    loop {
        let n = applied(pool).await;
        if done(n) {
            return n;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what} (applied {n})"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn dump(pool: &PgPool) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT to_jsonb(t) FROM (
            SELECT 'rating' AS kind, to_jsonb(r) AS row FROM live.player_ratings r
            UNION ALL
            SELECT 'snapshot', to_jsonb(s) FROM live.player_rating_snapshots s) t
         ORDER BY to_jsonb(t)::text",
    )
    .fetch_all(pool)
    .await
    .expect("dump")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_loses_nothing_and_applies_nothing_twice() {
    let (url, pool) = store::testing::migrated_database("crash").await;
    append_ratings(&pool).await;

    let mut worker = start_worker(&url);
    let at_kill = wait_for(&pool, "the first batches", Duration::from_secs(60), |n| {
        n > 0
    })
    .await;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(worker.id() as i32, libc::SIGKILL) };
    let _ = worker.wait();
    assert!(
        at_kill < EVENTS,
        "killed too late to be mid-rebuild ({at_kill} applied)"
    );

    let mut worker = start_worker(&url);
    let done = wait_for(
        &pool,
        "catch-up after restart",
        Duration::from_secs(120),
        |n| n >= EVENTS,
    )
    .await;
    // SAFETY: as above.
    unsafe { libc::kill(worker.id() as i32, libc::SIGTERM) };
    let _ = worker.wait();
    assert_eq!(done, EVENTS, "every event applied exactly once");

    // The tables equal a build from scratch of the same log (a doubled event would add a
    // snapshot row or fail the snapshot primary key; a lost one would change a rating).
    let live = dump(&pool).await;
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM live.player_rating_snapshots")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert!(snapshots > 0);
    let build = projections::runner::start_build::<projections::core::Core>(&pool)
        .await
        .expect("start a reference build");
    loop {
        let step = projections::runner::step(&pool, &projections::core::Core, build, 5_000)
            .await
            .expect("step");
        if step.caught_up {
            break;
        }
    }
    assert!(
        projections::runner::promote::<projections::core::Core>(&pool, build)
            .await
            .expect("promote")
    );
    assert_eq!(live, dump(&pool).await);
}
