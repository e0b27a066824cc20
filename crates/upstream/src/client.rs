//! The HTTP client: batching, paging, timeouts, retries. No logging here: failures are
//! returned, and callers log once per failure burst.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use futures::future::try_join_all;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

use crate::budget::{Budget, BudgetConfig, Priority};
use crate::error::{Result, UpstreamError};
use crate::model::{Catalog, LeaderboardPage, Lobby, MatchHistory, PersonalStats};
use crate::parse;

/// Endpoint paths, in the casing the production poller uses (also what a fake should serve).
pub mod paths {
    pub const PERSONAL_STATS: &str = "/community/leaderboard/GetPersonalStat";
    pub const RECENT_MATCH_HISTORY: &str = "/community/leaderboard/getRecentMatchHistory";
    pub const ADVERTISEMENTS: &str = "/community/advertisement/findAdvertisements";
    pub const AVAILABLE_LEADERBOARDS: &str = "/community/leaderboard/getAvailableLeaderboards";
    pub const LEADERBOARD_PAGE: &str = "/community/leaderboard/getLeaderBoard2";
}

/// The production host.
pub const DEFAULT_BASE_URL: &str = "https://aoe-api.worldsedgelink.com";

/// Every call carries `title=age2`.
const TITLE: (&str, &str) = ("title", "age2");

/// `live-standings/<version> (+<repository>)`: upstream asks clients to identify themselves.
pub fn default_user_agent() -> String {
    format!(
        "live-standings/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_REPOSITORY")
    )
}

/// Client settings. `Default` gives production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// Scheme + host (+ optional path prefix), no trailing slash needed.
    pub base_url: String,
    /// Whole-request timeout (connect + headers + body), per attempt.
    pub timeout: Duration,
    /// Connect timeout, per attempt.
    pub connect_timeout: Duration,
    /// Retries after the first attempt for transient failures (0 = no retry).
    pub max_retries: usize,
    /// First backoff delay; doubles per retry up to `backoff_max`, plus up to
    /// `backoff_min` of random jitter.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Upper bound on a 429 `Retry-After` wait.
    pub retry_after_cap: Duration,
    pub user_agent: String,
    /// Max profile ids per `GetPersonalStat` call (32 verified upstream).
    pub stats_batch_size: usize,
    /// Max profile ids per `getRecentMatchHistory` call.
    pub history_batch_size: usize,
    /// `findAdvertisements` page size (fixed at 100 upstream): a full page means "fetch more".
    pub lobby_page_size: usize,
    /// Safety cap on `findAdvertisements` pages per call.
    pub max_lobby_pages: usize,
    /// The request budget every call of this client and its clones shares.
    pub budget: BudgetConfig,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_retries: 3,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(8),
            retry_after_cap: Duration::from_secs(30),
            user_agent: default_user_agent(),
            stats_batch_size: 32,
            history_batch_size: 10,
            lobby_page_size: 100,
            max_lobby_pages: 20,
            budget: BudgetConfig::default(),
        }
    }
}

/// HTTP attempts of a client and its clones (for metrics), retries included.
#[derive(Debug, Default)]
pub struct ClientCounters {
    /// Requests sent.
    pub attempts: AtomicU64,
    /// Answers that were 429.
    pub rate_limited: AtomicU64,
}

impl ClientCounters {
    /// `(attempts, rate_limited)`.
    pub fn read(&self) -> (u64, u64) {
        (
            self.attempts.load(Ordering::Relaxed),
            self.rate_limited.load(Ordering::Relaxed),
        )
    }
}

/// Async client for the community API. Cheap to clone (shares the connection pool, the
/// request budget and counters). Batches of one call are sent concurrently; the shared
/// [`Budget`] decides when each may start.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    base_url: String,
    config: UpstreamConfig,
    counters: Arc<ClientCounters>,
    budget: Arc<Budget>,
    /// Place in the budget's queue of this handle's requests.
    priority: Priority,
    /// First attempts not granted a slot by then fail with [`UpstreamError::Deferred`].
    deadline: Option<tokio::time::Instant>,
}

