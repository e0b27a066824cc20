//! Per-client, per-route rate limits (seed contract §1.0.4).
//!
//! - **Key**: the client IP, the method and the *matched route pattern*
//!   (`GET /v1/tournaments/{tournament_slug}/standings`), so every route has its own budget.
//! - **Client IP**: the socket peer, unless the peer is a trusted proxy (`TRUSTED_PROXIES`,
//!   default loopback and private ranges): then `CF-Connecting-IP`, else the nearest
//!   untrusted hop of `X-Forwarded-For` (read right to left; with one proxy that is the
//!   left-most hop, as in the contract, but a client cannot pick its key by prepending hops).
//!   IPv6 clients are keyed by their /64 (one host usually owns a whole /64).
//! - **Limits**: `RATE_LIMIT_PER_MINUTE` (default 300) on every route, the contract's write
//!   limits on the routes of [`crate::openapi::WRITE_ROUTES`]; exempt: `/`, `/health`, `/docs`
//!   (and its assets), `/openapi.json`, `/.well-known/security.txt`, `/metrics`.
//! - **Algorithm**: a fixed window per key, opened by its first request and lasting a minute
//!   (slowapi's default strategy): request N+1 within that minute is refused. A token bucket
//!   (e.g. `governor`'s GCRA) would refill one request every 60/N s, so "#301 in a minute"
//!   would pass whenever the first 300 took longer than 200 ms.
//! - **Answer**: 429 `{"error": "Rate limit exceeded: <N> per 1 minute"}` (the contract's body)
//!   plus `Retry-After` (seconds until the window ends; the original sent none).
//! - **Memory**: 16 shards of `key → (window start, count)`; a shard drops expired windows
//!   every minute and whenever it doubles, and never holds more than [`MAX_KEYS_PER_SHARD`]
//!   keys (past that, new clients are let through untracked and a warning is logged).
//!   Limits are per process, like the original's in-memory storage.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::AppState;

const WINDOW_SECS: u64 = 60;
const SHARDS: usize = 16;
/// 16 × 16,384 keys ≈ 262k clients × routes, ~20 MiB at most.
pub const MAX_KEYS_PER_SHARD: usize = 16_384;
const EXEMPT: [&str; 6] = [
    "/",
    "/health",
    "/docs",
    "/openapi.json",
    "/.well-known/security.txt",
    "/metrics",
];

/// Default `TRUSTED_PROXIES`: loopback and private ranges (a reverse proxy on the same host
/// or network). Behind Cloudflare without such a proxy, list Cloudflare's ranges (or `*`).
pub const DEFAULT_TRUSTED_PROXIES: &str =
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7";

/// Infra routes the limiter never counts.
pub fn is_exempt(path: &str) -> bool {
    EXEMPT.contains(&path) || path.starts_with("/docs/")
}

/// Addresses whose `CF-Connecting-IP` / `X-Forwarded-For` are believed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies {
    all: bool,
    nets: Vec<(IpAddr, u8)>,
}

impl Default for TrustedProxies {
    /// Loopback and private ranges: a reverse proxy on the same host or network.
    fn default() -> Self {
        TrustedProxies::parse(DEFAULT_TRUSTED_PROXIES).expect("valid defaults")
    }
}

