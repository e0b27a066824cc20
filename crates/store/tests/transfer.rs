//! `store::transfer` against a real PostgreSQL: an export holds exactly the aggregates the
//! tournament's reads depend on, in log order; an import reproduces them (payload, metadata,
//! `recorded_at`), and an event that would not read back is refused with nothing appended.

use chrono::{DateTime, TimeZone, Utc};
use domain::matches::{FinishedMatch, MatchEvent, MatchPlayer, Outcome};
use domain::profile::{ProfileEvent, ProfileIdentity};
use domain::tournament::{RankBy, TournamentConfig, TournamentEvent};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use store::transfer::{self, ImportError};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap()
}

/// Appends `event` (serialized as cqrs-es stores it: `{"Variant": {...}}`) at `recorded_at`.
async fn append(
    db: &PgPool,
    aggregate: (&str, &str, i64),
    event: impl Serialize,
    recorded_at: DateTime<Utc>,
) {
    let payload = serde_json::to_value(event).expect("serialize");
    let event_type = payload
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .expect("a variant");
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, recorded_at)
         VALUES ($1, $2, $3, $4, '1', $5, $6, $7)",
    )
    .bind(aggregate.0)
    .bind(aggregate.1)
    .bind(aggregate.2)
    .bind(event_type)
    .bind(payload)
    // Bound as cqrs-es binds it (`jsonb`, so stored in its normal form).
    .bind(json!({"actor": "poller"}))
    .bind(recorded_at)
    .execute(db)
    .await
    .expect("append");
}

async fn tournament(db: &PgPool, slug: &str, tournament_id: i64, profile_id: i64) {
    let config = TournamentConfig {
        name: slug.into(),
        leaderboard_id: 3,
        rank_by: RankBy::PeakRating,
        start_date: None,
        end_date: None,
        prize_pool_cents: None,
        host_stream_urls: vec![],
        presentation: json!({}),
    };
    let created = TournamentEvent::TournamentCreated {
        tournament_id,
        slug: slug.into(),
        config,
        created_at: at(0),
    };
    append(db, ("Tournament", slug, 1), created, at(0)).await;
    let added = TournamentEvent::PlayerAddedToRoster {
        tournament_id,
        tournament_player_id: tournament_id * 10,
        name: format!("player {profile_id}"),
        profile_id: Some(profile_id),
        presentation: json!({}),
    };
    append(db, ("Tournament", slug, 2), added, at(1)).await;
}

async fn profile(db: &PgPool, profile_id: i64, alias: &str, minute: u32) {
    let observed = ProfileEvent::ProfileObserved {
        profile_id,
        identity: ProfileIdentity {
            alias: alias.into(),
            country: None,
            steam_id: None,
            level: 1,
            xp: 1,
            region_id: 0,
            clan_name: None,
        },
        observed_at: at(minute),
    };
    let id = profile_id.to_string();
    append(db, ("Profile", &id, 1), observed, at(minute)).await;
}

async fn finished(db: &PgPool, match_id: i64, winner: i64, loser: i64) {
    let player = |profile_id, outcome| MatchPlayer {
        profile_id,
        alias: None,
        civilization_id: 1,
        team_id: 0,
        outcome: Some(outcome),
        old_rating: Some(1000),
        new_rating: Some(1000),
        xp_gained: 1,
    };
    let event = MatchEvent::MatchFinished(FinishedMatch {
        match_id,
        map_name: "Arabia".into(),
        matchtype_id: 6,
        leaderboard_id: Some(3),
        started_at: at(10),
        completed_at: Some(at(20)),
        description: None,
        players: vec![player(winner, Outcome::Win), player(loser, Outcome::Loss)],
    });
    let id = match_id.to_string();
    append(db, ("Match", &id, 1), event, at(20)).await;
}

type Row = (String, String, i64, String, String, String, DateTime<Utc>);

