//! Twitch: an app access token by client credentials, and Helix `GET /helix/streams`.
//!
//! - The token is minted with `POST {auth}/oauth2/token?client_id=…&client_secret=…&grant_type=client_credentials`
//!   and reused until 60 s before its `expires_in`.
//! - Helix is asked for at most 100 `user_login`s per call, with `first=100`: Helix pages at
//!   20 streams by default, so without it a batch with more than 20 live channels would hide
//!   the rest.
//! - A 401 (revoked or expired token) drops the token, mints a new one once and retries the
//!   call; a second 401 fails it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::stream_channel::LiveStream;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::config::TwitchConfig;
use crate::error::PlatformError;

/// Logins per Helix call (Helix's limit).
pub const MAX_LOGINS: usize = 100;
/// A token is replaced this long before Twitch says it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

struct AppToken {
    access_token: String,
    replace_at: Instant,
}

pub struct TwitchClient {
    http: reqwest::Client,
    config: TwitchConfig,
    token: tokio::sync::Mutex<Option<AppToken>>,
    requests: AtomicU64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct StreamsPage {
    data: Vec<HelixStream>,
}

#[derive(Deserialize)]
struct HelixStream {
    user_login: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    game_name: Option<String>,
    #[serde(default)]
    started_at: Option<DateTime<Utc>>,
}

impl TwitchClient {
    pub fn new(config: TwitchConfig, timeout: Duration) -> Result<Self, PlatformError> {
        let http = crate::error::http_client(timeout)?;
        Ok(Self {
            http,
            config,
            token: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests made so far (token mints included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Forgets the cached token (a new leader term; tests).
    pub async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// The live streams among `logins` (lower-cased logins → stream), in calls of at most
    /// [`MAX_LOGINS`]. Any failed call fails the whole answer.
    pub async fn live_streams(
        &self,
        logins: &[String],
    ) -> Result<HashMap<String, LiveStream>, PlatformError> {
        let mut live = HashMap::new();
        for chunk in logins.chunks(MAX_LOGINS) {
            for stream in self.streams(chunk).await? {
                if stream.kind == "live" {
                    live.insert(
                        stream.user_login.to_ascii_lowercase(),
                        LiveStream {
                            title: stream.title,
                            category: stream.game_name,
                            started_at: stream.started_at,
                        },
                    );
                }
            }
        }
        Ok(live)
    }

    /// One Helix call, re-minting the token once on 401.
    async fn streams(&self, logins: &[String]) -> Result<Vec<HelixStream>, PlatformError> {
        let token = self.token().await?;
        match self.get_streams(logins, &token).await? {
            Some(page) => Ok(page.data),
            None => {
                self.drop_token(&token).await;
                let token = self.token().await?;
                self.get_streams(logins, &token)
                    .await?
                    .map(|page| page.data)
                    .ok_or(PlatformError::Unauthorized)
            }
        }
    }

    /// `None` on 401.
    async fn get_streams(
        &self,
        logins: &[String],
        token: &str,
    ) -> Result<Option<StreamsPage>, PlatformError> {
        let mut query: Vec<(&str, &str)> =
            logins.iter().map(|l| ("user_login", l.as_str())).collect();
        query.push(("first", "100"));
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .get(format!("{}/helix/streams", self.config.api_base_url))
            .query(&query)
            .header("Client-Id", &self.config.client_id)
            .bearer_auth(token)
            .send()
            .await?;
        match response.status() {
            StatusCode::UNAUTHORIZED => Ok(None),
            s if s.is_success() => Ok(Some(response.json().await?)),
            s => Err(PlatformError::Status { status: s.as_u16() }),
        }
    }

    /// The cached token, or a new one.
    async fn token(&self) -> Result<String, PlatformError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.replace_at) {
            return Ok(t.access_token.clone());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.config.auth_base_url))
            .query(&[
                ("client_id", self.config.client_id.as_str()),
                ("client_secret", self.config.client_secret.as_str()),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(PlatformError::Status {
                status: response.status().as_u16(),
            });
        }
        let minted: TokenResponse = response.json().await?;
        let lifetime = Duration::from_secs(minted.expires_in).saturating_sub(EXPIRY_MARGIN);
        tracing::debug!(expires_in = minted.expires_in, "twitch app token minted");
        *cached = Some(AppToken {
            access_token: minted.access_token.clone(),
            replace_at: Instant::now() + lifetime,
        });
        Ok(minted.access_token)
    }

    /// Drops `token` if it is still the cached one (another call may have replaced it).
    async fn drop_token(&self, token: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.access_token == token) {
            *cached = None;
        }
    }
}
