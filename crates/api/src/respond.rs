//! Building JSON responses with the contract's Cache-Control classes and a strong ETag, and
//! answering `If-None-Match` with 304.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
    let tournament = crate::tournaments::find_cached(state, slug).await?;
    let Some(cache) = &state.cache else {
        return Ok(respond(&fill(tournament).await?, class, request));
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
    let value = fill(tournament).await?;
    let entry = cache.store(key, tournament_id, ticket, render(&value));
    Ok(crate::cache::respond_cached(
        &entry,
        class.header(request),
        request,
    ))
}

/// A cache key for a route and its query parameters, independent of parameter order.
pub fn cache_key(route: &str, params: &std::collections::HashMap<String, String>) -> String {
    let mut pairs: Vec<_> = params.iter().collect();
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{route}?{}", query.join("&"))
}