async fn events(db: &PgPool) -> Vec<Row> {
    sqlx::query_as(
        "SELECT aggregate_type, aggregate_id, sequence, event_type, payload::text,
                metadata::text, recorded_at FROM events ORDER BY global_position",
    )
    .fetch_all(db)
    .await
    .expect("events")
}

async fn export(db: &PgPool, slug: &str) -> Vec<u8> {
    let mut out = vec![];
    transfer::export(db, slug, &mut out, |_, _| {})
        .await
        .expect("export");
    out
}

async fn import(db: &PgPool, file: &[u8]) -> Result<transfer::ImportReport, ImportError> {
    transfer::import(db, std::io::Cursor::new(file), |_| {}, |_, _| {}).await
}

#[tokio::test]
async fn export_holds_what_the_reads_depend_on_and_imports_as_it_was() {
    let source = store::testing::migrated_pool("transfer_source").await;
    tournament(&source, "cup", 1, 100).await;
    tournament(&source, "other-cup", 2, 300).await;
    profile(&source, 100, "Hera", 2).await;
    profile(&source, 200, "Opponent", 3).await;
    profile(&source, 300, "Elsewhere", 4).await;
    finished(&source, 1, 100, 200).await;
    finished(&source, 2, 300, 400).await;

    let file = export(&source, "cup").await;
    let text = String::from_utf8(file.clone()).expect("utf-8");
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().expect("header")).expect("json");
    let exported: Vec<(String, String)> = lines
        .map(|l| serde_json::from_str::<Value>(l).expect("event line"))
        .map(|e| {
            let kind = e["aggregate_type"].as_str().expect("type").to_string();
            (kind, e["aggregate_id"].as_str().expect("id").to_string())
        })
        .collect();
    // The roster's profile, its match and the opponent in it; not the other tournament's.
    let expected: Vec<(String, String)> = [
        ("Tournament", "cup"),
        ("Tournament", "cup"),
        ("Profile", "100"),
        ("Profile", "200"),
        ("Match", "1"),
    ]
    .iter()
    .map(|(t, i)| (t.to_string(), i.to_string()))
    .collect();
    assert_eq!(exported, expected);
    assert_eq!(header["count"], 5);

    let target = store::testing::migrated_pool("transfer_target").await;
    let report = import(&target, &file).await.expect("import");
    assert_eq!((report.appended, report.skipped), (5, 0));
    let wanted: Vec<Row> = events(&source)
        .await
        .into_iter()
        .filter(|e| expected.contains(&(e.0.clone(), e.1.clone())))
        .collect();
    assert_eq!(events(&target).await, wanted);
    let again = import(&target, &file).await.expect("import again");
    assert_eq!((again.appended, again.skipped), (0, 5));
    assert_eq!(events(&target).await.len(), 5);

    // An unknown tournament is said so.
    let missing = transfer::export(&source, "no-cup", &mut vec![], |_, _| {}).await;
    assert!(matches!(missing, Err(transfer::ExportError::NotFound(_))));
}

#[tokio::test]
async fn an_event_that_would_not_read_back_is_refused_with_nothing_appended() {
    let source = store::testing::migrated_pool("transfer_unstorable").await;
    tournament(&source, "cup", 1, 100).await;
    profile(&source, 100, "Hera", 2).await;
    let file = String::from_utf8(export(&source, "cup").await).expect("utf-8");
    // `\u0000` parses as JSON and as the event, but PostgreSQL's jsonb refuses it: the stored
    // event could never be read as a read model reads it.
    let poisoned = file.replace("\"Hera\"", "\"He\\u0000ra\"");
    assert_ne!(poisoned, file);
    let target = store::testing::migrated_pool("transfer_unstorable_target").await;
    match import(&target, poisoned.as_bytes()).await {
        Err(ImportError::Unstorable { line, source }) => {
            assert_eq!(line, 4, "{source}");
        }
        other => panic!("expected Unstorable, got {other:?}"),
    }
    assert!(events(&target).await.is_empty());
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM event_imports")
        .fetch_one(&target)
        .await
        .expect("count");
    assert_eq!(imports, 0);
}
