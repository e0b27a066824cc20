//! Upstream faults (5xx burst, timeouts, malformed JSON, a renamed key, `result.code != 0`,
//! 429) append no wrong event, are logged once per burst (counted, not scraped), and polling
//! recovers by itself when the fault ends.

mod common;

use std::time::Duration;

use common::{all_cycles, delta, event_counts, events_of, eventually, key, rostered};
use poller::{CycleKind, KindSnapshot};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy)]
enum Fault {
    ServerErrors,
    Timeouts,
    Malformed,
    RenamedKey,
    ResultCode,
    RateLimited,
}

impl Fault {
    fn start(self, sim: &sim::SimHandle) {
        let d = Duration::from_secs(60);
        match self {
            Fault::ServerErrors => sim.server_errors_for(d),
            Fault::Timeouts => sim.timeouts_for(d),
            Fault::Malformed => sim.malformed_for(d),
            Fault::RenamedKey => sim.rename_key_for(d),
            Fault::ResultCode => sim.result_code_for(d),
            Fault::RateLimited => sim.rate_limit_for(d, Some(1)),
        }
    }

    fn label_ok(self, label: &str) -> bool {
        match self {
            Fault::ServerErrors => label.starts_with("http_50"),
            Fault::Timeouts => label == "timeout",
            Fault::Malformed | Fault::RenamedKey => label == "decode",
            Fault::ResultCode => label == "result_code_-1",
            Fault::RateLimited => label == "rate_limited",
        }
    }
}

fn minus(a: KindSnapshot, b: KindSnapshot) -> (u64, u64, u64) {
    (
        a.cycles_failed - b.cycles_failed,
        a.bursts_started - b.bursts_started,
        a.bursts_recovered - b.bursts_recovered,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_appends_nothing_wrong_and_is_logged_once_per_burst() {
    let (env, roster) = rostered("faults", 4, 0).await;
    let poller = env.poller();
    all_cycles(&poller).await;
    all_cycles(&poller).await;

    for fault in [
        Fault::ServerErrors,
        Fault::Timeouts,
        Fault::Malformed,
        Fault::RenamedKey,
        Fault::ResultCode,
        Fault::RateLimited,
    ] {
        // News upstream: a game, already seen by stats, so every kind has a call to make.
        let game = env.sim.play_1v1(roster[0], roster[1]).expect("game");
        poller.run_cycle(CycleKind::Stats).await.expect("stats");
        let before = event_counts(&env.pool).await;
        let counters = poller.stats();

        fault.start(&env.sim);
        for _round in 0..2 {
            for kind in CycleKind::ALL {
                match poller.run_cycle(kind).await {
                    Ok(report) => panic!("{fault:?}: {kind} cycle succeeded: {report:?}"),
                    Err(e) => assert!(fault.label_ok(&e.label()), "{fault:?}: {kind}: {e}"),
                }
            }
        }
        assert_eq!(
            delta(&before, &event_counts(&env.pool).await),
            Default::default(),
            "{fault:?} appended events"
        );

        env.sim.clear_faults();
        all_cycles(&poller).await;
        assert_eq!(
            delta(&before, &event_counts(&env.pool).await),
            [(key("Match", "MatchFinished"), 1)].into_iter().collect(),
            "{fault:?}: after recovery, the game and nothing else"
        );
        let finished = events_of(&env.pool, "MatchFinished").await;
        assert_eq!(finished.last().unwrap().0, game.to_string());

        let now = poller.stats();
        for kind in CycleKind::ALL {
            assert_eq!(
                minus(now.kind(kind), counters.kind(kind)),
                (2, 1, 1),
                "{fault:?}: {kind}: two failed cycles, one burst logged, one recovery"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_poller_backs_off_and_recovers_by_itself() {
    let (env, roster) = rostered("recover", 4, 0).await;
    let poller = env.poller();
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(poller.clone().run(stop_rx));
    assert!(
        eventually(Duration::from_secs(10), || {
            let s = poller.stats();
            s.stats.cycles_ok >= 1 && s.matches.cycles_ok >= 1 && s.live.cycles_ok >= 1
        })
        .await,
        "first cycles: {:?}",
        poller.stats()
    );

    // A 1.5 s burst of 5xx that ends by itself, with a game played meanwhile.
    env.sim.server_errors_for(Duration::from_millis(1500));
    let game = env.sim.play_1v1(roster[2], roster[3]).expect("game");
    let during = poller.stats();
    assert!(
        eventually(Duration::from_secs(15), || {
            let s = poller.stats();
            s.stats.bursts_recovered > during.stats.bursts_recovered
                && s.live.bursts_recovered > during.live.bursts_recovered
        })
        .await,
        "no recovery: {:?}",
        poller.stats()
    );
    let after = poller.stats();
    for kind in [CycleKind::Stats, CycleKind::Live] {
        let (failed, started, recovered) = minus(after.kind(kind), during.kind(kind));
        assert!(
            failed >= 2,
            "{kind}: several failed cycles in 1.5 s: {failed}"
        );
        assert_eq!(
            (started, recovered),
            (1, 1),
            "{kind}: one burst, one recovery"
        );
        // Backoff grows to the interval: far fewer attempts than a tight loop (one every
        // ~30 ms here) would make.
        assert!(failed <= 25, "{kind}: {failed} attempts in 1.5 s");
    }

    let id = game.to_string();
    let mut recorded = false;
    for _ in 0..100 {
        if events_of(&env.pool, "MatchFinished")
            .await
            .iter()
            .any(|(a, _)| *a == id)
        {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recorded,
        "the game played during the burst is recorded after it"
    );

    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("poller stops")
        .expect("poller task");
    assert!(!poller.stats().is_leader);
}
