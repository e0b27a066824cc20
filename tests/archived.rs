//! End-to-end: archiving a finished tournament through the real binary (issue 16 item 3).
//! The archive routes keep the write order (401 → 404 → 403, then 422 for an open window);
//! an archived tournament's reads are the same bytes and headers as before, marked
//! `X-Archived: true`, and are served from memory: they still answer, unmarked as stale, while
//! PostgreSQL is stopped. Edits are refused while archived; un-archiving restores live reads.
//! The operator CLI archives too, and the server learns it from the nudge.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use chrono::Utc;
use embedded_pg::{Cluster, ClusterConfig};
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, ETAG, IF_NONE_MATCH};

const BIN: &str = env!("CARGO_BIN_EXE_standings");
const OWNER: &str = "5a1e0c2b-7d4e-4f6a-9b8c-0d1e2f3a4b5c";
const OTHER: &str = "0b0b0b0b-1111-4222-8333-444455556666";
const SLUG: &str = "old-cup";
const OPEN: &str = "open-cup";

/// The tournament's reads compared before and after archiving (relative to its path).
const READS: &[&str] = &[
    "",
    "/standings",
    "/teams/standings",
    "/standings/history",
    "/summary",
    "/players",
    "/matches",
    "/live",
    "/progression",
    "/head-to-head?limit=5",
];

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn standings(url: &str, key: &Path, args: &[&str]) -> Output {
    let output = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env("AUTH_DEV_KEY", key)
        .env_remove("AUTH_JWKS_URL")
        .env_remove("ENVIRONMENT")
        .output()
        .expect("run standings");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn token(url: &str, key: &Path, user: &str) -> String {
    let out = standings(url, key, &["token", "--user", user]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What must not change when a read is archived.
#[derive(Debug, PartialEq)]
struct Read {
    status: u16,
    etag: Option<String>,
    cache_control: Option<String>,
    content_encoding: Option<String>,
    body: Vec<u8>,
}

async fn read(client: &reqwest::Client, url: &str, encoding: &str) -> (Read, Option<String>) {
    let response = client
        .get(url)
        .header(ACCEPT_ENCODING, encoding)
        .send()
        .await
        .expect("read");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let archived = header("x-archived");
    assert!(header("x-served-stale").is_none(), "{url}: not stale");
    let read = Read {
        status: response.status().as_u16(),
        etag: header(ETAG.as_str()),
        cache_control: header(CACHE_CONTROL.as_str()),
        content_encoding: header("content-encoding"),
        body: response.bytes().await.expect("body").to_vec(),
    };
    (read, archived)
}

#[tokio::test]
async fn an_archived_tournament_is_served_frozen_without_the_database() {
    let dir = tempfile::Builder::new()
        .prefix("lsa")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("pg");
    let key = dir.path().join("dev-key.pem");
    let cluster = Cluster::start(ClusterConfig::persistent(&data))
        .await
        .expect("PostgreSQL");
    cluster.create_database("archived").await.expect("database");
    let url = cluster.database_url("archived");
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    store::migrate(&pool).await.expect("migrate");
    testkit::seed::solo_rm_catalog(&store::EventStore::new(pool.clone()), Utc::now()).await;
    pool.close().await;
    standings(&url, &key, &["creators", "grant", OWNER]);
    let create = |slug: &'static str, end: Option<&'static str>| {
        let mut args = vec!["tournament", "create", "--slug", slug, "--name", "Old Cup"];
        args.extend(["--start", "2026-01-01", "--owner", OWNER]);
        if let Some(end) = end {
            args.extend(["--end", end]);
        }
        standings(&url, &key, &args);
    };
    create(SLUG, Some("2026-02-01"));
    create(OPEN, None);
    standings(&url, &key, &["roster", "add", SLUG, "--name", "Hera"]);
    let owner = token(&url, &key, OWNER);
    let other = token(&url, &key, OTHER);

    let log = dir.path().join("stderr.log");
    let mut child = Command::new(BIN)
        // Role `all`: the projector applies each write before it answers (`settle`).
        .args(["serve", "--role", "all"])
        .env("UPSTREAM_BASE_URL", "http://127.0.0.1:9")
        .env("DATABASE_URL", &url)
        .env("AUTH_DEV_KEY", &key)
        .env_remove("AUTH_JWKS_URL")
        .env_remove("ENVIRONMENT")
        .env("BIND", "127.0.0.1:0")
        .env("RATE_LIMIT_PER_MINUTE", "0")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn serve");
    let base = testkit::process::listening_on(&mut child);
    let _server = Server(child);
    let base = base.unwrap_or_else(|| panic!("{}", std::fs::read_to_string(&log).unwrap()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let t = format!("{base}/v1/tournaments/{SLUG}");
    let archive_url = |slug: &str| format!("{base}/v1/tournaments/{slug}/archive");

    let mut before = vec![];
    for path in READS {
        for encoding in ["identity", "br"] {
            let (r, archived) = read(&client, &format!("{t}{path}"), encoding).await;
            assert_eq!(r.status, 200, "{path}");
            assert!(archived.is_none(), "{path}: live before archiving");
            before.push((path, encoding, r));
        }
    }

    // 401 → 404 → 403, then the window rule; nothing archived by any of them.
    let post = |url: String, token: Option<&str>| {
        let mut request = client.post(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(post(archive_url(SLUG), None).await.unwrap().status(), 401);
    let missing = post(archive_url("no-such-cup"), Some(&other))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        post(archive_url(SLUG), Some(&other))
            .await
            .unwrap()
            .status(),
        403
    );
    let open = post(archive_url(OPEN), Some(&owner)).await.unwrap();
    assert_eq!(open.status(), 422);
    let detail: serde_json::Value = open.json().await.unwrap();
    assert!(
        detail["detail"].as_str().unwrap_or("").contains("end_date"),
        "{detail}"
    );
    let (_, archived) = read(&client, &t, "identity").await;
    assert!(archived.is_none(), "refused archives change nothing");

    // Archive (twice: a no-op the second time).
    for _ in 0..2 {
        let done = post(archive_url(SLUG), Some(&owner)).await.unwrap();
        assert_eq!(done.status(), 204);
    }
    let frozen_reads = || async {
        for (path, encoding, was) in &before {
            let (now, archived) = read(&client, &format!("{t}{path}"), encoding).await;
            assert_eq!(
                &now, was,
                "{path} ({encoding}) byte-identical after archiving"
            );
            assert_eq!(archived.as_deref(), Some("true"), "{path}");
        }
    };
    frozen_reads().await;
    // The audit trail is the one read archiving changes: it names who archived.
    let audit_url = format!("{t}/events");
    let (audit, archived) = read(&client, &audit_url, "identity").await;
    assert_eq!(archived.as_deref(), Some("true"));
    let text = String::from_utf8_lossy(&audit.body).to_string();
    assert!(text.contains("\"TournamentArchived\""), "{text}");
    assert!(text.contains(&format!("user:{OWNER}")), "{text}");
    let etag = before[3].2.etag.clone().expect("etag");
    let revalidated = client
        .get(format!("{t}/standings"))
        .header(ACCEPT_ENCODING, "br")
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()[ETAG.as_str()], etag.as_str());

    // Edits are refused while archived.
    let renamed = client
        .patch(&t)
        .bearer_auth(&owner)
        .json(&serde_json::json!({"name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 409);

    // No database work: the same answers with PostgreSQL stopped, none marked stale (the
    // tournament detail and the roster are not in the response cache: they would be 503).
    cluster.stop().await.expect("stop PostgreSQL");
    frozen_reads().await;
    assert_eq!(read(&client, &audit_url, "identity").await.0, audit);
    let live_only = client.get(format!("{base}/v1/tournaments/{OPEN}/standings"));
    assert_eq!(
        live_only.send().await.unwrap().status(),
        503,
        "others need it"
    );

    // Un-archive: live reads again.
    let cluster = Cluster::start(ClusterConfig::persistent(&data))
        .await
        .expect("PostgreSQL again");
    let unarchive = |token: Option<&str>| {
        let mut request = client.delete(archive_url(SLUG));
        if let Some(token) = token {
            request = request.bearer_auth(token.to_string());
        }
        request.send()
    };
    assert_eq!(unarchive(Some(&other)).await.unwrap().status(), 403);
    let mut status = 0;
    for _ in 0..100 {
        // The pool reconnects to the restarted cluster within a few attempts.
        status = unarchive(Some(&owner)).await.unwrap().status().as_u16();
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 204);
    // (The api left its outage mode with the first read that reached the database again.)
    let mut tries = 0;
    let (now, archived) = loop {
        let (now, archived) = read(&client, &format!("{t}/standings"), "identity").await;
        tries += 1;
        if now.status != 503 || tries == 50 {
            break (now, archived);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(archived.is_none(), "live again");
    assert_eq!(now, before[2].2);

    // The operator CLI archives too; the server learns it from the nudge, not from a write of
    // its own.
    let out = standings(&url, &key, &["tournament", "archive", SLUG]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "old-cup is archived"
    );
    let mut archived = None;
    for _ in 0..50 {
        archived = read(&client, &format!("{t}/standings"), "identity").await.1;
        if archived.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(archived.as_deref(), Some("true"), "learned from the nudge");
    let out = standings(&url, &key, &["tournament", "unarchive", SLUG]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "old-cup is not archived"
    );
    cluster.stop().await.expect("stop PostgreSQL");
}
