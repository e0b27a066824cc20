//! End-to-end: `standings sim` serves the simulated community API; `standings serve --role
//! worker` pointed at a simulator polls it into events; a second worker stands by and takes
//! over when the first is killed with SIGKILL, without appending anything twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::tournament::TournamentAction;
use sqlx::PgPool;
use store::EventStore;

const BIN: &str = env!("CARGO_BIN_EXE_standings");

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill({sig})");
}

/// Waits for a stdout line starting with `prefix`; returns the rest.
fn line_after(child: &mut Child, prefix: &'static str) -> String {
    testkit::process::line_after(child, prefix, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no `{prefix}` line"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_serves_the_simulated_api_until_signalled() {
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "--bind",
            "127.0.0.1:0",
            "--seed",
            "5",
            "--players",
            "50",
        ])
        .arg("--frozen")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn standings sim");
    let base = line_after(&mut child, "standings: simulator listening on ");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let catalog = http
        .get(format!(
            "{base}/community/leaderboard/getAvailableLeaderboards?title=age2"
        ))
        .send()
        .await
        .expect("catalog");
    assert_eq!(catalog.status(), 200);
    assert!(catalog.text().await.expect("body").contains("leaderboards"));
    let state: serde_json::Value = http
        .get(format!("{base}/sim/state"))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(state["frozen"], true);
    assert_eq!(state["players"], 50);
    signal(&child, libc::SIGTERM);
    assert!(
        child.wait().expect("wait").success(),
        "clean exit on SIGTERM"
    );
}

async fn seed(store: &EventStore, roster: &[i64]) {
    testkit::seed::tournament(
        store,
        1,
        "e2e",
        testkit::seed::plain("E2E", None),
        Utc::now(),
    )
    .await;
    let players =
        roster
            .iter()
            .enumerate()
            .map(|(i, &profile)| TournamentAction::AddPlayerToRoster {
                tournament_player_id: 10 + i as i64,
                name: format!("p{i}"),
                profile_id: Some(profile),
                presentation: serde_json::json!({}),
            });
    testkit::seed::manage_all(store, "e2e", players).await;
}

fn start_worker(url: &str, upstream: &str, log: &Path) -> Child {
    Command::new(BIN)
        .args(["serve", "--role", "worker"])
        .env("DATABASE_URL", url)
        .env("BIND", "127.0.0.1:0")
        .env("UPSTREAM_BASE_URL", upstream)
        .env("POLL_STATS_SECONDS", "0.4")
        .env("POLL_MATCHES_SECONDS", "0.4")
        .env("POLL_LIVE_SECONDS", "0.4")
        .env("LOG_LEVEL", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn worker")
}

async fn count(pool: &PgPool, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn recorded(pool: &PgPool, match_id: i64) -> bool {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM events WHERE event_type = 'MatchFinished' AND aggregate_id = $1",
    )
    .bind(match_id.to_string())
    .fetch_one(pool)
    .await
    .expect("query")
        == 1
}

async fn wait(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

fn logs(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_poll_the_simulator_and_a_standby_replaces_a_killed_one() {
    let (addr, sim, _server) = sim::spawn(sim::SimConfig {
        seed: 11,
        players: 40,
        frozen: true,
        lobbies: 0,
        ..sim::SimConfig::default()
    })
    .await
    .expect("simulator");
    let upstream = format!("http://{addr}");
    let (url, pool) = store::testing::migrated_database("poller_e2e").await;
    let roster = sim.roster(4);
    seed(&EventStore::new(pool.clone()), &roster).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let (log_1, log_2) = (dir.path().join("w1.log"), dir.path().join("w2.log"));
    let mut first = start_worker(&url, &upstream, &log_1);
    wait(
        "the first observations",
        Duration::from_secs(60),
        async || {
            count(&pool, "ProfileObserved").await == 4
                && count(&pool, "LeaderboardsObserved").await == 1
        },
    )
    .await;
    let game = sim.play_1v1(roster[0], roster[1]).expect("game");
    wait("the first game", Duration::from_secs(30), async || {
        recorded(&pool, game).await
    })
    .await;

    let mut second = start_worker(&url, &upstream, &log_2);
    wait(
        "the second worker to stand by",
        Duration::from_secs(30),
        async || logs(&log_2).contains("standing by"),
    )
    .await;

    signal(&first, libc::SIGKILL);
    let _ = first.wait();
    let game = sim.play_1v1(roster[2], roster[3]).expect("game");
    let took = wait(
        "the standby to take over",
        Duration::from_secs(30),
        async || recorded(&pool, game).await,
    )
    .await;
    eprintln!("SIGKILL → game recorded by the standby in {took:?}");
    assert!(
        logs(&log_2).contains("leader lock taken"),
        "{}",
        logs(&log_2)
    );

    signal(&second, libc::SIGTERM);
    assert!(
        second.wait().expect("wait").success(),
        "clean exit: {}",
        logs(&log_2)
    );
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT aggregate_id FROM events WHERE event_type = 'MatchFinished'
                                GROUP BY aggregate_id HAVING count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await
    .expect("query");
    assert_eq!(twice, 0, "a match recorded twice");
    assert_eq!(count(&pool, "LeaderboardsObserved").await, 1);
}
