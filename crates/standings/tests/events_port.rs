//! `standings events export` / `events import` through the real binary: a demo fills a source
//! database with polled data (matches, ratings, teams, lobbies, streams); its tournament is
//! exported, imported into a fresh database, projected there, and every public read of the
//! tournament from an API server on each database must be equal byte for byte (the audit
//! trail without its log positions, which are the destination's). A second import appends
//! nothing; a bad file, another version, a truncated file and a taken slug append nothing and
//! say why; ids the destination already handed out are replaced.

use std::time::Instant;

use serde_json::Value;
use sqlx::PgPool;
use testkit::process::{wait_for, Standings};

const BIN: &str = env!("CARGO_BIN_EXE_standings");

async fn get(client: &reqwest::Client, url: &str) -> (u16, Vec<u8>) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

async fn pool(url: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .expect("connect")
}

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .expect("count events")
}

fn items(body: &[u8]) -> Vec<Value> {
    let list: Value = serde_json::from_slice(body).expect("a JSON list envelope");
    list["items"].as_array().cloned().unwrap_or_default()
}

/// Every public read of tournament `slug`, as the source serves them: (path, status, body).
async fn reads(client: &reqwest::Client, base: &str, slug: &str) -> Vec<(String, u16, Vec<u8>)> {
    let t = format!("/v1/tournaments/{slug}");
    let mut paths: Vec<String> = [
        "/v1/tournaments".to_string(),
        "/v1/civilizations".to_string(),
        "/v1/leaderboards".to_string(),
        t.clone(),
        format!("{t}/standings"),
        format!("{t}/teams/standings"),
        format!("{t}/standings/history"),
        format!("{t}/summary"),
        format!("{t}/civ-stats"),
        format!("{t}/head-to-head?limit=200"),
        format!("{t}/progression"),
        format!("{t}/live"),
        format!("{t}/players"),
        format!("{t}/matches?limit=200"),
    ]
    .into();
    let (_, players) = get(client, &format!("{base}{t}/players")).await;
    for player in items(&players) {
        let id = player["tournament_player_id"].as_i64().expect("player id");
        paths.push(format!("{t}/players/{id}?match_limit=100"));
    }
    let (_, matches) = get(client, &format!("{base}{t}/matches?limit=200")).await;
    for game in items(&matches) {
        let id = game["match_id"].as_i64().expect("match id");
        paths.push(format!("{t}/matches/{id}"));
    }
    let mut out = vec![];
    for path in paths {
        let (status, body) = get(client, &format!("{base}{path}")).await;
        out.push((path, status, body));
    }
    out
}

/// The audit trail, every page, without what is the destination's own: each entry's log
/// `position` and the page cursor.
async fn audit_trail(client: &reqwest::Client, base: &str, slug: &str) -> Vec<Value> {
    let mut entries = vec![];
    let mut after = 0;
    loop {
        let url = format!("{base}/v1/tournaments/{slug}/events?after={after}&limit=200");
        let (status, body) = get(client, &url).await;
        assert_eq!(status, 200, "{url}");
        let page: Value = serde_json::from_slice(&body).expect("audit page");
        for mut entry in page["items"].as_array().cloned().unwrap_or_default() {
            entry.as_object_mut().expect("entry").remove("position");
            entries.push(entry);
        }
        match page["next_after"].as_i64() {
            Some(next) if next > after => after = next,
            _ => return entries,
        }
    }
}

