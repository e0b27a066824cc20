//! Standings as of a past instant, found through the index on time, equal the full replay of
//! the log (the way they were computed before) at every instant of a seeded history: identity
//! changes, ratings on the tournament's ladder and another one, ladder rank events before and
//! after a rating, across two hourly ladder aggregates, and a player never polled.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::ladder::{ladder_id, Ladder, LadderCommand, LadderRank};
use domain::profile::LadderStats;
use domain::tournament::TournamentAction;
use domain::EventMetadata;
use store::EventStore;
use testkit::seed;

const BOARD: i64 = 3;

/// Roster row `id` ("Player {id}"), linked to `profile_id`.
fn player(id: i64, profile_id: Option<i64>) -> TournamentAction {
    TournamentAction::AddPlayerToRoster {
        tournament_player_id: id,
        name: format!("Player {id}"),
        profile_id,
        presentation: serde_json::json!({}),
    }
}

fn stats(board: i64, rating: i64, rank: i64) -> LadderStats {
    LadderStats {
        leaderboard_id: board,
        rating,
        highest_rating: rating + 10,
        wins: rating - 2000,
        losses: 5,
        streak: 1,
        drops: 0,
        rank: Some(rank),
        rank_total: Some(40_000),
        region_rank: None,
        region_rank_total: None,
        last_match_at: None,
    }
}

/// Ranks on `BOARD`, filed under the hour `hours_ago` before now.
async fn ranks(store: &EventStore, hours_ago: i64, ranks: &[(i64, i64)]) {
    let observed_at = Utc::now() - chrono::Duration::hours(hours_ago);
    let command = LadderCommand::ObserveRanks {
        leaderboard_id: BOARD,
        ranks: ranks
            .iter()
            .map(|&(profile_id, rank)| LadderRank {
                profile_id,
                rank: Some(rank),
                rank_total: Some(50_000 + rank),
                region_rank: None,
                region_rank_total: None,
            })
            .collect(),
        observed_at,
    };
    store
        .execute::<Ladder>(
            &ladder_id(BOARD, observed_at),
            command,
            &EventMetadata::new(Actor::Poller),
        )
        .await
        .expect("ranks");
}

/// Now, after a pause that keeps it apart from the events around it.
async fn instant() -> DateTime<Utc> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let at = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_as_of_equals_the_full_replay_at_every_instant() {
    let pool = store::testing::migrated_pool("as_of_indexed").await;
    let store = EventStore::new(pool.clone());
    let (a, b, c) = (101_i64, 202_i64, 303_i64);
    let mut instants = vec![instant().await];
    seed::tournament(&store, 1, "cup", seed::plain("Cup", None), Utc::now()).await;
    let roster = [
        player(10, Some(a)),
        player(11, Some(b)),
        player(12, Some(c)),
        player(13, None),
    ];
    seed::manage_all(&store, "cup", roster).await;
    instants.push(instant().await);
    // A ladder event before any rating: ignored for everyone.
    ranks(&store, 1, &[(a, 900), (b, 901)]).await;
    seed::profile_now(
        &store,
        a,
        "Alpha",
        vec![stats(BOARD, 2100, 70), stats(4, 1500, 5)],
    )
    .await;
    instants.push(instant().await);
    seed::profile_now(&store, b, "Bravo", vec![stats(4, 1600, 6)]).await;
    ranks(&store, 1, &[(a, 60)]).await;
    instants.push(instant().await);
    seed::profile_now(
        &store,
        b,
        "Bravo2",
        vec![stats(BOARD, 2200, 50), stats(4, 1601, 6)],
    )
    .await;
    instants.push(instant().await);
    // Another ladder moves for `a` only: `a`'s tournament figures stay.
    seed::profile_now(
        &store,
        a,
        "Alpha",
        vec![stats(BOARD, 2100, 70), stats(4, 1510, 5)],
    )
    .await;
    ranks(&store, 0, &[(a, 55), (b, 45)]).await;
    instants.push(instant().await);
    ranks(&store, 0, &[(b, 44)]).await;
    seed::profile_now(&store, a, "Alpha2", vec![stats(BOARD, 2120, 65)]).await;
    instants.push(instant().await);
    ranks(&store, 0, &[(b, 43)]).await;
    seed::profile_now(&store, c, "Charlie", vec![stats(BOARD, 1900, 300)]).await;
    instants.push(instant().await);
    projections::runner::catch_up(&pool, &projections::core::Core, 500)
        .await
        .expect("projector");

    let mut answers = Vec::new();
    for at in &instants {
        let indexed = api::as_of_standings_json(&pool, "cup", *at, true).await;
        let replayed = api::as_of_standings_json(&pool, "cup", *at, false).await;
        assert_eq!(indexed, replayed, "as of {at}");
        answers.push(indexed);
    }
    // Not vacuous: before the tournament it is not found; later the figures move.
    assert!(answers[0].is_err(), "{:?}", answers[0]);
    let row = |i: usize, player: i64| {
        let items = answers[i].as_ref().expect("table")["items"].clone();
        items
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["tournament_player_id"] == player)
            .map(|r| (r["rank"].as_i64(), r["current_rating"].as_i64()))
    };
    assert_eq!(
        row(2, 10),
        Some((Some(70), Some(2100))),
        "rating over older ranks"
    );
    assert_eq!(
        row(3, 10),
        Some((Some(60), Some(2100))),
        "ladder over rating"
    );
    assert_eq!(row(4, 11), Some((Some(50), Some(2200))));
    assert_eq!(row(6, 10), Some((Some(65), Some(2120))));
    assert_eq!(row(7, 11), Some((Some(43), Some(2200))));
}
