//! A listener that serves `GET /v1/stream` itself, with a minimal HTTP/1.1 responder, and
//! hands every other connection to axum untouched.
//!
//! Why: behind `axum::serve`, every stream costs ~20 KiB of RSS (hyper's read and write
//! buffers, doubled by axum's protocol sniffing; measured with `sse_load`), whatever the body.
//! The lean responder keeps a stream at its subscription, the socket and one small task.
//!
//! How: each accepted connection's first request head is *peeked* (not consumed). A plain
//! `GET /v1/stream[?…] HTTP/1.1` without a body or upgrade is answered here: a close-delimited
//! `text/event-stream` response, the same frames as the axum handler (same [`crate::http`]
//! code). Anything else (other paths, other methods, HTTP/1.0, HTTP/2, odd framing) goes to
//! axum with its bytes still unread, as a [`GuardedStream`] (writes that stall for
//! `stall_timeout` fail). A connection that sends no complete stream head within
//! `head_timeout` is closed (hyper applies the same timeout to the others: see
//! [`crate::serve`]). A stream requested as the second request of a keep-alive connection is
//! served by the axum route: same frames.
//!
//! Every accepted connection is counted by [`Connections`] first: over a cap it gets a canned
//! 503 and is closed at once (see [`crate::limits`]).
//!
//! The lean path does not run the router's middleware: it sets the stream's headers itself,
//! `Access-Control-Allow-Origin: *` when the request has an `Origin` (the contract's public-read
//! CORS), `X-Request-ID` (echoed or generated), and any [`LeanOptions::extra_headers`] (e.g. the
//! security headers the application adds to every response).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::direct::{Turn, Writers};
use crate::http::{open, StreamState};
use crate::hub::Subscription;
use crate::limits::{refuse, ConnectionLimits, Connections};
use crate::stall::GuardedStream;

/// Request heads larger than this go to axum.
const MAX_HEAD: usize = 8 * 1024;
const MAX_HEADERS: usize = 48;
const PATH: &str = "/v1/stream";

/// Options of [`LeanListener`].
#[derive(Clone, Debug)]
pub struct LeanOptions {
    /// A connection whose writes make no progress for this long is closed (lean streams and
    /// connections handed to axum alike).
    pub stall_timeout: Duration,
    /// How long a new connection may take to send its first bytes, and a stream request its
    /// complete head; past it the connection is closed.
    pub head_timeout: Duration,
    /// Caps on open connections (process, per client address).
    pub limits: ConnectionLimits,
    /// Headers added to every lean response (`name`, `value`), e.g. security headers.
    pub extra_headers: Vec<(HeaderName, HeaderValue)>,
    /// `Access-Control-Allow-Origin: *` on stream responses to requests with an `Origin`.
    pub cors_any_origin: bool,
    /// Echo a valid incoming `X-Request-ID`, or send a new UUID.
    pub request_id: bool,
}

impl Default for LeanOptions {
    fn default() -> Self {
        LeanOptions {
            stall_timeout: Duration::from_secs(30),
            head_timeout: Duration::from_secs(10),
            limits: ConnectionLimits::default(),
            extra_headers: Vec::new(),
            cors_any_origin: true,
            request_id: true,
        }
    }
}

/// An [`axum::serve::Listener`] that answers `/v1/stream` connections itself (see the module
/// docs) and yields the others. Create it inside the runtime; dropping it stops accepting.
pub struct LeanListener {
    incoming: mpsc::Receiver<(GuardedStream, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: JoinHandle<()>,
    connections: Arc<Connections>,
}

impl LeanListener {
    pub fn new(
        listener: TcpListener,
        state: StreamState,
        options: LeanOptions,
    ) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, incoming) = mpsc::channel(1024);
        let connections = Connections::new(options.limits.clone());
        let acceptor = tokio::spawn(accept_loop(
            listener,
            state,
            Arc::new(options),
            connections.clone(),
            tx,
        ));
        Ok(LeanListener {
            incoming,
            local_addr,
            acceptor,
            connections,
        })
    }

    /// The open-connection counts (for metrics).
    pub fn connections(&self) -> Arc<Connections> {
        self.connections.clone()
    }
}