#[tokio::test]
async fn export_import_serves_the_same_reads() {
    let source = embedded_pg::testing::fresh_database("events_port_source").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("dev-key.pem");
    let bin = Standings::new(BIN, &key);
    let client = reqwest::Client::new();
    let t0 = Instant::now();

    // Real data: the demo's worker polls the simulator into the log and projects it.
    let (demo, base) = bin.start(&source, &["demo"]);
    let matches = format!("{base}/v1/tournaments/demo/matches");
    wait_for("demo matches", async || {
        let (status, body) = get(&client, &matches).await;
        status == 200 && items(&body).len() >= 2
    })
    .await;
    drop(demo);
    let source_pool = pool(&source).await;
    // Whatever the worker had not projected yet when it stopped.
    testkit::seed::project(&source_pool).await;
    eprintln!("source ready after {:?}", t0.elapsed());

    let file = dir.path().join("demo.jsonl");
    let exported = bin.run(
        &source,
        &[
            "events",
            "export",
            "--tournament",
            "demo",
            "--out",
            file.to_str().expect("utf-8"),
        ],
    );
    assert!(exported.status.success());
    let text = std::fs::read_to_string(&file).expect("export file");
    let lines: Vec<&str> = text.lines().collect();
    let header: Value = serde_json::from_str(lines[0]).expect("header");
    assert_eq!(header["format"], "live-standings-events");
    assert_eq!(header["version"], 1);
    assert_eq!(header["tournament"], "demo");
    assert_eq!(header["count"].as_u64(), Some(lines.len() as u64 - 1));
    let kinds: std::collections::BTreeSet<&str> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("event line"))
        .map(|e| match e["aggregate_type"].as_str().expect("type") {
            "Tournament" => "Tournament",
            "Profile" => "Profile",
            "Match" => "Match",
            "Catalog" => "Catalog",
            "Lobby" => "Lobby",
            "Ladder" => "Ladder",
            "StreamChannel" => "StreamChannel",
            other => panic!("unexpected aggregate type {other}"),
        })
        .collect();
    for kind in ["Tournament", "Profile", "Match", "Catalog"] {
        assert!(kinds.contains(kind), "{kind} missing: {kinds:?}");
    }

    // An unknown tournament: exit code 2, nothing written.
    let nowhere = dir.path().join("nowhere.jsonl");
    let unknown = bin.run(
        &source,
        &[
            "events",
            "export",
            "--tournament",
            "no-such-cup",
            "--out",
            nowhere.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Tournament 'no-such-cup' not found"));
    assert!(!nowhere.exists());

    // Into a fresh database, projected as a worker would.
    let target = embedded_pg::testing::fresh_database("events_port_target").await;
    let import = ["events", "import", file.to_str().expect("utf-8")];
    let imported = bin.run(&target, &import);
    assert!(imported.status.success());
    let said = String::from_utf8_lossy(&imported.stdout).to_string();
    let count = header["count"].as_u64().expect("count");
    assert!(
        said.contains(&format!(
            "imported {count} events (0 already imported before)"
        )),
        "{said}"
    );
    assert!(said.contains("tournament id 1 -> 1 (kept)"), "{said}");
    let target_pool = pool(&target).await;
    assert_eq!(event_count(&target_pool).await, count as i64);
    testkit::seed::project(&target_pool).await;

    // API-only servers (no poller, no projector): the reads hold still.
    let (source_server, source_base) = bin.start(&source, &["serve", "--role", "api"]);
    let (target_server, target_base) = bin.start(&target, &["serve", "--role", "api"]);
    let expected = reads(&client, &source_base, "demo").await;
    assert!(expected.len() > 20, "{} reads", expected.len());
    for (path, status, body) in &expected {
        assert_eq!(*status, 200, "{path} at the source");
        let (got_status, got) = get(&client, &format!("{target_base}{path}")).await;
        assert_eq!(got_status, 200, "{path} after import");
        assert!(
            &got == body,
            "{path} differs after import:\n{}\n---\n{}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&got)
        );
    }
    let trail = audit_trail(&client, &source_base, "demo").await;
    assert!(!trail.is_empty());
    assert_eq!(trail, audit_trail(&client, &target_base, "demo").await);
    drop(source_server);
    drop(target_server);

    // A second import appends nothing.
    let again = bin.run(&target, &import);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(&format!(
            "imported 0 events ({count} already imported before)"
        )),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(event_count(&target_pool).await, count as i64);

    // Into the source itself: the slug is taken there.
    let before = event_count(&source_pool).await;
    let clash = bin.run(&source, &import);
    assert_eq!(clash.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&clash.stderr).contains("Tournament 'demo' already exists"),
        "{}",
        String::from_utf8_lossy(&clash.stderr)
    );
    assert_eq!(event_count(&source_pool).await, before);

    // Bad files, into a third database: refused with a reason, nothing appended.
    let third = embedded_pg::testing::fresh_database("events_port_third").await;
    let third_pool = pool(&third).await;
    store::migrate(&third_pool).await.expect("migrate");
    let mut wrong_version: Value = header.clone();
    wrong_version["version"] = 2.into();
    let truncated = lines[..lines.len() - 1].join("\n");
    let mut bad_line = lines.clone();
    bad_line[2] = "{\"aggregate_type\": 1}";
    for (name, content, error) in [
        (
            "garbage",
            "hello\n".to_string(),
            "not a live-standings event export",
        ),
        (
            "version",
            format!("{wrong_version}\n{}", lines[1..].join("\n")),
            "export format version 2 is not supported",
        ),
        ("truncated", truncated, "truncated?"),
        ("bad-line", bad_line.join("\n"), "line 3: not an event line"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write");
        let refused = bin.run(&third, &["events", "import", path.to_str().expect("utf-8")]);
        assert_eq!(refused.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(error), "{name}: {stderr}");
        assert_eq!(event_count(&third_pool).await, 0, "{name}");
    }

    // Ids this deployment already handed out are replaced, everywhere they occur (the
    // refused imports above took none: they failed before touching the database).
    for sequence in ["tournament_ids", "team_ids"] {
        sqlx::query("SELECT nextval($1::regclass)")
            .bind(sequence)
            .execute(&third_pool)
            .await
            .expect("nextval");
    }
    let imported = bin.run(&third, &import);
    assert!(imported.status.success());
    let said = String::from_utf8_lossy(&imported.stdout).to_string();
    assert!(said.contains("tournament id 1 -> 2 (replaced)"), "{said}");
    assert!(said.contains("team id 1 -> 2 (replaced)"), "{said}");
    assert!(said.contains("team id 4 -> 5 (replaced)"), "{said}");
    assert!(
        said.contains("tournament_player id 16 -> 16 (kept)"),
        "{said}"
    );
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT (payload::jsonb -> event_type ->> 'tournament_id')::bigint FROM events
          WHERE aggregate_type = 'Tournament'",
    )
    .fetch_all(&third_pool)
    .await
    .expect("tournament ids");
    assert_eq!(ids, vec![2]);
    let next: i64 = sqlx::query_scalar("SELECT nextval('tournament_ids')")
        .fetch_one(&third_pool)
        .await
        .expect("nextval");
    assert_eq!(next, 3, "the sequence moved past the imported id");
    eprintln!("done after {:?}", t0.elapsed());
}
