//! A quiet upstream costs nothing: a frozen ladder appends no event in twenty rounds of
//! cycles, asks history only for the sweep, and an empty tracked set makes no call at all.

mod common;

use common::{all_cycles, delta, event_counts, key, rostered, Env};
use poller::CycleKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_ladder_appends_nothing_in_twenty_rounds_of_cycles() {
    let (env, roster) = rostered("quiet", 12, 6).await;
    // A tracked player in a lobby, so the live cycle has something to keep observing.
    env.sim.open_lobby(&[roster[0], roster[1]]).expect("lobby");
    let mut config = common::test_config(env.addr);
    // A sweep every 5 matches cycles: history is re-read during the run, still nothing new.
    config.sweep_period = config.matches_interval * 5;
    let poller = env.poller_with(config);

    let empty = event_counts(&env.pool).await;
    all_cycles(&poller).await;
    all_cycles(&poller).await;
    let first = delta(&empty, &event_counts(&env.pool).await);
    assert_eq!(
        first.get(&key("Profile", "ProfileObserved")),
        Some(&12),
        "{first:?}"
    );
    assert!(
        first
            .get(&key("Profile", "RatingObserved"))
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert!(
        first
            .get(&key("Match", "MatchFinished"))
            .copied()
            .unwrap_or(0)
            > 0
    );
    // Ours, and any of the simulator's own lobbies a rostered player sits in.
    assert!(
        first
            .get(&key("Lobby", "LiveMatchStarted"))
            .copied()
            .unwrap_or(0)
            >= 1
    );
    assert_eq!(first.get(&key("Catalog", "LeaderboardsObserved")), Some(&1));

    let before = event_counts(&env.pool).await;
    let stats_before = poller.stats();
    env.sim.reset_counters();
    let mut swept = 0;
    for _ in 0..20 {
        for kind in CycleKind::ALL {
            let report = poller.run_cycle(kind).await.expect("cycle");
            swept += report.swept;
            assert_eq!(report.commands, 0, "{kind}: nothing changed, nothing sent");
        }
    }
    let after = event_counts(&env.pool).await;
    assert_eq!(
        delta(&before, &after),
        Default::default(),
        "20 quiet rounds appended events"
    );

    let stats = poller.stats();
    let sim = env.sim.counters();
    let calls = |name: &str| sim.by_endpoint[name].total;
    assert_eq!(calls("GetPersonalStat"), 20, "one batch per stats cycle");
    assert_eq!(calls("findAdvertisements"), 20);
    assert_eq!(calls("getAvailableLeaderboards"), 20);
    // No one moved: history is only the sweep (12 profiles, one at a time every cycle from
    // half a period on: a request per cycle at most).
    assert!(swept >= 12, "every profile swept at least once: {swept}");
    assert!(calls("getRecentMatchHistory") <= 20, "{sim:?}");
    assert_eq!(
        stats.matches.requests - stats_before.matches.requests,
        calls("getRecentMatchHistory")
    );
    assert_eq!(stats.total(|k| k.cycles_failed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_tracked_set_makes_no_upstream_call() {
    let env = Env::start("empty", common::frozen_sim(3, 4)).await;
    let poller = env.poller();
    // Before the projector built anything the view does not even exist: empty, no error.
    for kind in [CycleKind::Stats, CycleKind::Matches, CycleKind::Live] {
        let report = poller.run_cycle(kind).await.expect("cycle");
        assert_eq!((report.tracked, report.requests), (0, 0), "{kind}");
    }
    // A tournament without linked players: still nothing to ask.
    common::seed_tournament(&env.store, "empty", 1, &[], 100).await;
    common::wait_tracked(&env.pool, 0).await;
    for _ in 0..3 {
        for kind in [CycleKind::Stats, CycleKind::Matches, CycleKind::Live] {
            poller.run_cycle(kind).await.expect("cycle");
        }
    }
    assert_eq!(env.sim.counters().total, 0, "no upstream request at all");
    assert_eq!(poller.stats().total(|k| k.commands), 0);
}
