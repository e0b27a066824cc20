//! Which tournaments are archived, read from the log itself: the Tournament aggregates whose
//! last lifecycle event (created, deleted, archived, un-archived) is `TournamentArchived`.
//!
//! Read from the event store rather than a read model so that neither the core projection's
//! schema (a rebuild on deploy) nor its lag decides whether a tournament is polled; the poller
//! already reads open lobbies the same way. One index scan of the Tournament aggregates per
//! call: the poller calls it once per cycle, api replicas on a nudge.

use sqlx::PgPool;

/// An archived tournament: its slug (the aggregate id) and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedTournament {
    pub slug: String,
    pub tournament_id: i64,
}

/// Every archived tournament, by slug.
pub async fn archived_tournaments(pool: &PgPool) -> sqlx::Result<Vec<ArchivedTournament>> {
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT aggregate_id, (payload->'TournamentArchived'->>'tournament_id')::bigint
           FROM (SELECT DISTINCT ON (aggregate_id) aggregate_id, event_type, payload
                   FROM events
                  WHERE aggregate_type = 'Tournament'
                    AND event_type IN ('TournamentCreated', 'TournamentDeleted',
                                       'TournamentArchived', 'TournamentUnarchived')
                  ORDER BY aggregate_id, sequence DESC) last
          WHERE event_type = 'TournamentArchived'
          ORDER BY aggregate_id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(slug, id)| {
            Some(ArchivedTournament {
                slug,
                tournament_id: id?,
            })
        })
        .collect())
}
