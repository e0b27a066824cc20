//! Command line and environment: one typed struct per command, read once at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Run the service: HTTP API, and (by role) the upstream poller and the projectors.
    Serve(Box<ServeArgs>),
    /// Try it: embedded PostgreSQL + simulated upstream + worker + API, with a demo
    /// tournament of 16 simulated players in 4 teams whose data moves within a minute.
    Demo(DemoArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Inspect and rebuild read models.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Operator: poison events (quarantined by a projector) and their repairs (the log itself
    /// is never changed); a tournament's events exported and imported (docs/archive.md).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Serve a simulated community API (a deterministic ladder with fault knobs) until
    /// Ctrl-C; point UPSTREAM_BASE_URL at it for demos and load tests.
    Sim(SimArgs),
    /// Operator: who may create tournaments (the creator allowlist).
    #[command(subcommand)]
    Creators(CreatorsCommand),
    /// Operator: create tournaments without the HTTP API.
    #[command(subcommand)]
    Tournament(TournamentCommand),
    /// Operator: edit a tournament's roster without the HTTP API.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Operator: a tournament's webhook subscriptions without the HTTP API.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Development: print an access token signed with the local dev key, which `serve`
    /// accepts when AUTH_JWKS_URL is unset and ENVIRONMENT is not `production`.
    Token(TokenArgs),
    /// A tournament's public reads as static files (docs/archive.md).
    #[command(subcommand)]
    Archive(ArchiveCommand),
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Write every public read of tournament SLUG, as the exact bytes the API serves, with a
    /// manifest.json (what, when, from which log position, final or not, sha256 per file).
    /// Exit code 2: no such tournament.
    Export(ArchiveExportArgs),
}

#[derive(Debug, Args)]
pub struct ArchiveExportArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The tournament's slug.
    pub slug: String,
    /// The directory to write; refused when it exists and is not empty, unless --force.
    #[arg(long)]
    pub out: PathBuf,
    /// Write into a non-empty directory: first remove the files of the export its
    /// manifest.json lists, then write (other files are left alone).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum CreatorsCommand {
    /// Let USER (a UUID, the token's `sub`) create tournaments.
    Grant(CreatorArgs),
    /// Take the right to create tournaments away from USER.
    Revoke(CreatorArgs),
}

#[derive(Debug, Args)]
pub struct CreatorArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The user id (UUID).
    pub user: String,
}

/// Who the audit trail names for operator commands (`operator:<name>`).
#[derive(Debug, Args)]
pub struct OperatorArgs {
    #[arg(long = "as", env = "USER", default_value = "cli", value_name = "NAME")]
    pub who: String,
}

#[derive(Debug, Subcommand)]
pub enum TournamentCommand {
    /// Create a tournament (the leaderboard must be in the catalog the worker loads).
    Create(TournamentCreateArgs),
    /// Archive a finished tournament (its window has ended): it is no longer polled and its
    /// public reads are served from a frozen snapshot (docs/archive.md). Idempotent.
    Archive(TournamentSlugArgs),
    /// Un-archive a tournament: polling and live reads resume. Idempotent.
    Unarchive(TournamentSlugArgs),
}

#[derive(Debug, Args)]
pub struct TournamentSlugArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The tournament's slug.
    pub slug: String,
}

#[derive(Debug, Args)]
pub struct TournamentCreateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// URL key: a-z, 0-9 and '-', 1-64 characters.
    #[arg(long)]
    pub slug: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// The ladder: 1, 2, 3, 4, 13 or 14 (3 = 1v1 Random Map).
    #[arg(long, default_value_t = 3)]
    pub leaderboard_id: i64,
    /// Rank by lifetime peak (`peak-rating`) or current rating.
    #[arg(long, value_enum, default_value_t = RankByArg::PeakRating)]
    pub rank_by: RankByArg,
    /// Window start (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub start: Option<String>,
    /// Window end (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub end: Option<String>,
    /// First owner (a user id); without one only operators can edit it until one is granted.
    #[arg(long)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankByArg {
    PeakRating,
    CurrentRating,
}

