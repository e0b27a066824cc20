//! The `standings` binary as the end-to-end tests run it: a child process that announces the
//! address it listens on, on stdout.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::Duration;

/// What the binary prints once its server accepts connections (followed by `http://ADDR`).
pub const LISTENING: &str = "standings: listening on ";

/// Reads `child`'s piped stdout on a thread and returns the rest of the first line starting
/// with `prefix`, or `None` when none came within `within` (the caller says why it failed).
/// The thread keeps draining stdout afterwards, so the child never blocks on a full pipe.
pub fn line_after(child: &mut Child, prefix: &'static str, within: Duration) -> Option<String> {
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.to_string());
            }
        }
    });
    rx.recv_timeout(within).ok()
}

/// The base URL (`http://ADDR`) `child` listens on, waiting up to a minute (a cold debug
/// binary migrating a fresh database is slow on a busy machine).
pub fn listening_on(child: &mut Child) -> Option<String> {
    line_after(child, LISTENING, Duration::from_secs(60))
}
