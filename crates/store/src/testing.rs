//! Test support for crates above the store: a migrated, empty database of its own per test,
//! on the one throwaway cluster of the test binary.

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// A fresh database with the durable schema applied, and a small pool on it.
pub async fn migrated_pool(prefix: &str) -> PgPool {
    migrated_database(prefix).await.1
}

/// Like [`migrated_pool`], with the database's URL too (for a child process pointed at it).
pub async fn migrated_database(prefix: &str) -> (String, PgPool) {
    let url = embedded_pg::testing::fresh_database(prefix).await;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to test database {url}: {e}"));
    crate::migrate(&pool)
        .await
        .unwrap_or_else(|e| panic!("migrate test database: {e}"));
    (url, pool)
}
