//! A private PostgreSQL cluster run from the system's PostgreSQL server binaries.
//!
//! This crate owns the whole life of such a cluster: locating `initdb`/`postgres`,
//! creating the data directory on first use (and reusing it afterwards), starting the
//! postmaster as a child process, waiting until it accepts connections, and stopping it.
//! It is used by `standings serve` when no `DATABASE_URL` is set (a persistent cluster in
//! `DATA_DIR`) and by tests (one throwaway cluster per test binary, see [`testing`]).
//!
//! Invariants:
//! - **No postgres process outlives the process that started it.** The postmaster is
//!   spawned with `PR_SET_PDEATHSIG = SIGQUIT` from a dedicated thread that never exits,
//!   so it is shut down immediately even if we are killed with SIGKILL; [`Cluster::stop`],
//!   `Drop` and (for the shared test cluster) an `atexit` handler stop it in the normal case.
//! - **Nothing listens on TCP.** The server only listens on a Unix socket in a private
//!   directory (the data directory itself, or a short `/tmp/standings-pg-*` directory when
//!   the path would be too long), so any number of clusters can run side by side.
//! - **Never runs the server as root.** When we are root, `initdb` and `postgres` run as
//!   the `postgres` system user, which owns the data directory.

mod binaries;
mod cluster;
mod spawner;
pub mod testing;
mod user;

use std::path::PathBuf;

pub use binaries::{locate_binaries, Binaries};
pub use cluster::{Cluster, ClusterConfig, PORT};

/// Everything that can go wrong while locating, creating, starting or using a cluster.
///
/// Display strings are meant to be shown to an operator as-is, so they say what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("PostgreSQL server binaries (initdb, postgres) not found {searched}: install PostgreSQL (e.g. `apt install postgresql`) or set DATABASE_URL to use an existing server")]
    BinariesNotFound { searched: String },

    #[error("running as root but there is no `{user}` system user to run PostgreSQL as (it refuses to run as root): create it (e.g. `useradd --system {user}`) or set DATABASE_URL to use an existing server")]
    NoServerUser { user: String },

    #[error("data directory {} is not reachable by the `{user}` user that runs PostgreSQL: {} is not traversable for it; choose a data directory outside it (e.g. under /var/lib or /tmp) or set DATABASE_URL", dir.display(), blocker.display())]
    DataDirNotTraversable {
        dir: PathBuf,
        user: String,
        blocker: PathBuf,
    },

    #[error("data directory {} is owned by uid {owner}, but PostgreSQL runs as `{user}` (uid {uid}): change its owner or use another directory", dir.display())]
    DataDirWrongOwner {
        dir: PathBuf,
        owner: u32,
        user: String,
        uid: u32,
    },

    #[error("data directory {} is in use by another running server (pid {pid})", dir.display())]
    InUse { dir: PathBuf, pid: i32 },

    #[error("initdb failed for {} ({status}): {stderr}", dir.display())]
    Initdb {
        dir: PathBuf,
        status: String,
        stderr: String,
    },

    #[error("PostgreSQL server for {} exited during startup ({status}); last lines of {}:\n{tail}", dir.display(), log.display())]
    ServerExited {
        dir: PathBuf,
        status: String,
        log: PathBuf,
        tail: String,
    },

    #[error("PostgreSQL server for {} did not accept connections within {secs}s; last lines of {}:\n{tail}", dir.display(), log.display())]
    StartTimeout {
        dir: PathBuf,
        secs: u64,
        log: PathBuf,
        tail: String,
    },

    // The cause is part of the message (not a `source`) so a plain `{}` is self-explanatory.
    #[error("{context}: {error}")]
    Io {
        context: String,
        error: std::io::Error,
    },

    #[error("{context}: {error}")]
    Sql { context: String, error: sqlx::Error },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, error: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            error,
        }
    }
}
