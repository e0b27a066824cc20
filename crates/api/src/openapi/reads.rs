//! The public reads, the infra routes and the stream, as the routers in this crate serve them.
//! Response bodies are the handlers' own types; query bounds are the handlers' (`query.rs`).

use schemars::json_schema;

use super::shapes::{Health, ServiceStatus};
use super::{int, int_in, Doc};
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
const UNAVAILABLE: &str = "The database is unreachable: `Service temporarily unavailable`.";
const NO_TOURNAMENT: &str = "`Tournament not found`.";

pub fn document_reads(doc: &mut Doc) {
    infra(doc);
    catalog(doc);
    tournaments(doc);
    standings(doc);
    insights(doc);
    players(doc);
    matches(doc);
    audit(doc);
    stream(doc);
}

fn infra(doc: &mut Doc) {
    doc.get("/", |op| {
        op.id("root")
            .tag("infra")
            .summary("Service identity")
            .json::<ServiceStatus>(
                200,
                "`{\"status\": \"ok\", \"service\": \"aoe2-live-standings-api\"}`.",
            )
            .cache("no-store");
    });
    doc.get("/health", |op| {
        op.id("health")
            .tag("infra")
            .summary("Database, pool usage and projector state")
            .description(
                "`healthy`; `degraded` (still 200) when a projector is parked, with its error; \
                 503 `unhealthy` when the database is unreachable.",
            )
            .json::<Health>(200, "Healthy or degraded.")
            .json::<Health>(503, "Unhealthy: the database is unreachable.")
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
        op.id("get_flags")
            .tag("infra")
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
            .tag("catalog")
            .summary("Ladders, by id")
            .json::<ListEnvelope<LeaderboardRead>>(200, "Every known leaderboard.")
            .conditional(STATIC)
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/civilizations", |op| {
        op.id("list_civilizations")
            .tag("catalog")
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
    doc.get("/v1/tournaments/{slug}", |op| {
        op.id("get_tournament")
            .tag("tournaments")
            .summary("One tournament")
            .json::<TournamentRead>(200, "The tournament.")
            .conditional(STATIC)
            .error(404, NO_TOURNAMENT)
            .error(503, UNAVAILABLE);
    });
}

fn standings(doc: &mut Doc) {
    doc.get("/v1/tournaments/{slug}/standings", |op| {
        op.id("get_standings")
            .tag("standings")
            .summary("Per-player standings")
            .description("Rows in rank order: the position is the array index.")
            .query(
                "as_of",
                "The table as it stood at this instant, recomputed from the events recorded by \
                 then (RFC 3339; a naive time reads as UTC).",
                json_schema!({"type": "string", "format": "date-time"}),
            )
            .json::<ListEnvelope<StandingRow>>(200, "The table.")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(422, "`as_of` is not a datetime.")
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{slug}/standings/history", |op| {
        op.id("get_standings_history")
            .tag("standings")
            .summary("Positions over time")
            .json::<StandingsHistory>(200, "Buckets, and each player's and team's positions.")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{slug}/teams/standings", |op| {
        op.id("get_team_standings")
            .tag("standings")
            .summary("Per-team standings")
            .json::<ListEnvelope<TeamStandingRow>>(200, "Teams in rank order.")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(503, UNAVAILABLE);
    });
}

fn insights(doc: &mut Doc) {
    doc.get("/v1/tournaments/{slug}/civ-stats", |op| {
        op.id("get_civ_stats")
            .tag("insights")
            .summary("Civilization picks and wins in the window")
            .json::<CivStats>(200, "Overall and per player.")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{slug}/summary", |op| {
        op.id("get_summary")
            .tag("insights")
            .summary("Summary cards")
            .query(
                "win_rate_min_games",
                "Games a player needs for the best-win-rate card.",
                json_schema!({"type": "integer", "format": "int64", "minimum": 1, "default": 5}),
            )
            .json::<TournamentSummary>(200, "The cards (null when nobody qualifies).")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(422, "`win_rate_min_games` is not an integer ≥ 1.")
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{slug}/head-to-head", |op| {
        op.id("get_head_to_head")
            .tag("insights")
            .summary("Games between rostered players")
            .query("limit", "Games, newest first.", int_in(1, 200, 50))
            .json::<ListEnvelope<HeadToHeadMatch>>(200, "The games.")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(422, "`limit` outside 1..=200.")
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{slug}/progression", |op| {
        op.id("get_progression")
            .tag("insights")
            .summary("Rating after each game in the window")
            .json::<ListEnvelope<PlayerProgression>>(200, "One series per player.")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(503, UNAVAILABLE);
    });
}

fn players(doc: &mut Doc) {
    doc.get("/v1/tournaments/{slug}/players", |op| {
        op.id("list_players")
            .tag("players")
            .summary("The roster, by name")
            .description(
                "Linked players appear after their first stats poll; unlinked entries always.",
            )
            .query(
                "leaderboard_id",
                "Only ratings on this ladder (players are listed either way).",
                int(),
            )
            .json::<ListEnvelope<PlayerRead>>(200, "Roster entries.")
            .conditional(AUTH_AWARE)
            .error(404, NO_TOURNAMENT)
            .error(422, "`leaderboard_id` is not an integer.")
            .error(503, UNAVAILABLE);
    });
    doc.get(
        "/v1/tournaments/{slug}/players/{tournament_player_id}",
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
                .conditional(AUTH_AWARE)
                .error(
                    404,
                    "`Tournament not found` or `Player not found in this tournament`.",
                )
                .error(
                    422,
                    "`tournament_player_id` is not an integer, or `match_limit` outside 1..=100.",
                )
                .error(503, UNAVAILABLE);
        },
    );
}

fn matches(doc: &mut Doc) {
    doc.get("/v1/tournaments/{slug}/matches", |op| {
        op.id("list_matches")
            .tag("matches")
            .summary("Matches of rostered players, newest first")
            .description("Not windowed and not limited to the tournament's ladder by default.")
            .query("profile_id", "Only matches this profile played.", int())
            .query("leaderboard_id", "Only matches on this ladder.", int())
            .query(
                "state",
                "Only matches in this state.",
                json_schema!({"type": "string", "enum": ["staging", "in_progress", "completed"]}),
            )
            .query("limit", "Matches, newest first.", int_in(1, 200, 50))
            .json::<ListEnvelope<MatchRead>>(200, "The matches, players embedded.")
            .conditional(STATIC)
            .error(404, NO_TOURNAMENT)
            .error(
                422,
                "A filter is not a valid value, or `limit` outside 1..=200.",
            )
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{slug}/matches/{match_id}", |op| {
        op.id("get_match")
            .tag("matches")
            .summary("One match of a rostered player")
            .json::<MatchDetail>(200, "The match.")
            .conditional(
                "public, s-maxage=60, max-age=0, must-revalidate when completed, else no-store",
            )
            .error(404, "`Tournament not found` or `Match not found`.")
            .error(503, UNAVAILABLE);
    });
    doc.get("/v1/tournaments/{slug}/live", |op| {
        op.id("list_live_matches")
            .tag("matches")
            .summary("Open lobbies and games in progress of rostered players")
            .json::<ListEnvelope<MatchRead>>(200, "Live matches (players usually empty).")
            .conditional(LIVE)
            .error(404, NO_TOURNAMENT)
            .error(503, UNAVAILABLE);
    });
}

fn audit(doc: &mut Doc) {
    doc.get("/v1/tournaments/{slug}/events", |op| {
        op.id("list_tournament_events")
            .tag("tournaments")
            .summary("Audit trail: who changed what, when")
            .description("The tournament's events in log order, paged by position.")
            .query(
                "after",
                "Log position to continue after (`next_after` of the previous page).",
                json_schema!({"type": "integer", "format": "int64", "minimum": 0, "default": 0}),
            )
            .query("limit", "Events per page.", int_in(1, 200, 50))
            .json::<AuditPage>(200, "One page.")
            .conditional("no-store")
            .error(404, NO_TOURNAMENT)
            .error(422, "`after` < 0, or `limit` outside 1..=200.")
            .error(503, UNAVAILABLE);
    });
}

/// Served by `sse::LeanListener` / `sse::router`, outside this crate's router.
fn stream(doc: &mut Doc) {
    doc.get("/v1/stream", |op| {
        op.id("stream")
            .tag("stream")
            .summary("Server-sent nudges (SSE)")
            .description(
                "`text/event-stream`. First `retry: 5000`, then `event: hello` \
                 (`id: H`, `data: {\"last_id\": H}`), or the missed nudges after a resumable \
                 `Last-Event-ID`, or `event: resync` when it cannot be resumed (refetch \
                 everything). Then nudges: `id: <nudge id>`, `event: standings|matches|live`, \
                 `data: {\"polled_at\": \"<ISO-8601>\", \"tournament_ids\": null | [int, ...]}` \
                 (`null`: everyone refetches; a list: clients of those `TournamentRead.id`s). \
                 `: heartbeat` comments keep proxies alive; the server closes after 600 s and \
                 `EventSource` reconnects. Clients fetch over REST on connect; nudges only say \
                 when to fetch again.",
            )
            .query(
                "tournament",
                "Only nudges for these tournaments: comma-separated slugs (at most 20).",
                json_schema!({"type": "string"}),
            )
            .query(
                "last_event_id",
                "Resume after this nudge id (the `Last-Event-ID` header wins).",
                json_schema!({"type": "integer", "format": "int64", "minimum": 0}),
            )
            .header_param(
                "Last-Event-ID",
                "Resume after this nudge id (sent by `EventSource` on reconnect).",
                json_schema!({"type": "string"}),
            )
            .content(
                200,
                "The event stream.",
                "text/event-stream",
                json_schema!({"type": "string"}),
            )
            .cache("no-store")
            .error(404, "`Tournament not found` (a filter slug is unknown).")
            .error(
                503,
                "Starting, shutting down, or too many open streams; retry.",
            );
        // Its 422 is `{"detail": "At most 20 tournaments per stream"}`, not the list shape.
        let detail = op.doc.responses.subschema_for::<super::shapes::Detail>();
        op.json_schema(422, "More than 20 tournaments in the filter.", detail);
    });
}
