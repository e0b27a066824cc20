//! Fault knobs and request counters.
//!
//! Fault windows run on real time (`Instant`), not simulated time, so they end by themselves
//! even when the ladder is frozen. Each knob can be limited to some endpoints.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::ladder::SimError;

/// The five community endpoints the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    PersonalStat,
    RecentMatchHistory,
    Advertisements,
    AvailableLeaderboards,
    LeaderBoard2,
}

impl Endpoint {
    pub const ALL: [Endpoint; 5] = [
        Endpoint::PersonalStat,
        Endpoint::RecentMatchHistory,
        Endpoint::Advertisements,
        Endpoint::AvailableLeaderboards,
        Endpoint::LeaderBoard2,
    ];

    /// Name used in counters and in `endpoints` filters (the path's last segment).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::PersonalStat => "GetPersonalStat",
            Endpoint::RecentMatchHistory => "getRecentMatchHistory",
            Endpoint::Advertisements => "findAdvertisements",
            Endpoint::AvailableLeaderboards => "getAvailableLeaderboards",
            Endpoint::LeaderBoard2 => "getLeaderBoard2",
        }
    }

    pub fn path(self) -> &'static str {
        use upstream::paths;
        match self {
            Endpoint::PersonalStat => paths::PERSONAL_STATS,
            Endpoint::RecentMatchHistory => paths::RECENT_MATCH_HISTORY,
            Endpoint::Advertisements => paths::ADVERTISEMENTS,
            Endpoint::AvailableLeaderboards => paths::AVAILABLE_LEADERBOARDS,
            Endpoint::LeaderBoard2 => paths::LEADERBOARD_PAGE,
        }
    }

    /// Case-insensitive path match (upstream's sources disagree on casing).
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.path().eq_ignore_ascii_case(path))
    }

    /// Case-insensitive match on [`Endpoint::name`] or the full path.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
            .or_else(|| Self::from_path(name))
    }

    /// The top-level key the rename fault changes by default, and its drifted name.
    pub fn default_rename(self) -> (&'static str, &'static str) {
        match self {
            Endpoint::PersonalStat | Endpoint::LeaderBoard2 => ("statGroups", "statgroups"),
            Endpoint::RecentMatchHistory => ("matchHistoryStats", "matchHistory"),
            Endpoint::Advertisements => ("matches", "lobbies"),
            Endpoint::AvailableLeaderboards => ("leaderboards", "leaderBoards"),
        }
    }
}

// ---------------------------------------------------------------------- control schema

/// Body of `POST /sim/control` (every field optional; unknown fields are rejected).
/// Applied in order: `reset_counters`, `clear_faults`, `speed`, `frozen`, `advance_ms`,
/// then the fault windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Simulated seconds per real second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen: Option<bool>,
    /// Advance simulated time now (works while frozen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyControl>,
    /// 502/503/504 in turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_errors: Option<FaultWindow>,
    /// Hang until the window ends (at most `hang_ms`), then 504.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<TimeoutWindow>,
    /// 429, with `Retry-After` when `retry_after_secs` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitWindow>,
    /// HTTP 200 with the body cut in half (invalid JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<FaultWindow>,
    /// HTTP 200 with a key renamed (default per endpoint, see [`Endpoint::default_rename`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename_key: Option<RenameWindow>,
    /// HTTP 200 with `{"result":{"code":<code>,"message":"FAILED"}}` and no arrays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_code: Option<ResultCodeWindow>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clear_faults: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset_counters: bool,
}