#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Add a player to a tournament's roster (linked when --profile-id is given).
    Add(RosterAddArgs),
}

#[derive(Debug, Args)]
pub struct RosterAddArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The tournament's slug.
    pub slug: String,
    /// Roster name (1-64 characters).
    #[arg(long)]
    pub name: String,
    /// The player's upstream profile id (the poller tracks linked players).
    #[arg(long)]
    pub profile_id: Option<i64>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The user id (UUID) the token names as `sub`.
    #[arg(long)]
    pub user: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl_seconds: u64,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Access tokens: RS256 JWTs from the auth service's key set, or (development) a local key.
#[derive(Debug, Args)]
#[command(next_help_heading = "Authentication")]
pub struct AuthArgs {
    /// The auth service's JWKS. Unset outside production: a local dev key is used and its
    /// key set served at /auth/jwks (mint tokens with `standings token`).
    #[arg(long, env = "AUTH_JWKS_URL")]
    pub auth_jwks_url: Option<String>,
    /// Expected `iss` claim (unset: not checked).
    #[arg(long, env = "AUTH_TOKEN_ISSUER")]
    pub auth_token_issuer: Option<String>,
    /// `production` disables the local dev key.
    #[arg(long, env = "ENVIRONMENT", default_value = "development")]
    pub environment: String,
    /// Comma-separated origins of first-party front-ends allowed to call with credentials
    /// (writes, /v1/me). Production also allows https://criticalbit.gg and its subdomains;
    /// development also allows http://localhost:5100-5199.
    #[arg(long, env = "CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
    /// The auth service's base URL for owner profiles (`/users/lookup`); unset: owners'
    /// display name, email and avatar are null.
    #[arg(long, env = "AUTH_API_BASE_URL")]
    pub auth_api_base_url: Option<String>,
    /// The local dev signing key (PEM), created on first use.
    #[arg(
        long,
        env = "AUTH_DEV_KEY",
        default_value = "./data/dev-signing-key.pem"
    )]
    pub auth_dev_key: PathBuf,
}

impl AuthArgs {
    pub fn is_production(&self) -> bool {
        self.environment.eq_ignore_ascii_case("production")
    }

    pub fn issuer(&self) -> Option<&str> {
        self.auth_token_issuer.as_deref().filter(|s| !s.is_empty())
    }
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Per projector build: version, position, lag (events and seconds), state, last error.
    Status(DatabaseArgs),
    /// Build a projector again from position 0 beside the live tables, then swap.
    Rebuild(RebuildArgs),
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Events a projector could not apply: the aggregate (tournament) each quarantines, how
    /// many later events it holds back, and whether it has been repaired.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Print one stored event: its payload as stored and its repair, if any.
    Show(EventArgs),
    /// Register a replacement payload for one stored event, read by every projector instead of
    /// the stored one (refused unless it decodes as the event's type). Then run
    /// `standings projections rebuild --all` to apply it and lift the quarantine.
    Repair(RepairArgs),
    /// Write tournament SLUG's events and the observations its reads depend on (profiles,
    /// ratings, ladder ranks, matches, lobbies, catalog, stream channels) as JSON Lines: a
    /// header, then one event per line in log order. Exit code 2: no such tournament.
    Export(EventsExportArgs),
    /// Append an export's events to this deployment in one transaction (ids remapped where
    /// this deployment already handed them out). Importing the same file again appends
    /// nothing.
    Import(EventsImportArgs),
}

#[derive(Debug, Args)]
pub struct EventsExportArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The tournament's slug.
    #[arg(long)]
    pub tournament: String,
    /// The file to write (replaced if it exists), or `-` for standard output.
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EventsImportArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// A file written by `standings events export` (a file, not a pipe: it is read twice,
    /// checked whole before anything is appended).
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List every quarantined event of every projector build.
    List(DatabaseArgs),
}

