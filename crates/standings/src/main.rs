//! `standings`: the live-standings binary. It parses arguments and wires the library crates
//! together; the work itself lives in those crates (see `docs/architecture.md`).

mod database;
mod projections_cli;
mod settings;

use anyhow::Context;
use clap::Parser;
use settings::{Cli, Command, ProjectionsCommand, Role, ServeArgs};
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
            std::process::ExitCode::FAILURE
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
        Command::Serve(args) => serve(args).await,
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
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let db = database::Database::open(&args.db).await?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (set BIND to another address)",
                args.bind
            )
        });
    let listener = match listener {
        Ok(listener) => listener,
        Err(e) => {
            db.close().await?;
            return Err(e);
        }
    };
    let local = listener.local_addr().unwrap_or(args.bind);
    tracing::info!(bind = %local, role = ?args.role, "serving");
    // A plain line for people and scripts (BIND may say port 0).
    println!("standings: listening on http://{local}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = tokio::task::JoinSet::new();
    if matches!(args.role, Role::All | Role::Worker) {
        background.spawn(projections::runner::run(
            db.pool.clone(),
            projections::core::Core,
            500,
            stop_rx.clone(),
        ));
    }
    let app = api::router(api::AppState::new(db.pool.clone()));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("HTTP server failed");
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    while background.join_next().await.is_some() {}
    db.close().await?;
    served
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
