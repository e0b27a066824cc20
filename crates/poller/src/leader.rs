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
