//! The delivery worker: while this process holds the webhook lock (the poller's leader
//! campaign on a key of its own), it wakes on the projector's NOTIFY, on a replay's NOTIFY,
//! when the next retry is due and on a periodic sweep; each due subscription gets one task
//! (one request in flight per endpoint, in order), at most `concurrency` at once, so a slow
//! or dead endpoint holds one slot, never the others.
//!
//! At least once: a notification is sent, then the cursor passes it in a transaction with the
//! attempt's row. A crash between the two sends it again after the restart (a duplicate id
//! for the receiver to drop), never skips it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use poller::leader::{campaign, hold, Leader, LeaderLock, StandbyLog, TermEnd};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::client::{EndpointClient, SendError};
use crate::sign::{signature, Secret};
use crate::store::{self, Attempt, Item, Outcome, Recorded, Subscription};
use crate::{discord, log, Metrics};
use domain::webhook_url::UrlPolicy;

/// The worker's advisory lock key ("lswebhoo").
pub const DEFAULT_LOCK_KEY: i64 = 0x6c73_7765_6268_6f6f;

pub const ID_HEADER: &str = "x-standings-notification-id";
pub const TIMESTAMP_HEADER: &str = "x-standings-timestamp";
pub const SIGNATURE_HEADER: &str = "x-standings-signature";

/// The worker's settings (`WEBHOOK_*`, see the README).
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Where endpoints may point (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOWED_HOSTS`): the
    /// registration rules, checked again before each connection.
    pub policy: UrlPolicy,
    /// Subscriptions delivered to at once.
    pub concurrency: usize,
    /// Attempts at one notification before it is dead-lettered.
    pub max_attempts: u32,
    /// Backoff: the first retry waits up to `backoff_base`, doubling up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub connect_timeout: Duration,
    /// Whole request, response head and bounded body included.
    pub timeout: Duration,
    /// Look for work at least this often (NOTIFY wakes it sooner).
    pub sweep: Duration,
    /// Attempts kept per subscription in the delivery log.
    pub attempts_kept: i64,
    /// Public base URL of the site (`https://standings.example`), for links to the live page
    /// in Discord messages.
    pub public_base_url: Option<String>,
    pub lock_key: i64,
    pub lock_retry: Duration,
    pub lock_check: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            policy: UrlPolicy::default(),
            concurrency: 32,
            max_attempts: 8,
            // Up to 30 s, 1, 2, 4, 8, 16, 30, 30 min: at most ~1.5 h over 8 attempts.
            backoff_base: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(30 * 60),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            sweep: Duration::from_secs(5),
            attempts_kept: 50,
            public_base_url: None,
            lock_key: DEFAULT_LOCK_KEY,
            lock_retry: Duration::from_secs(5),
            lock_check: Duration::from_secs(5),
        }
    }
}

struct Inner {
    pool: PgPool,
    config: DeliveryConfig,
    client: EndpointClient,
    metrics: Metrics,
}

/// The delivery worker (cheap to clone).
#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

impl Deliverer {
    pub fn new(config: DeliveryConfig, pool: PgPool) -> reqwest::Result<Self> {
        let client = EndpointClient::new(
            config.policy.clone(),
            config.connect_timeout,
            config.timeout,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                config,
                client,
                metrics: Metrics::default(),
            }),
        })
    }

    pub fn metrics(&self) -> Metrics {
        self.inner.metrics.clone()
    }

    /// Delivers while this process holds the webhook lock; stands by while another does.
    /// Returns when `shutdown` becomes `true` (or its sender is dropped).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let config = &self.inner.config;
        let lock = LeaderLock::new(&self.inner.pool, config.lock_key);
        campaign(&self, lock, config.lock_retry, &mut shutdown).await;
    }
}

impl Leader for Deliverer {
    const STANDBY_LOG: StandbyLog = StandbyLog {
        reachable_again: "webhook lock reachable again",
        standing_by: "another process delivers webhooks; standing by",
        unreachable: "cannot reach the database for the webhook lock",
    };

