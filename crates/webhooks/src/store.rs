//! The worker's SQL: what is due, the next notification of a subscription, and recording an
//! attempt (the cursor moves in the same transaction as the attempt's row). Reads the
//! `live.webhook_subscriptions` and `live.notifications` projector views and
//! `public.webhook_secrets`; writes only the tables of `0006_webhook_delivery.sql`.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

/// The NOTIFY channel the replay route pokes so the worker looks at once.
pub const CHANNEL: &str = "webhook_deliveries";

/// A subscription as the worker needs it.
#[derive(Clone, sqlx::FromRow)]
pub struct Subscription {
    pub subscription_id: String,
    pub tournament_id: i64,
    pub url: String,
    pub format: String,
    pub kinds: Vec<String>,
    pub paused: bool,
    pub created_position: i64,
}

// The URL can be a credential (Discord): never in logs.
impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("subscription_id", &self.subscription_id)
            .field("tournament_id", &self.tournament_id)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct Cursor {
    pub position: i64,
    pub ordinal: i32,
    pub attempts: i32,
    pub retry_id: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The next thing to send: a requeued dead letter, else the next notification.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Item {
    pub id: String,
    pub tournament_id: i64,
    pub position: i64,
    pub ordinal: i32,
    pub body: serde_json::Value,
    pub slug: Option<String>,
    /// Whether it is a requeued dead letter.
    pub replay: bool,
}

/// Subscriptions with something to do now (a notification after the cursor that they want,
/// or a requeued dead letter) and not waiting for a retry, oldest activity first.
pub async fn due(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT s.subscription_id
           FROM live.webhook_subscriptions s
           LEFT JOIN webhook_cursors c USING (subscription_id)
          WHERE (c.next_attempt_at IS NULL OR c.next_attempt_at <= now())
            AND (EXISTS (SELECT 1 FROM webhook_dead_letters d
                          WHERE d.subscription_id = s.subscription_id AND d.requeued)
                 OR EXISTS (SELECT 1 FROM live.notifications n
                             WHERE n.tournament_id = s.tournament_id
                               AND (n.position, n.ordinal)
                                   > (COALESCE(c.position, 0), COALESCE(c.ordinal, -1))
                               AND n.position > s.created_position
                               AND (cardinality(s.kinds) = 0 OR n.kind = ANY (s.kinds))))
          ORDER BY c.updated_at NULLS FIRST",
    )
    .fetch_all(pool)
    .await
}

/// When the earliest retry waiting now is due (the worker wakes then).
pub async fn next_retry_at(pool: &PgPool) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "SELECT min(next_attempt_at) FROM webhook_cursors c
          WHERE next_attempt_at > now()
            AND EXISTS (SELECT 1 FROM live.webhook_subscriptions s
                         WHERE s.subscription_id = c.subscription_id)",
    )
    .fetch_one(pool)
    .await
}

