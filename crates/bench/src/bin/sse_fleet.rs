//! 100,000 SSE subscribers on one machine: several `standings serve --role api` processes
//! against one PostgreSQL, several client processes, one nudge inserted the way the projector
//! does it (`nudge_log` row + NOTIFY, one transaction), and the time each of the streams takes
//! to receive it. Loopback only; bounded in time and count.
//!
//! ```text
//! sse_fleet run [--streams 100000] [--servers 6] [--clients 6] [--nudges 5]
//!               [--sources-per-client 1] [--standings PATH] [--pool-size 3]
//! sse_fleet client --target ADDR --connections N --sources 127.0.0.2[,127.0.0.3…]
//! ```
//!
//! `run` starts a throwaway PostgreSQL (embedded-pg), `--servers` api processes (the real
//! binary: hub, `run_feed`, `LeanListener`), then `--clients` copies of itself in `client` mode,
//! each holding its share of the streams from its own loopback source addresses (one address
//! gives ~28k ephemeral ports; one process holds at most ~19,900 sockets). Every process shares
//! the machine's `CLOCK_MONOTONIC`: the latency of a delivery is the client's receive instant
//! minus the instant just before `COMMIT` of the nudge's transaction.
//!
//! RSS per stream of each api process: `VmRSS` once the server idles, and again once every
//! stream is open, divided by its streams.
//!
//! Client protocol (stdin/stdout lines): the client prints `ready OPEN FAILED` once every
//! connection got its first frame; `collect ID MS` makes it wait up to MS ms until every open
//! stream received nudge ID, then print `times ID N T1 … TN` (monotonic ns); `quit` ends it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bench::procstat;
use clap::{Parser, Subcommand};
use embedded_pg::{Cluster, ClusterConfig};
use projections::nudge::{NudgeKind, Nudges};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, Semaphore};

/// Sockets one process may hold (open-file limit 20,000, less room for everything else).
const MAX_PER_PROCESS: usize = 19_000;

#[derive(Parser)]
#[command(about = "100k SSE subscribers across several api processes (loopback only)")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Run the whole benchmark.
    Run(RunArgs),
    /// One client process (started by `run`).
    Client(ClientArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Streams held in total, split evenly over the api processes.
    #[arg(long, default_value_t = 100_000)]
    streams: usize,
    /// `standings serve --role api` processes.
    #[arg(long, default_value_t = 6)]
    servers: usize,
    /// Client processes (each targets one server, round robin; at most 19,000 streams each).
    #[arg(long)]
    clients: Option<usize>,
    /// Nudges inserted, one at a time, one second apart.
    #[arg(long, default_value_t = 5)]
    nudges: usize,
    /// Loopback source addresses per client (127.0.0.2 and up, never shared between clients).
    #[arg(long, default_value_t = 1)]
    sources_per_client: usize,
    /// The `standings` binary (default: next to this one).
    #[arg(long)]
    standings: Option<PathBuf>,
    /// DB_POOL_SIZE of each api process.
    #[arg(long, default_value_t = 3)]
    pool_size: u32,
    /// How long one nudge may take to reach every stream before the run reports a loss.
    #[arg(long, default_value_t = 30_000)]
    collect_timeout_ms: u64,
}

