//! Upstream change → SSE frame: how long after the poller receives an upstream response that
//! changes something does an SSE client receive the nudge for it?
//!
//! ```text
//! poll_to_sse [--iterations 200] [--players 32] [--fast]
//! ```
//!
//! One process wired like `standings serve --role all` (`main.rs::run_service`): the `core`
//! projector loop (`projections::runner::run`, woken by `events_appended`), the hub with the
//! response-cache observer and `sse::run_feed`, the api router behind `LeanListener`. The
//! upstream is the simulator (frozen: nothing moves unless forced) with a tournament of
//! `--players` of its players; the poller is the real one, its cycles driven with
//! `Poller::run_cycle` (what `Poller::run` calls on its cadence). An SSE client on its own
//! thread reads `/v1/stream?tournament=…` over loopback.
//!
//! Each iteration forces a 1v1 between two rostered players in the simulator, then
//! - runs a stats cycle: one `GetPersonalStat` response carries the new ratings; measured from
//!   the instant the simulator's handler returned that response (a middleware around the
//!   simulator's router, in this binary) to the client's read of the first `standings` frame;
//! - runs a matches cycle: the `getRecentMatchHistory` response carries the finished game;
//!   measured the same way to the first `matches` frame.
//!
//! The database is a private PostgreSQL cluster with the durable settings `standings serve`
//! uses for its own (fsync on); `--fast` uses the test settings (fsync and synchronous commit
//! off) instead.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use axum::extract::Request;
use axum::middleware::Next;
use bench::tournament::{seed, wait_tracked};
use clap::Parser;
use embedded_pg::ClusterConfig;
use poller::{CycleKind, Poller, PollerConfig};

const SLUG: &str = "latency";

#[derive(Parser)]
#[command(about = "Upstream response → SSE frame latency through the real pipeline")]
struct Args {
    /// Forced games (each measured twice: stats → standings, history → matches).
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Rostered players (one GetPersonalStat request per cycle up to 32).
    #[arg(long, default_value_t = 32)]
    players: usize,
    /// PostgreSQL without fsync / synchronous commit (test settings).
    #[arg(long)]
    fast: bool,
}

/// When the simulator's handler returned its last response, per endpoint.
#[derive(Default)]
struct Responses {
    stats: Vec<Instant>,
    history: Vec<Instant>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.iterations == 0 || !(2..=32).contains(&args.players) {
        bail!("need --iterations ≥ 1 and 2 ≤ --players ≤ 32");
    }
    let dir = bench::rig::data_dir("standings-latency-")?;
    let config = if args.fast {
        ClusterConfig::throwaway(&dir)
    } else {
        ClusterConfig::persistent(&dir)
    };
    bench::rig::on_cluster(config, &dir, "latency", async |_, url| {
        run(&url, &args).await
    })
    .await
}

