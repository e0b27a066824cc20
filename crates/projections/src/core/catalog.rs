//! The catalog: `leaderboards` and `civilizations`, each replaced whole by its observation.
//!
//! Rare events: both paths apply them one by one with [`catalog`].

use domain::catalog::CatalogEvent;
use sqlx::types::Json;
use sqlx::PgConnection;
use store::RecordedEvent;

use crate::nudge::{NudgeKind, Nudges};

pub(super) async fn catalog(
    db: &mut PgConnection,
    _event: &RecordedEvent,
    e: &CatalogEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    match e {
        CatalogEvent::LeaderboardsObserved {
            leaderboards,
            observed_at,
        } => {
            sqlx::query("DELETE FROM leaderboards")
                .execute(&mut *db)
                .await?;
            for l in leaderboards {
                sqlx::query(
                    "INSERT INTO leaderboards (leaderboard_id, name, is_ranked, matchtypes, updated_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(l.leaderboard_id)
                .bind(&l.name)
                .bind(l.is_ranked)
                .bind(Json(&l.matchtype_ids))
                .bind(observed_at)
                .execute(&mut *db)
                .await?;
            }
        }
        CatalogEvent::CivilizationsObserved {
            civilizations,
            observed_at,
        } => {
            sqlx::query("DELETE FROM civilizations")
                .execute(&mut *db)
                .await?;
            for c in civilizations {
                sqlx::query(
                    "INSERT INTO civilizations (civilization_id, name, updated_at) VALUES ($1, $2, $3)",
                )
                .bind(c.civilization_id)
                .bind(&c.name)
                .bind(observed_at)
                .execute(&mut *db)
                .await?;
            }
            // Civilization names appear in standings and civ stats of every tournament.
            nudges.touch_everyone(NudgeKind::Standings);
        }
    }
    Ok(())
}
