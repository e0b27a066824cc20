//! Leader election: a session-level advisory lock (`pg_try_advisory_lock`) held on a
//! dedicated connection, not one from the pool (a pooled connection goes back to the pool
//! and the lock with it).
//!
//! The lock lives exactly as long as the session: when the holder's process dies, the kernel
//! closes its socket, the server ends the session and the lock is free for the standby's next
//! try. The leader pings its session; a failed or slow ping ends its term (it stops polling
//! and becomes a standby). The session also asks the server for TCP keepalives, so a holder
//! whose host vanished (no FIN) is dropped in about half a minute instead of hours.
//!
//! The lock must be taken on a direct connection: behind a transaction-mode pooler a session
//! lock is meaningless.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, PgPool};

/// The leader lock and the dedicated session that takes and holds it.
pub struct LeaderLock {
    key: i64,
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    held_by: Option<i32>,
}

impl LeaderLock {
    /// A lock on `key`, connecting like `pool` does (but outside it).
    pub fn new(pool: &PgPool, key: i64) -> Self {
        let options = (*pool.connect_options())
            .clone()
            .application_name("standings-poller-lock");
        Self {
            key,
            options,
            conn: None,
            held_by: None,
        }
    }

    /// Takes the lock if it is free. `Ok(false)`: another session holds it. A connection
    /// error drops the session (the next try reconnects).
    pub async fn try_acquire(&mut self) -> sqlx::Result<bool> {
        if self.held_by.is_some() {
            return Ok(true);
        }
        let conn = match self.conn.as_mut() {
            Some(conn) => conn,
            None => {
                let mut conn = self.options.connect().await?;
                // Server-side keepalives (TCP only; ignored on Unix sockets): a vanished
                // holder's session ends in ~30 s. Best effort: a pooler may refuse SET.
                for set in [
                    "SET tcp_keepalives_idle = 10",
                    "SET tcp_keepalives_interval = 5",
                    "SET tcp_keepalives_count = 3",
                ] {
                    let _ = sqlx::query(set).execute(&mut conn).await;
                }
                self.conn.insert(conn)
            }
        };
        let taken =
            sqlx::query_as::<_, (bool, i32)>("SELECT pg_try_advisory_lock($1), pg_backend_pid()")
                .bind(self.key)
                .fetch_one(&mut *conn)
                .await;
        match taken {
            Ok((true, pid)) => {
                self.held_by = Some(pid);
                Ok(true)
            }
            Ok((false, _)) => Ok(false),
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }

    /// Whether the holding session still answers. An error ends our hold (the session is
    /// dropped; if it is in fact alive the server frees the lock when it notices).
    pub async fn check(&mut self) -> sqlx::Result<()> {
        let Some(conn) = self.conn.as_mut() else {
            self.held_by = None;
            return Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "no lock session",
            )));
        };
        match sqlx::query("SELECT 1").execute(&mut *conn).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.forget();
                Err(e)
            }
        }
    }

    /// Drops the session without a goodbye (after a failed or timed-out check).
    pub fn forget(&mut self) {
        self.conn = None;
        self.held_by = None;
    }

    /// Releases the lock and closes the session (shutdown): a standby takes over at once.
    pub async fn release(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if self.held_by.is_some() {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(self.key)
                    .execute(&mut conn)
                    .await;
            }
            let _ = conn.close().await;
        }
        self.held_by = None;
    }

    /// Backend pid of the holding session, while held.
    pub fn holder_pid(&self) -> Option<i32> {
        self.held_by
    }
}

/// How a term as leader ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermEnd {
    Shutdown,
    /// The lock session broke or stopped answering.
    LockLost,
    /// A work loop stopped (panicked): the lock is given up so another process can lead.
    Crashed,
}

/// How long a shutdown waits for work in flight before cancelling it.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// One term as leader: runs `loops` while `lock` holds, pinging its session every
/// `check_every`, until `shutdown` flips (loops get `stop` and up to 10 s to finish), the
/// session breaks or stops answering, or a loop ends (the lock is then released). `role`
/// names the leader in logs.
pub async fn hold(
    lock: &mut LeaderLock,
    mut loops: tokio::task::JoinSet<()>,
    stop: tokio::sync::watch::Sender<bool>,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
    check_every: std::time::Duration,
    role: &str,
) -> TermEnd {
    let mut check = tokio::time::interval(check_every);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break TermEnd::Shutdown;
                }
            }
            _ = check.tick() => {
                match tokio::time::timeout(check_every, lock.check()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, role, "leader lock session broke; standing by");
                        break TermEnd::LockLost;
                    }
                    Err(_) => {
                        lock.forget();
                        tracing::warn!(role, "leader lock session stopped answering; standing by");
                        break TermEnd::LockLost;
                    }
                }
            }
            Some(joined) = loops.join_next() => {
                tracing::error!(error = ?joined.err(), role, "a loop stopped unexpectedly; giving up the lead");
                break TermEnd::Crashed;
            }
        }
    };
    match end {
        TermEnd::Shutdown => {
            // Let work in flight finish (each command is its own transaction anyway).
            let _ = stop.send(true);
            let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
                while loops.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                loops.shutdown().await;
            }
        }
        TermEnd::LockLost | TermEnd::Crashed => {
            // Stop at once: another process may lead already.
            loops.shutdown().await;
            if end == TermEnd::Crashed {
                lock.release().await;
            }
        }
    }
    end
}

/// A process that leads while it holds a lock (see [`campaign`]).
pub trait Leader {
    /// What the standby loop logs about this process's lock.
    const STANDBY_LOG: StandbyLog;

    /// One term as leader: usually ends with [`hold`].
    fn lead(
        &self,
        lock: &mut LeaderLock,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = TermEnd> + Send;
}

/// The log lines of one process's standby loop (each names its own lock).
pub struct StandbyLog {
    pub reachable_again: &'static str,
    pub standing_by: &'static str,
    pub unreachable: &'static str,
}

/// Runs `leader` for a term each time this process takes `lock`; stands by (retrying every
/// `retry`) while another process holds it. Returns when `shutdown` becomes `true` (or its
/// sender is dropped), releasing the lock. The upstream poller and the stream poller both
/// campaign this way, each on a lock key of its own.
pub async fn campaign<L: Leader + Sync>(
    leader: &L,
    mut lock: LeaderLock,
    retry: std::time::Duration,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) {
    use crate::burst::{Burst, Transition};
    let mut lock_errors = Burst::default();
    let mut standing_by = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        match lock.try_acquire().await {
            Ok(held) => {
                if let Transition::Recovered { failed_cycles, .. } = lock_errors.success() {
                    tracing::info!(
                        failed_tries = failed_cycles,
                        "{}",
                        L::STANDBY_LOG.reachable_again
                    );
                }
                if held {
                    standing_by = false;
                    if leader.lead(&mut lock, shutdown).await == TermEnd::Shutdown {
                        break;
                    }
                } else if !standing_by {
                    tracing::info!("{}", L::STANDBY_LOG.standing_by);
                    standing_by = true;
                }
            }
            Err(e) => {
                if let Transition::Started { .. } = lock_errors.failure("database") {
                    tracing::warn!(error = %e, "{}", L::STANDBY_LOG.unreachable);
                }
            }
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            _ = tokio::time::sleep(retry) => {}
        }
    }
    lock.release().await;
}
