//! Shared by the `/v1/stream` tests: a database with tournaments, the feed, a real server
//! (either front), nudge rows written the way the projector writes them, an SSE reader.
#![allow(dead_code)] // each test crate uses a part
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::serve::ListenerExt;
use sqlx::PgPool;
use sse::{FeedOptions, Hub, HubConfig, LeanListener, LeanOptions, StallGuard, StreamState};
use tokio::sync::watch;

pub const WAIT: Duration = Duration::from_secs(5);

/// How the server is run: `axum::serve` over [`StallGuard`], or over [`LeanListener`] (the
/// stream answered by the lean responder, everything else by axum).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Front {
    Axum,
    Lean,
}

pub struct Server {
    pub url: String,
    pub base: String,
    pub hub: Arc<Hub>,
    pub pool: PgPool,
    pub stop: watch::Sender<bool>,
}

/// A database with `live.tournaments` (a = 3, b = 7), a hub and a server; the feed when
/// `poll` is given (its fallback poll interval: long ones prove delivery by NOTIFY).
pub async fn server(
    prefix: &str,
    config: HubConfig,
    poll: Option<Duration>,
    front: Front,
) -> Server {
    let pool = store::testing::migrated_pool(prefix).await;
    sqlx::raw_sql(
        "CREATE TABLE live.tournaments (id bigint PRIMARY KEY, slug text NOT NULL UNIQUE,
                                        start_date timestamptz, created_at timestamptz NOT NULL);
         INSERT INTO live.tournaments VALUES (3, 'a', now() - interval '1 day', now()),
                                             (7, 'b', NULL, now());",
    )
    .execute(&pool)
    .await
    .unwrap();
    serve_on(pool, config, poll, front).await
}

pub async fn serve_on(
    pool: PgPool,
    config: HubConfig,
    poll: Option<Duration>,
    front: Front,
) -> Server {
    let hub = Hub::new(config);
    let (stop, stop_rx) = watch::channel(false);
    match poll {
        Some(poll_interval) => {
            tokio::spawn(sse::run_feed_with(
                pool.clone(),
                hub.clone(),
                stop_rx,
                FeedOptions {
                    listen_url: None,
                    poll_interval,
                },
            ));
        }
        None => hub.start(0, 0, Vec::new()),
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let state = StreamState::new(hub.clone(), pool.clone());
    // `ConnectInfo<SocketAddr>` works through both listeners (wrapped in `tap_io`).
    let app = sse::router(state.clone())
        .route(
            "/ping",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                assert!(peer.ip().is_loopback());
                "pong"
            }),
        )
        .into_make_service_with_connect_info::<SocketAddr>();
    let stall = Duration::from_millis(300);
    match front {
        Front::Axum => {
            let listener = StallGuard::new(listener, stall).tap_io(|_| ());
            tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
        }
        Front::Lean => {
            let options = LeanOptions {
                stall_timeout: stall,
                ..LeanOptions::default()
            };
            let listener = LeanListener::new(listener, state, options)
                .unwrap()
                .tap_io(|_| ());
            tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
        }
    }
    Server {
        url: format!("http://{addr}/v1/stream"),
        base: format!("http://{addr}"),
        hub,
        pool,
        stop,
    }
}

/// Appends a nudge row as the projector does (optionally with its NOTIFY); returns its id.
pub async fn nudge(pool: &PgPool, kind: &str, scope: Option<&[i64]>, notify: bool) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO public.nudge_log (kind, tournament_ids, position, created_at)
         VALUES ($1, $2, 0, '2026-05-20T12:00:00.123456+00') RETURNING id",
    )
    .bind(kind)
    .bind(scope)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    if notify {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(projections::nudge::CHANNEL)
            .bind(format!("{{\"kinds\":[\"{kind}\"],\"position\":0}}"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
    pub retry: Option<String>,
    pub comments: Vec<String>,
}

impl Event {
    pub fn id(&self) -> i64 {
        self.id.as_deref().expect("an id").parse().unwrap()
    }
    pub fn kind(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// A minimal SSE reader over a streaming HTTP response.
pub struct Sse {
    pub response: reqwest::Response,
    buf: Vec<u8>,
}

impl Sse {
    pub async fn connect(url: &str, last_event_id: Option<&[u8]>) -> Sse {
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header(
                "last-event-id",
                reqwest::header::HeaderValue::from_bytes(id).unwrap(),
            );
        }
        Sse::send(request).await
    }

    pub async fn send(request: reqwest::RequestBuilder) -> Sse {
        let response = tokio::time::timeout(WAIT, request.send())
            .await
            .expect("response headers in time")
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.url());
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-accel-buffering"], "no");
        Sse {
            response,
            buf: Vec::new(),
        }
    }

    /// The next event (or comment block); `None` when the server closed the stream.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Some(parse(std::str::from_utf8(&block).unwrap()));
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("an event in time")
                .unwrap();
            match chunk {
                Some(chunk) => self.buf.extend_from_slice(&chunk),
                None => {
                    assert!(self.buf.is_empty(), "a partial event at the end");
                    return None;
                }
            }
        }
    }

    /// The next event that is not a heartbeat.
    pub async fn next_event(&mut self) -> Event {
        loop {
            let event = self.next().await.expect("the stream is open");
            if event.event.is_some() || event.data.is_some() {
                return event;
            }
        }
    }
}

pub fn parse(block: &str) -> Event {
    let mut event = Event::default();
    for line in block.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix(':') {
            event.comments.push(comment.trim().to_owned());
            continue;
        }
        let (field, value) = line.split_once(": ").unwrap_or((line, ""));
        let slot = match field {
            "id" => &mut event.id,
            "event" => &mut event.event,
            "data" => &mut event.data,
            "retry" => &mut event.retry,
            other => panic!("unexpected field {other:?}"),
        };
        assert!(slot.is_none(), "field {field} twice");
        *slot = Some(value.to_owned());
    }
    event
}

pub fn hello(last_id: i64) -> String {
    format!("{{\"last_id\": {last_id}}}")
}

pub async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
