//! Life cycle of individual clusters: start, connect, reuse, isolation, stop, errors.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use embedded_pg::{Cluster, ClusterConfig, Error};
use sqlx::{Connection, PgConnection};

async fn connect(cluster: &Cluster, db: &str) -> PgConnection {
    let url = cluster.database_url(db);
    PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

#[tokio::test]
async fn throwaway_cluster_serves_queries_then_leaves_nothing_behind() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");
    let cluster = Cluster::start(ClusterConfig::throwaway(&dir))
        .await
        .expect("start");
    let pid = cluster.pid() as i32;

    let url = cluster.database_url("postgres");
    assert!(
        url.starts_with("postgres://postgres@localhost:5432/postgres?host=/"),
        "{url}"
    );
    let mut conn = connect(&cluster, "postgres").await;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .expect("select");
    assert_eq!(one, 1);
    // Connected through the private socket directory, never TCP.
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&mut conn)
        .await
        .expect("show");
    assert_eq!(listen, "");
    let fsync: String = sqlx::query_scalar("SHOW fsync")
        .fetch_one(&mut conn)
        .await
        .expect("show");
    assert_eq!(
        fsync, "off",
        "throwaway clusters trade durability for speed"
    );
    let max_conn: String = sqlx::query_scalar("SHOW max_connections")
        .fetch_one(&mut conn)
        .await
        .expect("show");
    assert_eq!(max_conn, "200");
    assert!(cluster
        .socket_dir()
        .join(format!(".s.PGSQL.{}", embedded_pg::PORT))
        .exists());
    assert!(cluster.log_path().starts_with(&dir));
    assert!(std::fs::metadata(cluster.log_path()).expect("log").len() > 0);

    if is_root() {
        let pg = nix_like_uid("postgres");
        assert_eq!(uid_of(pid), Some(pg), "server must not run as root");
    }
    // The connection we hold has a backend: it must go too.
    let children = children_of(pid);
    assert!(
        !children.is_empty(),
        "postmaster has auxiliary processes and our backend"
    );
    assert!(alive(pid));

    cluster.stop().await.expect("stop");
    drop(conn);
    assert!(!alive(pid), "postmaster {pid} still running after stop");
    assert_eq!(
        wait_gone(&children, Duration::from_secs(2)),
        Vec::<i32>::new()
    );
    assert!(!dir.exists(), "throwaway data dir must be removed on stop");
}

fn nix_like_uid(name: &str) -> u32 {
    let out = Command::new("id").args(["-u", name]).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("uid")
}

#[tokio::test]
async fn restart_reuses_the_data_directory() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");

    let cluster = Cluster::start(ClusterConfig::persistent(&dir))
        .await
        .expect("first start");
    let mut conn = connect(&cluster, "postgres").await;
    let system_id: i64 = sqlx::query_scalar("SELECT system_identifier FROM pg_control_system()")
        .fetch_one(&mut conn)
        .await
        .expect("system id");
    let fsync: String = sqlx::query_scalar("SHOW fsync")
        .fetch_one(&mut conn)
        .await
        .expect("show");
    assert_eq!(fsync, "on", "persistent clusters stay durable");
    sqlx::raw_sql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        .execute(&mut conn)
        .await
        .expect("write");
    conn.close().await.expect("close");
    cluster.create_database("app").await.expect("create db");
    cluster
        .create_database("app")
        .await
        .expect("create db is idempotent");
    cluster.stop().await.expect("stop");
    assert!(
        dir.join("PG_VERSION").exists(),
        "persistent data dir survives stop"
    );

    let cluster = Cluster::start(ClusterConfig::persistent(&dir))
        .await
        .expect("second start");
    let mut conn = connect(&cluster, "postgres").await;
    let again: i64 = sqlx::query_scalar("SELECT system_identifier FROM pg_control_system()")
        .fetch_one(&mut conn)
        .await
        .expect("system id");
    assert_eq!(again, system_id, "initdb must not run again");
    let v: String = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .expect("read back");
    assert_eq!(v, "still here");
    conn.close().await.expect("close");
    let mut app = connect(&cluster, "app").await;
    app.ping().await.expect("database app still exists");
    app.close().await.expect("close");
    cluster.stop().await.expect("stop");
}

