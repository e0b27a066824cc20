//! The `standings` binary as the end-to-end tests run it: a child process that announces the
//! address it listens on, on stdout.

use std::io::{BufRead, BufReader};
use std::process::Child;
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
