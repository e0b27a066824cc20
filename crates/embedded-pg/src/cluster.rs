//! Creating, starting and stopping one cluster.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use crate::binaries::{locate_binaries, Binaries};
use crate::spawner;
use crate::user::ServerUser;
use crate::Error;

/// The port in the socket file name (`.s.PGSQL.5432`). Nothing listens on TCP; the socket
/// lives in a private directory, so every cluster can use the same number.
pub const PORT: u16 = 5432;

/// The superuser created by initdb; trust auth on the private socket, so no password.
const SUPERUSER: &str = "postgres";

/// `sun_path` is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// How long a fast shutdown (SIGINT) may take before we escalate to SIGQUIT, then SIGKILL.
const FAST_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);
const IMMEDIATE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Server log is moved aside to `postgres.log.1` at start once it is bigger than this.
const LOG_ROTATE_BYTES: u64 = 16 << 20;

/// What cluster to run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// The PostgreSQL data directory (`initdb -D`). Created and initialised when it has no
    /// `PG_VERSION`; reused as-is otherwise. Also holds the server log (`log/postgres.log`)
    /// and, when the path is short enough, the server's Unix socket.
    pub data_dir: PathBuf,
    /// A throwaway cluster runs with `fsync=off` (fast, not crash-safe) and its data
    /// directory is deleted when the cluster stops.
    pub throwaway: bool,
    /// How long to wait for the server to accept connections.
    pub startup_timeout: Duration,
}

impl ClusterConfig {
    /// A durable cluster kept across runs (e.g. `standings serve` in `DATA_DIR`).
    pub fn persistent(data_dir: impl Into<PathBuf>) -> Self {
        ClusterConfig {
            data_dir: data_dir.into(),
            throwaway: false,
            startup_timeout: Duration::from_secs(30),
        }
    }

    /// A fast, non-durable cluster whose directory is removed on stop (tests).
    pub fn throwaway(data_dir: impl Into<PathBuf>) -> Self {
        ClusterConfig {
            throwaway: true,
            ..Self::persistent(data_dir)
        }
    }
}

/// A running postmaster, child of this process. Stopped by [`Cluster::stop`] or on drop.
#[derive(Debug)]
pub struct Cluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    /// The socket directory is our own short directory under /tmp, removed on stop.
    tmp_socket_dir: bool,
    log_path: PathBuf,
    throwaway: bool,
    /// False when the data directory turned out to belong to another server: never delete it.
    owns_dir: AtomicBool,
    pid: u32,
    child: Mutex<Option<Child>>,
    stopped: AtomicBool,
}

impl Cluster {
    /// Initialises the data directory if needed, starts the server and waits until it
    /// accepts connections. On failure nothing is left running.
    pub async fn start(config: ClusterConfig) -> Result<Cluster, Error> {
        let timeout = config.startup_timeout;
        // initdb and file-system work block for a while: keep them off the async threads.
        let cluster = tokio::task::spawn_blocking(move || prepare_and_spawn(&config))
            .await
            .map_err(|e| Error::io("cluster start task failed", std::io::Error::other(e)))??;
        // On error `cluster` is dropped here, which stops the child and cleans up.
        cluster.wait_ready(timeout).await?;
        Ok(cluster)
    }

    /// Fast shutdown (SIGINT), escalating to SIGQUIT and SIGKILL if the server hangs, then
    /// waits for it to exit. A throwaway cluster's directory is removed.
    pub async fn stop(self) -> Result<(), Error> {
        tokio::task::spawn_blocking(move || self.shutdown())
            .await
            .map_err(|e| Error::io("cluster stop task failed", std::io::Error::other(e)))?
    }

    /// URL for sqlx (`PgConnectOptions`/`PgPool::connect`): the socket directory goes in
    /// the `host` query parameter. Port and `sslmode` are explicit so `PGPORT`/`PGSSLMODE`
    /// in the environment cannot redirect it.
    pub fn database_url(&self, db: &str) -> String {
        socket_url(&self.socket_dir, db)
    }

    /// The URL of database `db` on a server started by another process in `data_dir` (e.g. a
    /// running `standings serve`), so CLI commands can use it instead of starting their own.
    /// `None` when no live server owns the directory.
    pub fn running_server_url(data_dir: &Path, db: &str) -> Option<String> {
        // postmaster.pid: line 1 pid, line 5 the socket directory.
        let pid_file = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
        let mut lines = pid_file.lines();
        let pid: i32 = lines.next()?.trim().parse().ok()?;
        let socket_dir = lines.nth(3)?.trim();
        (process_alive(pid) && !socket_dir.is_empty())
            .then(|| socket_url(Path::new(socket_dir), db))
    }

