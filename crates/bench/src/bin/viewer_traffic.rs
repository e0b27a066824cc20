//! Viewer traffic: what a busy tournament's nudges cost its audience.
//!
//! ```text
//! viewer_traffic [--coalesce-millis 1000] [--viewers 20] [--speed 10] [--seconds 180]
//! ```
//!
//! One process wired like `standings serve --role all`: the real poller (`Poller::run`, the
//! production cadences), the `core` projector loop, the hub (coalescing window
//! `--coalesce-millis`) with the response-cache observer and the feed, the api router behind
//! `LeanListener`. The upstream is the simulator, running by itself: 200 players, `--activity`
//! ranked games per player per hour (3 by default; the tournament's `--players` 32 are among
//! them), open lobbies.
//!
//! Time runs `--speed` times faster than real: the simulator's clock, every poller cadence,
//! the coalescing window and the CDN's `s-maxage` are all divided by it, so one wall second is
//! `--speed` simulated seconds, and rates are reported per simulated hour. The pipeline's own
//! work (HTTP, SQL, the projector's commits) is not sped up.
//!
//! `--viewers` viewers each hold `/v1/stream?tournament=…` and refetch on every nudge as the
//! original's front-end does: `standings` → `/standings` and `/teams/standings`, `matches` →
//! `/matches`, `live` → `/live` (real HTTP requests to the origin). Every few seconds a probe
//! forces a 1v1 between two rostered players in the simulator; the latency is from that
//! instant to each viewer's first `/matches` response containing the match.
//!
//! Reported: nudges per tournament per hour (by kind), refetches per viewer per hour, origin
//! requests per hour without a CDN (every refetch) and with one that honours `s-maxage=15`
//! (modelled: one origin fetch per URL per 15 s, the rest served by the edge), and the
//! latency percentiles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use bench::tournament::{seed, wait_tracked};
use clap::Parser;
use embedded_pg::ClusterConfig;
use poller::{Poller, PollerConfig};
use rand::{Rng, SeedableRng};

const SLUG: &str = "viewers";
/// The `Cache-Control: s-maxage` of the contract's read routes, in simulated seconds.
const S_MAXAGE: f64 = 15.0;

#[derive(Parser)]
#[command(about = "Nudges and refetches of a busy tournament's viewers, with and without a CDN")]
struct Args {
    /// The hub's coalescing window, simulated milliseconds (0: every `nudge_log` row).
    #[arg(long, default_value_t = 1000)]
    coalesce_millis: u64,
    /// Simulated viewers (each one SSE stream and its refetches).
    #[arg(long, default_value_t = 20)]
    viewers: usize,
    /// Simulated seconds per wall second.
    #[arg(long, default_value_t = 10.0)]
    speed: f64,
    /// Wall seconds measured (after the warm-up).
    #[arg(long, default_value_t = 180)]
    seconds: u64,
    /// Rostered players.
    #[arg(long, default_value_t = 32)]
    players: usize,
    /// Ranked games per simulated player per simulated hour.
    #[arg(long, default_value_t = 3.0)]
    activity: f64,
}

/// The refetched routes, by index.
const ROUTES: [&str; 4] = ["standings", "teams/standings", "matches", "live"];

#[derive(Default)]
struct Record {
    /// Nudges each viewer received, by kind.
    nudges: Vec<HashMap<String, u64>>,
    /// Every refetch: (route index, when it was sent).
    refetches: Vec<(usize, Instant)>,
    /// Forced games: (match id, when it was played).
    probes: Vec<(i64, Instant)>,
    /// Per viewer: match ids already seen in a `/matches` response.
    seen: Vec<HashMap<i64, Instant>>,
    failures: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.speed >= 1.0 && args.speed <= 100.0) || args.viewers == 0 || args.seconds < 10 {
        bail!("need 1 ≤ --speed ≤ 100, --viewers ≥ 1, --seconds ≥ 10");
    }
    if !(2..=32).contains(&args.players) {
        bail!("need 2 ≤ --players ≤ 32");
    }
    let dir = bench::rig::data_dir("standings-viewers-")?;
    let config = ClusterConfig::throwaway(&dir);
    bench::rig::on_cluster(config, &dir, "viewers", async |_, url| {
        run(&url, &args).await
    })
    .await
}

/// `d` of simulated time, in wall time.
fn wall(d: Duration, speed: f64) -> Duration {
    d.div_f64(speed)
}