#[derive(clap::Args)]
struct ClientArgs {
    /// The api process to connect to (loopback).
    #[arg(long)]
    target: SocketAddr,
    #[arg(long)]
    connections: usize,
    /// Comma-separated loopback source addresses.
    #[arg(long, value_delimiter = ',')]
    sources: Vec<Ipv4Addr>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Mode::Run(args) => tokio::runtime::Runtime::new()?.block_on(run(args)),
        // One thread: the client's job is to read, and the machine has two cores for all.
        Mode::Client(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(client(args)),
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the same clock in every process of the machine.
fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Raises the soft open-file limit to the hard one (children inherit it).
fn raise_nofile() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointers to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// A child process whose stdout lines arrive on a channel (a thread drains it, so the child
/// never blocks on a full pipe).
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std_mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(mut command: Command) -> anyhow::Result<Proc> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawn {command:?}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stdin = child.stdin.take();
        let (tx, lines) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Proc {
            child,
            stdin,
            lines,
        })
    }

    /// The next stdout line starting with `prefix` (others are skipped).
    fn expect(&self, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(_) => {}
                Err(_) => bail!(
                    "process {} said no `{prefix}` line within {timeout:?}",
                    self.child.id()
                ),
            }
        }
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// SIGTERM, then SIGKILL after `grace`.
    fn stop(&mut self, grace: Duration) {
        self.stdin = None;
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let nofile = raise_nofile();
    let clients = args.clients.unwrap_or(args.servers);
    if args.servers == 0 || clients < args.servers || args.streams == 0 {
        bail!("need --servers ≥ 1, --clients ≥ --servers and --streams ≥ 1");
    }
    let per_server = args.streams.div_ceil(args.servers);
    if per_server > MAX_PER_PROCESS {
        bail!("{per_server} streams per server: more servers, please (at most {MAX_PER_PROCESS} each; open-file limit {nofile})");
    }
    // Client k targets server k % servers; a server's streams are split over its clients.
    let mut shares = vec![0usize; clients];
    for server in 0..args.servers {
        let mine: Vec<usize> = (server..clients).step_by(args.servers).collect();
        let total = per_server.min(args.streams - (server * per_server).min(args.streams));
        for (i, &k) in mine.iter().enumerate() {
            shares[k] = total / mine.len() + usize::from(i < total % mine.len());
        }
    }
    if shares.iter().any(|&s| s > MAX_PER_PROCESS) {
        bail!("a client would hold more than {MAX_PER_PROCESS} streams: more --clients");
    }
    let sources = args.sources_per_client.max(1);
    if 2 + clients * sources > 254 {
        bail!("not enough loopback source addresses");
    }
    let standings = match &args.standings {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("exe dir")?
            .join("standings"),
    };
    if !standings.exists() {
        bail!(
            "{} not found: cargo build --release -p standings (or --standings PATH)",
            standings.display()
        );
    }
    println!(
        "load average at start: {}; open-file limit {nofile}",
        load_average()
    );

    let dir = bench::rig::data_dir("standings-fleet-")?;
    let cluster = Cluster::start(ClusterConfig::throwaway(&dir))
        .await
        .context("start PostgreSQL")?;
    let mut servers: Vec<Proc> = Vec::new();
    let mut client_procs: Vec<Proc> = Vec::new();
    let outcome = fleet(
        &args,
        &cluster,
        &standings,
        &shares,
        sources,
        &mut servers,
        &mut client_procs,
    )
    .await;
    for client in &mut client_procs {
        let _ = client.send("quit");
    }
    // Servers first: they close the streams, so the TIME_WAIT sockets are theirs and the
    // clients' source ports are free for the next run at once.
    for server in &mut servers {
        server.stop(Duration::from_secs(10));
    }
    for client in &mut client_procs {
        client.stop(Duration::from_secs(10));
    }
    cluster.stop().await.context("stop PostgreSQL")?;
    outcome
}

