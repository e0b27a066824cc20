//! One throwaway cluster per test binary, shared by all of its tests.
//!
//! The cluster is started lazily by the first test that asks for it, in a fresh temporary
//! directory, and is stopped and deleted when the test binary exits: the test harness
//! ends with `std::process::exit`, which runs `atexit` handlers (statics are never
//! dropped). If the binary is killed instead, the postmaster still dies (parent-death
//! signal), but its temporary directory is left behind.
//!
//! Every `#[tokio::test]` has its own runtime, dropped when the test ends, so the shared
//! state holds no runtime-bound object (no pool, no connection): only the child process,
//! paths and URLs. Each test should use its own database, see [`fresh_database`].
//!
//! The panicking accessors are for tests, where a panic is the failure report; library
//! code should use the `try_` variants.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use tokio::sync::OnceCell;

use crate::{Cluster, ClusterConfig, Error};

static SHARED: OnceCell<Cluster> = OnceCell::const_new();
static ATEXIT: Once = Once::new();
static NEXT_DB: AtomicU64 = AtomicU64::new(0);

/// The shared cluster of this test binary, started on first use.
pub async fn try_shared_cluster() -> Result<&'static Cluster, Error> {
    SHARED
        .get_or_try_init(|| async {
            ATEXIT.call_once(|| {
                // SAFETY: registering a plain `extern "C" fn` has no preconditions.
                // Failure (non-zero) only means no cleanup at exit: PDEATHSIG still holds.
                unsafe { libc::atexit(stop_shared_cluster) };
            });
            let dir = tempfile::Builder::new()
                .prefix("standings-pg-test-")
                .tempdir()
                .map_err(|e| Error::io("cannot create a temporary directory", e))?
                // The cluster deletes it on stop (throwaway), not `TempDir`'s drop.
                .keep();
            Cluster::start(ClusterConfig::throwaway(dir)).await
        })
        .await
}

/// Like [`try_shared_cluster`], panicking with the error's message on failure.
pub async fn shared_cluster() -> &'static Cluster {
    match try_shared_cluster().await {
        Ok(cluster) => cluster,
        Err(e) => panic!("embedded-pg: cannot start the shared test cluster: {e}"),
    }
}

/// Creates a brand-new empty database on the shared cluster and returns its URL. Names
/// are unique per process (pid + counter) and start with `prefix` (sanitised), which
/// helps when reading server logs.
pub async fn try_fresh_database(prefix: &str) -> Result<String, Error> {
    let cluster = try_shared_cluster().await?;
    let name = database_name(prefix);
    cluster.create_database(&name).await?;
    Ok(cluster.database_url(&name))
}

/// Like [`try_fresh_database`], panicking with the error's message on failure.
pub async fn fresh_database(prefix: &str) -> String {
    match try_fresh_database(prefix).await {
        Ok(url) => url,
        Err(e) => panic!("embedded-pg: cannot create a test database: {e}"),
    }
}

fn database_name(prefix: &str) -> String {
    let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{n}", std::process::id());
    let mut clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
        clean.insert_str(0, "t_");
    }
    // Identifiers are at most 63 bytes; keep the unique suffix intact.
    clean.truncate(63 - suffix.len());
    clean + &suffix
}

extern "C" fn stop_shared_cluster() {
    // Unwinding out of an `extern "C"` fn would abort the exiting process.
    let _ = std::panic::catch_unwind(|| {
        if let Some(cluster) = SHARED.get() {
            if let Err(e) = cluster.shutdown() {
                eprintln!("embedded-pg: stopping the shared test cluster: {e}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_unique_and_valid() {
        let a = database_name("Store Tests!");
        let b = database_name("Store Tests!");
        assert_ne!(a, b);
        assert!(a.starts_with("store_tests__"), "{a}");
        let long = database_name(&"x".repeat(200));
        assert!(long.len() <= 63, "{long}");
        assert!(long.ends_with(&format!("_{}", NEXT_DB.load(Ordering::Relaxed) - 1)));
        assert!(database_name("").starts_with("t__"));
        assert!(database_name("1abc").starts_with("t_1abc_"));
    }
}
