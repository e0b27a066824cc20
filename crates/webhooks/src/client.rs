//! The HTTP client endpoints are called with: bounded in time and response size, no
//! redirects followed, and no private, loopback, link-local or otherwise internal address
//! reached unless the operator allows it (`domain::webhook_url::UrlPolicy`, the rules
//! registration applies too: `WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOWED_HOSTS`): checked for IP
//! literals before sending and for names after DNS resolution (in the resolver, so the
//! address checked is the address connected to: no rebinding window).

use std::net::SocketAddr;

use domain::webhook_url::{non_public, UrlPolicy};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, USER_AGENT};

/// Response bytes read at most (for the attempts log and Discord's 429 body); the rest is
/// dropped with the connection.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Resolves names through the system resolver and drops every internal address the policy
/// does not allow; no address left is an error (the request is not sent).
struct GuardedResolver {
    policy: Arc<UrlPolicy>,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "host {host} resolves only to addresses webhooks may not reach (see WEBHOOK_ALLOWED_HOSTS)"
)]
struct InternalOnly {
    host: String,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let allowed = policy.host_allowed(&host);
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| {
                    allowed || policy.address_allowed(a.ip()) || non_public(a.ip()).is_none()
                })
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
    policy: Arc<UrlPolicy>,
}

impl EndpointClient {
    pub fn new(
        policy: UrlPolicy,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> reqwest::Result<Self> {
        let policy = Arc::new(policy);
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
                policy: policy.clone(),
            }))
            .build()?;
        Ok(Self { http, policy })
    }

    /// Whether `url` may be called at all: the registration rules (scheme, shape) and an
    /// IP-literal host's class; names are checked after resolution.
    pub fn check(&self, url: &str) -> Result<(), SendError> {
        let target = self
            .policy
            .check_syntax(url)
            .map_err(|e| SendError::Refused(e.to_string()))?;
        match target.literal {
            Some(ip) => self
                .policy
                .check_addresses(&target, &[ip])
                .map_err(|e| SendError::Refused(e.to_string())),
            None => Ok(()),
        }
    }

    /// POSTs `body` with `headers` and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
    pub async fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Response, SendError> {
        self.check(url)?;
        let url = reqwest::Url::parse(url).map_err(|e| SendError::Refused(e.to_string()))?;
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
