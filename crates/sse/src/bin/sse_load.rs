//! SSE load test, loopback only: opens N streams (spread over source addresses 127.0.0.2, …),
//! publishes nudges one at a time, and reports how long each took to reach every subscriber
//! (p50 / p99 / max over all deliveries) and the server's RSS per stream.
//!
//! ```text
//! sse_load run [--connections 10000] [--nudges 10] [--sources 4] [--lean]
//!     spawns `sse_load server` (a hub and the real /v1/stream route, no database, plus
//!     POST /publish) as a child process and measures it; `--lean` serves it through
//!     `LeanListener` instead of `axum::serve` + `StallGuard`
//! sse_load run --url http://127.0.0.1:8080/v1/stream --database-url postgres://… --server-pid P
//!     measures a running `standings serve`, publishing by inserting nudge_log rows + NOTIFY
//! sse_load server [--bind 127.0.0.1:0] [--lean]
//! ```
//! One process holds at most ~19,900 sockets here (open-file limit 20,000), so `--connections`
//! is capped at 19,500.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, Semaphore};

const MAX_CONNECTIONS: usize = 19_500;
const NUDGE_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("server") => runtime.block_on(server(&args[1..])),
        Some("run") => runtime.block_on(run(&args[1..])),
        _ => Err("usage: sse_load run [--connections N] [--nudges M] [--sources K] [--lean] [--url U --database-url D --server-pid P] | sse_load server [--bind ADDR] [--lean]".into()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn number(args: &[String], name: &str, default: usize) -> Result<usize, Error> {
    match flag(args, name) {
        Some(text) => Ok(text.parse().map_err(|_| format!("{name}: not a number"))?),
        None => Ok(default),
    }
}

/// The stream route on a hub with no database, plus `POST /publish` (one nudge for everyone).
async fn server(args: &[String]) -> Result<(), Error> {
    use axum::routing::post;
    let bind = flag(args, "--bind").unwrap_or("127.0.0.1:0");
    let hub = sse::Hub::new(sse::HubConfig::default());
    hub.start(0, 0, Vec::new());
    // Never connected: unfiltered fresh streams do not touch the database.
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://127.0.0.1:1/none")?;
    let publisher = hub.clone();
    let state = sse::StreamState::new(hub.clone(), pool);
    let app = sse::router(state.clone()).route(
        "/publish",
        post(move || async move {
            let id = publisher.head_id() + 1;
            publisher.publish([sse::Nudge {
                id,
                kind: projections::nudge::NudgeKind::Standings,
                tournament_ids: None,
                polled_at: chrono::Utc::now(),
            }]);
            id.to_string()
        }),
    );
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on {}", listener.local_addr()?);
    let lean = args.iter().any(|a| a == "--lean");
    let ticker = hub.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ticker.config().heartbeat_interval / 2);
        loop {
            tick.tick().await;
            ticker.heartbeat();
        }
    });
    if lean {
        let listener = sse::LeanListener::new(listener, state, sse::LeanOptions::default())?;
        axum::serve(listener, app).await?;
    } else {
        axum::serve(sse::StallGuard::new(listener, Duration::from_secs(30)), app).await?;
    }
    Ok(())
}

enum Publisher {
    Http(SocketAddr),
    Database(sqlx::PgPool),
}

impl Publisher {
    async fn publish(&self) -> Result<i64, Error> {
        match self {
            Publisher::Http(addr) => {
                let mut tcp = TcpStream::connect(addr).await?;
                tcp.write_all(
                    b"POST /publish HTTP/1.1\r\nHost: load\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await?;
                let mut response = String::new();
                tcp.read_to_string(&mut response).await?;
                let body = response.rsplit("\r\n\r\n").next().unwrap_or("");
                Ok(body.trim().parse()?)
            }
            Publisher::Database(pool) => {
                let mut tx = pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO public.nudge_log (kind, tournament_ids, position)
                     VALUES ('standings', NULL, 0) RETURNING id",
                )
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("SELECT pg_notify($1, '{}')")
                    .bind(projections::nudge::CHANNEL)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }
        }
    }
}