#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The event's global position (as `events quarantine list` shows it).
    pub position: i64,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The event's global position (as `events quarantine list` shows it).
    pub position: i64,
    /// The replacement payload: JSON text, or `@FILE` to read it from a file.
    #[arg(long)]
    pub payload: String,
    /// Why, kept with the repair.
    #[arg(long)]
    pub reason: String,
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
    /// Seconds a request waits for a pool connection before it fails (503 with Retry-After):
    /// with PostgreSQL down, reads and `/health` fail fast instead of hanging.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT", default_value = "2", value_parser = seconds)]
    pub acquire_timeout: Duration,
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
pub struct DemoArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address the HTTP server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Also serve a tournament exported with `standings events export` (imported at start;
    /// a restart imports nothing twice). An export of a tournament named `demo` is served
    /// instead of the demo's own.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

/// The HTTP edge: per-client rate limits (seed contract §1.0.4), timeouts and connection caps.
#[derive(Debug, Args)]
#[command(next_help_heading = "HTTP edge: rate limits, timeouts, connection caps")]
pub struct HttpArgs {
    /// Requests per minute per client IP on each route (the write routes have the contract's
    /// lower limits); `/`, `/health`, `/docs`, `/openapi.json`, `/metrics` and security.txt are
    /// exempt. 0 turns rate limiting off (benchmarks).
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 300)]
    pub rate_limit_per_minute: u32,
    /// Peers whose `CF-Connecting-IP` / `X-Forwarded-For` name the client: comma-separated IPs
    /// and CIDR blocks, `*` (any peer: only behind a proxy that overwrites those headers), or
    /// `none`. Other peers are keyed by their own address.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = api::ratelimit::DEFAULT_TRUSTED_PROXIES,
          value_parser = api::ratelimit::TrustedProxies::parse)]
    pub trusted_proxies: api::ratelimit::TrustedProxies,
    /// Seconds a connection has to send a complete request head, from when it opens and, on
    /// keep-alive, from its previous response: silent sockets, trickled heads and idle
    /// keep-alive connections are closed after it.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10", value_parser = seconds)]
    pub header_read_timeout: Duration,
    /// Open connections of the process; past it new ones get 503 + Retry-After and are closed.
    /// 0: the open-file limit minus 512 (descriptors kept for the database, files and logs).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,
    /// Open connections of one client address (TRUSTED_PROXIES peers are exempt: they carry
    /// many clients). 0: no cap.
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,
    /// Open `/v1/stream` streams of one client (the forwarded address behind a trusted proxy;
    /// trusted addresses themselves are exempt); past it 429 + Retry-After. 0: no cap.
    #[arg(long, env = "MAX_STREAMS_PER_CLIENT", default_value_t = 64)]
    pub max_streams_per_client: usize,
    /// SSE: at most one nudge per kind per this many milliseconds, sent at the end of the
    /// window with the newest id (one upstream change is several projector commits, and
    /// every nudge makes every viewer refetch). 0 sends every `nudge_log` row at once.
    #[arg(long, env = "NUDGE_COALESCE_MILLIS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub nudge_coalesce_millis: u64,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// Where webhooks may point (issue 15): checked when one is registered or edited (API and
/// CLI) and by the deliverer before each connection.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookArgs {
    /// Accept plain `http://` webhook URLs (tests, local receivers). Off: `https` only.
    #[arg(long, env = "WEBHOOK_ALLOW_HTTP")]
    pub webhook_allow_http: bool,
    /// Comma-separated host names, addresses and CIDR ranges webhooks may reach although they
    /// are private, loopback, link-local, CGNAT, ... (tests: `127.0.0.1`). A listed name is not
    /// resolved at registration.
    #[arg(long, env = "WEBHOOK_ALLOWED_HOSTS", default_value = "",
          value_parser = allowed_hosts)]
    pub webhook_allowed_hosts: AllowedHosts,
}

/// `WEBHOOK_ALLOWED_HOSTS`, parsed.
#[derive(Clone, Debug)]
pub struct AllowedHosts(pub Vec<domain::webhook_url::AllowedHost>);

