//! `standings archive export` through the real binary: a demo fills a real database with
//! polled data, then an API-only server (which changes nothing) serves it while the export
//! runs; every exported file must equal that server's answer over real HTTP byte for byte,
//! the manifest's sizes and hashes must match the files, and bad requests fail cleanly.

use std::time::Instant;

use serde_json::Value;
use sha2::{Digest, Sha256};
use testkit::process::{wait_for, Standings};

const BIN: &str = env!("CARGO_BIN_EXE_standings");

async fn get(client: &reqwest::Client, url: &str) -> (u16, Vec<u8>) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn export_equals_the_api_byte_for_byte() {
    let url = embedded_pg::testing::fresh_database("archive_export").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("dev-key.pem");
    let bin = Standings::new(BIN, &key);
    let client = reqwest::Client::new();
    let t0 = Instant::now();

    // Real data: the demo's worker polls the simulator into the log and projects it.
    let (demo, base) = bin.start(&url, &["demo"]);
    let matches = format!("{base}/v1/tournaments/demo/matches");
    wait_for("demo matches", async || {
        let (status, body) = get(&client, &matches).await;
        let list: Value = serde_json::from_slice(&body).unwrap_or_default();
        status == 200
            && list["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty())
    })
    .await;
    // A finished tournament beside it (its window closed in 2020).
    let created = bin.run(
        &url,
        &[
            "tournament",
            "create",
            "--slug",
            "old-cup",
            "--name",
            "Old Cup",
            "--start",
            "2020-01-01",
            "--end",
            "2020-02-01",
        ],
    );
    assert!(created.status.success());
    let old_cup = format!("{base}/v1/tournaments/old-cup");
    wait_for("old-cup projected", async || {
        get(&client, &old_cup).await.0 == 200
    })
    .await;
    eprintln!("data ready after {:?}", t0.elapsed());
    drop(demo);

    // An API-only server: no poller, no projector, so the reads hold still.
    let (server, base) = bin.start(&url, &["serve", "--role", "api"]);
    let out = dir.path().join("export");
    let exported = bin.run(
        &url,
        &[
            "archive",
            "export",
            "demo",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(exported.status.success());
    let progress = String::from_utf8_lossy(&exported.stdout);
    assert!(progress.contains("wrote standings.json ("), "{progress}");

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    assert_eq!(manifest["tournament"]["slug"], "demo");
    assert!(manifest["tournament"]["id"].as_i64().is_some());
    assert_eq!(manifest["final"], false, "the demo's window is open");
    assert!(manifest["log_position"]["at_start"].as_i64().unwrap_or(0) > 0);
    let files = manifest["files"].as_array().expect("files");
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    for expected in [
        "tournament.json",
        "tournaments.json",
        "standings.json",
        "teams-standings.json",
        "standings-history.json",
        "summary.json",
        "civ-stats.json",
        "head-to-head.json",
        "progression.json",
        "civilizations.json",
        "matches.json",
        "live.json",
        "players.json",
        "events/after-0.json",
    ] {
        assert!(paths.contains(&expected), "{expected} missing: {paths:?}");
    }
    assert!(paths.iter().any(|p| p.starts_with("players/")), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("matches/")), "{paths:?}");
    for file in files {
        let path = file["path"].as_str().expect("path");
        let source = file["source"].as_str().expect("source");
        let on_disk = std::fs::read(out.join(path)).expect("exported file");
        assert_eq!(file["bytes"].as_u64(), Some(on_disk.len() as u64), "{path}");
        let sha256 = format!("{:x}", Sha256::digest(&on_disk));
        assert_eq!(file["sha256"].as_str(), Some(sha256.as_str()), "{path}");
        let (status, served) = get(&client, &format!("{base}{source}")).await;
        assert_eq!(status, 200, "{source}");
        assert!(
            served == on_disk,
            "{path} differs from GET {source}:\n{}\n---\n{}",
            String::from_utf8_lossy(&on_disk),
            String::from_utf8_lossy(&served)
        );
    }

    // A tournament whose window has closed exports as final.
    let old = dir.path().join("old");
    let exported = bin.run(
        &url,
        &[
            "archive",
            "export",
            "old-cup",
            "--out",
            old.to_str().expect("utf-8"),
        ],
    );
    assert!(exported.status.success());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(old.join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    assert_eq!(manifest["final"], true);
    assert_eq!(manifest["window_end"], "2020-02-01T00:00:00Z");

    // Into a non-empty directory: refused, unless --force.
    let again = [
        "archive",
        "export",
        "old-cup",
        "--out",
        old.to_str().expect("utf-8"),
    ];
    let refused = bin.run(&url, &again);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
    let forced = bin.run(&url, &[&again[..], &["--force"]].concat());
    assert!(forced.status.success());
    // Over another tournament's export: that export's files go (old-cup has no players).
    let over = [
        "archive",
        "export",
        "old-cup",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    assert!(bin
        .run(&url, &[&over[..], &["--force"]].concat())
        .status
        .success());
    let player_file = out.join(
        paths
            .iter()
            .find(|p| p.starts_with("players/"))
            .expect("player"),
    );
    assert!(
        !player_file.exists(),
        "{} left behind",
        player_file.display()
    );
    assert!(out.join("tournament.json").exists());

    // An unknown slug: exit code 2, a message, nothing written.
    let nowhere = dir.path().join("nowhere");
    for slug in ["no-such-cup", "../demo"] {
        let unknown = bin.run(
            &url,
            &[
                "archive",
                "export",
                slug,
                "--out",
                nowhere.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(unknown.status.code(), Some(2), "{slug}");
        let stderr = String::from_utf8_lossy(&unknown.stderr);
        assert!(
            stderr.contains(&format!("Tournament '{slug}' not found")),
            "{stderr}"
        );
        assert!(!nowhere.exists());
    }
    drop(server);
}
