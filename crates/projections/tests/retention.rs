//! `nudge_log` pruning against a real PostgreSQL: the newest N rows and the last M minutes,
//! whichever keeps more, always a suffix of the log.

use std::time::Duration;

use projections::retention::{prune_nudges, run_nudge_pruning};
use projections::NudgeRetention;
use sqlx::PgPool;

/// Appends `n` nudges created `age_minutes` ago; returns their ids.
async fn nudges(pool: &PgPool, n: i64, age_minutes: i64) -> Vec<i64> {
    sqlx::query_scalar(
        "INSERT INTO public.nudge_log (kind, tournament_ids, position, created_at)
         SELECT 'standings', NULL, 0, now() - make_interval(mins => $2::int)
           FROM generate_series(1, $1)
         RETURNING id",
    )
    .bind(n)
    .bind(age_minutes)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn kept(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM public.nudge_log ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

fn retention(rows: i64, minutes: u64) -> NudgeRetention {
    NudgeRetention {
        keep_rows: rows,
        keep_for: Duration::from_secs(minutes * 60),
    }
}

#[tokio::test]
async fn keeps_the_newest_rows_or_the_recent_ones_whichever_is_more() {
    let pool = store::testing::migrated_pool("nudge_retention").await;
    // An empty table: nothing to do.
    assert_eq!(prune_nudges(&pool, retention(5, 60)).await.unwrap(), 0);

    let old = nudges(&pool, 20, 120).await; // two hours old
    let recent = nudges(&pool, 10, 1).await;
    let all: Vec<i64> = old.iter().chain(&recent).copied().collect();

    // Fewer rows than the row bound: all kept, however old.
    assert_eq!(prune_nudges(&pool, retention(100, 0)).await.unwrap(), 0);
    assert_eq!(kept(&pool).await, all);

    // 15 rows > the 10 of the last hour: the row bound keeps more.
    assert_eq!(prune_nudges(&pool, retention(15, 60)).await.unwrap(), 15);
    assert_eq!(kept(&pool).await, all[15..]);

    // 5 rows < the 10 of the last hour: the time bound keeps more.
    assert_eq!(prune_nudges(&pool, retention(5, 60)).await.unwrap(), 5);
    assert_eq!(kept(&pool).await, recent);

    // Everything older than the window, and the row bound decides alone.
    assert_eq!(prune_nudges(&pool, retention(3, 0)).await.unwrap(), 7);
    assert_eq!(kept(&pool).await, recent[7..]);
    // Never below one row (the head id a restarted feed starts from).
    prune_nudges(&pool, retention(0, 0)).await.unwrap();
    assert_eq!(kept(&pool).await, recent[9..]);
}

#[tokio::test]
async fn a_recent_row_keeps_everything_after_it() {
    // Clocks of concurrent writers are not in id order: a recent row followed by an older
    // one keeps both (what stays is a suffix of ids, never a log with holes).
    let pool = store::testing::migrated_pool("nudge_retention_suffix").await;
    let first = nudges(&pool, 3, 120).await;
    let recent = nudges(&pool, 1, 1).await;
    let late_old = nudges(&pool, 2, 120).await;
    assert_eq!(prune_nudges(&pool, retention(1, 60)).await.unwrap(), 3);
    let expected: Vec<i64> = recent.iter().chain(&late_old).copied().collect();
    assert_eq!(kept(&pool).await, expected);
    assert_eq!(first.len(), 3);
}

#[tokio::test]
async fn the_worker_task_prunes_until_told_to_stop() {
    let pool = store::testing::migrated_pool("nudge_retention_task").await;
    nudges(&pool, 50, 120).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(run_nudge_pruning(
        pool.clone(),
        retention(10, 60),
        Duration::from_millis(50),
        stop_rx,
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while kept(&pool).await.len() != 10 {
        assert!(std::time::Instant::now() < deadline, "never pruned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .unwrap();
}
