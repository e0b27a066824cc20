//! Routes: the five community endpoints (matched case-insensitively, through one fallback
//! handler) and the `/sim/*` control endpoints.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::faults::{Control, Endpoint, Outcome, PostFault, PreFault};
use crate::handle::SimHandle;
use crate::ladder::MatchSpec;
use crate::payloads;

/// Longest id list accepted in one call (upstream's limit is unknown; this bounds work).
const MAX_LIST_ITEMS: usize = 1000;
/// `getLeaderBoard2` page size cap.
const MAX_PAGE_COUNT: usize = 200;
/// How often the serving task catches simulated time up with the clock.
const TICK: Duration = Duration::from_millis(200);

/// The router: community endpoints + `/sim/*` controls.
pub fn router(sim: SimHandle) -> Router {
    Router::new()
        .route("/sim/state", get(state))
        .route("/sim/control", post(control))
        .route("/sim/play", post(play))
        .route("/sim/lobbies", post(open_lobby))
        .route("/sim/lobbies/close", post(close_lobby))
        .route("/sim/roster", get(roster))
        .fallback(community)
        .with_state(sim)
}

/// Serve until the listener fails. A ticker keeps simulated time moving between requests.
pub async fn serve(listener: TcpListener, sim: SimHandle) -> io::Result<()> {
    let ticker = tokio::spawn({
        let sim = sim.clone();
        async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                sim.sync();
            }
        }
    });
    // Stop the ticker however `serve` ends (error, or its task being aborted).
    struct AbortOnDrop(JoinHandle<()>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _ticker = AbortOnDrop(ticker);
    axum::serve(listener, router(sim)).await
}

/// Build a simulator and serve it on `127.0.0.1:<random port>` (for tests).
pub async fn spawn(
    config: SimConfig,
) -> io::Result<(SocketAddr, SimHandle, JoinHandle<io::Result<()>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let sim = SimHandle::new(config);
    let task = tokio::spawn(serve(listener, sim.clone()));
    Ok((addr, sim, task))
}

// ---------------------------------------------------------------------- responses

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json;charset=utf-8")],
        body,
    )
        .into_response()
}

fn json_value<T: Serialize>(status: StatusCode, value: &T) -> Response {
    json(status, serde_json::to_vec(value).unwrap_or_default())
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Error {
        error: String,
    }
    json_value(
        status,
        &Error {
            error: message.into(),
        },
    )
}

fn html(status: StatusCode) -> Response {
    let text = format!(
        "<html><body><h1>{} {}</h1></body></html>",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    (status, [(CONTENT_TYPE, "text/html")], text).into_response()
}

// ---------------------------------------------------------------------- community API

/// A client error: HTTP 400 with the envelope's failure shape.
struct BadRequest(&'static str);

/// Query parameters in order; lookups take the first occurrence.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn int(&self, name: &str) -> Result<Option<i64>, BadRequest> {
        self.get(name)
            .map(|v| v.trim().parse().map_err(|_| BadRequest("not an integer")))
            .transpose()
    }
}

/// Records a request's outcome exactly once, also when the client disconnects and hyper
/// drops the handler mid-sleep (then the outcome set so far, else `Abandoned`).
struct Recorder {
    sim: SimHandle,
    endpoint: Endpoint,
    outcome: Option<Outcome>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.sim.leave();
        self.sim
            .record(self.endpoint, self.outcome.unwrap_or(Outcome::Abandoned));
    }
}

async fn community(State(sim): State<SimHandle>, method: Method, uri: Uri) -> Response {
    let Some(endpoint) = Endpoint::from_path(uri.path()) else {
        sim.record_not_found();
        return error(StatusCode::NOT_FOUND, "no such endpoint");
    };
    if method != Method::GET {
        sim.record_not_found();
        return error(StatusCode::METHOD_NOT_ALLOWED, "GET only");
    }
    let plan = sim.plan(endpoint);
    sim.arrive(endpoint);
    let mut recorder = Recorder {
        sim: sim.clone(),
        endpoint,
        outcome: None,
    };
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    match plan.pre {
        Some(PreFault::Timeout(hang)) => {
            recorder.outcome = Some(Outcome::Timeout);
            tokio::time::sleep(hang).await;
            return html(StatusCode::GATEWAY_TIMEOUT);
        }
        Some(PreFault::ServerError(code)) => {
            recorder.outcome = Some(Outcome::ServerError);
            return html(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY));
        }
        Some(PreFault::RateLimited(retry_after)) => {
            recorder.outcome = Some(Outcome::RateLimited);
            let mut headers = HeaderMap::new();
            if let Some(secs) = retry_after {
                headers.insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            return (StatusCode::TOO_MANY_REQUESTS, headers, "Too Many Requests").into_response();
        }
        None => {}
    }
    let body = match render(&sim, endpoint, &uri) {
        Ok(body) => body,
        Err(BadRequest(message)) => {
            recorder.outcome = Some(Outcome::BadRequest);
            return json(StatusCode::BAD_REQUEST, payloads::result_only(-1, message));
        }
    };
    let (body, outcome) = match plan.post {
        Some(PostFault::ResultCode(code)) => {
            (payloads::result_only(code, "FAILED"), Outcome::ResultCode)
        }
        Some(PostFault::Malformed) => {
            let mut body = body;
            body.truncate(body.len() / 2);
            (body, Outcome::Malformed)
        }
        Some(PostFault::Rename(from, to)) => rename_key(body, &from, &to),
        None => (body, Outcome::Ok),
    };
    recorder.outcome = Some(outcome);
    json(StatusCode::OK, body)
}

