//! The generic format's signature: `v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`, the
//! scheme GitHub and Stripe use (docs/notifications.md, "Verifying signatures").

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A subscription's signing secret (`whsec_...`). Never printed: `Debug` is redacted and
/// there is no `Display`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `v1=<hex>` over `"{timestamp}.{body}"`, keyed by the secret string's UTF-8 bytes.
pub fn signature(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length (longer keys are hashed), so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()) else {
        unreachable!("HMAC accepts keys of every length")
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_timestamp_and_body_with_the_key() {
        // The reference implementation check is tests/delivery.rs (Python's hmac).
        let sig = signature(&Secret::new("key".into()), 0, b"abc");
        assert!(sig.starts_with("v1="));
        assert_eq!(sig.len(), 3 + 64);
        assert_ne!(sig, signature(&Secret::new("key2".into()), 0, b"abc"));
        assert_ne!(sig, signature(&Secret::new("key".into()), 1, b"abc"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = Secret::new("whsec_topsecret".into());
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
