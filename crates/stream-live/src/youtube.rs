//! YouTube Data API: a handle or user name → channel id (`channels.list`, cached), and "is
//! this channel live" (`search.list` with `eventType=live`).
//!
//! Quota: a key has 10,000 units a day by default and a search costs 100, so the poller
//! **budgets**: [`Quota`] counts the units spent per quota day (it resets at midnight Pacific
//! time; counted from 08:00 UTC, never before the real reset) and refuses calls over the daily
//! budget; a `quotaExceeded` answer spends the rest of the day. The stream poller spreads the
//! daily searches over the day's cycles and checks channels in turn
//! ([`crate::StreamsConfig::youtube_searches_per_cycle`]).
//!
//! Channel ids are cached for the process's lifetime; "no such handle" for a day (a handle can
//! be created later).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use domain::stream_channel::LiveStream;
use domain::streams::{Channel, YoutubeRef};
use serde::Deserialize;
use serde_json::Value;

use crate::config::YoutubeConfig;
use crate::error::PlatformError;

/// Units of one `search.list` call.
pub const SEARCH_COST: u32 = 100;
/// Units of one `channels.list` call.
pub const CHANNELS_COST: u32 = 1;
/// How long "no channel has this handle" is believed.
const NOT_FOUND_TTL: Duration = Duration::from_secs(24 * 3600);

/// Units spent per quota day.
#[derive(Debug)]
pub struct Quota {
    daily: u32,
    day: Option<NaiveDate>,
    spent: u32,
}

impl Quota {
    pub fn new(daily: u32) -> Self {
        Quota {
            daily,
            day: None,
            spent: 0,
        }
    }

    /// The quota day of `now`: YouTube resets at midnight Pacific time, which is 07:00 or
    /// 08:00 UTC; a day counted from 08:00 UTC never starts before the reset.
    fn day_of(now: DateTime<Utc>) -> NaiveDate {
        (now - chrono::Duration::hours(8)).date_naive()
    }

    fn roll(&mut self, now: DateTime<Utc>) {
        let day = Self::day_of(now);
        if self.day != Some(day) {
            self.day = Some(day);
            self.spent = 0;
        }
    }

    /// Spends `units` if the day's budget allows it.
    pub fn try_spend(&mut self, now: DateTime<Utc>, units: u32) -> bool {
        self.roll(now);
        if self.spent.saturating_add(units) > self.daily {
            return false;
        }
        self.spent += units;
        true
    }

    /// YouTube said the quota is gone: nothing more today.
    pub fn exhaust(&mut self, now: DateTime<Utc>) {
        self.roll(now);
        self.spent = self.daily;
    }

    pub fn remaining(&mut self, now: DateTime<Utc>) -> u32 {
        self.roll(now);
        self.daily.saturating_sub(self.spent)
    }
}

/// A channel id (`None`: no such channel) and until when it is believed (`None`: forever).
type CachedId = (Option<String>, Option<Instant>);

pub struct YoutubeClient {
    http: reqwest::Client,
    config: YoutubeConfig,
    quota: Mutex<Quota>,
    /// Channel key (`@handle`, `user/name`) → channel id (`None`: not found, until then).
    ids: Mutex<HashMap<String, CachedId>>,
    requests: AtomicU64,
}

#[derive(Deserialize)]
struct ItemsResponse {
    #[serde(default)]
    items: Vec<Value>,
}

