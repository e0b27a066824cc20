//! A ladder's rank events reach the standings, now and as of a past instant: the rank shown
//! is the one of the last `LadderRanksObserved` by then, over the profile's own events.

use std::time::Duration;

use chrono::Utc;
use domain::event::Actor;
use domain::ladder::{ladder_id, Ladder, LadderCommand, LadderRank};
use domain::profile::LadderStats;
use domain::tournament::TournamentAction;
use domain::EventMetadata;
use serde_json::Value;
use store::EventStore;
use testkit::seed;

const PROFILE: i64 = 199_325;

async fn create_cup(store: &EventStore) {
    seed::tournament(store, 1, "cup", seed::plain("Cup", None), Utc::now()).await;
    let add = TournamentAction::AddPlayerToRoster {
        tournament_player_id: 10,
        name: "Hera".into(),
        profile_id: Some(PROFILE),
        presentation: serde_json::json!({}),
    };
    seed::manage_all(store, "cup", [add]).await;
}

async fn observe_ranks(store: &EventStore, rank: i64) {
    let now = Utc::now();
    let command = LadderCommand::ObserveRanks {
        leaderboard_id: 3,
        ranks: vec![LadderRank {
            profile_id: PROFILE,
            rank: Some(rank),
            rank_total: Some(40_000 + rank),
            region_rank: None,
            region_rank_total: None,
        }],
        observed_at: now,
    };
    store
        .execute::<Ladder>(
            &ladder_id(3, now),
            command,
            &EventMetadata::new(Actor::Poller),
        )
        .await
        .expect("ranks");
}

/// `(rank, rank_total)` of the one row of a standings answer.
async fn rank_at(base: &str, path: &str) -> (Option<i64>, Option<i64>) {
    let body: Value = reqwest::get(format!("{base}{path}"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let row = &body["items"][0];
    (row["rank"].as_i64(), row["rank_total"].as_i64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standings_now_and_as_of_show_the_ladders_rank_of_their_time() {
    let pool = store::testing::migrated_pool("ladder_ranks").await;
    let store = EventStore::new(pool.clone());
    create_cup(&store).await;
    let stats = LadderStats {
        leaderboard_id: 3,
        rating: 2788,
        highest_rating: 2800,
        wins: 10,
        losses: 5,
        streak: 1,
        drops: 0,
        rank: Some(7),
        rank_total: Some(40_007),
        region_rank: None,
        region_rank_total: None,
        last_match_at: None,
    };
    seed::profile_now(&store, PROFILE, "Hera", vec![stats]).await;
    observe_ranks(&store, 5).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    observe_ranks(&store, 3).await;
    projections::runner::catch_up(&pool, &projections::core::Core, 500)
        .await
        .expect("projector");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = api::AppState::with_cache(pool.clone(), Default::default());
    tokio::spawn(async move { axum::serve(listener, api::router(state)).await });

    assert_eq!(
        rank_at(&base, "/v1/tournaments/cup/standings").await,
        (Some(3), Some(40_003)),
        "now: the last ladder event"
    );
    let at = between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    assert_eq!(
        rank_at(
            &base,
            &format!("/v1/tournaments/cup/standings/as-of?as_of={at}")
        )
        .await,
        (Some(5), Some(40_005)),
        "then: the ladder event before it, over the profile's rank 7"
    );
}
