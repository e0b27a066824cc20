//! `rebuild`: how fast the `core` projector (or, with `--projector notifications`, the
//! `notifications` projector) rebuilds from position 0.
//!
//! Starts a throwaway PostgreSQL cluster, loads a synthetic event log (`bench::synth`), then
//! times full builds of `core` (`start_build`, `step` until caught up, `promote`) and prints
//! events/s, peak RSS of this process and the CPU time of both sides. Finally it checks the
//! tables against a reference build that applies one event at a time (the projector's
//! `apply`, through the runner's default `apply_batch`): count and md5 of every table.
//!
//! `cargo run --release -p bench --bin rebuild -- --events 1000000 [--projector notifications]`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use bench::procstat;
use bench::synth::{self, Spec, Synth};
use clap::{Parser, ValueEnum};
use domain::AnyEvent;
use embedded_pg::ClusterConfig;
use projections::core::Core;
use projections::notifications::Notifications;
use projections::runner::{promote, start_build, step, ApplyFuture};
use projections::{Nudges, Projector};
use sqlx::{PgConnection, PgPool};
use store::log::{read_after, LogPosition};
use store::RecordedEvent;

#[derive(Parser, Debug)]
#[command(about = "Times a full rebuild of a projector over a synthetic event log")]
struct Args {
    /// The projector to build.
    #[arg(long, value_enum, default_value_t = Which::Core)]
    projector: Which,
    /// Events in the synthetic log.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Events per step (one transaction each). Several, comma-separated: one timed build each.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    batch: Vec<i64>,
    /// Polled profiles in the log.
    #[arg(long, default_value_t = 3_000)]
    profiles: usize,
    /// Tournaments (rosters of 32–100 players).
    #[arg(long, default_value_t = 8)]
    tournaments: usize,
    /// Seed of the generator (the same seed generates the same log).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How to check the rebuilt tables.
    #[arg(long, value_enum, default_value_t = Verify::Reference)]
    verify: Verify,
    /// Events per step of the reference build.
    #[arg(long, default_value_t = 10_000)]
    reference_batch: i64,
    /// Also time reading and decoding the log alone (what the runner does before applying).
    #[arg(long)]
    breakdown: bool,
    /// Use this (migrated or empty) database instead of a throwaway cluster; a log already
    /// in it is reused as-is.
    #[arg(long)]
    database_url: Option<String>,
    /// With `--database-url`: the server's postmaster pid, to measure its CPU time.
    #[arg(long, requires = "database_url")]
    postmaster_pid: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    Core,
    Notifications,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Verify {
    /// Build again one event at a time and compare every table (count + md5).
    Reference,
    /// No check.
    None,
}

/// The reference: the `core` projector one event at a time (the default `apply_batch`).
struct OneByOne;

static CORE: Core = Core;

impl Projector for OneByOne {
    const NAME: &'static str = "core_ref";
    const VERSION: i32 = Core::VERSION;
    const SCHEMA_SQL: &'static str = Core::SCHEMA_SQL;
    const TABLES: &'static [&'static str] = Core::TABLES;

    fn apply<'a>(
        &'a self,
        db: &'a mut PgConnection,
        event: &'a RecordedEvent,
        decoded: AnyEvent,
        nudges: &'a mut Nudges,
    ) -> ApplyFuture<'a> {
        CORE.apply(db, event, decoded, nudges)
    }
}

/// The reference of `notifications`: one event per load/derive/flush (its `apply`).
struct NotificationsOneByOne;

static NOTIFICATIONS: Notifications = Notifications;

impl Projector for NotificationsOneByOne {
    const NAME: &'static str = "notifications_ref";
    const VERSION: i32 = Notifications::VERSION;
    const SCHEMA_SQL: &'static str = Notifications::SCHEMA_SQL;
    const TABLES: &'static [&'static str] = Notifications::TABLES;

    fn apply<'a>(
        &'a self,
        db: &'a mut PgConnection,
        event: &'a RecordedEvent,
        decoded: AnyEvent,
        nudges: &'a mut Nudges,
    ) -> ApplyFuture<'a> {
        NOTIFICATIONS.apply(db, event, decoded, nudges)
    }
}

/// Every table of the `notifications` schema (its state too), for the reference check.
const NOTIFICATIONS_TABLES: &[&str] = &[
    "notifications",
    "notify_tournaments",
    "notify_roster",
    "notify_ratings",
    "notify_lobbies",
    "notify_civilizations",
    "notify_channels",
    "notify_live_channels",
];

