//! Webhook signing secrets (`webhook_secrets`, migration 0005): kept beside the log, never in
//! it (the log is forever and its audit view is public). Events record only
//! [`fingerprint`]s.

use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Every secret starts with this, so a leaked one is recognisable (secret scanners).
pub const PREFIX: &str = "whsec_";

/// A new secret: 32 random bytes from the OS, base64url without padding, prefixed `whsec_`.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What events and reads show of a secret: the first 8 hex digits of its SHA-256.
pub fn fingerprint(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stores (or replaces) the secret of a subscription.
pub async fn save(pool: &PgPool, subscription_id: &str, secret: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_secrets (subscription_id, secret, rotated_at) VALUES ($1, $2, $3)
         ON CONFLICT (subscription_id) DO UPDATE
            SET secret = excluded.secret, rotated_at = excluded.rotated_at",
    )
    .bind(subscription_id)
    .bind(secret)
    .bind(Utc::now())
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a secret (a registration whose event was refused).
pub async fn forget(pool: &PgPool, subscription_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM webhook_secrets WHERE subscription_id = $1")
        .bind(subscription_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets the secrets of several subscriptions (their tournament was deleted).
pub async fn forget_all(pool: &PgPool, subscription_ids: &[String]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM webhook_secrets WHERE subscription_id = ANY($1)")
        .bind(subscription_ids)
        .execute(pool)
        .await?;
    Ok(())
}

/// The current secret of a subscription (the deliverer signs with it).
pub async fn secret(pool: &PgPool, subscription_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT secret FROM webhook_secrets WHERE subscription_id = $1")
        .bind(subscription_id)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_43_chars_of_base64url_and_distinct() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        let body = a.strip_prefix(PREFIX).unwrap_or_default();
        assert_eq!(body.len(), 43);
        assert!(body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let f = fingerprint(&a);
        assert_eq!(f.len(), 8);
        assert_ne!(f, fingerprint(&b));
        // sha256("abc") = ba7816bf...
        assert_eq!(fingerprint("abc"), "ba7816bf");
    }
}
