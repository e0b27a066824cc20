//! Webhook subscriptions: `webhook_subscriptions` (issue 15). Rare events, one by one in both
//! paths. They change nothing a viewer sees, so they nudge nothing.

use domain::tournament::TournamentEvent;
use sqlx::PgConnection;
use store::RecordedEvent;

/// Applies a webhook event; `false` when `e` is not one.
pub(super) async fn webhook(
    db: &mut PgConnection,
    event: &RecordedEvent,
    e: &TournamentEvent,
) -> sqlx::Result<bool> {
    use TournamentEvent as E;
    let at = event.recorded_at;
    match e {
        E::WebhookRegistered(w) => {
            sqlx::query(
                "INSERT INTO webhook_subscriptions
                    (subscription_id, tournament_id, url, format, kinds, description, paused,
                     secret_fingerprint, created_position, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9, $10)",
            )
            .bind(&w.subscription_id)
            .bind(w.tournament_id)
            .bind(&w.url)
            .bind(w.format.as_str())
            .bind(&w.kinds)
            .bind(&w.description)
            .bind(&w.secret_fingerprint)
            .bind(event.log_position.position)
            .bind(w.registered_at)
            .bind(at)
            .execute(db)
            .await?;
        }
        E::WebhookEdited(w) => {
            sqlx::query(
                "UPDATE webhook_subscriptions
                    SET url = $2, format = $3, kinds = $4, description = $5, updated_at = $6
                  WHERE subscription_id = $1",
            )
            .bind(&w.subscription_id)
            .bind(&w.url)
            .bind(w.format.as_str())
            .bind(&w.kinds)
            .bind(&w.description)
            .bind(at)
            .execute(db)
            .await?;
        }
        E::WebhookPaused(w) | E::WebhookResumed(w) => {
            sqlx::query(
                "UPDATE webhook_subscriptions SET paused = $2, updated_at = $3
                  WHERE subscription_id = $1",
            )
            .bind(&w.subscription_id)
            .bind(matches!(e, E::WebhookPaused(_)))
            .bind(at)
            .execute(db)
            .await?;
        }
        E::WebhookDeleted(w) => {
            sqlx::query("DELETE FROM webhook_subscriptions WHERE subscription_id = $1")
                .bind(&w.subscription_id)
                .execute(db)
                .await?;
        }
        E::WebhookSecretRotated(w) => {
            sqlx::query(
                "UPDATE webhook_subscriptions SET secret_fingerprint = $2, updated_at = $3
                  WHERE subscription_id = $1",
            )
            .bind(&w.subscription_id)
            .bind(&w.secret_fingerprint)
            .bind(at)
            .execute(db)
            .await?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}