struct Timing {
    build: i64,
    events: usize,
    seconds: f64,
    own_cpu: f64,
    server_cpu: Option<f64>,
    peak_rss_kib: Option<u64>,
}

impl Timing {
    fn rate(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

fn secs(s: Option<f64>) -> String {
    s.map_or("?".into(), |s| format!("{s:.1} s"))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.profiles < 10 || args.events == 0 || args.batch.iter().any(|b| *b < 1) {
        bail!("need --events ≥ 1, --profiles ≥ 10 and every --batch ≥ 1");
    }
    if let Some(url) = &args.database_url {
        return run(url, args.postmaster_pid, &args).await;
    }
    let dir = bench::rig::data_dir("standings-bench-")?;
    let config = ClusterConfig::throwaway(&dir);
    bench::rig::on_cluster(config, &dir, "bench", async |cluster, url| {
        run(&url, Some(cluster.pid()), &args).await
    })
    .await
}

async fn run(url: &str, postmaster: Option<u32>, args: &Args) -> anyhow::Result<()> {
    let pool = bench::rig::migrated_pool(url, 4).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await?;
    let buffers: String = sqlx::query_scalar("SHOW shared_buffers")
        .fetch_one(&pool)
        .await?;
    let fsync: String = sqlx::query_scalar("SHOW fsync").fetch_one(&pool).await?;
    let commit: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&pool)
        .await?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "machine: {cores} cores; PostgreSQL {version} ({}fsync {fsync}, synchronous_commit \
         {commit}, shared_buffers {buffers})",
        if args.database_url.is_none() {
            "throwaway cluster, Unix socket, "
        } else {
            ""
        }
    );

    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;
    if existing == 0 {
        generate(&pool, args).await?;
    } else {
        println!("log: reusing the {existing} events already in the database");
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;

    if args.breakdown {
        breakdown(&pool, *args.batch.last().unwrap_or(&10_000)).await?;
    }
    match args.projector {
        Which::Core => {
            run_builds(
                &pool,
                postmaster,
                args,
                total,
                &Core,
                &OneByOne,
                Core::TABLES,
            )
            .await
        }
        Which::Notifications => {
            run_builds(
                &pool,
                postmaster,
                args,
                total,
                &Notifications,
                &NotificationsOneByOne,
                NOTIFICATIONS_TABLES,
            )
            .await?;
            let kinds: Vec<(String, i64)> = sqlx::query_as(
                "SELECT kind, count(*) FROM live.notifications GROUP BY kind ORDER BY kind",
            )
            .fetch_all(&pool)
            .await?;
            println!("notifications: {kinds:?}");
            Ok(())
        }
    }
}

/// Generates the synthetic log and loads it, then prints its mix.
async fn generate(pool: &PgPool, args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut synth = Synth::new(Spec {
        events: args.events,
        profiles: args.profiles,
        tournaments: args.tournaments,
        seed: args.seed,
    });
    let mut counts = HashMap::new();
    let mut conn = pool.acquire().await?;
    loop {
        let chunk = synth.next_chunk(50_000);
        if chunk.is_empty() {
            break;
        }
        synth::mix(&chunk, &mut counts);
        synth::load(&mut conn, &chunk).await?;
    }
    drop(synth);
    // As a log that has been there a while: hint bits set, statistics fresh.
    for sql in ["VACUUM (ANALYZE) events", "CHECKPOINT"] {
        sqlx::raw_sql(sql).execute(&mut *conn).await?;
    }
    drop(conn);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let bytes: i64 =
        sqlx::query_scalar("SELECT sum(octet_length(payload::text))::int8 FROM events")
            .fetch_one(pool)
            .await?;
    println!(
        "log: {total} events ({} profiles, {} tournaments, seed {}), payloads {:.0} MiB, \
         generated and loaded in {:.1} s",
        args.profiles,
        args.tournaments,
        args.seed,
        bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    let mut mix: Vec<(String, usize)> = counts.into_iter().collect();
    mix.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let line: Vec<String> = mix
        .iter()
        .map(|(t, n)| {
            let share = *n as f64 * 100.0 / total as f64;
            if share >= 0.1 {
                format!("{t} {share:.1}%")
            } else {
                format!("{t} {n}")
            }
        })
        .collect();
    println!("mix: {}", line.join(", "));
    Ok(())
}

/// The timed builds, then the check against the reference.
async fn run_builds<P: Projector, R: Projector>(
    pool: &PgPool,
    postmaster: Option<u32>,
    args: &Args,
    total: i64,
    projector: &P,
    reference: &R,
    tables: &[&str],
) -> anyhow::Result<()> {
    let mut last = None;
    for &batch in &args.batch {
        let t = timed_build(pool, projector, batch, postmaster, true).await?;
        println!(
            "rebuild {}, batch {batch}: {} events in {:.2} s = {:.0} events/s; peak RSS {}; \
             CPU: bench {:.1} s, postgres {}",
            P::NAME,
            t.events,
            t.seconds,
            t.rate(),
            mib(t.peak_rss_kib),
            t.own_cpu,
            secs(t.server_cpu)
        );
        if t.events as i64 != total {
            bail!("the build applied {} of {total} events", t.events);
        }
        last = Some(t);
    }
    let Some(last) = last else { return Ok(()) };

    if args.verify == Verify::Reference {
        let r = timed_build(pool, reference, args.reference_batch, postmaster, false).await?;
        println!(
            "reference (apply one event at a time), batch {}: {} events in {:.1} s = {:.0} events/s; \
             CPU: bench {:.1} s, postgres {}",
            args.reference_batch,
            r.events,
            r.seconds,
            r.rate(),
            r.own_cpu,
            secs(r.server_cpu)
        );
        let mine = checksums(pool, &format!("{}_b{}", P::NAME, last.build), tables).await?;
        let theirs = checksums(pool, &format!("{}_b{}", R::NAME, r.build), tables).await?;
        let mut differ = Vec::new();
        for ((table, rows, sum), (_, ref_rows, ref_sum)) in mine.iter().zip(&theirs) {
            let same = rows == ref_rows && sum == ref_sum;
            println!(
                "  {table:<24} {rows:>9} rows  md5 {}  {}",
                &sum[..sum.len().min(12)],
                if same { "same" } else { "DIFFERENT" }
            );
            if !same {
                differ.push(table.clone());
            }
        }
        if !differ.is_empty() {
            bail!("the batched build differs from the reference in {differ:?}");
        }
        println!("verify: every table equals the one-event-at-a-time reference (count + md5)");
    }
    Ok(())
}

/// Builds `projector` from position 0 with steps of `batch` events, timed.
async fn timed_build<P: Projector>(
    pool: &PgPool,
    projector: &P,
    batch: i64,
    postmaster: Option<u32>,
    go_live: bool,
) -> anyhow::Result<Timing> {
    procstat::reset_peak_rss();
    let own = procstat::own_cpu();
    let server = postmaster.map(procstat::server_cpu);
    let started = Instant::now();
    let build = start_build::<P>(pool).await?;
    let mut events = 0;
    let mut report = Instant::now();
    loop {
        let done = step(pool, projector, build, batch).await?;
        events += done.applied;
        if done.caught_up {
            break;
        }
        if done.busy {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if report.elapsed() > Duration::from_secs(5) {
            report = Instant::now();
            eprintln!(
                "  {}: {events} events, {:.0} events/s",
                P::NAME,
                events as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    if go_live && !promote::<P>(pool, build).await? {
        bail!("build {build} did not go live");
    }
    Ok(Timing {
        build,
        events,
        seconds: started.elapsed().as_secs_f64(),
        own_cpu: procstat::own_cpu() - own,
        server_cpu: postmaster
            .zip(server)
            .map(|(pid, before)| procstat::server_cpu(pid) - before),
        peak_rss_kib: procstat::peak_rss_kib(),
    })
}

/// What reading and decoding the log alone costs (the runner's part of a step).
async fn breakdown(pool: &PgPool, batch: i64) -> anyhow::Result<()> {
    for decode in [false, true] {
        let started = Instant::now();
        let mut conn = pool.acquire().await?;
        let mut at = LogPosition::START;
        let mut n = 0;
        loop {
            let events = read_after(&mut conn, at, batch).await?;
            let Some(last) = events.last() else { break };
            at = last.log_position;
            n += events.len();
            if decode {
                for e in &events {
                    e.decode()?;
                }
            }
        }
        println!(
            "breakdown, batch {batch}: read{} {n} events in {:.2} s",
            if decode { " + decode" } else { "" },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// (table, rows, md5 of the rows' text in a stable order) for every table of a build schema.
async fn checksums(
    pool: &PgPool,
    schema: &str,
    tables: &[&str],
) -> anyhow::Result<Vec<(String, i64, String)>> {
    let mut out = Vec::new();
    for table in tables {
        let (rows, sum): (i64, String) = sqlx::query_as(&format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')
               FROM {schema}.{table} t"
        ))
        .fetch_one(pool)
        .await?;
        out.push((table.to_string(), rows, sum));
    }
    Ok(out)
}