    /// Creates database `name` unless it already exists.
    pub async fn create_database(&self, name: &str) -> Result<(), Error> {
        let mut conn = self.connect("postgres").await?;
        // CREATE DATABASE cannot take bind parameters: quote the identifier ourselves.
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        let result = sqlx::raw_sql(&sql).execute(&mut conn).await;
        let _ = conn.close().await;
        match result {
            Ok(_) => Ok(()),
            // duplicate_database, or unique_violation when two creators race.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42P04") | Some("23505")) =>
            {
                Ok(())
            }
            Err(error) => Err(Error::Sql {
                context: format!("cannot create database {name:?}"),
                error,
            }),
        }
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The directory holding the server's Unix socket (`.s.PGSQL.5432`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The server's log file (its stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    async fn connect(&self, db: &str) -> Result<PgConnection, Error> {
        let url = self.database_url(db);
        let sql_err = |context: String| move |error| Error::Sql { context, error };
        let options: PgConnectOptions = url
            .parse()
            .map_err(sql_err(format!("invalid database URL {url}")))?;
        PgConnection::connect_with(&options)
            .await
            .map_err(sql_err(format!("cannot connect to {url}")))
    }

    async fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child_exit_status() {
                if let LockState::Live(pid) =
                    lock_state(&self.data_dir.join("postmaster.pid"), &self.data_dir)
                {
                    // Lost a race with another server for this directory: it is not ours.
                    self.owns_dir.store(false, Ordering::SeqCst);
                    return Err(Error::InUse {
                        dir: self.data_dir.clone(),
                        pid,
                    });
                }
                return Err(Error::ServerExited {
                    dir: self.data_dir.clone(),
                    status,
                    log: self.log_path.clone(),
                    tail: log_tail(&self.log_path),
                });
            }
            if let Ok(Ok(conn)) =
                tokio::time::timeout(Duration::from_secs(2), self.connect("postgres")).await
            {
                let _ = conn.close().await;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::StartTimeout {
                    dir: self.data_dir.clone(),
                    secs: timeout.as_secs(),
                    log: self.log_path.clone(),
                    tail: log_tail(&self.log_path),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn child_exit_status(&self) -> Option<String> {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => Some(status.to_string()),
            Some(Err(e)) => Some(format!("cannot wait for it: {e}")),
            Some(Ok(None)) | None => None,
        }
    }

    /// Synchronous stop shared by [`Cluster::stop`], `Drop` and the test `atexit` hook.
    /// Idempotent.
    pub(crate) fn shutdown(&self) -> Result<(), Error> {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let child = self.child.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut result = match child {
            Some(mut child) => stop_child(&mut child),
            None => Ok(()),
        };
        if self.throwaway && self.owns_dir.load(Ordering::SeqCst) {
            if let Err(e) = remove_dir_all_if_exists(&self.data_dir) {
                result = result.and(Err(Error::io(
                    format!("cannot remove {}", self.data_dir.display()),
                    e,
                )));
            }
        }
        if self.tmp_socket_dir {
            // Only socket and lock files, which the server removes itself on a clean stop.
            let _ = remove_dir_all_if_exists(&self.socket_dir);
        }
        result
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::warn!("stopping PostgreSQL in {}: {e}", self.data_dir.display());
        }
    }
}

/// Blocking half of [`Cluster::start`]: everything up to a spawned postmaster.
fn prepare_and_spawn(config: &ClusterConfig) -> Result<Cluster, Error> {
    let binaries = locate_binaries()?;
    let user = ServerUser::resolve()?;
    let data_dir = std::path::absolute(&config.data_dir).map_err(|e| {
        Error::io(
            format!("invalid data directory {}", config.data_dir.display()),
            e,
        )
    })?;

    let mut initialised_here = false;
    let result = (|| {
        if data_dir.join("PG_VERSION").exists() {
            check_owner(&data_dir, &user)?;
            user.check_reachable(&data_dir, &binaries.postgres)?;
        } else {
            create_private_dir(&data_dir, &user)?;
            user.check_reachable(&data_dir, &binaries.postgres)?;
            initialised_here = true;
            initdb(&binaries, &user, &data_dir, config.throwaway)?;
        }
        spawn_postmaster(&binaries, &user, &data_dir, config.throwaway)
    })();
    match result {
        Ok((child, socket_dir, tmp_socket_dir, log_path)) => Ok(Cluster {
            pid: child.id(),
            child: Mutex::new(Some(child)),
            data_dir,
            socket_dir,
            tmp_socket_dir,
            log_path,
            throwaway: config.throwaway,
            owns_dir: AtomicBool::new(true),
            stopped: AtomicBool::new(false),
        }),
        Err(e) => {
            if config.throwaway && initialised_here {
                let _ = remove_dir_all_if_exists(&data_dir);
            }
            Err(e)
        }
    }
}

/// Creates `dir` (mode 0700, owned by the server user) if missing. An existing directory
/// must be empty: initdb needs that, and we must not chmod/chown someone's files.
fn create_private_dir(dir: &Path, user: &ServerUser) -> Result<(), Error> {
    let io = |what: &str| {
        let context = format!("{what} {}", dir.display());
        move |e| Error::io(context, e)
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::io(
                    format!(
                        "data directory {} is not empty and is not a PostgreSQL cluster (no PG_VERSION)",
                        dir.display()
                    ),
                    std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io("cannot create data directory"))?;
        }
        Err(e) => return Err(io("cannot read data directory")(e)),
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io("cannot chmod data directory"))?;
    user.chown(dir)
}

fn check_owner(dir: &Path, user: &ServerUser) -> Result<(), Error> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| Error::io(format!("cannot stat {}", dir.display()), e))?;
    if meta.uid() != user.uid {
        return Err(Error::DataDirWrongOwner {
            dir: dir.to_owned(),
            owner: meta.uid(),
            user: user.name.clone(),
            uid: user.uid,
        });
    }
    Ok(())
}

