//! Command line and environment: one typed struct per command, read once at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "standings",
    version,
    about = "Live standings for Age of Empires II: DE tournaments",
    long_about = "Live standings for Age of Empires II: DE tournaments.\n\nWith no DATABASE_URL, \
                  the binary runs a private PostgreSQL cluster from the system's PostgreSQL \
                  server binaries in DATA_DIR and stops it on exit."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (HTTP API; later also the poller and projectors, by role).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Inspect and rebuild read models.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Per projector build: version, position, lag (events and seconds), state, last error.
    Status(DatabaseArgs),
    /// Build a projector again from position 0 beside the live tables, then swap.
    Rebuild(RebuildArgs),
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The projector to rebuild (see `projections status`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// Rebuild every projector.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL. Unset: a private cluster in DATA_DIR, created on first run.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the private cluster lives when DATABASE_URL is unset.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Connections in this process's pool. Keep replicas x pool size under the server's
    /// max_connections (the original service's worst outage was exhausting it).
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10)]
    pub pool_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Everything in one process.
    All,
    /// Poller and projectors (one active at a time across processes).
    Worker,
    /// Reads, writes and SSE; scale horizontally.
    Api,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address the HTTP server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Which parts of the service this process runs.
    #[arg(long, env = "ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,
}
