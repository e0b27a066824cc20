//! Finding the PostgreSQL server binaries.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::Error;

/// Absolute paths of the server binaries this crate runs.
///
/// `initdb` and `postgres` always come from the same directory so their versions match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub bin_dir: PathBuf,
    pub initdb: PathBuf,
    pub postgres: PathBuf,
}

/// Where Debian/Ubuntu install one directory per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Locates `initdb` and `postgres`.
///
/// Order: `$PG_BIN_DIR` if set (and then *only* there, so a wrong value is reported rather
/// than silently ignored), else the first `$PATH` entry holding both, else the highest
/// version under `/usr/lib/postgresql/*/bin` (Debian does not put them on PATH).
pub fn locate_binaries() -> Result<Binaries, Error> {
    locate_in(
        std::env::var_os("PG_BIN_DIR"),
        std::env::var_os("PATH"),
        Path::new(DEBIAN_ROOT),
    )
}

pub(crate) fn locate_in(
    pg_bin_dir: Option<OsString>,
    path: Option<OsString>,
    debian_root: &Path,
) -> Result<Binaries, Error> {
    if let Some(dir) = pg_bin_dir.filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return in_dir(&dir).ok_or_else(|| Error::BinariesNotFound {
            searched: format!(
                "in PG_BIN_DIR={} (when set, the only place searched)",
                dir.display()
            ),
        });
    }
    if let Some(path) = path {
        if let Some(found) = std::env::split_paths(&path).find_map(|d| in_dir(&d)) {
            return Ok(found);
        }
    }
    let mut versions: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(debian_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = parse_version(name.to_str()?)?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions
        .iter()
        .rev()
        .find_map(|(_, dir)| in_dir(dir))
        .ok_or_else(|| Error::BinariesNotFound {
            searched: format!("on PATH or under {}/*/bin", debian_root.display()),
        })
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else is not a version directory.
fn parse_version(name: &str) -> Option<Vec<u64>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn in_dir(dir: &Path) -> Option<Binaries> {
    let initdb = dir.join("initdb");
    let postgres = dir.join("postgres");
    if is_executable(&initdb) && is_executable(&postgres) {
        // Absolute paths, because we change the working directory of the children.
        let bin_dir = std::path::absolute(dir).ok()?;
        Some(Binaries {
            initdb: bin_dir.join("initdb"),
            postgres: bin_dir.join("postgres"),
            bin_dir,
        })
    } else {
        None
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_bin_dir(root: &Path, rel: &str) -> PathBuf {
        let dir = root.join(rel);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for name in ["initdb", "postgres"] {
            let p = dir.join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        dir
    }

    #[test]
    fn picks_highest_debian_version_numerically() {
        let root = tempfile::tempdir().expect("tempdir");
        fake_bin_dir(root.path(), "9.6/bin");
        let want = fake_bin_dir(root.path(), "15/bin");
        fake_bin_dir(root.path(), "not-a-version/bin");
        std::fs::create_dir_all(root.path().join("17/bin")).expect("mkdir"); // empty: skipped
        let found = locate_in(None, Some("".into()), root.path()).expect("found");
        assert_eq!(found.bin_dir, want);
        assert_eq!(found.initdb, want.join("initdb"));
    }

    #[test]
    fn path_wins_over_debian_dirs_and_needs_both_binaries() {
        let root = tempfile::tempdir().expect("tempdir");
        let only_initdb = root.path().join("half");
        std::fs::create_dir_all(&only_initdb).expect("mkdir");
        std::fs::write(only_initdb.join("initdb"), "").expect("write");
        let on_path = fake_bin_dir(root.path(), "onpath");
        fake_bin_dir(root.path(), "debian/15/bin");
        let path = std::env::join_paths([&only_initdb, &on_path]).expect("join");
        let found = locate_in(None, Some(path), &root.path().join("debian")).expect("found");
        assert_eq!(found.bin_dir, on_path);
    }

    #[test]
    fn pg_bin_dir_is_exclusive() {
        let root = tempfile::tempdir().expect("tempdir");
        let on_path = fake_bin_dir(root.path(), "onpath");
        let empty = root.path().join("empty");
        std::fs::create_dir_all(&empty).expect("mkdir");
        let err = locate_in(
            Some(empty.clone().into()),
            Some(on_path.into()),
            root.path(),
        )
        .expect_err("must not fall back to PATH");
        let msg = err.to_string();
        assert!(msg.contains("PG_BIN_DIR="), "{msg}");
        assert!(msg.contains(&*empty.to_string_lossy()), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn nothing_found_is_one_clear_line() {
        let root = tempfile::tempdir().expect("tempdir");
        let err = locate_in(None, None, &root.path().join("missing")).expect_err("nothing");
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "PostgreSQL server binaries (initdb, postgres) not found on PATH or under"
            ),
            "{msg}"
        );
        assert!(msg.contains("DATABASE_URL"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