fn allowed_hosts(text: &str) -> Result<AllowedHosts, String> {
    domain::webhook_url::UrlPolicy::parse_allowed(text).map(AllowedHosts)
}

impl WebhookArgs {
    pub fn policy(&self) -> domain::webhook_url::UrlPolicy {
        domain::webhook_url::UrlPolicy {
            allow_http: self.webhook_allow_http,
            allowed: self.webhook_allowed_hosts.0.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// A tournament's subscriptions (URLs redacted, secrets never shown).
    List(WebhookTournamentArgs),
    /// Register a webhook; prints its id and its signing secret (shown this once).
    Add(WebhookAddArgs),
    /// Change a webhook's URL, format, kinds or description.
    Edit(WebhookEditArgs),
    /// Stop delivering to a webhook (notifications are kept; resume delivers them).
    Pause(WebhookIdArgs),
    /// Deliver to a paused webhook again.
    Resume(WebhookIdArgs),
    /// Delete a webhook and its secret.
    Delete(WebhookIdArgs),
    /// Issue a new signing secret (printed this once); the old one stops signing at once.
    RotateSecret(WebhookIdArgs),
    /// A webhook's delivery state, its latest attempts (newest first) and its dead letters.
    Deliveries(WebhookDeliveriesArgs),
    /// Queue a webhook's dead letters for another round of attempts; prints how many.
    Replay(WebhookIdArgs),
}

#[derive(Debug, Args)]
pub struct WebhookTournamentArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The tournament's slug.
    #[arg(long)]
    pub tournament: String,
}

#[derive(Debug, Args)]
pub struct WebhookIdArgs {
    #[command(flatten)]
    pub target: WebhookTournamentArgs,
    /// The webhook's id (as `webhooks list` shows it).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct WebhookDeliveriesArgs {
    #[command(flatten)]
    pub target: WebhookIdArgs,
    /// The API route's JSON (`GET .../webhooks/{id}/deliveries`) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WebhookFormatArg {
    /// Signed generic JSON.
    Json,
    /// Discord `content` / `embeds` (a Discord webhook URL).
    Discord,
}

#[derive(Debug, Args)]
pub struct WebhookAddArgs {
    #[command(flatten)]
    pub target: WebhookTournamentArgs,
    #[command(flatten)]
    pub policy: WebhookArgs,
    /// The endpoint URL.
    #[arg(long)]
    pub url: String,
    #[arg(long, value_enum, default_value_t = WebhookFormatArg::Json)]
    pub format: WebhookFormatArg,
    /// Comma-separated notification kinds (default: every kind).
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct WebhookEditArgs {
    #[command(flatten)]
    pub target: WebhookIdArgs,
    #[command(flatten)]
    pub policy: WebhookArgs,
    #[arg(long)]
    pub url: Option<String>,
    #[arg(long, value_enum)]
    pub format: Option<WebhookFormatArg>,
    /// Comma-separated notification kinds; `--kinds ''` means every kind.
    #[arg(long, value_delimiter = ',')]
    pub kinds: Option<Vec<String>>,
    /// A new description; `--description ''` clears it.
    #[arg(long)]
    pub description: Option<String>,
}

/// Descriptors kept free below the open-file limit when MAX_CONNECTIONS is 0.
const RESERVED_DESCRIPTORS: usize = 512;

impl HttpArgs {
    /// MAX_CONNECTIONS, or the open-file limit minus a reserve (at least 64).
    pub fn connection_cap(&self, open_file_limit: u64) -> usize {
        match self.max_connections {
            0 => usize::try_from(open_file_limit)
                .unwrap_or(usize::MAX)
                .saturating_sub(RESERVED_DESCRIPTORS)
                .max(64),
            cap => cap,
        }
    }

