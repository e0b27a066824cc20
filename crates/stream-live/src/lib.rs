//! Stream-live detection: the Twitch and YouTube channels that rosters and hosts name become
//! `StreamChannel` events (`StreamWentLive`, `StreamUpdated`, `StreamWentOffline`).
//!
//! Two cycles, each on its own cadence ([`StreamsConfig`]), each **only when its platform's
//! credentials are set** (no credentials: no request, no event):
//! - **Twitch** (60 s): every Twitch channel named anywhere, in Helix calls of ≤ 100 logins
//!   ([`twitch`]);
//! - **YouTube** (1800 s): the fallback for keys (roster rows, a tournament's hosts) with no
//!   Twitch channel, within a daily quota budget, a few channels per cycle in turn
//!   ([`youtube`]).
//!
//! The channels are re-read every cycle from the read models ([`watched`]); a channel the
//! read model shows live that nobody names any more is observed offline. The read side
//! (`stream_live`, `host_stream_live`) joins `live_streams` with `stream_links`, Twitch first.
//!
//! # Invariants
//! - **Appends only through the `StreamChannel` aggregate; never writes read models.** The
//!   aggregate decides what changed: a channel that stays live appends nothing. The poller's
//!   memory of what it last sent only saves commands.
//! - **A failed call appends nothing for the channels it covers.** A Helix failure fails the
//!   Twitch cycle; a YouTube failure (HTTP, quota) leaves that channel as it was. (The
//!   original marked such channels offline, which turns every quota hiccup into an
//!   offline/online pair of events.) Failures are logged once per burst.
//! - **One active stream poller across processes**: [`StreamPoller::run`] polls only while it
//!   holds its own session advisory lock, with `poller`'s [`poller::leader::LeaderLock`].
//! - Secrets (client secret, API key) never reach logs: errors drop request URLs.

pub mod config;
pub mod error;
mod run;
pub mod twitch;
pub mod watched;
pub mod youtube;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use domain::event::Actor;
use domain::stream_channel::{LiveStream, StreamChannel, StreamChannelCommand};
use domain::streams::{Channel, Platform};
use domain::EventMetadata;
use poller::burst::{Burst, Transition};
use sqlx::PgPool;
use store::{CommandError, EventStore};
use tracing::Instrument;

pub use config::{StreamsConfig, TwitchConfig, YoutubeConfig};
pub use error::PlatformError;

/// What one successful cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Channels of this platform named by rosters and hosts (for YouTube: the fallback set).
    pub watched: usize,
    /// Of those, checked this cycle (YouTube checks a budgeted few per cycle).
    pub checked: usize,
    /// Live among the checked.
    pub live: usize,
    /// HTTP requests made (token mints and channel lookups included).
    pub requests: u64,
    /// Commands sent to `StreamChannel` aggregates.
    pub commands: u64,
}

/// Why a cycle failed. Nothing derived from the failed call was appended.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("{0} detection is off (no credentials)")]
    Disabled(Platform),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Appending a command failed (the commands before it were appended, and are correct).
    #[error("event store: {0}")]
    Store(String),
}

impl CycleError {
    pub fn label(&self) -> String {
        match self {
            CycleError::Disabled(_) => "disabled".into(),
            CycleError::Platform(e) => e.label(),
            CycleError::Database(_) => "database".into(),
            CycleError::Store(_) => "store".into(),
        }
    }
}

/// Error building a stream poller.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the {platform} client: {source}")]
pub struct BuildError {
    platform: Platform,
    source: PlatformError,
}

/// The stream poller. Cheap to clone; clones share clients, caches and cycle locks.
#[derive(Clone)]
pub struct StreamPoller {
    inner: Arc<Inner>,
}

struct Inner {
    config: StreamsConfig,
    pool: PgPool,
    store: EventStore,
    metadata: EventMetadata,
    twitch: Option<twitch::TwitchClient>,
    youtube: Option<youtube::YoutubeClient>,
    state: Mutex<State>,
    /// One cycle per platform at a time; holds that platform's failure burst.
    bursts: [tokio::sync::Mutex<Burst>; 2],
}

#[derive(Default)]
struct State {
    /// The observation last appended per channel (the aggregate's state as far as we know).
    sent: HashMap<Channel, Option<LiveStream>>,
    /// Where the next YouTube cycle resumes in the sorted channel list.
    youtube_cursor: usize,
}