async fn fleet(
    args: &RunArgs,
    cluster: &Cluster,
    standings: &PathBuf,
    shares: &[usize],
    sources: usize,
    servers: &mut Vec<Proc>,
    clients: &mut Vec<Proc>,
) -> anyhow::Result<()> {
    cluster.create_database("fleet").await?;
    let url = cluster.database_url("fleet");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await?;
    store::migrate(&pool).await?;

    let mut addrs = Vec::new();
    for _ in 0..args.servers {
        let mut command = Command::new(standings);
        command
            .args(["serve", "--role", "api"])
            .env("DATABASE_URL", &url)
            .env("BIND", "127.0.0.1:0")
            .env("DB_POOL_SIZE", args.pool_size.to_string())
            .env("ENVIRONMENT", "production")
            .env("LOG_LEVEL", "warn")
            // Every stream comes from loopback: no per-client connect limit in a benchmark.
            .env("RATE_LIMIT_PER_MINUTE", "0")
            // Fan-out only: the coalescing window would hold each nudge for its length.
            .env("NUDGE_COALESCE_MILLIS", "0")
            .stderr(Stdio::inherit());
        let server = Proc::spawn(command)?;
        let line = server.expect("standings: listening on http://", Duration::from_secs(30))?;
        let addr: SocketAddr = line
            .trim_start_matches("standings: listening on http://")
            .trim()
            .parse()?;
        addrs.push(addr);
        servers.push(server);
    }
    // Let every feed start and the processes settle before the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<Option<u64>> = servers.iter().map(|s| rss_kib(s.child.id())).collect();

    let exe = std::env::current_exe()?;
    let started = Instant::now();
    for (k, &share) in shares.iter().enumerate() {
        let source_list: Vec<String> = (0..sources)
            .map(|j| format!("127.0.0.{}", 2 + k * sources + j))
            .collect();
        let mut command = Command::new(&exe);
        command
            .arg("client")
            .arg("--target")
            .arg(addrs[k % args.servers].to_string())
            .arg("--connections")
            .arg(share.to_string())
            .arg("--sources")
            .arg(source_list.join(","))
            .stderr(Stdio::inherit());
        clients.push(Proc::spawn(command)?);
    }
    let mut held = 0;
    let mut failed = 0;
    for client in clients.iter() {
        let line = client.expect("ready ", Duration::from_secs(300))?;
        let mut parts = line.split_whitespace().skip(1);
        held += parts
            .next()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        failed += parts
            .next()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
    }
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after: Vec<Option<u64>> = servers.iter().map(|s| rss_kib(s.child.id())).collect();
    println!(
        "streams: {held} open ({failed} failed) over {} api processes, {} client processes, in {:.1} s",
        servers.len(),
        clients.len(),
        opened_in.as_secs_f64()
    );
    let mut per_server_streams = vec![0usize; args.servers];
    for (k, share) in shares.iter().enumerate() {
        per_server_streams[k % args.servers] += share;
    }
    let mut total_delta = 0.0;
    for (i, server) in servers.iter().enumerate() {
        if let (Some(b), Some(a)) = (before[i], after[i]) {
            let per = (a as f64 - b as f64) / per_server_streams[i].max(1) as f64;
            total_delta += a as f64 - b as f64;
            println!(
                "api {} (pid {}): RSS {b} KiB idle → {a} KiB with {} streams: {per:.2} KiB per stream",
                addrs[i],
                server.child.id(),
                per_server_streams[i]
            );
        }
    }
    println!(
        "all api processes: {:.2} KiB per stream",
        total_delta / held.max(1) as f64
    );

    // CPU of the benchmark's own processes vs. the whole machine while nudging: what is left
    // went to other processes (other builds on a shared machine).
    let ours = |servers: &[Proc], clients: &[Proc]| -> (f64, f64, f64) {
        let api: f64 = servers
            .iter()
            .map(|s| procstat::process_cpu(s.child.id()))
            .sum();
        let cli: f64 = clients
            .iter()
            .map(|c| procstat::process_cpu(c.child.id()))
            .sum();
        (api, cli, procstat::server_cpu(cluster.pid()))
    };
    let cpu = |servers: &[Proc], clients: &[Proc]| {
        let (api, cli, pg) = ours(servers, clients);
        let (busy, softirq) = procstat::machine_busy();
        [api, cli, pg, softirq, busy]
    };
    let first = cpu(servers, clients);
    let mut all: Vec<f64> = Vec::new();
    for n in 0..args.nudges {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let load = load_average();
        let before = cpu(servers, clients);
        let (id, sent) = insert_nudge(&pool).await?;
        let mut mine = Vec::with_capacity(held);
        for client in clients.iter_mut() {
            client.send(&format!("collect {id} {}", args.collect_timeout_ms))?;
        }
        for client in clients.iter() {
            let line = client.expect(
                &format!("times {id} "),
                Duration::from_millis(args.collect_timeout_ms + 10_000),
            )?;
            mine.extend(
                line.split_whitespace()
                    .skip(3)
                    .filter_map(|t| t.parse::<u64>().ok())
                    .map(|t| t.saturating_sub(sent) as f64 / 1e6),
            );
        }
        mine.sort_by(f64::total_cmp);
        println!(
            "nudge {} (id {id}, load {load}): {}/{held} streams; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {}",
            n + 1,
            mine.len(),
            pct(&mine, 0.50),
            pct(&mine, 0.99),
            pct(&mine, 1.0),
            cpu_split(&before, &cpu(servers, clients))
        );
        all.extend(mine);
    }
    all.sort_by(f64::total_cmp);
    println!(
        "all {} deliveries ({} nudges × {held} streams): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        args.nudges,
        pct(&all, 0.50),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    println!("all nudges: {}", cpu_split(&first, &cpu(servers, clients)));
    let rss: Vec<String> = servers
        .iter()
        .map(|s| format!("{}", rss_kib(s.child.id()).unwrap_or(0)))
        .collect();
    println!("api RSS after the nudges (KiB): {}", rss.join(", "));
    println!("load average at the end: {}", load_average());
    Ok(())
}

/// CPU seconds between two samples of `[api, clients, postgres, softirq, machine busy]`.
fn cpu_split(before: &[f64; 5], after: &[f64; 5]) -> String {
    let d: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    format!(
        "CPU s: api {:.2}, clients {:.2}, postgres {:.2}, softirq {:.2}, anything else {:.2}",
        d[0],
        d[1],
        d[2],
        d[3],
        (d[4] - d[0] - d[1] - d[2]).max(0.0)
    )
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One `standings` nudge for every tournament, written by the projector's own
/// [`projections::runner::announce`] in a transaction of its own. Returns its id and the
/// monotonic instant just before `COMMIT` (when it becomes visible).
async fn insert_nudge(pool: &sqlx::PgPool) -> anyhow::Result<(i64, u64)> {
    let mut nudges = Nudges::default();
    nudges.touch_everyone(NudgeKind::Standings);
    let mut tx = pool.begin().await?;
    projections::runner::announce(&mut tx, &nudges, 0).await?;
    // The transaction holds the nudge writers' lock: the newest id is ours.
    let id: i64 = sqlx::query_scalar("SELECT max(id) FROM public.nudge_log")
        .fetch_one(&mut *tx)
        .await?;
    let sent = mono_ns();
    tx.commit().await?;
    Ok((id, sent))
}

// ------------------------------------------------------------------------------ client

// The connect loop is `sse_load`'s (crates/sse/src/bin/sse_load.rs) with a greeting count and
// a wider deadline: copied, because a binary's functions cannot be imported, and moving them
// into `sse`'s library would ship load-test code with the server.
async fn client(args: ClientArgs) -> anyhow::Result<()> {
    raise_nofile();
    if !args.target.ip().is_loopback() || args.sources.iter().any(|s| !s.is_loopback()) {
        bail!("loopback only");
    }
    if args.sources.is_empty() || args.connections > MAX_PER_PROCESS {
        bail!("need --sources and at most {MAX_PER_PROCESS} connections");
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<(i64, u64)>();
    let open = Arc::new(AtomicUsize::new(0));
    let greeted = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(256));
    let request = Arc::new(format!(
        "GET /v1/stream HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        args.target
    ));
    for i in 0..args.connections {
        let source = args.sources[i % args.sources.len()];
        let (tx, open, greeted, failed, gate, request) = (
            tx.clone(),
            open.clone(),
            greeted.clone(),
            failed.clone(),
            gate.clone(),
            request.clone(),
        );
        let target = args.target;
        tokio::spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return;
            };
            match connect(source, target, request.as_bytes()).await {
                Ok(tcp) => {
                    open.fetch_add(1, Ordering::Relaxed);
                    drop(permit);
                    read_ids(tcp, tx, &greeted).await;
                    open.fetch_sub(1, Ordering::Relaxed);
                }
                Err(e) => {
                    if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("client: connect from {source}: {e}");
                    }
                }
            }
        });
    }
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(240);
    while greeted.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < args.connections {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "ready {} {}",
        open.load(Ordering::Relaxed),
        args.connections - open.load(Ordering::Relaxed)
    );

    // Commands arrive on stdin (a blocking read, on its own thread).
    let (cmd_tx, mut commands) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if cmd_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut arrivals: HashMap<i64, Vec<u64>> = HashMap::new();
    while let Some(command) = commands.recv().await {
        let mut parts = command.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some("collect"), Some(id), Some(ms)) => {
                let id: i64 = id.parse()?;
                let until = Instant::now() + Duration::from_millis(ms.parse()?);
                loop {
                    while let Ok((seen, at)) = rx.try_recv() {
                        arrivals.entry(seen).or_default().push(at);
                    }
                    let got = arrivals.get(&id).map_or(0, Vec::len);
                    if got >= open.load(Ordering::Relaxed) || Instant::now() >= until {
                        break;
                    }
                    match tokio::time::timeout_at(until.into(), rx.recv()).await {
                        Ok(Some((seen, at))) => arrivals.entry(seen).or_default().push(at),
                        Ok(None) | Err(_) => break,
                    }
                }
                let times = arrivals.remove(&id).unwrap_or_default();
                let mut out = format!("times {id} {}", times.len());
                for t in &times {
                    out.push(' ');
                    out.push_str(&t.to_string());
                }
                println!("{out}");
                arrivals.retain(|&seen, _| seen > id);
            }
            (Some("quit"), _, _) => break,
            _ => eprintln!("client: unknown command {command:?}"),
        }
    }
    Ok(())
}

