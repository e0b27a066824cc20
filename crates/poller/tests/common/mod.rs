//! Shared fixtures: a simulator over real HTTP, a fresh migrated database on the test binary's
//! embedded cluster, a tournament roster appended through the event store and projected, and
//! event counts read back from the `events` table.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::tournament::TournamentAction;
use poller::{CycleKind, Poller, PollerConfig};
use sim::{SimConfig, SimHandle};
use sqlx::PgPool;
use store::EventStore;
use upstream::UpstreamConfig;

/// A served simulator and a database; the server stops when this is dropped.
pub struct Env {
    pub addr: SocketAddr,
    pub sim: SimHandle,
    pub pool: PgPool,
    pub store: EventStore,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A small frozen ladder: nothing moves unless the test says so.
pub fn frozen_sim(seed: u64, lobbies: usize) -> SimConfig {
    SimConfig {
        seed,
        players: 64,
        frozen: true,
        activity: 1.0,
        lobbies,
        ..SimConfig::default()
    }
}

impl Env {
    pub async fn start(prefix: &str, sim: SimConfig) -> Env {
        let (addr, sim, server) = sim::spawn(sim).await.expect("bind 127.0.0.1:0");
        let pool = store::testing::migrated_pool(prefix).await;
        Env {
            addr,
            sim,
            store: EventStore::new(pool.clone()),
            pool,
            server,
        }
    }

    /// A poller on this environment with the short test cadences.
    pub fn poller(&self) -> Poller {
        self.poller_with(test_config(self.addr))
    }

    pub fn poller_with(&self, config: PollerConfig) -> Poller {
        Poller::new(config, self.pool.clone()).expect("poller")
    }

    /// A second pool on the same database (another "process").
    pub async fn other_pool(&self) -> PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_with((*self.pool.connect_options()).clone())
            .await
            .expect("second pool")
    }
}

/// Fast cadences and an impatient client: the whole suite stays quick.
pub fn test_config(addr: SocketAddr) -> PollerConfig {
    PollerConfig {
        stats_interval: Duration::from_millis(300),
        matches_interval: Duration::from_millis(300),
        live_interval: Duration::from_millis(150),
        catalog_interval: Duration::from_secs(2),
        catalog_retry: Duration::from_millis(100),
        // Sweep and watch off unless a test turns them on: request counts stay exact.
        sweep_period: Duration::from_secs(3600),
        lobby_watch: Duration::from_secs(3600),
        upstream: UpstreamConfig {
            base_url: format!("http://{addr}"),
            timeout: Duration::from_millis(300),
            connect_timeout: Duration::from_millis(300),
            max_retries: 1,
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(20),
            retry_after_cap: Duration::from_millis(50),
            // A budget far above what these small rosters need: request counts and timings
            // stay as they were; `tests/budget.rs` sets its own.
            budget: poller::BudgetConfig {
                requests_per_second: 1000,
                max_in_flight: 16,
                recovery: Duration::from_millis(200),
            },
            ..UpstreamConfig::default()
        },
        lock_retry: Duration::from_millis(50),
        lock_check: Duration::from_millis(100),
        ..PollerConfig::default()
    }
}

/// Creates tournament `slug` (id `tournament_id`) with `players` linked, roster ids from
/// `first_player_id`, in chunks of at most 100 (the roster cap).
pub async fn seed_tournament(
    store: &EventStore,
    slug: &str,
    tournament_id: i64,
    players: &[i64],
    first_player_id: i64,
) {
    let config = testkit::seed::plain(&format!("Tournament {slug}"), None);
    testkit::seed::tournament(store, tournament_id, slug, config, Utc::now()).await;
    let roster = players.iter().enumerate().map(|(i, &profile)| {
        let id = first_player_id + i as i64;
        TournamentAction::AddPlayerToRoster {
            tournament_player_id: id,
            name: format!("player-{id}"),
            profile_id: Some(profile),
            presentation: serde_json::json!({}),
        }
    });
    testkit::seed::manage_all(store, slug, roster).await;
}