/// Rename every `"from":` key. Compact serde output has no space before the colon.
fn rename_key(body: Vec<u8>, from: &str, to: &str) -> (Vec<u8>, Outcome) {
    let pattern = format!("\"{from}\":");
    match String::from_utf8(body) {
        Ok(text) if text.contains(&pattern) => (
            text.replace(&pattern, &format!("\"{to}\":")).into_bytes(),
            Outcome::RenamedKey,
        ),
        Ok(text) => (text.into_bytes(), Outcome::Ok),
        Err(e) => (e.into_bytes(), Outcome::Ok),
    }
}

fn render(sim: &SimHandle, endpoint: Endpoint, uri: &Uri) -> Result<Vec<u8>, BadRequest> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|_| BadRequest("unparsable query string"))?;
    let params = Params(pairs);
    if params.get("title") != Some("age2") {
        return Err(BadRequest("title=age2 is required"));
    }
    match endpoint {
        Endpoint::AvailableLeaderboards => Ok(sim.catalog_body()),
        Endpoint::PersonalStat | Endpoint::RecentMatchHistory => {
            let who = Who::from_params(&params)?;
            if let Who::Ids(ids) = &who {
                sim.asked_for(ids);
            }
            if let (Endpoint::PersonalStat, Who::Ids(ids)) = (endpoint, &who) {
                sim.served_stats(ids);
            }
            Ok(sim.with_ladder(|ladder| {
                let idxs = who.resolve(ladder);
                if endpoint == Endpoint::PersonalStat {
                    payloads::personal_stats(ladder, &idxs)
                } else {
                    payloads::match_history(ladder, &idxs)
                }
            }))
        }
        Endpoint::Advertisements => {
            let start = params.int("start")?.unwrap_or(0);
            let start = usize::try_from(start).map_err(|_| BadRequest("start must be >= 0"))?;
            Ok(sim.with_ladder(|ladder| payloads::advertisements(ladder, start)))
        }
        Endpoint::LeaderBoard2 => {
            let leaderboard_id = params
                .int("leaderboard_id")?
                .ok_or(BadRequest("leaderboard_id is required"))?;
            let start = params.int("start")?.unwrap_or(1).max(1);
            let count = params
                .int("count")?
                .unwrap_or(100)
                .clamp(1, MAX_PAGE_COUNT as i64);
            let sort_by_wins = params.int("sortBy")? == Some(0);
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            let count = usize::try_from(count).unwrap_or(MAX_PAGE_COUNT);
            Ok(sim.with_ladder(|ladder| {
                payloads::leaderboard_page(ladder, leaderboard_id, start, count, sort_by_wins)
            }))
        }
    }
}

/// Which players a stats/history call asks for.
enum Who {
    Ids(Vec<i64>),
    Names(Vec<String>),
    Aliases(Vec<String>),
}

impl Who {
    fn from_params(params: &Params) -> Result<Self, BadRequest> {
        if let Some(raw) = params.get("profile_ids") {
            return parse_id_list(raw).map(Who::Ids);
        }
        if let Some(raw) = params.get("profile_names") {
            return parse_string_list(raw).map(Who::Names);
        }
        if let Some(raw) = params.get("aliases") {
            return parse_string_list(raw).map(Who::Aliases);
        }
        Err(BadRequest(
            "profile_ids, profile_names or aliases is required",
        ))
    }

