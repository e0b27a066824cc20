//! `GET /metrics`: Prometheus metrics in the OpenMetrics text format (which Prometheus scrapes
//! natively), never rate limited, `no-store`.
//!
//! - `standings_http_requests_total{method,route,status}` and
//!   `standings_http_request_duration_seconds{method,route}` (time to the response head):
//!   counted by [`track`]; `route` is the matched pattern (`<unmatched>` for 404s), so series
//!   stay few.
//! - `standings_sse_subscribers`, `standings_poll_*`, `standings_upstream_*`: read at scrape
//!   time from whatever the binary registered ([`Metrics::sse_subscribers_from`],
//!   [`Metrics::poller_from`]); this crate depends on neither the hub nor the poller.
//! - `standings_projector_lag_events|seconds{projector,build}`, `standings_projector_parked`,
//!   `standings_projector_quarantined_events{projector,build,position,aggregate,tournament}`
//!   (per poison event: it and the later events of its aggregate not applied; `tournament` is
//!   the slug, empty for other aggregates): computed at scrape time from the checkpoints, counting at most [`LAG_COUNT_CAP`] events per
//!   build, within [`LAG_TIMEOUT`].
//!
//! Why `prometheus-client` rather than the `metrics` facade + `metrics-exporter-prometheus`:
//! its registries are plain values held in `AppState` (the facade needs one process-global
//! recorder, which two servers in one test binary would share), label sets are typed, and a
//! `Collector` reads values that live elsewhere (hub, poller) at scrape time instead of
//! copying them into gauges on a timer.

use std::fmt::Write;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use sqlx::PgPool;

use crate::AppState;

const PREFIX: &str = "standings";
/// Events counted per projector build at most (a rebuild from 0 reports "at least this").
pub const LAG_COUNT_CAP: i64 = 1_000_000;
pub const LAG_TIMEOUT: Duration = Duration::from_secs(2);
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// One poll cycle kind's counters, as the poller keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollKind {
    /// `stats`, `matches`, `live`, `catalog`.
    pub kind: &'static str,
    pub cycles_ok: u64,
    pub cycles_failed: u64,
    /// Upstream requests of successful cycles (batches, pages).
    pub requests: u64,
    pub commands: u64,
}

/// What the poller reports at a scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollerSample {
    pub kinds: Vec<PollKind>,
    pub leader: bool,
    /// Every HTTP attempt to upstream, retries included.
    pub upstream_requests: u64,
    /// Upstream answers that were 429.
    pub upstream_rate_limited: u64,
}

type SseSource = Box<dyn Fn() -> u64 + Send + Sync>;
type PollerSource = Box<dyn Fn() -> PollerSample + Send + Sync>;
/// (open connections, connections refused by a cap since start).
type ConnectionsSource = Box<dyn Fn() -> (u64, u64) + Send + Sync>;
/// Writes metrics kept elsewhere (the webhook worker's) into a scrape.
type EncodeSource =
    Box<dyn Fn(&mut DescriptorEncoder) -> Result<(), std::fmt::Error> + Send + Sync>;

/// Values owned by other crates, read at scrape time.
#[derive(Default)]
struct Sources {
    sse: RwLock<Option<SseSource>>,
    poller: RwLock<Option<PollerSource>>,
    limiter_keys: RwLock<Option<SseSource>>,
    connections: RwLock<Option<ConnectionsSource>>,
    encoders: RwLock<Vec<EncodeSource>>,
}

#[derive(Clone)]
struct SourcesCollector(Arc<Sources>);

impl std::fmt::Debug for SourcesCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourcesCollector")
    }
}

