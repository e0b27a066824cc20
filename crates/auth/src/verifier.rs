//! RS256 verification against a cached JWKS.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::jwks::{self, KeySet};
use crate::{AuthError, Claims, AUDIENCE, LEEWAY_SECS, MAX_TOKEN_LEN};

/// Where the keys come from and how the verifier treats claims.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// `AUTH_JWKS_URL`. Unused by [`Verifier::with_static_jwks`].
    pub jwks_url: String,
    /// `AUTH_TOKEN_ISSUER`: when set and non-empty, tokens must carry exactly this `iss`.
    pub issuer: Option<String>,
    /// Refetches of the JWKS for tokens whose key is not cached happen at most once per this
    /// interval (default 30 s). The first load does not count.
    pub min_refresh_interval: Duration,
    /// Timeout of one JWKS request (default 10 s).
    pub fetch_timeout: Duration,
}

impl VerifierConfig {
    /// Defaults: no issuer check, 30 s between refetches, 10 s fetch timeout.
    pub fn new(jwks_url: impl Into<String>) -> Self {
        VerifierConfig {
            jwks_url: jwks_url.into(),
            issuer: None,
            min_refresh_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(10),
        }
    }
}

/// Verifies access tokens. Cheap to clone: clones share the key cache.
///
/// Keys are cached in memory with no expiry. A token whose key is not cached (unknown `kid`, or no
/// kid and no cached key verifies it) triggers a refetch of the JWKS, at most once per
/// [`VerifierConfig::min_refresh_interval`]; concurrent requests wait for that one fetch. A failed
/// fetch keeps the cached keys.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: VerifierConfig,
    /// `None` for a static key set, which is never refetched.
    client: Option<reqwest::Client>,
    keys: RwLock<Arc<KeySet>>,
    refresh: tokio::sync::Mutex<RefreshState>,
    validation: Validation,
}

#[derive(Default)]
struct RefreshState {
    /// Keys have been loaded once.
    loaded: bool,
    /// When the last rate-limited fetch (a refetch, or any failed fetch) started.
    last_fetch: Option<Instant>,
}

/// The claims this crate reads; signature and `exp` / `aud` / `iss` are checked by
/// `jsonwebtoken` first.
#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    sub: Option<Value>,
}

