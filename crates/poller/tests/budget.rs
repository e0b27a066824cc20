//! The shared upstream request budget, checked where it matters: at the (simulated) server,
//! over real HTTP. Limits are checked as counts in windows and ratios, never as durations of
//! this run.

mod common;

use std::time::{Duration, Instant};

use common::{rostered, test_config};
use poller::{BudgetConfig, CycleKind, Poller, PollerConfig};
use sim::faults::Endpoint;

/// 64 players in batches of 2: 32 stats requests per cycle (and 32 history requests on a
/// first matches cycle), enough to saturate a small budget.
fn budgeted(
    addr: std::net::SocketAddr,
    requests_per_second: u32,
    recovery: Duration,
) -> PollerConfig {
    let mut config = test_config(addr);
    config.stats_interval = Duration::from_secs(30);
    config.matches_interval = Duration::from_secs(30);
    config.upstream.stats_batch_size = 2;
    config.upstream.history_batch_size = 2;
    config.upstream.budget = BudgetConfig {
        requests_per_second,
        max_in_flight: 4,
        recovery,
    };
    config
}

async fn profiles_observed(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Profile'",
    )
    .fetch_one(pool)
    .await
    .expect("count profiles")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_never_exceeds_its_request_budget() {
    const N: u32 = 20;
    let (env, _roster) = rostered("budget_rate", 64, 0).await;
    let poller = env.poller_with(budgeted(env.addr, N, Duration::from_secs(5)));
    env.sim.reset_counters();
    // Two cycle kinds at once share the one budget (the first stats cycle marks everyone as
    // moved, so the matches cycle asks about all 64 too).
    poller.run_cycle(CycleKind::Stats).await.expect("stats");
    let (stats, matches) = tokio::join!(
        poller.run_cycle(CycleKind::Stats),
        poller.run_cycle(CycleKind::Matches)
    );
    stats.expect("stats");
    matches.expect("matches");

    let traffic = env.sim.traffic();
    assert!(traffic.len() >= 96, "sent {} requests", traffic.len());
    // Slots are 1/N apart: at most N + 1 starts in any closed one-second span; the ratio
    // leaves room for scheduling jitter between the client's slot and the server's clock.
    let most = traffic.max_in_window(Duration::from_secs(1));
    let allowed = (f64::from(N) * 1.2).ceil() as usize + 1;
    assert!(
        most <= allowed,
        "{most} requests within one second (budget {N}/s)"
    );
    // Sustained rate over the whole run (a ratio of this run's own span).
    let times: Vec<Instant> = traffic.arrivals().collect();
    let span = times[times.len() - 1]
        .duration_since(times[0])
        .as_secs_f64();
    let rate = (times.len() - 1) as f64 / span;
    assert!(
        rate <= f64::from(N) * 1.05,
        "sustained {rate:.1} requests/s (budget {N}/s)"
    );
    assert!(
        traffic.peak_in_flight() <= 4,
        "in flight {}",
        traffic.peak_in_flight()
    );
    let budget = poller.budget().snapshot();
    assert_eq!((budget.waiting, budget.in_flight), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_lobbies_go_ahead_of_a_stats_backlog() {
    let (env, _roster) = rostered("budget_priority", 64, 2).await;
    let poller = env.poller_with(budgeted(env.addr, 10, Duration::from_secs(5)));
    poller.run_cycle(CycleKind::Catalog).await.expect("catalog");
    env.sim.reset_counters();
    let stats = tokio::spawn({
        let poller = poller.clone();
        async move { poller.run_cycle(CycleKind::Stats).await }
    });
    // Let the stats cycle queue its 32 batches, then ask for lobbies.
    assert!(
        common::eventually(Duration::from_secs(10), || poller
            .budget()
            .snapshot()
            .waiting
            > 20)
        .await,
        "stats batches queued"
    );
    let queued_before = env.sim.traffic().len();
    poller.run_cycle(CycleKind::Live).await.expect("live");
    stats.await.expect("join").expect("stats");
    let sequence = env.sim.traffic().sequence();
    let live_at = sequence
        .iter()
        .position(|e| *e == Endpoint::Advertisements)
        .expect("a lobby request");
    // Ahead of every stats batch still queued: at most the ones in flight went before it.
    assert!(
        live_at <= queued_before + 4 + 1,
        "lobby request was #{live_at}; {queued_before} requests had arrived when it was made"
    );
    assert!(sequence.len() >= 33);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_longer_than_its_cadence_is_reported_and_continued_next_time() {
    let (env, _roster) = rostered("budget_overrun", 64, 0).await;
    let mut config = budgeted(env.addr, 10, Duration::from_secs(5));
    // 32 batches at 10/s need 3.2 s; the cadence allows 1 s.
    config.stats_interval = Duration::from_secs(1);
    let poller = env.poller_with(config);

    let first = poller.run_cycle(CycleKind::Stats).await.expect("stats");
    assert!(first.deferred > 0, "{first:?}");
    assert_eq!(first.items + first.deferred, 64, "{first:?}");
    // Nothing of this cycle waits on to compete with the next one.
    let budget = poller.budget().snapshot();
    assert_eq!((budget.waiting, budget.in_flight), (0, 0));
    let observed_once = profiles_observed(&env.pool).await;
    assert_eq!(observed_once, first.items as i64);

    let mut cycles = 1;
    while profiles_observed(&env.pool).await < 64 {
        let report = poller.run_cycle(CycleKind::Stats).await.expect("stats");
        assert!(report.items > 0, "{report:?}");
        cycles += 1;
        assert!(cycles <= 8, "round-robin never reached everyone");
    }
    // Each cycle continued where the last stopped: about 64 / per-cycle cycles, not more.
    assert!(
        cycles <= 64usize.div_ceil(first.items) + 1,
        "{cycles} cycles"
    );

    let counters = poller.stats().stats;
    assert!(counters.overruns >= 2, "{counters:?}");
    assert_eq!(counters.overrun_bursts, 1, "one log line per burst");
    assert!(counters.deferred > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_burst_slows_the_whole_poller_down_and_it_recovers() {
    const N: u32 = 20;
    let (env, _roster) = rostered("budget_429", 64, 0).await;
    let mut config = budgeted(env.addr, N, Duration::from_secs(4));
    config.upstream.retry_after_cap = Duration::from_secs(1);
    config.upstream.max_retries = 3;
    let poller = env.poller_with(config);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let load = tokio::spawn(keep_busy(poller.clone(), stop_rx));

    // Busy at the ceiling, then a short 429 burst with `Retry-After: 1`.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let fault_at = Instant::now();
    env.sim.rate_limit_for(Duration::from_millis(300), Some(1));
    assert!(
        common::eventually(Duration::from_secs(5), || poller.budget().snapshot().cuts
            > 0)
        .await,
        "no rate cut"
    );
    let cut = poller.budget().snapshot();
    assert_eq!(cut.cuts, 1, "one cut per burst round");
    assert!(cut.rate < f64::from(N) * 0.6, "{cut:?}");

    // Recovered: the rate climbs back to the ceiling.
    assert!(
        common::eventually(Duration::from_secs(10), || {
            poller.budget().snapshot().rate >= f64::from(N)
        })
        .await,
        "rate never recovered"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stop_tx.send_replace(true);
    load.await.expect("load task");

    let traffic = env.sim.traffic();
    let throttled = traffic.count_between(fault_at, Duration::from_millis(300));
    assert!(throttled > 0, "the burst saw requests");
    // Paused for Retry-After: nothing sent from shortly after the first 429 to 1 s later.
    let paused = traffic.count_between(
        fault_at + Duration::from_millis(250),
        Duration::from_millis(600),
    );
    assert_eq!(paused, 0, "requests during the Retry-After pause");
    // Slower after the pause (the rate restarts at half and climbs over 4 s) ...
    let slowed = traffic.count_between(
        fault_at + Duration::from_millis(1100),
        Duration::from_secs(1),
    );
    assert!(
        (slowed as f64) <= f64::from(N) * 0.8,
        "{slowed} requests in the second after the pause"
    );
    // ... than at the ceiling again at the end.
    let last = *traffic
        .arrivals()
        .collect::<Vec<_>>()
        .last()
        .expect("traffic");
    let recovered = traffic.count_between(last - Duration::from_secs(1), Duration::from_secs(2));
    assert!(
        recovered > slowed,
        "recovered {recovered} requests/s vs {slowed} just after the pause"
    );
}

/// Stats cycles back to back (failures included) until `stop`.
async fn keep_busy(poller: Poller, stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        let _ = poller.run_cycle(CycleKind::Stats).await;
    }
}
