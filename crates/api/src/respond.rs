//! Building JSON responses with the contract's Cache-Control classes and a strong ETag, and
//! answering `If-None-Match` with 304.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// The contract's Cache-Control classes (seed contract §1.0.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheClass {
    /// Config reads: `public, s-maxage=15, max-age=0, must-revalidate`.
    Static,
    /// Live feed: `public, s-maxage=10, ...`.
    Live,
    /// Completed match detail: `public, s-maxage=60, ...`.
    Completed,
    /// Auth-aware live reads: public unless the request carries the auth cookie.
    AuthAware,
    /// `no-store`.
    NoStore,
    /// Per-user answers (`/v1/me`): `private, no-store`.
    Private,
}

impl CacheClass {
    pub fn header(self, request: &HeaderMap) -> &'static str {
        match self {
            CacheClass::Static => "public, s-maxage=15, max-age=0, must-revalidate",
            CacheClass::Live => "public, s-maxage=10, max-age=0, must-revalidate",
            CacheClass::Completed => "public, s-maxage=60, max-age=0, must-revalidate",
            CacheClass::AuthAware if has_auth_cookie(request) => "private, no-store",
            CacheClass::AuthAware => "public, s-maxage=15, max-age=0, must-revalidate",
            CacheClass::NoStore => "no-store",
            CacheClass::Private => "private, no-store",
        }
    }
}

/// Cookie presence (not validity) selects the private branch, as in the contract.
pub fn has_auth_cookie(headers: &HeaderMap) -> bool {
    crate::caller::cookie(headers).is_some()
}

/// A serialized body with its strong ETag (a hash of the bytes).
#[derive(Clone, Debug)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: HeaderValue,
}

pub fn render<T: Serialize>(value: &T) -> Rendered {
    render_bytes(serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()))
}

/// A text body (chat-bot lines) with its strong ETag; the caller sets the content type.
pub fn render_text(text: &str) -> Rendered {
    render_bytes(text.as_bytes().to_vec())
}

fn render_bytes(body: Vec<u8>) -> Rendered {
    let etag = format!("\"{:016x}\"", fnv1a(&body));
    Rendered {
        body: Bytes::from(body),
        etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Whether `If-None-Match` names `etag` (weak comparison, as for GET) or `*`.
pub fn etag_matches(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        })
}

/// 200 with the body, or 304 when `If-None-Match` names the same ETag.
pub fn conditional(rendered: &Rendered, cache: &'static str, request: &HeaderMap) -> Response {
    let mut response = if etag_matches(request, rendered.etag.to_str().unwrap_or("")) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(rendered.body.clone()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, rendered.etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// A 200 JSON response (or 304) with the Cache-Control class of the route.
pub fn respond<T: Serialize>(value: &T, class: CacheClass, request: &HeaderMap) -> Response {
    conditional(&render(value), class.header(request), request)
}

/// Defines the axum handler of a cached per-tournament read that takes no query parameters:
/// `cached_read!(name, "cache key", CacheClass::X, body)` where `body(&AppState, TournamentRead)`
/// computes the response on a miss (see [`cached`]).
macro_rules! cached_read {
    ($handler:ident, $key:literal, $class:expr, $body:path) => {
        async fn $handler(
            axum::extract::State(state): axum::extract::State<$crate::AppState>,
            axum::extract::Path(slug): axum::extract::Path<String>,
            headers: axum::http::HeaderMap,
        ) -> $crate::error::ApiResult<axum::response::Response> {
            let fill = |t| $body(&state, t);
            $crate::respond::cached(&state, &slug, $key.into(), $class, &headers, fill).await
        }
    };
}
pub(crate) use cached_read;

/// Serves a per-tournament read: resolves the slug, then answers from the response cache,
/// computing the body with `fill` on a miss. Without a cache (no nudge feed to invalidate it)
/// every request computes.
pub async fn cached<T, F, Fut>(
    state: &crate::AppState,
    slug: &str,
    key: String,
    class: CacheClass,
    request: &HeaderMap,
    fill: F,
) -> crate::error::ApiResult<Response>
where
    T: Serialize,
    F: FnOnce(crate::tournaments::TournamentRead) -> Fut,
    Fut: std::future::Future<Output = crate::error::ApiResult<T>>,
{
    let Some(cache) = &state.cache else {
        let tournament = crate::tournaments::find_cached(state, slug).await?;
        return Ok(respond(&fill(tournament).await?, class, request));
    };
    // The database just failed: answer from the cache, or 503, at once (one read a second
    // probes the database meanwhile).
    if cache.skip_database() {
        return stale(cache, slug, &key, class, request).ok_or(ApiError::Unavailable);
    }
    let found = tokio::time::timeout(SLUG_BUDGET, crate::tournaments::find_cached(state, slug));
    // A frozen database (no error, no answer) counts as unreachable.
    let found = found.await.unwrap_or(Err(ApiError::Unavailable));
    let tournament = match found {
        // (Possibly from memory: then a later read finds out again, if it is still down.)
        Ok(tournament) => {
            cache.database_answered();
            tournament
        }
        Err(ApiError::Unavailable) => {
            cache.database_failed();
            return stale(cache, slug, &key, class, request).ok_or(ApiError::Unavailable);
        }
        Err(e) => return Err(e),
    };
    let tournament_id = tournament.id;
    let key = format!("{tournament_id}|{key}");
    if let Some(entry) = cache.get(&key) {
        return Ok(crate::cache::respond_cached(
            &entry,
            class.header(request),
            request,
        ));
    }
    let ticket = cache.ticket(tournament_id);
    let filled = tokio::time::timeout(FILL_BUDGET, fill(tournament)).await;
    let value = match filled.unwrap_or(Err(ApiError::Unavailable)) {
        Ok(value) => value,
        Err(ApiError::Unavailable) => {
            cache.database_failed();
            return Err(ApiError::Unavailable);
        }
        Err(e) => return Err(e),
    };
    let entry = cache.store(key, tournament_id, ticket, render(&value));
    Ok(crate::cache::respond_cached(
        &entry,
        class.header(request),
        request,
    ))
}

/// How long a cached read waits for the database to resolve its slug, and to compute a body
/// it does not hold, before it counts the database as unreachable (a frozen server answers
/// nothing and raises no error; the pool's acquire timeout only bounds getting a connection).
const SLUG_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);
const FILL_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Header on answers served from the response cache while the database is unreachable.
pub const SERVED_STALE: &str = "x-served-stale";

/// The cached answer to this read while the database is unreachable, marked
/// `X-Served-Stale: database-unavailable`; `None` when the cache has none.
fn stale(
    cache: &crate::ResponseCache,
    slug: &str,
    key: &str,
    class: CacheClass,
    request: &HeaderMap,
) -> Option<Response> {
    let entry = cache.stale(slug, key)?;
    let mut response = crate::cache::respond_cached(&entry, class.header(request), request);
    response.headers_mut().insert(
        SERVED_STALE,
        HeaderValue::from_static("database-unavailable"),
    );
    Some(response)
}

/// A cache key for a route and its query parameters, independent of parameter order.
pub fn cache_key(route: &str, params: &std::collections::HashMap<String, String>) -> String {
    let mut pairs: Vec<_> = params.iter().collect();
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{route}?{}", query.join("&"))
}
