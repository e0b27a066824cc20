//! A poison event stops only what it touches (issue 11, item 3), against a real PostgreSQL and
//! the real core projector: one tournament's unreadable event quarantines that tournament, the
//! other tournament's standings keep moving, and after an operator repair and a rebuild every
//! read model equals a build of the repaired log from scratch.

use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::profile::{LadderStats, ObserveStats, Profile, ProfileCommand};
use domain::tournament::{RankBy, TournamentAction, TournamentConfig, TournamentEvent};
use domain::EventMetadata;
use projections::core::Core;
use projections::runner::{builds, catch_up, start_build};
use projections::{quarantine, status};
use serde_json::{json, Value};
use sqlx::PgPool;
use store::repair::{self, RepairError};
use store::EventStore;
use testkit::{at, seed};

/// Tournament 1 (`hera`, the one poisoned) has profile 100 on its roster; tournament 2
/// (`tatoh`) has profile 200.
const HERA_PLAYER: i64 = 100;
const TATOH_PLAYER: i64 = 200;

fn config(name: &str, presentation: Value) -> TournamentConfig {
    TournamentConfig {
        rank_by: RankBy::CurrentRating,
        presentation,
        ..seed::plain(name, Some(at(0)))
    }
}

async fn create(store: &EventStore, id: i64, slug: &str, player: i64) {
    seed::tournament(store, id, slug, config(slug, json!({})), at(0)).await;
    let add = TournamentAction::AddPlayerToRoster {
        tournament_player_id: id * 10,
        name: format!("player {player}"),
        profile_id: Some(player),
        presentation: json!({}),
    };
    seed::manage_all(store, slug, [add]).await;
}

async fn observe(store: &EventStore, profile_id: i64, rating: i64, minute: i64) {
    let observe = ProfileCommand::ObserveStats(ObserveStats {
        profile_id,
        identity: None,
        ladders: vec![LadderStats {
            leaderboard_id: 3,
            rating,
            highest_rating: rating,
            wins: minute,
            losses: 1,
            streak: 1,
            drops: 0,
            rank: Some(5),
            rank_total: Some(100),
            region_rank: None,
            region_rank_total: None,
            last_match_at: Some(at(minute)),
        }],
        observed_at: at(minute),
    });
    store
        .execute::<Profile>(
            &profile_id.to_string(),
            observe,
            &EventMetadata::new(Actor::Poller),
        )
        .await
        .unwrap();
}

/// Appends a tournament event by SQL (as a deployment without write validation could have
/// stored it; the aggregate cannot be loaded through the store past an unreadable event).
/// `payload` is the JSON text as stored. Returns its global position.
async fn append_raw(pool: &PgPool, slug: &str, event_type: &str, payload: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         SELECT 'Tournament', $1, max(sequence) + 1, $2, max(event_version), $3::json, '{}'
           FROM events WHERE aggregate_type = 'Tournament' AND aggregate_id = $1
         RETURNING global_position",
    )
    .bind(slug)
    .bind(event_type)
    .bind(payload)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Catches up until the checkpoint is at the end of the log and the newest build is live
