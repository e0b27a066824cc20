//! `standings events export|import`: a tournament's events as JSON Lines, moved between
//! deployments (the work is `store::transfer`; docs/archive.md describes the format).

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sqlx::PgPool;
use store::transfer;

use crate::settings::{EventsExportArgs, EventsImportArgs};

pub async fn export(db: &PgPool, args: &EventsExportArgs) -> anyhow::Result<()> {
    let to_stdout = args.out.as_os_str() == "-";
    let bar = progress_bar("exporting");
    let header = if to_stdout {
        let mut out = BufWriter::new(std::io::stdout().lock());
        transfer::export(db, &args.tournament, &mut out, |done, total| {
            tick(&bar, done, total)
        })
        .await?
    } else {
        // Written beside the target and renamed at the end: a failed export leaves no
        // half-written file under the name.
        let mut partial = args.out.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let mut out = BufWriter::new(file);
        let exported = transfer::export(db, &args.tournament, &mut out, |done, total| {
            tick(&bar, done, total)
        })
        .await;
        let header = match exported {
            Ok(header) => header,
            Err(e) => {
                drop(out);
                let _ = std::fs::remove_file(&partial);
                return Err(e.into());
            }
        };
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, &args.out)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
        header
    };
    bar.finish_and_clear();
    eprintln!(
        "exported {}: {} events (log position {}){}",
        header.tournament,
        header.count,
        header.log_position,
        if to_stdout {
            String::new()
        } else {
            format!(" to {}", args.out.display())
        }
    );
    Ok(())
}

pub async fn import(db: &PgPool, args: &EventsImportArgs) -> anyhow::Result<()> {
    let report = import_file(db, &args.file).await?;
    println!(
        "imported {} events ({} already imported before)",
        report.appended, report.skipped
    );
    for id in &report.ids {
        let note = if id.source == id.target {
            "kept"
        } else {
            "replaced"
        };
        println!("  {} id {} -> {} ({note})", id.kind, id.source, id.target);
    }
    Ok(())
}

/// Imports `file` with a progress bar on a terminal. A file, not a pipe: the import reads it
/// twice (checked whole before anything is appended).
pub async fn import_file(db: &PgPool, file: &Path) -> anyhow::Result<transfer::ImportReport> {
    let bar = progress_bar("importing");
    let input = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let report = transfer::import(
        db,
        BufReader::new(input),
        |header| {
            bar.set_message(format!("importing {}", header.tournament));
            bar.set_length(header.count);
        },
        |done, total| tick(&bar, done, total),
    )
    .await;
    bar.finish_and_clear();
    report.with_context(|| format!("cannot import {}", file.display()))
}

/// A bar on standard error when it is a terminal; hidden otherwise (scripts, tests).
fn progress_bar(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        None,
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

fn tick(bar: &ProgressBar, done: u64, total: u64) {
    // Redrawing is rate-limited by indicatif; setting the length once is enough.
    if bar.length() != Some(total) {
        bar.set_length(total);
    }
    bar.set_position(done);
}