/// Added delay on every community response; `duration_ms` absent = until changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyControl {
    pub ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// A fault for `duration_ms` of real time on `endpoints` (names or paths; absent = all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultWindow {
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutWindow {
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
    /// Longest hang of one request (default 30 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitWindow {
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameWindow {
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
    /// JSON key to rename (every occurrence); both or neither of `from`/`to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultCodeWindow {
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
    /// Default -1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

// ---------------------------------------------------------------------- active state

/// Longest fault window or delay: far beyond any test, and `Instant` arithmetic cannot
/// overflow.
const MAX_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

fn deadline(now: Instant, ms: u64) -> Instant {
    now + Duration::from_millis(ms.min(MAX_MS))
}

#[derive(Debug, Clone)]
struct Window {
    until: Instant,
    endpoints: Option<Vec<Endpoint>>,
}

impl Window {
    fn new(duration_ms: u64, endpoints: Option<&[String]>, now: Instant) -> Result<Self, SimError> {
        let endpoints = endpoints
            .map(|names| {
                names
                    .iter()
                    .map(|n| {
                        Endpoint::from_name(n).ok_or_else(|| {
                            SimError::InvalidControl(format!("unknown endpoint {n:?}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Self {
            until: deadline(now, duration_ms),
            endpoints,
        })
    }

    fn applies(&self, endpoint: Endpoint, now: Instant) -> bool {
        now < self.until
            && self
                .endpoints
                .as_ref()
                .is_none_or(|e| e.contains(&endpoint))
    }

    fn remaining_ms(&self, now: Instant) -> Option<u64> {
        (now < self.until).then(|| {
            u64::try_from(self.until.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)
        })
    }
}

/// Faults that replace the response before any work is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PreFault {
    /// Status 502, 503 or 504.
    ServerError(u16),
    /// Hang this long, then 504.
    Timeout(Duration),
    RateLimited(Option<u64>),
}

/// Faults applied to a rendered body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PostFault {
    ResultCode(i64),
    Malformed,
    Rename(String, String),
}

/// What to do with one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub pre: Option<PreFault>,
    pub post: Option<PostFault>,
}

#[derive(Debug, Default)]
pub(crate) struct FaultState {
    latency: Duration,
    latency_until: Option<Instant>,
    server_errors: Option<Window>,
    server_error_turn: u64,
    timeouts: Option<(Window, Duration)>,
    rate_limit: Option<(Window, Option<u64>)>,
    malformed: Option<Window>,
    rename: Option<(Window, Option<(String, String)>)>,
    result_code: Option<(Window, i64)>,
}

impl FaultState {
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Install the fault parts of a control. Validates everything before changing anything.
    pub fn apply(&mut self, c: &Control, now: Instant) -> Result<(), SimError> {
        let server_errors = c
            .server_errors
            .as_ref()
            .map(|w| Window::new(w.duration_ms, w.endpoints.as_deref(), now))
            .transpose()?;
        let timeouts = c
            .timeouts
            .as_ref()
            .map(|w| {
                let hang = Duration::from_millis(w.hang_ms.unwrap_or(30_000).min(MAX_MS));
                Window::new(w.duration_ms, w.endpoints.as_deref(), now).map(|win| (win, hang))
            })
            .transpose()?;
        let rate_limit = c
            .rate_limit
            .as_ref()
            .map(|w| {
                Window::new(w.duration_ms, w.endpoints.as_deref(), now)
                    .map(|win| (win, w.retry_after_secs))
            })
            .transpose()?;
        let malformed = c
            .malformed
            .as_ref()
            .map(|w| Window::new(w.duration_ms, w.endpoints.as_deref(), now))
            .transpose()?;
        let rename = c
            .rename_key
            .as_ref()
            .map(|w| {
                let keys = match (&w.from, &w.to) {
                    (Some(from), Some(to)) if !from.is_empty() => Some((from.clone(), to.clone())),
                    (None, None) => None,
                    _ => {
                        return Err(SimError::InvalidControl(
                            "rename_key needs both `from` (non-empty) and `to`, or neither".into(),
                        ))
                    }
                };
                Window::new(w.duration_ms, w.endpoints.as_deref(), now).map(|win| (win, keys))
            })
            .transpose()?;
        let result_code = c
            .result_code
            .as_ref()
            .map(|w| {
                Window::new(w.duration_ms, w.endpoints.as_deref(), now)
                    .map(|win| (win, w.code.unwrap_or(-1)))
            })
            .transpose()?;
        if let Some(l) = &c.latency {
            self.latency = Duration::from_millis(l.ms.min(MAX_MS));
            self.latency_until = l.duration_ms.map(|d| deadline(now, d));
        }
        if server_errors.is_some() {
            self.server_errors = server_errors;
        }
        if timeouts.is_some() {
            self.timeouts = timeouts;
        }
        if rate_limit.is_some() {
            self.rate_limit = rate_limit;
        }
        if malformed.is_some() {
            self.malformed = malformed;
        }
        if rename.is_some() {
            self.rename = rename;
        }
        if result_code.is_some() {
            self.result_code = result_code;
        }
        Ok(())
    }

    fn current_latency(&self, now: Instant) -> Duration {
        match self.latency_until {
            Some(until) if now >= until => Duration::ZERO,
            _ => self.latency,
        }
    }

    /// Decide the faults of one request. Precedence: timeout, 5xx, 429 before the body;
    /// result code, malformed, rename on the body.
    pub fn plan(&mut self, endpoint: Endpoint, now: Instant) -> Plan {
        let pre = if let Some((w, hang)) = self
            .timeouts
            .as_ref()
            .filter(|(w, _)| w.applies(endpoint, now))
        {
            Some(PreFault::Timeout(
                w.until.saturating_duration_since(now).min(*hang),
            ))
        } else if self
            .server_errors
            .as_ref()
            .is_some_and(|w| w.applies(endpoint, now))
        {
            let status = [502, 503, 504][(self.server_error_turn % 3) as usize];
            self.server_error_turn += 1;
            Some(PreFault::ServerError(status))
        } else {
            self.rate_limit
                .as_ref()
                .filter(|(w, _)| w.applies(endpoint, now))
                .map(|(_, retry)| PreFault::RateLimited(*retry))
        };
        let post = if let Some((_, code)) = self
            .result_code
            .as_ref()
            .filter(|(w, _)| w.applies(endpoint, now))
        {
            Some(PostFault::ResultCode(*code))
        } else if self
            .malformed
            .as_ref()
            .is_some_and(|w| w.applies(endpoint, now))
        {
            Some(PostFault::Malformed)
        } else {
            self.rename
                .as_ref()
                .filter(|(w, _)| w.applies(endpoint, now))
                .map(|(_, keys)| {
                    let (from, to) = keys.clone().unwrap_or_else(|| {
                        let (f, t) = endpoint.default_rename();
                        (f.to_owned(), t.to_owned())
                    });
                    PostFault::Rename(from, to)
                })
        };
        Plan {
            latency: self.current_latency(now),
            pre,
            post,
        }
    }

    /// Active knobs with their remaining real time in ms (`latency_ms` is the delay itself).
    pub fn snapshot(&self, now: Instant) -> ActiveFaults {
        ActiveFaults {
            latency_ms: u64::try_from(self.current_latency(now).as_millis()).unwrap_or(u64::MAX),
            server_errors_remaining_ms: self
                .server_errors
                .as_ref()
                .and_then(|w| w.remaining_ms(now)),
            timeouts_remaining_ms: self
                .timeouts
                .as_ref()
                .and_then(|(w, _)| w.remaining_ms(now)),
            rate_limit_remaining_ms: self
                .rate_limit
                .as_ref()
                .and_then(|(w, _)| w.remaining_ms(now)),
            malformed_remaining_ms: self.malformed.as_ref().and_then(|w| w.remaining_ms(now)),
            rename_key_remaining_ms: self.rename.as_ref().and_then(|(w, _)| w.remaining_ms(now)),
            result_code_remaining_ms: self
                .result_code
                .as_ref()
                .and_then(|(w, _)| w.remaining_ms(now)),
        }
    }
}

/// Fault part of `GET /sim/state`: remaining real milliseconds of each active window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveFaults {
    pub latency_ms: u64,
    pub server_errors_remaining_ms: Option<u64>,
    pub timeouts_remaining_ms: Option<u64>,
    pub rate_limit_remaining_ms: Option<u64>,
    pub malformed_remaining_ms: Option<u64>,
    pub rename_key_remaining_ms: Option<u64>,
    pub result_code_remaining_ms: Option<u64>,
}

impl ActiveFaults {
    /// Whether any fault window (latency aside) is still running.
    pub fn any(&self) -> bool {
        [
            self.server_errors_remaining_ms,
            self.timeouts_remaining_ms,
            self.rate_limit_remaining_ms,
            self.malformed_remaining_ms,
            self.rename_key_remaining_ms,
            self.result_code_remaining_ms,
        ]
        .iter()
        .any(Option::is_some)
    }
}

// ---------------------------------------------------------------------- counters

/// How one community request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    BadRequest,
    ServerError,
    Timeout,
    RateLimited,
    Malformed,
    RenamedKey,
    ResultCode,
    /// The client went away before the answer (e.g. it timed out during added latency).
    Abandoned,
}

/// Requests of one endpoint by outcome; `total` = sum of the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCounters {
    pub total: u64,
    pub ok: u64,
    pub bad_request: u64,
    pub server_error: u64,
    pub timeout: u64,
    pub rate_limited: u64,
    pub malformed: u64,
    pub renamed_key: u64,
    pub result_code: u64,
    pub abandoned: u64,
}

/// Request counters since start (or the last reset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounters {
    /// Community requests (all endpoints, all outcomes).
    pub total: u64,
    /// Requests to paths that are no endpoint (404/405), not in `total`.
    pub not_found: u64,
    /// Keyed by [`Endpoint::name`]; every endpoint is present.
    pub by_endpoint: BTreeMap<String, EndpointCounters>,
}

impl Default for RequestCounters {
    fn default() -> Self {
        Self {
            total: 0,
            not_found: 0,
            by_endpoint: Endpoint::ALL
                .iter()
                .map(|e| (e.name().to_owned(), EndpointCounters::default()))
                .collect(),
        }
    }
}

impl RequestCounters {
    pub fn record(&mut self, endpoint: Endpoint, outcome: Outcome) {
        self.total += 1;
        let c = self
            .by_endpoint
            .entry(endpoint.name().to_owned())
            .or_default();
        c.total += 1;
        let slot = match outcome {
            Outcome::Ok => &mut c.ok,
            Outcome::BadRequest => &mut c.bad_request,
            Outcome::ServerError => &mut c.server_error,
            Outcome::Timeout => &mut c.timeout,
            Outcome::RateLimited => &mut c.rate_limited,
            Outcome::Malformed => &mut c.malformed,
            Outcome::RenamedKey => &mut c.renamed_key,
            Outcome::ResultCode => &mut c.result_code,
            Outcome::Abandoned => &mut c.abandoned,
        };
        *slot += 1;
    }

    /// Counters of one endpoint.
    pub fn endpoint(&self, endpoint: Endpoint) -> EndpointCounters {
        self.by_endpoint
            .get(endpoint.name())
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_by_themselves() {
        let mut f = FaultState::default();
        let t0 = Instant::now();
        let c = Control {
            server_errors: Some(FaultWindow {
                duration_ms: 100,
                endpoints: Some(vec!["getrecentmatchhistory".into()]),
            }),
            ..Control::default()
        };
        f.apply(&c, t0).unwrap();
        let p = f.plan(Endpoint::RecentMatchHistory, t0);
        assert_eq!(p.pre, Some(PreFault::ServerError(502)));
        let p = f.plan(Endpoint::RecentMatchHistory, t0);
        assert_eq!(p.pre, Some(PreFault::ServerError(503)));
        assert_eq!(f.plan(Endpoint::PersonalStat, t0).pre, None, "filtered");
        let later = t0 + Duration::from_millis(100);
        assert_eq!(f.plan(Endpoint::RecentMatchHistory, later).pre, None);
        assert!(!f.snapshot(later).any());
    }

    #[test]
    fn invalid_controls_change_nothing() {
        let mut f = FaultState::default();
        let now = Instant::now();
        let c = Control {
            malformed: Some(FaultWindow {
                duration_ms: 100,
                endpoints: None,
            }),
            rate_limit: Some(RateLimitWindow {
                duration_ms: 100,
                endpoints: Some(vec!["nope".into()]),
                retry_after_secs: None,
            }),
            ..Control::default()
        };
        assert!(f.apply(&c, now).is_err());
        assert_eq!(f.plan(Endpoint::PersonalStat, now), Plan::default());
    }

    #[test]
    fn endpoint_lookup() {
        assert_eq!(
            Endpoint::from_path("/COMMUNITY/leaderboard/getpersonalstat"),
            Some(Endpoint::PersonalStat)
        );
        assert_eq!(
            Endpoint::from_name("GETLEADERBOARD2"),
            Some(Endpoint::LeaderBoard2)
        );
        assert_eq!(Endpoint::from_path("/community/leaderboard/nope"), None);
    }
}
