//! The core projector against a real PostgreSQL: events in, read-model rows out, one nudge per
//! commit, rebuilds identical to live builds, and a poison event is quarantined (see also
//! tests/quarantine.rs).

use domain::event::Actor;
use domain::matches::{FinishedMatch, Match, MatchCommand, Outcome};
use domain::profile::{LadderStats, ObserveStats, Profile, ProfileCommand, ProfileIdentity};
use domain::tournament::TournamentAction;
use domain::EventMetadata;
use projections::core::Core;
use projections::runner::{builds, catch_up, start_build};
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;
use testkit::{at, seed};

async fn seed(store: &EventStore) {
    let poller = EventMetadata::new(Actor::Poller);
    seed::catalog(
        store,
        vec![seed::solo_rm()],
        vec![seed::civilization(4, "Bohemians")],
        at(0),
    )
    .await;
    let config = seed::plain("Hera Invitational", Some(at(0)));
    seed::tournament(store, 1, "hera", config, at(0)).await;
    let roster =
        [(10, "Hera", Some(199325)), (11, "Placeholder", None)].map(|(id, name, profile)| {
            TournamentAction::AddPlayerToRoster {
                tournament_player_id: id,
                name: name.into(),
                profile_id: profile,
                presentation: json!({"displayName": name}),
            }
        });
    seed::manage_all(store, "hera", roster).await;
    let relink = TournamentAction::UpdateRosterPlayer {
        tournament_player_id: 11,
        presentation: None,
        profile_id: Some(347269),
    };
    let captain = TournamentAction::SetTeamCaptain {
        team_id: 20,
        tournament_player_id: 10,
    };
    let team = std::iter::once(relink)
        .chain(seed::vikings())
        .chain([captain]);
    seed::manage_all(store, "hera", team).await;
    for (minute, rating) in [(1, 2780), (2, 2788)] {
        store
            .execute::<Profile>(
                "199325",
                ProfileCommand::ObserveStats(ObserveStats {
                    profile_id: 199325,
                    identity: Some(ProfileIdentity {
                        alias: "Hera".into(),
                        country: Some("ca".into()),
                        steam_id: None,
                        level: 4,
                        xp: 100 + minute,
                        region_id: 3,
                        clan_name: None,
                    }),
                    ladders: vec![LadderStats {
                        leaderboard_id: 3,
                        rating,
                        highest_rating: 0,
                        wins: 10 + minute,
                        losses: 5,
                        streak: 1,
                        drops: 0,
                        rank: Some(5),
                        rank_total: Some(100),
                        region_rank: None,
                        region_rank_total: None,
                        last_match_at: Some(at(minute)),
                    }],
                    observed_at: at(minute),
                }),
                &poller,
            )
            .await
            .unwrap();
    }
    store
        .execute::<Match>(
            "485301122",
            MatchCommand::RecordFinishedMatch(FinishedMatch {
                match_id: 485301122,
                map_name: "Arabia".into(),
                matchtype_id: 6,
                leaderboard_id: Some(3),
                started_at: at(1),
                completed_at: Some(at(2)),
                description: Some("AUTOMATCH".into()),
                players: vec![
                    seed::match_player(199325, Some("Hera"), 4, 1, Outcome::Win, 2780, 2788),
                    seed::match_player(5, Some("Opponent"), 23, 0, Outcome::Loss, 2726, 2718),
                ],
            }),
            &poller,
        )
        .await
        .unwrap();
    seed::open_lobby(store, "Hera vs ACCM", at(3)).await;
}

async fn dump(pool: &PgPool) -> Vec<(String, Vec<Value>)> {
    seed::core_rows(pool).await
}