/// This process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    sources: Arc<Sources>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by method and matched route",
            latency.clone(),
        );
        let sources = Arc::new(Sources::default());
        registry.register_collector(Box::new(SourcesCollector(sources.clone())));
        Metrics {
            registry,
            requests,
            latency,
            sources,
        }
    }

    /// Reads the number of open SSE streams at each scrape.
    pub fn sse_subscribers_from(&self, source: impl Fn() -> u64 + Send + Sync + 'static) {
        *self.sources.sse.write().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(source));
    }

    /// Reads the poller's counters at each scrape (processes that poll).
    pub fn poller_from(&self, source: impl Fn() -> PollerSample + Send + Sync + 'static) {
        *self
            .sources
            .poller
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(source));
    }

    /// Reads open connections and refusals by the connection caps at each scrape.
    pub fn connections_from(&self, source: impl Fn() -> (u64, u64) + Send + Sync + 'static) {
        *self
            .sources
            .connections
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(source));
    }

    /// Lets another crate write its own metrics into each scrape (the webhook worker's
    /// counters and histogram), without this crate depending on it.
    pub fn collect_from(
        &self,
        source: impl Fn(&mut DescriptorEncoder) -> Result<(), std::fmt::Error> + Send + Sync + 'static,
    ) {
        self.sources
            .encoders
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(source));
    }

    pub(crate) fn limiter_keys_from(&self, source: impl Fn() -> u64 + Send + Sync + 'static) {
        *self
            .sources
            .limiter_keys
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(source));
    }

    fn observe(&self, method: &'static str, route: String, status: u16, elapsed: Duration) {
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// The exposition, with the projector lag read from `pool`.
    pub async fn render(&self, pool: &PgPool) -> String {
        let lag = match tokio::time::timeout(LAG_TIMEOUT, projector_lag(pool)).await {
            Ok(Ok(lag)) => Some(lag),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: projector lag unavailable");
                None
            }
            Err(_) => {
                tracing::warn!("metrics: projector lag query timed out");
                None
            }
        };
        let mut scrape = Registry::with_prefix(PREFIX);
        scrape.register_collector(Box::new(LagCollector(lag)));
        let mut out = String::with_capacity(8 * 1024);
        let encoded = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry)
            .and_then(|()| prometheus_client::encoding::text::encode_registry(&mut out, &scrape))
            .and_then(|()| prometheus_client::encoding::text::encode_eof(&mut out));
        if let Err(e) = encoded {
            // Writing to a String cannot fail; a collector could.
            let _ = writeln!(out, "# encoding failed: {e}");
        }
        out
    }
}

type Labels = Vec<(&'static str, &'static str)>;

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    if let [(labels, value)] = samples {
        if labels.is_empty() {
            return ConstCounter::new(*value).encode(metric);
        }
    }
    for (labels, value) in samples {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauge<T>(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: T) -> std::fmt::Result
where
    ConstGauge<T>: EncodeMetric,
{
    let metric: MetricEncoder = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

impl Collector for SourcesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sources = &self.0;
        if let Some(sse) = sources
            .sse
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let n = i64::try_from(sse()).unwrap_or(i64::MAX);
            gauge(&mut encoder, "sse_subscribers", "Open SSE streams", n)?;
        }
        if let Some(keys) = sources
            .limiter_keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let n = i64::try_from(keys()).unwrap_or(i64::MAX);
            gauge(
                &mut encoder,
                "rate_limiter_keys",
                "Client and route windows the rate limiter holds",
                n,
            )?;
        }
        if let Some(connections) = sources
            .connections
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let (open, refused) = connections();
            gauge(
                &mut encoder,
                "http_connections",
                "Open HTTP connections (streams included)",
                i64::try_from(open).unwrap_or(i64::MAX),
            )?;
            counter(
                &mut encoder,
                "http_connections_refused",
                "Connections refused by MAX_CONNECTIONS or MAX_CONNECTIONS_PER_IP",
                &[(Vec::new(), refused)],
            )?;
        }
        for encode in sources
            .encoders
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            encode(&mut encoder)?;
        }
        let poller = sources.poller.read().unwrap_or_else(|p| p.into_inner());
        let Some(poller) = poller.as_ref() else {
            return Ok(());
        };
        let sample = poller();
        let per_kind = |value: fn(&PollKind) -> u64, result: Option<&'static str>| {
            sample.kinds.iter().map(move |k| {
                let mut labels: Labels = vec![("kind", k.kind)];
                labels.extend(result.map(|r| ("result", r)));
                (labels, value(k))
            })
        };
        let cycles: Vec<_> = per_kind(|k| k.cycles_ok, Some("ok"))
            .chain(per_kind(|k| k.cycles_failed, Some("failed")))
            .collect();
        counter(
            &mut encoder,
            "poll_cycles",
            "Poll cycles, by kind and result",
            &cycles,
        )?;
        let requests: Vec<_> = per_kind(|k| k.requests, None).collect();
        counter(
            &mut encoder,
            "poll_upstream_calls",
            "Upstream requests of successful poll cycles, by kind",
            &requests,
        )?;
        let commands: Vec<_> = per_kind(|k| k.commands, None).collect();
        counter(
            &mut encoder,
            "poll_commands",
            "Commands sent to aggregates by the poller, by kind",
            &commands,
        )?;
        counter(
            &mut encoder,
            "upstream_requests",
            "HTTP attempts to the community API, retries included",
            &[(vec![], sample.upstream_requests)],
        )?;
        counter(
            &mut encoder,
            "upstream_rate_limited",
            "Community API answers that were 429",
            &[(vec![], sample.upstream_rate_limited)],
        )?;
        gauge(
            &mut encoder,
            "poller_leader",
            "1 while this process holds the poller lock",
            i64::from(sample.leader),
        )
    }
}

