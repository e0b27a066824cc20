//! `standings archive export SLUG --out DIR`: a tournament's public reads as static files, for
//! a front-end's archive mode once the server is gone (docs/archive.md).
//!
//! Every file is the body the API answers, byte for byte: the reads go through the same router
//! the server runs (`api::router`), in-process, so there is one implementation of each read.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use axum::body::{to_bytes, Body, Bytes};
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use projections::core::Core;
use projections::Projector;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tower::ServiceExt;

use crate::settings::ArchiveExportArgs;

/// Version of the directory layout and manifest; bumped when either changes shape.
const FORMAT: u32 = 1;
/// The largest page each paged read allows: the archive keeps as much as the API can give.
const MAX_LIMIT: u32 = 200;
const MAX_MATCH_LIMIT: u32 = 100;

/// No tournament answers to the slug (exit code 2).
#[derive(Debug)]
pub struct UnknownTournament(pub String);

impl std::fmt::Display for UnknownTournament {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tournament '{}' not found", self.0)
    }
}

impl std::error::Error for UnknownTournament {}

/// `manifest.json` (docs/archive.md); fields in the order people read them.
#[derive(Serialize)]
struct Manifest {
    format: u32,
    tournament: TournamentRef,
    generated_at: String,
    /// The projector checkpoint before the first read and after the last: equal when every
    /// file reflects the same log position.
    log_position: LogPosition,
    window_end: Value,
    /// The window had closed when the export began: the figures will not change.
    r#final: bool,
    files: Vec<Written>,
}

#[derive(Serialize)]
struct TournamentRef {
    slug: String,
    id: i64,
}

#[derive(Serialize)]
struct LogPosition {
    projector: &'static str,
    at_start: Option<i64>,
    at_end: Option<i64>,
}

/// One file of the export: where it goes, the read it holds, and how to check it.
#[derive(Serialize)]
struct Written {
    path: String,
    source: String,
    bytes: usize,
    sha256: String,
}

pub async fn export(pool: &PgPool, args: &ArchiveExportArgs) -> anyhow::Result<()> {
    check_out_dir(&args.out, args.force)?;
    // Only characters that need no escaping in a path: anything else names no tournament.
    let path_safe = |c: char| c.is_ascii_alphanumeric() || "-_.~".contains(c);
    if args.slug.is_empty() || !args.slug.chars().all(path_safe) {
        return Err(UnknownTournament(args.slug.clone()).into());
    }
    let position_before = checkpoint(pool).await?;
    let generated_at = Utc::now();
    let reader = Reader {
        app: api::router(api::AppState::new(pool.clone())),
    };
    let (status, tournament_body) = reader
        .get(&format!("/v1/tournaments/{}", args.slug))
        .await?;
    if status == StatusCode::NOT_FOUND {
        return Err(UnknownTournament(args.slug.clone()).into());
    }
    let tournament: Value = parse(status, &tournament_body, &args.slug)?;
    // `current` resolves to a real slug: every other read uses that one.
    let (Some(slug), Some(id)) = (tournament["slug"].as_str(), tournament["id"].as_i64()) else {
        bail!("the tournament read has no slug or id: {tournament}");
    };
    let window_end: Option<DateTime<Utc>> = match tournament["end_date"].as_str() {
        Some(end) => Some(
            api::parse_datetime(end)
                .with_context(|| format!("the tournament's end_date {end:?} is not a datetime"))?,
        ),
        None => None,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    remove_previous_export(&args.out)?;
    let mut export = Export {
        reader,
        out: args.out.clone(),
        written: vec![],
    };
    let base = format!("/v1/tournaments/{slug}");
    export.keep("tournament.json", &base, tournament_body)?;
    for (file, read) in [
        ("tournaments.json", "/v1/tournaments".to_string()),
        ("civilizations.json", "/v1/civilizations".to_string()),
        ("leaderboards.json", "/v1/leaderboards".to_string()),
        ("standings.json", format!("{base}/standings")),
        ("teams-standings.json", format!("{base}/teams/standings")),
        (
            "standings-history.json",
            format!("{base}/standings/history"),
        ),
        ("summary.json", format!("{base}/summary")),
        ("civ-stats.json", format!("{base}/civ-stats")),
        (
            "head-to-head.json",
            format!("{base}/head-to-head?limit={MAX_LIMIT}"),
        ),
        ("progression.json", format!("{base}/progression")),
        ("live.json", format!("{base}/live")),
    ] {
        export.fetch(file, &read).await?;
    }
    let players = export
        .fetch("players.json", &format!("{base}/players"))
        .await?;
    for player in items(&players) {
        let Some(player_id) = player["tournament_player_id"].as_i64() else {
            bail!("a player without tournament_player_id: {player}");
        };
        let read = format!("{base}/players/{player_id}?match_limit={MAX_MATCH_LIMIT}");
        export
            .fetch(&format!("players/{player_id}.json"), &read)
            .await?;
    }
    let matches = export
        .fetch("matches.json", &format!("{base}/matches?limit={MAX_LIMIT}"))
        .await?;
    for game in items(&matches) {
        let Some(match_id) = game["match_id"].as_i64() else {
            bail!("a match without match_id: {game}");
        };
        let read = format!("{base}/matches/{match_id}");
        export
            .fetch(&format!("matches/{match_id}.json"), &read)
            .await?;
    }
    // The audit trail, every page; each file is named by the `after` that requests it.
    let mut after = 0;
    loop {
        let read = format!("{base}/events?after={after}&limit={MAX_LIMIT}");
        let page = export
            .fetch(&format!("events/after-{after}.json"), &read)
            .await?;
        match page["next_after"].as_i64() {
            Some(next) if next > after => after = next,
            _ => break,
        }
    }
    let position_after = checkpoint(pool).await?;
    let manifest = Manifest {
        format: FORMAT,
        tournament: TournamentRef {
            slug: slug.to_string(),
            id,
        },
        generated_at: generated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        log_position: LogPosition {
            projector: <Core as Projector>::NAME,
            at_start: position_before,
            at_end: position_after,
        },
        window_end: tournament["end_date"].clone(),
        r#final: window_end.is_some_and(|end| end <= generated_at),
        files: export.written,
    };
    let mut text = serde_json::to_vec_pretty(&manifest)?;
    text.push(b'\n');
    let manifest_path = args.out.join("manifest.json");
    std::fs::write(&manifest_path, text)
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    println!(
        "exported {slug}: {} files and manifest.json in {} ({})",
        manifest.files.len(),
        args.out.display(),
        if manifest.r#final {
            "final: the window has closed"
        } else {
            "not final: the window is still open"
        }
    );
    Ok(())
}