impl fmt::Debug for StreamPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamPoller")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn index(platform: Platform) -> usize {
    match platform {
        Platform::Twitch => 0,
        Platform::Youtube => 1,
    }
}

impl StreamPoller {
    /// A poller appending through an [`EventStore`] on `pool`. Platforms without credentials
    /// in `config` are off: no client, no request.
    pub fn new(config: StreamsConfig, pool: PgPool) -> Result<Self, BuildError> {
        let twitch = config
            .twitch
            .clone()
            .map(|c| twitch::TwitchClient::new(c, config.timeout))
            .transpose()
            .map_err(|source| BuildError {
                platform: Platform::Twitch,
                source,
            })?;
        let youtube = config
            .youtube
            .clone()
            .map(|c| youtube::YoutubeClient::new(c, config.timeout))
            .transpose()
            .map_err(|source| BuildError {
                platform: Platform::Youtube,
                source,
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: EventStore::new(pool.clone()),
                pool,
                metadata: EventMetadata::new(Actor::Poller),
                twitch,
                youtube,
                state: Mutex::new(State::default()),
                bursts: Default::default(),
                config,
            }),
        })
    }

    pub fn config(&self) -> &StreamsConfig {
        &self.inner.config
    }

    /// The platforms with credentials.
    pub fn platforms(&self) -> Vec<Platform> {
        let mut on = Vec::new();
        if self.inner.twitch.is_some() {
            on.push(Platform::Twitch);
        }
        if self.inner.youtube.is_some() {
            on.push(Platform::Youtube);
        }
        on
    }

    /// Run one cycle of `platform` now, with the scheduled loop's logging. Needs no
    /// leadership: callers that run several pollers must elect one ([`StreamPoller::run`]).
    pub async fn run_cycle(&self, platform: Platform) -> Result<CycleReport, CycleError> {
        self.cycle(platform).await.0
    }

    /// Forget what was sent (a new leader term): the next cycles send every observation again
    /// and the aggregates drop what they already know.
    pub fn reset_caches(&self) {
        self.inner.lock_state().sent.clear();
    }

    /// One cycle plus the failures in a row after it (for the scheduler's backoff).
    async fn cycle(&self, platform: Platform) -> (Result<CycleReport, CycleError>, u64) {
        let inner = &*self.inner;
        let mut burst = inner.bursts[index(platform)].lock().await;
        let span = tracing::info_span!("stream_cycle", platform = platform.as_str());
        let result = async {
            match platform {
                Platform::Twitch => inner.twitch_cycle().await,
                Platform::Youtube => inner.youtube_cycle().await,
            }
        }
        .instrument(span.clone())
        .await;
        let _entered = span.enter();
        match &result {
            Ok(report) => {
                tracing::debug!(
                    watched = report.watched,
                    checked = report.checked,
                    live = report.live,
                    requests = report.requests,
                    commands = report.commands,
                    "stream cycle ok"
                );
                if let Transition::Recovered {
                    failed_cycles,
                    label,
                    ..
                } = burst.success()
                {
                    tracing::info!(failed_cycles, first_error = %label, "stream cycles recovered");
                }
            }
            Err(e) => match burst.failure(&e.label()) {
                Transition::Started { .. } => {
                    tracing::warn!(error = %e.label(), detail = %e, "stream cycles failing")
                }
                _ => tracing::debug!(error = %e.label(), detail = %e, "stream cycle failed"),
            },
        }
        let failures = burst.consecutive_failures();
        drop(_entered);
        (result, failures)
    }
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        // Caches only save work: a panic while holding the lock leaves them usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the channel's aggregate what was seen, unless it was the last thing sent.
    async fn observe(
        &self,
        channel: &Channel,
        live: Option<LiveStream>,
        report: &mut CycleReport,
    ) -> Result<(), CycleError> {
        if self.lock_state().sent.get(channel) == Some(&live) {
            return Ok(());
        }
        let command = StreamChannelCommand::Observe {
            channel: channel.clone(),
            live: live.clone(),
            observed_at: Utc::now(),
        };
        report.commands += 1;
        match self
            .store
            .execute::<StreamChannel>(&channel.aggregate_id(), command, &self.metadata)
            .await
        {
            Ok(()) => {
                self.lock_state().sent.insert(channel.clone(), live);
                Ok(())
            }
            Err(CommandError::Rejected(e)) => {
                tracing::warn!(%channel, error = %e, "stream observation refused");
                Ok(())
            }
            Err(e) => Err(CycleError::Store(e.to_string())),
        }
    }

    /// Channels of `platform` believed live (read model, or sent by us) that nobody names now.
    async fn unwatched_live(
        &self,
        platform: Platform,
        watched: &BTreeSet<Channel>,
    ) -> Result<BTreeSet<Channel>, CycleError> {
        let mut live: BTreeSet<Channel> = watched::live_channels(&self.pool, platform)
            .await?
            .into_iter()
            .collect();
        live.extend(
            self.lock_state()
                .sent
                .iter()
                .filter(|(c, l)| c.platform == platform && l.is_some())
                .map(|(c, _)| c.clone()),
        );
        Ok(live.into_iter().filter(|c| !watched.contains(c)).collect())
    }

    async fn twitch_cycle(&self) -> Result<CycleReport, CycleError> {
        let client = self
            .twitch
            .as_ref()
            .ok_or(CycleError::Disabled(Platform::Twitch))?;
        let links = watched::links(&self.pool).await?;
        let channels = watched::twitch_channels(&links);
        let before = client.requests();
        let logins: Vec<String> = channels.iter().map(|c| c.channel.clone()).collect();
        // Nobody named: no call.
        let live = if logins.is_empty() {
            HashMap::new()
        } else {
            client.live_streams(&logins).await?
        };
        let mut report = CycleReport {
            watched: channels.len(),
            checked: channels.len(),
            live: live.len(),
            requests: client.requests() - before,
            ..CycleReport::default()
        };
        for channel in &channels {
            let seen = live.get(&channel.channel).cloned();
            self.observe(channel, seen, &mut report).await?;
        }
        for channel in self.unwatched_live(Platform::Twitch, &channels).await? {
            self.observe(&channel, None, &mut report).await?;
        }
        Ok(report)
    }

    async fn youtube_cycle(&self) -> Result<CycleReport, CycleError> {
        let client = self
            .youtube
            .as_ref()
            .ok_or(CycleError::Disabled(Platform::Youtube))?;
        let links = watched::links(&self.pool).await?;
        let channels = watched::youtube_channels(&links, self.twitch.is_some());
        let before = client.requests();
        let mut report = CycleReport {
            watched: channels.len(),
            ..CycleReport::default()
        };
        for channel in self.unwatched_live(Platform::Youtube, &channels).await? {
            self.observe(&channel, None, &mut report).await?;
        }
        // This cycle's turn: the next few channels after where the last cycle stopped.
        let sorted: Vec<&Channel> = channels.iter().collect();
        let take = self.config.youtube_searches_per_cycle().min(sorted.len());
        let start = {
            let mut state = self.lock_state();
            let start = if sorted.is_empty() {
                0
            } else {
                state.youtube_cursor % sorted.len()
            };
            state.youtube_cursor = start + take;
            start
        };
        let mut failed: Option<PlatformError> = None;
        for channel in sorted.iter().cycle().skip(start).take(take) {
            let checked = async {
                match client.channel_id(channel).await? {
                    None => Ok(None),
                    Some(id) => client.live(&id).await,
                }
            }
            .await;
            match checked {
                Ok(live) => {
                    report.checked += 1;
                    report.live += usize::from(live.is_some());
                    self.observe(channel, live, &mut report).await?;
                }
                Err(e) => {
                    tracing::debug!(%channel, error = %e.label(), "youtube_live_check_failed");
                    let quota = matches!(e, PlatformError::QuotaExceeded);
                    failed.get_or_insert(e);
                    if quota {
                        // Every further call would be refused too.
                        break;
                    }
                }
            }
        }
        report.requests = client.requests() - before;
        match failed {
            // Channels checked before the failure keep their commands; the burst logs it.
            Some(e) => Err(e.into()),
            None => Ok(report),
        }
    }
}

/// Compile-time guard: the binary spawns these futures, so they must stay `Send`.
#[cfg(test)]
mod send_check {
    fn is_send<T: Send + 'static>(_: T) {}
    #[allow(dead_code)]
    fn futures_are_send(p: crate::StreamPoller, rx: tokio::sync::watch::Receiver<bool>) {
        is_send(p.clone().run(rx));
        is_send(async move { p.run_cycle(domain::streams::Platform::Twitch).await.is_ok() });
    }
}
