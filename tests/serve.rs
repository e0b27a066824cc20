//! End-to-end: the real `standings` binary with its embedded PostgreSQL.
//!
//! These tests start the binary as a child process with a private DATA_DIR, talk to it over
//! HTTP and check that no postgres process of that data directory outlives it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_standings");

/// A data directory the `postgres` user can traverse (tempfile's default mode is 0700).
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("standings-e2e-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

struct Server {
    child: Child,
    base: String,
    stderr_log: PathBuf,
}

/// Starts `standings serve` on a free port and waits for its "listening" line.
fn start(data: &Path) -> Server {
    let stderr_log = data.join("stderr.log");
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", data)
        .env("BIND", "127.0.0.1:0")
        // The poller runs in `serve`: point it at a closed port, never at the real upstream.
        .env("UPSTREAM_BASE_URL", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_log).expect("stderr log"))
        .spawn()
        .expect("spawn standings");
    let base = testkit::process::listening_on(&mut child)
        .unwrap_or_else(|| panic!("no listening line; stderr: {}", read(&stderr_log)));
    Server {
        child,
        base,
        stderr_log,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let response = reqwest::get(url).await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    })
}

/// Pids of processes whose command line mentions `data` (the postmaster gets `-D <data>/...`).
fn postgres_pids(data: &Path) -> Vec<i32> {
    let needle = data.to_string_lossy().to_string();
    let mut pids = vec![];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("postgres") && cmdline.contains(&needle) {
            pids.push(pid);
        }
    }
    pids
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill({sig})");
}

#[test]
fn serve_answers_health_stops_postgres_on_signal_and_reuses_the_cluster() {
    let data = data_dir();

    let mut server = start(data.path());
    let (status, body) = get(&format!("{}/health", server.base));
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"healthy""#), "{body}");
    let (status, body) = get(&format!("{}/", server.base));
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"ok""#), "{body}");
    assert!(
        !postgres_pids(data.path()).is_empty(),
        "the embedded cluster runs"
    );
    assert!(read(&server.stderr_log).contains("initialising PostgreSQL cluster"));

    signal(&server.child, libc::SIGINT);
    let status = server.child.wait().expect("wait");
    assert!(status.success(), "clean exit on SIGINT: {status}");
    assert_eq!(
        postgres_pids(data.path()),
        Vec::<i32>::new(),
        "postgres outlived the binary"
    );

    // Second start: same cluster, no initdb; SIGTERM stops it as well.
    let mut server = start(data.path());
    assert_eq!(get(&format!("{}/health", server.base)).0, 200);
    assert!(!read(&server.stderr_log).contains("initialising PostgreSQL cluster"));
    signal(&server.child, libc::SIGTERM);
    assert!(server.child.wait().expect("wait").success());
    assert_eq!(postgres_pids(data.path()), Vec::<i32>::new());
}

#[test]
fn postgres_dies_with_the_binary_even_on_sigkill() {
    let data = data_dir();
    let mut server = start(data.path());
    assert!(!postgres_pids(data.path()).is_empty());
    signal(&server.child, libc::SIGKILL);
    let _ = server.child.wait();
    wait_until(
        "postgres to exit after SIGKILL",
        Duration::from_secs(20),
        || postgres_pids(data.path()).is_empty(),
    );
}

#[test]
fn missing_postgres_binaries_is_one_clear_error_line() {
    let data = data_dir();
    let empty = data.path().join("no-binaries");
    std::fs::create_dir(&empty).expect("mkdir");
    let output = Command::new(BIN)
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", data.path())
        .env("BIND", "127.0.0.1:0")
        .env("PG_BIN_DIR", &empty)
        .env("LOG_LEVEL", "off")
        .output()
        .expect("run standings");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains("install PostgreSQL"), "{stderr}");
    assert!(lines[0].contains("DATABASE_URL"), "{stderr}");
}