#[tokio::test]
async fn concurrent_clusters_do_not_collide() {
    let tmp = open_tempdir();
    let (a, b) = tokio::join!(
        Cluster::start(ClusterConfig::throwaway(tmp.path().join("a"))),
        Cluster::start(ClusterConfig::throwaway(tmp.path().join("b"))),
    );
    let (a, b) = (a.expect("start a"), b.expect("start b"));
    assert_ne!(a.pid(), b.pid());
    assert_ne!(a.socket_dir(), b.socket_dir());
    for (cluster, value) in [(&a, "from a"), (&b, "from b")] {
        let mut conn = connect(cluster, "postgres").await;
        sqlx::query("CREATE TABLE t (v text)")
            .execute(&mut conn)
            .await
            .expect("create");
        sqlx::query("INSERT INTO t VALUES ($1)")
            .bind(value)
            .execute(&mut conn)
            .await
            .expect("insert");
    }
    for (cluster, value) in [(&a, "from a"), (&b, "from b")] {
        let mut conn = connect(cluster, "postgres").await;
        let rows: Vec<String> = sqlx::query_scalar("SELECT v FROM t")
            .fetch_all(&mut conn)
            .await
            .expect("select");
        assert_eq!(rows, vec![value.to_owned()]);
    }
    let (ra, rb) = tokio::join!(a.stop(), b.stop());
    ra.expect("stop a");
    rb.expect("stop b");
}

#[tokio::test]
async fn second_server_on_same_directory_is_refused() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");
    let first = Cluster::start(ClusterConfig::persistent(&dir))
        .await
        .expect("start");
    // Throwaway on purpose: a refused start must not delete the other server's directory.
    let err = Cluster::start(ClusterConfig::throwaway(&dir))
        .await
        .expect_err("directory is in use");
    assert!(
        matches!(err, Error::InUse { pid, .. } if pid == first.pid() as i32),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "data directory {} is in use by another running server (pid {})",
            dir.display(),
            first.pid()
        )
    );
    let mut conn = connect(&first, "postgres").await;
    conn.ping().await.expect("first server unaffected");
    conn.close().await.expect("close");
    assert!(dir.join("PG_VERSION").exists());
    first.stop().await.expect("stop");
}

#[tokio::test]
async fn stale_postmaster_pid_files_do_not_block_start() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");
    let cluster = Cluster::start(ClusterConfig::persistent(&dir))
        .await
        .expect("start");
    cluster.stop().await.expect("stop");
    let pid_file = dir.join("postmaster.pid");

    // A crashed run whose pid is now dead...
    let mut gone = Command::new("true").spawn().expect("spawn");
    let dead = gone.id();
    gone.wait().expect("reap");
    // ...and one whose pid was reused by an unrelated live process (this test binary).
    for stale in [dead, std::process::id()] {
        std::fs::write(&pid_file, format!("{stale}\n{}\n", dir.display())).expect("write");
        let cluster = Cluster::start(ClusterConfig::persistent(&dir))
            .await
            .unwrap_or_else(|e| panic!("start over stale pid {stale}: {e}"));
        let mut conn = connect(&cluster, "postgres").await;
        conn.ping().await.expect("ping");
        conn.close().await.expect("close");
        cluster.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn long_data_dir_gets_a_short_private_socket_dir() {
    let tmp = open_tempdir();
    let dir = tmp
        .path()
        .join("d".repeat(110 - tmp.path().as_os_str().len()));
    let cluster = Cluster::start(ClusterConfig::throwaway(&dir))
        .await
        .expect("start");
    let socket_dir = cluster.socket_dir().to_owned();
    assert!(
        socket_dir
            .to_string_lossy()
            .starts_with("/tmp/standings-pg-"),
        "{}",
        socket_dir.display()
    );
    let mut conn = connect(&cluster, "postgres").await;
    conn.ping().await.expect("ping");
    conn.close().await.expect("close");
    cluster.stop().await.expect("stop");
    assert!(!socket_dir.exists(), "private socket dir removed on stop");
    assert!(!dir.exists());
}

#[tokio::test]
async fn non_empty_non_cluster_directory_is_refused_untouched() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("precious.txt"), "keep me").expect("write");
    let err = Cluster::start(ClusterConfig::throwaway(&dir))
        .await
        .expect_err("not a cluster");
    assert!(err.to_string().contains("is not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("precious.txt")).expect("still there"),
        "keep me"
    );
}

