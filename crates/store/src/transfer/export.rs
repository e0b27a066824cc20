//! Which events a tournament's reads depend on, written in log order.

use std::collections::BTreeSet;
use std::io::Write;

use cqrs_es::Aggregate;
use domain::catalog::Catalog;
use domain::ladder::Ladder;
use domain::lobby::Lobby;
use domain::matches::Match;
use domain::profile::Profile;
use domain::stream_channel::StreamChannel;
use domain::streams::{self, Channel};
use domain::tournament::{Tournament, TournamentEvent};
use domain::AnyEvent;
use futures::TryStreamExt;
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};

use super::{ExportedEvent, Header, Source, FORMAT, VERSION};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("Tournament '{0}' not found")]
    NotFound(String),
    /// A stored event that does not parse: repair it first (`standings events repair`).
    #[error("the event at position {position} cannot be read ({reason}); repair it first")]
    Unreadable { position: i64, reason: String },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("write: {0}")]
    Io(#[from] std::io::Error),
}

/// The tournament's events, in log order with the stored payload (or its repair).
const EVENTS: &str = "
SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version,
       coalesce(r.payload, e.payload)::text AS payload, e.metadata::text AS metadata,
       e.recorded_at, e.global_position
  FROM events e LEFT JOIN event_repairs r USING (global_position)
 WHERE (e.aggregate_type, e.aggregate_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
 ORDER BY e.tx, e.global_position";

/// Writes tournament `slug`'s export to `out`: the header, then one line per event. Rows are
/// streamed (memory does not grow with the log); `progress(done, total)` after each line.
/// Everything is read in one repeatable-read snapshot, so the header's count is exact.
pub async fn export(
    pool: &PgPool,
    slug: &str,
    out: &mut impl Write,
    mut progress: impl FnMut(u64, u64),
) -> Result<Header, ExportError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    let aggregates = selection(&mut tx, slug).await?;
    let (types, ids): (Vec<&str>, Vec<&str>) = aggregates
        .iter()
        .map(|(t, i)| (t.as_str(), i.as_str()))
        .unzip();
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events
          WHERE (aggregate_type, aggregate_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
    )
    .bind(&types)
    .bind(&ids)
    .fetch_one(&mut *tx)
    .await?;
    let (database, log_position): (String, i64) = sqlx::query_as(
        "SELECT current_database(), coalesce((SELECT max(global_position) FROM events), 0)",
    )
    .fetch_one(&mut *tx)
    .await?;
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        source: Source {
            software: concat!("live-standings ", env!("CARGO_PKG_VERSION")).into(),
            database,
            exported_at: chrono::Utc::now(),
        },
        tournament: slug.into(),
        log_position,
        count: u64::try_from(count).unwrap_or_default(),
    };
    write_line(out, &header)?;
    let mut rows = sqlx::query(EVENTS).bind(&types).bind(&ids).fetch(&mut *tx);
    let mut done = 0;
    while let Some(row) = rows.try_next().await? {
        let position: i64 = row.try_get("global_position")?;
        let parse = |column: &str| -> Result<Value, ExportError> {
            let text: String = row.try_get(column)?;
            serde_json::from_str(&text).map_err(|e| ExportError::Unreadable {
                position,
                reason: format!("{column}: {e}"),
            })
        };
        let event = ExportedEvent {
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: parse("payload")?,
            metadata: parse("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
            position,
        };
        write_line(out, &event)?;
        done += 1;
        progress(done, header.count);
    }
    drop(rows);
    tx.commit().await?;
    out.flush()?;
    Ok(header)
}

