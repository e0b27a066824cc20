//! Hot reads served from memory: serialized (and precompressed) responses per tournament,
//! dropped when a nudge says that tournament changed.
//!
//! Correctness rests on two rules: an entry is only stored if no invalidation for its
//! tournament happened while it was being computed (a per-tournament generation), and a feed
//! that may have missed nudges (reconnect) clears everything.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::games::GameCache;
use crate::respond::{etag_matches, Rendered};
use crate::tournaments::TournamentRead;

/// One cached representation set: identity, gzip and brotli bodies of the same JSON. Each
/// compressed body is made by the first request that asks for it: compressing both at fill
/// time cost the first request after every nudge more than computing the answer (a browser
/// takes brotli, a CDN usually gzip; most entries never need both).
pub struct Entry {
    tournament_id: i64,
    identity: Rendered,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

impl Entry {
    fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| compress_gzip(&self.identity.body))
            .clone()
    }

    fn brotli(&self) -> Bytes {
        self.brotli
            .get_or_init(|| compress_brotli(&self.identity.body))
            .clone()
    }
}

#[derive(Default)]
pub struct ResponseCache {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    generations: Mutex<HashMap<i64, u64>>,
    epoch: Mutex<u64>,
    /// Slug (or `current`) → tournament, dropped on every invalidation and after a few seconds
    /// (`current` depends on the clock).
    tournaments: RwLock<HashMap<String, (Instant, TournamentRead)>>,
    /// Slug (or `current`) → tournament id as last resolved, kept across invalidations: what
    /// a read falls back on while the database is unreachable (see [`ResponseCache::stale`]).
    last_known: RwLock<HashMap<String, i64>>,
    /// When a read last found the database unreachable (cleared by the next success).
    database_down_at: Mutex<Option<Instant>>,
    /// The games per-tournament reads are computed from, held between fills: it catches up
    /// from the rows' positions on its own; [`ResponseCache::clear`] drops it with the rest
    /// (a catalog change nudges everyone).
    pub games: GameCache,
}

/// After a read found the database unreachable, reads that the cache can answer skip the
/// database for this long (answering at once instead of waiting for the pool's timeout).
const OUTAGE_SHORTCUT: Duration = Duration::from_secs(1);

/// Bound on [`ResponseCache`]'s `last_known` map (slugs that resolved; not client-chosen
/// strings that did not).
const MAX_LAST_KNOWN: usize = 100_000;

/// Bound on cached responses: some keys are client-chosen (an as-of instant), and an entry
/// lives until its tournament's next nudge, which a finished tournament never gets.
const MAX_ENTRIES: usize = 20_000;

/// How long a slug resolution is trusted without a nudge.
const SLUG_TTL: Duration = Duration::from_secs(5);

/// The state of invalidations when a fill started.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    generation: u64,
}

fn compress_gzip(body: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(6),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

fn compress_brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() / 5);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        let _ = writer.write_all(body);
    }
    Bytes::from(out)
}

impl ResponseCache {
    pub fn get(&self, key: &str) -> Option<Arc<Entry>> {
        self.entries.read().ok()?.get(key).cloned()
    }

    /// Taken before computing a response for `tournament_id`.
    pub fn ticket(&self, tournament_id: i64) -> Ticket {
        let epoch = self.epoch.lock().map(|e| *e).unwrap_or(0);
        let generation = self
            .generations
            .lock()
            .map(|g| g.get(&tournament_id).copied().unwrap_or(0))
            .unwrap_or(0);
        Ticket { epoch, generation }
    }

    /// Compresses and stores `rendered` unless the tournament changed since `ticket`.
    pub fn store(
        &self,
        key: String,
        tournament_id: i64,
        ticket: Ticket,
        rendered: Rendered,
    ) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            tournament_id,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            identity: rendered,
        });
        if self.ticket(tournament_id) == ticket {
            if let Ok(mut entries) = self.entries.write() {
                // Full (keys clients choose, e.g. as-of instants): serve it uncached.
                if entries.len() < MAX_ENTRIES || entries.contains_key(&key) {
                    entries.insert(key, entry.clone());
                }
            }
        }
        entry
    }

    /// Drops the entries of these tournaments (`None`: of every tournament).
    pub fn invalidate(&self, tournament_ids: Option<&[i64]>) {
        match tournament_ids {
            None => self.clear(),
            Some(ids) => {
                // Any change may move the `current` alias or rename a slug.
                self.forget_tournaments();
                if let Ok(mut generations) = self.generations.lock() {
                    for id in ids {
                        *generations.entry(*id).or_default() += 1;
                    }
                }
                if let Ok(mut entries) = self.entries.write() {
                    entries.retain(|_, e| !ids.contains(&e.tournament_id));
                }
            }
        }
    }

    pub fn tournament(&self, slug: &str) -> Option<TournamentRead> {
        let map = self.tournaments.read().ok()?;
        let (at, t) = map.get(slug)?;
        (at.elapsed() < SLUG_TTL).then(|| t.clone())
    }

    pub fn remember_tournament(&self, slug: &str, t: &TournamentRead) {
        if let Ok(mut map) = self.tournaments.write() {
            map.insert(slug.to_string(), (Instant::now(), t.clone()));
        }
        if let Ok(mut known) = self.last_known.write() {
            if known.len() >= MAX_LAST_KNOWN && !known.contains_key(slug) {
                known.clear();
            }
            known.insert(slug.to_string(), t.id);
        }
    }

    /// The cached answer for `key` of the tournament `slug` last resolved to, whatever its
    /// age: only for reads while the database is unreachable.
    pub fn stale(&self, slug: &str, key: &str) -> Option<Arc<Entry>> {
        let id = *self.last_known.read().ok()?.get(slug)?;
        self.get(&format!("{id}|{key}"))
    }

    /// A read found the database unreachable.
    pub fn database_failed(&self) {
        if let Ok(mut at) = self.database_down_at.lock() {
            *at = Some(Instant::now());
        }
    }

    /// A read reached the database.
    pub fn database_answered(&self) {
        if let Ok(mut at) = self.database_down_at.lock() {
            *at = None;
        }
    }

    /// Whether this read should skip the database: it failed within [`OUTAGE_SHORTCUT`].
    /// Once the shortcut has run that long, one read (the caller that gets `false`) probes
    /// the database again while the others keep skipping it.
    pub fn skip_database(&self) -> bool {
        let Ok(mut at) = self.database_down_at.lock() else {
            return false;
        };
        match *at {
            None => false,
            Some(since) if since.elapsed() < OUTAGE_SHORTCUT => true,
            Some(_) => {
                *at = Some(Instant::now());
                false
            }
        }
    }

    fn forget_tournaments(&self) {
        if let Ok(mut map) = self.tournaments.write() {
            map.clear();
        }
    }

    /// Forgets everything (a feed that may have missed nudges).
    pub fn clear(&self) {
        self.forget_tournaments();
        self.games.clear();
        if let Ok(mut epoch) = self.epoch.lock() {
            *epoch += 1;
        }
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which encodings the client accepts (q-values of 0 refuse an encoding).
pub(crate) fn accepts(request: &HeaderMap, encoding: &str) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut pieces = part.trim().split(';');
            let name = pieces.next().unwrap_or("").trim();
            let refused = pieces.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            name.eq_ignore_ascii_case(encoding) && !refused
        })
}