/// One projector build's lag.
#[derive(Clone, Debug, PartialEq)]
pub struct Lag {
    pub projector: String,
    pub build: i64,
    pub parked: bool,
    /// Committed or in-flight events after the checkpoint, at most [`LAG_COUNT_CAP`].
    pub events: i64,
    /// Age of the oldest event not applied yet (0 when caught up).
    pub seconds: f64,
    /// Poison events this build quarantined (few: one per broken aggregate).
    pub quarantined: Vec<projections::Quarantined>,
}

/// Per build: events and seconds behind, with bounded queries (the count stops at
/// [`LAG_COUNT_CAP`]; the age reads one row through the `(tx, global_position)` index).
pub async fn projector_lag(pool: &PgPool) -> sqlx::Result<Vec<Lag>> {
    let mut out = vec![];
    let quarantined = projections::quarantine::list(pool).await?;
    for build in projections::runner::builds(pool).await? {
        let (events, seconds): (i64, Option<f64>) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM events
                      WHERE (tx, global_position) > ($1::text::xid8, $2) LIMIT $3) behind),
                    (SELECT extract(epoch FROM now() - recorded_at)::float8 FROM events
                      WHERE (tx, global_position) > ($1::text::xid8, $2)
                      ORDER BY tx, global_position LIMIT 1)",
        )
        .bind(build.position.tx.to_string())
        .bind(build.position.position)
        .bind(LAG_COUNT_CAP)
        .fetch_one(pool)
        .await?;
        out.push(Lag {
            projector: build.name.clone(),
            build: build.build,
            parked: build.parked_at.is_some(),
            events,
            seconds: seconds.unwrap_or(0.0).max(0.0),
            quarantined: quarantined
                .iter()
                .filter(|q| q.build == build.build)
                .cloned()
                .collect(),
        });
    }
    Ok(out)
}

#[derive(Debug)]
struct LagCollector(Option<Vec<Lag>>);

impl Collector for LagCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(lags) = &self.0 else {
            return gauge(
                &mut encoder,
                "projector_lag_available",
                "0 when the projector lag could not be read at this scrape",
                0i64,
            );
        };
        gauge(
            &mut encoder,
            "projector_lag_available",
            "0 when the projector lag could not be read at this scrape",
            1i64,
        )?;
        let labels: Vec<[(&str, String); 2]> = lags
            .iter()
            .map(|l| {
                [
                    ("projector", l.projector.clone()),
                    ("build", l.build.to_string()),
                ]
            })
            .collect();
        let mut events = encoder.encode_descriptor(
            "projector_lag_events",
            "Events after the projector build's checkpoint (capped)",
            None,
            MetricType::Gauge,
        )?;
        for (lag, labels) in lags.iter().zip(&labels) {
            ConstGauge::new(lag.events).encode(events.encode_family(labels)?)?;
        }
        let mut seconds = encoder.encode_descriptor(
            "projector_lag_seconds",
            "Age of the oldest event the projector build has not applied",
            None,
            MetricType::Gauge,
        )?;
        for (lag, labels) in lags.iter().zip(&labels) {
            ConstGauge::new(lag.seconds).encode(seconds.encode_family(labels)?)?;
        }
        let mut parked = encoder.encode_descriptor(
            "projector_parked",
            "1 when the projector build stopped on an event it could not apply",
            None,
            MetricType::Gauge,
        )?;
        for (lag, labels) in lags.iter().zip(&labels) {
            ConstGauge::new(i64::from(lag.parked)).encode(parked.encode_family(labels)?)?;
        }
        let mut quarantined = encoder.encode_descriptor(
            "projector_quarantined_events",
            "Per poison event: it and the later events of its aggregate the build did not apply",
            None,
            MetricType::Gauge,
        )?;
        for lag in lags {
            for q in &lag.quarantined {
                let labels = [
                    ("projector", lag.projector.clone()),
                    ("build", lag.build.to_string()),
                    ("position", q.position.to_string()),
                    (
                        "aggregate",
                        format!("{}:{}", q.aggregate_type, q.aggregate_id),
                    ),
                    ("tournament", q.tournament.clone().unwrap_or_default()),
                ];
                ConstGauge::new(1 + q.held_back).encode(quarantined.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The middleware: counts every response of the router (429s and 413s included).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_string(), |m| m.as_str().to_string());
    let response = next.run(request).await;
    state
        .edge
        .metrics
        .observe(method, route, response.status().as_u16(), started.elapsed());
    response
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> Response {
    let body = state.edge.metrics.render(&state.pool).await;
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
