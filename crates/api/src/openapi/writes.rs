//! **Extension point for the write routes and authenticated reads** (seed contract §1.1 rows 6,
//! 11, 13-14, 24-26, 30-39): documented from the contract before they are served.
//!
//! [`WRITE_ROUTES`] is the one table of their methods, axum path patterns and per-IP limits:
//! `ratelimit.rs` reads its limits from it, so a write route takes its limit as soon as it is
//! served **at exactly this method and pattern** (same `{param}` names).
//!
//! When a route lands:
//! 1. derive `JsonSchema` on its request body (with `Deserialize`) and response types, and
//!    replace the generic body here: `op.body::<TournamentCreate>("...")` (the schema then comes
//!    from what the handler deserializes: `Option` fields are optional) and
//!    `op.json::<TeamRead>(201, "...")` instead of `op.json_schema(.., object(..))`;
//! 2. remove its operation id from [`NOT_YET_SERVED`] (the `documented_routes_are_served` test
//!    fails until you do, and fails if a listed route is not served).

use schemars::{json_schema, Schema};

use super::Doc;
use crate::tournaments::TournamentRead;

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
pub const NOT_YET_SERVED: &[&str] = &[
    "get_me",
    "create_tournament",
    "update_tournament",
    "delete_tournament",
    "add_roster_player",
    "update_roster_player",
    "remove_roster_player",
    "create_team",
    "update_team",
    "delete_team",
    "add_team_member",
    "remove_team_member",
    "set_team_captain",
    "clear_team_captain",
    "list_owners",
    "grant_owner",
    "revoke_owner",
];

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
            .json_schema(
                200,
                "`MeRead`: `user_id`, `owned_tournaments` (TournamentRead[]), `can_create_tournaments`.",
                object("MeRead: {user_id: str, owned_tournaments: TournamentRead[], can_create_tournaments: bool}"),
            )
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

    let team_read = "TeamRead: {id, tournament_id, name, initials}";
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
            .json_schema(201, "Created: `TeamRead`.", object(team_read))
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
            .json_schema(200, "Updated: `TeamRead`.", object(team_read))
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
            .json_schema(
                200,
                "`TournamentOwnerRead[]`.",
                json_schema!({"type": "array", "items": object("TournamentOwnerRead: {user_id: str, created_at: datetime, display_name: str|null, email: str|null, avatar_url: str|null}")}),
            )
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