async fn run(args: &[String]) -> Result<(), Error> {
    let connections = number(args, "--connections", 10_000)?.min(MAX_CONNECTIONS);
    let nudges = number(args, "--nudges", 10)?.clamp(1, 1000);
    let sources = number(args, "--sources", 4)?.clamp(1, 200);

    let mut child = None;
    let (addr, server_pid, publisher) = match flag(args, "--url") {
        None => {
            let mut server_args = vec!["server", "--bind", "127.0.0.1:0"];
            if args.iter().any(|a| a == "--lean") {
                server_args.push("--lean");
            }
            let mut spawned = std::process::Command::new(std::env::current_exe()?)
                .args(server_args)
                .stdout(std::process::Stdio::piped())
                .spawn()?;
            let stdout = spawned.stdout.take().ok_or("no stdout")?;
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line)?;
            let addr: SocketAddr = line
                .trim()
                .strip_prefix("listening on ")
                .ok_or("the server did not start")?
                .parse()?;
            let pid = spawned.id();
            child = Some(spawned);
            (addr, Some(pid), Publisher::Http(addr))
        }
        Some(url) => {
            let authority = url
                .strip_prefix("http://")
                .and_then(|rest| rest.split('/').next())
                .ok_or("--url must be http://HOST:PORT/…")?;
            let addr: SocketAddr = authority.parse()?;
            if !addr.ip().is_loopback() {
                return Err("loopback only".into());
            }
            let database = flag(args, "--database-url").ok_or("--url needs --database-url")?;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(database)
                .await?;
            let pid = flag(args, "--server-pid").map(str::parse).transpose()?;
            (addr, pid, Publisher::Database(pool))
        }
    };
    let path = flag(args, "--url")
        .and_then(|u| u.strip_prefix("http://"))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .unwrap_or_else(|| "/v1/stream".to_owned());

    let result = measure(
        addr,
        &path,
        server_pid,
        &publisher,
        connections,
        nudges,
        sources,
    )
    .await;
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
    result
}

async fn measure(
    addr: SocketAddr,
    path: &str,
    server_pid: Option<u32>,
    publisher: &Publisher,
    connections: usize,
    nudges: usize,
    sources: usize,
) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server_pid.and_then(rss_kib);
    let (tx, mut rx) = mpsc::unbounded_channel::<(i64, Instant)>();
    let open = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(200));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    let started = Instant::now();
    for i in 0..connections {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % sources) as u8);
        let (tx, open, failed, gate, request) = (
            tx.clone(),
            open.clone(),
            failed.clone(),
            gate.clone(),
            request.clone(),
        );
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await;
            match connect(source, addr, request.as_bytes()).await {
                Ok(tcp) => {
                    open.fetch_add(1, Ordering::Relaxed);
                    drop(permit);
                    read_ids(tcp, tx).await;
                    open.fetch_sub(1, Ordering::Relaxed);
                }
                Err(e) => {
                    if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("connect from {source}: {e}");
                    }
                }
            }
        });
    }
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(120);
    while open.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < connections {
        if Instant::now() > deadline {
            return Err("connections did not open in 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Wait for every hello (id 0 / head) to be read.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while rx.try_recv().is_ok() {}
    let held = open.load(Ordering::Relaxed);
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = server_pid.and_then(rss_kib);
    println!(
        "streams: {held} open ({} failed) from {sources} source addresses in {:.1} s",
        failed.load(Ordering::Relaxed),
        opened_in.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!(
            "server RSS: {before} KiB before, {after} KiB with the streams: {:.2} KiB per stream",
            (after as f64 - before as f64) / held.max(1) as f64
        );
    }

    let mut all = Vec::with_capacity(held * nudges);
    let mut last_per_nudge = Vec::with_capacity(nudges);
    for _ in 0..nudges {
        let t0 = Instant::now();
        let id = publisher.publish().await?;
        let mut got = 0;
        let mut last = Duration::ZERO;
        let deadline = t0 + NUDGE_TIMEOUT;
        while got < held {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, rx.recv()).await {
                Ok(Some((seen, at))) if seen == id => {
                    got += 1;
                    let latency = at.saturating_duration_since(t0);
                    last = last.max(latency);
                    all.push(latency);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if got < held {
            println!("nudge {id}: only {got}/{held} subscribers within {NUDGE_TIMEOUT:?}");
        }
        last_per_nudge.push(last);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    all.sort();
    last_per_nudge.sort();
    let pct = |v: &[Duration], p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i].as_secs_f64() * 1000.0
    };
    println!(
        "delivery over {} deliveries ({nudges} nudges × {held} streams): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        pct(&all, 0.50),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    println!(
        "time for a nudge to reach the last stream: median {:.1} ms, worst {:.1} ms",
        pct(&last_per_nudge, 0.5),
        pct(&last_per_nudge, 1.0)
    );
    if let Some(after) = server_pid.and_then(rss_kib) {
        println!("server RSS after the nudges: {after} KiB");
    }
    Ok(())
}

async fn connect(source: Ipv4Addr, addr: SocketAddr, request: &[u8]) -> Result<TcpStream, Error> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.into(), 0))?;
    let mut tcp = tokio::time::timeout(Duration::from_secs(10), socket.connect(addr)).await??;
    tcp.set_nodelay(true)?;
    tcp.write_all(request).await?;
    Ok(tcp)
}

/// Reports every `id: N` line seen (with its arrival time) until the stream ends.
async fn read_ids(mut tcp: TcpStream, tx: mpsc::UnboundedSender<(i64, Instant)>) {
    let mut buf = [0u8; 512];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let n = match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let at = Instant::now();
        for &b in &buf[..n] {
            if b == b'\n' {
                if let Some(id) = line.strip_prefix(b"id: ") {
                    if let Some(id) = std::str::from_utf8(id).ok().and_then(|s| s.parse().ok()) {
                        if tx.send((id, at)).is_err() {
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

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