async fn run(url: &str, args: &Args) -> anyhow::Result<()> {
    let pool = bench::rig::migrated_pool(url, 10).await?;

    let sim = sim::SimHandle::new(sim::SimConfig {
        players: 200,
        speed: args.speed,
        activity: args.activity,
        lobbies: 2,
        ..sim::SimConfig::default()
    });
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim_addr = sim_listener.local_addr()?;
    let sim_app = sim::router(sim.clone());
    tokio::spawn(async move { axum::serve(sim_listener, sim_app).await });
    let roster = sim.roster(args.players);
    seed(&pool, &sim, SLUG, &roster).await?;

    // The service, wired as `main.rs::run_service` wires it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let hub = sse::HubConfig {
        coalesce_window: wall(Duration::from_millis(args.coalesce_millis), args.speed),
        ..sse::HubConfig::default()
    };
    let api_addr = bench::rig::start_service(&pool, hub, &stop_rx).await?;

    let defaults = PollerConfig::with_base_url(format!("http://{sim_addr}"));
    let poller_config = PollerConfig {
        stats_interval: wall(defaults.stats_interval, args.speed),
        matches_interval: wall(defaults.matches_interval, args.speed),
        live_interval: wall(defaults.live_interval, args.speed),
        catalog_interval: wall(defaults.catalog_interval, args.speed),
        catalog_retry: wall(defaults.catalog_retry, args.speed),
        sweep_period: wall(defaults.sweep_period, args.speed),
        lobby_watch: wall(defaults.lobby_watch, args.speed),
        ..defaults
    };
    let poller = Poller::new(poller_config, pool.clone()).map_err(|e| anyhow!("poller: {e}"))?;
    wait_tracked(&pool, roster.len()).await?;
    tokio::spawn(poller.run(stop_rx.clone()));
    // Warm-up: the catalog, first sightings and histories projected before viewers arrive.
    tokio::time::sleep(wall(Duration::from_secs(120), args.speed).max(Duration::from_secs(5)))
        .await;

    let record = Arc::new(Mutex::new(Record {
        nudges: vec![HashMap::new(); args.viewers],
        seen: vec![HashMap::new(); args.viewers],
        ..Record::default()
    }));
    let base = format!("http://{api_addr}");
    for viewer in 0..args.viewers {
        tokio::spawn(watch(viewer, base.clone(), record.clone()));
    }
    println!("load average at start: {}", load_average());
    let head: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM public.nudge_log")
        .fetch_one(&pool)
        .await?;
    let started = Instant::now();
    let measured = Duration::from_secs(args.seconds);
    // Probes until a matches cycle and a refetch can still show the last one.
    let last_probe = measured.saturating_sub(wall(Duration::from_secs(150), args.speed));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    while started.elapsed() < measured {
        let pause = wall(Duration::from_secs(rng.gen_range(60..180)), args.speed);
        tokio::time::sleep(pause.min(measured.saturating_sub(started.elapsed()))).await;
        if started.elapsed() < last_probe {
            let a = roster[rng.gen_range(0..roster.len())];
            let b = roster[rng.gen_range(0..roster.len())];
            if a != b {
                let id = sim.play_1v1(a, b).map_err(|e| anyhow!("play: {e:?}"))?;
                lock(&record).probes.push((id, Instant::now()));
            }
        }
    }
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    // What the projector wrote meanwhile: one row per kind per commit that changed something.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, count(*) FROM public.nudge_log WHERE id > $1 GROUP BY kind ORDER BY kind",
    )
    .bind(head)
    .fetch_all(&pool)
    .await?;
    let record = std::mem::take(&mut *lock(&record));
    report(args, elapsed, &record);
    let hours = elapsed.as_secs_f64() * args.speed / 3600.0;
    let rows: Vec<String> = rows
        .iter()
        .map(|(kind, n)| format!("{kind} {:.0}", *n as f64 / hours))
        .collect();
    println!(
        "nudge_log rows per hour (all tournaments): {}",
        rows.join(", ")
    );
    println!("load average at the end: {}", load_average());
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One viewer: the stream, and a refetch per nudge (concurrent, like the browser's).
async fn watch(viewer: usize, base: String, record: Arc<Mutex<Record>>) {
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/stream?tournament={SLUG}");
    let mut response = match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => r,
        _ => {
            lock(&record).failures += 1;
            return;
        }
    };
    let mut buf: Vec<u8> = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&block);
            let Some(kind) = text.lines().find_map(|l| l.strip_prefix("event: ")) else {
                continue;
            };
            let routes: &[usize] = match kind {
                "standings" => &[0, 1],
                "matches" => &[2],
                "live" => &[3],
                _ => continue,
            };
            *lock(&record).nudges[viewer]
                .entry(kind.to_owned())
                .or_default() += 1;
            for &route in routes {
                let client = client.clone();
                let record = record.clone();
                let url = format!("{base}/v1/tournaments/{SLUG}/{}", ROUTES[route]);
                tokio::spawn(async move { refetch(viewer, route, client, url, record).await });
            }
        }
    }
}

