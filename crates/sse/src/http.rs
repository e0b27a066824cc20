//! `GET /v1/stream`: the contract's SSE nudges, plus `id:` (the nudge id), `retry:`, a first
//! `hello` event, `Last-Event-ID` resume and `?tournament=SLUG` filtering.
//!
//! First frame of every connection (after `retry: 5000`):
//! - no cursor: `id: H`, `event: hello`, `data: {"last_id": H}` (H = newest nudge id);
//! - a cursor that can be resumed: `event: hello` with the same data, then the missed nudges
//!   (only those the filter lets through), then live ones. The hello carries `id: H` only when
//!   nothing was missed, so a connection lost mid-replay resumes from the last replayed id;
//! - a cursor that cannot be resumed (too old, pruned, unknown, garbage): `id: H`,
//!   `event: resync`, `data: {"last_id": H}`: refetch everything, then live nudges.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::coalesce::{coalesce, encode_batch};
use crate::frame::{self, parse_kind, Nudge};
use crate::hub::{Attached, Hub, Subscription};
use crate::limits::ExemptFn;

/// Slugs accepted in one `?tournament=` filter.
pub const MAX_TOURNAMENTS: usize = 20;

/// What the stream route needs: the process's hub and a pool (slug lookup, old replays).
#[derive(Clone)]
pub struct StreamState {
    pub hub: Arc<Hub>,
    pub pool: PgPool,
    /// Per-client caps and rate limits of stream connects.
    pub gate: StreamGate,
}

impl StreamState {
    /// No per-client caps or rate limits (see [`StreamState::with_gate`]).
    pub fn new(hub: Arc<Hub>, pool: PgPool) -> StreamState {
        StreamState {
            hub,
            pool,
            gate: StreamGate::default(),
        }
    }

    pub fn with_gate(mut self, gate: StreamGate) -> StreamState {
        self.gate = gate;
        self
    }
}

/// The client a request counts against: from the peer address and the request's headers
/// (e.g. `CF-Connecting-IP` when the peer is a trusted proxy).
pub type ClientFn = Arc<dyn Fn(IpAddr, &HeaderMap) -> IpAddr + Send + Sync>;

/// Counts one stream connect of a client: `Err` when over its rate.
pub type RateFn = Arc<dyn Fn(IpAddr) -> Result<(), RateLimited> + Send + Sync>;

/// A refused connect: the limit (per minute) and when to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimited {
    pub per_minute: u32,
    pub retry_after_secs: u64,
}

/// Who may open a stream: a cap on open streams per client and the rate limiter's count of
/// connects (the lean path answers streams outside axum's middleware, so both live here).
#[derive(Clone, Default)]
pub struct StreamGate {
    /// Open streams of one client (0: no cap).
    max_per_client: usize,
    /// Which client a request is (default: the peer address).
    client_of: Option<ClientFn>,
    /// Clients without a per-client cap (e.g. trusted addresses that carry many clients).
    exempt: Option<ExemptFn>,
    /// Rate limit of connects.
    rate: Option<RateFn>,
    open: OpenStreams,
}

/// Open streams per client.
type OpenStreams = Arc<Mutex<HashMap<IpAddr, usize>>>;

impl StreamGate {
    /// At most `max_per_client` open streams per client (0: no cap), except `exempt` ones;
    /// `client_of` names the client (default: the peer); `rate` counts connects.
    pub fn new(
        max_per_client: usize,
        client_of: Option<ClientFn>,
        exempt: Option<ExemptFn>,
        rate: Option<RateFn>,
    ) -> StreamGate {
        StreamGate {
            max_per_client,
            client_of,
            exempt,
            rate,
            open: Arc::default(),
        }
    }

    /// Counts a stream of the client behind `peer`, or refuses it. The pass uncounts it when
    /// dropped (with the stream).
    fn admit(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<StreamPass, Reject> {
        let Some(peer) = peer else {
            return Ok(StreamPass::default());
        };
        let client = match &self.client_of {
            Some(client_of) => client_of(peer, headers),
            None => peer,
        }
        .to_canonical();
        if let Some(rate) = &self.rate {
            rate(client).map_err(Reject::RateLimited)?;
        }
        let max = self.max_per_client;
        if max == 0 || self.exempt.as_ref().is_some_and(|exempt| exempt(client)) {
            return Ok(StreamPass::default());
        }
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(client).or_default();
        if *count >= max {
            return Err(Reject::TooManyForClient(max));
        }
        *count += 1;
        Ok(StreamPass {
            held: Some((self.open.clone(), client)),
        })
    }
}

/// One counted stream of a client.
#[derive(Default)]
pub(crate) struct StreamPass {
    held: Option<(OpenStreams, IpAddr)>,
}

impl Drop for StreamPass {
    fn drop(&mut self) {
        if let Some((open, client)) = self.held.take() {
            let mut open = open.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(count) = open.get_mut(&client) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&client);
                }
            }
        }
    }
}

