//! [`StreamsConfig`]: which platforms are on (credentials), where they are (base URLs, so
//! tests and the demo point them at `sim`'s fake), cadences and the leader lock.

use std::fmt;
use std::time::Duration;

/// `TWITCH_AUTH_BASE_URL`'s default.
pub const DEFAULT_TWITCH_AUTH_BASE_URL: &str = "https://id.twitch.tv";
/// `TWITCH_API_BASE_URL`'s default.
pub const DEFAULT_TWITCH_API_BASE_URL: &str = "https://api.twitch.tv";
/// `YOUTUBE_API_BASE_URL`'s default.
pub const DEFAULT_YOUTUBE_API_BASE_URL: &str = "https://www.googleapis.com";
/// The Data API's default daily quota (units).
pub const DEFAULT_YOUTUBE_DAILY_QUOTA: u32 = 10_000;
/// Advisory-lock key of the one active stream poller (`"lsstream"` in ASCII).
pub const DEFAULT_LOCK_KEY: i64 = 0x6c73_7374_7265_616d;

/// Twitch app credentials (client-credentials grant) and hosts.
#[derive(Clone, PartialEq, Eq)]
pub struct TwitchConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Token endpoint host (`POST /oauth2/token`).
    pub auth_base_url: String,
    /// Helix host (`GET /helix/streams`).
    pub api_base_url: String,
}

/// YouTube Data API key, host and daily budget.
#[derive(Clone, PartialEq, Eq)]
pub struct YoutubeConfig {
    pub api_key: String,
    pub base_url: String,
    /// Units per quota day the poller may spend (`search.list` costs 100, `channels.list` 1).
    pub daily_quota: u32,
}

// Secrets never reach logs, even through `{:?}`.
impl fmt::Debug for TwitchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwitchConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_base_url", &self.auth_base_url)
            .field("api_base_url", &self.api_base_url)
            .finish()
    }
}

impl fmt::Debug for YoutubeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YoutubeConfig")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("daily_quota", &self.daily_quota)
            .finish()
    }
}

/// Everything that shapes a stream poller. `Default`: both platforms off, production cadences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamsConfig {
    /// `None`: Twitch detection off (no `TWITCH_CLIENT_ID` + `TWITCH_CLIENT_SECRET`).
    pub twitch: Option<TwitchConfig>,
    /// `None`: YouTube detection off (no `YOUTUBE_API_KEY`).
    pub youtube: Option<YoutubeConfig>,
    /// Helix cadence (`POLL_TWITCH_SECONDS`, 60 s).
    pub twitch_interval: Duration,
    /// YouTube cadence (`POLL_YOUTUBE_SECONDS`, 1800 s).
    pub youtube_interval: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Key of the session advisory lock that elects the one active stream poller.
    pub lock_key: i64,
    /// How often a standby tries to take the lock.
    pub lock_retry: Duration,
    /// How often the leader checks its lock session (and that check's timeout).
    pub lock_check: Duration,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            twitch: None,
            youtube: None,
            twitch_interval: Duration::from_secs(60),
            youtube_interval: Duration::from_secs(1800),
            timeout: Duration::from_secs(10),
            lock_key: DEFAULT_LOCK_KEY,
            lock_retry: Duration::from_secs(5),
            lock_check: Duration::from_secs(5),
        }
    }
}

/// Blank means unset (an empty environment variable turns a platform off).
fn given(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl TwitchConfig {
    /// Twitch is on only when both the client id and secret are given.
    pub fn from_credentials(
        client_id: Option<&str>,
        client_secret: Option<&str>,
        auth_base_url: &str,
        api_base_url: &str,
    ) -> Option<TwitchConfig> {
        Some(TwitchConfig {
            client_id: given(client_id)?,
            client_secret: given(client_secret)?,
            auth_base_url: auth_base_url.trim_end_matches('/').to_owned(),
            api_base_url: api_base_url.trim_end_matches('/').to_owned(),
        })
    }
}

impl YoutubeConfig {
    /// YouTube is on only when an API key is given.
    pub fn from_key(api_key: Option<&str>, base_url: &str, daily_quota: u32) -> Option<Self> {
        Some(YoutubeConfig {
            api_key: given(api_key)?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            daily_quota,
        })
    }
}

impl StreamsConfig {
    /// Whether any platform is on.
    pub fn enabled(&self) -> bool {
        self.twitch.is_some() || self.youtube.is_some()
    }

    /// YouTube searches one cycle may make: the daily budget spread over the cycles of a day
    /// (at least one). With the defaults: 10,000 units / 100 per search / 48 cycles = 2.
    pub fn youtube_searches_per_cycle(&self) -> usize {
        let Some(youtube) = &self.youtube else {
            return 0;
        };
        let interval = self.youtube_interval.as_secs_f64().max(1.0);
        let cycles_per_day = (86_400.0 / interval).max(1.0);
        let searches = f64::from(youtube.daily_quota / crate::youtube::SEARCH_COST);
        ((searches / cycles_per_day).floor() as usize).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_need_every_credential_and_secrets_stay_out_of_debug() {
        let a = DEFAULT_TWITCH_AUTH_BASE_URL;
        let b = DEFAULT_TWITCH_API_BASE_URL;
        assert!(TwitchConfig::from_credentials(Some("id"), None, a, b).is_none());
        assert!(TwitchConfig::from_credentials(Some("id"), Some("  "), a, b).is_none());
        assert!(TwitchConfig::from_credentials(None, Some("secret"), a, b).is_none());
        let twitch = TwitchConfig::from_credentials(Some("id"), Some("s3cret"), "http://x/", b)
            .expect("both given");
        assert_eq!(twitch.auth_base_url, "http://x");
        assert!(!format!("{twitch:?}").contains("s3cret"));
        assert!(YoutubeConfig::from_key(Some(""), "http://y", 1).is_none());
        let youtube = YoutubeConfig::from_key(Some("k3y"), "http://y/", 1).expect("key");
        assert!(!format!("{youtube:?}").contains("k3y"));
        let config = StreamsConfig::default();
        assert!(!config.enabled());
        assert_eq!(config.twitch_interval, Duration::from_secs(60));
        assert_eq!(config.youtube_interval, Duration::from_secs(1800));
    }

    #[test]
    fn the_youtube_budget_is_spread_over_the_day() {
        let mut config = StreamsConfig {
            youtube: YoutubeConfig::from_key(Some("k"), DEFAULT_YOUTUBE_API_BASE_URL, 10_000),
            ..StreamsConfig::default()
        };
        assert_eq!(config.youtube_searches_per_cycle(), 2);
        config.youtube_interval = Duration::from_secs(86_400);
        assert_eq!(config.youtube_searches_per_cycle(), 100);
        config.youtube_interval = Duration::from_secs(1);
        assert_eq!(config.youtube_searches_per_cycle(), 1, "never zero");
        config.youtube = None;
        assert_eq!(config.youtube_searches_per_cycle(), 0);
    }
}