#[tokio::test]
async fn data_dir_the_server_user_cannot_reach_is_a_clear_error() {
    if !is_root() {
        eprintln!("skipped: only meaningful as root (the server then runs as `postgres`)");
        return;
    }
    // A root-owned mode-0700 parent (like /root): `postgres` cannot traverse it.
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let dir = tmp.path().join("data");
    let err = Cluster::start(ClusterConfig::throwaway(&dir))
        .await
        .expect_err("unreachable");
    let msg = err.to_string();
    assert!(
        matches!(err, Error::DataDirNotTraversable { .. }),
        "{err:?}"
    );
    assert!(
        msg.contains(&format!(
            "{} is not traversable for it",
            tmp.path().display()
        )),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn cluster_survives_the_exit_of_the_thread_that_started_it() {
    // PDEATHSIG fires when the spawning *thread* exits; tests and tokio start clusters on
    // short-lived threads. Start one on a thread (with its own runtime) that then ends.
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");
    let cluster = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(Cluster::start(ClusterConfig::throwaway(dir)))
    })
    .join()
    .expect("thread")
    .expect("start");
    std::thread::sleep(Duration::from_millis(300));
    let pid = cluster.pid() as i32;
    assert!(
        alive(pid),
        "postmaster died with the thread that started it"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut conn = connect(&cluster, "postgres").await;
        conn.ping().await.expect("still serving");
        conn.close().await.expect("close");
    });
    // Dropping stops it too (best-effort synchronous stop).
    drop(cluster);
    assert!(!alive(pid));
}

const CHILD_DIR_ENV: &str = "EMBEDDED_PG_TEST_CHILD_DIR";
const CHILD_OUT_ENV: &str = "EMBEDDED_PG_TEST_CHILD_OUT";

/// Not a test by itself: the body of the child process of
/// `postmaster_dies_when_its_owner_is_killed`. Does nothing in a normal run.
#[tokio::test]
async fn child_process_helper_start_cluster_and_hang() {
    let (Some(dir), Some(out)) = (
        std::env::var_os(CHILD_DIR_ENV),
        std::env::var_os(CHILD_OUT_ENV),
    ) else {
        return;
    };
    let cluster = Cluster::start(ClusterConfig::throwaway(dir))
        .await
        .expect("start in child");
    std::fs::write(out, format!("{}\n", cluster.pid())).expect("report pid");
    tokio::time::sleep(Duration::from_secs(60)).await;
    panic!("the parent test should have killed this process");
}

#[test]
fn postmaster_dies_when_its_owner_is_killed() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");
    let out = tmp.path().join("pid");
    let mut child = Command::new(current_test_exe())
        .args([
            "--exact",
            "child_process_helper_start_cluster_and_hang",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_DIR_ENV, &dir)
        .env(CHILD_OUT_ENV, &out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("re-exec test binary");
    let reported = wait_for_file(&out, Duration::from_secs(30));
    let Some(reported) = reported else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("child never reported a started cluster");
    };
    let pid: i32 = reported.trim().parse().expect("pid");
    assert!(alive(pid), "postmaster {pid} running before the kill");
    let mut processes = children_of(pid);
    assert!(!processes.is_empty(), "postmaster has auxiliary processes");
    processes.push(pid);

    child.kill().expect("SIGKILL the owner"); // no destructor, no atexit can run
    child.wait().expect("reap owner");

    let survivors = wait_gone(&processes, Duration::from_secs(10));
    if survivors.contains(&pid) {
        // Don't leak the server when failing: immediate shutdown of the postmaster.
        // SAFETY: plain signal send.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
    }
    assert!(
        survivors.is_empty(),
        "postgres processes {survivors:?} outlived their owner"
    );
}

#[tokio::test]
async fn server_failing_at_startup_reports_its_log() {
    let tmp = open_tempdir();
    let dir = tmp.path().join("data");
    let cluster = Cluster::start(ClusterConfig::persistent(&dir))
        .await
        .expect("start");
    cluster.stop().await.expect("stop");
    // Break the cluster the way a bad manual edit would.
    let conf = dir.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).expect("read conf");
    text.push_str("\nthis line is not a setting\n");
    std::fs::write(&conf, text).expect("write conf");

    let err = Cluster::start(ClusterConfig::persistent(&dir))
        .await
        .expect_err("server cannot start");
    assert!(matches!(err, Error::ServerExited { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("exited during startup"), "{msg}");
    assert!(msg.contains("log/postgres.log"), "{msg}");
    assert!(msg.contains("syntax error"), "log tail missing: {msg}");
    assert!(
        dir.join("PG_VERSION").exists(),
        "a failed start never deletes a persistent cluster"
    );
}