impl YoutubeClient {
    pub fn new(config: YoutubeConfig, timeout: Duration) -> Result<Self, PlatformError> {
        let http = crate::error::http_client(timeout)?;
        Ok(Self {
            http,
            quota: Mutex::new(Quota::new(config.daily_quota)),
            config,
            ids: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn quota(&self) -> std::sync::MutexGuard<'_, Quota> {
        self.quota.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Units left today.
    pub fn remaining_quota(&self) -> u32 {
        self.quota().remaining(Utc::now())
    }

    fn cached_id(&self, key: &str) -> Option<Option<String>> {
        let ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        match ids.get(key) {
            Some((id, None)) => Some(id.clone()),
            Some((id, Some(until))) if Instant::now() < *until => Some(id.clone()),
            _ => None,
        }
    }

    /// The channel id of a YouTube channel key; `Ok(None)` when no channel has that name (or
    /// the key is not a YouTube one).
    pub async fn channel_id(&self, channel: &Channel) -> Result<Option<String>, PlatformError> {
        let (param, name) = match channel.youtube_ref() {
            None => return Ok(None),
            Some(YoutubeRef::ChannelId(id)) => return Ok(Some(id.to_owned())),
            Some(YoutubeRef::Handle(handle)) => ("forHandle", handle),
            Some(YoutubeRef::Username(name)) => ("forUsername", name),
        };
        if let Some(id) = self.cached_id(&channel.channel) {
            return Ok(id);
        }
        let body: ItemsResponse = self
            .call("channels", CHANNELS_COST, &[("part", "id"), (param, name)])
            .await?;
        let id = body
            .items
            .first()
            .and_then(|item| item.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if id.is_none() {
            tracing::warn!(channel = %channel, "youtube_channel_lookup_failed: no such channel");
        }
        let until = id.is_none().then(|| Instant::now() + NOT_FOUND_TTL);
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel.channel.clone(), (id.clone(), until));
        Ok(id)
    }

    /// The live broadcast of a channel, if any: the first live video's title (YouTube has no
    /// category) and publication time.
    pub async fn live(&self, channel_id: &str) -> Result<Option<LiveStream>, PlatformError> {
        let body: ItemsResponse = self
            .call(
                "search",
                SEARCH_COST,
                &[
                    ("part", "snippet"),
                    ("channelId", channel_id),
                    ("eventType", "live"),
                    ("type", "video"),
                    ("maxResults", "1"),
                ],
            )
            .await?;
        Ok(body.items.first().map(|item| {
            let snippet = item.get("snippet");
            let text = |key: &str| snippet.and_then(|s| s.get(key)).and_then(Value::as_str);
            LiveStream {
                title: text("title").map(str::to_owned),
                category: None,
                started_at: text("publishedAt").and_then(|t| t.parse().ok()),
            }
        }))
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        resource: &str,
        units: u32,
        params: &[(&str, &str)],
    ) -> Result<T, PlatformError> {
        if !self.quota().try_spend(Utc::now(), units) {
            return Err(PlatformError::QuotaExceeded);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .get(format!("{}/youtube/v3/{resource}", self.config.base_url))
            .query(params)
            .query(&[("key", self.config.api_key.as_str())])
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let reason = body
            .pointer("/error/errors/0/reason")
            .and_then(Value::as_str)
            .unwrap_or("");
        if status.as_u16() == 403
            && matches!(
                reason,
                "quotaExceeded" | "dailyLimitExceeded" | "rateLimitExceeded"
            )
        {
            self.quota().exhaust(Utc::now());
            return Err(PlatformError::QuotaExceeded);
        }
        Err(PlatformError::Status {
            status: status.as_u16(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_budget_holds_for_a_quota_day_and_resets_after_pacific_midnight() {
        let mut q = Quota::new(250);
        let morning = at("2026-05-17T09:00:00Z");
        assert!(q.try_spend(morning, SEARCH_COST));
        assert!(q.try_spend(morning, SEARCH_COST));
        assert!(
            !q.try_spend(morning, SEARCH_COST),
            "250 units: two searches"
        );
        assert!(q.try_spend(morning, CHANNELS_COST));
        assert_eq!(q.remaining(morning), 49);
        // 07:59 UTC the next day is still the same quota day.
        assert!(!q.try_spend(at("2026-05-18T07:59:00Z"), SEARCH_COST));
        assert!(q.try_spend(at("2026-05-18T08:00:00Z"), SEARCH_COST));
        q.exhaust(at("2026-05-18T09:00:00Z"));
        assert_eq!(q.remaining(at("2026-05-18T23:00:00Z")), 0);
        assert_eq!(q.remaining(at("2026-05-19T08:00:00Z")), 250);
    }
}