fn initdb(
    binaries: &Binaries,
    user: &ServerUser,
    dir: &Path,
    throwaway: bool,
) -> Result<(), Error> {
    tracing::info!("initialising PostgreSQL cluster in {}", dir.display());
    let mut cmd = Command::new(&binaries.initdb);
    cmd.arg("-D")
        .arg(dir)
        .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
        .current_dir(dir)
        .stdin(Stdio::null());
    if throwaway {
        // Skips fsyncing every file: initdb takes a fraction of the time.
        cmd.arg("--no-sync");
    }
    user.apply(&mut cmd);
    let out = cmd
        .output()
        .map_err(|e| Error::io(format!("cannot run {}", binaries.initdb.display()), e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let stderr = if stderr.is_empty() {
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        } else {
            stderr
        };
        return Err(Error::Initdb {
            dir: dir.to_owned(),
            status: out.status.to_string(),
            stderr,
        });
    }
    Ok(())
}

type Spawned = (Child, PathBuf, bool, PathBuf);

fn spawn_postmaster(
    binaries: &Binaries,
    user: &ServerUser,
    data_dir: &Path,
    throwaway: bool,
) -> Result<Spawned, Error> {
    let io = |context: String| move |e| Error::io(context, e);

    let (socket_dir, tmp_socket_dir) = socket_dir_for(data_dir, user)?;
    for lock in [
        data_dir.join("postmaster.pid"),
        socket_dir.join(format!(".s.PGSQL.{PORT}.lock")),
    ] {
        match lock_state(&lock, data_dir) {
            LockState::Live(pid) => {
                return Err(Error::InUse {
                    dir: data_dir.to_owned(),
                    pid,
                })
            }
            // postgres refuses to start while the recorded pid is alive, even when it now
            // belongs to an unrelated process; such a file is ours to remove.
            LockState::StaleAlive => {
                let _ = std::fs::remove_file(&lock);
            }
            LockState::Free => {}
        }
    }

    let log_dir = data_dir.join("log");
    std::fs::create_dir_all(&log_dir)
        .map_err(io(format!("cannot create {}", log_dir.display())))?;
    user.chown(&log_dir)?;
    let log_path = log_dir.join("postgres.log");
    if std::fs::metadata(&log_path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
        let _ = std::fs::rename(&log_path, log_dir.join("postgres.log.1"));
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io(format!("cannot open {}", log_path.display())))?;
    user.chown(&log_path)?;
    let log_err = log
        .try_clone()
        .map_err(io(format!("cannot open {}", log_path.display())))?;

    let mut settings = vec![
        // Unix socket only: parallel clusters never collide, nothing is exposed.
        "listen_addresses=".to_owned(),
        format!("unix_socket_directories={}", socket_dir.display()),
        format!("port={PORT}"),
        "max_connections=200".to_owned(),
        "shared_buffers=128MB".to_owned(),
        // stderr is our log file; never a collector writing elsewhere.
        "logging_collector=off".to_owned(),
        "log_destination=stderr".to_owned(),
    ];
    if throwaway {
        // Not crash-safe, but the directory is deleted anyway and tests get much faster.
        settings.extend(
            [
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
            ]
            .map(String::from),
        );
    }

    let mut cmd = Command::new(&binaries.postgres);
    cmd.arg("-D").arg(data_dir);
    for s in &settings {
        cmd.arg("-c").arg(s);
    }
    cmd.current_dir(data_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Own process group: a terminal's Ctrl-C reaches only us, and we stop the server
        // in order (after our own shutdown work) instead of it racing us.
        .process_group(0);
    user.apply(&mut cmd);
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
    // calls (prctl, getppid) and allocates nothing. std runs it after setgid/setuid, which
    // matters: changing credentials clears the parent-death signal.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGQUIT as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // We may have died between fork and prctl: then nobody would ever stop it.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    tracing::info!("starting PostgreSQL in {}", data_dir.display());
    let child =
        spawner::spawn(cmd).map_err(io(format!("cannot start {}", binaries.postgres.display())))?;
    Ok((child, socket_dir, tmp_socket_dir, log_path))
}

/// The data directory itself when `<dir>/.s.PGSQL.5432` fits in `sun_path` and the path
/// is safe in `unix_socket_directories` (a comma-separated list); else a private
/// `/tmp/standings-pg-<hash of data dir>` (returned flag = true).
fn socket_dir_for(data_dir: &Path, user: &ServerUser) -> Result<(PathBuf, bool), Error> {
    let bytes = data_dir.as_os_str().as_bytes();
    let socket_len = bytes.len() + format!("/.s.PGSQL.{PORT}").len();
    let plain = std::str::from_utf8(bytes).is_ok_and(|s| {
        !s.chars()
            .any(|c| c == ',' || c == '"' || c == '\'' || c.is_whitespace() || c == '\\')
    });
    if socket_len <= MAX_SOCKET_PATH && plain {
        return Ok((data_dir.to_owned(), false));
    }
    let dir = PathBuf::from(format!("/tmp/standings-pg-{:016x}", fnv1a(bytes)));
    let io = |what: &str| {
        let context = format!("{what} socket directory {}", dir.display());
        move |e| Error::io(context, e)
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => user.chown(&dir)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // /tmp is shared: only accept a real directory that the server user owns.
            let meta = std::fs::symlink_metadata(&dir).map_err(io("cannot stat"))?;
            if !meta.is_dir() || meta.uid() != user.uid {
                return Err(Error::io(
                    format!(
                        "socket directory {} exists but is not a directory owned by uid {}",
                        dir.display(),
                        user.uid
                    ),
                    std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                ));
            }
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io("cannot chmod"))?;
        }
        Err(e) => return Err(io("cannot create")(e)),
    }
    Ok((dir, true))
}

