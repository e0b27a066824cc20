//! The write routes and authenticated reads (seed contract §1.1 rows 6, 11, 13-14, 24-26,
//! 30-39), and [`WRITE_ROUTES`]: the one table of their methods, axum path patterns and per-IP
//! limits, which `ratelimit.rs` reads (a route takes its limit at exactly this method and
//! pattern, same `{param}` names as `writes/mod.rs`).
//!
//! Responses use the handlers' types (`TournamentRead`, `TeamRead`, `MeRead`,
//! `TournamentOwnerRead`). Request bodies are read field by field by `writes/body.rs` (absent vs
//! `null`), so there is no type to derive them from: they are objects described from the
//! contract until such types exist; then use `op.body::<TournamentCreate>("...")`.
//!
//! A route documented before it is served goes in [`NOT_YET_SERVED`]; the
//! `documented_routes_are_served` test fails while a listed route is served, or an unlisted
//! one is not.

use schemars::{json_schema, Schema};

use super::Doc;
use crate::me::MeRead;
use crate::tournaments::TournamentRead;
use crate::writes::{TeamRead, TournamentOwnerRead};

/// A write route of the contract and its per-IP limit per minute.
#[derive(Clone, Copy, Debug)]
pub struct WriteRoute {
    pub method: &'static str,
    /// The axum route pattern (also the OpenAPI path).
    pub path: &'static str,
    pub per_minute: u32,
}

const T: &str = "/v1/tournaments";
const TOURNAMENT: &str = "/v1/tournaments/{slug}";
const ROSTER: &str = "/v1/tournaments/{slug}/players";
const ROSTER_ENTRY: &str = "/v1/tournaments/{slug}/players/{tournament_player_id}";
const TEAMS: &str = "/v1/tournaments/{slug}/teams";
const TEAM: &str = "/v1/tournaments/{slug}/teams/{team_id}";
const MEMBERS: &str = "/v1/tournaments/{slug}/teams/{team_id}/members";
const MEMBER: &str = "/v1/tournaments/{slug}/teams/{team_id}/members/{tournament_player_id}";
const CAPTAIN: &str = "/v1/tournaments/{slug}/teams/{team_id}/captain";
const OWNERS: &str = "/v1/tournaments/{slug}/owners";
const OWNER: &str = "/v1/tournaments/{slug}/owners/{user_id}";

const fn route(method: &'static str, path: &'static str, per_minute: u32) -> WriteRoute {
    WriteRoute {
        method,
        path,
        per_minute,
    }
}

/// The contract's per-route write limits (§1.1 "RL" column).
pub const WRITE_ROUTES: &[WriteRoute] = &[
    route("POST", T, 5),
    route("PATCH", TOURNAMENT, 20),
    route("DELETE", TOURNAMENT, 3),
    route("POST", ROSTER, 20),
    route("PATCH", ROSTER_ENTRY, 20),
    route("DELETE", ROSTER_ENTRY, 20),
    route("POST", TEAMS, 10),
    route("PATCH", TEAM, 20),
    route("DELETE", TEAM, 10),
    route("POST", MEMBERS, 20),
    route("DELETE", MEMBER, 20),
    route("PATCH", CAPTAIN, 20),
    route("DELETE", CAPTAIN, 20),
    route("POST", OWNERS, 5),
    route("DELETE", OWNER, 5),
];

/// Documented operations the router does not serve yet (see the module docs).
pub const NOT_YET_SERVED: &[&str] = &[];

/// A JSON object whose fields the contract lists in `description` (until the real type lands).
fn object(description: &str) -> Schema {
    json_schema!({"type": "object", "description": description})
}

const OWNER_ONLY: &str = "`Not a tournament owner`.";
const NOT_FOUND: &str = "`Tournament not found` (the slug is literal: `current` is not resolved).";

fn limited(per_minute: u32) -> String {
    format!("Owner only. {per_minute} requests per minute per IP. Accepts `Idempotency-Key`.")
}

