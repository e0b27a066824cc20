//! What the owner and the operator read about deliveries: a subscription's delivery log
//! (`GET .../webhooks/{id}/deliveries`), the replay of its dead letters
//! (`POST .../webhooks/{id}/replay`), and every subscription's lag
//! (`standings projections status`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

/// Attempts the delivery log shows per subscription (the API route and `standings webhooks
/// deliveries`; the worker keeps about as many).
pub const ATTEMPTS_SHOWN: i64 = 50;

#[derive(Clone, Debug, Serialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct AttemptRow {
    pub notification_id: String,
    pub attempt: i32,
    /// `delivered`, `failed` or `dead_lettered`.
    pub outcome: String,
    /// The endpoint's HTTP status, when it answered.
    pub status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct DeadLetter {
    pub notification_id: String,
    pub position: i64,
    pub ordinal: i32,
    pub attempts: i32,
    pub last_error: String,
    pub dead_at: DateTime<Utc>,
    /// A replay was asked for and has not succeeded yet.
    pub requeued: bool,
}

/// Where a subscription stands.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct SubscriptionLag {
    pub subscription_id: String,
    pub tournament_id: i64,
    pub paused: bool,
    /// Last notification handled (delivered, skipped or dead-lettered).
    pub position: i64,
    pub ordinal: i32,
    pub delivered: i64,
    /// Wanted notifications after the cursor.
    pub pending: i64,
    /// Age of the oldest of them, from its event's commit (0 when none).
    pub lag_seconds: f64,
    /// Failed attempts at the notification being retried.
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub dead_letters: i64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct DeliveryLog {
    pub state: Option<SubscriptionLag>,
    /// Newest first.
    pub attempts: Vec<AttemptRow>,
    pub dead_letters: Vec<DeadLetter>,
}

const LAG_SQL: &str = "
SELECT s.subscription_id, s.tournament_id, s.paused,
       COALESCE(c.position, 0) AS position, COALESCE(c.ordinal, -1) AS ordinal,
       COALESCE(c.delivered, 0) AS delivered,
       p.pending, COALESCE(p.lag_seconds, 0)::float8 AS lag_seconds,
       COALESCE(c.attempts, 0) AS attempts, c.next_attempt_at,
       (SELECT count(*) FROM webhook_dead_letters d
         WHERE d.subscription_id = s.subscription_id AND NOT d.requeued) AS dead_letters
  FROM live.webhook_subscriptions s
  LEFT JOIN webhook_cursors c USING (subscription_id)
  CROSS JOIN LATERAL (
      SELECT count(*) AS pending,
             extract(epoch FROM now() - min(e.recorded_at)) AS lag_seconds
        FROM live.notifications n
        LEFT JOIN events e ON e.global_position = n.position
       WHERE n.tournament_id = s.tournament_id
         AND (n.position, n.ordinal) > (COALESCE(c.position, 0), COALESCE(c.ordinal, -1))
         AND n.position > s.created_position
         AND (cardinality(s.kinds) = 0 OR n.kind = ANY (s.kinds))) p";

/// Every subscription's lag (`standings projections status`, the worker's gauges).
pub async fn lag(pool: &PgPool) -> sqlx::Result<Vec<SubscriptionLag>> {
    sqlx::query_as(&format!(
        "{LAG_SQL} ORDER BY s.tournament_id, s.subscription_id"
    ))
    .fetch_all(pool)
    .await
}

/// The delivery log of one subscription: its state, its last `limit` attempts and its dead
/// letters. The caller has checked the subscription belongs to the tournament and owner.
pub async fn deliveries(
    pool: &PgPool,
    subscription_id: &str,
    limit: i64,
) -> sqlx::Result<DeliveryLog> {
    // One snapshot: the state, attempts and dead letters agree with each other.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let state = sqlx::query_as(&format!("{LAG_SQL} WHERE s.subscription_id = $1"))
        .bind(subscription_id)
        .fetch_optional(&mut *tx)
        .await?;
    let attempts = sqlx::query_as(
        "SELECT notification_id, attempt, outcome, status, error, latency_ms, at
           FROM webhook_attempts WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(subscription_id)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let dead_letters = sqlx::query_as(
        "SELECT notification_id, position, ordinal, attempts, last_error, dead_at, requeued
           FROM webhook_dead_letters WHERE subscription_id = $1 ORDER BY position, ordinal",
    )
    .bind(subscription_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(DeliveryLog {
        state,
        attempts,
        dead_letters,
    })
}

/// Requeues the subscription's dead letters (the worker tries them again, oldest first,
/// before newer notifications) and wakes the worker. Returns how many were requeued.
pub async fn replay(pool: &PgPool, subscription_id: &str) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let requeued = sqlx::query(
        "UPDATE webhook_dead_letters SET requeued = true WHERE subscription_id = $1 AND NOT requeued",
    )
    .bind(subscription_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::store::CHANNEL)
        .bind(subscription_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(requeued)
}
