//! Appends an export to this deployment: one transaction, ids kept or replaced, each event
//! recorded by its source identity so a second import appends nothing.

use std::collections::HashMap;
use std::io::{BufRead, Seek, SeekFrom};

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::catalog::{Catalog, CatalogEvent};
use domain::ladder::{Ladder, LadderEvent};
use domain::lobby::{Lobby, LobbyEvent};
use domain::matches::{Match, MatchEvent};
use domain::profile::{Profile, ProfileEvent};
use domain::stream_channel::{StreamChannel, StreamChannelEvent};
use domain::tournament::{Tournament, TournamentEvent};
use domain::AnyEvent;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};

use super::{ExportedEvent, Header, FORMAT, VERSION};
use crate::ids::IdKind;
use crate::repository::{round_trip, RoundTrip, INSERT_IMPORTED};
use crate::Unstorable;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {reason}")]
    BadFile { line: u64, reason: String },
    #[error("not a live-standings event export (the first line must be its header: {0})")]
    NotAnExport(String),
    #[error("export format version {0} is not supported (this build reads version {VERSION})")]
    WrongVersion(u32),
    /// The slug names a tournament of this deployment that no import of this file created.
    #[error("Tournament '{0}' already exists in this deployment; nothing was imported")]
    SlugTaken(String),
    #[error("line {line}: {source}; nothing was imported")]
    Unstorable { line: u64, source: Unstorable },
    #[error("read: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// A surrogate id of the imported tournament: the source's and this deployment's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdMapping {
    pub kind: &'static str,
    pub source: i64,
    pub target: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    pub header_count: u64,
    pub appended: u64,
    /// Already imported earlier (found in `event_imports`).
    pub skipped: u64,
    /// Every id of the tournament, sorted by kind and source id.
    pub ids: Vec<IdMapping>,
}

/// Appends the export in `input` to this deployment: every event not imported before, with
/// `on_header` called once the header is read and `progress(done, total)` after each event.
///
/// Two passes: the first reads the whole file and checks every line (shape, event types, the
/// count the header announces) without touching the database, so a bad file costs nothing,
/// not even ids from this deployment's sequences (which no rollback returns). The second
/// appends in one transaction: all or nothing (the projectors' log reads wait for it).
pub async fn import(
    pool: &PgPool,
    mut input: impl BufRead + Seek,
    on_header: impl FnOnce(&Header),
    mut progress: impl FnMut(u64, u64),
) -> Result<ImportReport, ImportError> {
    let (header, created) = check(&mut input)?;
    on_header(&header);
    input.seek(SeekFrom::Start(0))?;
    let mut tx = pool.begin().await?;
    // One import at a time: two of the same file would both find nothing imported yet.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('standings events import'))")
        .execute(&mut *tx)
        .await?;
    check_slug(&mut tx, &header.tournament, &created).await?;
    let mut run = Run {
        slug: header.tournament.clone(),
        ids: load_ids(&mut tx, &header.tournament).await?,
        next_sequence: HashMap::new(),
        appended: 0,
        skipped: 0,
    };
    let mut line = String::new();
    input.read_line(&mut line)?;
    let mut number = 1;
    let mut chunk: Vec<(u64, ExportedEvent)> = Vec::with_capacity(CHUNK);
    loop {
        line.clear();
        let end = input.read_line(&mut line)? == 0;
        if !end {
            number += 1;
            if !line.trim().is_empty() {
                chunk.push((number, parse_event(&line, number)?));
            }
        }
        if chunk.len() == CHUNK || (end && !chunk.is_empty()) {
            let imported = imported_before(&mut tx, &chunk).await?;
            run.last_sequences(&mut tx, &chunk).await?;
            for ((number, event), imported) in chunk.drain(..).zip(imported) {
                if imported {
                    run.skipped += 1;
                } else {
                    run.event(&mut tx, event, number).await?;
                }
                progress(run.appended + run.skipped, header.count);
            }
        }
        if end {
            break;
        }
    }
    let mut ids: Vec<IdMapping> = run
        .ids
        .iter()
        .map(|(&(kind, source), &target)| IdMapping {
            kind: kind_name(kind),
            source,
            target,
        })
        .collect();
    ids.sort_by_key(|m| (m.kind, m.source));
    tx.commit().await?;
    Ok(ImportReport {
        header_count: header.count,
        appended: run.appended,
        skipped: run.skipped,
        ids,
    })
}