    /// Known players in request order without repeats; unknown ones are left out.
    fn resolve(&self, ladder: &crate::ladder::Ladder) -> Vec<usize> {
        let found: Vec<usize> = match self {
            Who::Ids(ids) => ids.iter().filter_map(|&id| ladder.index_of(id)).collect(),
            Who::Names(names) => names
                .iter()
                .filter_map(|n| ladder.index_of_name(n))
                .collect(),
            Who::Aliases(aliases) => aliases
                .iter()
                .flat_map(|a| ladder.indices_of_alias(a))
                .collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        found.into_iter().filter(|i| seen.insert(*i)).collect()
    }
}

/// `[1,2,3]` (already URL-decoded). `[null]`, `[None]`, `1,2` or garbage → 400.
fn parse_id_list(raw: &str) -> Result<Vec<i64>, BadRequest> {
    let ids: Vec<i64> =
        serde_json::from_str(raw.trim()).map_err(|_| BadRequest("expected a list like [1,2]"))?;
    if ids.len() > MAX_LIST_ITEMS {
        return Err(BadRequest("too many ids"));
    }
    Ok(ids)
}

/// `["/steam/1","/steam/2"]` or, for aliases, the unquoted `[Name,Other]`.
fn parse_string_list(raw: &str) -> Result<Vec<String>, BadRequest> {
    let raw = raw.trim();
    let items = match serde_json::from_str::<Vec<String>>(raw) {
        Ok(items) => items,
        Err(_) => {
            let inner = raw
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .ok_or(BadRequest("expected a bracketed list"))?;
            if inner.is_empty() {
                Vec::new()
            } else {
                inner.split(',').map(|s| s.trim().to_owned()).collect()
            }
        }
    };
    if items.len() > MAX_LIST_ITEMS {
        return Err(BadRequest("too many names"));
    }
    Ok(items)
}

// ---------------------------------------------------------------------- /sim/*

/// A JSON control body; the error text goes back to the caller with a 400.
fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

async fn state(State(sim): State<SimHandle>) -> Response {
    json_value(StatusCode::OK, &sim.state())
}

async fn control(State(sim): State<SimHandle>, body: Bytes) -> Response {
    let control: Control = match parse_body(&body) {
        Ok(c) => c,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match sim.control(&control) {
        Ok(state) => json_value(StatusCode::OK, &state),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn play(State(sim): State<SimHandle>, body: Bytes) -> Response {
    #[derive(Serialize)]
    struct Played {
        match_id: i64,
    }
    let spec: MatchSpec = match parse_body(&body) {
        Ok(s) => s,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match sim.play_match(&spec) {
        Ok(match_id) => json_value(StatusCode::OK, &Played { match_id }),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn open_lobby(State(sim): State<SimHandle>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Open {
        members: Vec<i64>,
    }
    #[derive(Serialize)]
    struct Opened {
        lobby_id: i64,
    }
    let open: Open = match parse_body(&body) {
        Ok(o) => o,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match sim.open_lobby(&open.members) {
        Ok(lobby_id) => json_value(StatusCode::OK, &Opened { lobby_id }),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn close_lobby(State(sim): State<SimHandle>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Close {
        lobby_id: i64,
    }
    #[derive(Serialize)]
    struct Closed {
        closed: bool,
    }
    let close: Close = match parse_body(&body) {
        Ok(c) => c,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let closed = sim.close_lobby(close.lobby_id);
    json_value(StatusCode::OK, &Closed { closed })
}

async fn roster(State(sim): State<SimHandle>, uri: Uri) -> Response {
    #[derive(Serialize)]
    struct Roster {
        profile_ids: Vec<i64>,
    }
    let count = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .ok()
        .and_then(|Query(pairs)| Params(pairs).int("count").ok().flatten());
    let count = match count {
        Some(n) => usize::try_from(n).unwrap_or(0),
        None => usize::MAX,
    };
    json_value(
        StatusCode::OK,
        &Roster {
            profile_ids: sim.roster(count),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists() {
        assert_eq!(parse_id_list("[1,2]").ok(), Some(vec![1, 2]));
        assert_eq!(parse_id_list(" [ 3 ] ").ok(), Some(vec![3]));
        assert_eq!(parse_id_list("[]").ok(), Some(vec![]));
        for bad in ["[null]", "[None,1]", "1,2", "", "[1,", "[\"1\"]", "[1.5]"] {
            assert!(parse_id_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn string_lists() {
        assert_eq!(
            parse_string_list(r#"["/steam/1","/steam/2"]"#).ok(),
            Some(vec!["/steam/1".to_owned(), "/steam/2".to_owned()])
        );
        assert_eq!(
            parse_string_list("[Hera,ACCM]").ok(),
            Some(vec!["Hera".to_owned(), "ACCM".to_owned()])
        );
        assert!(parse_string_list("Hera").is_err());
    }

    #[test]
    fn rename_every_occurrence() {
        let (body, outcome) = rename_key(br#"{"a":1,"b":{"a":2}}"#.to_vec(), "a", "z");
        assert_eq!(body, br#"{"z":1,"b":{"z":2}}"#);
        assert_eq!(outcome, Outcome::RenamedKey);
        let (_, outcome) = rename_key(b"{}".to_vec(), "a", "z");
        assert_eq!(outcome, Outcome::Ok);
    }
}
