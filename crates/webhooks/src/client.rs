//! The HTTP client endpoints are called with: bounded in time and response size, no
//! redirects followed, and no private, loopback, link-local or otherwise internal address
//! reached unless the operator allowlists the host (`WEBHOOK_ALLOWED_HOSTS`): checked for IP
//! literals before sending and for names after DNS resolution (in the resolver, so the
//! address checked is the address connected to: no rebinding window).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, USER_AGENT};

/// Response bytes read at most (for the attempts log and Discord's 429 body); the rest is
/// dropped with the connection.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Hosts (names or IP literals, case-insensitive) whose internal addresses may be called
/// anyway; `*` allows every host (local development only).
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    hosts: Vec<String>,
}

impl Allowlist {
    /// From a comma-separated list (`WEBHOOK_ALLOWED_HOSTS`).
    pub fn parse(list: &str) -> Self {
        Self {
            hosts: list
                .split(',')
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    pub fn permits(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.hosts.iter().any(|h| h == "*" || *h == host)
    }
}

/// Whether `ip` is an ordinary public unicast address. Everything an attacker could use to
/// reach the operator's own network is refused: loopback, private (RFC 1918, fc00::/7),
/// link-local (cloud metadata lives at 169.254.169.254), CGNAT, unspecified, multicast,
/// broadcast, documentation and reserved ranges, and IPv4 inside IPv6 (mapped/compatible).
// The webhook-subs slice classifies addresses at registration too: one function should
// serve both when they are merged.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b // NAT64
                || v6.segments()[..6] == [0; 6]) // IPv4-compatible, ::/96
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Resolves names through the system resolver and drops every address [`is_public`] refuses
/// unless the host is allowlisted; no address left is an error (the request is not sent).
struct GuardedResolver {
    allow: Arc<Allowlist>,
}

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to internal addresses (refused; see WEBHOOK_ALLOWED_HOSTS)")]
struct InternalOnly {
    host: String,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let allowed = allow.permits(&host);
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allowed || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(InternalOnly { host }) as Box<_>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// What one POST came to.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    /// At most [`MAX_RESPONSE_BYTES`].
    pub body: Vec<u8>,
    pub latency: Duration,
}

/// Why a POST got no response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Http(String),
}

/// The endpoints' client (cheap to clone).
#[derive(Clone)]
pub struct EndpointClient {
    http: reqwest::Client,
    allow: Arc<Allowlist>,
}

impl EndpointClient {
    pub fn new(
        allow: Allowlist,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> reqwest::Result<Self> {
        let allow = Arc::new(allow);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!(
                "live-standings-webhooks/",
                env!("CARGO_PKG_VERSION")
            )),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .dns_resolver(Arc::new(GuardedResolver {
                allow: allow.clone(),
            }))
            .build()?;
        Ok(Self { http, allow })
    }

    /// Whether `url` may be called at all (scheme, and an IP-literal host's class; names are
    /// checked after resolution).
    pub fn check(&self, url: &reqwest::Url) -> Result<(), SendError> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(SendError::Refused(format!("scheme {}", url.scheme())));
        }
        let Some(host) = url.host_str() else {
            return Err(SendError::Refused("no host".into()));
        };
        let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() else {
            return Ok(()); // a name: the resolver checks its addresses
        };
        if is_public(ip) || self.allow.permits(&ip.to_string()) {
            Ok(())
        } else {
            Err(SendError::Refused(format!(
                "{ip} is an internal address (see WEBHOOK_ALLOWED_HOSTS)"
            )))
        }
    }

    /// POSTs `body` with `headers` and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
    pub async fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Response, SendError> {
        let url = reqwest::Url::parse(url).map_err(|e| SendError::Refused(e.to_string()))?;
        self.check(&url)?;
        let started = Instant::now();
        let mut response = self
            .http
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut read = Vec::new();
        // A body error after the head still counts as the status the receiver answered.
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = MAX_RESPONSE_BYTES - read.len();
            read.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if read.len() >= MAX_RESPONSE_BYTES {
                break;
            }
        }
        Ok(Response {
            status,
            headers,
            body: read,
            latency: started.elapsed(),
        })
    }
}

/// A one-line reason, without the URL (a Discord webhook URL's path is a credential).
fn classify(e: reqwest::Error) -> SendError {
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = source {
        if let Some(internal) = err.downcast_ref::<InternalOnly>() {
            return SendError::Refused(internal.to_string());
        }
        source = err.source();
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let e = e.without_url();
    SendError::Http(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in ["1.1.1.1", "162.159.128.233", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn allowlist_matches_hosts_case_insensitively() {
        let allow = Allowlist::parse(" Receiver.local , 127.0.0.1,[::1]");
        assert!(allow.permits("receiver.local"));
        assert!(allow.permits("127.0.0.1"));
        assert!(allow.permits("::1"));
        assert!(!allow.permits("10.0.0.1"));
        assert!(Allowlist::parse("*").permits("anything"));
        assert!(!Allowlist::parse("").permits("anything"));
    }
}