/// `GET /v1/stream`, ready to merge into the application router.
pub fn router<S>(state: StreamState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/v1/stream", get(stream))
        .with_state(state)
}

/// The handler, for routers that mount it themselves (with `State<StreamState>`).
pub async fn stream(State(state): State<StreamState>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let query = request.uri().query().unwrap_or("");
    let subscription = match open(&state, query, request.headers(), peer).await {
        Ok(subscription) => subscription,
        Err(reject) => return reject.into_response(),
    };
    let body = futures_util::stream::unfold(subscription, |mut subscription| async move {
        let chunk = subscription.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), subscription))
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Everything of a stream request but the HTTP framing (shared by [`stream`] and the lean
/// path of [`crate::LeanListener`]): parse, resolve slugs, attach, compose the first frames.
pub(crate) async fn open(
    state: &StreamState,
    query: &str,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Subscription, Reject> {
    let params = Params::parse(query, headers)?;
    let pass = state.gate.admit(peer, headers)?;
    let hub = &state.hub;
    if let Some(max) = hub.config().max_subscribers {
        if hub.subscriber_count() >= max {
            return Err(Reject::Unavailable("Too many open streams; retry shortly"));
        }
    }
    let filter = resolve(&state.pool, &params.slugs).await?;
    if !hub.wait_ready(hub.config().ready_timeout).await {
        return Err(Reject::Unavailable("The stream is starting; retry shortly"));
    }
    if hub.is_closed() {
        return Err(Reject::Unavailable(
            "The server is shutting down; retry shortly",
        ));
    }

    let after = match params.cursor {
        Cursor::From(id) => Some(id),
        _ => None,
    };
    let Attached {
        mut subscription,
        head_id,
        floor,
        replay,
    } = hub.attach(filter.clone().map(Vec::into_boxed_slice), after);
    let max_replay = hub.config().max_replay;
    let initial = match params.cursor {
        Cursor::None => Bytes::from(frame::hello(Some(head_id), head_id)),
        Cursor::Garbage => Bytes::from(frame::resync(head_id, true)),
        Cursor::From(id) if id > head_id => {
            // Ahead of this replica's feed (another replica served it): fine if the database
            // has it; the feed catches up and those nudges are skipped.
            match newest_id(&state.pool).await {
                Ok(newest) if id <= newest => {
                    subscription.cursor.skip_upto = id;
                    Bytes::from(frame::hello(Some(id), id))
                }
                _ => Bytes::from(frame::resync(head_id, true)),
            }
        }
        Cursor::From(id) if id >= floor && replay.len() <= max_replay => {
            compose(head_id, Vec::new(), replay)
        }
        Cursor::From(_) if replay.len() > max_replay => Bytes::from(frame::resync(head_id, true)),
        Cursor::From(id) => {
            let limit = max_replay - replay.len();
            let coalesced = !hub.config().coalesce_window.is_zero();
            let older = from_database(&state.pool, id, floor, filter.as_deref(), limit, coalesced);
            match older.await {
                Ok(Some(older)) => compose(head_id, older, replay),
                Ok(None) => Bytes::from(frame::resync(head_id, true)),
                Err(e) => {
                    tracing::warn!(error = %e, "stream: replay from nudge_log failed; sending resync");
                    Bytes::from(frame::resync(head_id, true))
                }
            }
        }
    };
    subscription.initial = Some(initial);
    subscription.pass = pass;
    Ok(subscription)
}

/// `hello`, then the missed nudges.
fn compose(head_id: i64, older: Vec<Bytes>, recent: Vec<Bytes>) -> Bytes {
    let caught_up = older.is_empty() && recent.is_empty();
    let hello = frame::hello(caught_up.then_some(head_id), head_id);
    let size = hello.len() + older.iter().chain(&recent).map(Bytes::len).sum::<usize>();
    let mut out = BytesMut::with_capacity(size);
    out.extend_from_slice(hello.as_bytes());
    for frame in older.iter().chain(&recent) {
        out.extend_from_slice(frame);
    }
    out.freeze()
}

enum Cursor {
    None,
    From(i64),
    Garbage,
}

struct Params {
    slugs: Vec<String>,
    cursor: Cursor,
}

impl Params {
    fn parse(query: &str, headers: &HeaderMap) -> Result<Params, Reject> {
        let mut slugs: Vec<String> = Vec::new();
        let mut query_cursor: Option<String> = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "tournament" => {
                    for slug in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !slugs.iter().any(|s| s == slug) {
                            if slugs.len() == MAX_TOURNAMENTS {
                                return Err(Reject::TooManyTournaments);
                            }
                            slugs.push(slug.to_owned());
                        }
                    }
                }
                "last_event_id" => {
                    // The document's minimum is 0: a URL the client wrote gets a 422, not a
                    // silent resync (a bad header, which EventSource resends, still resyncs).
                    let text = value.trim();
                    if !text.is_empty() && !text.parse::<i64>().is_ok_and(|id| id >= 0) {
                        return Err(Reject::InvalidCursor);
                    }
                    query_cursor = Some(value.into_owned());
                }
                _ => {}
            }
        }
        // The header (sent by EventSource on reconnect) is newer than the URL's parameter.
        let raw = match headers.get("last-event-id") {
            Some(value) => Some(value.to_str().map(str::to_owned).ok()),
            None => query_cursor.map(Some),
        };
        let cursor = match raw {
            None => Cursor::None,
            Some(None) => Cursor::Garbage,
            Some(Some(text)) => match text.trim() {
                "" => Cursor::None,
                text => match text.parse::<i64>() {
                    Ok(id) if id >= 0 => Cursor::From(id),
                    _ => Cursor::Garbage,
                },
            },
        };
        Ok(Params { slugs, cursor })
    }
}