async fn run(url: &str, args: &Args) -> anyhow::Result<()> {
    let pool = bench::rig::migrated_pool(url, 10).await?;

    // The simulator, behind a middleware that notes when each response left its handler.
    let sim = sim::SimHandle::new(sim::SimConfig {
        players: 200,
        frozen: true,
        lobbies: 0,
        ..sim::SimConfig::default()
    });
    let responses = Arc::new(Mutex::new(Responses::default()));
    let noted = responses.clone();
    let sim_app = sim::router(sim.clone()).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let noted = noted.clone();
            async move {
                let query = request.uri().query().unwrap_or("").to_owned();
                let path = request.uri().path().to_owned();
                let response = next.run(request).await;
                let at = Instant::now();
                let mut noted = noted.lock().unwrap_or_else(|e| e.into_inner());
                if path.contains("GetPersonalStat") || query.contains("GetPersonalStat") {
                    noted.stats.push(at);
                } else if path.contains("getRecentMatchHistory") {
                    noted.history.push(at);
                }
                response
            }
        },
    ));
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim_addr = sim_listener.local_addr()?;
    tokio::spawn(async move { axum::serve(sim_listener, sim_app).await });

    let roster = sim.roster(args.players);
    seed(&pool, &sim, SLUG, &roster).await?;

    // The service, wired as `main.rs::run_service` wires it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let api_addr = bench::rig::start_service(&pool, sse::HubConfig::default(), &stop_rx).await?;

    let poller = Poller::new(
        PollerConfig::with_base_url(format!("http://{sim_addr}")),
        pool.clone(),
    )
    .map_err(|e| anyhow!("poller: {e}"))?;
    // Warm up: the catalog, every profile's first sighting, the first histories, projected.
    wait_tracked(&pool, roster.len()).await?;
    for kind in CycleKind::ALL {
        poller
            .run_cycle(kind)
            .await
            .map_err(|e| anyhow!("{kind:?}: {e}"))?;
    }
    for _ in 0..2 {
        poller
            .run_cycle(CycleKind::Stats)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        poller
            .run_cycle(CycleKind::Matches)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let frames = sse_client(api_addr)?;
    // The hello.
    frames
        .recv_timeout(Duration::from_secs(10))
        .context("no hello from /v1/stream")?;

    let mut standings = Vec::new();
    let mut matches = Vec::new();
    let mut appended = Vec::new();
    let mut misses = 0;
    let started = Instant::now();
    println!("load average at start: {}", load_average());
    for i in 0..args.iterations {
        let winner = roster[(2 * i) % roster.len()];
        let loser = roster[(2 * i + 1) % roster.len()];
        sim.play_1v1(winner, loser)
            .map_err(|e| anyhow!("play: {e:?}"))?;
        tokio::time::sleep(Duration::from_millis(50)).await;
        while frames.try_recv().is_ok() {}

        for (kind, cycle) in [
            ("standings", CycleKind::Stats),
            ("matches", CycleKind::Matches),
        ] {
            {
                let mut noted = responses.lock().unwrap_or_else(|e| e.into_inner());
                noted.stats.clear();
                noted.history.clear();
            }
            let report = poller
                .run_cycle(cycle)
                .await
                .map_err(|e| anyhow!("{cycle:?}: {e}"))?;
            let returned = Instant::now();
            let sent = {
                let noted = responses.lock().unwrap_or_else(|e| e.into_inner());
                let list = if cycle == CycleKind::Stats {
                    &noted.stats
                } else {
                    &noted.history
                };
                if list.len() != 1 {
                    bail!(
                        "{cycle:?}: {} upstream responses, expected 1 ({report:?})",
                        list.len()
                    );
                }
                list[0]
            };
            let deadline = Instant::now() + Duration::from_secs(5);
            let got = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match frames.recv_timeout(left) {
                    Ok((frame_kind, at)) if frame_kind == kind => break Some(at),
                    Ok(_) => {}
                    Err(_) => break None,
                }
            };
            match got {
                Some(at) => {
                    let ms = at.saturating_duration_since(sent).as_secs_f64() * 1e3;
                    if cycle == CycleKind::Stats {
                        standings.push(ms);
                        appended.push(returned.saturating_duration_since(sent).as_secs_f64() * 1e3);
                    } else {
                        matches.push(ms);
                    }
                }
                None => misses += 1,
            }
            // Let the rest of this change's frames arrive before the next cycle.
            tokio::time::sleep(Duration::from_millis(100)).await;
            while frames.try_recv().is_ok() {}
        }
    }
    let _ = stop_tx.send(true);
    println!(
        "{} forced games in {:.1} s, {misses} frames missing; load average at the end: {}",
        args.iterations,
        started.elapsed().as_secs_f64(),
        load_average()
    );
    for (what, mut values) in [
        (
            "GetPersonalStat response → first `standings` frame",
            standings,
        ),
        (
            "getRecentMatchHistory response → first `matches` frame",
            matches,
        ),
        (
            "GetPersonalStat response → stats cycle appended (run_cycle returned)",
            appended,
        ),
    ] {
        values.sort_by(f64::total_cmp);
        println!(
            "{what}: n {}, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            values.len(),
            pct(&values, 0.5),
            pct(&values, 0.9),
            pct(&values, 0.99),
            pct(&values, 1.0)
        );
    }
    Ok(())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Reads `/v1/stream?tournament=SLUG` on its own thread (blocking socket); sends each frame's
/// event name and the instant its last byte was read.
fn sse_client(addr: SocketAddr) -> anyhow::Result<mpsc::Receiver<(String, Instant)>> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    write!(
        tcp,
        "GET /v1/stream?tournament={SLUG} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match tcp.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let at = Instant::now();
            pending.extend_from_slice(&buf[..n]);
            while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = pending.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&block);
                if let Some(kind) = text.lines().find_map(|l| l.strip_prefix("event: ")) {
                    if tx.send((kind.to_owned(), at)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(rx)
}