impl Drop for LeanListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for LeanListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The acceptor is gone (it only stops when this listener is dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: StreamState,
    options: Arc<LeanOptions>,
    connections: Arc<Connections>,
    tx: mpsc::Sender<(GuardedStream, SocketAddr)>,
) {
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                if !is_connection_error(&e) {
                    // e.g. EMFILE: back off like axum::serve does.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let permit = match connections.admit(addr.ip()) {
            Ok(permit) => permit,
            Err(why) => {
                refuse(tcp, why);
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (state, options, tx) = (state.clone(), options.clone(), tx.clone());
        tokio::spawn(async move {
            // Boxed (here and in `serve_lean`): a task's size is that of its largest state, and
            // a stream's task lives for hours; the short first steps must not set it.
            match Box::pin(classify(&tcp, options.head_timeout)).await {
                Classified::Lean(request) => {
                    serve_lean(tcp, addr, request, &state, &options).await;
                    drop(permit);
                }
                Classified::Other => {
                    let io = GuardedStream::new(tcp, options.stall_timeout).holding(permit);
                    let _ = tx.send((io, addr)).await;
                }
                // Nothing (or no complete head) in time: the client had its chance.
                Classified::Close => {}
            }
        });
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A stream request the lean path serves.
#[derive(Debug)]
struct LeanRequest {
    head_len: usize,
    query: String,
    headers: HeaderMap,
}

/// What the first bytes of a connection ask for.
enum Classified {
    /// A plain stream request: served here.
    Lean(LeanRequest),
    /// Anything else: axum's.
    Other,
    /// Silent (or an incomplete stream head) until the head timeout, or gone.
    Close,
}

/// Peeks the first request head (without consuming it).
async fn classify(tcp: &TcpStream, head_timeout: Duration) -> Classified {
    match classify_within(tcp, Instant::now() + head_timeout).await {
        Some(classified) => classified,
        None => Classified::Close,
    }
}

/// `None`: the deadline passed (or the client left) before a decision.
async fn classify_within(tcp: &TcpStream, deadline: Instant) -> Option<Classified> {
    const PREFIX: &[u8] = b"GET /v1/stream";
    let mut backoff = Duration::from_millis(2);
    let mut seen = 0;
    // Most connections are not streams: decide on the first bytes, without a big buffer.
    let mut small = [0u8; PREFIX.len()];
    loop {
        let n = peek(tcp, &mut small, deadline).await?;
        if small[..n] != PREFIX[..n] {
            return Some(Classified::Other);
        }
        if n == PREFIX.len() {
            break;
        }
        wait_for_more(n, &mut seen, &mut backoff, deadline).await?;
    }
    let mut buf = vec![0u8; MAX_HEAD];
    loop {
        let n = peek(tcp, &mut buf, deadline).await?;
        match parse_head(&buf[..n]) {
            Head::Lean(request) => return Some(Classified::Lean(request)),
            Head::Other => return Some(Classified::Other),
            Head::Partial if n == buf.len() => return Some(Classified::Other),
            Head::Partial => wait_for_more(n, &mut seen, &mut backoff, deadline).await?,
        }
    }
}

async fn peek(tcp: &TcpStream, buf: &mut [u8], deadline: Instant) -> Option<usize> {
    match tokio::time::timeout_at(deadline, tcp.peek(buf)).await {
        Ok(Ok(n)) if n > 0 => Some(n),
        _ => None,
    }
}

/// `peek` returns at once while the same bytes wait: back off until more come.
async fn wait_for_more(
    n: usize,
    seen: &mut usize,
    backoff: &mut Duration,
    deadline: Instant,
) -> Option<()> {
    if n == *seen {
        if Instant::now() + *backoff > deadline {
            return None;
        }
        tokio::time::sleep(*backoff).await;
        *backoff = (*backoff * 2).min(Duration::from_millis(200));
    }
    *seen = n;
    Some(())
}

enum Head {
    Lean(LeanRequest),
    Other,
    Partial,
}

fn parse_head(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(_) => return Head::Other,
    };
    if request.method != Some("GET") || request.version != Some(1) {
        return Head::Other;
    }
    let Some(target) = request.path else {
        return Head::Other;
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    };
    if path != PATH {
        return Head::Other;
    }
    let mut map = HeaderMap::new();
    for header in request.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        match name.as_str() {
            // A body, an upgrade or an expectation: let hyper deal with it.
            "content-length" if header.value.trim_ascii() != b"0" => return Head::Other,
            "transfer-encoding" | "upgrade" | "expect" => return Head::Other,
            // The last two name the client behind a trusted proxy (per-client stream caps).
            "last-event-id" | "origin" | "x-request-id" | "cf-connecting-ip"
            | "x-forwarded-for" => {
                // A value hyper would reject goes to hyper too.
                let Ok(value) = HeaderValue::from_bytes(header.value) else {
                    return Head::Other;
                };
                if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                    map.append(name, value);
                }
            }
            _ => {}
        }
    }
    Head::Lean(LeanRequest {
        head_len,
        query: query.to_owned(),
        headers: map,
    })
}