    async fn lead(&self, lock: &mut LeaderLock, shutdown: &mut watch::Receiver<bool>) -> TermEnd {
        tracing::info!(
            lock_backend_pid = lock.holder_pid().unwrap_or(0),
            "webhook lock taken; delivering notifications"
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut loops = JoinSet::new();
        loops.spawn(self.clone().deliver_loop(stop_rx));
        let check_every = self.inner.config.lock_check;
        hold(
            lock,
            loops,
            stop_tx,
            shutdown,
            check_every,
            "webhook worker",
        )
        .await
    }
}

impl Deliverer {
    async fn deliver_loop(self, mut stop: watch::Receiver<bool>) {
        let pool = &self.inner.pool;
        let config = &self.inner.config;
        let mut listener: Option<PgListener> = None;
        let mut in_flight: HashMap<String, tokio::task::Id> = HashMap::new();
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut failing = false;
        loop {
            if *stop.borrow() {
                break;
            }
            // LISTEN before looking, so nothing committed after the look goes unnoticed.
            if listener.is_none() {
                listener = listen(pool).await;
            }
            let mut wake = config.sweep;
            match self.sweep(&mut in_flight, &mut tasks, stop.clone()).await {
                Ok(next_retry) => {
                    if failing {
                        tracing::info!("webhook worker: database readable again");
                    }
                    failing = false;
                    if let Some(at) = next_retry {
                        let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                        wake = wake.min(until);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "webhook worker: cannot read subscriptions; retrying");
                    }
                    failing = true;
                    // Soon, not a sweep later: at first start the views appear only once the
                    // projectors' first builds go live, after their NOTIFYs.
                    wake = wake.min(Duration::from_secs(1));
                }
            }
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => {}
                Some(done) = tasks.join_next_with_id() => {
                    let task = match done {
                        Ok((task, ())) => task,
                        Err(e) => {
                            tracing::error!(error = %e, "webhook delivery task failed");
                            e.id()
                        }
                    };
                    in_flight.retain(|_, t| *t != task);
                }
                received = notified => {
                    if received.is_err() {
                        listener = None;
                    }
                }
                _ = tokio::time::sleep(wake) => {}
            }
        }
        // Let requests in flight finish (the leader's shutdown grace bounds this).
        while tasks.join_next().await.is_some() {}
    }

    /// Starts a task for each due subscription without one (up to the concurrency), updates
    /// the lag gauges and returns when the next retry is due.
    async fn sweep(
        &self,
        in_flight: &mut HashMap<String, tokio::task::Id>,
        tasks: &mut JoinSet<()>,
        stop: watch::Receiver<bool>,
    ) -> sqlx::Result<Option<chrono::DateTime<Utc>>> {
        let pool = &self.inner.pool;
        let due = store::due(pool).await?;
        tracing::trace!(
            due = due.len(),
            in_flight = in_flight.len(),
            "webhook sweep"
        );
        for id in due {
            if in_flight.len() >= self.inner.config.concurrency.max(1) {
                break;
            }
            if in_flight.contains_key(&id) {
                continue;
            }
            let me = self.clone();
            let stop = stop.clone();
            let sub = id.clone();
            let task = tasks.spawn(async move {
                if let Err(e) = me.deliver_subscription(&sub, stop).await {
                    tracing::warn!(subscription = %sub, error = %e, "webhook delivery interrupted; will retry");
                }
            });
            in_flight.insert(id, task.id());
        }
        let lag = log::lag(pool).await?;
        let pending = lag.iter().filter(|s| !s.paused).map(|s| s.pending).sum();
        let oldest = lag
            .iter()
            .filter(|s| !s.paused)
            .map(|s| s.lag_seconds)
            .fold(0.0, f64::max);
        self.inner.metrics.lag(pending, oldest);
        store::next_retry_at(pool).await
    }

    /// Sends the subscription's notifications in order until it is caught up, waits for a
    /// retry, or `stop`.
    async fn deliver_subscription(
        &self,
        id: &str,
        stop: watch::Receiver<bool>,
    ) -> sqlx::Result<()> {
        let pool = &self.inner.pool;
        while !*stop.borrow() {
            let Some(sub) = store::subscription(pool, id).await? else {
                return Ok(()); // deleted meanwhile
            };
            let cursor = store::cursor(pool, id).await?;
            if cursor.next_attempt_at.is_some_and(|at| at > Utc::now()) {
                return Ok(());
            }
            if sub.paused {
                return store::skip_paused(pool, &sub).await;
            }
            let Some(item) = store::next_item(pool, &sub, &cursor).await? else {
                return Ok(());
            };
            let failures = match cursor.retry_id.as_deref() == Some(item.id.as_str()) {
                true => cursor.attempts,
                false => 0,
            };
            let recorded = self.attempt(&sub, &item, failures + 1).await?;
            if recorded == Recorded::Retry {
                return Ok(());
            }
        }
        Ok(())
    }

    /// One POST of `item` to `sub`, recorded.
    async fn attempt(
        &self,
        sub: &Subscription,
        item: &Item,
        attempt: i32,
    ) -> sqlx::Result<Recorded> {
        let config = &self.inner.config;
        tracing::trace!(subscription = %sub.subscription_id, notification = %item.id, attempt, "webhook attempt");
        let sent = match self.request(sub, item).await {
            Ok((headers, body)) => self.inner.client.post(&sub.url, headers, body).await,
            Err(e) => Err(e),
        };
        let (status, error, hint, latency) = match &sent {
            Ok(r) if (200..300).contains(&r.status) => {
                (Some(r.status), None, None, Some(r.latency))
            }
            Ok(r) => (
                Some(r.status),
                Some(snippet(&r.body)),
                crate::retry::hint(&r.headers, &r.body),
                Some(r.latency),
            ),
            Err(e) => (None, Some(e.to_string()), None, None),
        };
        tracing::trace!(
            status,
            error = error.as_deref().unwrap_or(""),
            "webhook attempt answered"
        );
        let ok = error.is_none();
        let outcome = if ok {
            Outcome::Delivered
        } else if attempt >= i32::try_from(config.max_attempts).unwrap_or(i32::MAX) {
            Outcome::GiveUp
        } else {
            let wait = crate::retry::delay(
                config.backoff_base,
                config.backoff_cap,
                u32::try_from(attempt).unwrap_or(u32::MAX),
                hint,
            );
            let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            Outcome::Retry { at }
        };
        let latency_ms = latency.map_or(0, |l| i32::try_from(l.as_millis()).unwrap_or(i32::MAX));
        let recorded = store::record(
            &self.inner.pool,
            &sub.subscription_id,
            Attempt {
                item,
                attempt,
                status: status.map(i32::from),
                error: error.clone(),
                latency_ms,
            },
            outcome,
            config.attempts_kept,
        )
        .await?;
        let name = match recorded {
            Recorded::Delivered => "delivered",
            Recorded::Retry => "failed",
            Recorded::DeadLettered => "dead_lettered",
        };
        self.inner
            .metrics
            .attempt(name, latency.map(|l| l.as_secs_f64()));
        match recorded {
            Recorded::Delivered => {}
            Recorded::Retry => tracing::debug!(
                subscription = %sub.subscription_id, notification = %item.id, attempt,
                status, error = error.as_deref().unwrap_or(""), "webhook delivery failed; will retry"
            ),
            Recorded::DeadLettered => tracing::warn!(
                subscription = %sub.subscription_id, notification = %item.id, attempt,
                status, error = error.as_deref().unwrap_or(""), "webhook notification dead-lettered"
            ),
        }
        Ok(recorded)
    }

    /// The headers and body of `item` for `sub`'s format.
    async fn request(
        &self,
        sub: &Subscription,
        item: &Item,
    ) -> Result<(HeaderMap, Vec<u8>), SendError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static(ID_HEADER),
            HeaderValue::from_str(&item.id)
                .map_err(|_| SendError::Refused("bad notification id".into()))?,
        );
        let now = Utc::now().timestamp();
        headers.insert(
            HeaderName::from_static(TIMESTAMP_HEADER),
            HeaderValue::from(now),
        );
        if sub.format == "discord" {
            let live_page = match (&self.inner.config.public_base_url, &item.slug) {
                (Some(base), Some(slug)) => {
                    Some(format!("{}/t/{slug}", base.trim_end_matches('/')))
                }
                _ => None,
            };
            let message = discord::render(&item.body, live_page.as_deref());
            return Ok((headers, message.to_string().into_bytes()));
        }
        let body = item.body.to_string().into_bytes();
        let secret = store::secret(&self.inner.pool, &sub.subscription_id)
            .await
            .map_err(|e| SendError::Http(format!("cannot read the signing secret: {e}")))?
            .ok_or_else(|| SendError::Refused("the subscription has no signing secret".into()))?;
        let signature = signature(&Secret::new(secret), now, &body);
        headers.insert(
            HeaderName::from_static(SIGNATURE_HEADER),
            HeaderValue::from_str(&signature)
                .map_err(|_| SendError::Refused("bad signature".into()))?,
        );
        Ok((headers, body))
    }
}

/// LISTEN on the projectors' channels (core's nudges, new notifications) and the replay channel; `None` when that fails (the
/// sweep still runs; the next loop tries again).
async fn listen(pool: &PgPool) -> Option<PgListener> {
    let listening = async {
        let mut l = PgListener::connect_with(pool).await?;
        l.listen_all([
            projections::nudge::CHANNEL,
            projections::notifications::CHANNEL,
            store::CHANNEL,
        ])
        .await?;
        Ok::<_, sqlx::Error>(l)
    };
    match tokio::time::timeout(Duration::from_secs(10), listening).await {
        Ok(Ok(l)) => Some(l),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "webhook worker: LISTEN failed; sweeping only");
            None
        }
        Err(_) => None,
    }
}

/// The start of an error response, for the delivery log.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.chars().filter(|c| !c.is_control()).collect()
}