/// Stable across builds (unlike `DefaultHasher`), so a reused cluster finds its socket dir.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug, PartialEq, Eq)]
enum LockState {
    /// No lock, or its pid is dead: postgres handles that itself (including the check
    /// that no orphaned backend still uses the old shared memory).
    Free,
    /// The pid is alive but is not a postgres of this data directory (pid reuse).
    StaleAlive,
    /// A postgres running in this data directory holds it.
    Live(i32),
}

/// Who holds a postgres lock file (`postmaster.pid` or a socket's `.lock`): its first
/// line is the owner's pid (negative for a single-user backend).
fn lock_state(lock: &Path, data_dir: &Path) -> LockState {
    let Ok(text) = std::fs::read_to_string(lock) else {
        return LockState::Free;
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
        .map(i32::abs)
        .filter(|p| *p > 0)
    else {
        return LockState::Free;
    };
    if !process_alive(pid) {
        return LockState::Free;
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if !(comm.trim() == "postgres" || comm.trim() == "postmaster") {
        return LockState::StaleAlive;
    }
    // Every postgres process runs with the data directory as its working directory.
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
    let ours = std::fs::canonicalize(data_dir);
    match (cwd, ours) {
        (Ok(cwd), Ok(ours)) if cwd != ours => LockState::StaleAlive,
        // Unreadable (another user's process): assume the worst.
        _ => LockState::Live(pid),
    }
}

/// Alive and not a zombie (an unreaped zombie still answers `kill(pid, 0)`).
pub(crate) fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence/permission.
    let exists = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Format: "pid (comm) S ..."; comm may contain spaces or parens, so split at the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => exists,
    }
}

