//! Wires the HTTP edge: rate limits from the settings, and the metrics that live in other
//! crates (open SSE streams in the hub, the poller's counters) read at each scrape.

use std::sync::Arc;

use api::metrics::{PollKind, PollerSample};

use crate::settings::HttpArgs;

pub fn build(
    http: &HttpArgs,
    hub: &Arc<sse::Hub>,
    poller: Option<&poller::Poller>,
) -> Arc<api::Edge> {
    let limits = http.rate_limits();
    if limits.per_minute == 0 {
        tracing::info!("rate limits off (RATE_LIMIT_PER_MINUTE=0)");
    }
    let edge = api::Edge::new(limits);
    let hub = hub.clone();
    edge.metrics
        .sse_subscribers_from(move || hub.subscriber_count() as u64);
    if let Some(poller) = poller {
        let stats = poller.stats_handle();
        let upstream = poller.upstream_counters();
        edge.metrics.poller_from(move || {
            let snapshot = stats.snapshot();
            let (upstream_requests, upstream_rate_limited) = upstream.read();
            PollerSample {
                kinds: poller::CycleKind::ALL
                    .iter()
                    .map(|&kind| {
                        let k = snapshot.kind(kind);
                        PollKind {
                            kind: kind.name(),
                            cycles_ok: k.cycles_ok,
                            cycles_failed: k.cycles_failed,
                            requests: k.requests,
                            commands: k.commands,
                        }
                    })
                    .collect(),
                leader: snapshot.is_leader,
                upstream_requests,
                upstream_rate_limited,
            }
        });
    }
    Arc::new(edge)
}