/// (other tests' transactions on the shared cluster can hold the log back for a moment).
async fn settle(pool: &PgPool) {
    let end: i64 = sqlx::query_scalar("SELECT coalesce(max(global_position), 0) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    for _ in 0..2000 {
        catch_up(pool, &Core, 50).await.unwrap();
        let all = builds(pool).await.unwrap();
        if all.len() == 1 && all[0].is_live() && all[0].position.position == end {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the projector did not catch up");
}

async fn rating(pool: &PgPool, profile_id: i64) -> i64 {
    sqlx::query_scalar("SELECT current_rating FROM live.player_ratings WHERE profile_id = $1")
        .bind(profile_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn roster(pool: &PgPool, tournament_id: i64) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM live.tournament_players WHERE tournament_id = $1 ORDER BY 1")
        .bind(tournament_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn dump(pool: &PgPool) -> Vec<(String, Vec<Value>)> {
    seed::core_rows(pool).await
}

/// A fresh database holding `pool`'s log as readers see it (repairs applied), same positions
/// and timestamps, built from scratch: what the repaired deployment must read like.
async fn reference_build(pool: &PgPool) -> PgPool {
    let reference = store::testing::migrated_pool("quarantine_ref").await;
    type Row = (
        String,
        String,
        i64,
        String,
        String,
        String,
        String,
        i64,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version,
                coalesce(r.payload::text, e.payload::text), metadata::text, global_position,
                recorded_at
           FROM events e LEFT JOIN event_repairs r USING (global_position)
          ORDER BY global_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (kind, id, sequence, event_type, version, payload, metadata, position, recorded_at) in rows
    {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                 event_version, payload, metadata, global_position, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, $8, $9)",
        )
        .bind(kind)
        .bind(id)
        .bind(sequence)
        .bind(event_type)
        .bind(version)
        .bind(payload)
        .bind(metadata)
        .bind(position)
        .bind(recorded_at)
        .execute(&reference)
        .await
        .unwrap();
    }
    settle(&reference).await;
    reference
}

#[tokio::test]
async fn a_poison_event_quarantines_its_tournament_and_a_repair_and_rebuild_clear_it() {
    let pool = store::testing::migrated_pool("quarantine").await;
    let store = EventStore::new(pool.clone());
    create(&store, 1, "hera", HERA_PLAYER).await;
    create(&store, 2, "tatoh", TATOH_PLAYER).await;
    observe(&store, HERA_PLAYER, 1500, 1).await;
    observe(&store, TATOH_PLAYER, 1600, 1).await;
    settle(&pool).await;

    // The poison: a number PostgreSQL's json keeps but serde_json cannot read back.
    let update = |presentation: Value| {
        serde_json::to_string(&TournamentEvent::TournamentUpdated {
            tournament_id: 1,
            config: config("hera", presentation),
            changed: vec!["presentation".into()],
        })
        .unwrap()
    };
    let poisoned = update(json!({"x": "POISON"})).replace("\"POISON\"", "1e309");
    let poison = append_raw(&pool, "hera", "TournamentUpdated", &poisoned).await;
    // A later event of the poisoned tournament: held back, never applied before the poison.
    let later = serde_json::to_string(&TournamentEvent::PlayerAddedToRoster {
        tournament_id: 1,
        tournament_player_id: 11,
        name: "late".into(),
        profile_id: None,
        presentation: json!({}),
    })
    .unwrap();
    append_raw(&pool, "hera", "PlayerAddedToRoster", &later).await;
    // Everyone else keeps moving.
    observe(&store, TATOH_PLAYER, 1650, 2).await;
    observe(&store, HERA_PLAYER, 1550, 2).await;
    settle(&pool).await;

    assert_eq!(rating(&pool, TATOH_PLAYER).await, 1650);
    assert_eq!(
        rating(&pool, HERA_PLAYER).await,
        1550,
        "profiles are not quarantined"
    );
    assert_eq!(
        roster(&pool, 1).await,
        vec![10],
        "held back behind the poison"
    );
    let quarantined = quarantine::list(&pool).await.unwrap();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    let q = &quarantined[0];
    assert_eq!(q.position, poison);
    assert_eq!(q.tournament.as_deref(), Some("hera"));
    assert_eq!(q.event_type, "TournamentUpdated");
    assert_eq!(q.held_back, 1);
    assert!(!q.repaired);
    assert!(
        q.error.contains("unreadable") || q.error.contains("number"),
        "{}",
        q.error
    );
    let report = status::report(&pool).await.unwrap();
    assert_eq!(report[0].quarantined, quarantined, "status names it");

    // Still there on later passes: never skipped silently, never retried into a loop.
    observe(&store, TATOH_PLAYER, 1700, 3).await;
    settle(&pool).await;
    assert_eq!(rating(&pool, TATOH_PLAYER).await, 1700);
    assert_eq!(quarantine::list(&pool).await.unwrap(), quarantined);

    // A repair that would be poison too is refused, and nothing is registered.
    let refused = repair::register(&pool, poison, &json!({"nonsense": 1}), "typo").await;
    assert!(
        matches!(refused, Err(RepairError::DoesNotDecode { .. })),
        "{refused:?}"
    );
    assert!(repair::stored_event(&pool, poison)
        .await
        .unwrap()
        .unwrap()
        .repair
        .is_none());

    let fixed: Value = serde_json::from_str(&update(json!({"x": 1.5}))).unwrap();
    let repaired = repair::register(&pool, poison, &fixed, "presentation.x out of range")
        .await
        .unwrap();
    assert!(repaired.payload.contains("1e309"), "the log is unchanged");
    assert!(quarantine::list(&pool).await.unwrap()[0].repaired);

    // Rebuild: the new build reads the repaired event and quarantines nothing.
    start_build::<Core>(&pool).await.unwrap();
    settle(&pool).await;
    assert!(quarantine::list(&pool).await.unwrap().is_empty());
    assert_eq!(roster(&pool, 1).await, vec![10, 11]);
    let presentation: Value =
        sqlx::query_scalar("SELECT presentation::jsonb FROM live.tournaments WHERE id = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(presentation, json!({"x": 1.5}));

    let reference = reference_build(&pool).await;
    assert_eq!(dump(&pool).await, dump(&reference).await);
}
