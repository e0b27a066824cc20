//! Wires the HTTP edge: rate limits from the settings, and the metrics that live in other
//! crates (open SSE streams in the hub, the poller's counters) read at each scrape.

use std::sync::Arc;

use api::metrics::{PollKind, PollerSample};

use crate::settings::HttpArgs;

pub fn build(
    http: &HttpArgs,
    hub: &Arc<sse::Hub>,
    poller: Option<&poller::Poller>,
    webhooks: Option<webhooks::Metrics>,
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
    if let Some(webhooks) = webhooks {
        edge.metrics
            .collect_from(move |encoder| webhooks.encode(encoder));
    }
    Arc::new(edge)
}

/// Who may open a `/v1/stream`: at most MAX_STREAMS_PER_CLIENT open per client (trusted
/// addresses exempt), and each connect counted by the rate limiter as `GET /v1/stream` (the
/// lean responder answers streams outside axum's middleware).
pub fn stream_gate(http: &HttpArgs, edge: &api::Edge) -> sse::StreamGate {
    let trusted = http.trusted_proxies.clone();
    let exempt: sse::limits::ExemptFn = Arc::new(move |ip| trusted.contains(ip));
    let (client_of, rate) = match &edge.limiter {
        Some(limiter) => {
            let resolver = limiter.clone();
            let client_of: sse::ClientFn = Arc::new(move |peer, headers| {
                resolver.client_ip(Some(peer), headers).unwrap_or(peer)
            });
            let counter = limiter.clone();
            let rate: sse::RateFn = Arc::new(move |client| {
                match counter.check(Some(client), &axum::http::Method::GET, "/v1/stream") {
                    api::ratelimit::Decision::Allow => Ok(()),
                    api::ratelimit::Decision::Deny {
                        limit,
                        retry_after_secs,
                    } => Err(sse::RateLimited {
                        per_minute: limit,
                        retry_after_secs,
                    }),
                }
            });
            (Some(client_of), Some(rate))
        }
        None => (None, None),
    };
    sse::StreamGate::new(http.max_streams_per_client, client_of, Some(exempt), rate)
}

/// The caps of open connections: MAX_CONNECTIONS (or the open-file limit minus a reserve)
/// and MAX_CONNECTIONS_PER_IP for every peer that is not a trusted proxy.
pub fn connection_limits(http: &HttpArgs, open_file_limit: u64) -> sse::ConnectionLimits {
    let trusted = http.trusted_proxies.clone();
    sse::ConnectionLimits {
        max_connections: http.connection_cap(open_file_limit),
        max_per_address: http.max_connections_per_ip,
        exempt: Some(Arc::new(move |ip| trusted.contains(ip))),
    }
}

/// `/metrics`: open connections and refusals.
pub fn connections_metric(edge: &api::Edge, connections: Arc<sse::Connections>) {
    edge.metrics
        .connections_from(move || (connections.open() as u64, connections.refused() as u64));
}

/// Raises the soft open-file limit to the hard one and returns it: the connection cap is set
/// below it, so the process never runs out of descriptors (accept failing with EMFILE).
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the `rlimit` we pass by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    // RLIM_INFINITY is u64::MAX: the cap then follows MAX_CONNECTIONS' reserve arithmetic.
    limit.rlim_cur
}

/// Pending connections the kernel queues before `accept` (capped by `net.core.somaxconn`).
/// tokio's default of 1,024 overflows when a flood meets a busy moment of the accept loop:
/// dropped SYNs are retried by clients only after a second.
const ACCEPT_BACKLOG: u32 = 4096;

/// Listens on `bind` with [`ACCEPT_BACKLOG`].
pub fn listen(bind: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if bind.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server may reuse a port in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(bind)?;
    socket.listen(ACCEPT_BACKLOG)
}
