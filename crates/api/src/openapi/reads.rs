//! The public reads, the infra routes and the stream, as the routers in this crate serve them.
//! Response bodies are the handlers' own types; query bounds are the handlers' (`query.rs`);
//! names, tags and parameters of the original's operations are the original's.

use schemars::json_schema;

use super::shapes::{Health, MatchState, ServiceStatus};
use super::{int_in, int_or_null, Doc, ErrorBody, Op};
use crate::audit::AuditPage;
use crate::catalog::{CivilizationRead, LeaderboardRead, ListEnvelope};
use crate::history::StandingsHistory;
use crate::insights::{
    CivStats, HeadToHeadMatch, PlayerProgression, TeamStandingRow, TournamentSummary,
};
use crate::matches::{MatchDetail, MatchRead};
use crate::players::{PlayerDetail, PlayerRead};
use crate::standings::StandingRow;
use crate::tournaments::TournamentRead;

/// `Cache-Control` classes of `respond::CacheClass` (auth-aware reads are private with the
/// auth cookie).
const STATIC: &str = "public, s-maxage=15, max-age=0, must-revalidate";
const AUTH_AWARE: &str =
    "public, s-maxage=15, max-age=0, must-revalidate (private, no-store with the auth cookie)";
const LIVE: &str = "public, s-maxage=10, max-age=0, must-revalidate";
const UNAVAILABLE: &str = "The database is unreachable (answered within ~2 s, with \
                           `Retry-After`): `Service temporarily unavailable`.";
const NO_TOURNAMENT: &str = "`Tournament not found`.";
/// The original documents a 422 on every operation with parameters.
const BAD_PATH: &str = "A path value of the wrong type (the original's FastAPI validation).";

pub fn document_reads(doc: &mut Doc) {
    infra(doc);
    catalog(doc);
    tournaments(doc);
    standings(doc);
    insights(doc);
    players(doc);
    matches(doc);
    audit(doc);
    chat_text(doc);
    stream(doc);
}

/// A read of one tournament: 404 for an unknown slug, 503 without a database. (Reads held in
/// the response cache keep answering 200 while the database is down, with
/// `X-Served-Stale: database-unavailable`: see `docs/architecture.md`, "Database outage".)
fn tournament_read<'o, 'a>(op: &'o mut Op<'a>, cache: &'static str) -> &'o mut Op<'a> {
    op.conditional(cache)
        .error(404, NO_TOURNAMENT)
        .error(503, UNAVAILABLE)
}

fn infra(doc: &mut Doc) {
    doc.get("/", |op| {
        op.id("root")
            .summary("Service identity")
            .json::<ServiceStatus>(
                200,
                "`{\"status\": \"ok\", \"service\": \"aoe2-live-standings-api\"}`.",
            )
            .cache("no-store");
    });
    doc.get("/health", |op| {
        op.id("health_check")
            .summary("Readiness: database, pool usage and projector state")
            .description(
                "Readiness, answered within 2 s. 200 `healthy`: the database answers and every \
                 projector applies events. 200 `degraded`: a poison event is quarantined (only \
                 its tournament is stale; `problems` and `quarantined` name the event and its \
                 tournament). 503 `degraded`: a projector is parked (reads are stale), with its \
                 error. 503 `unhealthy` (with `Retry-After`): the database is unreachable or did \
                 not answer within 1.5 s. `problems` names each fault (`kind`: \
                 `database_unreachable`, `projector_parked`, `event_quarantined`, ...). Liveness \
                 (the process answers) is `GET /`.",
            )
            .json::<Health>(200, "Healthy, or degraded by a quarantined event.")
            .json::<Health>(
                503,
                "Degraded (a projector is parked) or unhealthy (the database is unreachable).",
            )
            .cache("no-store");
    });
    doc.get("/.well-known/security.txt", |op| {
        op.id("security_txt")
            .tag("infra")
            .summary("RFC 9116 security contact")
            .content(
                200,
                "The security.txt file.",
                "text/plain",
                json_schema!({"type": "string"}),
            )
            .cache("no-store");
    });
    doc.get("/metrics", |op| {
        op.id("metrics")
            .tag("infra")
            .summary("Prometheus metrics")
            .description(
                "OpenMetrics text: requests by method, route and status, latency, SSE \
                 subscribers, projector lag, poller results. Not rate limited; `no-store`.",
            )
            .content(
                200,
                "The metrics exposition.",
                "application/openmetrics-text",
                json_schema!({"type": "string"}),
            )
            .cache("no-store");
    });
    doc.get("/v1/flags", |op| {
        op.id("list_flags")
            .tag("features")
            .summary("Feature flags")
            .description("`FEATURE_<NAME>` environment variables as `{name: bool}`.")
            .json_schema(
                200,
                "Flag name (lower case) → on.",
                json_schema!({"type": "object", "additionalProperties": {"type": "boolean"}}),
            )
            .cache("no-store");
    });
}

