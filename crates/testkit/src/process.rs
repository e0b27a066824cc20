//! The `standings` binary as the end-to-end tests run it: a child process that announces the
//! address it listens on, on stdout.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// What the binary prints once its server accepts connections (followed by `http://ADDR`).
pub const LISTENING: &str = "standings: listening on ";

/// Every line of `child`'s piped stdout, read on a thread that keeps draining it after the
/// receiver is dropped, so the child never blocks on a full pipe.
pub fn stdout_lines(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// The rest of the first line of `child`'s piped stdout starting with `prefix`, or `None` when
/// none came within `within` (the caller says why it failed).
pub fn line_after(child: &mut Child, prefix: &str, within: Duration) -> Option<String> {
    let lines = stdout_lines(child);
    let deadline = Instant::now() + within;
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()?;
        if let Some(rest) = line.strip_prefix(prefix) {
            return Some(rest.to_string());
        }
    }
}

/// The base URL (`http://ADDR`) `child` listens on, waiting up to a minute (a cold debug
/// binary migrating a fresh database is slow on a busy machine).
pub fn listening_on(child: &mut Child) -> Option<String> {
    line_after(child, LISTENING, Duration::from_secs(60))
}

/// The `standings` binary as the CLI tests run it: `bin` is the test's
/// `env!("CARGO_BIN_EXE_standings")`, `key` the dev signing key the servers trust.
pub struct Standings<'a> {
    bin: &'a str,
    key: &'a Path,
}

impl<'a> Standings<'a> {
    pub fn new(bin: &'a str, key: &'a Path) -> Self {
        Standings { bin, key }
    }

    /// `standings` on `database_url`: quiet, on an ephemeral port, deaf to the shell's auth
    /// and environment settings.
    pub fn command(&self, database_url: &str) -> Command {
        let mut command = Command::new(self.bin);
        command
            .env("DATABASE_URL", database_url)
            .env("AUTH_DEV_KEY", self.key)
            .env("LOG_LEVEL", "warn")
            .env("BIND", "127.0.0.1:0")
            .env_remove("AUTH_JWKS_URL")
            .env_remove("ENVIRONMENT");
        command
    }

    /// Runs `standings ARGS` to completion, printing its status and stderr for the test's log.
    pub fn run(&self, database_url: &str, args: &[&str]) -> Output {
        let output = self
            .command(database_url)
            .args(args)
            .output()
            .expect("run standings");
        eprintln!(
            "standings {args:?}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Starts `standings ARGS` and returns it with the base URL it listens on.
    pub fn start(&self, database_url: &str, args: &[&str]) -> (Running, String) {
        let mut child = self
            .command(database_url)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn standings");
        let base = listening_on(&mut child).expect("listening");
        (Running(child), base)
    }
}

/// A running child, stopped with SIGTERM (its clean shutdown path) when dropped, also when an
/// assertion fails first.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid; it has not been reaped (wait comes after).
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// Polls `ready` every 200 ms until it holds; panics naming `what` after a minute.
pub async fn wait_for(what: &str, mut ready: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !ready().await {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the operator command `standings ARGS` (`bin`: the test's
/// `env!("CARGO_BIN_EXE_standings")`) on `database_url` to completion, with `env` on top of a
/// quiet log and no webhook settings from the shell; prints status, stdout and stderr.
pub async fn operator(
    bin: &str,
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let output = tokio::process::Command::new(bin)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("LOG_LEVEL", "warn")
        .env_remove("WEBHOOK_ALLOW_HTTP")
        .env_remove("WEBHOOK_ALLOWED_HOSTS")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run standings");
    eprintln!(
        "standings {args:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
