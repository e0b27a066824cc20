//! One active poller across processes: of two pollers (separate pools, separate lock
//! sessions) only the lock holder polls; when it dies, or its lock session breaks, the
//! standby takes over within two stats cycles, and no event is appended twice.

mod common;

use std::time::{Duration, Instant};

use common::{events_of, eventually, rostered, test_config, Env};
use poller::Poller;
use sqlx::PgPool;
use tokio::sync::watch;

const STATS_INTERVAL: Duration = Duration::from_millis(500);

fn config(env: &Env) -> poller::PollerConfig {
    let mut c = test_config(env.addr);
    c.stats_interval = STATS_INTERVAL;
    c
}

async fn wait_recorded(pool: &PgPool, match_id: i64) {
    let id = match_id.to_string();
    for _ in 0..200 {
        if events_of(pool, "MatchFinished")
            .await
            .iter()
            .any(|(a, _)| *a == id)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("match {match_id} never recorded");
}

/// No aggregate got the same fact twice.
async fn assert_no_duplicates(pool: &PgPool) {
    let twice: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT aggregate_type, aggregate_id, count(*) FROM events
          WHERE event_type IN ('MatchFinished', 'LiveMatchStarted',
                               'LeaderboardsObserved', 'CivilizationsObserved')
          GROUP BY 1, 2, event_type HAVING count(*) > 1",
    )
    .fetch_all(pool)
    .await
    .expect("query");
    assert!(twice.is_empty(), "appended twice: {twice:?}");
    // Two consecutive observations with the same figures would be a duplicate (games earn
    // XP, so a profile's identity legitimately changes; the same identity twice must not).
    let repeated: Vec<(String, String)> = sqlx::query_as(
        "SELECT aggregate_id, event_type FROM (
            SELECT aggregate_id, event_type, fact,
                   lag(fact) OVER (PARTITION BY aggregate_id, event_type, board
                                   ORDER BY sequence) AS previous
              FROM (SELECT aggregate_id, event_type, sequence,
                           CASE event_type
                             WHEN 'RatingObserved' THEN payload::jsonb -> 'RatingObserved' -> 'stats'
                             ELSE payload::jsonb -> 'ProfileObserved' -> 'identity' END AS fact,
                           payload::jsonb -> 'RatingObserved' -> 'stats' -> 'leaderboard_id' AS board
                      FROM events
                     WHERE event_type IN ('RatingObserved', 'ProfileObserved')) e) r
          WHERE fact = previous",
    )
    .fetch_all(pool)
    .await
    .expect("query");
    assert!(repeated.is_empty(), "observed twice: {repeated:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_polls_and_the_standby_replaces_a_killed_leader() {
    let (env, roster) = rostered("leader", 6, 2).await;
    let (pool_a, pool_b) = (env.other_pool().await, env.other_pool().await);
    let a = Poller::new(config(&env), pool_a.clone()).expect("poller a");
    let b = Poller::new(config(&env), pool_b.clone()).expect("poller b");
    let (stop_tx, stop_rx) = watch::channel(false);

    let task_a = tokio::spawn(a.clone().run(stop_rx.clone()));
    assert!(
        eventually(Duration::from_secs(10), || a.stats().stats.cycles_ok >= 1).await,
        "a never polled"
    );
    let task_b = tokio::spawn(b.clone().run(stop_rx.clone()));
    let game = env.sim.play_1v1(roster[0], roster[1]).expect("game");
    wait_recorded(&env.pool, game).await;
    tokio::time::sleep(STATS_INTERVAL * 2).await;
    let standby = b.stats();
    assert!(a.stats().is_leader && !standby.is_leader);
    assert_eq!(
        (
            standby.terms,
            standby.total(|k| k.cycles_ok + k.cycles_failed)
        ),
        (0, 0),
        "the standby never polls"
    );

    // Kill the leader: its task (and with it the lock session) and its pool.
    task_a.abort();
    let _ = task_a.await;
    pool_a.close().await;
    let killed = Instant::now();
    assert!(
        eventually(STATS_INTERVAL * 2, || b.stats().stats.cycles_ok >= 1).await,
        "no takeover within two stats cycles: {:?}",
        b.stats()
    );
    let took = killed.elapsed();
    assert!(b.stats().is_leader);
    eprintln!("takeover + first stats cycle: {took:?}");

    let game = env.sim.play_1v1(roster[2], roster[3]).expect("game");
    wait_recorded(&env.pool, game).await;
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(15), task_b)
        .await
        .expect("b stops")
        .expect("b task");
    assert_no_duplicates(&env.pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lock_session_breaks_stops_polling_and_stands_by() {
    let (env, roster) = rostered("lockloss", 4, 0).await;
    let a = Poller::new(config(&env), env.other_pool().await).expect("poller a");
    let b = Poller::new(config(&env), env.other_pool().await).expect("poller b");
    let (stop_tx, stop_rx) = watch::channel(false);
    let task_a = tokio::spawn(a.clone().run(stop_rx.clone()));
    assert!(eventually(Duration::from_secs(10), || a.stats().stats.cycles_ok >= 1).await);
    let task_b = tokio::spawn(b.clone().run(stop_rx.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!b.stats().is_leader);

    // Break the leader's lock session from outside (as a server restart or a network cut
    // would); the process itself lives on.
    let pid = a
        .stats_handle()
        .lock_backend_pid
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(pid > 0);
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1::int)")
        .bind(pid)
        .fetch_one(&env.pool)
        .await
        .expect("terminate");
    assert!(terminated);
    assert!(
        eventually(STATS_INTERVAL * 2, || {
            let (a, b) = (a.stats(), b.stats());
            !a.is_leader && a.terms_lost == 1 && b.is_leader
        })
        .await,
        "a: {:?}, b: {:?}",
        a.stats(),
        b.stats()
    );
    // A stays a standby: it polls no more.
    let quiet = a.stats().total(|k| k.cycles_ok + k.cycles_failed);
    let game = env.sim.play_1v1(roster[0], roster[1]).expect("game");
    wait_recorded(&env.pool, game).await;
    tokio::time::sleep(STATS_INTERVAL).await;
    assert_eq!(a.stats().total(|k| k.cycles_ok + k.cycles_failed), quiet);
    assert_eq!(a.stats().terms, 1);

    stop_tx.send(true).expect("stop");
    for task in [task_a, task_b] {
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("stops")
            .expect("task");
    }
    assert_no_duplicates(&env.pool).await;
}