fn catalog(doc: &mut Doc) {
    doc.get("/v1/leaderboards", |op| {
        op.id("list_leaderboards")
            .tag("leaderboards")
            .summary("Ladders, by id")
            .json::<ListEnvelope<LeaderboardRead>>(200, "Every known leaderboard.")
            .conditional(STATIC)
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/civilizations", |op| {
        op.id("list_civilizations")
            .tag("civilizations")
            .summary("Civilizations, by id")
            .json::<ListEnvelope<CivilizationRead>>(200, "Every known civilization.")
            .conditional(STATIC)
            .error(503, UNAVAILABLE);
    });
}

fn tournaments(doc: &mut Doc) {
    doc.get("/v1/tournaments", |op| {
        op.id("list_tournaments")
            .tag("tournaments")
            .summary("All tournaments, newest first")
            .json::<Vec<TournamentRead>>(200, "A bare array (no envelope).")
            .conditional(STATIC)
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{tournament_slug}", |op| {
        op.id("get_tournament_detail")
            .tag("tournaments")
            .summary("One tournament")
            .json::<TournamentRead>(200, "The tournament.")
            .error(422, BAD_PATH);
        tournament_read(op, STATIC);
    });
}

fn standings(doc: &mut Doc) {
    doc.get("/v1/tournaments/{tournament_slug}/standings", |op| {
        op.id("get_standings")
            .tag("tournaments")
            .summary("Per-player standings")
            .description("Rows in rank order: the position is the array index.")
            .json::<ListEnvelope<StandingRow>>(200, "The table.")
            .error(422, BAD_PATH);
        tournament_read(op, AUTH_AWARE);
    });
    doc.get(
        "/v1/tournaments/{tournament_slug}/standings/history",
        |op| {
            op.id("get_standings_history")
                .tag("tournaments")
                .summary("Positions over time")
                .json::<StandingsHistory>(200, "Buckets, and each player's and team's positions.")
                .error(422, BAD_PATH);
            tournament_read(op, AUTH_AWARE);
        },
    );
    doc.get("/v1/tournaments/{tournament_slug}/teams/standings", |op| {
        op.id("get_team_standings")
            .tag("tournaments")
            .summary("Per-team standings")
            .json::<ListEnvelope<TeamStandingRow>>(200, "Teams in rank order.")
            .error(422, BAD_PATH);
        tournament_read(op, AUTH_AWARE);
    });
}

fn insights(doc: &mut Doc) {
    doc.get("/v1/tournaments/{tournament_slug}/civ-stats", |op| {
        op.id("get_civ_stats")
            .tag("tournaments")
            .summary("Civilization picks and wins in the window")
            .json::<CivStats>(200, "Overall and per player.")
            .error(422, BAD_PATH);
        tournament_read(op, AUTH_AWARE);
    });
    doc.get("/v1/tournaments/{tournament_slug}/summary", |op| {
        op.id("get_summary")
            .tag("tournaments")
            .summary("Summary cards")
            .query(
                "win_rate_min_games",
                "Games a player needs for the best-win-rate card.",
                json_schema!({"type": "integer", "minimum": 1, "default": 5}),
            )
            .json::<TournamentSummary>(200, "The cards (null when nobody qualifies).")
            .error(422, "`win_rate_min_games` is not an integer ≥ 1.");
        tournament_read(op, AUTH_AWARE);
    });
    doc.get("/v1/tournaments/{tournament_slug}/head-to-head", |op| {
        op.id("get_head_to_head")
            .tag("tournaments")
            .summary("Games between rostered players")
            .query("limit", "Games, newest first.", int_in(1, 200, 50))
            .json::<ListEnvelope<HeadToHeadMatch>>(200, "The games.")
            .error(422, "`limit` outside 1..=200.");
        tournament_read(op, AUTH_AWARE);
    });
    doc.get("/v1/tournaments/{tournament_slug}/progression", |op| {
        op.id("get_progression")
            .tag("tournaments")
            .summary("Rating after each game in the window")
            .json::<ListEnvelope<PlayerProgression>>(200, "One series per player.")
            .error(422, BAD_PATH);
        tournament_read(op, AUTH_AWARE);
    });
}

