//! `standings`: the live-standings binary. It parses arguments and wires the library crates
//! together; the work itself lives in those crates (see `docs/architecture.md`).

mod access;
mod admin;
mod archive;
mod database;
mod demo;
mod edge;
mod events_cli;
mod events_port;
mod polling;
mod projections_cli;
mod settings;
mod webhooks_cli;

use anyhow::Context;
use clap::Parser;
use std::net::SocketAddr;
use std::time::Duration;

use settings::{
    ArchiveCommand, Cli, Command, CreatorsCommand, DemoArgs, EventsCommand, ProjectionsCommand,
    QuarantineCommand, Role, RosterCommand, ServeArgs, TournamentCommand,
};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line an operator can act on; the chain says why.
            eprintln!("error: {e:#}");
            let unknown_tournament = e.downcast_ref::<archive::UnknownTournament>().is_some()
                || matches!(
                    e.downcast_ref::<store::transfer::ExportError>(),
                    Some(store::transfer::ExportError::NotFound(_))
                );
            if unknown_tournament {
                // Scripts tell "no such tournament" from a failure.
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

fn init_logging() {
    let filter = EnvFilter::try_from_env("LOG_LEVEL")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Logs go to stderr; stdout carries only lines meant for people and scripts.
    let stderr = std::io::stderr();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&stderr))
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(args) => {
            let db = database::Database::open(&args).await?;
            tracing::info!("migrations applied");
            db.close().await
        }
        Command::Projections(ProjectionsCommand::Status(args)) => {
            let db = database::Database::open(&args).await?;
            let shown = projections_cli::status(&db.pool).await;
            db.close().await?;
            shown
        }
        Command::Projections(ProjectionsCommand::Rebuild(args)) => {
            let db = database::Database::open(&args.db).await?;
            let rebuilt = projections_cli::rebuild(&db.pool, &args).await;
            db.close().await?;
            rebuilt
        }
        Command::Events(command) => {
            let db_args = match &command {
                EventsCommand::Quarantine(QuarantineCommand::List(db)) => db,
                EventsCommand::Show(args) => &args.db,
                EventsCommand::Repair(args) => &args.db,
                EventsCommand::Export(args) => &args.db,
                EventsCommand::Import(args) => &args.db,
            };
            let db = database::Database::open(db_args).await?;
            let done = events_cli::run(&db.pool, &command).await;
            db.close().await?;
            done
        }
        Command::Sim(args) => polling::sim(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Creators(command) => {
            let (args, grant) = match &command {
                CreatorsCommand::Grant(args) => (args, true),
                CreatorsCommand::Revoke(args) => (args, false),
            };
            let db = database::Database::open(&args.db).await?;
            let done = admin::creators(&db.pool, args, grant).await;
            db.close().await?;
            done
        }
        Command::Tournament(TournamentCommand::Create(args)) => {
            let db = database::Database::open(&args.db).await?;
            let done = admin::create_tournament(&db.pool, &args).await;
            db.close().await?;
            done
        }
        Command::Tournament(TournamentCommand::Archive(args)) => {
            let db = database::Database::open(&args.db).await?;
            let done = admin::archive(&db.pool, &args, true).await;
            db.close().await?;
            done
        }
        Command::Tournament(TournamentCommand::Unarchive(args)) => {
            let db = database::Database::open(&args.db).await?;
            let done = admin::archive(&db.pool, &args, false).await;
            db.close().await?;
            done
        }
        Command::Roster(RosterCommand::Add(args)) => {
            let db = database::Database::open(&args.db).await?;
            let done = admin::add_to_roster(&db.pool, &args).await;
            db.close().await?;
            done
        }
        Command::Webhooks(command) => {
            let args = webhooks_cli::tournament_args(&command);
            let db = database::Database::open(&args.db).await?;
            let done = webhooks_cli::run(&db.pool, &command).await;
            db.close().await?;
            done
        }
        Command::Token(args) => admin::token(&args),
        Command::Archive(ArchiveCommand::Export(args)) => {
            let db = database::Database::open(&args.db).await?;
            let done = archive::export(&db.pool, &args).await;
            db.close().await?;
            done
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let db = database::Database::open(&args.db).await?;
    let poller = polling::poller_config(&args.poller);
    let streams = polling::streams_config(&args.streams);
    let access = match access::configure(&args.auth) {
        Ok(access) => access,
        Err(e) => {
            db.close().await?;
            return Err(e);
        }
    };
    let pollers = Pollers {
        upstream: poller,
        streams,
        nudge_retention: args.retention.retention(),
        webhooks: args.webhooks.config(args.http.webhooks.policy()),
    };
    run_service(
        db,
        args.bind,
        args.role,
        pollers,
        access,
        &args.http,
        |_| {},
    )
    .await
}

/// `standings demo`: the embedded PostgreSQL, the simulator, the worker and the API in one
/// process, with a demo tournament whose live data moves within a minute.
async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let access = access::configure(&args.auth)?;
    let db = database::Database::open(&args.db).await?;
    let sim = sim::SimHandle::new(sim::SimConfig {
        // Half a simulated hour per real minute, busy players: games finish every few seconds.
        speed: 30.0,
        activity: sim::ACTIVITY_HIGH,
        ..sim::SimConfig::default()
    });
    let started = async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen for the simulator")?;
        let sim_addr = listener.local_addr()?;
        tokio::spawn(sim::serve(listener, sim.clone()));
        // Before the seed: an export of a tournament named `demo` then replaces the demo's
        // own (the seed keeps an existing one).
        if let Some(file) = &args.from {
            let report = events_port::import_file(&db.pool, file).await?;
            tracing::info!(
                appended = report.appended,
                skipped = report.skipped,
                "demo: imported {}",
                file.display()
            );
        }
        demo::seed(&db.pool, &sim).await?;
        let (streams_addr, fake, _) = sim::spawn_streams(sim::StreamsFakeConfig::default())
            .await
            .context("cannot listen for the stream platforms fake")?;
        demo::streams_live(&fake);
        anyhow::Ok((sim_addr, streams_addr))
    }
    .await;
    let (sim_addr, streams_addr) = match started {
        Ok(addr) => addr,
        Err(e) => {
            db.close().await?;
            return Err(e);
        }
    };
    let mut poller = poller::PollerConfig::with_base_url(format!("http://{sim_addr}"));
    poller.stats_interval = Duration::from_secs(5);
    poller.matches_interval = Duration::from_secs(10);
    poller.live_interval = Duration::from_secs(5);
    poller.catalog_interval = Duration::from_secs(300);
    poller.lock_retry = Duration::from_secs(2);
    poller.lock_check = Duration::from_secs(2);
    let streams = demo::streams_config(streams_addr);
    let host_token = access.dev_key.as_ref().map(|key| {
        key.mint(
            demo::DEMO_HOST,
            Duration::from_secs(24 * 3600),
            args.auth.issuer(),
        )
    });
    let pollers = Pollers {
        upstream: poller,
        streams,
        nudge_retention: projections::NudgeRetention::default(),
        webhooks: webhooks::DeliveryConfig {
            policy: args.http.webhooks.policy(),
            ..webhooks::DeliveryConfig::default()
        },
    };
    run_service(db, args.bind, Role::All, pollers, access, &args.http, move |addr| {
        let slug = demo::DEMO_SLUG;
        println!();
        println!("  Open the live page:  http://{addr}/t/{slug}");
        println!("  OBS overlays:        http://{addr}/overlay/?tournament={slug}");
        println!();
        println!("  Demo tournament (16 simulated players, 4 teams; data moves within a minute):");
        println!("    standings  http://{addr}/v1/tournaments/{slug}/standings");
        println!("    teams      http://{addr}/v1/tournaments/{slug}/teams/standings");
        println!("    matches    http://{addr}/v1/tournaments/{slug}/matches");
        println!("    audit      http://{addr}/v1/tournaments/{slug}/events");
        println!("    chat text  http://{addr}/v1/tournaments/{slug}/text/standings?top=5");
        println!("    health     http://{addr}/health");
        println!("    simulator  http://{sim_addr}/sim/state");
        println!("    streams    http://{streams_addr}/fake/state (a fake Twitch: one player and the host are live)");
        match &host_token {
            Some(token) => {
                println!("  The demo host (owner of `{slug}`), token valid 24 h:");
                println!("    TOKEN={token}");
                println!(
                    "    curl -X PATCH http://{addr}/v1/tournaments/{slug} -H \"Authorization: Bearer $TOKEN\" \\"
                );
                println!("         -H 'Content-Type: application/json' -d '{{\"name\": \"My Cup\"}}'");
                println!("  Post its notifications to a Discord channel (docs/notifications.md):");
                println!(
                    "    curl -X POST http://{addr}/v1/tournaments/{slug}/webhooks -H \"Authorization: Bearer $TOKEN\" \\"
                );
                println!(
                    "         -H 'Content-Type: application/json' -d '{{\"url\": \"https://discord.com/api/webhooks/ID/TOKEN\", \"format\": \"discord\"}}'"
                );
            }
            None => println!("  Writes need a token from AUTH_JWKS_URL's auth service."),
        }
        println!("  Ctrl-C stops everything (the embedded PostgreSQL too).");
    })
    .await
}