    pub fn rate_limits(&self) -> api::ratelimit::RateLimitConfig {
        api::ratelimit::RateLimitConfig {
            per_minute: self.rate_limit_per_minute,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }

    /// The SSE hub's settings.
    pub fn hub_config(&self) -> sse::HubConfig {
        sse::HubConfig {
            coalesce_window: Duration::from_millis(self.nudge_coalesce_millis),
            ..sse::HubConfig::default()
        }
    }
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
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub poller: PollerArgs,
    #[command(flatten)]
    pub streams: StreamArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
    #[command(flatten)]
    pub webhooks: WebhookDeliveryArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Webhook delivery (roles all and worker; one process delivers at a time, by its own
/// advisory lock). docs/notifications.md, "Delivery" and "Retries and dead letters". Where
/// endpoints may point is `WebhookArgs` (shared with registration).
#[derive(Debug, Args)]
#[command(next_help_heading = "Webhook delivery (roles all and worker)")]
pub struct WebhookDeliveryArgs {
    /// Endpoints delivered to at once (one request in flight per endpoint).
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub webhook_concurrency: u32,
    /// Attempts at one notification before it is dead-lettered for that endpoint.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_max_attempts: u32,
    /// First retry waits up to this many seconds (full jitter), doubling per attempt.
    #[arg(long, env = "WEBHOOK_BACKOFF_BASE_SECONDS", default_value = "30", value_parser = seconds)]
    pub webhook_backoff_base_seconds: Duration,
    /// Longest backoff between two attempts, in seconds.
    #[arg(long, env = "WEBHOOK_BACKOFF_CAP_SECONDS", default_value = "1800", value_parser = seconds)]
    pub webhook_backoff_cap_seconds: Duration,
    /// Seconds one delivery may take (connect, request, bounded response).
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value = "10", value_parser = seconds)]
    pub webhook_timeout_seconds: Duration,
    /// Seconds between sweeps for due work (the projector's NOTIFY wakes the worker sooner).
    #[arg(long, env = "WEBHOOK_SWEEP_SECONDS", default_value = "5", value_parser = seconds)]
    pub webhook_sweep_seconds: Duration,
    /// Public base URL of this site (e.g. `https://standings.example`): Discord messages link
    /// to `/t/{slug}` on it. Unset: no link.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
}

impl WebhookDeliveryArgs {
    /// The worker's settings; `policy` is where endpoints may point (`WebhookArgs`, the
    /// registration rules).
    pub fn config(&self, policy: webhooks::UrlPolicy) -> webhooks::DeliveryConfig {
        webhooks::DeliveryConfig {
            policy,
            concurrency: self.webhook_concurrency as usize,
            max_attempts: self.webhook_max_attempts,
            backoff_base: self.webhook_backoff_base_seconds,
            backoff_cap: self
                .webhook_backoff_cap_seconds
                .max(self.webhook_backoff_base_seconds),
            timeout: self.webhook_timeout_seconds,
            sweep: self.webhook_sweep_seconds,
            public_base_url: self.public_base_url.clone(),
            ..webhooks::DeliveryConfig::default()
        }
    }
}

/// How much of the nudge log (SSE `Last-Event-ID` replay) the worker keeps: the newest
/// NUDGE_KEEP_ROWS rows and every row younger than NUDGE_KEEP_SECONDS, whichever keeps more.
/// Older cursors get `resync` (refetch everything). Keep the rows above the stream's replay
/// limit (1,000).
#[derive(Debug, Args)]
#[command(next_help_heading = "Nudge log retention (roles all and worker)")]
pub struct RetentionArgs {
    /// Newest nudge_log rows always kept (at least 1000).
    #[arg(long, env = "NUDGE_KEEP_ROWS", default_value_t = 10_000, value_parser = clap::value_parser!(i64).range(1000..))]
    pub nudge_keep_rows: i64,
    /// nudge_log rows younger than this many seconds are always kept.
    #[arg(long, env = "NUDGE_KEEP_SECONDS", default_value = "3600", value_parser = seconds)]
    pub nudge_keep_seconds: Duration,
}

impl RetentionArgs {
    pub fn retention(&self) -> projections::NudgeRetention {
        projections::NudgeRetention {
            keep_rows: self.nudge_keep_rows,
            keep_for: self.nudge_keep_seconds,
        }
    }
}

/// The upstream poller (roles `all` and `worker`; one process polls at a time, the others
/// stand by on a PostgreSQL advisory lock and take over within seconds).
#[derive(Debug, Args)]
#[command(next_help_heading = "Upstream poller (roles all and worker)")]
pub struct PollerArgs {
    /// Base URL of the AoE2:DE community API the poller reads (e.g. a `standings sim`).
    #[arg(long, env = "UPSTREAM_BASE_URL", default_value = poller::DEFAULT_UPSTREAM_BASE_URL)]
    pub upstream_base_url: String,
    /// Seconds between player-stats polls (batched GetPersonalStat over every linked roster
    /// profile). Fractions allowed.
    #[arg(long, env = "POLL_STATS_SECONDS", default_value = "30", value_parser = seconds)]
    pub poll_stats_seconds: Duration,
    /// Seconds between recent-match polls (history only for players whose stats moved).
    #[arg(long, env = "POLL_MATCHES_SECONDS", default_value = "60", value_parser = seconds)]
    pub poll_matches_seconds: Duration,
    /// Seconds between live-lobby polls (findAdvertisements).
    #[arg(long, env = "POLL_LIVE_SECONDS", default_value = "15", value_parser = seconds)]
    pub poll_live_seconds: Duration,
    /// Seconds between leaderboard/civilization catalog polls (60 s retry after a failure).
    #[arg(long, env = "POLL_CATALOG_SECONDS", default_value = "1800", value_parser = seconds)]
    pub poll_catalog_seconds: Duration,
    /// Every tracked player's match history is re-read about once per this many seconds
    /// (a rotating slice per matches poll), whatever their stats say.
    #[arg(long, env = "POLL_SWEEP_SECONDS", default_value = "3600", value_parser = seconds)]
    pub poll_sweep_seconds: Duration,
    /// Upstream requests per second, all cycles together (the community API is shared by the
    /// whole ecosystem). A 429 halves it for a while.
    #[arg(long, env = "UPSTREAM_REQUESTS_PER_SECOND", default_value = "10",
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub upstream_requests_per_second: u32,
    /// Upstream requests in flight at once, all cycles together.
    #[arg(long, env = "UPSTREAM_MAX_IN_FLIGHT", default_value = "4",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub upstream_max_in_flight: u32,
    /// Seconds for the request rate to climb back to its ceiling after a 429 cut it.
    #[arg(long, env = "UPSTREAM_BUDGET_RECOVERY_SECONDS", default_value = "60", value_parser = seconds)]
    pub upstream_budget_recovery_seconds: Duration,
}

/// Stream-live detection (roles all and worker). Each platform runs only when its credentials
/// are set; with none, no request is made and `stream_live` / `host_stream_live` stay false.
/// One process detects at a time (its own advisory lock).
#[derive(Debug, Args)]
#[command(next_help_heading = "Stream-live detection (roles all and worker)")]
pub struct StreamArgs {
    /// Twitch application client id. Twitch detection needs it and TWITCH_CLIENT_SECRET.
    #[arg(long, env = "TWITCH_CLIENT_ID", hide_env_values = true)]
    pub twitch_client_id: Option<String>,
    /// Twitch application client secret (app token by client credentials).
    #[arg(long, env = "TWITCH_CLIENT_SECRET", hide_env_values = true)]
    pub twitch_client_secret: Option<String>,
    /// YouTube Data API key: YouTube detection for roster rows and hosts with no Twitch URL.
    #[arg(long, env = "YOUTUBE_API_KEY", hide_env_values = true)]
    pub youtube_api_key: Option<String>,
    /// Twitch token host (POST /oauth2/token), e.g. a `sim` stream fake in tests.
    #[arg(long, env = "TWITCH_AUTH_BASE_URL", default_value = stream_live::config::DEFAULT_TWITCH_AUTH_BASE_URL)]
    pub twitch_auth_base_url: String,
    /// Twitch Helix host (GET /helix/streams).
    #[arg(long, env = "TWITCH_API_BASE_URL", default_value = stream_live::config::DEFAULT_TWITCH_API_BASE_URL)]
    pub twitch_api_base_url: String,
    /// YouTube Data API host (GET /youtube/v3/channels, /youtube/v3/search).
    #[arg(long, env = "YOUTUBE_API_BASE_URL", default_value = stream_live::config::DEFAULT_YOUTUBE_API_BASE_URL)]
    pub youtube_api_base_url: String,
    /// Seconds between Twitch polls (one Helix call per 100 channels).
    #[arg(long, env = "POLL_TWITCH_SECONDS", default_value = "60", value_parser = seconds)]
    pub poll_twitch_seconds: Duration,
    /// Seconds between YouTube polls (a few channels per poll, within the daily quota).
    #[arg(long, env = "POLL_YOUTUBE_SECONDS", default_value = "1800", value_parser = seconds)]
    pub poll_youtube_seconds: Duration,
    /// YouTube Data API units per day the poller may spend (a live search costs 100).
    #[arg(long, env = "YOUTUBE_DAILY_QUOTA", default_value_t = stream_live::config::DEFAULT_YOUTUBE_DAILY_QUOTA)]
    pub youtube_daily_quota: u32,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address the simulator listens on.
    #[arg(long, env = "SIM_BIND", default_value = sim::DEFAULT_BIND)]
    pub bind: SocketAddr,
    /// Seed of the simulation (same seed and controls: same payloads).
    #[arg(long, env = "SIM_SEED", default_value_t = sim::SimConfig::default().seed)]
    pub seed: u64,
    /// Ladder players (8 to 100000).
    #[arg(long, env = "SIM_PLAYERS", default_value_t = sim::SimConfig::default().players)]
    pub players: usize,
    /// Simulated seconds per real second.
    #[arg(long, env = "SIM_SPEED", default_value_t = sim::SimConfig::default().speed, value_parser = non_negative)]
    pub speed: f64,
    /// Ranked games per player per simulated hour (0.1 quiet, 2 busy).
    #[arg(long, env = "SIM_ACTIVITY", default_value_t = sim::SimConfig::default().activity, value_parser = non_negative)]
    pub activity: f64,
    /// Custom lobbies kept open at any time.
    #[arg(long, env = "SIM_LOBBIES", default_value_t = sim::SimConfig::default().lobbies)]
    pub lobbies: usize,
    /// Start with the clock stopped: payloads stay byte-identical until a control moves them.
    #[arg(long, env = "SIM_FROZEN")]
    pub frozen: bool,
}

/// A positive number of seconds (fractions allowed), at most a day.
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(value.is_finite() && value > 0.0 && value <= 86_400.0) {
        return Err(format!("`{text}`: expected seconds in (0, 86400]"));
    }
    Ok(Duration::from_secs_f64(value))
}

fn non_negative(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{text}`: expected a number >= 0")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connection_cap_stays_below_the_open_file_limit() {
        let cli = Cli::try_parse_from(["standings", "serve"]).expect("parse");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.http.connection_cap(20_000), 19_488);
        assert_eq!(args.http.connection_cap(1024), 512);
        assert_eq!(args.http.connection_cap(100), 64);
        assert_eq!(args.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(args.db.acquire_timeout, Duration::from_secs(2));
        let cli =
            Cli::try_parse_from(["standings", "serve", "--max-connections", "300"]).expect("parse");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.http.connection_cap(20_000), 300);
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_nonsense() {
        assert_eq!(seconds("30"), Ok(Duration::from_secs(30)));
        assert_eq!(seconds("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "abc", "NaN", "inf", "100000"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn poller_defaults_follow_the_design() {
        let cli = Cli::try_parse_from(["standings", "serve"]).expect("parse");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.poller.poll_stats_seconds, Duration::from_secs(30));
        assert_eq!(args.poller.poll_matches_seconds, Duration::from_secs(60));
        assert_eq!(args.poller.poll_live_seconds, Duration::from_secs(15));
        assert_eq!(args.poller.poll_catalog_seconds, Duration::from_secs(1800));
        assert_eq!(args.poller.upstream_requests_per_second, 10);
        assert_eq!(args.poller.upstream_max_in_flight, 4);
        assert_eq!(
            args.poller.upstream_budget_recovery_seconds,
            Duration::from_secs(60)
        );
        for bad in [
            "--upstream-requests-per-second=0",
            "--upstream-requests-per-second=51",
            "--upstream-max-in-flight=0",
            "--upstream-max-in-flight=65",
        ] {
            assert!(
                Cli::try_parse_from(["standings", "serve", bad]).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            args.retention.retention(),
            projections::NudgeRetention::default()
        );
        assert!(Cli::try_parse_from(["standings", "serve", "--nudge-keep-rows", "10"]).is_err());
    }

    #[test]
    fn nudges_are_coalesced_for_a_second_by_default() {
        let hub = |extra: &[&str]| {
            let mut argv = vec!["standings", "serve"];
            argv.extend_from_slice(extra);
            let Command::Serve(args) = Cli::try_parse_from(argv).expect("parse").command else {
                panic!("not serve");
            };
            args.http.hub_config().coalesce_window
        };
        assert_eq!(hub(&[]), Duration::from_secs(1));
        assert_eq!(hub(&["--nudge-coalesce-millis", "0"]), Duration::ZERO);
        for bad in ["-1", "60001", "1.5"] {
            let argv = ["standings", "serve", "--nudge-coalesce-millis", bad];
            assert!(Cli::try_parse_from(argv).is_err(), "{bad}");
        }
    }

    #[test]
    fn stream_detection_is_off_by_default_and_needs_both_twitch_credentials() {
        let serve = |extra: &[&str]| {
            let mut argv = vec!["standings", "serve"];
            argv.extend_from_slice(extra);
            let Command::Serve(args) = Cli::try_parse_from(argv).expect("parse").command else {
                panic!("not serve");
            };
            crate::polling::streams_config(&args.streams)
        };
        let none = serve(&[]);
        assert!(!none.enabled());
        assert_eq!(none.twitch_interval, Duration::from_secs(60));
        assert_eq!(none.youtube_interval, Duration::from_secs(1800));
        assert!(!serve(&["--twitch-client-id", "id"]).enabled());
        let twitch = serve(&[
            "--twitch-client-id",
            "id",
            "--twitch-client-secret",
            "secret",
            "--twitch-api-base-url",
            "http://127.0.0.1:9/",
        ]);
        let t = twitch.twitch.expect("twitch on");
        assert_eq!(t.api_base_url, "http://127.0.0.1:9");
        assert_eq!(t.auth_base_url, "https://id.twitch.tv");
        assert!(twitch.youtube.is_none());
        let youtube = serve(&["--youtube-api-key", "k"]);
        assert!(youtube.twitch.is_none());
        assert_eq!(
            youtube.youtube.expect("youtube on").base_url,
            "https://www.googleapis.com"
        );
    }

    #[test]
    fn rate_limits_default_to_the_contract_and_validate_proxies() {
        let cli = Cli::try_parse_from(["standings", "serve"]).expect("parse");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.http.rate_limit_per_minute, 300);
        assert_eq!(
            args.http.trusted_proxies,
            api::ratelimit::TrustedProxies::default()
        );
        let off = Cli::try_parse_from([
            "standings",
            "serve",
            "--rate-limit-per-minute",
            "0",
            "--trusted-proxies",
            "*",
        ]);
        assert!(off.is_ok());
        let bad = Cli::try_parse_from(["standings", "serve", "--trusted-proxies", "10.0.0.0/99"]);
        assert!(bad.is_err());
    }
}