impl TrustedProxies {
    /// `*` (trust every peer, as the original did), `none`/empty, or comma-separated
    /// addresses and CIDR blocks.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let text = text.trim();
        if text == "*" {
            return Ok(TrustedProxies {
                all: true,
                nets: vec![],
            });
        }
        let mut nets = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item.eq_ignore_ascii_case("none") {
                continue;
            }
            let (addr, prefix) = match item.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (item, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{item}` is not an IP address or CIDR block"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("`{item}`: the prefix length must be 0..={max}"))?,
            };
            nets.push((addr, prefix));
        }
        Ok(TrustedProxies { all: false, nets })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.all
            || self
                .nets
                .iter()
                .any(|&(net, prefix)| in_network(ip, net, prefix))
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Settings of [`RateLimiter`].
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// Default limit of every route; 0 turns the limiter off (write limits included).
    pub per_minute: u32,
    pub trusted_proxies: TrustedProxies,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_minute: 300,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// What the limiter says about one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { limit: u32, retry_after_secs: u64 },
}

#[derive(Clone, Copy)]
struct Window {
    /// Seconds since the limiter's epoch.
    start: u64,
    count: u32,
}

#[derive(Default)]
struct Shard {
    windows: HashMap<(IpAddr, u64), Window>,
    last_sweep: u64,
    sweep_at_len: usize,
}

impl Shard {
    fn sweep(&mut self, now: u64) {
        self.windows.retain(|_, w| now < w.start + WINDOW_SECS);
        self.windows.shrink_to(self.windows.len() * 2);
        self.last_sweep = now;
        self.sweep_at_len = (self.windows.len() * 2).max(1024);
    }
}

/// Fixed-window limits per (client, method, route); see the module docs.
pub struct RateLimiter {
    default_per_minute: u32,
    routes: HashMap<(&'static str, &'static str), u32>,
    trusted: TrustedProxies,
    shards: Vec<Mutex<Shard>>,
    epoch: Instant,
    /// Seconds (since the epoch) of the last "too many clients" warning.
    warned_full_at: AtomicU64,
}

impl RateLimiter {
    /// `None` when `per_minute` is 0 (limits off).
    pub fn new(config: RateLimitConfig) -> Option<RateLimiter> {
        if config.per_minute == 0 {
            return None;
        }
        let routes = crate::openapi::WRITE_ROUTES
            .iter()
            .map(|r| ((r.method, r.path), r.per_minute))
            .collect();
        Some(RateLimiter {
            default_per_minute: config.per_minute,
            routes,
            trusted: config.trusted_proxies,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            epoch: Instant::now(),
            warned_full_at: AtomicU64::new(u64::MAX),
        })
    }

    /// Requests per minute allowed on `method route` (a matched route pattern).
    pub fn limit_for(&self, method: &Method, route: &str) -> u32 {
        self.routes
            .get(&(method.as_str(), route))
            .copied()
            .unwrap_or(self.default_per_minute)
    }

    /// The client a request is counted against.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(|p| p.to_canonical());
        match peer {
            Some(p) if self.trusted.contains(p) => Some(self.forwarded(headers).unwrap_or(p)),
            other => other,
        }
    }

    /// `CF-Connecting-IP`, else the nearest untrusted `X-Forwarded-For` hop (the left-most
    /// when every hop is trusted).
    fn forwarded(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let parse = |s: &str| s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        if let Some(ip) = headers
            .get("cf-connecting-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(parse)
        {
            return Some(ip);
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(parse)
            .collect::<Option<Vec<_>>>()?;
        hops.iter()
            .rev()
            .find(|ip| !self.trusted.contains(**ip))
            .or(hops.first())
            .copied()
    }

    /// Counts one request of `client` on `method route`.
    pub fn check(&self, client: Option<IpAddr>, method: &Method, route: &str) -> Decision {
        self.check_at(client, method, route, self.epoch.elapsed().as_secs())
    }

    fn check_at(&self, client: Option<IpAddr>, method: &Method, route: &str, now: u64) -> Decision {
        let limit = self.limit_for(method, route);
        // No peer address (a listener without connect info): one shared budget.
        let ip = client
            .map(client_key)
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let mut hasher = DefaultHasher::new();
        method.as_str().hash(&mut hasher);
        route.hash(&mut hasher);
        let route_key = hasher.finish();
        let mut hasher = DefaultHasher::new();
        (ip, route_key).hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() % SHARDS as u64) as usize];
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if now >= shard.last_sweep + WINDOW_SECS || shard.windows.len() >= shard.sweep_at_len {
            shard.sweep(now);
        }
        let full = shard.windows.len() >= MAX_KEYS_PER_SHARD;
        match shard.windows.get_mut(&(ip, route_key)) {
            Some(w) if now < w.start + WINDOW_SECS => {
                if w.count >= limit {
                    return Decision::Deny {
                        limit,
                        retry_after_secs: (w.start + WINDOW_SECS - now).max(1),
                    };
                }
                w.count += 1;
            }
            Some(w) => {
                *w = Window {
                    start: now,
                    count: 1,
                }
            }
            None if full => {
                drop(shard);
                self.warn_full(now);
            }
            None => {
                shard.windows.insert(
                    (ip, route_key),
                    Window {
                        start: now,
                        count: 1,
                    },
                );
            }
        }
        Decision::Allow
    }

    fn warn_full(&self, now: u64) {
        let last = self.warned_full_at.load(Ordering::Relaxed);
        if (last == u64::MAX || now >= last + WINDOW_SECS)
            && self
                .warned_full_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                max_keys = MAX_KEYS_PER_SHARD * SHARDS,
                "rate limiter full: new clients pass untracked until windows expire"
            );
        }
    }

    /// Keys held (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.windows.len()).unwrap_or(0))
            .sum()
    }
}

/// IPv4 as is; IPv6 by its /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// The middleware: counts the request against its client and matched route.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = state.edge.limiter.as_ref() else {
        return next.run(request).await;
    };
    if is_exempt(request.uri().path()) {
        return next.run(request).await;
    }
    // Present when served with `into_make_service_with_connect_info::<SocketAddr>()` (for a
    // listener other than `TcpListener`, wrap it with `ListenerExt::tap_io(|_| {})`).
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = limiter.client_ip(peer, request.headers());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    match limiter.check(client, request.method(), route) {
        Decision::Allow => next.run(request).await,
        Decision::Deny {
            limit,
            retry_after_secs,
        } => {
            let body = serde_json::json!({
                "error": format!("Rate limit exceeded: {limit} per 1 minute")
            });
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limiter(per_minute: u32, trusted: &str) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            per_minute,
            trusted_proxies: TrustedProxies::parse(trusted).unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn request_n_plus_one_in_a_window_is_refused_until_it_ends() {
        let l = limiter(3, "");
        let a = Some(ip("203.0.113.1"));
        for _ in 0..3 {
            assert_eq!(l.check_at(a, &Method::GET, "/v1/x", 10), Decision::Allow);
        }
        assert_eq!(
            l.check_at(a, &Method::GET, "/v1/x", 40),
            Decision::Deny {
                limit: 3,
                retry_after_secs: 30
            }
        );
        // Other clients, routes and methods have their own budgets.
        assert_eq!(
            l.check_at(Some(ip("203.0.113.2")), &Method::GET, "/v1/x", 40),
            Decision::Allow
        );
        assert_eq!(l.check_at(a, &Method::GET, "/v1/y", 40), Decision::Allow);
        assert_eq!(l.check_at(a, &Method::HEAD, "/v1/x", 40), Decision::Allow);
        // A new window a minute after the first request.
        assert_eq!(l.check_at(a, &Method::GET, "/v1/x", 70), Decision::Allow);
    }

    #[test]
    fn write_routes_take_the_contracts_limits() {
        let l = limiter(300, "");
        assert_eq!(l.limit_for(&Method::POST, "/v1/tournaments"), 5);
        assert_eq!(l.limit_for(&Method::GET, "/v1/tournaments"), 300);
        assert_eq!(
            l.limit_for(&Method::DELETE, "/v1/tournaments/{tournament_slug}"),
            3
        );
        assert_eq!(
            l.limit_for(&Method::PATCH, "/v1/tournaments/{tournament_slug}"),
            20
        );
        assert_eq!(
            l.limit_for(&Method::POST, "/v1/tournaments/{tournament_slug}/teams"),
            10
        );
        assert_eq!(
            l.limit_for(
                &Method::DELETE,
                "/v1/tournaments/{tournament_slug}/owners/{user_id}"
            ),
            5
        );
        let a = Some(ip("198.51.100.7"));
        for _ in 0..5 {
            assert_eq!(
                l.check_at(a, &Method::POST, "/v1/tournaments", 0),
                Decision::Allow
            );
        }
        assert!(matches!(
            l.check_at(a, &Method::POST, "/v1/tournaments", 1),
            Decision::Deny { limit: 5, .. }
        ));
    }

    #[test]
    fn zero_turns_the_limiter_off() {
        assert!(RateLimiter::new(RateLimitConfig {
            per_minute: 0,
            trusted_proxies: TrustedProxies::default(),
        })
        .is_none());
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_peers() {
        let l = limiter(300, "10.0.0.0/8, 127.0.0.1");
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.1.2.3"),
        );
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(
            l.client_ip(Some(ip("198.51.100.1")), &h),
            Some(ip("198.51.100.1"))
        );
        // Trusted peer: the nearest untrusted hop.
        assert_eq!(
            l.client_ip(Some(ip("127.0.0.1")), &h),
            Some(ip("203.0.113.9"))
        );
        // A client prepending a hop cannot choose its key.
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.9, 10.1.2.3"),
        );
        assert_eq!(
            l.client_ip(Some(ip("10.9.9.9")), &h),
            Some(ip("203.0.113.9"))
        );
        // CF-Connecting-IP first.
        h.insert("cf-connecting-ip", HeaderValue::from_static("2001:db8::1"));
        assert_eq!(
            l.client_ip(Some(ip("127.0.0.1")), &h),
            Some(ip("2001:db8::1"))
        );
        // Garbage: the peer.
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(
            l.client_ip(Some(ip("127.0.0.1")), &bad),
            Some(ip("127.0.0.1"))
        );
        // IPv4-mapped peers are IPv4.
        assert_eq!(
            l.client_ip(Some(ip("::ffff:198.51.100.1")), &HeaderMap::new()),
            Some(ip("198.51.100.1"))
        );
    }

    #[test]
    fn trusted_proxy_lists() {
        let d = TrustedProxies::default();
        for trusted in [
            "127.0.0.1",
            "::1",
            "10.2.3.4",
            "172.31.0.1",
            "192.168.1.1",
            "fd00::1",
        ] {
            assert!(d.contains(ip(trusted)), "{trusted}");
        }
        for untrusted in ["8.8.8.8", "172.32.0.1", "2001:db8::1"] {
            assert!(!d.contains(ip(untrusted)), "{untrusted}");
        }
        assert!(TrustedProxies::parse("*").unwrap().contains(ip("8.8.8.8")));
        assert!(!TrustedProxies::parse("none")
            .unwrap()
            .contains(ip("127.0.0.1")));
        assert!(!TrustedProxies::parse("").unwrap().contains(ip("127.0.0.1")));
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("example.com").is_err());
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let l = limiter(1, "");
        let route = "/v1/x";
        assert_eq!(
            l.check_at(Some(ip("2001:db8:1:2::1")), &Method::GET, route, 0),
            Decision::Allow
        );
        assert!(matches!(
            l.check_at(Some(ip("2001:db8:1:2::ffff")), &Method::GET, route, 0),
            Decision::Deny { .. }
        ));
        assert_eq!(
            l.check_at(Some(ip("2001:db8:1:3::1")), &Method::GET, route, 0),
            Decision::Allow
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let l = limiter(5, "");
        // Many clients in one minute: tracked up to the cap, the rest pass untracked.
        let clients = (MAX_KEYS_PER_SHARD * SHARDS + 10_000) as u32;
        for n in 0..clients {
            let client = Some(IpAddr::V4((0x0a00_0000 + n).into()));
            assert_eq!(
                l.check_at(client, &Method::GET, "/v1/x", 5),
                Decision::Allow
            );
        }
        assert!(l.tracked_keys() <= MAX_KEYS_PER_SHARD * SHARDS);
        // A minute later, idle windows are evicted as the shards are used.
        for n in 0..(SHARDS as u32 * 64) {
            let client = Some(IpAddr::V4((0xc000_0000 + n).into()));
            l.check_at(client, &Method::GET, "/v1/x", 200);
        }
        assert!(l.tracked_keys() <= SHARDS * 64, "{}", l.tracked_keys());
    }

    #[test]
    fn exemptions() {
        for path in [
            "/",
            "/health",
            "/docs",
            "/docs/scalar-1.72.1.js",
            "/openapi.json",
            "/metrics",
            "/.well-known/security.txt",
        ] {
            assert!(is_exempt(path), "{path}");
        }
        for path in ["/v1/tournaments", "/v1/flags", "/v1/stream", "/nope"] {
            assert!(!is_exempt(path), "{path}");
        }
    }
}
