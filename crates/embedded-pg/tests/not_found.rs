//! Missing server binaries give one clear line, from both entry points, without panicking.
//! Alone in its own test binary because it sets `PG_BIN_DIR` for the whole process.

use embedded_pg::{locate_binaries, Cluster, ClusterConfig, Error};

#[tokio::test]
async fn empty_pg_bin_dir_is_a_clear_error() {
    let empty = tempfile::tempdir().expect("tempdir");
    std::env::set_var("PG_BIN_DIR", empty.path());

    let err = locate_binaries().expect_err("no binaries in an empty dir");
    assert!(matches!(err, Error::BinariesNotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!(
            "PostgreSQL server binaries (initdb, postgres) not found in PG_BIN_DIR={} \
             (when set, the only place searched): install PostgreSQL \
             (e.g. `apt install postgresql`) or set DATABASE_URL to use an existing server",
            empty.path().display()
        )
    );

    let data = tempfile::tempdir().expect("tempdir");
    let err = Cluster::start(ClusterConfig::throwaway(data.path().join("data")))
        .await
        .expect_err("cannot start without binaries");
    assert_eq!(err.to_string(), msg);
    assert!(
        !data.path().join("data").exists(),
        "nothing created before the binaries are found"
    );
}
