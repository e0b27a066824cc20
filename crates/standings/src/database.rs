//! The database a process uses: `DATABASE_URL`, or a private cluster in `DATA_DIR`.

use anyhow::Context;
use embedded_pg::{Cluster, ClusterConfig};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::settings::DatabaseArgs;

const EMBEDDED_DATABASE: &str = "standings";

pub struct Database {
    pub pool: PgPool,
    /// The private cluster, when we run one; stopped by [`Database::close`].
    cluster: Option<Cluster>,
}

impl Database {
    /// Connects (starting the private cluster first if needed) and applies migrations.
    pub async fn open(args: &DatabaseArgs) -> anyhow::Result<Database> {
        let (url, cluster) = match &args.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let dir = args.data_dir.join("postgres");
                // A running `standings serve` owns the cluster: use it rather than fail.
                if let Some(url) = Cluster::running_server_url(&dir, EMBEDDED_DATABASE) {
                    tracing::info!(data_dir = %dir.display(), "using the running embedded PostgreSQL");
                    return Self::connect(&url, args, None).await;
                }
                tracing::info!(data_dir = %dir.display(), "starting the embedded PostgreSQL cluster");
                let cluster = Cluster::start(ClusterConfig::persistent(&dir))
                    .await
                    .context("embedded PostgreSQL")?;
                if let Err(e) = cluster.create_database(EMBEDDED_DATABASE).await {
                    let _ = cluster.stop().await;
                    return Err(e).context("embedded PostgreSQL");
                }
                (cluster.database_url(EMBEDDED_DATABASE), Some(cluster))
            }
        };
        Self::connect(&url, args, cluster).await
    }

    async fn connect(
        url: &str,
        args: &DatabaseArgs,
        cluster: Option<Cluster>,
    ) -> anyhow::Result<Database> {
        let opened = async {
            let pool = PgPoolOptions::new()
                .max_connections(args.pool_size.max(1))
                // PostgreSQL down: fail within this (503), never hang a request for 30 s.
                .acquire_timeout(args.acquire_timeout)
                .connect(url)
                .await
                .context("cannot connect to PostgreSQL (check DATABASE_URL)")?;
            store::migrate(&pool)
                .await
                .context("cannot apply database migrations")?;
            anyhow::Ok(pool)
        }
        .await;
        match opened {
            Ok(pool) => Ok(Database { pool, cluster }),
            Err(e) => {
                if let Some(cluster) = cluster {
                    let _ = cluster.stop().await;
                }
                Err(e)
            }
        }
    }

    /// Closes the pool, then stops the private cluster (if any) and waits for it to exit.
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            cluster
                .stop()
                .await
                .context("stopping the embedded PostgreSQL cluster")?;
            tracing::info!("embedded PostgreSQL stopped");
        }
        Ok(())
    }
}