async fn connect(source: Ipv4Addr, addr: SocketAddr, request: &[u8]) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.into(), 0))?;
    let mut tcp = tokio::time::timeout(Duration::from_secs(20), socket.connect(addr))
        .await
        .map_err(|_| anyhow!("connect timed out"))??;
    tcp.set_nodelay(true)?;
    tcp.write_all(request).await?;
    Ok(tcp)
}

/// Reports every `id: N` line (with its arrival instant) after the first frame, which only
/// counts as "greeted".
async fn read_ids(
    mut tcp: TcpStream,
    tx: mpsc::UnboundedSender<(i64, u64)>,
    greeted: &AtomicUsize,
) {
    let mut buf = [0u8; 512];
    let mut line: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        let n = match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let at = mono_ns();
        for &b in &buf[..n] {
            if b == b'\n' {
                if let Some(id) = line.strip_prefix(b"id: ") {
                    if let Some(id) = std::str::from_utf8(id).ok().and_then(|s| s.parse().ok()) {
                        if first {
                            first = false;
                            greeted.fetch_add(1, Ordering::Relaxed);
                        } else if tx.send((id, at)).is_err() {
                            return;
                        }
                    }
                }
                line.clear();
            } else if line.len() < 64 {
                line.push(b);
            }
        }
    }
}
