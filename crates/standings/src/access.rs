//! Which access tokens this process accepts: the auth service's (AUTH_JWKS_URL), or outside
//! production a local dev key whose key set the server also publishes at `/auth/jwks`.

use anyhow::Context;

use crate::settings::AuthArgs;

/// Where the dev key set is published (what AUTH_JWKS_URL would point at for a second process).
pub const DEV_JWKS_PATH: &str = "/auth/jwks";

pub struct Access {
    /// Browser origins allowed to call with credentials.
    pub cors: api::CorsPolicy,
    /// The auth service's base URL for owner profiles.
    pub directory: Option<String>,
    /// `None`: no key set (production without AUTH_JWKS_URL): writes answer 401.
    pub verifier: Option<auth::Verifier>,
    /// The dev key set to publish, when the dev key is in use.
    pub dev_jwks: Option<serde_json::Value>,
    /// The dev key itself (the demo mints its host's token with it).
    pub dev_key: Option<auth::DevKey>,
}

pub fn configure(args: &AuthArgs) -> anyhow::Result<Access> {
    let issuer = args.issuer().map(str::to_string);
    let cors = api::CorsPolicy::new(&args.cors_origins, args.is_production());
    let directory = args.auth_api_base_url.clone().filter(|u| !u.is_empty());
    if let Some(url) = args.auth_jwks_url.as_deref().filter(|u| !u.is_empty()) {
        let mut config = auth::VerifierConfig::new(url);
        config.issuer = issuer;
        tracing::info!(
            jwks = url,
            "verifying tokens against the auth service's key set"
        );
        return Ok(Access {
            cors,
            directory,
            verifier: Some(auth::Verifier::new(config)),
            dev_jwks: None,
            dev_key: None,
        });
    }
    if args.is_production() {
        tracing::warn!("AUTH_JWKS_URL is unset in production: writes and /v1/me answer 401");
        return Ok(Access {
            cors,
            directory,
            verifier: None,
            dev_jwks: None,
            dev_key: None,
        });
    }
    let key = auth::DevKey::load_or_create(&args.auth_dev_key)
        .with_context(|| format!("dev signing key {}", args.auth_dev_key.display()))?;
    let jwks = key.jwks();
    let mut config = auth::VerifierConfig::new(DEV_JWKS_PATH);
    config.issuer = issuer;
    tracing::info!(
        key = %args.auth_dev_key.display(),
        "development auth: accepting tokens from the local dev key (mint one with `standings token --user UUID`)"
    );
    Ok(Access {
        cors,
        directory,
        verifier: Some(auth::Verifier::with_static_jwks(&jwks, config)),
        dev_jwks: Some(jwks),
        dev_key: Some(key),
    })
}