fn players(doc: &mut Doc) {
    doc.get("/v1/tournaments/{tournament_slug}/players", |op| {
        op.id("list_players")
            .tag("players")
            .summary("The roster, by name")
            .description(
                "Linked players appear after their first stats poll; unlinked entries always.",
            )
            .query(
                "leaderboard_id",
                "Only ratings on this ladder (players are listed either way).",
                int_or_null(),
            )
            .json::<ListEnvelope<PlayerRead>>(200, "Roster entries.")
            .error(422, "`leaderboard_id` is not an integer.");
        tournament_read(op, AUTH_AWARE);
    });
    doc.get(
        "/v1/tournaments/{tournament_slug}/players/{tournament_player_id}",
        |op| {
            op.id("get_player")
                .tag("players")
                .summary("One roster entry with recent matches")
                .query(
                    "match_limit",
                    "Recent matches (any ladder), newest first.",
                    int_in(1, 100, 20),
                )
                .json::<PlayerDetail>(200, "The player.")
                .error(
                    422,
                    "`tournament_player_id` is not an integer, or `match_limit` outside 1..=100.",
                );
            tournament_read(op, AUTH_AWARE).error(
                404,
                "`Tournament not found` or `Player not found in this tournament`.",
            );
        },
    );
}

fn matches(doc: &mut Doc) {
    doc.get("/v1/tournaments/{tournament_slug}/matches", |op| {
        let state = op.doc.responses.subschema_for::<Option<MatchState>>();
        op.id("list_matches")
            .tag("matches")
            .summary("Matches of rostered players, newest first")
            .description("Not windowed and not limited to the tournament's ladder by default.")
            .query(
                "profile_id",
                "Only matches this profile played.",
                int_or_null(),
            )
            .query(
                "leaderboard_id",
                "Only matches on this ladder.",
                int_or_null(),
            )
            .query("state", "Only matches in this state.", state)
            .query("limit", "Matches, newest first.", int_in(1, 200, 50))
            .json::<ListEnvelope<MatchRead>>(200, "The matches, players embedded.")
            .error(
                422,
                "A filter is not a valid value, or `limit` outside 1..=200.",
            );
        tournament_read(op, STATIC);
    });
    doc.get(
        "/v1/tournaments/{tournament_slug}/matches/{match_id}",
        |op| {
            op.id("get_match")
                .tag("matches")
                .summary("One match of a rostered player")
                .json::<MatchDetail>(200, "The match.")
                .error(422, "`match_id` is not an integer.");
            tournament_read(
                op,
                "public, s-maxage=60, max-age=0, must-revalidate when completed, else no-store",
            )
            .error(404, "`Tournament not found` or `Match not found`.");
        },
    );
    doc.get("/v1/tournaments/{tournament_slug}/live", |op| {
        op.id("get_live")
            .tag("live")
            .summary("Open lobbies and games in progress of rostered players")
            .json::<ListEnvelope<MatchRead>>(200, "Live matches (players usually empty).")
            .error(422, BAD_PATH);
        tournament_read(op, LIVE);
    });
}

/// Ours: one line of `text/plain` for chat bots (Nightbot / StreamElements `urlfetch`).
fn chat_text(doc: &mut Doc) {
    let line = || json_schema!({"type": "string", "maxLength": 399});
    doc.get("/v1/tournaments/{tournament_slug}/text/standings", |op| {
        op.id("get_standings_text")
            .tag("chat text")
            .summary("The top of the standings as one chat line")
            .description(
                "`Demo Cup: 1. Alice 2130 (12-3) | 2. Bob 2101 (10-5) | ...`: name, current \
                 rating and tournament record, in standings order, as many as fit in 399 \
                 characters.",
            )
            .query("top", "How many players.", int_in(1, 20, 5))
            .content(200, "One line.", "text/plain; charset=utf-8", line())
            .error(422, "`top` outside 1..=20.");
        tournament_read(op, AUTH_AWARE);
    });
    doc.get("/v1/tournaments/{tournament_slug}/text/player", |op| {
        op.id("get_player_text")
            .tag("chat text")
            .summary("One player as one chat line")
            .description(
                "`Alice: #1 of 16 in Demo Cup | rating 2130 (peak 2150) | ladder #412 | 12-3 in \
                 the tournament | W4 | playing now`.",
            )
            .required_query(
                "q",
                "Profile id, alias or roster name (case-insensitive; an exact match wins over \
                 a prefix).",
                json_schema!({"type": "string", "minLength": 1, "maxLength": 64}),
            )
            .content(200, "One line.", "text/plain; charset=utf-8", line())
            .error(422, "`q` missing, blank or over 64 characters.");
        tournament_read(op, AUTH_AWARE).error(404, "`Tournament not found` or `Player not found`.");
    });
}

