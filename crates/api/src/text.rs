//! Chat-bot text (Nightbot / StreamElements `urlfetch`): the standings and one player as a
//! single `text/plain` line under 400 characters, built from the standings read and cached
//! with it (same cache entry lifetime, Cache-Control class and ETag rules).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Utc;

use crate::error::{ApiError, ApiResult};
use crate::query::Params;
use crate::respond::{render_text, CacheClass};
use crate::standings::{compute, StandingRow};
use crate::tournaments::{find_cached, TournamentRead};
use crate::AppState;

/// Chat messages are cut at 400 characters by Twitch bots; stay under it.
pub const MAX_CHARS: usize = 399;
/// Longest `q` accepted (aliases are short; this bounds work).
const MAX_QUERY_CHARS: usize = 64;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/tournaments/{tournament_slug}/text/standings",
            get(standings_text),
        )
        .route(
            "/v1/tournaments/{tournament_slug}/text/player",
            get(player_text),
        )
}

async fn standings_text(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let top = Params(params).int_in("top", 1, 20, 5)?;
    cached_text(
        &state,
        &slug,
        format!("text/standings?top={top}"),
        &headers,
        |t, rows| Ok(standings_line(&t, &rows, top as usize)),
    )
    .await
}

async fn player_text(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = params
        .get("q")
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::query("q", "Field required"))?;
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::query(
            "q",
            format!("at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let key = format!("text/player?q={}", q.to_lowercase());
    cached_text(&state, &slug, key, &headers, move |t, rows| {
        let row = find_player(&rows, &q).ok_or(ApiError::NotFound("Player not found"))?;
        Ok(player_line(&t, &rows, row))
    })
    .await
}

/// Serves `line(tournament, standings rows)` as text, from the response cache when it can.
async fn cached_text<F>(
    state: &AppState,
    slug: &str,
    key: String,
    request: &HeaderMap,
    line: F,
) -> ApiResult<Response>
where
    F: FnOnce(TournamentRead, Vec<StandingRow>) -> ApiResult<String>,
{
    let class = CacheClass::AuthAware.header(request);
    let t = find_cached(state, slug).await?;
    let mut response = match &state.cache {
        None => {
            let rows = compute(state, &t, Utc::now()).await?.items;
            crate::respond::conditional(&render_text(&line(t, rows)?), class, request)
        }
        Some(cache) => {
            let tournament_id = t.id;
            let key = format!("{tournament_id}|{key}");
            match cache.get(&key) {
                Some(entry) => crate::cache::respond_cached(&entry, class, request),
                None => {
                    let ticket = cache.ticket(tournament_id);
                    let rows = compute(state, &t, Utc::now()).await?.items;
                    let entry =
                        cache.store(key, tournament_id, ticket, render_text(&line(t, rows)?));
                    crate::cache::respond_cached(&entry, class, request)
                }
            }
        }
    };
    if response.headers().contains_key(header::CONTENT_TYPE) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    Ok(response)
}

/// `q` names a player by profile id, alias or roster name (case-insensitive); an exact match
/// wins over a prefix match.
fn find_player<'r>(rows: &'r [StandingRow], q: &str) -> Option<&'r StandingRow> {
    if let Ok(id) = q.parse::<i64>() {
        if let Some(row) = rows.iter().find(|r| r.profile_id == Some(id)) {
            return Some(row);
        }
    }
    let q = q.to_lowercase();
    let names = |r: &StandingRow| [r.alias.to_lowercase(), r.name.to_lowercase()];
    rows.iter().find(|r| names(r).contains(&q)).or_else(|| {
        rows.iter()
            .find(|r| names(r).iter().any(|n| n.starts_with(&q)))
    })
}

fn display_name(row: &StandingRow) -> &str {
    if row.alias.trim().is_empty() {
        &row.name
    } else {
        &row.alias
    }
}

fn rating(value: Option<i64>) -> String {
    value.map_or_else(|| "unrated".into(), |r| r.to_string())
}

fn streak(streak: i64) -> String {
    match streak {
        0 => "no streak".into(),
        s if s > 0 => format!("W{s}"),
        s => format!("L{}", -s),
    }
}

/// `Demo Cup: 1. Alice 2130 (12-3) | 2. Bob 2101 (10-5) | …`, as many entries as fit.
pub fn standings_line(t: &TournamentRead, rows: &[StandingRow], top: usize) -> String {
    let mut line = format!("{}:", t.name);
    if rows.is_empty() {
        line.push_str(" no players yet");
        return cut(line);
    }
    for (i, row) in rows.iter().take(top).enumerate() {
        let entry = format!(
            "{}{}. {} {} ({}-{})",
            if i == 0 { " " } else { " | " },
            i + 1,
            display_name(row),
            rating(row.current_rating),
            row.tournament_record.wins,
            row.tournament_record.losses,
        );
        if line.chars().count() + entry.chars().count() > MAX_CHARS {
            break;
        }
        line.push_str(&entry);
    }
    cut(line)
}

/// `Alice: #1 of 16 in Demo Cup | rating 2130 (peak 2150) | ladder #412 | 12-3 | W4 | playing now`.
pub fn player_line(t: &TournamentRead, rows: &[StandingRow], row: &StandingRow) -> String {
    // The table is in standings order: the place is the index.
    let place = rows
        .iter()
        .position(|r| r.tournament_player_id == row.tournament_player_id)
        .map_or(0, |i| i + 1);
    let mut parts = vec![
        format!(
            "{}: #{place} of {} in {}",
            display_name(row),
            rows.len(),
            t.name
        ),
        format!(
            "rating {} (peak {})",
            rating(row.current_rating),
            rating(row.tournament_record.peak_rating.or(row.max_rating))
        ),
    ];
    if let Some(rank) = row.rank {
        parts.push(format!("ladder #{rank}"));
    }
    parts.push(format!(
        "{}-{} in the tournament",
        row.tournament_record.wins, row.tournament_record.losses
    ));
    parts.push(streak(row.tournament_record.streak));
    if row.in_match {
        parts.push("playing now".into());
    }
    cut(parts.join(" | "))
}

/// One line (no control characters: names come from the upstream) under the limit.
fn cut(line: String) -> String {
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= MAX_CHARS {
        return clean;
    }
    let mut out: String = clean.chars().take(MAX_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_cut_under_the_limit_without_control_characters() {
        let long = format!("a\nb\t{}", "é".repeat(500));
        let line = cut(long);
        assert_eq!(line.chars().count(), MAX_CHARS);
        assert!(line.starts_with("a b "));
        assert!(line.ends_with('…'));
        assert_eq!(cut("short".into()), "short");
    }

    #[test]
    fn streaks_read_as_chat_text() {
        assert_eq!(streak(3), "W3");
        assert_eq!(streak(-2), "L2");
        assert_eq!(streak(0), "no streak");
    }
}
