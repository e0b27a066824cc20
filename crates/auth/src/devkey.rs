//! A local RSA key pair that serves a JWKS and mints access tokens, for development and for
//! self-hosting without an auth service.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::AUDIENCE;

/// Size of generated keys.
const KEY_BITS: usize = 2048;

/// Why a dev key could not be loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    #[error("cannot read the dev key {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write the dev key {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// The text is not an RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY` PEM).
    #[error("{0} is not an RSA private key in PEM (PKCS#8 or PKCS#1)")]
    InvalidPem(String),
}

/// An RSA key pair whose public half is published as a one-key JWKS.
///
/// The key id is the RFC 7638 JWK thumbprint of the public key, so it is stable across restarts
/// for a key loaded from disk and changes whenever the key does.
pub struct DevKey {
    private: RsaPrivateKey,
    encoding: EncodingKey,
    kid: String,
    n: String,
    e: String,
}

impl fmt::Debug for DevKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevKey {
    /// Loads the PEM private key at `path`, or generates a 2048-bit key and stores it there
    /// (mode 0600, parent directories created) if the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<DevKey, DevKeyError> {
        match std::fs::read_to_string(path) {
            Ok(pem) => Self::parse(&pem, || path.display().to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = DevKey::generate();
                match write_new(path, key.private_key_pem().as_bytes()) {
                    Ok(()) => Ok(key),
                    // Another process created it first: use theirs, so both agree.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let pem =
                            std::fs::read_to_string(path).map_err(|source| DevKeyError::Read {
                                path: path.to_owned(),
                                source,
                            })?;
                        Self::parse(&pem, || path.display().to_string())
                    }
                    Err(source) => Err(DevKeyError::Write {
                        path: path.to_owned(),
                        source,
                    }),
                }
            }
            Err(source) => Err(DevKeyError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// A fresh in-memory 2048-bit key (tests, throwaway servers).
    pub fn generate() -> DevKey {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), KEY_BITS)
            .expect("the OS random number generator failed while generating an RSA key");
        Self::from_private(private)
    }

    /// Parses a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<DevKey, DevKeyError> {
        Self::parse(pem, || "the PEM text".to_owned())
    }

    fn parse(pem: &str, what: impl FnOnce() -> String) -> Result<DevKey, DevKeyError> {
        RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map(Self::from_private)
            .map_err(|_| DevKeyError::InvalidPem(what()))
    }

    fn from_private(private: RsaPrivateKey) -> DevKey {
        let der = private
            .to_pkcs1_der()
            .expect("a valid RSA private key always encodes as PKCS#1");
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        let kid = thumbprint(&n, &e);
        DevKey {
            private,
            encoding,
            kid,
            n,
            e,
        }
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as one JWK.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "n": self.n,
            "e": self.e,
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
        })
    }

    /// The public key as a JWKS document: `{"keys": [jwk]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// The public key as SPKI PEM (`PUBLIC KEY`).
    pub fn public_key_pem(&self) -> String {
        RsaPublicKey::from(&self.private)
            .to_public_key_pem(LineEnding::LF)
            .expect("a valid RSA public key always encodes as SPKI PEM")
    }

    /// The private key as PKCS#8 PEM (`PRIVATE KEY`), the format `load_or_create` writes.
    pub fn private_key_pem(&self) -> String {
        self.private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("a valid RSA private key always encodes as PKCS#8 PEM")
            .to_string()
    }

    /// Mints an access token for `user_id`: RS256, `kid` header, claims `sub`, `aud`
    /// (`[AUDIENCE]`), `iat`, `exp = iat + ttl` and `iss` when given.
    pub fn mint(&self, user_id: &str, ttl: Duration, issuer: Option<&str>) -> String {
        let iat = now_secs();
        let mut claims = json!({
            "sub": user_id,
            "aud": [AUDIENCE],
            "iat": iat,
            "exp": iat.saturating_add(ttl.as_secs()),
        });
        if let Some(iss) = issuer {
            claims["iss"] = Value::from(iss);
        }
        self.sign_claims(&claims, Some(&self.kid))
    }

    /// Signs arbitrary claims with RS256 under the given `kid` header (none when `None`): for
    /// tests that need expired, foreign-audience or subject-less tokens.
    pub fn sign_claims(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("signing JSON claims with a valid RSA key cannot fail")
    }
}

/// RFC 7638 thumbprint of an RSA public key: SHA-256 over the canonical JSON of its required
/// members, in lexicographic order, without whitespace.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Creates `path` with `bytes`, readable by the owner only, failing with `AlreadyExists` if it
/// is there. The file appears whole or not at all: written beside it, then hard-linked in.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(
        ".tmp{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let tmp = PathBuf::from(tmp_name);
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn pem_round_trip_keeps_kid_and_jwks() {
        let key = DevKey::generate();
        let again = DevKey::from_pem(&key.private_key_pem()).unwrap();
        assert_eq!(key.kid(), again.kid());
        assert_eq!(key.jwks(), again.jwks());
        let jwk = &key.jwks()["keys"][0];
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], key.kid());
        assert!(key
            .public_key_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(!format!("{key:?}").contains(&key.n));
    }

    #[test]
    fn pkcs1_pem_is_accepted_and_junk_refused() {
        let key = DevKey::generate();
        let pkcs1 = key.private.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(DevKey::from_pem(&pkcs1).unwrap().kid(), key.kid());
        assert!(matches!(
            DevKey::from_pem("not a key"),
            Err(DevKeyError::InvalidPem(_))
        ));
    }

    #[test]
    fn minted_token_carries_kid_and_claims() {
        let key = DevKey::generate();
        let token = key.mint("user-1", Duration::from_secs(600), Some("issuer-x"));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["aud"], json!([AUDIENCE]));
        assert_eq!(claims["iss"], "issuer-x");
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 600);
    }

    #[test]
    fn load_or_create_persists_the_key_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dev-key.pem");
        let first = DevKey::load_or_create(&path).unwrap();
        let second = DevKey::load_or_create(&path).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwks(), second.jwks());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("dev-key.pem")]);
    }

    #[test]
    fn load_or_create_refuses_a_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev-key.pem");
        std::fs::write(&path, "garbage").unwrap();
        let err = DevKey::load_or_create(&path).unwrap_err();
        assert!(err.to_string().contains("dev-key.pem"), "{err}");
        // The corrupt file is left for the operator, not overwritten.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage");
    }
}