/// The first pass: the header, and every event line checked as the second pass will read it.
/// Returns the header and the tournament's first event (its creation).
fn check(input: &mut impl BufRead) -> Result<(Header, ExportedEvent), ImportError> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    let header = read_header(&line)?;
    let mut created = None;
    let mut events = 0;
    let mut number = 1;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_event(&line, number)?;
        let bad = |reason: String| ImportError::BadFile {
            line: number,
            reason,
        };
        if event.aggregate_type == Tournament::TYPE {
            if event.aggregate_id != header.tournament {
                return Err(bad(format!(
                    "an event of tournament '{}' in the export of '{}'",
                    event.aggregate_id, header.tournament
                )));
            }
            if created.is_none() {
                if event.sequence != 1 {
                    return Err(bad("the tournament's history does not start here".into()));
                }
                created = Some(event.clone());
            }
        }
        AnyEvent::decode(
            &event.aggregate_type,
            &event.event_type,
            &event.event_version,
            event.payload,
        )
        .map_err(|e| bad(e.to_string()))?;
        events += 1;
    }
    if events != header.count {
        return Err(ImportError::BadFile {
            line: number,
            reason: format!(
                "the header announces {} events, the file holds {events} (truncated?); nothing \
                 was imported",
                header.count
            ),
        });
    }
    let created = created.ok_or_else(|| ImportError::BadFile {
        line: number,
        reason: format!("no event of tournament '{}'", header.tournament),
    })?;
    Ok((header, created))
}

/// Events looked up in `event_imports` per statement (one round trip per chunk, not per event).
const CHUNK: usize = 1000;

/// For each event of `chunk`, whether an earlier import appended it (by its source identity).
async fn imported_before(
    db: &mut PgConnection,
    chunk: &[(u64, ExportedEvent)],
) -> sqlx::Result<Vec<bool>> {
    let types: Vec<&str> = chunk
        .iter()
        .map(|(_, e)| e.aggregate_type.as_str())
        .collect();
    let ids: Vec<&str> = chunk.iter().map(|(_, e)| e.aggregate_id.as_str()).collect();
    let sequences: Vec<i64> = chunk.iter().map(|(_, e)| e.sequence).collect();
    let times: Vec<DateTime<Utc>> = chunk.iter().map(|(_, e)| e.recorded_at).collect();
    sqlx::query_scalar(
        "SELECT i.global_position IS NOT NULL
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
                WITH ORDINALITY AS f (aggregate_type, aggregate_id, sequence, recorded_at, n)
           LEFT JOIN event_imports i
                  ON i.source_aggregate_type = f.aggregate_type
                 AND i.source_aggregate_id = f.aggregate_id
                 AND i.source_sequence = f.sequence
                 AND i.source_recorded_at = f.recorded_at
          ORDER BY f.n",
    )
    .bind(&types)
    .bind(&ids)
    .bind(&sequences)
    .bind(&times)
    .fetch_all(db)
    .await
}

fn parse_event(line: &str, number: u64) -> Result<ExportedEvent, ImportError> {
    serde_json::from_str(line).map_err(|e| ImportError::BadFile {
        line: number,
        reason: format!("not an event line: {e}"),
    })
}

/// The slug is free here, or its tournament came from an earlier import of this one (the
/// same creation event): anything else is someone else's tournament.
async fn check_slug(
    db: &mut PgConnection,
    slug: &str,
    created: &ExportedEvent,
) -> Result<(), ImportError> {
    let (exists, ours): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1 AND aggregate_id = $2),
                EXISTS (SELECT 1 FROM event_imports
                         WHERE source_aggregate_type = $1 AND source_aggregate_id = $2
                           AND source_sequence = $3 AND source_recorded_at = $4)",
    )
    .bind(Tournament::TYPE)
    .bind(slug)
    .bind(created.sequence)
    .bind(created.recorded_at)
    .fetch_one(db)
    .await?;
    if exists && !ours {
        return Err(ImportError::SlugTaken(slug.to_string()));
    }
    Ok(())
}

