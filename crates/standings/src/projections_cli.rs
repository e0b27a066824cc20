//! `standings projections status|rebuild`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use projections::core::Core;
use projections::notifications::Notifications;
use projections::runner::{builds, promote, start_build, step};
use projections::Projector;
use sqlx::PgPool;

use crate::settings::RebuildArgs;

/// Events per rebuild transaction: the best measured batch (docs/performance.md).
const REBUILD_BATCH: i64 = 10_000;

/// Every projector this binary knows, by name.
pub const PROJECTORS: &[&str] = &[Core::NAME, Notifications::NAME];

pub async fn status(db: &PgPool) -> anyhow::Result<()> {
    let report = projections::status::report(db).await?;
    println!(
        "{:<12} {:>6} {:>8} {:<9} {:>10} {:>10} {:>9}  last error",
        "projector", "build", "version", "state", "position", "lag", "lag (s)"
    );
    for b in &report {
        println!(
            "{:<12} {:>6} {:>8} {:<9} {:>10} {:>10} {:>9.1}  {}",
            b.name,
            b.build,
            b.version,
            b.state,
            b.position,
            b.lag_events,
            b.lag_seconds,
            b.last_error.as_deref().unwrap_or("-")
        );
    }
    if report.is_empty() {
        println!("(no projector has run yet: start `standings serve`)");
    }
    let quarantined: Vec<_> = report.iter().flat_map(|b| &b.quarantined).collect();
    if !quarantined.is_empty() {
        println!(
            "\nquarantined (not applied, with later events of the same aggregate; \
             see `standings events quarantine list`):"
        );
        for q in quarantined {
            println!("  {}", crate::events_cli::line(q));
        }
    }
    webhook_status(db).await;
    Ok(())
}

/// The webhook worker's cursor and lag per subscription (its own checkpoint, beside the
/// projectors'). Before any subscription table exists there is nothing to show.
async fn webhook_status(db: &PgPool) {
    let lag = match webhooks::log::lag(db).await {
        Ok(lag) => lag,
        Err(e) => {
            tracing::debug!(error = %e, "webhook status unavailable");
            return;
        }
    };
    if lag.is_empty() {
        return;
    }
    println!(
        "\n{:<38} {:>10} {:>12} {:>8} {:>9} {:>9} {:>5}  state",
        "webhook", "tournament", "position", "pending", "lag (s)", "delivered", "dead"
    );
    for s in &lag {
        let state = if s.paused {
            "paused".to_string()
        } else if let Some(at) = s.next_attempt_at {
            format!("retrying (attempt {} failed; next {at})", s.attempts)
        } else {
            "ok".to_string()
        };
        println!(
            "{:<38} {:>10} {:>12} {:>8} {:>9.1} {:>9} {:>5}  {state}",
            s.subscription_id,
            s.tournament_id,
            format!("{}.{}", s.position, s.ordinal.max(0)),
            s.pending,
            s.lag_seconds,
            s.delivered,
            s.dead_letters,
        );
    }
}

pub async fn rebuild(db: &PgPool, args: &RebuildArgs) -> anyhow::Result<()> {
    let names: Vec<&str> = match &args.name {
        _ if args.all => PROJECTORS.to_vec(),
        Some(name) if PROJECTORS.contains(&name.as_str()) => vec![name.as_str()],
        Some(name) => bail!(
            "unknown projector {name:?}; known: {}",
            PROJECTORS.join(", ")
        ),
        None => bail!("name a projector or pass --all"),
    };
    for name in names {
        match name {
            n if n == Core::NAME => rebuild_one(db, &Core).await?,
            n if n == Notifications::NAME => rebuild_one(db, &Notifications).await?,
            other => bail!("unknown projector {other:?}"),
        }
    }
    Ok(())
}

/// Builds `P` from position 0 in a new schema while the live build keeps serving; a running
/// worker may share the work (steps are serialised per build). Swaps when caught up.
async fn rebuild_one<P: Projector>(db: &PgPool, projector: &P) -> anyhow::Result<()> {
    let build = start_build::<P>(db).await.context("start the new build")?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(db)
        .await?;
    let bar = ProgressBar::new(total.max(0) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("rebuilding {} (build {build})", P::NAME));
    let started = Instant::now();
    loop {
        let done = step(db, projector, build, REBUILD_BATCH).await?;
        let applied = builds(db)
            .await?
            .into_iter()
            .find(|b| b.build == build)
            .map_or(0, |b| b.events);
        if applied as u64 > bar.length().unwrap_or(0) {
            bar.set_length(applied as u64);
        }
        bar.set_position(applied as u64);
        if done.busy {
            // A running worker is stepping this build too; let it.
            tokio::time::sleep(Duration::from_millis(20)).await;
        } else if done.caught_up
            && promote::<P>(db, build)
                .await
                .context("swap to the new build")?
        {
            break;
        }
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let applied = bar.position();
    println!(
        "{}: build {build} is live ({applied} events in {elapsed:.1} s, {:.0} events/s)",
        P::NAME,
        applied as f64 / elapsed.max(1e-9)
    );
    // Live either way (it is no worse than the build it replaced), but say what it left out.
    let quarantined: Vec<_> = projections::quarantine::list(db)
        .await?
        .into_iter()
        .filter(|q| q.build == build)
        .collect();
    for q in &quarantined {
        eprintln!("warning: quarantined: {}", crate::events_cli::line(q));
    }
    Ok(())
}