fn stop_child(child: &mut Child) -> Result<(), Error> {
    let pid = child.id() as libc::pid_t;
    let io = |e| Error::io(format!("cannot wait for PostgreSQL (pid {pid})"), e);
    for (signal, timeout) in [
        (libc::SIGINT, FAST_SHUTDOWN_TIMEOUT),
        (libc::SIGQUIT, IMMEDIATE_SHUTDOWN_TIMEOUT),
    ] {
        if child.try_wait().map_err(io)?.is_some() {
            return Ok(());
        }
        // SAFETY: `pid` is our unreaped child, so it cannot have been reused.
        unsafe { libc::kill(pid, signal) };
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if child.try_wait().map_err(io)?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::warn!("PostgreSQL (pid {pid}) did not stop after signal {signal}; escalating");
    }
    let _ = child.kill();
    child.wait().map_err(io)?;
    Ok(())
}

fn remove_dir_all_if_exists(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// The last lines of the server log, for startup errors.
fn log_tail(log: &Path) -> String {
    const MAX_BYTES: u64 = 4096;
    const MAX_LINES: usize = 20;
    let mut text = String::new();
    if let Ok(mut f) = File::open(log) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        text = String::from_utf8_lossy(&buf).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(MAX_LINES)..].join("\n");
    if tail.is_empty() {
        "(log is empty)".to_owned()
    } else {
        tail
    }
}

fn socket_url(socket_dir: &Path, db: &str) -> String {
    format!(
        "postgres://{SUPERUSER}@localhost:{PORT}/{}?host={}&sslmode=disable",
        percent_encode(db.as_bytes(), false),
        percent_encode(socket_dir.as_os_str().as_bytes(), true),
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `/` in paths).
fn percent_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_round_trips_through_sqlx() {
        let opts: PgConnectOptions = format!(
            "postgres://postgres@localhost:5432/{}?host={}",
            percent_encode("weird db+name/ä".as_bytes(), false),
            percent_encode("/tmp/a b+c/ä".as_bytes(), true),
        )
        .parse()
        .expect("valid url");
        assert_eq!(opts.get_database(), Some("weird db+name/ä"));
        assert_eq!(opts.get_socket(), Some(&PathBuf::from("/tmp/a b+c/ä")));
        assert_eq!(opts.get_port(), 5432);
    }

    #[test]
    fn long_data_dir_gets_short_private_socket_dir() {
        let user = ServerUser::resolve().expect("user");
        let long = PathBuf::from(format!("/nonexistent/{}", "x".repeat(100)));
        let (dir, tmp) = socket_dir_for(&long, &user).expect("socket dir");
        assert!(tmp);
        assert!(
            dir.to_string_lossy().starts_with("/tmp/standings-pg-"),
            "{}",
            dir.display()
        );
        assert!(dir.as_os_str().len() + 14 <= MAX_SOCKET_PATH);
        let meta = std::fs::symlink_metadata(&dir).expect("created");
        assert_eq!(meta.mode() & 0o777, 0o700);
        assert_eq!(meta.uid(), user.uid);
        // Same data dir, same socket dir (a reused cluster must find it again).
        assert_eq!(socket_dir_for(&long, &user).expect("again").0, dir);
        std::fs::remove_dir(&dir).expect("cleanup");

        let short = PathBuf::from("/tmp/short");
        assert_eq!(
            socket_dir_for(&short, &user).expect("short"),
            (short, false)
        );
    }

    #[test]
    fn lock_state_classifies_pids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = dir.path().join("postmaster.pid");
        assert_eq!(lock_state(&lock, dir.path()), LockState::Free);
        // Our own pid: alive, but not a postgres.
        std::fs::write(
            &lock,
            format!("{}\n{}\n", std::process::id(), dir.path().display()),
        )
        .expect("write");
        assert_eq!(lock_state(&lock, dir.path()), LockState::StaleAlive);
        // A pid that is certainly dead (reaped child).
        let mut child = Command::new("true").spawn().expect("spawn true");
        let dead = child.id();
        child.wait().expect("wait");
        std::fs::write(&lock, format!("{dead}\n")).expect("write");
        assert_eq!(lock_state(&lock, dir.path()), LockState::Free);
        std::fs::write(&lock, "garbage\n").expect("write");
        assert_eq!(lock_state(&lock, dir.path()), LockState::Free);
    }

    #[test]
    fn zombie_is_not_alive() {
        let mut child = Command::new("true").spawn().expect("spawn true");
        let pid = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(5);
        while process_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!process_alive(pid), "exited (zombie) child counts as dead");
        child.wait().expect("reap");
        assert!(process_alive(std::process::id() as i32));
    }
}
