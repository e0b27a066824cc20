//! Spawns long-lived children from one dedicated thread that never exits.
//!
//! Why: `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not when
//! the process does. Tests and tokio run our code on short-lived threads (each test has its
//! own thread and runtime; `spawn_blocking` threads are reaped when idle), so spawning the
//! postmaster from them would kill it as soon as that thread goes away. Spawning from a
//! thread that lives as long as the process makes the signal mean "our process died".

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

type Job = Box<dyn FnOnce() + Send>;

static SPAWNER: Mutex<Option<Sender<Job>>> = Mutex::new(None);

/// Spawns `cmd` from the spawner thread (starting that thread on first use).
pub(crate) fn spawn(mut cmd: Command) -> io::Result<Child> {
    let (reply_tx, reply_rx) = channel();
    let job: Job = Box::new(move || {
        // The receiver only disappears if the caller is gone; then the Child is dropped,
        // which does not kill the process, and PDEATHSIG still covers it.
        let _ = reply_tx.send(cmd.spawn());
    });
    sender()?
        .send(job)
        .map_err(|_| io::Error::other("embedded-pg spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("embedded-pg spawner thread dropped a spawn request"))?
}

fn sender() -> io::Result<Sender<Job>> {
    let mut guard = SPAWNER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = guard.as_ref() {
        return Ok(tx.clone());
    }
    let (tx, rx) = channel::<Job>();
    std::thread::Builder::new()
        .name("embedded-pg-spawner".into())
        .spawn(move || {
            // The sender lives in a static, so this loop only ends at process exit...
            while let Ok(job) = rx.recv() {
                job();
            }
            // ...but if it ever did, this thread must still not exit (see module docs).
            loop {
                std::thread::park();
            }
        })?;
    *guard = Some(tx.clone());
    Ok(tx)
}
