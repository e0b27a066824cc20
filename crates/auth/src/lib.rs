//! Access-token authentication for the write API: this crate's one job is to turn a
//! `criticalbit_access` JWT into a user id, or refuse it.
//!
//! - [`Verifier`] checks RS256 tokens against the auth service's JWKS (`AUTH_JWKS_URL`), cached in
//!   memory and refetched, at a bounded rate, when a token names a key it does not know
//!   (contract §6). It never panics and never fails with anything but an [`AuthError`].
//! - [`DevKey`] is a local RSA key pair for development and self-hosting without an auth service:
//!   it serves a JWKS and mints tokens that the same [`Verifier`] accepts.
//!
//! The crate knows nothing of HTTP requests or cookies; the api crate extracts the token and maps
//! [`AuthError`] to a 401 whose `detail` is the error's `Display` text (contract §1.0.2).

mod devkey;
mod jwks;
mod verifier;

pub use devkey::{DevKey, DevKeyError};
pub use verifier::{Verifier, VerifierConfig};

/// The audience every accepted token must carry (the fastapi-users default).
pub const AUDIENCE: &str = "fastapi-users:auth";

/// The cookie the access token arrives in.
pub const COOKIE: &str = "criticalbit_access";

/// Clock skew tolerated on `exp` (and `nbf`), in seconds: a token is accepted until
/// `exp + LEEWAY_SECS`.
pub const LEEWAY_SECS: u64 = 30;

/// Tokens longer than this are refused before any parsing, so a client cannot make us do heavy
/// work (real access tokens are well under 1 KiB).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The user id (`sub`), never empty.
    pub sub: String,
}

/// Why a token was refused. `Display` gives the contract's 401 `detail` text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No token, or an empty one (the API decides this one; `verify("")` returns it too).
    #[error("Not authenticated")]
    Missing,
    /// Any verification failure: shape, algorithm, key, signature, audience, issuer, expiry.
    #[error("Invalid token")]
    Invalid,
    /// A valid token whose `sub` is missing or empty.
    #[error("Invalid token: missing subject")]
    MissingSubject,
}