/// Refuses to mix an export into a directory holding something else.
fn check_out_dir(out: &Path, force: bool) -> anyhow::Result<()> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() && !force {
                bail!(
                    "{} exists and is not empty (pass --force to write into it)",
                    out.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot use {} as --out", out.display())),
    }
}

/// Removes the files an earlier export listed in `out/manifest.json` (a `--force` export
/// over it must not leave, say, a removed player's file behind). Only plain relative paths
/// are touched: a hand-edited manifest cannot point outside `out`.
fn remove_previous_export(out: &Path) -> anyhow::Result<()> {
    let manifest = out.join("manifest.json");
    let Ok(text) = std::fs::read(&manifest) else {
        return Ok(());
    };
    let Ok(previous) = serde_json::from_slice::<Value>(&text) else {
        return Ok(());
    };
    for file in previous["files"].as_array().map_or(&[][..], Vec::as_slice) {
        let Some(path) = file["path"].as_str().map(Path::new) else {
            continue;
        };
        let plain = path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain {
            continue;
        }
        match std::fs::remove_file(out.join(path)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()));
            }
        }
    }
    std::fs::remove_file(&manifest).with_context(|| format!("cannot remove {}", manifest.display()))
}

/// The position in the event log the read models reflect: the live build's checkpoint of the
/// projector behind every read (`None` before it first ran).
async fn checkpoint(pool: &PgPool) -> anyhow::Result<Option<i64>> {
    let builds = projections::status::report(pool)
        .await
        .context("cannot read the projector checkpoint")?;
    Ok(builds
        .iter()
        .find(|b| b.name == <Core as Projector>::NAME && b.state == "live")
        .map(|b| b.position))
}

fn parse(status: StatusCode, body: &Bytes, what: &str) -> anyhow::Result<Value> {
    if status != StatusCode::OK {
        bail!(
            "reading {what} answered {status}: {}",
            String::from_utf8_lossy(body)
        );
    }
    serde_json::from_slice(body).with_context(|| format!("reading {what}: not JSON"))
}

/// The `items` of a list envelope.
fn items(list: &Value) -> &[Value] {
    list["items"].as_array().map_or(&[], Vec::as_slice)
}

/// The API's router, called in-process: no network, no token, identity encoding.
struct Reader {
    app: axum::Router,
}

impl Reader {
    async fn get(&self, uri: &str) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = Request::get(uri)
            .body(Body::empty())
            .with_context(|| format!("bad read path {uri:?}"))?;
        // The router's error type is `Infallible`.
        let response = match self.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .with_context(|| format!("reading the body of {uri}"))?;
        Ok((status, body))
    }
}

struct Export {
    reader: Reader,
    out: PathBuf,
    written: Vec<Written>,
}

impl Export {
    /// Reads `source`, which must answer 200 with JSON, and keeps it as `path`.
    async fn fetch(&mut self, path: &str, source: &str) -> anyhow::Result<Value> {
        let (status, body) = self.reader.get(source).await?;
        let value = parse(status, &body, source)?;
        self.keep(path, source, body)?;
        Ok(value)
    }

    fn keep(&mut self, path: &str, source: &str, body: Bytes) -> anyhow::Result<()> {
        let file = self.out.join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // Blocking writes are fine here: this is a one-shot command, not a server.
        std::fs::write(&file, &body).with_context(|| format!("cannot write {}", file.display()))?;
        let written = Written {
            path: path.to_string(),
            source: source.to_string(),
            bytes: body.len(),
            sha256: format!("{:x}", Sha256::digest(&body)),
        };
        println!("wrote {path} ({} bytes) <- GET {source}", written.bytes);
        self.written.push(written);
        Ok(())
    }
}