/// Tournament ids of the slugs (`current` as on the contract's read routes); `None` = no
/// filter. An unknown slug is a 404, as elsewhere.
async fn resolve(pool: &PgPool, slugs: &[String]) -> Result<Option<Vec<i64>>, Reject> {
    if slugs.is_empty() {
        return Ok(None);
    }
    // No tournament has such a slug (and PostgreSQL text cannot hold NUL): not found, not 5xx.
    if slugs
        .iter()
        .any(|slug| slug.len() > 200 || slug.chars().any(char::is_control))
    {
        return Err(Reject::NotFound);
    }
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, slug FROM live.tournaments WHERE slug = ANY($1)
         UNION ALL
         (SELECT id, 'current' FROM live.tournaments
           WHERE 'current' = ANY($1)
           ORDER BY (start_date IS NOT NULL AND start_date <= now()) DESC,
                    CASE WHEN start_date <= now() THEN start_date END DESC NULLS LAST,
                    created_at DESC
           LIMIT 1)",
    )
    .bind(slugs)
    .fetch_all(pool)
    .await
    .map_err(|e| {
        if is_missing_relation(&e) || is_data_exception(&e) {
            // No projector build yet: no tournament exists.
            Reject::NotFound
        } else {
            tracing::warn!(error = %e, "stream: tournament lookup failed");
            Reject::Unavailable("Database unavailable; retry shortly")
        }
    })?;
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        match rows.iter().find(|(_, s)| s == slug) {
            Some((id, _)) => {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
            None => return Err(Reject::NotFound),
        }
    }
    Ok(Some(ids))
}

fn is_missing_relation(e: &sqlx::Error) -> bool {
    // 42P01 undefined_table, 3F000 invalid_schema_name, 42703 undefined_column.
    matches!(
        e.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("42P01" | "3F000" | "42703")
    )
}

/// SQLSTATE class 22 (e.g. an invalid byte sequence in a slug): about the input.
fn is_data_exception(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code.starts_with("22"))
}

async fn newest_id(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM public.nudge_log")
        .fetch_one(pool)
        .await
}

type Row = (i64, String, Option<Vec<i64>>, DateTime<Utc>);

/// Nudges in `(after, upto]` the filter lets through, at most `limit` rows (coalesced
/// afterwards when `coalesced`); `None` when there are more, or when rows after `after` may
/// have been pruned.
async fn from_database(
    pool: &PgPool,
    after: i64,
    upto: i64,
    filter: Option<&[i64]>,
    limit: usize,
    coalesced: bool,
) -> sqlx::Result<Option<Vec<Bytes>>> {
    // One snapshot for both reads: pruning (`projections::retention`) between them would
    // otherwise turn a replay into a silently partial one.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let oldest: Option<i64> = sqlx::query_scalar("SELECT min(id) FROM public.nudge_log")
        .fetch_one(&mut *tx)
        .await?;
    if oldest.is_some_and(|oldest| oldest > after.saturating_add(1)) {
        return Ok(None);
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, tournament_ids, created_at FROM public.nudge_log
          WHERE id > $1 AND id <= $2
            AND ($3::bigint[] IS NULL OR tournament_ids IS NULL OR tournament_ids && $3)
          ORDER BY id LIMIT $4",
    )
    .bind(after)
    .bind(upto)
    .bind(filter)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if rows.len() > limit {
        return Ok(None);
    }
    let nudges: Vec<Nudge> = rows
        .into_iter()
        .filter_map(|(id, kind, tournament_ids, polled_at)| {
            Some(Nudge {
                id,
                kind: parse_kind(&kind)?,
                tournament_ids,
                polled_at,
            })
        })
        .collect();
    if coalesced {
        // Like live nudges: one batch (its ids stay below the ring's, which follow).
        return Ok(Some(encode_batch(&coalesce(nudges))));
    }
    Ok(Some(nudges.iter().map(Nudge::encode).collect()))
}

