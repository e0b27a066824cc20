//! Rebuild identity on a log made by the simulator: the `core` read model built live (the real
//! poller appending through the event store while the projector catches up every few rounds)
//! must equal, row for row, a rebuild from position 0 of the same log.
//!
//! `cargo bench -p poller --bench simulated_log_rebuild` (harness = false). A simulator with
//! 6,400 ladder players at high activity, 3,200 of them rostered (tournaments of 100), the real
//! poller at production cadences with simulated time moved by hand, until the log holds
//! `BENCH_EVENTS` events (default 100,000). Prints per-table row counts and checksums and exits
//! non-zero on any difference.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use poller::{CycleKind, Poller};
use projections::core::Core;
use projections::Projector;
use sim::{SimConfig, ACTIVITY_HIGH};
use sqlx::PgPool;

const ROSTER: usize = 3_200;
const STATS_STEP: Duration = Duration::from_secs(30);

fn main() {
    let target: i64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let equal = runtime.block_on(run(target));
    std::process::exit(if equal { 0 } else { 1 });
}

async fn run(target: i64) -> bool {
    let started = Instant::now();
    let env = common::Env::start(
        "simulated_log_rebuild",
        SimConfig {
            seed: 42,
            players: ROSTER * 2,
            speed: 0.0,
            frozen: true,
            activity: ACTIVITY_HIGH,
            lobbies: ROSTER * 2 / 100,
            ..SimConfig::default()
        },
    )
    .await;
    common::rostered_in_hundreds(&env, "sim", ROSTER).await;

    // Builds a log, not a request budget test.
    let poller = common::unbudgeted_poller(&env);

    let mut round = 0usize;
    cycle(&poller, CycleKind::Catalog).await;
    loop {
        for _ in 0..2 {
            env.sim.advance(STATS_STEP / 2);
            cycle(&poller, CycleKind::Live).await;
        }
        cycle(&poller, CycleKind::Stats).await;
        if round % 2 == 0 {
            cycle(&poller, CycleKind::Matches).await;
        }
        round += 1;
        // The live build follows the log in many small steps, interleaved with appends.
        if round % 5 == 0 {
            catch_up(&env.pool).await;
            let events = event_total(&env.pool).await;
            if round % 100 == 0 {
                eprintln!("round {round}: {events} events");
            }
            if events >= target {
                break;
            }
        }
    }
    let events = settle(&env.pool).await;
    let live = checksums(&env.pool).await;

    let build = projections::runner::start_build::<Core>(&env.pool)
        .await
        .expect("start a rebuild");
    let rebuild_started = Instant::now();
    loop {
        let step = projections::runner::step(&env.pool, &Core, build, 10_000)
            .await
            .expect("rebuild step");
        if step.caught_up {
            break;
        }
    }
    let rebuild_seconds = rebuild_started.elapsed().as_secs_f64();
    assert!(projections::runner::promote::<Core>(&env.pool, build)
        .await
        .expect("promote"));
    let rebuilt = checksums(&env.pool).await;

    println!(
        "simulated log: {events} events in {round} rounds of 30 simulated seconds ({:.0} s wall)",
        rebuild_started.duration_since(started).as_secs_f64()
    );
    println!("rebuild from position 0: {rebuild_seconds:.1} s");
    println!("{:<26} {:>9} {:>9}  equal", "table", "live", "rebuilt");
    let mut all_equal = true;
    for ((table, live), (_, rebuilt)) in live.iter().zip(&rebuilt) {
        let equal = live == rebuilt;
        all_equal &= equal;
        println!("{table:<26} {:>9} {:>9}  {equal}", live.0, rebuilt.0);
    }
    println!(
        "{}",
        if all_equal {
            "identical, row for row"
        } else {
            "DIFFERENT"
        }
    );
    all_equal
}

async fn cycle(poller: &Poller, kind: CycleKind) {
    poller
        .run_cycle(kind)
        .await
        .unwrap_or_else(|e| panic!("{kind} cycle failed: {e}"));
}

async fn event_total(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .expect("count events")
}

async fn catch_up(pool: &PgPool) {
    projections::runner::catch_up(pool, &Core, 500)
        .await
        .expect("projector");
}

/// Catches up until the live build has applied every event; returns the event count.
async fn settle(pool: &PgPool) -> i64 {
    let total = event_total(pool).await;
    loop {
        catch_up(pool).await;
        let builds = projections::runner::builds(pool).await.expect("builds");
        if builds.iter().any(|b| b.is_live() && b.events == total) {
            return total;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Per live table: (row count, md5 of every row's text in a stable order).
async fn checksums(pool: &PgPool) -> Vec<(String, (i64, String))> {
    let mut out = vec![];
    for table in Core::TABLES {
        let row: (i64, String) = sqlx::query_as(&format!(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
               FROM live.{table} t"
        ))
        .fetch_one(pool)
        .await
        .expect("checksum");
        out.push((table.to_string(), row));
    }
    out
}