/// The best representation for the request, with 304 on a matching `If-None-Match`.
pub fn respond_cached(entry: &Entry, cache_control: &'static str, request: &HeaderMap) -> Response {
    let base = entry
        .identity
        .etag
        .to_str()
        .unwrap_or("\"0\"")
        .trim_matches('"')
        .to_string();
    let (encoding, etag) = if accepts(request, "br") {
        (Some("br"), format!("\"{base}-br\""))
    } else if accepts(request, "gzip") {
        (Some("gzip"), format!("\"{base}-gz\""))
    } else {
        (None, format!("\"{base}\""))
    };
    let mut response = if etag_matches(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match encoding {
            Some("br") => entry.brotli(),
            Some(_) => entry.gzip(),
            None => entry.identity.body.clone(),
        };
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(encoding) = encoding {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        r
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::respond::render;

    #[test]
    fn a_fill_racing_an_invalidation_is_not_stored() {
        let cache = ResponseCache::default();
        let ticket = cache.ticket(1);
        cache.invalidate(Some(&[1]));
        cache.store("k".into(), 1, ticket, render(&serde_json::json!({"a": 1})));
        assert!(cache.get("k").is_none());
        let ticket = cache.ticket(1);
        cache.store("k".into(), 1, ticket, render(&serde_json::json!({"a": 1})));
        assert!(cache.get("k").is_some());
        cache.invalidate(Some(&[2]));
        assert!(
            cache.get("k").is_some(),
            "other tournaments keep their entries"
        );
        cache.invalidate(None);
        assert!(cache.is_empty());
    }

    #[test]
    fn each_encoding_is_compressed_once_and_only_when_sent() {
        use std::io::Read;
        let cache = ResponseCache::default();
        let entry = cache.store("k".into(), 1, cache.ticket(1), render(&vec![7; 5000]));
        assert!(entry.brotli.get().is_none() && entry.gzip.get().is_none());
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        let r = respond_cached(&entry, "no-store", &h);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "br");
        assert!(
            entry.gzip.get().is_none(),
            "a brotli client does not pay for gzip"
        );
        let brotli = entry.brotli.get().cloned().unwrap_or_default();
        let mut decoded = vec![];
        brotli::Decompressor::new(&brotli[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, entry.identity.body);
        // A revalidation that matches sends no body, so it compresses nothing.
        let base = entry.identity.etag.to_str().unwrap().trim_matches('"');
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"{base}-gz\"")).unwrap(),
        );
        assert_eq!(respond_cached(&entry, "no-store", &h).status(), 304);
        assert!(entry.gzip.get().is_none());
        h.remove(header::IF_NONE_MATCH);
        respond_cached(&entry, "no-store", &h);
        let gzip = entry.gzip.get().cloned().unwrap_or_default();
        let mut decoded = vec![];
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, entry.identity.body);
        // The second brotli answer reuses the first compression.
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        respond_cached(&entry, "no-store", &h);
        assert_eq!(entry.brotli.get().cloned().unwrap_or_default(), brotli);
    }

    #[test]
    fn encodings_are_negotiated_and_etags_differ() {
        let cache = ResponseCache::default();
        let entry = cache.store("k".into(), 1, cache.ticket(1), render(&vec![1; 1000]));
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, br;q=0"),
        );
        let r = respond_cached(&entry, "no-store", &h);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        let gz_etag = r.headers()[header::ETAG].clone();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        let r = respond_cached(&entry, "no-store", &h);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "br");
        assert_ne!(r.headers()[header::ETAG], gz_etag);
        h.insert(header::IF_NONE_MATCH, r.headers()[header::ETAG].clone());
        assert_eq!(respond_cached(&entry, "no-store", &h).status(), 304);
    }
}