/// A refused connection, in the contract's error shape (`{"detail": "…"}`).
pub(crate) enum Reject {
    NotFound,
    TooManyTournaments,
    /// `?last_event_id=` that is not an integer ≥ 0.
    InvalidCursor,
    /// Connects over the rate limit: 429.
    RateLimited(RateLimited),
    /// The client holds this many open streams already: 429.
    TooManyForClient(usize),
    /// 503 with `Retry-After`.
    Unavailable(&'static str),
}

impl Reject {
    /// Seconds for `Retry-After`, on 429 and 503.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            Reject::RateLimited(limited) => Some(limited.retry_after_secs.max(1)),
            Reject::TooManyForClient(_) | Reject::Unavailable(_) => Some(5),
            _ => None,
        }
    }

    /// Status and the contract's error body (`{"detail":"…"}`, compact like FastAPI's; 429s
    /// in the rate limiter's `{"error": "Rate limit exceeded: …"}`).
    pub(crate) fn parts(&self) -> (StatusCode, String) {
        let rate_limited = |text: String| {
            (
                StatusCode::TOO_MANY_REQUESTS,
                serde_json::json!({ "error": text }).to_string(),
            )
        };
        let (status, detail) = match self {
            Reject::RateLimited(limited) => {
                return rate_limited(format!(
                    "Rate limit exceeded: {} per 1 minute",
                    limited.per_minute
                ))
            }
            Reject::TooManyForClient(max) => {
                return rate_limited(format!("Rate limit exceeded: {max} open streams"))
            }
            Reject::NotFound => (StatusCode::NOT_FOUND, "Tournament not found".to_owned()),
            Reject::TooManyTournaments => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("At most {MAX_TOURNAMENTS} tournaments per stream"),
            ),
            Reject::InvalidCursor => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "last_event_id must be an integer >= 0".to_owned(),
            ),
            Reject::Unavailable(detail) => (StatusCode::SERVICE_UNAVAILABLE, (*detail).to_owned()),
        };
        (status, serde_json::json!({ "detail": detail }).to_string())
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(query: &str, header: Option<&[u8]>) -> Result<Cursor, Reject> {
        let mut headers = HeaderMap::new();
        if let Some(value) = header {
            headers.insert("last-event-id", HeaderValue::from_bytes(value).unwrap());
        }
        Params::parse(query, &headers).map(|p| p.cursor)
    }

    #[test]
    fn cursors() {
        assert!(matches!(cursor("", None), Ok(Cursor::None)));
        assert!(matches!(
            cursor("last_event_id=7", None),
            Ok(Cursor::From(7))
        ));
        assert!(matches!(cursor("last_event_id=", None), Ok(Cursor::None)));
        for bad in ["x", "-5", "-1", "1.5", "99999999999999999999"] {
            assert!(matches!(
                cursor(&format!("last_event_id={bad}"), None),
                Err(Reject::InvalidCursor)
            ));
        }
        // The header wins over the URL (EventSource sends it on reconnect).
        assert!(matches!(
            cursor("last_event_id=7", Some(b" 9 ")),
            Ok(Cursor::From(9))
        ));
        assert!(matches!(cursor("", Some(b"-1")), Ok(Cursor::Garbage)));
        assert!(matches!(cursor("", Some(b"\xff")), Ok(Cursor::Garbage)));
    }

    #[test]
    fn slugs_are_split_deduplicated_and_capped() {
        let params = Params::parse(
            "tournament=a,b&tournament=b&tournament=%20c%20,,",
            &HeaderMap::new(),
        );
        assert_eq!(params.ok().unwrap().slugs, ["a", "b", "c"]);
        let many: String = (0..100_000).map(|i| format!("t{i},")).collect();
        let rejected = Params::parse(&format!("tournament={many}"), &HeaderMap::new());
        assert!(matches!(rejected, Err(Reject::TooManyTournaments)));
    }

    #[test]
    fn arbitrary_queries_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"tournament=last_event_id&,%0aZ9-\xff\x00?=";
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let query = String::from_utf8_lossy(&bytes);
            let header = HeaderValue::from_bytes(&bytes).ok();
            let mut headers = HeaderMap::new();
            if let Some(header) = header {
                headers.insert("last-event-id", header);
            }
            let _ = Params::parse(&query, &headers);
        }
    }
}
