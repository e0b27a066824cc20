//! End-to-end: the real `standings` binary while its PostgreSQL (a cluster this test owns) is
//! stopped and started again. `/health` must answer 503 within 2 s, reads held in the response
//! cache keep answering (marked `X-Served-Stale`), other reads get 503 with `Retry-After`
//! at once, and everything recovers when the database is back.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use embedded_pg::{Cluster, ClusterConfig};

const BIN: &str = env!("CARGO_BIN_EXE_standings");
const OWNER: &str = "5a1e0c2b-7d4e-4f6a-9b8c-0d1e2f3a4b5c";
const SLUG: &str = "outage-cup";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(url: &str, log: &Path) -> (Server, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--role", "api"])
        .env("DATABASE_URL", url)
        .env("BIND", "127.0.0.1:0")
        .env("RATE_LIMIT_PER_MINUTE", "0")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("stderr log"))
        .spawn()
        .expect("spawn standings");
    let base = testkit::process::listening_on(&mut child);
    let server = Server(child);
    let base = base.unwrap_or_else(|| {
        panic!(
            "no listening line: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        )
    });
    (server, base)
}

async fn start_cluster(dir: &Path) -> Cluster {
    Cluster::start(ClusterConfig::persistent(dir))
        .await
        .expect("start PostgreSQL")
}

/// A tournament the operator CLI creates (it catches the read models up itself).
async fn seed(url: &str) {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    store::migrate(&pool).await.expect("migrate");
    testkit::seed::solo_rm_catalog(&store::EventStore::new(pool.clone()), Utc::now()).await;
    pool.close().await;
    // Operator commands catch the read models up (the catalog included) before they finish.
    let granted = Command::new(BIN)
        .args(["creators", "grant", OWNER, "--as", "test"])
        .env("DATABASE_URL", url)
        .output()
        .expect("run standings");
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    let created = Command::new(BIN)
        .args([
            "tournament",
            "create",
            "--slug",
            SLUG,
            "--name",
            "Outage Cup",
        ])
        .args(["--start", "2026-01-01", "--owner", OWNER, "--as", "test"])
        .env("DATABASE_URL", url)
        .output()
        .expect("run standings");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
}

#[tokio::test]
async fn with_postgres_down_health_fails_fast_cached_reads_keep_serving_and_all_recovers() {
    let dir = tempfile::Builder::new()
        .prefix("lso")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("pg");
    let cluster = start_cluster(&data).await;
    cluster.create_database("outage").await.expect("database");
    let url = cluster.database_url("outage");
    seed(&url).await;
    let (_server, base) = start_server(&url, &dir.path().join("stderr.log"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let get = |path: &str| client.get(format!("{base}{path}")).send();

    let health = get("/health").await.expect("health");
    assert_eq!(health.status(), 200);
    let standings = format!("/v1/tournaments/{SLUG}/standings");
    let fresh = get(&standings).await.expect("standings");
    assert_eq!(fresh.status(), 200);
    assert!(fresh.headers().get("x-served-stale").is_none());
    let fresh_body = fresh.bytes().await.expect("body");

    cluster.stop().await.expect("stop PostgreSQL");

    // Readiness within 2 s: 503 `unhealthy`, with Retry-After and the problem named.
    let asked = Instant::now();
    let health = get("/health").await.expect("health while down");
    let health_took = asked.elapsed();
    assert_eq!(health.status(), 503);
    assert!(health.headers().contains_key("retry-after"));
    let body: serde_json::Value = health.json().await.expect("health body");
    assert_eq!(body["status"], "unhealthy", "{body}");
    assert_eq!(
        body["problems"][0]["kind"], "database_unreachable",
        "{body}"
    );
    assert!(
        health_took < Duration::from_millis(2500),
        "/health took {health_took:?} with the database down"
    );

    // The cached read keeps answering, the same bytes, marked stale (the slug's memory
    // expires after 5 s: ask past that too, when the database must be asked and fails).
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
        let stale = get(&standings).await.expect("standings while down");
        assert_eq!(stale.status(), 200, "round {round}");
        // (In round 0 the slug is still in memory: a plain cache hit, no database asked.)
        if round == 1 {
            assert_eq!(stale.headers()["x-served-stale"], "database-unavailable");
        }
        assert_eq!(stale.bytes().await.expect("body"), fresh_body);
    }

    // A read the cache does not hold: 503 in the contract's shape, with Retry-After, fast.
    let asked = Instant::now();
    let missing = get(&format!("/v1/tournaments/{SLUG}/matches"))
        .await
        .expect("matches while down");
    let miss_took = asked.elapsed();
    assert_eq!(missing.status(), 503);
    assert_eq!(missing.headers()["retry-after"], "5");
    let body: serde_json::Value = missing.json().await.expect("503 body");
    assert_eq!(body["detail"], "Service temporarily unavailable");
    assert!(
        miss_took < Duration::from_millis(2500),
        "an uncached read took {miss_took:?} with the database down"
    );
    println!("database down: /health {health_took:?}, uncached read {miss_took:?}");

    // Back up: healthy again, reads fresh again.
    let cluster = start_cluster(&data).await;
    let back = Instant::now();
    loop {
        let health = get("/health").await.expect("health after restart");
        if health.status() == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "not healthy 20 s after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let matches = get(&format!("/v1/tournaments/{SLUG}/matches"))
        .await
        .expect("matches");
    assert_eq!(matches.status(), 200);
    let fresh = get(&standings).await.expect("standings");
    assert_eq!(fresh.status(), 200);
    assert!(fresh.headers().get("x-served-stale").is_none());

    // A frozen database: connections open but nothing answers (no error to fail fast on).
    let frozen = cluster_processes(cluster.pid());
    signal_all(&frozen, libc::SIGSTOP);
    let asked = Instant::now();
    let health = get("/health").await.expect("health while frozen");
    let health_took = asked.elapsed();
    let asked = Instant::now();
    let stale = get(&standings).await.expect("standings while frozen");
    let stale_took = asked.elapsed();
    let stale_status = stale.status();
    let stale_header = stale.headers().get("x-served-stale").cloned();
    signal_all(&frozen, libc::SIGCONT);
    println!("database frozen: /health {health_took:?}, cached read {stale_took:?}");
    assert_eq!(health.status(), 503);
    assert!(health_took < Duration::from_millis(2500), "{health_took:?}");
    assert_eq!(stale_status, 200);
    assert_eq!(stale_header.expect("stale header"), "database-unavailable");
    assert!(stale_took < Duration::from_millis(2500), "{stale_took:?}");
    let back = Instant::now();
    while get("/health").await.expect("health").status() != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "not healthy after SIGCONT"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster.stop().await.expect("stop PostgreSQL");
}

/// The postmaster and its children (backends, background workers).
fn cluster_processes(postmaster: u32) -> Vec<i32> {
    let mut pids = vec![postmaster as i32];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid ...`: the fields after the last `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if ppid == Some(postmaster) {
            pids.push(pid);
        }
    }
    pids
}

fn signal_all(pids: &[i32], signal: i32) {
    for &pid in pids {
        // SAFETY: kill(2) on processes of the cluster this test started.
        unsafe { libc::kill(pid, signal) };
    }
}
