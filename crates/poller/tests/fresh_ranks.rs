//! Ladder ranks are as fresh as the last stats cycle: when outsiders' games pass an idle
//! roster player, the next stats cycle appends one `LadderRanksObserved` for that ladder and
//! the projected rating row shows the new rank; a quiet cycle after it appends nothing.

mod common;

use common::{all_cycles, delta, event_counts, events_of, key, rostered};
use domain::ladder::LadderEvent;
use poller::CycleKind;

const RM_1V1: i64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsiders_game_moves_an_idle_players_rank_within_one_cycle() {
    let (env, roster) = rostered("ranks", 4, 0).await;
    let poller = env.poller();
    all_cycles(&poller).await;
    all_cycles(&poller).await;

    let rank_of = |p: i64| env.sim.with_ladder(|l| l.rank(p, RM_1V1)).map(|r| r.rank);
    let idle = *roster
        .iter()
        .find(|&&p| rank_of(p).is_some())
        .expect("a ranked roster player");
    let before_rank = rank_of(idle).expect("ranked");
    // Outsiders: the one ranked right below the idle player wins until it passes them.
    let outsiders: Vec<i64> = env
        .sim
        .roster(64)
        .into_iter()
        .filter(|p| !roster.contains(p) && rank_of(*p).is_some())
        .collect();
    let climber = *outsiders
        .iter()
        .filter(|&&p| rank_of(p).expect("ranked") > before_rank)
        .min_by_key(|&&p| rank_of(p))
        .expect("an outsider ranked below the idle player");
    let punching_bag = *outsiders
        .iter()
        .find(|&&p| p != climber)
        .expect("a second outsider");
    for _ in 0..100 {
        if rank_of(idle) != Some(before_rank) {
            break;
        }
        env.sim
            .play_1v1(climber, punching_bag)
            .expect("forced game");
    }
    let after_rank = rank_of(idle).expect("still ranked");
    assert_ne!(after_rank, before_rank, "the outsider never passed");

    let before = event_counts(&env.pool).await;
    let report = poller.run_cycle(CycleKind::Stats).await.expect("stats");
    assert_eq!(report.moved, 0, "no roster player played");
    assert_eq!(
        delta(&before, &event_counts(&env.pool).await),
        [(key("Ladder", "LadderRanksObserved"), 1)]
            .into_iter()
            .collect(),
        "one rank event for the ladder, none per player"
    );
    let (_, payload) = events_of(&env.pool, "LadderRanksObserved")
        .await
        .last()
        .expect("a rank event")
        .clone();
    let LadderEvent::LadderRanksObserved {
        leaderboard_id,
        ranks,
        ..
    } = serde_json::from_value(payload).expect("decode");
    assert_eq!(leaderboard_id, RM_1V1);
    assert!(
        ranks
            .iter()
            .all(|r| roster.contains(&r.profile_id) && r.profile_id != climber),
        "tracked players only: {ranks:?}"
    );
    let recorded = ranks.iter().find(|r| r.profile_id == idle);
    assert_eq!(recorded.and_then(|r| r.rank), Some(after_rank));

    // What standings read: the projected rating row.
    projections::runner::catch_up(&env.pool, &projections::core::Core, 500)
        .await
        .expect("projector");
    let shown: Option<i64> = sqlx::query_scalar(
        "SELECT rank FROM live.player_ratings WHERE profile_id = $1 AND leaderboard_id = $2",
    )
    .bind(idle)
    .bind(RM_1V1)
    .fetch_one(&env.pool)
    .await
    .expect("rating row");
    assert_eq!(shown, Some(after_rank));

    // Nothing moved since: another cycle appends nothing and sends no command.
    let before = event_counts(&env.pool).await;
    let report = poller.run_cycle(CycleKind::Stats).await.expect("stats");
    assert_eq!(report.commands, 0, "{report:?}");
    assert_eq!(
        delta(&before, &event_counts(&env.pool).await),
        Default::default()
    );
}
