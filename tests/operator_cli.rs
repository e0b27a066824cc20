//! End-to-end: self-hosting without an auth service. Operator commands append events with
//! actor `operator:<name>`, `standings token` mints a dev token, and `standings serve` (no
//! AUTH_JWKS_URL, not production) accepts it and publishes the dev key set.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::Utc;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_standings");
const USER: &str = "5a1e0c2b-7d4e-4f6a-9b8c-0d1e2f3a4b5c";

fn standings(url: &str, key: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env("AUTH_DEV_KEY", key)
        .env_remove("AUTH_JWKS_URL")
        .env_remove("ENVIRONMENT")
        .output()
        .expect("run standings")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn operator_commands_and_dev_tokens_work_without_an_auth_service() {
    let url = embedded_pg::testing::fresh_database("operator_cli").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("dev-key.pem");
    ok(standings(&url, &key, &["migrate"]));
    // The catalog the worker would load from upstream (ladder 3 is a supported board).
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    testkit::seed::solo_rm_catalog(&store::EventStore::new(pool.clone()), Utc::now()).await;

    let granted = ok(standings(
        &url,
        &key,
        &["creators", "grant", USER, "--as", "alice"],
    ));
    assert!(granted.contains("may now create tournaments"), "{granted}");
    let bad = standings(&url, &key, &["creators", "grant", "not-a-uuid"]);
    assert!(!bad.status.success(), "a user id must be a UUID");
    let created = ok(standings(
        &url,
        &key,
        &[
            "tournament",
            "create",
            "--slug",
            "cli-cup",
            "--name",
            "CLI Cup",
            "--start",
            "2026-01-01",
            "--owner",
            USER,
            "--as",
            "alice",
        ],
    ));
    assert!(created.contains("created tournament cli-cup"), "{created}");
    let duplicate = standings(
        &url,
        &key,
        &[
            "tournament",
            "create",
            "--slug",
            "cli-cup",
            "--name",
            "Again",
        ],
    );
    assert!(!duplicate.status.success());
    assert!(
        String::from_utf8_lossy(&duplicate.stderr).contains("Tournament 'cli-cup' already exists")
    );
    ok(standings(
        &url,
        &key,
        &[
            "roster",
            "add",
            "cli-cup",
            "--name",
            "Placeholder",
            "--as",
            "alice",
        ],
    ));

    let token = ok(standings(&url, &key, &["token", "--user", USER]));
    let token = token.trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let refused = Command::new(BIN)
        .args(["token", "--user", USER])
        .env("AUTH_DEV_KEY", &key)
        .env("ENVIRONMENT", "production")
        .output()
        .expect("run");
    assert!(!refused.status.success(), "no dev tokens in production");

    let mut server = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("AUTH_DEV_KEY", &key)
        .env_remove("AUTH_JWKS_URL")
        .env_remove("ENVIRONMENT")
        .env("BIND", "127.0.0.1:0")
        .env("UPSTREAM_BASE_URL", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let base = testkit::process::listening_on(&mut server).expect("listening");
    let client = reqwest::Client::new();
    let me: Value = client
        .get(format!("{base}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["user_id"], USER);
    assert_eq!(me["can_create_tournaments"], true);
    assert_eq!(me["owned_tournaments"][0]["slug"], "cli-cup");
    let jwks: Value = client
        .get(format!("{base}/auth/jwks"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    let added = client
        .post(format!("{base}/v1/tournaments/cli-cup/players"))
        .header("cookie", format!("criticalbit_access={token}"))
        .json(&serde_json::json!({"name": "Hera"}))
        .send()
        .await
        .expect("add");
    assert_eq!(added.status(), 204);
    let audit: Value = client
        .get(format!("{base}/v1/tournaments/cli-cup/events"))
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["actor"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actors.first(), Some(&"operator:alice"), "{audit}");
    assert_eq!(
        actors.last().map(|a| a.to_string()),
        Some(format!("user:{USER}"))
    );
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let _ = server.wait();
}