fn write_line(out: &mut impl Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// The aggregates (type, id) whose events the tournament's public reads are projected from:
/// the tournament itself; the profiles its roster ever named; every match and lobby one of
/// them played in, with the profiles of everyone else in those (opponents' aliases and
/// ratings show in match lists); the hourly ladder-rank aggregates that mention any of those
/// profiles; the catalog (leaderboard and civilization names); the stream channels its hosts
/// and roster rows link. Operator events (the creator allowlist) are no tournament's.
/// Whole aggregates only, so sequences stay contiguous at the destination.
async fn selection(
    db: &mut PgConnection,
    slug: &str,
) -> Result<BTreeSet<(String, String)>, ExportError> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT coalesce(r.payload, e.payload)::text, e.event_type, e.event_version,
                e.global_position::text
           FROM events e LEFT JOIN event_repairs r USING (global_position)
          WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 ORDER BY e.sequence",
    )
    .bind(Tournament::TYPE)
    .bind(slug)
    .fetch_all(&mut *db)
    .await?;
    if rows.is_empty() {
        return Err(ExportError::NotFound(slug.into()));
    }
    let mut roster = BTreeSet::new();
    let mut channels: BTreeSet<Channel> = BTreeSet::new();
    for (payload, event_type, version, position) in rows {
        let unreadable = |reason: String| ExportError::Unreadable {
            position: position.parse().unwrap_or_default(),
            reason,
        };
        let payload: Value =
            serde_json::from_str(&payload).map_err(|e| unreadable(e.to_string()))?;
        let event = AnyEvent::decode(Tournament::TYPE, &event_type, &version, payload)
            .map_err(|e| unreadable(e.to_string()))?;
        let AnyEvent::Tournament(event) = event else {
            continue;
        };
        match event {
            TournamentEvent::TournamentCreated { config, .. }
            | TournamentEvent::TournamentUpdated { config, .. } => {
                channels.extend(streams::channels_in_urls(&config.host_stream_urls));
            }
            TournamentEvent::PlayerAddedToRoster {
                profile_id,
                presentation,
                ..
            } => {
                roster.extend(profile_id);
                channels.extend(streams::channels_in_presentation(&presentation));
            }
            TournamentEvent::RosterPlayerLinked { profile_id, .. } => {
                roster.insert(profile_id);
            }
            TournamentEvent::RosterPlayerUpdated { presentation, .. } => {
                channels.extend(streams::channels_in_presentation(&presentation));
            }
            _ => {}
        }
    }
    let roster: Vec<i64> = roster.into_iter().collect();
    let mut aggregates = BTreeSet::from([(Tournament::TYPE.to_string(), slug.to_string())]);
    let mut profiles: BTreeSet<i64> = roster.iter().copied().collect();
    for (aggregate_type, path) in [
        (Match::TYPE, "$.*.players[*].profile_id"),
        (Lobby::TYPE, "$.*.snapshot.members[*]"),
    ] {
        let played = aggregates_mentioning(db, aggregate_type, path, &roster).await?;
        let members: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT (p #>> '{{}}')::bigint
               FROM events e LEFT JOIN event_repairs r USING (global_position),
                    jsonb_path_query(coalesce(r.payload, e.payload)::jsonb, '{path}') p
              WHERE e.aggregate_type = $1 AND e.aggregate_id = ANY($2)"
        ))
        .bind(aggregate_type)
        .bind(&played)
        .fetch_all(&mut *db)
        .await?;
        profiles.extend(members);
        aggregates.extend(
            played
                .into_iter()
                .map(|id| (aggregate_type.to_string(), id)),
        );
    }
    let profiles: Vec<i64> = profiles.into_iter().collect();
    aggregates.extend(
        profiles
            .iter()
            .map(|p| (Profile::TYPE.to_string(), p.to_string())),
    );
    let ladders =
        aggregates_mentioning(db, Ladder::TYPE, "$.*.ranks[*].profile_id", &profiles).await?;
    aggregates.extend(ladders.into_iter().map(|id| (Ladder::TYPE.to_string(), id)));
    let catalog: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = $1")
            .bind(Catalog::TYPE)
            .fetch_all(&mut *db)
            .await?;
    aggregates.extend(
        catalog
            .into_iter()
            .map(|id| (Catalog::TYPE.to_string(), id)),
    );
    aggregates.extend(
        channels
            .iter()
            .map(|c| (StreamChannel::TYPE.to_string(), c.aggregate_id())),
    );
    Ok(aggregates)
}

/// Ids of the `aggregate_type` aggregates with an event whose profile ids at `path` (a fixed
/// JSON path, never input) include one of `profiles`. Repaired payloads are read as repaired
/// (an unrepaired one that `jsonb` refuses fails the export: repair it first).
async fn aggregates_mentioning(
    db: &mut PgConnection,
    aggregate_type: &str,
    path: &str,
    profiles: &[i64],
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(&format!(
        "SELECT DISTINCT e.aggregate_id
           FROM events e LEFT JOIN event_repairs r USING (global_position),
                jsonb_path_query(coalesce(r.payload, e.payload)::jsonb, '{path}') p
          WHERE e.aggregate_type = $1 AND (p #>> '{{}}')::bigint = ANY($2)"
    ))
    .bind(aggregate_type)
    .bind(profiles)
    .fetch_all(db)
    .await
}
