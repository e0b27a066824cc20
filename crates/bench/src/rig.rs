//! What the pipeline benchmarks set up the same way: a data directory for a throwaway
//! PostgreSQL, and the read side of the service.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use embedded_pg::{Cluster, ClusterConfig};
use sqlx::PgPool;
use tokio::sync::watch;

/// A fresh data directory under /tmp (`prefix` names the benchmark): the server runs as
/// `postgres` when we are root, so it must be somewhere that user can reach. Kept on disk:
/// a throwaway cluster deletes it on stop.
pub fn data_dir(prefix: &str) -> anyhow::Result<PathBuf> {
    Ok(tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .context("create a data directory under /tmp")?
        .keep())
}

/// Starts PostgreSQL with `config` (its data directory `dir`), creates database `name`, runs
/// `work` with the cluster and the database's URL, then stops the cluster whatever `work`
/// returned and removes `dir` (a persistent cluster leaves it behind).
pub async fn on_cluster(
    config: ClusterConfig,
    dir: &Path,
    name: &str,
    work: impl AsyncFnOnce(&Cluster, String) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let cluster = Cluster::start(config).await.context("start PostgreSQL")?;
    let outcome = async {
        cluster.create_database(name).await?;
        work(&cluster, cluster.database_url(name)).await
    }
    .await;
    cluster.stop().await.context("stop PostgreSQL")?;
    let _ = std::fs::remove_dir_all(dir);
    outcome
}

/// A pool of `max_connections` on `url`, with the event store's migrations applied.
pub async fn migrated_pool(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .connect(url)
        .await?;
    store::migrate(&pool).await?;
    Ok(pool)
}

/// Starts the read side wired as `main.rs::run_service` wires it: the `core` projector loop,
/// the hub (with `hub`'s settings) fed from `nudge_log`, the response cache it invalidates,
/// and the API and SSE routes on one lean listener. Everything stops when `stop` flips.
/// Returns the API's address.
pub async fn start_service(
    pool: &PgPool,
    hub: sse::HubConfig,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<SocketAddr> {
    tokio::spawn(projections::runner::run(
        pool.clone(),
        projections::core::Core,
        500,
        stop.clone(),
    ));
    let hub = sse::Hub::new(hub);
    let cache = Arc::new(api::ResponseCache::default());
    let invalidated = cache.clone();
    hub.observe(move |nudge| invalidated.invalidate(nudge.tournament_ids.as_deref()));
    tokio::spawn(sse::run_feed(pool.clone(), hub.clone(), stop.clone()));
    let stream_state = sse::StreamState::new(hub.clone(), pool.clone());
    let app = api::router(api::AppState::with_cache(pool.clone(), cache))
        .merge(sse::router(stream_state.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_addr = listener.local_addr()?;
    let listener = sse::LeanListener::new(listener, stream_state, sse::LeanOptions::default())?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(api_addr)
}