fn read_header(line: &str) -> Result<Header, ImportError> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| ImportError::NotAnExport(format!("not JSON: {e}")))?;
    if value["format"] != FORMAT {
        return Err(ImportError::NotAnExport(format!(
            "`format` is {}, not \"{FORMAT}\"",
            value["format"]
        )));
    }
    match value["version"].as_u64() {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(ImportError::WrongVersion(
                u32::try_from(v).unwrap_or(u32::MAX),
            ))
        }
        None => return Err(ImportError::NotAnExport("`version` is missing".into())),
    }
    serde_json::from_value(value).map_err(|e| ImportError::NotAnExport(e.to_string()))
}

const ID_KINDS: [IdKind; 3] = [IdKind::Tournament, IdKind::TournamentPlayer, IdKind::Team];

fn kind_name(kind: IdKind) -> &'static str {
    match kind {
        IdKind::Tournament => "tournament",
        IdKind::TournamentPlayer => "tournament_player",
        IdKind::Team => "team",
    }
}

/// The payload fields of tournament events that hold surrogate ids, and their kinds.
const ID_FIELDS: [(&str, IdKind); 4] = [
    ("tournament_id", IdKind::Tournament),
    ("tournament_player_id", IdKind::TournamentPlayer),
    ("previous_captain", IdKind::TournamentPlayer),
    ("team_id", IdKind::Team),
];

async fn load_ids(db: &mut PgConnection, slug: &str) -> sqlx::Result<HashMap<(IdKind, i64), i64>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT kind, source_id, target_id FROM event_import_ids WHERE tournament = $1",
    )
    .bind(slug)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, source, target)| {
            let kind = ID_KINDS.into_iter().find(|k| kind_name(*k) == kind)?;
            Some(((kind, source), target))
        })
        .collect())
}

struct Run {
    slug: String,
    ids: HashMap<(IdKind, i64), i64>,
    /// The next sequence of each aggregate this import appends to.
    next_sequence: HashMap<(String, String), i64>,
    appended: u64,
    skipped: u64,
}

