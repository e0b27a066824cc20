//! What the poller reads from the database: the tracked set (every cycle, so roster edits
//! apply without a restart) and, at the start of a term, hints that save work. Reads only:
//! the poller never writes read models.

use sqlx::PgPool;

/// Profiles linked to the roster of any tournament that is not archived, ascending (stable
/// batches). A player on an archived tournament and on a live one is still tracked.
///
/// Before the core projector has built its first read model the view does not exist yet:
/// that is an empty set, not an error.
pub async fn tracked_profiles(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    let archived: Vec<i64> = store::archived::archived_tournaments(pool)
        .await?
        .into_iter()
        .map(|t| t.tournament_id)
        .collect();
    let rows = sqlx::query_scalar::<_, i64>(
        "SELECT DISTINCT profile_id FROM live.tournament_players
          WHERE profile_id IS NOT NULL AND tournament_id <> ALL($1) ORDER BY profile_id",
    )
    .bind(&archived)
    .fetch_all(pool)
    .await;
    empty_if_missing(rows)
}

/// Lobbies a previous term left open: the Lobby aggregates whose last event is not
/// `LiveMatchEnded`, plus whatever the live read model still lists. Read from the event
/// store too, because a lobby that turned into a recorded game leaves the read model while
/// its aggregate is still open.
pub async fn open_lobbies(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    let from_events: Vec<String> = sqlx::query_scalar(
        "SELECT aggregate_id FROM (
            SELECT DISTINCT ON (aggregate_id) aggregate_id, event_type
              FROM events WHERE aggregate_type = 'Lobby'
             ORDER BY aggregate_id, sequence DESC) last
          WHERE event_type <> 'LiveMatchEnded'",
    )
    .fetch_all(pool)
    .await?;
    let from_view = empty_if_missing(
        sqlx::query_scalar::<_, i64>("SELECT DISTINCT match_id FROM live.live_match_players")
            .fetch_all(pool)
            .await,
    )?;
    let mut ids: Vec<i64> = from_events
        .iter()
        .filter_map(|id| id.parse().ok())
        .chain(from_view)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Ids of recently finished matches already projected, so a new term does not re-send
/// commands for a whole history window (the Match aggregate would ignore them anyway).
pub async fn recent_match_ids(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<i64>> {
    let rows = sqlx::query_scalar::<_, i64>(
        "SELECT match_id FROM live.matches WHERE completed_at IS NOT NULL
          ORDER BY started_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await;
    empty_if_missing(rows)
}

/// `undefined_table` / `invalid_schema_name`: the read model is not built (yet).
fn empty_if_missing<T>(rows: sqlx::Result<Vec<T>>) -> sqlx::Result<Vec<T>> {
    match rows {
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P01" | "3F000")) => {
            Ok(Vec::new())
        }
        other => other,
    }
}