/// Documents the write routes, `/v1/me` and the owners list. Their request bodies are generic
/// objects described from the contract until their types exist (see the module docs).
pub fn document_writes(doc: &mut Doc) {
    doc.get("/v1/me", |op| {
        op.id("get_me")
            .tag("admin")
            .summary("The caller: id, owned tournaments, creator flag")
            .authenticated()
            .json::<MeRead>(200, "The caller.")
            .cache("private, no-store");
    });

    doc.post(T, |op| {
        op.id("create_tournament")
            .tag("admin")
            .summary("Create a tournament (creators only)")
            .description("Creator allowlist only; the caller becomes its first owner. 5 requests per minute per IP. Accepts `Idempotency-Key`.")
            .authenticated()
            .body_schema(
                "`TournamentCreate`",
                object("TournamentCreate: slug (1-64, ^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$, not `current`), name (1-200), leaderboard_id (>0), rank_by (peak_rating|current_rating, default peak_rating), start_date/end_date (datetime|null), prize_pool_cents (>=0|null), host_stream_urls (<=5, each 1-256 chars), presentation (object <=16 KB)"),
            )
            .json::<TournamentRead>(201, "Created.")
            .error(403, "Not on the creator allowlist.")
            .error(409, "`Tournament '<slug>' already exists`.")
            .error(422, "Invalid body, window, ladder, or the creator's 10-tournament ceiling.");
    });
    doc.patch(TOURNAMENT, |op| {
        op.id("update_tournament")
            .tag("admin")
            .summary("Update a tournament")
            .description(&limited(20))
            .authenticated()
            .body_schema(
                "`TournamentUpdate`: only present keys are applied.",
                object("TournamentUpdate: name, leaderboard_id, rank_by, start_date, end_date, prize_pool_cents, host_stream_urls, presentation (all optional; null clears start_date, end_date, prize_pool_cents)"),
            )
            .json::<TournamentRead>(200, "Updated.")
            .error(403, OWNER_ONLY)
            .error(404, NOT_FOUND)
            .error(422, "Invalid body or window.");
    });
    doc.delete(TOURNAMENT, |op| {
        op.id("delete_tournament")
            .tag("admin")
            .summary("Delete a tournament (roster, teams, owners)")
            .description(&limited(3))
            .authenticated()
            .empty(204, "Deleted.")
            .error(403, OWNER_ONLY)
            .error(404, NOT_FOUND);
    });

    doc.post(ROSTER, |op| {
        op.id("add_roster_player")
            .tag("admin")
            .summary("Add a roster entry")
            .description(&limited(20))
            .authenticated()
            .body_schema(
                "`RosterPlayerCreate`",
                object("RosterPlayerCreate: name (1-64), profile_id (>0|null), presentation (object <=8 KB)"),
            )
            .empty(204, "Added.")
            .error(403, OWNER_ONLY)
            .error(404, NOT_FOUND)
            .error(409, "`Player already on the roster` or `Name already on the roster`.")
            .error(422, "Invalid body, or the roster is at its 100-row ceiling.");
    });
    doc.patch(ROSTER_ENTRY, |op| {
        op.id("update_roster_player")
            .tag("admin")
            .summary("Link a roster entry or replace its presentation")
            .description(&limited(20))
            .authenticated()
            .body_schema(
                "`RosterPlayerUpdate`",
                object("RosterPlayerUpdate: presentation (object|null), profile_id (>0|null)"),
            )
            .empty(204, "Updated.")
            .error(403, OWNER_ONLY)
            .error(
                404,
                "`Tournament not found` or `Player not found in this tournament`.",
            )
            .error(409, "`Player <profile_id> already on the roster`.")
            .error(
                422,
                "`profile_id is immutable once linked`, or an invalid body.",
            );
    });
    doc.delete(ROSTER_ENTRY, |op| {
        op.id("remove_roster_player")
            .tag("admin")
            .summary("Remove a roster entry")
            .description(&limited(20))
            .authenticated()
            .empty(204, "Removed.")
            .error(403, OWNER_ONLY)
            .error(
                404,
                "`Tournament not found` or `Player not found in this tournament`.",
            );
    });

    doc.post(TEAMS, |op| {
        op.id("create_team")
            .tag("admin")
            .summary("Create a team")
            .description(&limited(10))
            .authenticated()
            .body_schema(
                "`TeamCreate`",
                object("TeamCreate: name (1-200), initials (1-8)"),
            )
            .json::<TeamRead>(201, "Created.")
            .error(403, OWNER_ONLY)
            .error(404, NOT_FOUND)
            .error(422, "Invalid body.");
    });
    doc.patch(TEAM, |op| {
        op.id("update_team")
            .tag("admin")
            .summary("Rename a team")
            .description(&limited(20))
            .authenticated()
            .body_schema(
                "`TeamUpdate`",
                object("TeamUpdate: name (1-200), initials (1-8), both optional, not null"),
            )
            .json::<TeamRead>(200, "Updated.")
            .error(403, OWNER_ONLY)
            .error(404, "`Tournament not found` or `Team not found`.")
            .error(422, "Invalid body.");
    });
    doc.delete(TEAM, |op| {
        op.id("delete_team")
            .tag("admin")
            .summary("Delete a team and its memberships")
            .description(&limited(10))
            .authenticated()
            .empty(204, "Deleted.")
            .error(403, OWNER_ONLY)
            .error(404, "`Tournament not found` or `Team not found`.");
    });
    doc.post(MEMBERS, |op| {
        op.id("add_team_member")
            .tag("admin")
            .summary("Add a roster entry to a team")
            .description(&limited(20))
            .authenticated()
            .body_schema(
                "`TeamMemberCreate`",
                object("TeamMemberCreate: tournament_player_id (>0)"),
            )
            .empty(204, "Added.")
            .error(403, OWNER_ONLY)
            .error(404, "`Tournament not found`, `Team not found` or `Roster player not found in this tournament`.")
            .error(409, "`Player already on the team`.")
            .error(422, "Invalid body.");
    });
    doc.delete(MEMBER, |op| {
        op.id("remove_team_member")
            .tag("admin")
            .summary("Remove a team member")
            .description(&limited(20))
            .authenticated()
            .empty(204, "Removed.")
            .error(403, OWNER_ONLY)
            .error(
                404,
                "`Tournament not found`, `Team not found` or `Player not found on this team`.",
            );
    });
    doc.patch(CAPTAIN, |op| {
        op.id("set_team_captain")
            .tag("admin")
            .summary("Make a member the team's captain")
            .description(&limited(20))
            .authenticated()
            .body_schema(
                "`TeamCaptainSet`",
                object("TeamCaptainSet: tournament_player_id (>0, a member)"),
            )
            .empty(204, "Set (a no-op when already captain).")
            .error(403, OWNER_ONLY)
            .error(
                404,
                "`Tournament not found`, `Team not found` or not a member.",
            )
            .error(422, "Invalid body.");
    });
    doc.delete(CAPTAIN, |op| {
        op.id("clear_team_captain")
            .tag("admin")
            .summary("Clear the team's captain")
            .description(&limited(20))
            .authenticated()
            .empty(204, "Cleared (a no-op without a captain).")
            .error(403, OWNER_ONLY)
            .error(404, "`Tournament not found` or `Team not found`.");
    });

    doc.get(OWNERS, |op| {
        op.id("list_owners")
            .tag("admin")
            .summary("The tournament's owners, oldest first")
            .authenticated()
            .json::<Vec<TournamentOwnerRead>>(200, "The owners.")
            .cache("no-store")
            .error(403, OWNER_ONLY)
            .error(404, NOT_FOUND);
    });
    doc.post(OWNERS, |op| {
        op.id("grant_owner")
            .tag("admin")
            .summary("Make a user an owner")
            .description(&limited(5))
            .authenticated()
            .body_schema(
                "`TournamentOwnerCreate`",
                object("TournamentOwnerCreate: user_id (UUID string)"),
            )
            .empty(204, "Granted.")
            .error(403, OWNER_ONLY)
            .error(404, NOT_FOUND)
            .error(409, "`User is already an owner`.")
            .error(422, "Invalid body.");
    });
    doc.delete(OWNER, |op| {
        op.id("revoke_owner")
            .tag("admin")
            .summary("Revoke an owner (never the last)")
            .description(&limited(5))
            .authenticated()
            .empty(204, "Revoked.")
            .error(403, OWNER_ONLY)
            .error(404, "`Tournament not found` or `User is not an owner`.")
            .error(
                422,
                "`Cannot revoke the last owner — the tournament would become uneditable`.",
            );
    });
}