/// Runs the core projector until the tracked set has `n` profiles.
pub async fn wait_tracked(pool: &PgPool, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        projections::runner::catch_up(pool, &projections::core::Core, 500)
            .await
            .expect("projector");
        let tracked = poller::tracked::tracked_profiles(pool)
            .await
            .expect("tracked set");
        if tracked.len() == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tracked set stuck at {} of {n}",
            tracked.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first `n` players of `env`'s ladder, rostered in tournaments of 100 (the roster cap)
/// named `{prefix}-0`, `{prefix}-1`, …, and tracked.
pub async fn rostered_in_hundreds(env: &Env, prefix: &str, n: usize) {
    let ids = env.sim.roster(n);
    for (i, chunk) in ids.chunks(100).enumerate() {
        let k = i as i64;
        seed_tournament(
            &env.store,
            &format!("{prefix}-{k}"),
            k + 1,
            chunk,
            k * 100 + 1,
        )
        .await;
    }
    wait_tracked(&env.pool, n).await;
}

/// A poller on `env` with the default cadences and a request budget that never makes it wait:
/// for benches that count requests or build a log (the `capacity` bench measures the budget).
pub fn unbudgeted_poller(env: &Env) -> Poller {
    let mut config = PollerConfig::with_base_url(format!("http://{}", env.addr));
    config.upstream.budget = poller::BudgetConfig {
        requests_per_second: 100_000,
        max_in_flight: 64,
        ..poller::BudgetConfig::default()
    };
    env.poller_with(config)
}

/// A frozen environment with `n` rostered players (the first `n` of the ladder).
pub async fn rostered(prefix: &str, n: usize, lobbies: usize) -> (Env, Vec<i64>) {
    let env = Env::start(prefix, frozen_sim(7, lobbies)).await;
    let roster = env.sim.roster(n);
    seed_tournament(&env.store, "cup", 1, &roster, 100).await;
    wait_tracked(&env.pool, n).await;
    (env, roster)
}

/// The benches' runtime: two workers, like the machine they are measured on.
pub fn two_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `(aggregate_type, event_type)` → count.
pub async fn event_counts(pool: &PgPool) -> BTreeMap<(String, String), i64> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT aggregate_type, event_type, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .expect("count events");
    rows.into_iter().map(|(a, e, n)| ((a, e), n)).collect()
}

/// What appended since `before`: `(aggregate_type, event_type)` → new events.
pub fn delta(
    before: &BTreeMap<(String, String), i64>,
    after: &BTreeMap<(String, String), i64>,
) -> BTreeMap<(String, String), i64> {
    after
        .iter()
        .map(|(k, &n)| (k.clone(), n - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n != 0)
        .collect()
}

pub fn key(aggregate: &str, event: &str) -> (String, String) {
    (aggregate.to_owned(), event.to_owned())
}

/// `(aggregate_id, payload)` of every event of a type, in log order.
pub async fn events_of(pool: &PgPool, event_type: &str) -> Vec<(String, serde_json::Value)> {
    sqlx::query_as(
        "SELECT aggregate_id, payload::jsonb FROM events WHERE event_type = $1
          ORDER BY global_position",
    )
    .bind(event_type)
    .fetch_all(pool)
    .await
    .expect("read events")
}

/// Every kind once, in the order a term starts them; all must succeed.
pub async fn all_cycles(poller: &Poller) {
    for kind in [
        CycleKind::Catalog,
        CycleKind::Stats,
        CycleKind::Matches,
        CycleKind::Live,
    ] {
        poller
            .run_cycle(kind)
            .await
            .unwrap_or_else(|e| panic!("{kind} cycle: {e}"));
    }
}

/// Polls `cond` every 20 ms until it holds or `within` passes; returns whether it held.
pub async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