impl Run {
    /// Reads the last sequence of every aggregate of `chunk` not seen yet, in one statement.
    async fn last_sequences(
        &mut self,
        db: &mut PgConnection,
        chunk: &[(u64, ExportedEvent)],
    ) -> sqlx::Result<()> {
        let mut types = vec![];
        let mut ids = vec![];
        for (_, e) in chunk {
            let key = (e.aggregate_type.clone(), e.aggregate_id.clone());
            if let std::collections::hash_map::Entry::Vacant(entry) = self.next_sequence.entry(key)
            {
                types.push(e.aggregate_type.as_str());
                ids.push(e.aggregate_id.as_str());
                // Replaced below; an aggregate without events here starts at 1.
                entry.insert(1);
            }
        }
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT e.aggregate_type, e.aggregate_id, max(e.sequence)
               FROM events e
               JOIN unnest($1::text[], $2::text[]) AS k (aggregate_type, aggregate_id)
                 ON e.aggregate_type = k.aggregate_type AND e.aggregate_id = k.aggregate_id
              GROUP BY 1, 2",
        )
        .bind(&types)
        .bind(&ids)
        .fetch_all(db)
        .await?;
        for (aggregate_type, aggregate_id, last) in rows {
            self.next_sequence
                .insert((aggregate_type, aggregate_id), last + 1);
        }
        Ok(())
    }

    async fn event(
        &mut self,
        db: &mut PgConnection,
        mut event: ExportedEvent,
        line: u64,
    ) -> Result<(), ImportError> {
        let is_tournament = event.aggregate_type == Tournament::TYPE;
        let key = (event.aggregate_type.clone(), event.aggregate_id.clone());
        // Read for the whole chunk by `last_sequences`.
        let sequence = self.next_sequence.get(&key).copied().unwrap_or(1);
        self.next_sequence.insert(key, sequence + 1);
        if is_tournament {
            self.remap_ids(db, &mut event.payload).await?;
        }
        let row = sqlx::query(INSERT_IMPORTED)
            .bind(&event.aggregate_type)
            .bind(&event.aggregate_id)
            .bind(sequence)
            .bind(&event.event_type)
            .bind(&event.event_version)
            .bind(&event.payload)
            .bind(&event.metadata)
            .bind(event.recorded_at)
            .bind(event.sequence)
            .bind(event.position)
            .fetch_one(&mut *db)
            .await
            .map_err(|e| match e.as_database_error().and_then(|d| d.code()) {
                Some(code) if code.starts_with("22") => ImportError::Unstorable {
                    line,
                    source: Unstorable {
                        event_type: event.event_type.clone(),
                        path: ".".into(),
                        reason: e.to_string(),
                    },
                },
                _ => ImportError::Db(e),
            })?;
        check_round_trip(&event.aggregate_type, &row, &event.event_type).map_err(|e| match e {
            RoundTrip::Db(e) => ImportError::Db(e),
            RoundTrip::Unstorable(source) => ImportError::Unstorable { line, source },
        })?;
        self.appended += 1;
        Ok(())
    }

    /// Replaces the surrogate ids in a tournament event's payload (`{"Variant": {...}}`) by
    /// this deployment's: the same id when this deployment never handed it out, a new one
    /// otherwise. Decided once per id, recorded in `event_import_ids`.
    async fn remap_ids(&mut self, db: &mut PgConnection, payload: &mut Value) -> sqlx::Result<()> {
        let Some(fields) = payload
            .as_object_mut()
            .and_then(|variant| variant.values_mut().next())
            .and_then(Value::as_object_mut)
        else {
            return Ok(());
        };
        for (field, kind) in ID_FIELDS {
            let Some(source) = fields.get(field).and_then(Value::as_i64) else {
                continue;
            };
            let target = match self.ids.get(&(kind, source)) {
                Some(target) => *target,
                None => {
                    let target = claim_or_next(db, kind, source).await?;
                    sqlx::query(
                        "INSERT INTO event_import_ids (tournament, kind, source_id, target_id)
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&self.slug)
                    .bind(kind_name(kind))
                    .bind(source)
                    .bind(target)
                    .execute(&mut *db)
                    .await?;
                    self.ids.insert((kind, source), target);
                    target
                }
            };
            fields.insert(field.to_string(), Value::from(target));
        }
        Ok(())
    }
}

/// `wanted` if this deployment's sequence for `kind` never handed it out (the sequence then
/// moves past it, so nothing allocates it later), else the sequence's next id.
async fn claim_or_next(db: &mut PgConnection, kind: IdKind, wanted: i64) -> sqlx::Result<i64> {
    let claimed: Option<i64> = sqlx::query_scalar(
        "SELECT setval($1::regclass, $2)
          WHERE $2 > coalesce(pg_sequence_last_value($1::regclass), 0)",
    )
    .bind(kind.sequence())
    .bind(wanted)
    .fetch_optional(&mut *db)
    .await?;
    match claimed {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("SELECT nextval($1::regclass)")
                .bind(kind.sequence())
                .fetch_one(db)
                .await
        }
    }
}

/// The repository's round-trip check for the aggregate named at run time.
fn check_round_trip(aggregate_type: &str, row: &PgRow, event_type: &str) -> Result<(), RoundTrip> {
    match aggregate_type {
        Tournament::TYPE => round_trip::<TournamentEvent>(row, event_type),
        Profile::TYPE => round_trip::<ProfileEvent>(row, event_type),
        Ladder::TYPE => round_trip::<LadderEvent>(row, event_type),
        Match::TYPE => round_trip::<MatchEvent>(row, event_type),
        Lobby::TYPE => round_trip::<LobbyEvent>(row, event_type),
        Catalog::TYPE => round_trip::<CatalogEvent>(row, event_type),
        StreamChannel::TYPE => round_trip::<StreamChannelEvent>(row, event_type),
        // Operator events are no tournament's: an export never holds them.
        other => Err(RoundTrip::Unstorable(Unstorable {
            event_type: event_type.to_string(),
            path: ".".into(),
            reason: format!("events of aggregate type {other:?} are not imported"),
        })),
    }
}