/// Catches up until every appended event is applied (other tests' transactions on the shared
/// cluster can hold the log back for a moment).
async fn settle(pool: &PgPool) {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    for _ in 0..2000 {
        catch_up(pool, &Core, 50).await.unwrap();
        let live = builds(pool).await.unwrap();
        if live.iter().all(|b| b.is_live() && b.events == total) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("projector did not catch up");
}

#[tokio::test]
async fn events_become_rows_with_one_nudge_per_commit() {
    let pool = store::testing::migrated_pool("core_rows").await;
    let store = EventStore::new(pool.clone());
    // Go live on the empty log first: only a live build announces changes.
    settle(&pool).await;
    seed(&store).await;
    settle(&pool).await;

    let roster: Vec<(i64, Option<i64>, String)> =
        sqlx::query_as("SELECT id, profile_id, name FROM live.tournament_players ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        roster,
        vec![
            (10, Some(199325), "Hera".to_string()),
            (11, Some(347269), "Placeholder".to_string())
        ]
    );
    let captain: (i64, bool) =
        sqlx::query_as("SELECT tournament_player_id, is_captain FROM live.team_members")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(captain, (10, true));
    let rating: (i64, i64, i64) = sqlx::query_as(
        "SELECT current_rating, max_rating, wins FROM live.player_ratings WHERE profile_id = 199325",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rating, (2788, 2788, 12), "max_rating is floored at current");
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM live.player_rating_snapshots")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(snapshots, 2);
    let players: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT profile_id, civilization_id, outcome FROM live.match_players ORDER BY profile_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        players,
        vec![(5, 23, "loss".to_string()), (199325, 4, "win".to_string())]
    );
    let opponent: String =
        sqlx::query_scalar("SELECT alias FROM live.profile_aliases WHERE profile_id = 5")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(opponent, "Opponent");
    let live: Vec<i64> = sqlx::query_scalar(
        "SELECT profile_id FROM live.live_match_players lp JOIN live.matches m USING (match_id)
          WHERE m.state = 'staging' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(live, vec![199325, 347269]);

    // Every nudge of this database names tournament 1 or everyone (the catalog).
    let nudges: Vec<(String, Option<Vec<i64>>)> =
        sqlx::query_as("SELECT kind, tournament_ids FROM nudge_log ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!nudges.is_empty());
    assert!(nudges
        .iter()
        .all(|(_, scope)| scope.as_ref().is_none_or(|ids| ids == &vec![1])));
    assert!(nudges
        .iter()
        .any(|(kinds, _)| kinds.contains(&"live".to_string())));
}

#[tokio::test]
async fn a_rebuild_from_zero_matches_the_live_build_row_for_row() {
    let pool = store::testing::migrated_pool("core_rebuild").await;
    let store = EventStore::new(pool.clone());
    seed(&store).await;
    settle(&pool).await;
    let before = dump(&pool).await;
    let old_build = builds(&pool).await.unwrap()[0].build;

    let new_build = start_build::<Core>(&pool).await.unwrap();
    assert!(new_build > old_build);
    settle(&pool).await;
    let after = dump(&pool).await;
    let all = builds(&pool).await.unwrap();
    assert_eq!(all.len(), 1, "the old build is dropped after the swap");
    assert_eq!(all[0].build, new_build);
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_poison_event_is_quarantined_and_never_skipped_silently() {
    quarantines(
        "core_poison",
        r#"{"nonsense": 1}"#.to_string(),
        "TournamentCreated",
    )
    .await;
}

#[tokio::test]
async fn an_unreadable_payload_is_quarantined_instead_of_failing_every_read() {
    // Valid for PostgreSQL, deeper than serde_json reads back.
    let deep = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
    quarantines("core_unreadable", deep, "unreadable").await;
}

async fn quarantines(prefix: &str, payload: String, error_mentions: &str) {
    let pool = store::testing::migrated_pool(prefix).await;
    let store = EventStore::new(pool.clone());
    seed(&store).await;
    settle(&pool).await;
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ('Tournament', 'broken', 1, 'TournamentCreated', '1', $1::json, '{}')
         RETURNING global_position",
    )
    .bind(payload)
    .fetch_one(&pool)
    .await
    .unwrap();
    // Every pass after the poison keeps it quarantined (recorded, not applied, not retried).
    for _ in 0..3 {
        let mut quarantined = vec![];
        for _ in 0..2000 {
            catch_up(&pool, &Core, 50).await.unwrap();
            quarantined = projections::quarantine::list(&pool).await.unwrap();
            if !quarantined.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(quarantined.len(), 1, "{quarantined:?}");
        assert_eq!(quarantined[0].position, position);
        assert_eq!(quarantined[0].tournament.as_deref(), Some("broken"));
        assert!(
            quarantined[0].error.contains(error_mentions),
            "{}",
            quarantined[0].error
        );
        let build = &builds(&pool).await.unwrap()[0];
        assert_eq!(
            build.position.position, position,
            "the checkpoint moved past it"
        );
        assert_eq!(build.parked_at, None);
    }
}