pub async fn subscription(pool: &PgPool, id: &str) -> sqlx::Result<Option<Subscription>> {
    sqlx::query_as(
        "SELECT subscription_id, tournament_id, url, format, kinds, paused, created_position
           FROM live.webhook_subscriptions WHERE subscription_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn secret(pool: &PgPool, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT secret FROM webhook_secrets WHERE subscription_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The subscription's cursor, created at the start on first sight.
pub async fn cursor(pool: &PgPool, id: &str) -> sqlx::Result<Cursor> {
    sqlx::query("INSERT INTO webhook_cursors (subscription_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(id)
        .execute(pool)
        .await?;
    sqlx::query_as(
        "SELECT position, ordinal, attempts, retry_id, next_attempt_at
           FROM webhook_cursors WHERE subscription_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// The next item for `sub` after `cursor`: requeued dead letters first (oldest first), then
/// the next wanted notification.
pub async fn next_item(
    pool: &PgPool,
    sub: &Subscription,
    cursor: &Cursor,
) -> sqlx::Result<Option<Item>> {
    let replay = sqlx::query_as(
        "SELECT n.id, n.tournament_id, n.position, n.ordinal, n.body,
                n.body #>> '{tournament,slug}' AS slug, true AS replay
           FROM webhook_dead_letters d
           JOIN live.notifications n ON n.id = d.notification_id
          WHERE d.subscription_id = $1 AND d.requeued
          ORDER BY d.position, d.ordinal
          LIMIT 1",
    )
    .bind(&sub.subscription_id)
    .fetch_optional(pool)
    .await?;
    if replay.is_some() {
        return Ok(replay);
    }
    sqlx::query_as(
        "SELECT id, tournament_id, position, ordinal, body,
                body #>> '{tournament,slug}' AS slug, false AS replay
           FROM live.notifications
          WHERE tournament_id = $1 AND (position, ordinal) > ($2, $3) AND position > $4
            AND (cardinality($5::text[]) = 0 OR kind = ANY ($5))
          ORDER BY position, ordinal
          LIMIT 1",
    )
    .bind(sub.tournament_id)
    .bind(cursor.position)
    .bind(cursor.ordinal)
    .bind(sub.created_position)
    .bind(&sub.kinds)
    .fetch_optional(pool)
    .await
}

/// A paused subscription skips what it missed: its cursor moves to the tournament's last
/// notification (and requeued dead letters go back to dead).
pub async fn skip_paused(pool: &PgPool, sub: &Subscription) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE webhook_cursors c
            SET position = n.position, ordinal = n.ordinal, attempts = 0, retry_id = NULL,
                next_attempt_at = NULL, updated_at = now()
           FROM (SELECT position, ordinal FROM live.notifications WHERE tournament_id = $2
                  ORDER BY position DESC, ordinal DESC LIMIT 1) n
          WHERE c.subscription_id = $1 AND (n.position, n.ordinal) > (c.position, c.ordinal)",
    )
    .bind(&sub.subscription_id)
    .bind(sub.tournament_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE webhook_dead_letters SET requeued = false WHERE subscription_id = $1")
        .bind(&sub.subscription_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// One attempt's result, as recorded.
pub struct Attempt<'a> {
    pub item: &'a Item,
    /// This attempt's number at this item (1-based).
    pub attempt: i32,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i32,
}

/// What recording decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    /// Tried again at `next_attempt_at`.
    Retry,
    DeadLettered,
}

/// Records `attempt` and moves the subscription on, in one transaction: delivered → the
/// cursor passes the item (or its dead letter is deleted); failed with attempts left → a
/// retry time; failed for the last time → a dead letter, and the cursor passes the item.
/// Keeps the last `keep` attempts of the subscription.
pub async fn record(
    pool: &PgPool,
    sub_id: &str,
    attempt: Attempt<'_>,
    outcome: Outcome,
    keep: i64,
) -> sqlx::Result<Recorded> {
    let item = attempt.item;
    let mut tx = pool.begin().await?;
    let recorded = match outcome {
        Outcome::Delivered => {
            if item.replay {
                sqlx::query(
                    "DELETE FROM webhook_dead_letters WHERE subscription_id = $1 AND notification_id = $2",
                )
                .bind(sub_id)
                .bind(&item.id)
                .execute(&mut *tx)
                .await?;
                clear_retry(&mut tx, sub_id, true).await?;
            } else {
                pass(&mut tx, sub_id, item, true).await?;
            }
            Recorded::Delivered
        }
        Outcome::Retry { at } => {
            sqlx::query(
                "UPDATE webhook_cursors
                    SET attempts = $2, retry_id = $3, next_attempt_at = $4, updated_at = now()
                  WHERE subscription_id = $1",
            )
            .bind(sub_id)
            .bind(attempt.attempt)
            .bind(&item.id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            Recorded::Retry
        }
        Outcome::GiveUp => {
            sqlx::query(
                "INSERT INTO webhook_dead_letters
                        (subscription_id, notification_id, tournament_id, position, ordinal,
                         attempts, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (subscription_id, notification_id) DO UPDATE
                    SET attempts = webhook_dead_letters.attempts + EXCLUDED.attempts,
                        last_error = EXCLUDED.last_error, dead_at = now(), requeued = false",
            )
            .bind(sub_id)
            .bind(&item.id)
            .bind(item.tournament_id)
            .bind(item.position)
            .bind(item.ordinal)
            .bind(attempt.attempt)
            .bind(describe(attempt.status, attempt.error.as_deref()))
            .execute(&mut *tx)
            .await?;
            if item.replay {
                clear_retry(&mut tx, sub_id, false).await?;
            } else {
                pass(&mut tx, sub_id, item, false).await?;
            }
            Recorded::DeadLettered
        }
    };
    let outcome_name = match recorded {
        Recorded::Delivered => "delivered",
        Recorded::Retry => "failed",
        Recorded::DeadLettered => "dead_lettered",
    };
    sqlx::query(
        "INSERT INTO webhook_attempts
                (subscription_id, notification_id, attempt, outcome, status, error, latency_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sub_id)
    .bind(&item.id)
    .bind(attempt.attempt)
    .bind(outcome_name)
    .bind(attempt.status)
    .bind(attempt.error.as_deref())
    .bind(attempt.latency_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE subscription_id = $1 AND id <
           (SELECT id FROM webhook_attempts WHERE subscription_id = $1
             ORDER BY id DESC OFFSET $2 - 1 LIMIT 1)",
    )
    .bind(sub_id)
    .bind(keep.max(1))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(recorded)
}

/// How a failed attempt is recorded.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    Delivered,
    Retry { at: DateTime<Utc> },
    GiveUp,
}

pub fn describe(status: Option<i32>, error: Option<&str>) -> String {
    match (status, error) {
        (Some(status), Some(error)) => format!("HTTP {status}: {error}"),
        (Some(status), None) => format!("HTTP {status}"),
        (None, Some(error)) => error.to_string(),
        (None, None) => "failed".to_string(),
    }
}

async fn pass(
    tx: &mut Transaction<'_, Postgres>,
    sub_id: &str,
    item: &Item,
    delivered: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_cursors
            SET position = $2, ordinal = $3, attempts = 0, retry_id = NULL,
                next_attempt_at = NULL, delivered = delivered + $4::int, updated_at = now()
          WHERE subscription_id = $1",
    )
    .bind(sub_id)
    .bind(item.position)
    .bind(item.ordinal)
    .bind(i32::from(delivered))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn clear_retry(
    tx: &mut Transaction<'_, Postgres>,
    sub_id: &str,
    delivered: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_cursors
            SET attempts = 0, retry_id = NULL, next_attempt_at = NULL,
                delivered = delivered + $2::int, updated_at = now()
          WHERE subscription_id = $1",
    )
    .bind(sub_id)
    .bind(i32::from(delivered))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