impl UpstreamClient {
    /// Build a client. Fails only if the HTTP stack cannot be initialised (TLS setup).
    pub fn new(config: UpstreamConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| transport_error(&e))?;
        Ok(Self {
            http,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            budget: Budget::new(config.budget),
            config,
            counters: Arc::default(),
            priority: Priority::default(),
            deadline: None,
        })
    }

    /// The same client (same budget) whose requests queue at `priority`.
    pub fn at(&self, priority: Priority) -> Self {
        Self {
            priority,
            ..self.clone()
        }
    }

    /// The same client whose requests not started by `deadline` are not sent at all
    /// ([`UpstreamError::Deferred`]). Retries of a request already sent are not cut.
    pub fn until(&self, deadline: tokio::time::Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// The shared request budget (metrics, tests).
    pub fn budget(&self) -> Arc<Budget> {
        self.budget.clone()
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.config
    }

    /// Attempts and 429 answers so far (shared by clones).
    pub fn counters(&self) -> Arc<ClientCounters> {
        self.counters.clone()
    }

    /// Profiles and per-leaderboard ratings for `profile_ids`, fetched in batches of at most
    /// `stats_batch_size` ids and merged. Any failed batch fails the call.
    pub async fn personal_stats(&self, profile_ids: &[i64]) -> Result<PersonalStats> {
        let ids = unique(profile_ids);
        let parts = try_join_all(ids.chunks(self.config.stats_batch_size.max(1)).map(
            |chunk| async move {
                let body = self
                    .get(paths::PERSONAL_STATS, &[("profile_ids", bracketed(chunk))])
                    .await?;
                parse::parse_personal_stats(&body)
            },
        ))
        .await?;
        let mut merged = PersonalStats::default();
        let mut seen_profiles = HashSet::new();
        let mut seen_ratings = HashSet::new();
        for part in parts {
            merged.profiles.extend(
                part.profiles
                    .into_iter()
                    .filter(|p| seen_profiles.insert(p.profile_id)),
            );
            merged.ratings.extend(
                part.ratings
                    .into_iter()
                    .filter(|r| seen_ratings.insert((r.profile_id, r.leaderboard_id))),
            );
        }
        Ok(merged)
    }

    /// Recent finished matches of `profile_ids`, batched by `history_batch_size`; matches are
    /// deduplicated by id across batches (each appears in every participant's history) and
    /// sorted by start time. Any failed batch fails the call.
    pub async fn recent_match_history(&self, profile_ids: &[i64]) -> Result<MatchHistory> {
        let ids = unique(profile_ids);
        let parts = try_join_all(ids.chunks(self.config.history_batch_size.max(1)).map(
            |chunk| async move {
                let body = self
                    .get(
                        paths::RECENT_MATCH_HISTORY,
                        &[("profile_ids", bracketed(chunk))],
                    )
                    .await?;
                parse::parse_match_history(&body)
            },
        ))
        .await?;
        Ok(merge_histories(parts))
    }

    /// All open lobbies, paging with `start=0,100,…` while a page is full (capped at
    /// `max_lobby_pages`). Lobbies are deduplicated by id (the list shifts between pages).
    pub async fn advertisements(&self) -> Result<Vec<Lobby>> {
        let page_size = self.config.lobby_page_size.max(1);
        let mut lobbies = Vec::new();
        let mut seen = HashSet::new();
        for page in 0..self.config.max_lobby_pages.max(1) {
            let start = page * page_size;
            let body = self
                .get(paths::ADVERTISEMENTS, &[("start", start.to_string())])
                .await?;
            let (page_lobbies, raw_len) = parse::parse_advertisements_page(&body)?;
            lobbies.extend(page_lobbies.into_iter().filter(|l| seen.insert(l.lobby_id)));
            if raw_len < page_size {
                break;
            }
        }
        Ok(lobbies)
    }

    /// Leaderboards (with matchtypes) and civilization names.
    pub async fn available_leaderboards(&self) -> Result<Catalog> {
        let body = self.get(paths::AVAILABLE_LEADERBOARDS, &[]).await?;
        parse::parse_catalog(&body)
    }

    /// One page of a ladder sorted by rating; `start` is a **1-based** rank position.
    pub async fn leaderboard_page(
        &self,
        leaderboard_id: i64,
        start: i64,
        count: i64,
    ) -> Result<LeaderboardPage> {
        let body = self
            .get(
                paths::LEADERBOARD_PAGE,
                &[
                    ("leaderboard_id", leaderboard_id.to_string()),
                    ("start", start.to_string()),
                    ("count", count.to_string()),
                    ("sortBy", "1".to_owned()),
                ],
            )
            .await?;
        parse::parse_leaderboard_page(&body)
    }

    /// GET with retries on transient failures; returns the raw body of a 2xx answer.
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<u8>> {
        let url = format!("{}{}", self.base_url, path);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.backoff_min)
            .with_max_delay(self.config.backoff_max.max(self.config.backoff_min))
            .with_max_times(self.config.max_retries)
            .with_jitter();
        let cap = self.config.retry_after_cap;
        let first = AtomicBool::new(true);
        (|| {
            // Only a first attempt may be deferred: a retry finishes what was started.
            let deadline = self
                .deadline
                .filter(|_| first.swap(false, Ordering::Relaxed));
            self.attempt(&url, query, deadline)
        })
        .retry(backoff)
        .when(UpstreamError::is_transient)
        .adjust(move |err, delay| match err {
            // Honour the server's hint (bounded), but only while retries remain.
            UpstreamError::RateLimited {
                retry_after: Some(hint),
            } => delay.map(|_| (*hint).min(cap)),
            _ => delay,
        })
        .await
    }

    async fn attempt(
        &self,
        url: &str,
        query: &[(&str, String)],
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Vec<u8>> {
        // Held until the body is read: it counts as in flight until then.
        let permit = self
            .budget
            .acquire(self.priority, deadline)
            .await
            .ok_or(UpstreamError::Deferred)?;
        self.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .get(url)
            .query(&[TITLE])
            .query(query)
            .send()
            .await
            .map_err(|e| request_error(&e))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            let retry_after = retry_after(response.headers());
            // The whole poller slows down, not only this call.
            permit.rate_limited(retry_after.map(|hint| hint.min(self.config.retry_after_cap)));
            return Err(UpstreamError::RateLimited { retry_after });
        }
        if !status.is_success() {
            return Err(UpstreamError::Http {
                status: status.as_u16(),
            });
        }
        let body = response.bytes().await.map_err(|e| request_error(&e))?;
        drop(permit);
        Ok(body.to_vec())
    }
}

