//! Surrogate ids allocated before a command runs, so that events carry them.

use sqlx::PgPool;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdKind {
    Tournament,
    TournamentPlayer,
    Team,
}

impl IdKind {
    pub(crate) fn sequence(self) -> &'static str {
        match self {
            IdKind::Tournament => "tournament_ids",
            IdKind::TournamentPlayer => "tournament_player_ids",
            IdKind::Team => "team_ids",
        }
    }
}

/// The next id of a kind. Gaps (from rejected commands) are harmless.
pub async fn next_id(db: &PgPool, kind: IdKind) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT nextval($1::regclass)")
        .bind(kind.sequence())
        .fetch_one(db)
        .await
}
