//! The operator's way out of a poison event, through the real binary: `projections rebuild`
//! quarantines it, `events quarantine list` and `projections status` name it, `events repair`
//! refuses a bad replacement and registers a good one, and a rebuild lifts the quarantine.

use std::process::Output;

async fn standings(url: &str, args: &[&str]) -> Output {
    testkit::process::operator(env!("CARGO_BIN_EXE_standings"), url, args, &[]).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const CREATED: &str = r#"{"TournamentCreated":{"tournament_id":1,"slug":"hera","config":{"name":"Hera","leaderboard_id":3,"rank_by":"peak_rating","start_date":null,"end_date":null,"prize_pool_cents":null,"host_stream_urls":[],"presentation":{"x":POISON}},"created_at":"2026-01-01T00:00:00Z"}}"#;

#[tokio::test]
async fn quarantine_list_repair_and_rebuild_through_the_binary() {
    let url = embedded_pg::testing::fresh_database("cli_quarantine").await;
    assert!(standings(&url, &["migrate"]).await.status.success());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let poison: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ('Tournament', 'hera', 1, 'TournamentCreated', '1', $1::json, '{}')
         RETURNING global_position",
    )
    .bind(CREATED.replace("POISON", "1e309"))
    .fetch_one(&pool)
    .await
    .unwrap();

    let rebuilt = standings(&url, &["projections", "rebuild", "--all"]).await;
    assert!(rebuilt.status.success());
    let listed = stdout(&standings(&url, &["events", "quarantine", "list"]).await);
    assert!(listed.contains("Tournament:hera"), "{listed}");
    assert!(listed.contains("number out of range"), "{listed}");
    assert!(listed.contains(&format!(" {poison} ")), "{listed}");
    let status = stdout(&standings(&url, &["projections", "status"]).await);
    assert!(status.contains("quarantined"), "{status}");
    assert!(status.contains("hera"), "{status}");
    // `rebuild --all` builds every projector, and status shows each.
    for projector in ["core", "notifications"] {
        assert!(status.lines().any(|l| l.starts_with(projector)), "{status}");
    }

    let position = poison.to_string();
    let refused = standings(
        &url,
        &[
            "events",
            "repair",
            &position,
            "--payload",
            r#"{"TournamentCreated":{}}"#,
            "--reason",
            "x",
        ],
    )
    .await;
    assert!(!refused.status.success());
    let fixed = CREATED.replace("POISON", "1");
    let repaired = standings(
        &url,
        &[
            "events",
            "repair",
            &position,
            "--payload",
            &fixed,
            "--reason",
            "x out of range",
        ],
    )
    .await;
    assert!(repaired.status.success());

    assert!(standings(&url, &["projections", "rebuild", "--all"])
        .await
        .status
        .success());
    let listed = stdout(&standings(&url, &["events", "quarantine", "list"]).await);
    assert!(listed.contains("no quarantined events"), "{listed}");
    let name: String = sqlx::query_scalar("SELECT name FROM live.tournaments WHERE slug = 'hera'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Hera");
    let stored: String = sqlx::query_scalar("SELECT payload::text FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(stored.contains("1e309"), "the log is never changed");
}
