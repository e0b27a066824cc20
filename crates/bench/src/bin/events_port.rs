//! `events_port`: how fast a tournament's events are exported and imported
//! (`store::transfer`, the work behind `standings events export|import`).
//!
//! Starts a throwaway PostgreSQL cluster, loads a synthetic event log (`bench::synth`) into one
//! database, exports its busiest tournament to a file, imports the file into a second, empty
//! database, imports it again (appends nothing), and prints events/s of each step, the file
//! size and this process's peak RSS.
//!
//! `cargo run --release -p bench --bin events_port -- --events 200000`

use std::io::{BufReader, BufWriter};
use std::time::Instant;

use anyhow::{bail, Context};
use bench::procstat;
use bench::synth::{self, Spec, Synth};
use clap::Parser;
use embedded_pg::ClusterConfig;
use sqlx::PgPool;
use store::transfer;

#[derive(Parser, Debug)]
#[command(about = "Times exporting a tournament's events and importing them elsewhere")]
struct Args {
    /// Events in the synthetic log.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Polled profiles in the log.
    #[arg(long, default_value_t = 3_000)]
    profiles: usize,
    /// Tournaments (rosters of 32–100 players).
    #[arg(long, default_value_t = 8)]
    tournaments: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.profiles < 10 || args.events == 0 {
        bail!("need --events ≥ 1 and --profiles ≥ 10");
    }
    let dir = bench::rig::data_dir("standings-bench-")?;
    let config = ClusterConfig::throwaway(&dir);
    bench::rig::on_cluster(config, &dir, "source", async |cluster, url| {
        cluster.create_database("target").await?;
        let target = bench::rig::migrated_pool(&cluster.database_url("target"), 2).await?;
        let source = bench::rig::migrated_pool(&url, 2).await?;
        run(&source, &target, &args).await
    })
    .await
}

async fn run(source: &PgPool, target: &PgPool, args: &Args) -> anyhow::Result<()> {
    let mut synth = Synth::new(Spec {
        events: args.events,
        profiles: args.profiles,
        tournaments: args.tournaments,
        seed: args.seed,
    });
    let mut conn = source.acquire().await?;
    loop {
        let chunk = synth.next_chunk(50_000);
        if chunk.is_empty() {
            break;
        }
        synth::load(&mut conn, &chunk).await?;
    }
    drop(synth);
    sqlx::raw_sql("VACUUM (ANALYZE) events")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    let (slug, roster): (String, i64) = sqlx::query_as(
        "SELECT aggregate_id, count(*) FILTER (WHERE event_type = 'PlayerAddedToRoster')
           FROM events WHERE aggregate_type = 'Tournament'
          GROUP BY aggregate_id ORDER BY 2 DESC, 1 LIMIT 1",
    )
    .fetch_one(source)
    .await
    .context("the log has no tournament")?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(source)
        .await?;
    println!("log: {total} events; exporting {slug} ({roster} roster additions)");

    let file = tempfile::NamedTempFile::new()?;
    procstat::reset_peak_rss();
    let started = Instant::now();
    let header = {
        let mut out = BufWriter::new(file.reopen()?);
        transfer::export(source, &slug, &mut out, |_, _| {}).await?
    };
    let export_s = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(file.path())?.len();
    println!(
        "export: {} events in {export_s:.2} s ({:.0} events/s), {:.1} MiB, peak RSS {} KiB",
        header.count,
        header.count as f64 / export_s,
        bytes as f64 / 1048576.0,
        procstat::peak_rss_kib().unwrap_or(0)
    );

    for attempt in ["import", "import again"] {
        procstat::reset_peak_rss();
        let started = Instant::now();
        let input = BufReader::new(file.reopen()?);
        let report = transfer::import(target, input, |_| {}, |_, _| {}).await?;
        let s = started.elapsed().as_secs_f64();
        println!(
            "{attempt}: {} appended, {} skipped in {s:.2} s ({:.0} events/s), peak RSS {} KiB",
            report.appended,
            report.skipped,
            header.count as f64 / s,
            procstat::peak_rss_kib().unwrap_or(0)
        );
    }
    let imported: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(target)
        .await?;
    if imported as u64 != header.count {
        bail!("imported {imported} events, exported {}", header.count);
    }
    Ok(())
}