enum Attempt {
    Verified(RawClaims),
    Rejected(&'static str),
    /// No cached key could vouch for the token: worth a refetch.
    NoKey,
}

impl Verifier {
    /// A verifier that fetches `config.jwks_url` on first use and when a key is missing.
    pub fn new(config: VerifierConfig) -> Verifier {
        let client = reqwest::Client::builder()
            .timeout(config.fetch_timeout)
            .connect_timeout(config.fetch_timeout)
            // Fetches are rare: no idle connections to go stale between them.
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "jwks http client setup failed; using defaults");
                reqwest::Client::new()
            });
        Self::build(config, Some(client), KeySet::default())
    }

    /// A verifier over a fixed JWKS document (e.g. [`crate::DevKey::jwks`]), never fetched over
    /// HTTP. Entries that are not RSA signing keys are ignored; a document without a `keys`
    /// array yields a verifier that refuses every token.
    pub fn with_static_jwks(jwks: &Value, config: VerifierConfig) -> Verifier {
        let keys = KeySet::from_json(jwks).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "static jwks unusable; every token will be refused");
            KeySet::default()
        });
        tracing::info!(keys = keys.len(), source = "static", "jwks_loaded");
        Self::build(config, None, keys)
    }

    fn build(config: VerifierConfig, client: Option<reqwest::Client>, keys: KeySet) -> Verifier {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_audience(&[AUDIENCE]);
        let issuer = config.issuer.as_deref().filter(|i| !i.is_empty());
        match issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                validation.set_required_spec_claims(&["exp", "aud", "iss"]);
            }
            None => validation.set_required_spec_claims(&["exp", "aud"]),
        }
        Verifier {
            inner: Arc::new(Inner {
                config,
                client,
                keys: RwLock::new(Arc::new(keys)),
                refresh: tokio::sync::Mutex::new(RefreshState::default()),
                validation,
            }),
        }
    }

    /// Verifies an RS256 JWT: signature by a key of the JWKS (selected by `kid`; a token without
    /// kid tries every RSA key), `aud` must contain [`AUDIENCE`], `exp` enforced (with
    /// [`LEEWAY_SECS`] of skew), `nbf` when present, `iss` when configured. Returns the subject.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(failed("token_too_long"));
        }
        // Only RS256 gets anywhere near a key: `none`, HMAC (the alg-confusion attack with the
        // public key as secret) and every other algorithm stop here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| failed("malformed_header"))?;
        if header.alg != Algorithm::RS256 {
            return Err(failed("algorithm_not_allowed"));
        }
        if header.crit.is_some() {
            return Err(failed("critical_header"));
        }
        let kid = header.kid.as_deref();

        let cached = self.current_keys();
        let raw = match self.attempt(&cached, token, kid) {
            Attempt::Verified(raw) => raw,
            Attempt::Rejected(reason) => return Err(failed(reason)),
            Attempt::NoKey => match self.refresh(&cached).await {
                None => return Err(failed("unknown_key")),
                Some(keys) => match self.attempt(&keys, token, kid) {
                    Attempt::Verified(raw) => raw,
                    Attempt::Rejected(reason) => return Err(failed(reason)),
                    Attempt::NoKey => return Err(failed("unknown_key")),
                },
            },
        };
        match raw.sub {
            // `sub` is the auth service's user UUID; anything else must not become a user id
            // (it is written into logs, ownership rows and `/v1/me`).
            Some(Value::String(sub)) if is_uuid(&sub) => Ok(Claims { sub }),
            Some(Value::String(sub)) if !sub.is_empty() => Err(failed("subject_not_a_uuid")),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                tracing::info!(reason = "missing_subject", "jwt_verify_failed");
                Err(AuthError::MissingSubject)
            }
            Some(_) => Err(failed("subject_not_a_string")),
        }
    }

    fn current_keys(&self) -> Arc<KeySet> {
        let guard = self
            .inner
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&guard)
    }

    fn attempt(&self, keys: &KeySet, token: &str, kid: Option<&str>) -> Attempt {
        let candidates = keys.candidates(kid);
        for key in &candidates.keys {
            match jsonwebtoken::decode::<RawClaims>(token, key, &self.inner.validation) {
                Ok(data) => return Attempt::Verified(data.claims),
                Err(e) => match e.kind() {
                    ErrorKind::InvalidSignature => continue,
                    other => return Attempt::Rejected(reason(other)),
                },
            }
        }
        if candidates.exact {
            tracing::info!(kid, "jwt_signature_invalid");
            Attempt::Rejected("invalid_signature")
        } else {
            Attempt::NoKey
        }
    }

    /// Refetches the JWKS if the rate limit allows, returning the key set to retry with: a newer
    /// one (fetched here, or by a concurrent caller while we waited), or `None` if nothing
    /// changed.
    async fn refresh(&self, seen: &Arc<KeySet>) -> Option<Arc<KeySet>> {
        let client = self.inner.client.as_ref()?;
        let mut state = self.inner.refresh.lock().await;
        let current = self.current_keys();
        if !Arc::ptr_eq(&current, seen) {
            return Some(current);
        }
        let interval = self.inner.config.min_refresh_interval;
        if state.last_fetch.is_some_and(|t| t.elapsed() < interval) {
            return None;
        }
        let started = Instant::now();
        let url = &self.inner.config.jwks_url;
        tracing::info!(url, initial = !state.loaded, "jwks_fetch");
        match jwks::fetch(client, url).await {
            Ok(keys) => {
                tracing::info!(url, keys = keys.len(), "jwks_loaded");
                if state.loaded {
                    state.last_fetch = Some(started);
                }
                state.loaded = true;
                let keys = Arc::new(keys);
                *self
                    .inner
                    .keys
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::clone(&keys);
                Some(keys)
            }
            Err(e) => {
                tracing::warn!(url, error = %e, "jwks_fetch_failed");
                state.last_fetch = Some(started);
                None
            }
        }
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.inner.config)
            .field("static", &self.inner.client.is_none())
            .finish_non_exhaustive()
    }
}

/// The contract's user id: a hyphenated UUID (36 characters, either case).
fn is_uuid(sub: &str) -> bool {
    sub.len() == 36 && uuid::Uuid::try_parse(sub).is_ok()
}

fn failed(reason: &'static str) -> AuthError {
    tracing::info!(reason, "jwt_verify_failed");
    AuthError::Invalid
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::ImmatureSignature => "not_yet_valid",
        ErrorKind::InvalidAudience => "wrong_audience",
        ErrorKind::InvalidIssuer => "wrong_issuer",
        ErrorKind::MissingRequiredClaim(_) => "missing_claim",
        ErrorKind::InvalidAlgorithm => "algorithm_not_allowed",
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => "unusable_key",
        _ => "malformed",
    }
}