/// Ours: the audit trail and the standings at a past instant, as operations of their own.
fn audit(doc: &mut Doc) {
    doc.get("/v1/tournaments/{tournament_slug}/events", |op| {
        op.id("list_tournament_events")
            .tag("audit")
            .summary("Audit trail: who changed what, when")
            .description("The tournament's events in log order, paged by position.")
            .query(
                "after",
                "Log position to continue after (`next_after` of the previous page).",
                json_schema!({"type": "integer", "minimum": 0, "default": 0}),
            )
            .query("limit", "Events per page.", int_in(1, 200, 50))
            .json::<AuditPage>(200, "One page.")
            .error(422, "`after` < 0, or `limit` outside 1..=200.");
        tournament_read(op, "no-store");
    });
    doc.get("/v1/tournaments/{tournament_slug}/standings/as-of", |op| {
        op.id("get_standings_as_of")
            .tag("audit")
            .summary("Per-player standings as they stood at a past instant")
            .description(
                "The table recomputed from the events recorded by `as_of`: the roster, teams \
                 and configuration then, each player's figures as last observed then, the \
                 matches recorded by then. Live indicators read false. (`GET …/standings?as_of=` \
                 answers the same, for existing links.)",
            )
            .required_query(
                "as_of",
                "The instant (RFC 3339; a naive time reads as UTC; years 1 to 9999).",
                json_schema!({"type": "string", "format": "date-time"}),
            )
            .json::<ListEnvelope<StandingRow>>(200, "The table at that instant.")
            .error(422, "`as_of` is missing or not a datetime.");
        tournament_read(op, AUTH_AWARE);
    });
}

/// Served by `sse::LeanListener` / `sse::router`, outside this crate's router. Its parameters
/// are described, not listed: the original's operation has none, and a listed one would
/// change the signature of every client generated from it.
fn stream(doc: &mut Doc) {
    doc.get("/v1/stream", |op| {
        op.id("stream")
            .tag("stream")
            .summary("Server-sent nudges (SSE)")
            .description(
                "`text/event-stream`. First `retry: 5000`, then `event: hello` \
                 (`id: H`, `data: {\"last_id\": H}`), or the missed nudges after a resumable \
                 `Last-Event-ID`, or `event: resync` when it cannot be resumed (refetch \
                 everything). Then nudges: `id: <nudge id>` (nudges sent together, one per \
                 kind per coalescing window, carry it on the last one only), \
                 `event: standings|matches|live`, \
                 `data: {\"polled_at\": \"<ISO-8601, +00:00>\", \"tournament_ids\": null | \
                 [int, ...]}` (`null`: everyone refetches; a list: clients of those \
                 `TournamentRead.id`s). `: heartbeat` comments keep proxies alive; the server \
                 closes after 600 s and `EventSource` reconnects. Clients fetch over REST on \
                 connect; nudges only say when to fetch again.\n\n\
                 Optional query parameters: `tournament` (comma-separated slugs, at most 20: \
                 only nudges for these tournaments) and `last_event_id` (resume after this \
                 nudge id: an integer >= 0, anything else is 422; the `Last-Event-ID` \
                 header, which `EventSource` sends on reconnect, wins, and one that cannot be \
                 resumed gets `resync`).\n\n\
                 Limits: each connect counts against the client's rate limit (429 with \
                 `Retry-After`), and a client holds at most `MAX_STREAMS_PER_CLIENT` open \
                 streams (default 64; 429 with `Retry-After` past it).",
            )
            .content(
                200,
                "The event stream: events `hello`, `standings`, `matches`, `live`, `resync`.",
                "text/event-stream",
                json_schema!({"type": "string"}),
            )
            .cache("no-store")
            .error(404, "`Tournament not found` (a filter slug is unknown).")
            .errors(
                422,
                "`At most 20 tournaments per stream`, or `last_event_id must be an integer \
                 >= 0`.",
                &[ErrorBody::Detail],
            )
            .error(
                503,
                "Starting, shutting down, or too many open streams; retry.",
            );
    });
}
