//! Upstream requests per cycle, by roster size and ladder activity (design §11: stats
//! `ceil(tracked / batch)`; history ∝ players who played).
//!
//! `cargo bench -p poller` (harness = false). For each roster (32, 320, 3,200 players) and
//! activity (`sim::ACTIVITY_LOW`, `sim::ACTIVITY_HIGH`): a simulator over real HTTP (twice as
//! many ladder players as rostered, at least 400; one open custom lobby per 100 ladder
//! players, at least 4; frozen clock moved by hand), a fresh
//! database on an embedded PostgreSQL cluster, the roster appended through the event store
//! (tournaments of 100) and projected. The real poller (production cadences and client) then
//! runs one warm-up round (first sighting: everyone's history), one simulated hour of rounds
//! to settle (the sweep starts half a period after the warm-up), and one measured simulated
//! hour. Per round, simulated time advances one stats interval (30 s, in two 15 s live
//! steps), with a live cycle per step, a stats cycle per round and a matches cycle every
//! second round. Requests are the simulator's own per-endpoint counters (exact HTTP
//! requests); every command is appended through a real `EventStore`.
//!
//! Set `BENCH_ROSTERS=32,320` / `BENCH_ROUNDS=40` to shorten a run.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use poller::{CycleKind, Poller};
use sim::{SimConfig, ACTIVITY_HIGH, ACTIVITY_LOW};

/// One simulated hour of 30 s rounds.
const ROUNDS: usize = 120;
const STATS_STEP: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Row {
    roster: usize,
    activity: &'static str,
    warmup_stats: u64,
    warmup_history: u64,
    stats_cycles: u64,
    stats_requests: u64,
    matches_cycles: u64,
    history_requests: u64,
    history_max: u64,
    moved: u64,
    watched: u64,
    swept: u64,
    live_cycles: u64,
    live_requests: u64,
    games: u64,
    events: i64,
    seconds: f64,
}

fn main() {
    let rosters: Vec<usize> = std::env::var("BENCH_ROSTERS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![32, 320, 3200]);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUNDS);
    let runtime = common::two_worker_runtime();
    let mut rows = Vec::new();
    for &roster in &rosters {
        for (name, activity) in [("low", ACTIVITY_LOW), ("high", ACTIVITY_HIGH)] {
            let row = runtime.block_on(measure(roster, name, activity, rounds));
            eprintln!("{row:?}");
            rows.push(row);
        }
    }
    print_table(&rows, rounds);
}

async fn measure(roster: usize, activity: &'static str, rate: f64, rounds: usize) -> Row {
    let started = Instant::now();
    let env = common::Env::start(
        &format!("bench_{roster}_{activity}"),
        SimConfig {
            seed: 42,
            players: (roster * 2).max(400),
            speed: 0.0,
            frozen: true,
            activity: rate,
            lobbies: ((roster * 2).max(400) / 100).max(4),
            ..SimConfig::default()
        },
    )
    .await;
    common::rostered_in_hundreds(&env, "bench", roster).await;

    // This bench counts requests, not time (the `capacity` bench measures the budget).
    let poller = common::unbudgeted_poller(&env);
    let endpoint = |sim: &sim::SimHandle, name: &str| sim.counters().by_endpoint[name].total;

    // Warm-up: a new leader's first round (everyone is a first sighting).
    env.sim.reset_counters();
    for kind in [
        CycleKind::Catalog,
        CycleKind::Stats,
        CycleKind::Matches,
        CycleKind::Live,
    ] {
        cycle(&poller, kind).await;
    }
    let mut row = Row {
        roster,
        activity,
        warmup_stats: endpoint(&env.sim, "GetPersonalStat"),
        warmup_history: endpoint(&env.sim, "getRecentMatchHistory"),
        ..Row::default()
    };
    let mut events_before = 0;
    let mut games_before = 0;

    // Settle for one sweep period (uncounted), so the sweep runs at its steady rate; then
    // measure.
    for measured in [false, true] {
        if measured {
            env.sim.reset_counters();
            events_before = event_total(&env).await;
            games_before = env.sim.state().matches_played;
        }
        for round in 0..rounds {
            for _ in 0..2 {
                env.sim.advance(STATS_STEP / 2);
                cycle(&poller, CycleKind::Live).await;
                row.live_cycles += u64::from(measured);
            }
            cycle(&poller, CycleKind::Stats).await;
            row.stats_cycles += u64::from(measured);
            if round % 2 == 1 {
                let before = endpoint(&env.sim, "getRecentMatchHistory");
                let report = cycle(&poller, CycleKind::Matches).await;
                if measured {
                    let requests = endpoint(&env.sim, "getRecentMatchHistory") - before;
                    row.history_max = row.history_max.max(requests);
                    row.matches_cycles += 1;
                    row.moved += report.moved as u64;
                    row.watched += report.watched as u64;
                    row.swept += report.swept as u64;
                }
            }
        }
    }
    row.stats_requests = endpoint(&env.sim, "GetPersonalStat");
    row.history_requests = endpoint(&env.sim, "getRecentMatchHistory");
    row.live_requests = endpoint(&env.sim, "findAdvertisements");
    row.games = env.sim.state().matches_played - games_before;
    row.events = event_total(&env).await - events_before;
    row.seconds = started.elapsed().as_secs_f64();
    row
}

async fn cycle(poller: &Poller, kind: CycleKind) -> poller::CycleReport {
    poller
        .run_cycle(kind)
        .await
        .unwrap_or_else(|e| panic!("{kind} cycle failed: {e}"))
}

async fn event_total(env: &common::Env) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&env.pool)
        .await
        .expect("count events")
}

fn per(total: u64, cycles: u64) -> f64 {
    total as f64 / cycles.max(1) as f64
}

fn print_table(rows: &[Row], rounds: usize) {
    println!();
    println!(
        "upstream requests per cycle, {rounds} measured rounds of 30 s simulated ({:.1} h) after as many to settle",
        rounds as f64 * 30.0 / 3600.0
    );
    println!();
    println!(
        "| roster | activity | stats req/cycle | history req/cycle (max) | moved + watched + swept profiles/matches cycle | live req/cycle | ladder games/h | events appended | warm-up stats + history req | wall s |"
    );
    println!("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let hours = rounds as f64 * 30.0 / 3600.0;
        println!(
            "| {} | {} | {:.2} | {:.2} ({}) | {:.1} + {:.1} + {:.1} | {:.2} | {:.0} | {} | {} + {} | {:.0} |",
            r.roster,
            r.activity,
            per(r.stats_requests, r.stats_cycles),
            per(r.history_requests, r.matches_cycles),
            r.history_max,
            per(r.moved, r.matches_cycles),
            per(r.watched, r.matches_cycles),
            per(r.swept, r.matches_cycles),
            per(r.live_requests, r.live_cycles),
            r.games as f64 / hours,
            r.events,
            r.warmup_stats,
            r.warmup_history,
            r.seconds,
        );
    }
}
