//! The per-test-binary shared cluster and its fresh databases.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use embedded_pg::testing::{fresh_database, shared_cluster};
use sqlx::{Connection, PgConnection};

/// Two tests on different runtimes (each #[tokio::test] has its own) share one cluster
/// but get isolated databases.
async fn write_and_read_own_table(tag: &str) -> (u32, String) {
    let url = fresh_database(tag).await;
    let mut conn = PgConnection::connect(&url).await.expect("connect");
    let empty: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count");
    assert_eq!(empty, 0, "fresh database must be empty");
    sqlx::query("CREATE TABLE events (tag text)")
        .execute(&mut conn)
        .await
        .expect("create");
    sqlx::query("INSERT INTO events VALUES ($1)")
        .bind(tag)
        .execute(&mut conn)
        .await
        .expect("insert");
    let rows: Vec<String> = sqlx::query_scalar("SELECT tag FROM events")
        .fetch_all(&mut conn)
        .await
        .expect("select");
    assert_eq!(rows, vec![tag.to_owned()]);
    conn.close().await.expect("close");
    (shared_cluster().await.pid(), url)
}

#[tokio::test]
async fn shared_cluster_gives_isolated_databases_a() {
    let (pid_a, url_a) = write_and_read_own_table("shared a").await;
    let (pid_b, url_b) = write_and_read_own_table("shared a").await;
    assert_eq!(pid_a, pid_b, "one cluster per test binary");
    assert_ne!(url_a, url_b, "same prefix, still distinct databases");
}

#[tokio::test]
async fn shared_cluster_gives_isolated_databases_b() {
    let (pid, _) = write_and_read_own_table("shared b").await;
    assert!(alive(pid as i32));
}

const CHILD_OUT_ENV: &str = "EMBEDDED_PG_TEST_SHARED_OUT";

/// Not a test by itself: the body of the child process of
/// `shared_cluster_is_removed_when_the_test_binary_exits`. Does nothing in a normal run.
#[tokio::test]
async fn child_process_helper_use_shared_cluster_and_exit() {
    let Some(out) = std::env::var_os(CHILD_OUT_ENV) else {
        return;
    };
    let url = fresh_database("child").await;
    let cluster = shared_cluster().await;
    std::fs::write(
        out,
        format!(
            "{}\n{}\n{url}\n",
            cluster.pid(),
            cluster.data_dir().display()
        ),
    )
    .expect("report");
}

#[test]
fn shared_cluster_is_removed_when_the_test_binary_exits() {
    let tmp = open_tempdir();
    let out = tmp.path().join("report");
    let status = Command::new(current_test_exe())
        .args([
            "--exact",
            "child_process_helper_use_shared_cluster_and_exit",
            "--test-threads=1",
        ])
        .env(CHILD_OUT_ENV, &out)
        .output()
        .expect("re-exec test binary");
    assert!(
        status.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&status.stdout)
    );
    let report = std::fs::read_to_string(&out).expect("child report");
    let mut lines = report.lines();
    let pid: i32 = lines.next().and_then(|l| l.parse().ok()).expect("pid");
    let data_dir = lines.next().expect("data dir");
    let url = lines.next().expect("url");
    assert!(url.contains("host=/"), "{url}");
    // The child has exited (and was reaped by `output()`): its atexit hook must have
    // stopped the server and deleted the directory already, with no waiting on our side.
    assert!(
        !alive(pid),
        "shared postmaster {pid} outlived its test binary"
    );
    assert!(
        !std::path::Path::new(data_dir).exists(),
        "{data_dir} left behind"
    );
    assert!(wait_gone(&[pid], Duration::from_millis(1)).is_empty());
}
