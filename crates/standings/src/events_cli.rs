//! `standings events quarantine list|show|repair`: the operator's way out of a poison event
//! that keeps the log immutable (docs/architecture.md, "Poison events and quarantine"); and
//! `events export|import` (`crate::events_port`).

use anyhow::{bail, Context};
use projections::Quarantined;
use sqlx::PgPool;
use store::repair::{self, StoredEvent};

use crate::settings::{EventsCommand, QuarantineCommand, RepairArgs};

pub async fn run(db: &PgPool, command: &EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::Quarantine(QuarantineCommand::List(_)) => list(db).await,
        EventsCommand::Show(args) => match repair::stored_event(db, args.position).await? {
            Some(event) => {
                print_event(&event);
                Ok(())
            }
            None => bail!("no event at position {}", args.position),
        },
        EventsCommand::Repair(args) => repair(db, args).await,
        EventsCommand::Export(args) => crate::events_port::export(db, args).await,
        EventsCommand::Import(args) => crate::events_port::import(db, args).await,
    }
}

async fn list(db: &PgPool) -> anyhow::Result<()> {
    let quarantined = projections::quarantine::list(db).await?;
    if quarantined.is_empty() {
        println!("no quarantined events");
        return Ok(());
    }
    println!(
        "{:<10} {:>6} {:>10}  {:<24} {:<28} {:<20} {:>9} {:<8}  error",
        "projector",
        "build",
        "position",
        "event",
        "aggregate",
        "tournament",
        "held back",
        "repaired"
    );
    for q in &quarantined {
        println!("{}", line(q));
    }
    println!(
        "\nrepair: `standings events show POSITION`, then `standings events repair POSITION \
         --payload JSON --reason TEXT`, then `standings projections rebuild --all`"
    );
    Ok(())
}

/// One row of `events quarantine list` (also printed by `projections status`).
pub fn line(q: &Quarantined) -> String {
    format!(
        "{:<10} {:>6} {:>10}  {:<24} {:<28} {:<20} {:>9} {:<8}  {}",
        q.projector,
        q.build,
        q.position,
        q.event_type,
        format!("{}:{}", q.aggregate_type, q.aggregate_id),
        q.tournament.as_deref().unwrap_or("-"),
        q.held_back,
        if q.repaired { "yes" } else { "no" },
        q.error
    )
}

fn print_event(event: &StoredEvent) {
    println!("position:  {}", event.position);
    println!(
        "aggregate: {}:{} (sequence {})",
        event.aggregate_type, event.aggregate_id, event.sequence
    );
    println!("event:     {} v{}", event.event_type, event.event_version);
    println!("stored:    {}", event.payload);
    match &event.repair {
        Some(r) => {
            println!("repaired:  {} ({}, {})", r.payload, r.reason, r.created_at);
        }
        None => println!("repaired:  no"),
    }
}

async fn repair(db: &PgPool, args: &RepairArgs) -> anyhow::Result<()> {
    let text = match args.payload.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("read {path}"))?,
        None => args.payload.clone(),
    };
    let payload: serde_json::Value =
        serde_json::from_str(&text).context("the payload is not JSON")?;
    let event = repair::register(db, args.position, &payload, &args.reason).await?;
    print_event(&event);
    println!(
        "\nrun `standings projections rebuild --all` to apply it: the new builds lift the \
         quarantine"
    );
    Ok(())
}
