//! Archived tournaments' public reads, served from a frozen snapshot in memory (issue 16 item
//! 3): no database work per request, the same bytes and headers as the live read.
//!
//! An archived tournament cannot change (its window has closed, the aggregate refuses edits,
//! the poller skips its players), so the first anonymous `200` of each read (path, query and
//! chosen content encoding) is kept as it left the handlers and answered again from memory,
//! `If-None-Match` included, with `X-Archived: true`. The snapshot is taken when a replica
//! learns of the archive ([`Frozen::refresh`]: the tournament's usual reads are rendered
//! through the router itself, so nothing is rendered twice) and, for any other read (a player,
//! a match, a page), the first time it is asked. A replica learns from the log: at start, after
//! every nudge, and at once when it served the archive write; un-archiving drops the snapshot.
//!
//! Requests with a token (cookie or `Authorization`) and the `current` alias are served live:
//! their answers may differ per caller or move with the clock.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use sqlx::PgPool;
use tower::ServiceExt;

use crate::respond::etag_matches;

/// Header on every answer served from a snapshot.
pub const ARCHIVED: &str = "x-archived";

/// Reads kept per archived tournament and in all (some keys are client-chosen: pages,
/// as-of instants); beyond, reads are served live.
const MAX_PER_TOURNAMENT: usize = 2_000;
const MAX_ENTRIES: usize = 50_000;
/// A body larger than this is served live (the bench tournament's standings are ~160 KB).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Reads rendered when a tournament is archived (`{t}` = `/v1/tournaments/SLUG`): what a
/// front-end opens first; anything else is kept on its first request.
const WARM: &[&str] = &[
    "",
    "/standings",
    "/teams/standings",
    "/standings/history",
    "/summary",
    "/civ-stats",
    "/head-to-head",
    "/progression",
    "/live",
    "/players",
    "/matches",
    "/events",
    "/text/standings",
];
const ENCODINGS: [&str; 3] = ["identity", "gzip", "br"];

/// One kept answer: the handlers' `200` as it was sent.
struct Kept {
    tournament_id: i64,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
pub struct Frozen {
    /// Archived slug → tournament id.
    archived: RwLock<HashMap<String, i64>>,
    /// `encoding path?query` → answer.
    kept: RwLock<HashMap<String, Arc<Kept>>>,
    /// The whole application, for rendering a snapshot through the real handlers.
    app: OnceLock<Router>,
    refreshing: tokio::sync::Mutex<()>,
    /// Whether a refresh ran since the last change of the archived set (tests, metrics).
    warmed: AtomicBool,
}

impl Frozen {
    pub(crate) fn set_app(&self, app: Router) {
        let _ = self.app.set(app);
    }

    /// Whether `slug` is archived, as this replica last learned.
    pub fn is_archived(&self, slug: &str) -> bool {
        self.archived_id(slug).is_some()
    }

    fn archived_id(&self, slug: &str) -> Option<i64> {
        self.archived.read().ok()?.get(slug).copied()
    }

