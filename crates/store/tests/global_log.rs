//! The global log reader against a real PostgreSQL: every committed event exactly once, even
//! when appends commit out of position order.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::event::Actor;
use domain::operator::{Operator, OperatorCommand, OPERATOR_ID};
use domain::{AnyEvent, EventMetadata};
use rand::Rng;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};
use store::log::{read_after, LogPosition};
use store::EventStore;

async fn pool(prefix: &str, connections: u32) -> PgPool {
    let url = embedded_pg::testing::fresh_database(prefix).await;
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .connect(&url)
        .await
        .expect("connect");
    store::migrate(&pool).await.expect("migrate");
    pool
}

/// Inserts one event in `tx` (as postgres-es would) and returns its global position.
async fn insert_event(tx: &mut Transaction<'_, Postgres>, aggregate_id: &str, seq: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ('Test', $1, $2, 'Tested', '1', '{}', '{}')
         RETURNING global_position",
    )
    .bind(aggregate_id)
    .bind(seq)
    .fetch_one(&mut **tx)
    .await
    .expect("insert event")
}

/// Reads until `want` events arrived (or 20 s passed). Transactions of other tests on the same
/// cluster may hold the line back for a moment: that is latency, never loss.
async fn read_until(pool: &PgPool, mut at: LogPosition, want: usize) -> (Vec<i64>, LogPosition) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut seen = vec![];
    while seen.len() < want && tokio::time::Instant::now() < deadline {
        let (more, next) = read_all(pool, at).await;
        seen.extend(more);
        at = next;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (more, next) = read_all(pool, at).await;
    seen.extend(more);
    (seen, next)
}

async fn read_all(pool: &PgPool, mut at: LogPosition) -> (Vec<i64>, LogPosition) {
    let mut seen = vec![];
    loop {
        let batch = read_after(&mut pool.acquire().await.expect("conn"), at, 100)
            .await
            .expect("read");
        let Some(last) = batch.last() else {
            return (seen, at);
        };
        at = last.log_position;
        seen.extend(batch.iter().map(|e| e.log_position.position));
    }
}

#[tokio::test]
async fn events_appended_by_commands_carry_metadata_and_decode() {
    let pool = pool("log_meta", 4).await;
    let store = EventStore::new(pool.clone());
    let meta = EventMetadata {
        actor: Actor::Operator("alice".into()),
        request_id: Some("req-1".into()),
        idempotency_key: Some("6a1f3c4e-0000-4000-8000-000000000001".into()),
    };
    let grant = OperatorCommand::GrantCreator {
        user_id: "u1".into(),
        at: Utc::now(),
    };
    store
        .execute::<Operator>(OPERATOR_ID, grant.clone(), &meta)
        .await
        .expect("grant");
    // Granting again changes nothing, so appends nothing.
    store
        .execute::<Operator>(OPERATOR_ID, grant, &meta)
        .await
        .expect("grant again");

    read_until(&pool, LogPosition::START, 1).await;
    let events = read_after(
        &mut pool.acquire().await.expect("conn"),
        LogPosition::START,
        10,
    )
    .await
    .expect("read");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.aggregate_type, "Operator");
    assert_eq!(event.event_type, "CreatorGranted");
    assert_eq!(event.event_version, "1");
    assert_eq!(event.metadata(), Some(meta));
    assert!(matches!(event.decode(), Ok(AnyEvent::Operator(_))));
    assert!(event.log_position.tx > 0);

    let state: Operator = store.load(OPERATOR_ID).await.expect("load");
    assert!(state.creators.contains("u1"));
}

/// The scenario a naive `global_position > checkpoint` reader gets wrong, made deterministic:
/// position 1 commits after position 2 has been read.
#[tokio::test]
async fn an_event_that_commits_late_is_read_once_after_its_commit() {
    let pool = pool("log_late", 4).await;
    let mut slow = pool.begin().await.expect("begin slow");
    let slow_position = insert_event(&mut slow, "slow", 0).await;
    let mut fast = pool.begin().await.expect("begin fast");
    let fast_position = insert_event(&mut fast, "fast", 0).await;
    assert!(slow_position < fast_position);
    fast.commit().await.expect("commit fast");

    // The fast event is committed, but an older transaction is still running: hold it back.
    let (seen, at) = read_all(&pool, LogPosition::START).await;
    assert_eq!(
        seen,
        Vec::<i64>::new(),
        "nothing may be read past a running appender"
    );

    slow.commit().await.expect("commit slow");
    let (seen, at) = read_until(&pool, at, 2).await;
    assert_eq!(seen, vec![slow_position, fast_position]);
    let (again, _) = read_all(&pool, at).await;
    assert!(again.is_empty(), "nothing is read twice");
}

/// Many appenders, some holding their transaction open for random delays, while a reader tails
/// the log: the reader must see every event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailing_reader_sees_every_concurrent_append_exactly_once() {
    const APPENDERS: usize = 16;
    const EVENTS_EACH: i64 = 25;
    let pool = pool("log_concurrent", APPENDERS as u32 + 4).await;

    let mut appenders = vec![];
    for a in 0..APPENDERS {
        let pool = pool.clone();
        appenders.push(tokio::spawn(async move {
            for seq in 0..EVENTS_EACH {
                let hold_ms = rand::thread_rng().gen_range(0..30u64);
                let mut tx = pool.begin().await.expect("begin");
                insert_event(&mut tx, &format!("appender-{a}"), seq).await;
                // Some transactions stay open while younger ones commit.
                if hold_ms > 10 {
                    tokio::time::sleep(Duration::from_millis(hold_ms)).await;
                }
                tx.commit().await.expect("commit");
            }
        }));
    }

    let done = Arc::new(AtomicBool::new(false));
    let reader_pool = pool.clone();
    let reader_done = done.clone();
    let reader = tokio::spawn(async move {
        let expected = APPENDERS * EVENTS_EACH as usize;
        let mut at = LogPosition::START;
        let mut seen = vec![];
        let mut last_order = LogPosition::START;
        // After the last commit, allow a grace period for held-back events to become readable.
        let mut grace_until = None;
        loop {
            let batch = read_after(&mut reader_pool.acquire().await.expect("conn"), at, 7)
                .await
                .expect("read");
            for event in &batch {
                assert!(event.log_position > last_order, "log order must be stable");
                last_order = event.log_position;
                seen.push(event.log_position.position);
            }
            if let Some(last) = batch.last() {
                at = last.log_position;
                continue;
            }
            if reader_done.load(Ordering::SeqCst) {
                let until = *grace_until
                    .get_or_insert_with(|| tokio::time::Instant::now() + Duration::from_secs(10));
                if seen.len() >= expected || tokio::time::Instant::now() > until {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        seen
    });

    for appender in appenders {
        appender.await.expect("appender task");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("reader task");

    let all: Vec<i64> = sqlx::query_scalar("SELECT global_position FROM events ORDER BY 1")
        .fetch_all(&pool)
        .await
        .expect("all positions");
    assert_eq!(all.len(), APPENDERS * EVENTS_EACH as usize);
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an event was read twice");
    let all_set: HashSet<i64> = all.into_iter().collect();
    assert_eq!(unique, all_set, "the reader missed events");
}