async fn refetch(
    viewer: usize,
    route: usize,
    client: reqwest::Client,
    url: String,
    record: Arc<Mutex<Record>>,
) {
    lock(&record).refetches.push((route, Instant::now()));
    let body = match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => r.text().await.ok(),
        _ => None,
    };
    let Some(body) = body else {
        lock(&record).failures += 1;
        return;
    };
    if ROUTES[route] != "matches" {
        return;
    }
    let at = Instant::now();
    let mut record = lock(&record);
    let probes: Vec<i64> = record.probes.iter().map(|p| p.0).collect();
    for id in probes {
        if body.contains(&format!("\"match_id\":{id},")) {
            record.seen[viewer].entry(id).or_insert(at);
        }
    }
}

fn report(args: &Args, elapsed: Duration, record: &Record) {
    let hours = elapsed.as_secs_f64() * args.speed / 3600.0;
    let viewers = args.viewers as f64;
    println!(
        "coalescing window {} ms (simulated), {} viewers, speed {}×: {:.1} wall s = {:.2} simulated h; {} failed requests",
        args.coalesce_millis,
        args.viewers,
        args.speed,
        elapsed.as_secs_f64(),
        hours,
        record.failures
    );
    let mut nudges: HashMap<&str, u64> = HashMap::new();
    for per_viewer in &record.nudges {
        for (kind, n) in per_viewer {
            *nudges.entry(kind.as_str()).or_default() += n;
        }
    }
    let per_hour = |n: f64| n / hours;
    let total: u64 = nudges.values().sum();
    println!(
        "nudges per tournament per hour: {:.0} (standings {:.0}, matches {:.0}, live {:.0})",
        per_hour(total as f64 / viewers),
        per_hour(*nudges.get("standings").unwrap_or(&0) as f64 / viewers),
        per_hour(*nudges.get("matches").unwrap_or(&0) as f64 / viewers),
        per_hour(*nudges.get("live").unwrap_or(&0) as f64 / viewers),
    );
    let refetches = record.refetches.len() as f64;
    println!(
        "refetches per viewer per hour: {:.0}",
        per_hour(refetches / viewers)
    );
    // The CDN: an origin fetch when the URL's cached copy is older than s-maxage.
    let fresh_for = Duration::from_secs_f64(S_MAXAGE / args.speed);
    let mut sorted = record.refetches.clone();
    sorted.sort_by_key(|r| r.1);
    let mut cached: HashMap<usize, Instant> = HashMap::new();
    let mut origin = 0u64;
    for (route, at) in sorted {
        let stale = cached
            .get(&route)
            .is_none_or(|fetched| at.duration_since(*fetched) >= fresh_for);
        if stale {
            cached.insert(route, at);
            origin += 1;
        }
    }
    println!(
        "origin requests per hour: {:.0} without a CDN; {:.0} behind a CDN honouring s-maxage=15 ({} viewers; without a CDN it grows with the audience, behind one it does not)",
        per_hour(refetches),
        per_hour(origin as f64),
        args.viewers
    );
    let mut latencies = Vec::new();
    let mut missed = 0;
    for (id, played) in &record.probes {
        for seen in &record.seen {
            match seen.get(id) {
                Some(at) => latencies.push(at.duration_since(*played).as_secs_f64()),
                None => missed += 1,
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "upstream game → a viewer's refetched /matches shows it ({} probes × {} viewers, {missed} never seen): p50 {:.1} s, p99 {:.1} s, max {:.1} s simulated (wall {:.0} / {:.0} / {:.0} ms)",
        record.probes.len(),
        args.viewers,
        pct(0.5) * args.speed,
        pct(0.99) * args.speed,
        pct(1.0) * args.speed,
        pct(0.5) * 1e3,
        pct(0.99) * 1e3,
        pct(1.0) * 1e3,
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