    /// Re-reads which tournaments are archived; drops the snapshots of those that no longer
    /// are and renders those that just became archived. A failed read keeps what it knew.
    pub async fn refresh(&self, pool: &PgPool) {
        let _one_at_a_time = self.refreshing.lock().await;
        let now = match store::archived::archived_tournaments(pool).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read which tournaments are archived");
                return;
            }
        };
        let now: HashMap<String, i64> =
            now.into_iter().map(|t| (t.slug, t.tournament_id)).collect();
        let before = match self.archived.write() {
            Ok(mut archived) => std::mem::replace(&mut *archived, now.clone()),
            Err(_) => return,
        };
        let live: HashSet<i64> = before
            .iter()
            .filter(|(slug, id)| now.get(*slug) != Some(id))
            .map(|(_, id)| *id)
            .collect();
        if !live.is_empty() {
            if let Ok(mut kept) = self.kept.write() {
                kept.retain(|_, k| !live.contains(&k.tournament_id));
            }
        }
        for (slug, id) in &now {
            if before.get(slug) != Some(id) {
                self.warm(slug).await;
            }
        }
        self.warmed.store(true, Ordering::Relaxed);
    }

    /// Renders the usual reads of `slug` through the application (each kept by [`layer`]).
    async fn warm(&self, slug: &str) {
        let Some(app) = self.app.get() else { return };
        for read in WARM {
            for encoding in ENCODINGS {
                let request = Request::get(format!("/v1/tournaments/{slug}{read}"))
                    .header(header::ACCEPT_ENCODING, encoding)
                    .body(Body::empty());
                let Ok(request) = request else { continue };
                let _ = app.clone().oneshot(request).await;
            }
        }
    }

    fn get(&self, key: &str) -> Option<Arc<Kept>> {
        self.kept.read().ok()?.get(key).cloned()
    }

    fn keep(&self, key: String, kept: Kept) {
        let Ok(mut map) = self.kept.write() else {
            return;
        };
        let id = kept.tournament_id;
        let full = map.len() >= MAX_ENTRIES
            || map.values().filter(|k| k.tournament_id == id).count() >= MAX_PER_TOURNAMENT;
        if !full || map.contains_key(&key) {
            map.insert(key, Arc::new(kept));
        }
    }

    /// How many answers are kept (tests).
    pub fn len(&self) -> usize {
        self.kept.read().map(|k| k.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The tournament slug of a per-tournament public read, if this is one.
fn tournament_slug(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/tournaments/")?;
    let slug = rest.split('/').next()?;
    (!slug.is_empty() && slug != domain::rules::RESERVED_SLUG).then_some(slug)
}

/// Which of the cache's representations this request gets (as `cache::respond_cached` picks).
fn encoding(headers: &HeaderMap) -> &'static str {
    if crate::cache::accepts(headers, "br") {
        "br"
    } else if crate::cache::accepts(headers, "gzip") {
        "gzip"
    } else {
        "identity"
    }
}

/// Answers reads of archived tournaments from their snapshot; keeps what it lacks.
pub async fn layer(
    State(state): State<crate::AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let frozen = &state.frozen;
    let anonymous = crate::caller::cookie(request.headers()).is_none()
        && !request.headers().contains_key(header::AUTHORIZATION);
    let tournament_id = match tournament_slug(request.uri().path()) {
        Some(slug) if request.method() == Method::GET && anonymous => frozen.archived_id(slug),
        _ => None,
    };
    let Some(tournament_id) = tournament_id else {
        return next.run(request).await;
    };
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("");
    let key = format!("{} {target}", encoding(request.headers()));
    if let Some(kept) = frozen.get(&key) {
        return answer(&kept, request.headers());
    }
    // Keep the full answer: the conditional part is decided here for every later request.
    let conditions = request.headers_mut().remove(header::IF_NONE_MATCH);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let kept = Kept {
        tournament_id,
        headers: parts.headers,
        body,
    };
    let mut request_headers = HeaderMap::new();
    if let Some(conditions) = conditions {
        request_headers.insert(header::IF_NONE_MATCH, conditions);
    }
    let response = answer(&kept, &request_headers);
    frozen.keep(key, kept);
    response
}

/// The kept answer, or `304` with its validators when `If-None-Match` names its ETag.
fn answer(kept: &Kept, request: &HeaderMap) -> Response {
    let etag = kept
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|etag| etag_matches(request, etag));
    let mut response = if etag.is_some() {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        for (name, value) in &kept.headers {
            if name != header::CONTENT_TYPE
                && name != header::CONTENT_ENCODING
                && name != header::CONTENT_LENGTH
            {
                r.headers_mut().append(name, value.clone());
            }
        }
        r
    } else {
        let mut r = Response::new(Body::from(kept.body.clone()));
        *r.headers_mut() = kept.headers.clone();
        r
    };
    response
        .headers_mut()
        .insert(ARCHIVED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_per_tournament_reads_of_a_real_slug_are_frozen() {
        assert_eq!(tournament_slug("/v1/tournaments/cup"), Some("cup"));
        assert_eq!(
            tournament_slug("/v1/tournaments/cup/standings"),
            Some("cup")
        );
        assert_eq!(tournament_slug("/v1/tournaments/current/standings"), None);
        assert_eq!(tournament_slug("/v1/tournaments"), None);
        assert_eq!(tournament_slug("/v1/tournaments/"), None);
        assert_eq!(tournament_slug("/v1/stream"), None);
    }
}
