//! The write routes and authenticated reads (seed contract §1.1 rows 6, 11, 13-14, 24-26,
//! 30-39), and [`WRITE_ROUTES`]: the one table of their methods, axum path patterns and per-IP
//! limits, which `ratelimit.rs` reads (a route takes its limit at exactly this method and
//! pattern, same `{param}` names as `writes/mod.rs`).
//!
//! Responses use the handlers' types (`TournamentRead`, `TeamRead`, `MeRead`,
//! `TournamentOwnerRead`), and request bodies the types the handlers deserialize
//! (`TournamentCreate`, ..., `TournamentOwnerCreate`; `writes/body.rs` says how absent, `null`
//! and the contract's bounds appear in their schemas).
//!
//! A route documented before it is served goes in [`NOT_YET_SERVED`]; the
//! `documented_routes_are_served` test fails while a listed route is served, or an unlisted
//! one is not.

use super::Doc;
use crate::me::MeRead;
use crate::tournaments::TournamentRead;
use crate::writes::{
    RosterPlayerCreate, RosterPlayerUpdate, TeamCaptainSet, TeamCreate, TeamMemberCreate, TeamRead,
    TeamUpdate, TournamentCreate, TournamentOwnerCreate, TournamentOwnerRead, TournamentUpdate,
};

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

const OWNER_ONLY: &str = "`Not a tournament owner`.";
const NOT_FOUND: &str = "`Tournament not found` (the slug is literal: `current` is not resolved).";

fn limited(per_minute: u32) -> String {
    format!("Owner only. {per_minute} requests per minute per IP. Accepts `Idempotency-Key`.")
}

/// Documents the write routes, `/v1/me` and the owners list.
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
            .body::<TournamentCreate>("The new tournament.")
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
            .body::<TournamentUpdate>("Only present keys are applied.")
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
            .body::<RosterPlayerCreate>("The roster entry.")
            .empty(204, "Added.")
            .error(403, OWNER_ONLY)
            .error(404, NOT_FOUND)
            .error(
                409,
                "`Player already on the roster` or `Name already on the roster`.",
            )
            .error(
                422,
                "Invalid body, or the roster is at its 100-row ceiling.",
            );
    });
    doc.patch(ROSTER_ENTRY, |op| {
        op.id("update_roster_player")
            .tag("admin")
            .summary("Link a roster entry or replace its presentation")
            .description(&limited(20))
            .authenticated()
            .body::<RosterPlayerUpdate>("Only present, non-null keys are applied.")
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
            .body::<TeamCreate>("The team.")
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
            .body::<TeamUpdate>("Only present keys are applied.")
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
            .body::<TeamMemberCreate>("The roster entry joining the team.")
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
            .body::<TeamCaptainSet>("The member becoming captain.")
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
            .body::<TournamentOwnerCreate>("The user becoming an owner.")
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// The contract's request bodies (seed contract §1.3): names, fields, which are required
    /// and which accept `null`. Front-ends generate clients from these (orval), so a rename or
    /// a change of nullability must be deliberate: it fails here first.
    #[test]
    fn request_bodies_are_the_contracts() {
        let document = serde_json::to_value(super::super::document()).unwrap();
        let schemas = &document["components"]["schemas"];
        /// `(field, required, nullable)`.
        type Field = (&'static str, bool, bool);
        let bodies: [(&str, &[Field]); 9] = [
            (
                "TournamentCreate",
                &[
                    ("slug", true, false),
                    ("name", true, false),
                    ("leaderboard_id", true, false),
                    ("rank_by", false, true),
                    ("start_date", false, true),
                    ("end_date", false, true),
                    ("prize_pool_cents", false, true),
                    ("host_stream_urls", false, true),
                    ("presentation", false, true),
                ],
            ),
            (
                "TournamentUpdate",
                &[
                    ("name", false, false),
                    ("leaderboard_id", false, false),
                    ("rank_by", false, false),
                    ("start_date", false, true),
                    ("end_date", false, true),
                    ("prize_pool_cents", false, true),
                    ("host_stream_urls", false, false),
                    ("presentation", false, false),
                ],
            ),
            (
                "RosterPlayerCreate",
                &[
                    ("name", true, false),
                    ("profile_id", false, true),
                    ("presentation", false, true),
                ],
            ),
            (
                "RosterPlayerUpdate",
                &[("presentation", false, true), ("profile_id", false, true)],
            ),
            (
                "TeamCreate",
                &[("name", true, false), ("initials", true, false)],
            ),
            (
                "TeamUpdate",
                &[("name", false, false), ("initials", false, false)],
            ),
            ("TeamMemberCreate", &[("tournament_player_id", true, false)]),
            ("TeamCaptainSet", &[("tournament_player_id", true, false)]),
            ("TournamentOwnerCreate", &[("user_id", true, false)]),
        ];
        for (name, fields) in bodies {
            let schema = &schemas[name];
            let properties = schema["properties"].as_object().unwrap_or_else(|| {
                panic!("{name} is not in components.schemas as an object: {schema}")
            });
            let mut documented: Vec<&str> = properties.keys().map(String::as_str).collect();
            let mut expected: Vec<&str> = fields.iter().map(|f| f.0).collect();
            documented.sort_unstable();
            expected.sort_unstable();
            assert_eq!(documented, expected, "{name}: properties");
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for &(field, is_required, nullable) in fields {
                assert_eq!(
                    required.contains(&field),
                    is_required,
                    "{name}.{field}: required"
                );
                let property = &properties[field];
                let accepts_null = property["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&Value::from("null")))
                    || property["anyOf"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|s| s["type"] == "null"));
                assert_eq!(
                    accepts_null, nullable,
                    "{name}.{field}: nullable {property}"
                );
            }
            let operations = document["paths"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|item| item.as_object().unwrap().values())
                .filter(|op| {
                    op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                        == format!("#/components/schemas/{name}").as_str()
                })
                .count();
            assert_eq!(operations, 1, "{name} is the body of one operation");
        }
    }
}
