//! Poller capacity inside the default request budget (issue 18).
//!
//! `cargo bench -p poller --bench capacity` (harness = false). For each tracked-player count
//! (3,200, 10,000, 30,000): a simulator over real HTTP answering after 300 ms (ladder of
//! exactly that many players, real-time clock, default activity), a fresh database on an
//! embedded PostgreSQL cluster, the roster appended through the event store (tournaments of
//! 100) and projected. Then, twice (quiet upstream, and upstream answering 429 with
//! `Retry-After: 5` for 20 s from 40 % of the window), the real poller with production
//! settings (cadences 30/60/15/1800 s, budget 10 requests/s, 4 in flight, 60 s recovery)
//! runs its scheduled loop from a cold start for one window. Measured at the simulator:
//! requests per second, and every second the staleness of the oldest tracked player's
//! stats (now − the last time the simulator served them), from the moment every player had
//! been served once; and from the poller's counters the stats-cycle durations and overruns.
//!
//! `BENCH_CAPACITY_TRACKED=3200,10000` picks the sizes; `BENCH_CAPACITY_MAX_WINDOW=120`
//! bounds each run (seconds; default 100, so the whole bench stays under ~15 minutes).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use futures::StreamExt;
use poller::{CycleKind, Poller, PollerConfig};
use sim::SimConfig;

const LATENCY: Duration = Duration::from_millis(300);
const BURST: Duration = Duration::from_secs(20);
const BURST_RETRY_AFTER: u64 = 5;

#[derive(Debug, Default)]
struct Row {
    tracked: usize,
    burst: bool,
    stats_cycles: u64,
    stats_mean_s: f64,
    stats_longest_s: f64,
    overruns: u64,
    requests_per_s: f64,
    stats_requests_per_s: f64,
    rate_limited: u64,
    first_pass_s: Option<f64>,
    stale_p50: Option<f64>,
    stale_p99: Option<f64>,
    stale_max: Option<f64>,
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_CAPACITY_TRACKED")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![3_200, 10_000, 30_000]);
    let window = Duration::from_secs(
        std::env::var("BENCH_CAPACITY_MAX_WINDOW")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100),
    );
    let runtime = common::two_worker_runtime();
    let mut rows = Vec::new();
    for &tracked in &sizes {
        runtime.block_on(async {
            let (env, ids) = setup(tracked).await;
            for burst in [false, true] {
                let row = run(&env, &ids, burst, window).await;
                eprintln!("{row:?}");
                rows.push(row);
            }
        });
    }
    print_table(&rows, window);
}

async fn setup(tracked: usize) -> (common::Env, Vec<i64>) {
    let started = Instant::now();
    let env = common::Env::start(
        &format!("capacity_{tracked}"),
        SimConfig {
            seed: 42,
            players: tracked,
            speed: 1.0,
            frozen: false,
            ..SimConfig::default()
        },
    )
    .await;
    env.sim.set_latency(LATENCY);
    let ids = env.sim.roster(tracked);
    let store = &env.store;
    futures::stream::iter(ids.chunks(100).enumerate())
        .for_each_concurrent(8, |(i, chunk)| async move {
            let n = i as i64;
            common::seed_tournament(store, &format!("cap-{n}"), n + 1, chunk, n * 100 + 1).await;
        })
        .await;
    common::wait_tracked(&env.pool, tracked).await;
    eprintln!(
        "{tracked} tracked players seeded in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    (env, ids)
}

async fn run(env: &common::Env, ids: &[i64], burst: bool, window: Duration) -> Row {
    let poller = Poller::new(
        PollerConfig::with_base_url(format!("http://{}", env.addr)),
        env.pool.clone(),
    )
    .expect("poller");
    env.sim.clear_faults();
    env.sim.set_latency(LATENCY);
    env.sim.reset_counters();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(poller.clone().run(stop_rx));
    let t0 = Instant::now();
    let burst_at = t0 + window.mul_f64(0.4);
    let mut burst_started = false;
    let mut first_pass = None;
    let mut stale = Vec::new();
    while t0.elapsed() < window {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = Instant::now();
        if burst && !burst_started && now >= burst_at {
            env.sim.rate_limit_for(BURST, Some(BURST_RETRY_AFTER));
            burst_started = true;
        }
        if let Some(oldest) = env.sim.with_traffic(|t| t.oldest_stats(ids)) {
            first_pass.get_or_insert(now.duration_since(t0).as_secs_f64());
            stale.push(now.duration_since(oldest).as_secs_f64());
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    stop_tx.send_replace(true);
    let _ = running.await;

    let (requests, stats_requests) = env.sim.with_traffic(|t| {
        (
            t.len(),
            t.by_endpoint().get("GetPersonalStat").copied().unwrap_or(0),
        )
    });
    let counters = env.sim.counters();
    let s = poller.stats().kind(CycleKind::Stats);
    let cycles = s.cycles_ok + s.cycles_failed;
    stale.sort_by(f64::total_cmp);
    Row {
        tracked: ids.len(),
        burst,
        stats_cycles: cycles,
        stats_mean_s: s.busy_ms as f64 / 1000.0 / cycles.max(1) as f64,
        stats_longest_s: s.longest_ms as f64 / 1000.0,
        overruns: s.overruns,
        requests_per_s: requests as f64 / elapsed,
        stats_requests_per_s: stats_requests as f64 / elapsed,
        rate_limited: sim::faults::Endpoint::ALL
            .iter()
            .map(|&e| counters.endpoint(e).rate_limited)
            .sum(),
        first_pass_s: first_pass,
        stale_p50: percentile(&stale, 0.50),
        stale_p99: percentile(&stale, 0.99),
        stale_max: stale.last().copied(),
    }
}

fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    Some(sorted[i])
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "never".to_owned(), |s| format!("{s:.0}"))
}

fn print_table(rows: &[Row], window: Duration) {
    println!();
    println!(
        "poller capacity, default budget (10 req/s, 4 in flight), 300 ms upstream latency, {} s per run",
        window.as_secs()
    );
    println!();
    println!("| tracked | upstream | stats cycles | stats cycle mean / longest s | overruns | req/s (stats) | 429s | first full pass s | oldest rating age p50 / p99 / max s |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} / {:.1} | {} | {:.1} ({:.1}) | {} | {} | {} / {} / {} |",
            r.tracked,
            if r.burst { "429 burst 20 s" } else { "quiet" },
            r.stats_cycles,
            r.stats_mean_s,
            r.stats_longest_s,
            r.overruns,
            r.requests_per_s,
            r.stats_requests_per_s,
            r.rate_limited,
            secs(r.first_pass_s),
            secs(r.stale_p50),
            secs(r.stale_p99),
            secs(r.stale_max),
        );
    }
}
