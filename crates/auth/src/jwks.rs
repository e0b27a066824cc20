//! A parsed JWKS (RSA signing keys only) and its HTTP fetch.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::DecodingKey;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;

/// A JWKS body larger than this is refused (real ones are a few KiB).
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Keys beyond this many are ignored (a kid-less token is tried against each).
const MAX_KEYS: usize = 32;
/// Smaller RSA moduli are refused.
const MIN_MODULUS_BITS: usize = 2048;

/// The usable keys of one JWKS document.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<Key>,
}

struct Key {
    kid: Option<String>,
    decoding: DecodingKey,
}

/// Which keys to try for a token.
pub(crate) struct Candidates<'a> {
    pub keys: Vec<&'a DecodingKey>,
    /// The token's `kid` named these keys exactly, so a bad signature is final.
    pub exact: bool,
}

impl KeySet {
    /// Parses `{"keys": [...]}`, keeping RSA signing keys usable with RS256 and skipping (with a
    /// debug log) any other entry, so one odd key does not spoil the set.
    pub fn from_json(doc: &Value) -> Result<KeySet, JwksError> {
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::Shape)?;
        let mut keys = Vec::new();
        for entry in entries {
            if keys.len() == MAX_KEYS {
                tracing::warn!(
                    max = MAX_KEYS,
                    "jwks lists too many keys; ignoring the rest"
                );
                break;
            }
            match parse_key(entry) {
                Ok(key) => keys.push(key),
                Err(reason) => {
                    let kid = entry.get("kid").and_then(Value::as_str).unwrap_or("");
                    tracing::debug!(kid, reason, "jwks key skipped");
                }
            }
        }
        Ok(KeySet { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys to try for a token with this `kid`: the keys with that kid; failing those, the
    /// keys that have no kid. A token without a kid tries every key.
    pub fn candidates(&self, kid: Option<&str>) -> Candidates<'_> {
        let pick = |want: Option<&str>| -> Vec<&DecodingKey> {
            self.keys
                .iter()
                .filter(|k| want.is_none() || k.kid.as_deref() == want)
                .map(|k| &k.decoding)
                .collect()
        };
        match kid {
            None => Candidates {
                keys: pick(None),
                exact: false,
            },
            Some(kid) => {
                let exact = pick(Some(kid));
                if exact.is_empty() {
                    Candidates {
                        keys: self
                            .keys
                            .iter()
                            .filter(|k| k.kid.is_none())
                            .map(|k| &k.decoding)
                            .collect(),
                        exact: false,
                    }
                } else {
                    Candidates {
                        keys: exact,
                        exact: true,
                    }
                }
            }
        }
    }
}

fn parse_key(entry: &Value) -> Result<Key, &'static str> {
    let field = |name: &str| entry.get(name).and_then(Value::as_str);
    if field("kty") != Some("RSA") {
        return Err("not an RSA key");
    }
    if field("use").is_some_and(|u| u != "sig") {
        return Err("not a signing key");
    }
    if field("alg").is_some_and(|a| a != "RS256") {
        return Err("not an RS256 key");
    }
    let decode = |name: &str| {
        field(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
            .filter(|bytes| !bytes.is_empty())
    };
    let (Some(n), Some(e)) = (decode("n"), decode("e")) else {
        return Err("missing or malformed n / e");
    };
    // Validate here, so a broken key is dropped at load rather than failing every verify.
    let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
        .map_err(|_| "not a valid RSA public key")?;
    if public.n().bits() < MIN_MODULUS_BITS {
        return Err("modulus shorter than 2048 bits");
    }
    Ok(Key {
        kid: field("kid").map(str::to_owned),
        decoding: DecodingKey::from_rsa_raw_components(&n, &e),
    })
}

/// Why a JWKS could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwksError {
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("body larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("body is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("body has no \"keys\" array")]
    Shape,
}

/// GETs and parses the JWKS at `url`. The client carries the timeout.
pub(crate) async fn fetch(client: &reqwest::Client, url: &str) -> Result<KeySet, JwksError> {
    let mut response = client.get(url).send().await?;
    let status = response.status();
    if !status.is_success() {
        return Err(JwksError::Status(status.as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
    {
        return Err(JwksError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let doc: Value = serde_json::from_slice(&body)?;
    KeySet::from_json(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DevKey;
    use serde_json::json;

    #[test]
    fn keeps_rsa_signing_keys_and_skips_the_rest() {
        let key = DevKey::generate();
        let good = key.jwk();
        let mut no_kid = good.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut enc = good.clone();
        enc["use"] = json!("enc");
        let mut rs384 = good.clone();
        rs384["alg"] = json!("RS384");
        let doc = json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "tiny"},
            {"kty": "RSA", "kid": "no-n"},
            enc, rs384, good, no_kid,
        ]});
        let set = KeySet::from_json(&doc).unwrap();
        assert_eq!(set.len(), 2);
        let exact = set.candidates(Some(key.kid()));
        assert!(exact.exact);
        assert_eq!(exact.keys.len(), 1);
        let unknown = set.candidates(Some("other"));
        assert!(!unknown.exact);
        assert_eq!(unknown.keys.len(), 1, "falls back to the kid-less key");
        assert_eq!(set.candidates(None).keys.len(), 2);
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(KeySet::from_json(&json!({"kys": []})).is_err());
        assert!(KeySet::from_json(&json!([1, 2])).is_err());
        assert_eq!(KeySet::from_json(&json!({"keys": []})).unwrap().len(), 0);
    }
}