/// What the worker role polls: the community API, and stream platforms when configured; how
/// much of `nudge_log` it keeps; how it delivers webhooks.
struct Pollers {
    upstream: poller::PollerConfig,
    streams: stream_live::StreamsConfig,
    nudge_retention: projections::NudgeRetention,
    webhooks: webhooks::DeliveryConfig,
}

/// How often the worker prunes `nudge_log`.
const NUDGE_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Runs this process's roles until SIGINT/SIGTERM, then stops them and closes the database
/// (stopping the private cluster, if any). `on_ready` runs once the HTTP server listens.
async fn run_service(
    db: database::Database,
    bind: SocketAddr,
    role: Role,
    pollers: Pollers,
    access: access::Access,
    http: &settings::HttpArgs,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let listener = edge::listen(bind)
        .with_context(|| format!("cannot listen on {bind} (set BIND to another address)"));
    let listener = match listener {
        Ok(listener) => listener,
        Err(e) => {
            db.close().await?;
            return Err(e);
        }
    };
    let Pollers {
        upstream: poller_config,
        streams: streams_config,
        nudge_retention,
        webhooks: webhooks_config,
    } = pollers;
    let local = listener.local_addr().unwrap_or(bind);
    tracing::info!(bind = %local, ?role, "serving");
    // A plain line for people and scripts (BIND may say port 0).
    println!("standings: listening on http://{local}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = tokio::task::JoinSet::new();
    let mut polling = None;
    let mut delivering = None;
    if matches!(role, Role::All | Role::Worker) {
        background.spawn(projections::runner::run(
            db.pool.clone(),
            projections::core::Core,
            500,
            stop_rx.clone(),
        ));
        // Notifications for webhooks: its own checkpoint, so a slow derivation never holds
        // back the read models.
        background.spawn(projections::runner::run(
            db.pool.clone(),
            projections::notifications::Notifications,
            500,
            stop_rx.clone(),
        ));
        // Keeps nudge_log bounded (idempotent: every worker may run it).
        background.spawn(projections::retention::run_nudge_pruning(
            db.pool.clone(),
            nudge_retention,
            NUDGE_PRUNE_EVERY,
            stop_rx.clone(),
        ));
        // Polls only while it holds the leader lock; other workers stand by.
        tracing::info!(upstream = %poller_config.upstream.base_url, "poller enabled");
        match poller::Poller::new(poller_config, db.pool.clone()) {
            Ok(poller) => {
                polling = Some(poller.clone());
                background.spawn(poller.run(stop_rx.clone()));
            }
            Err(e) => {
                let _ = stop_tx.send(true);
                while background.join_next().await.is_some() {}
                db.close().await?;
                return Err(e).context("cannot start the poller");
            }
        }
        // Delivers webhooks only while it holds the webhook lock.
        match webhooks::Deliverer::new(webhooks_config, db.pool.clone()) {
            Ok(deliverer) => {
                delivering = Some(deliverer.metrics());
                background.spawn(deliverer.run(stop_rx.clone()));
            }
            Err(e) => {
                let _ = stop_tx.send(true);
                while background.join_next().await.is_some() {}
                db.close().await?;
                return Err(e).context("cannot start webhook delivery");
            }
        }
        if !streams_config.enabled() {
            tracing::info!(
                "stream-live detection disabled (set TWITCH_CLIENT_ID + TWITCH_CLIENT_SECRET \
                 and/or YOUTUBE_API_KEY)"
            );
        } else {
            match stream_live::StreamPoller::new(streams_config, db.pool.clone()) {
                Ok(streams) => {
                    tracing::info!(platforms = ?streams.platforms(), "stream-live detection enabled");
                    background.spawn(streams.run(stop_rx.clone()));
                }
                Err(e) => {
                    let _ = stop_tx.send(true);
                    while background.join_next().await.is_some() {}
                    db.close().await?;
                    return Err(e).context("cannot start stream-live detection");
                }
            }
        }
    }
    // The SSE hub: fed from the nudge log (coalesced per NUDGE_COALESCE_MILLIS); every nudge
    // first drops the cached responses of the tournaments it names, then reaches subscribers.
    let hub = sse::Hub::new(http.hub_config());
    let cache = std::sync::Arc::new(api::ResponseCache::default());
    let invalidated = cache.clone();
    hub.observe(move |nudge| invalidated.invalidate(nudge.tournament_ids.as_deref()));
    background.spawn(sse::run_feed(db.pool.clone(), hub.clone(), stop_rx.clone()));
    let edge = edge::build(http, &hub, polling.as_ref(), delivering);
    let stream_state = sse::StreamState::new(hub.clone(), db.pool.clone())
        .with_gate(edge::stream_gate(http, &edge));
    let mut state = api::AppState::with_cache(db.pool.clone(), cache)
        .with_cors(access.cors)
        .with_edge(edge.clone())
        .with_webhook_policy(http.webhooks.policy());
    // Archived tournaments: learned at start and after every nudge (an archive or un-archive
    // nudges its tournament), rendered once, then served from memory.
    let frozen = state.frozen.clone();
    let refresh = std::sync::Arc::new(tokio::sync::Notify::new());
    let nudged = refresh.clone();
    hub.observe(move |_| nudged.notify_one());
    refresh.notify_one();
    let pool = db.pool.clone();
    let mut stopping = stop_rx.clone();
    background.spawn(async move {
        loop {
            tokio::select! {
                _ = refresh.notified() => frozen.refresh(&pool).await,
                _ = stopping.changed() => return,
            }
        }
    });
    if let Some(base) = &access.directory {
        state = state.with_directory(base);
    }
    if let Some(verifier) = access.verifier {
        state = state.with_auth(verifier);
    }
    let mut app =
        api::router_with(state, overlay::router()).merge(sse::router(stream_state.clone()));
    if let Some(jwks) = access.dev_jwks {
        app = app.route(
            access::DEV_JWKS_PATH,
            axum::routing::get(move || async move { axum::Json(jwks) }),
        );
    }
    // The stream route is answered by a lean responder (~2.5 KiB per stream instead of ~20);
    // every other request goes to axum.
    let open_files = edge::raise_open_file_limit();
    let limits = edge::connection_limits(http, open_files);
    tracing::info!(
        open_files,
        max_connections = limits.max_connections,
        max_connections_per_ip = limits.max_per_address,
        max_streams_per_client = http.max_streams_per_client,
        header_read_timeout_s = http.header_read_timeout.as_secs_f64(),
        "connection limits"
    );
    let options = sse::LeanOptions {
        head_timeout: http.header_read_timeout,
        limits,
        ..lean_options()
    };
    let listener = match sse::LeanListener::new(listener, stream_state, options) {
        Ok(listener) => listener,
        Err(e) => {
            let _ = stop_tx.send(true);
            while background.join_next().await.is_some() {}
            db.close().await?;
            return Err(e).context("cannot start the stream listener");
        }
    };
    let stop_signal = shutdown_signal();
    on_ready(local);
    let closing = hub.clone();
    edge::connections_metric(&edge, listener.connections());
    let serve_options = sse::ServeOptions {
        header_read_timeout: http.header_read_timeout,
        ..sse::ServeOptions::default()
    };
    // Handlers get `ConnectInfo<SocketAddr>` (the rate limiter's peer address).
    sse::serve(listener, app, serve_options, async move {
        stop_signal.await;
        // Open streams would hold the graceful shutdown for their whole lifetime.
        closing.close();
    })
    .await;
    let served = anyhow::Ok(());
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    while background.join_next().await.is_some() {}
    db.close().await?;
    served
}

/// The contract's security headers on lean stream responses too (they skip the middleware).
fn lean_options() -> sse::LeanOptions {
    sse::LeanOptions {
        extra_headers: api::SECURITY_HEADERS
            .iter()
            .map(|(name, value)| {
                (
                    axum::http::HeaderName::from_static(name),
                    axum::http::HeaderValue::from_static(value),
                )
            })
            .collect(),
        ..sse::LeanOptions::default()
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
/// Registers the SIGINT / SIGTERM handlers now, not when the returned future is first polled:
/// a signal that arrives between "listening" being printed and the server's first poll (a
/// script that starts us and stops us at once) must stop us, not kill us uncleanly.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn received(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            () = received(interrupt) => {},
            () = received(terminate) => {},
        }
    }
}