async fn serve_lean(
    tcp: TcpStream,
    peer: SocketAddr,
    request: LeanRequest,
    state: &StreamState,
    options: &LeanOptions,
) {
    let stall = options.stall_timeout;
    let Some((tcp, subscription)) = Box::pin(start_lean(tcp, peer, request, state, options)).await
    else {
        return;
    };
    // From here the hub's pass writes the stream's frames while this task has none pending
    // (see `crate::direct`); this task writes the first frames and whatever the pass hands
    // back, and watches for the client leaving.
    let stream = Writers::register(&state.hub, tcp, subscription);
    // Discarded bytes from the client (it should send nothing more): a bound against abuse.
    let mut ignored = 0usize;
    let mut scratch = [0u8; 64];
    loop {
        match stream.turn() {
            Turn::Write(chunk) => {
                // Boxed: the first frames and what the pass hands back (rare) only.
                let write = Box::pin(tokio::time::timeout(stall, write_all(&stream.tcp, &chunk)));
                if !matches!(write.await, Ok(Ok(()))) {
                    return;
                }
            }
            Turn::End => break,
            Turn::Failed => return,
            Turn::Wait => {
                // Until the pass hands the stream back; meanwhile watch for the client
                // leaving. Polled by hand: no waiter nodes kept per stream.
                let left = std::future::poll_fn(|cx| {
                    if stream.poll_handed_back(cx).is_ready() {
                        return Poll::Ready(false);
                    }
                    loop {
                        match stream.tcp.poll_read_ready(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Err(_)) => return Poll::Ready(true),
                            Poll::Ready(Ok(())) => {}
                        }
                        match stream.tcp.try_read(&mut scratch) {
                            Ok(0) => return Poll::Ready(true), // the client went away
                            Ok(n) => {
                                ignored += n;
                                if ignored > 64 * 1024 {
                                    return Poll::Ready(true);
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                            Err(_) => return Poll::Ready(true),
                        }
                    }
                })
                .await;
                if left {
                    return;
                }
            }
        }
    }
    // A FIN now, even if a pass still holds the socket for a moment.
    let _ = socket2::SockRef::from(&stream.tcp).shutdown(std::net::Shutdown::Write);
}

/// The stream's response up to its first frames: consume the head, open the subscription,
/// write the response head (or the rejection). `None`: the connection is done.
async fn start_lean(
    mut tcp: TcpStream,
    peer: SocketAddr,
    request: LeanRequest,
    state: &StreamState,
    options: &LeanOptions,
) -> Option<(TcpStream, Subscription)> {
    // Consume the head that was peeked.
    let mut head = vec![0u8; request.head_len];
    if tcp.read_exact(&mut head).await.is_err() {
        return None;
    }
    drop(head);
    let stall = options.stall_timeout;
    let common = common_headers(&request.headers, options);
    let subscription = match open(state, &request.query, &request.headers, Some(peer.ip())).await {
        Ok(subscription) => subscription,
        Err(reject) => {
            let (status, body) = reject.parts();
            let mut response = format!(
                "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                body.len()
            );
            if let Some(secs) = reject.retry_after() {
                response.push_str(&format!("retry-after: {secs}\r\n"));
            }
            response.push_str(&common);
            response.push_str("\r\n");
            response.push_str(&body);
            let _ = tokio::time::timeout(stall, tcp.write_all(response.as_bytes())).await;
            let _ = tokio::time::timeout(stall, tcp.shutdown()).await;
            return None;
        }
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\nx-accel-buffering: no\r\nconnection: close\r\n{common}\r\n"
    );
    if !matches!(
        tokio::time::timeout(stall, tcp.write_all(head.as_bytes())).await,
        Ok(Ok(()))
    ) {
        return None;
    }
    Some((tcp, subscription))
}

/// `write_all` through a shared socket (the pass writes the same socket when it is direct).
pub(crate) async fn write_all(tcp: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        tcp.writable().await?;
        match tcp.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// CORS, request id and the extra headers, as `name: value\r\n` lines.
fn common_headers(request: &HeaderMap, options: &LeanOptions) -> String {
    let mut out = String::new();
    if options.cors_any_origin && request.contains_key("origin") {
        out.push_str("access-control-allow-origin: *\r\n");
    }
    if options.request_id {
        let incoming = request
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic()));
        let id = match incoming {
            Some(id) => id.to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        out.push_str("x-request-id: ");
        out.push_str(&id);
        out.push_str("\r\n");
    }
    for (name, value) in &options.extra_headers {
        if let Ok(value) = value.to_str() {
            out.push_str(name.as_str());
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lean(head: &str) -> Option<LeanRequest> {
        match parse_head(head.as_bytes()) {
            Head::Lean(request) => Some(request),
            _ => None,
        }
    }

    #[test]
    fn only_plain_stream_gets_are_lean() {
        let r = lean("GET /v1/stream?tournament=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 5\r\nOrigin: https://o\r\n\r\n")
            .unwrap();
        assert_eq!(r.query, "tournament=a");
        assert_eq!(r.headers["last-event-id"], "5");
        assert!(r.headers.contains_key("origin"));
        assert!(lean("GET /v1/stream HTTP/1.1\r\nContent-Length: 0\r\n\r\n").is_some());
        for other in [
            "GET /v1/streams HTTP/1.1\r\n\r\n",
            "GET /v1/stream/ HTTP/1.1\r\n\r\n",
            "HEAD /v1/stream HTTP/1.1\r\n\r\n",
            "POST /v1/stream HTTP/1.1\r\n\r\n",
            "GET /v1/stream HTTP/1.0\r\n\r\n",
            "GET /v1/stream HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            "GET /v1/stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /v1/stream HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "GET /v1/stream HTTP/1.1\r\nBad Header\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert!(lean(other).is_none(), "{other:?}");
        }
        assert!(matches!(
            parse_head(b"GET /v1/stream HTTP/1.1\r\nHost"),
            Head::Partial
        ));
    }

    #[test]
    fn request_ids_are_echoed_when_sane() {
        let options = LeanOptions::default();
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("abc-1"));
        assert!(common_headers(&headers, &options).contains("x-request-id: abc-1\r\n"));
        headers.insert("x-request-id", HeaderValue::from_static("a b"));
        let generated = common_headers(&headers, &options);
        assert!(!generated.contains("a b") && generated.contains("x-request-id: "));
        assert!(!generated.contains("access-control-allow-origin"));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    #[test]
    fn arbitrary_heads_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let seed = b"GET /v1/stream?tournament=a HTTP/1.1\r\nLast-Event-ID: 5\r\nOrigin: x\r\n\r\n";
        for _ in 0..20_000 {
            let mut bytes = seed.to_vec();
            for _ in 0..(state % 6) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state % bytes.len() as u64) as usize;
                bytes[i] = (state >> 32) as u8;
            }
            let cut = (state >> 40) as usize % (bytes.len() + 1);
            let _ = parse_head(&bytes[..cut]);
            if let Head::Lean(request) = parse_head(&bytes) {
                let _ = common_headers(&request.headers, &LeanOptions::default());
            }
        }
    }
}
#[cfg(test)]
mod sizes {
    use super::*;

    /// A stream's task is as large as its largest state for as long as the stream lives:
    /// the opening steps (about 2.5 KB of futures) stay boxed, out of it.
    #[tokio::test]
    async fn a_stream_task_stays_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@localhost/nothing")
            .unwrap();
        let state = StreamState::new(crate::Hub::new(crate::HubConfig::default()), pool);
        let request = LeanRequest {
            head_len: 0,
            query: String::new(),
            headers: HeaderMap::new(),
        };
        let options = LeanOptions::default();
        let peer = "127.0.0.1:1".parse().unwrap();
        let task = serve_lean(tcp, peer, request, &state, &options);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1024, "the stream task's future is {size} bytes");
    }
}
