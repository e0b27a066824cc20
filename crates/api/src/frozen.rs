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

use axum::body::{to_bytes, Body, Bytes, HttpBody};
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
/// And in bytes: client-chosen keys must not grow memory without bound (a full cache serves
/// new keys live, at the cost of a database read).
const MAX_KEPT_BYTES: usize = 256 * 1024 * 1024;
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

/// `encoding path?query` → answer, with what the answers cost (for the limits above).
#[derive(Default)]
struct KeptAnswers {
    answers: HashMap<String, Arc<Kept>>,
    per_tournament: HashMap<i64, usize>,
    bytes: usize,
}

impl KeptAnswers {
    fn insert(&mut self, key: String, kept: Kept) {
        let id = kept.tournament_id;
        let size = kept.body.len();
        if let Some(old) = self.answers.insert(key, Arc::new(kept)) {
            self.forget(&old);
        }
        *self.per_tournament.entry(id).or_default() += 1;
        self.bytes += size;
    }

    fn forget(&mut self, old: &Kept) {
        self.bytes -= old.body.len();
        if let Some(n) = self.per_tournament.get_mut(&old.tournament_id) {
            *n -= 1;
        }
    }

    fn has_room_for(&self, tournament_id: i64, size: usize) -> bool {
        self.answers.len() < MAX_ENTRIES
            && self.bytes + size <= MAX_KEPT_BYTES
            && self
                .per_tournament
                .get(&tournament_id)
                .copied()
                .unwrap_or(0)
                < MAX_PER_TOURNAMENT
    }

    /// Drops every answer of the tournaments in `ids`.
    fn drop_tournaments(&mut self, ids: &HashSet<i64>) {
        self.answers.retain(|_, k| !ids.contains(&k.tournament_id));
        self.per_tournament.retain(|id, _| !ids.contains(id));
        self.bytes = self.answers.values().map(|k| k.body.len()).sum();
    }
}

#[derive(Default)]
pub struct Frozen {
    /// Archived slug → tournament id.
    archived: RwLock<HashMap<String, i64>>,
    kept: RwLock<KeptAnswers>,
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
                kept.drop_tournaments(&live);
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
        self.kept.read().ok()?.answers.get(key).cloned()
    }

    fn keep(&self, key: String, kept: Kept) {
        let Ok(mut map) = self.kept.write() else {
            return;
        };
        if map.answers.contains_key(&key) || map.has_room_for(kept.tournament_id, kept.body.len()) {
            map.insert(key, kept);
        }
    }

    /// How many answers are kept (tests).
    pub fn len(&self) -> usize {
        self.kept.read().map(|k| k.answers.len()).unwrap_or(0)
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
    // Too large (or of unknown size) to keep: served as it is, live.
    if body
        .size_hint()
        .upper()
        .is_none_or(|n| n > MAX_BODY_BYTES as u64)
    {
        return Response::from_parts(parts, body);
    }
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

    fn kept(tournament_id: i64, size: usize) -> Kept {
        Kept {
            tournament_id,
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; size]),
        }
    }

    #[test]
    fn client_chosen_keys_cannot_grow_the_snapshot_past_its_byte_budget() {
        let frozen = Frozen::default();
        let size = 4 * 1024 * 1024;
        // Distinct queries, as a client varying `?x=N` would send.
        for n in 0..200 {
            frozen.keep(
                format!("identity /v1/tournaments/cup/standings?x={n}"),
                kept(1, size),
            );
        }
        let kept_bytes = frozen.kept.read().unwrap().bytes;
        assert_eq!(frozen.len(), MAX_KEPT_BYTES / size);
        assert!(kept_bytes <= MAX_KEPT_BYTES, "{kept_bytes}");
        // A key already kept is still replaced when full; un-archiving frees everything.
        frozen.keep(
            "identity /v1/tournaments/cup/standings?x=0".into(),
            kept(1, 1),
        );
        assert_eq!(frozen.len(), MAX_KEPT_BYTES / size);
        frozen
            .kept
            .write()
            .unwrap()
            .drop_tournaments(&HashSet::from([1]));
        assert!(frozen.is_empty());
        assert_eq!(frozen.kept.read().unwrap().bytes, 0);
    }

    #[test]
    fn each_tournament_keeps_at_most_its_share_of_answers() {
        let frozen = Frozen::default();
        for n in 0..MAX_PER_TOURNAMENT + 10 {
            frozen.keep(
                format!("identity /v1/tournaments/a/matches?page={n}"),
                kept(1, 10),
            );
        }
        frozen.keep("identity /v1/tournaments/b".into(), kept(2, 10));
        assert_eq!(frozen.len(), MAX_PER_TOURNAMENT + 1);
    }
}