/// Histories of several calls as one: matches deduplicated by id (each appears in every
/// participant's history) and sorted by start time; one alias per profile.
pub fn merge_histories(parts: Vec<MatchHistory>) -> MatchHistory {
    let mut merged = MatchHistory::default();
    let mut seen_matches = HashSet::new();
    let mut seen_aliases = HashSet::new();
    for part in parts {
        merged.matches.extend(
            part.matches
                .into_iter()
                .filter(|m| seen_matches.insert(m.match_id)),
        );
        merged.aliases.extend(
            part.aliases
                .into_iter()
                .filter(|a| seen_aliases.insert(a.profile_id)),
        );
    }
    parse::sort_matches(&mut merged.matches);
    merged
}

/// Ids in first-seen order without duplicates (a repeated id would waste batch slots).
fn unique(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// Upstream wants one bracketed parameter (`[1,2,3]`, no spaces), not repeated keys.
/// The query serializer percent-encodes it (`%5B1%2C2%2C3%5D`).
fn bracketed(ids: &[i64]) -> String {
    let inner: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", inner.join(","))
}

/// `Retry-After` in its seconds form; the HTTP-date form is ignored (normal backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

fn request_error(err: &reqwest::Error) -> UpstreamError {
    if err.is_timeout() {
        UpstreamError::Timeout
    } else {
        transport_error(err)
    }
}

/// The top-level reqwest message is vague ("error sending request"); include the causes.
fn transport_error(err: &reqwest::Error) -> UpstreamError {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    UpstreamError::Transport { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_list() {
        assert_eq!(bracketed(&[199325, 347269]), "[199325,347269]");
        assert_eq!(bracketed(&[]), "[]");
    }

    #[test]
    fn unique_keeps_order() {
        assert_eq!(unique(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }

    #[test]
    fn retry_after_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn default_config() {
        let c = UpstreamConfig::default();
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.stats_batch_size, 32);
        assert_eq!(c.history_batch_size, 10);
        assert!(c.user_agent.starts_with("live-standings/"));
        assert!(c.user_agent.contains("(+https://"));
    }
}
