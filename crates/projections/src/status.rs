//! What `standings projections status` and `/health` show about each projector build.

use serde::Serialize;
use sqlx::PgPool;

use crate::quarantine::{self, Quarantined};
use crate::runner::{builds, Build};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BuildStatus {
    pub name: String,
    pub build: i64,
    pub version: i32,
    /// `live`, `building` or `parked`.
    pub state: String,
    pub position: i64,
    pub events_applied: i64,
    /// Committed events after the checkpoint.
    pub lag_events: i64,
    /// Age of the oldest event not applied yet (0 when caught up).
    pub lag_seconds: f64,
    pub last_error: Option<String>,
    /// Aggregates (tournaments) this build stopped applying at an event it could not apply.
    pub quarantined: Vec<Quarantined>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn state(build: &Build) -> &'static str {
    match (build.parked_at, build.is_live()) {
        (Some(_), _) => "parked",
        (None, true) => "live",
        (None, false) => "building",
    }
}

pub async fn report(db: &PgPool) -> sqlx::Result<Vec<BuildStatus>> {
    let mut out = vec![];
    let quarantined = quarantine::list(db).await?;
    for build in builds(db).await? {
        let (lag_events, lag_seconds): (i64, Option<f64>) = sqlx::query_as(
            "SELECT count(*), extract(epoch FROM now() - min(recorded_at))::float8
               FROM events WHERE (tx, global_position) > ($1::text::xid8, $2)",
        )
        .bind(build.position.tx.to_string())
        .bind(build.position.position)
        .fetch_one(db)
        .await?;
        out.push(BuildStatus {
            name: build.name.clone(),
            build: build.build,
            version: build.version,
            state: state(&build).to_string(),
            position: build.position.position,
            events_applied: build.events,
            lag_events,
            lag_seconds: lag_seconds.unwrap_or(0.0).max(0.0),
            last_error: build.last_error.clone(),
            quarantined: quarantined
                .iter()
                .filter(|q| q.build == build.build)
                .cloned()
                .collect(),
            updated_at: build.updated_at,
        });
    }
    Ok(out)
}
