//! The store's two promises against a real PostgreSQL (issue 11): an event that would not read
//! back as PostgreSQL returns it is never appended, and a stored event that does not decode is
//! an error for the caller, never a panic.
//!
//! The aggregate here carries a free JSON value, so these hold for every aggregate whatever its
//! own rules check (the Tournament aggregate bounds `presentation` itself: see the api tests).

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use domain::event::Actor;
use domain::EventMetadata;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;
use store::{CommandError, EventStore};

#[derive(Default, Serialize, Deserialize)]
struct Note {
    values: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum NoteEvent {
    Noted { value: Value },
}

impl DomainEvent for NoteEvent {
    fn event_type(&self) -> String {
        "Noted".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Note {
    const TYPE: &'static str = "Note";
    type Command = Value;
    type Event = NoteEvent;
    type Error = Never;
    type Services = ();

    async fn handle(&mut self, value: Value, _: &(), sink: &EventSink<Self>) -> Result<(), Never> {
        sink.write(NoteEvent::Noted { value }, self).await;
        Ok(())
    }

    fn apply(&mut self, NoteEvent::Noted { value }: NoteEvent) {
        self.values.push(value);
    }
}

async fn events(pool: &PgPool, id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn meta() -> EventMetadata {
    EventMetadata::new(Actor::Operator("test".into()))
}

#[tokio::test]
async fn an_event_that_would_not_read_back_is_refused_and_nothing_is_appended() {
    let pool = store::testing::migrated_pool("round_trip_refused").await;
    let store = EventStore::new(pool.clone());
    // Fine values, extreme but readable: appended and read back.
    let fine = json!({"a": [1e300, -1e300, 5e-324, -0.0, u64::MAX, i64::MIN, "é😀\u{10FFFF}"]});
    store
        .execute::<Note>("fine", fine.clone(), &meta())
        .await
        .unwrap();
    let note = store.load::<Note>("fine").await.unwrap();
    assert_eq!(note.values.len(), 1);

    // Each of these was appended before the fix and then broke every reader of the aggregate.
    let cases = [
        (json!({"x": 1.7976931348623157e308}), "value.x"),
        (json!({"x": [0, -1.7976931348623157e308]}), "value.x[1]"),
        (json!({"s": "a\u{0}b"}), "."),
        (json!({"k\u{0}": 1}), "."),
    ];
    for (n, (value, path)) in cases.into_iter().enumerate() {
        let id = format!("bad-{n}");
        // A sibling event in the same command batch would roll back with it; here the
        // aggregate already holds one good event, which must stay the only one.
        store
            .execute::<Note>(&id, json!({}), &meta())
            .await
            .unwrap();
        match store.execute::<Note>(&id, value.clone(), &meta()).await {
            Err(CommandError::Unstorable(e)) => {
                assert_eq!(e.path, path, "{value}: {e}");
                assert_eq!(e.event_type, "Noted");
            }
            other => panic!("{value}: expected Unstorable, got {other:?}"),
        }
        assert_eq!(events(&pool, &id).await, 1, "{value}: nothing appended");
        // The aggregate still loads and takes further commands.
        assert_eq!(store.load::<Note>(&id).await.unwrap().values.len(), 1);
        store.execute::<Note>(&id, json!(2), &meta()).await.unwrap();
    }
}

#[tokio::test]
async fn a_stored_event_that_does_not_decode_is_an_error_not_a_panic() {
    let pool = store::testing::migrated_pool("round_trip_unreadable").await;
    let store = EventStore::new(pool.clone());
    // As a deployment before the fix stored them: the number PostgreSQL made of
    // 1.7976931348623157e308 (which serde_json cannot read), and a payload of no known variant.
    let huge = format!("17976931348623157{}", "0".repeat(292));
    let payloads = [
        format!(r#"{{"Noted": {{"value": {{"x": {huge}}}}}}}"#),
        r#"{"Renamed": {"value": 1}}"#.to_string(),
    ];
    for (n, payload) in payloads.iter().enumerate() {
        let id = format!("poisoned-{n}");
        store.execute::<Note>(&id, json!(1), &meta()).await.unwrap();
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                 event_version, payload, metadata)
             VALUES ('Note', $1, 2, 'Noted', '1', $2::json, '{}')",
        )
        .bind(&id)
        .bind(payload)
        .execute(&pool)
        .await
        .unwrap();
        assert!(
            matches!(
                store.load::<Note>(&id).await,
                Err(CommandError::Unreadable(_))
            ),
            "{payload}"
        );
        match store.execute::<Note>(&id, json!(3), &meta()).await {
            Err(CommandError::Unreadable(e)) => assert!(e.contains(&id) || n == 1, "{e}"),
            other => panic!("{payload}: expected Unreadable, got {other:?}"),
        }
        assert_eq!(events(&pool, &id).await, 2, "nothing appended");
    }
    // Other aggregates are untouched.
    store
        .execute::<Note>("healthy", json!(1), &meta())
        .await
        .unwrap();
    assert_eq!(store.load::<Note>("healthy").await.unwrap().values.len(), 1);
}
