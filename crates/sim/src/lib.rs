//! A simulated Relic community API for AoE2:DE, over real HTTP, deterministic from a seed.
//!
//! Used by tests, benchmarks and `standings demo` / `standings sim` as the upstream. It
//! serves the payload shapes of `reference/upstream.md` (every documented field, including
//! the ones our client ignores) from a simulated ladder, and has knobs for every upstream
//! failure mode we know of.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let (addr, sim, _server) = sim::spawn(sim::SimConfig { frozen: true, ..Default::default() }).await?;
//! let roster = sim.roster(2);
//! let match_id = sim.play_1v1(roster[0], roster[1]).expect("known players");
//! sim.server_errors_for(std::time::Duration::from_millis(300));
//! # let _ = (addr, match_id); Ok(()) }
//! ```
//!
//! # The ladder ([`Ladder`], [`SimConfig`])
//!
//! - `players` accounts: profile ids (< 10M) and solo statgroup ids (> 10M) never coincide;
//!   `/steam/<id>` names and ~12% `/xboxlive/<40 hex>`; ~2% blank aliases; ~40% with a clan
//!   tag; stats rows on ladders 3 (1v1 RM), 4 (team RM), 13 (1v1 EW), 14 (team EW), not every
//!   player on every ladder. Some rows have no wins (`highestrating` `0` or absent); rows with
//!   fewer than 10 games or no game for 28 days are unranked (`rank`/`regionrank` `-1`).
//! - Games: a Poisson stream of matchmaking attempts sized so that players average
//!   `activity` ranked games per simulated hour (less when `activity × game length` nears
//!   1: busy players are skipped). 1v1 RM/EW and 2v2–4v4 team games (matchtypes 6–9,
//!   26–29) between idle players of similar rating; the winner is drawn from the Elo
//!   expectation of the team averages, ratings move by K = 32 (at least 1 point), and
//!   wins/losses, streaks, peaks and `lastmatchdate` update consistently. Each player keeps
//!   the last `history_window` (default 20) finished matches.
//! - Match quirks: the report row's civ is `0` for ~15% of players while the member row has
//!   the assigned civ; `mapname` is another map's `.rms` for ~half the ranked games while
//!   options key 10 is the real (verified) map; `description: "AUTOMATCH"`; ~85% of players
//!   have a replay URL, some with `size: -1`.
//! - Lobbies: exactly `lobbies` custom lobbies are open at any time, each replaced by a new
//!   one when it closes (players join while they are open; half of those with 2+ players
//!   become an unranked custom game, matchtype 0, with the lobby's id, in the members'
//!   histories). ~70% use a verified map (key 10) with `mapname: "my map"`, the rest a
//!   custom RMS (key 10 = `0`) with its real file name. `state` is always `0`. Lobbies opened
//!   by [`SimHandle::open_lobby`] come on top and stay until closed.
//! - Time: event-driven at whole simulated seconds. While serving, simulated time follows
//!   the real clock at `speed` simulated seconds per real second; `frozen` stops it, and
//!   then every payload stays byte-identical between polls. Explicit controls
//!   ([`SimHandle::advance`], [`SimHandle::play_match`], lobbies) work while frozen. Same
//!   seed + same sequence of controls → same payloads; `advance(a); advance(b)` equals
//!   `advance(a + b)`. One `advance` plays at most [`MAX_ADVANCE`] (30 days), and one clock
//!   sync at most a simulated day (a clock that falls further behind skips ahead), so no
//!   control can stall the server.
//!
//! # HTTP ([`serve`], [`spawn`], [`router`])
//!
//! `GET` on `/community/leaderboard/GetPersonalStat`, `.../getRecentMatchHistory`,
//! `/community/advertisement/findAdvertisements` (`start`, 100 per page),
//! `.../getAvailableLeaderboards` and `.../getLeaderBoard2` (`leaderboard_id`, 1-based
//! `start`, `count` clamped to 1..=200, `sortBy=0` sorts by wins, else by rating; only ranked
//! players are listed, `rankTotal` = ranked players). Paths match case-insensitively.
//!
//! - `title=age2` is required; otherwise 400.
//! - Player lists are one bracketed parameter, URL-decoded then parsed: `profile_ids=[1,2]`,
//!   `profile_names=["/steam/…"]`, `aliases=[Name]` (or quoted). `[null]`, `[None]`,
//!   missing brackets or non-integers → 400. More than 1000 items → 400.
//! - **Unknown profile ids (simulator's choice, upstream's behaviour is undocumented)**: left
//!   out of every array; the call still succeeds (`result.code` 0). A batch of only unknown
//!   ids returns empty arrays.
//! - A batched `getRecentMatchHistory` lists each requested player's window in turn (newest
//!   first), so a match between two requested players appears twice, as upstream does;
//!   `profiles` has every participant once.
//! - Bad requests get HTTP 400 with `{"result":{"code":-1,"message":…}}`; unknown paths 404,
//!   other methods 405.
//!
//! # Fault knobs ([`Control`], `POST /sim/control`)
//!
//! Windows run on real time and end by themselves; each can be limited to some
//! `endpoints` (names like `"GetPersonalStat"` or paths). Precedence when several are active:
//! timeout, 5xx, 429 (instead of the body), then result code, malformed, renamed key (on the
//! body). Latency is added before everything.
//!
//! ```json
//! {
//!   "speed": 60.0, "frozen": false, "advance_ms": 3600000,
//!   "latency": {"ms": 300, "duration_ms": 5000},
//!   "server_errors": {"duration_ms": 300, "endpoints": ["getRecentMatchHistory"]},
//!   "timeouts": {"duration_ms": 300, "hang_ms": 30000},
//!   "rate_limit": {"duration_ms": 300, "retry_after_secs": 2},
//!   "malformed": {"duration_ms": 300},
//!   "rename_key": {"duration_ms": 300, "from": "statGroups", "to": "statgroups"},
//!   "result_code": {"duration_ms": 300, "code": -1},
//!   "clear_faults": true, "reset_counters": true
//! }
//! ```
//!
//! - `server_errors`: 502, 503, 504 in turn, HTML body.
//! - `timeouts`: the request hangs until the window ends (at most `hang_ms`, default 30 s),
//!   then gets a 504.
//! - `rate_limit`: 429, with `Retry-After` when `retry_after_secs` is set.
//! - `malformed`: HTTP 200 with the real body cut in half.
//! - `rename_key`: HTTP 200 with every `"from":` key renamed; default per endpoint:
//!   `statGroups`→`statgroups`, `matchHistoryStats`→`matchHistory`, `matches`→`lobbies`,
//!   `leaderboards`→`leaderBoards`.
//! - `result_code`: HTTP 200 with `{"result":{"code":-1,"message":"FAILED"}}`, no arrays.
//!
//! The answer (and `GET /sim/state`) is a [`SimState`]: simulated time, clock, ladder
//! counts, remaining fault windows, and request counters per endpoint and outcome
//! ([`RequestCounters`]) so benchmarks can report upstream requests per cycle.
//! Other controls: `POST /sim/play` (a [`MatchSpec`] → `{"match_id"}`),
//! `POST /sim/lobbies` (`{"members":[…]}` → `{"lobby_id"}`), `POST /sim/lobbies/close`
//! (`{"lobby_id"}` → `{"closed"}`), `GET /sim/roster?count=n` (`{"profile_ids":[…]}`).
//!
//! # Stream platforms ([`streams`])
//!
//! A separate server fakes Twitch (token endpoint, Helix `streams`) and the YouTube Data API
//! (`channels`, `search`) for the stream poller: [`spawn_streams`], [`serve_streams`],
//! controlled through [`StreamsFake`] or `/fake/*`.

mod blobs;
pub mod config;
pub mod faults;
mod handle;
mod http;
pub mod ladder;
pub mod model;
mod payloads;
pub mod streams;
pub mod traffic;

pub use config::{SimConfig, ACTIVITY_HIGH, ACTIVITY_LOW, MAX_PLAYERS};
pub use faults::{
    ActiveFaults, Control, Endpoint, EndpointCounters, FaultWindow, LatencyControl, Outcome,
    RateLimitWindow, RenameWindow, RequestCounters, ResultCodeWindow, TimeoutWindow,
};
pub use handle::{SimHandle, SimState};
pub use http::{router, serve, spawn};
pub use ladder::{rms_name, Ladder, MatchSpec, SimError, MAX_ADVANCE};
pub use model::*;
pub use payloads::LOBBY_PAGE_SIZE;
pub use streams::{
    serve_streams, spawn_streams, streams_router, StreamsCounters, StreamsFake, StreamsFakeConfig,
};
pub use traffic::Traffic;

/// Default bind address of `standings sim`.
pub const DEFAULT_BIND: &str = "127.0.0.1:8100";
