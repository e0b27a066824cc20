//! The write routes and authenticated reads (seed contract §1.1 rows 6, 11, 13-14, 24-26,
//! 30-39), and [`WRITE_ROUTES`]: the one table of their methods, path patterns and per-IP
//! limits, which `ratelimit.rs` reads (a route takes its limit at exactly this method and
//! pattern) and the write router mounts (`writes/mod.rs` uses the same path constants).
//!
//! Responses use the handlers' types (`TournamentRead`, `TeamRead`, `MeRead`,
//! `TournamentOwnerRead`), and request bodies the types the handlers deserialize
//! (`TournamentCreate`, ..., `TournamentOwnerCreate`; `writes/body.rs` says how their schemas
//! keep the original's). What every write shares (its limit from [`WRITE_ROUTES`], auth, the
//! `Idempotency-Key` and body-size errors) is written once, in [`write`]; each route then says
//! only what is its own.
//!
//! A route documented before it is served goes in [`NOT_YET_SERVED`]; the
//! `documented_routes_are_served` test fails while a listed route is served, or an unlisted
//! one is not.

use super::{Doc, ErrorBody, Op};
use crate::me::MeRead;
use crate::tournaments::TournamentRead;
use crate::writes::{
    RosterPlayerCreate, RosterPlayerUpdate, TeamCaptainSet, TeamCreate, TeamMemberCreate, TeamRead,
    TeamUpdate, TournamentCreate, TournamentOwnerCreate, TournamentOwnerRead, TournamentUpdate,
    WebhookCreate, WebhookRead, WebhookUpdate,
};

/// A write route of the contract and its per-IP limit per minute.
#[derive(Clone, Copy, Debug)]
pub struct WriteRoute {
    pub method: &'static str,
    /// The axum route pattern (also the OpenAPI path).
    pub path: &'static str,
    pub per_minute: u32,
}

pub const TOURNAMENTS: &str = "/v1/tournaments";
pub const TOURNAMENT: &str = "/v1/tournaments/{tournament_slug}";
pub const ROSTER: &str = "/v1/tournaments/{tournament_slug}/players";
pub const ROSTER_ENTRY: &str = "/v1/tournaments/{tournament_slug}/players/{tournament_player_id}";
pub const TEAMS: &str = "/v1/tournaments/{tournament_slug}/teams";
pub const TEAM: &str = "/v1/tournaments/{tournament_slug}/teams/{team_id}";
pub const MEMBERS: &str = "/v1/tournaments/{tournament_slug}/teams/{team_id}/members";
pub const MEMBER: &str =
    "/v1/tournaments/{tournament_slug}/teams/{team_id}/members/{tournament_player_id}";
pub const CAPTAIN: &str = "/v1/tournaments/{tournament_slug}/teams/{team_id}/captain";
pub const OWNERS: &str = "/v1/tournaments/{tournament_slug}/owners";
pub const OWNER: &str = "/v1/tournaments/{tournament_slug}/owners/{user_id}";
pub const WEBHOOKS: &str = "/v1/tournaments/{tournament_slug}/webhooks";
pub const WEBHOOK: &str = "/v1/tournaments/{tournament_slug}/webhooks/{webhook_id}";
pub const WEBHOOK_ROTATE: &str =
    "/v1/tournaments/{tournament_slug}/webhooks/{webhook_id}/rotate-secret";

const fn route(method: &'static str, path: &'static str, per_minute: u32) -> WriteRoute {
    WriteRoute {
        method,
        path,
        per_minute,
    }
}

/// The contract's per-route write limits (§1.1 "RL" column).
pub const WRITE_ROUTES: &[WriteRoute] = &[
    route("POST", TOURNAMENTS, 5),
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
    // Ours (issue 15): registration resolves DNS, so it is limited like tournament creation.
    route("POST", WEBHOOKS, 5),
    route("PATCH", WEBHOOK, 20),
    route("DELETE", WEBHOOK, 10),
    route("POST", WEBHOOK_ROTATE, 5),
];

/// Documented operations the router does not serve yet (see the module docs).
pub const NOT_YET_SERVED: &[&str] = &[];

const OWNER_ONLY: &str = "`Not a tournament owner`.";
const NOT_FOUND: &str = "`Tournament not found` (the slug is literal: `current` is not resolved).";
const UNAVAILABLE: &str = "The database is unreachable (answered within ~2 s, with \
                           `Retry-After`): `Service temporarily unavailable`.";
/// Every write's 409: a request with the same key has not answered yet.
const IN_PROGRESS: &str = "`A request with this Idempotency-Key is still in progress`";

/// 422 bodies of a write: the body's (or a path value's) validation list, the `Idempotency-Key`
/// envelope, and with [`RULE`] a business rule's `{"detail": "..."}`.
const INVALID: &[ErrorBody] = &[ErrorBody::Validation, ErrorBody::Envelope];
const RULE: &[ErrorBody] = &[
    ErrorBody::Validation,
    ErrorBody::Detail,
    ErrorBody::Envelope,
];
const BAD_KEY: &str = "an `Idempotency-Key` that is not a UUID or was used for another request";

/// Describes the write `method path` of [`WRITE_ROUTES`] (named `name` as the original's
/// handler, under `tag`): its limit, authentication, and the errors every write can answer.
/// `describe` adds the route's own summary, body, success and errors (a status it documents
/// again replaces the shared one).
fn write(
    doc: &mut Doc,
    method: &'static str,
    path: &'static str,
    (name, tag): (&str, &str),
    describe: impl FnOnce(&mut Op<'_>),
) {
    let per_minute = WRITE_ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not in WRITE_ROUTES"))
        .per_minute;
    doc.operation(&method.to_lowercase(), path, |op| {
        op.id(name)
            .tag(tag)
            .description(&format!(
                "{per_minute} requests per minute per IP. Accepts `Idempotency-Key`."
            ))
            .authenticated()
            .error(409, &format!("{IN_PROGRESS}."))
            .error(413, "`Request body too large` (over 1 MiB).")
            .errors(
                422,
                &format!("An invalid body or path value, or {BAD_KEY}."),
                INVALID,
            )
            .error(503, UNAVAILABLE);
        describe(op);
    });
}

/// A route's own 409s, besides the `Idempotency-Key` one.
fn conflict<'o, 'a>(op: &'o mut Op<'a>, details: &str) -> &'o mut Op<'a> {
    op.error(409, &format!("{details}, or {IN_PROGRESS}."))
}

/// The 401 → 404 → 403 order of owner-only routes (seed contract §1.0.7).
fn owner_only<'o, 'a>(op: &'o mut Op<'a>) -> &'o mut Op<'a> {
    op.error(403, OWNER_ONLY).error(404, NOT_FOUND)
}

/// Documents the write routes, `/v1/me` and the owners list.
pub fn document_writes(doc: &mut Doc) {
    doc.get("/v1/me", |op| {
        op.id("get_me")
            .tag("me")
            .summary("The caller: id, owned tournaments, creator flag")
            .authenticated()
            .json::<MeRead>(200, "The caller.")
            .cache("private, no-store")
            .error(503, UNAVAILABLE);
    });
    tournaments(doc);
    roster(doc);
    teams(doc);
    owners(doc);
    webhooks(doc);
}

fn tournaments(doc: &mut Doc) {
    write(
        doc,
        "POST",
        TOURNAMENTS,
        ("create_tournament", "tournaments"),
        |op| {
            op.summary(
                "Create a tournament (creator allowlist only; the caller becomes its owner)",
            )
            .body::<TournamentCreate>("The new tournament.")
            .json::<TournamentRead>(201, "Created.")
            .error(403, "Not on the creator allowlist.");
            conflict(op, "`Tournament '<slug>' already exists`").errors(
                422,
                &format!(
                    "An invalid body, window or ladder, the creator's 10-tournament ceiling, \
                     or {BAD_KEY}."
                ),
                RULE,
            );
        },
    );
    write(
        doc,
        "PATCH",
        TOURNAMENT,
        ("update_tournament", "tournaments"),
        |op| {
            owner_only(op)
                .summary("Update a tournament")
                .body::<TournamentUpdate>("Only present keys are applied.")
                .json::<TournamentRead>(200, "Updated.")
                .errors(
                    422,
                    &format!("An invalid body, window or ladder, or {BAD_KEY}."),
                    RULE,
                );
        },
    );
    write(
        doc,
        "DELETE",
        TOURNAMENT,
        ("delete_tournament", "tournaments"),
        |op| {
            owner_only(op)
                .summary("Delete a tournament (roster, teams, owners)")
                .empty(204, "Deleted.");
        },
    );
}

fn roster(doc: &mut Doc) {
    const NO_PLAYER: &str = "`Tournament not found` or `Player not found in this tournament`.";
    write(
        doc,
        "POST",
        ROSTER,
        ("add_roster_player", "players"),
        |op| {
            owner_only(op)
                .summary("Add a roster entry")
                .body::<RosterPlayerCreate>("The roster entry.")
                .empty(204, "Added.");
            conflict(
                op,
                "`Player already on the roster` or `Name already on the roster`",
            )
            .errors(
                422,
                &format!("An invalid body, the roster's 100-row ceiling, or {BAD_KEY}."),
                RULE,
            );
        },
    );
    write(
        doc,
        "PATCH",
        ROSTER_ENTRY,
        ("update_roster_player", "players"),
        |op| {
            owner_only(op)
                .summary("Link a roster entry or replace its presentation")
                .body::<RosterPlayerUpdate>("Only present, non-null keys are applied.")
                .empty(204, "Updated.")
                .error(404, NO_PLAYER);
            conflict(op, "`Player <profile_id> already on the roster`").errors(
                422,
                &format!("`profile_id is immutable once linked`, an invalid body, or {BAD_KEY}."),
                RULE,
            );
        },
    );
    write(
        doc,
        "DELETE",
        ROSTER_ENTRY,
        ("remove_roster_player", "players"),
        |op| {
            owner_only(op)
                .summary("Remove a roster entry")
                .empty(204, "Removed.")
                .error(404, NO_PLAYER);
        },
    );
}

fn teams(doc: &mut Doc) {
    const NO_TEAM: &str = "`Tournament not found` or `Team not found`.";
    write(doc, "POST", TEAMS, ("create_team", "teams"), |op| {
        owner_only(op)
            .summary("Create a team")
            .body::<TeamCreate>("The team.")
            .json::<TeamRead>(201, "Created.");
    });
    write(doc, "PATCH", TEAM, ("update_team", "teams"), |op| {
        owner_only(op)
            .summary("Rename a team")
            .body::<TeamUpdate>("Only present keys are applied.")
            .json::<TeamRead>(200, "Updated.")
            .error(404, NO_TEAM);
    });
    write(doc, "DELETE", TEAM, ("delete_team", "teams"), |op| {
        owner_only(op)
            .summary("Delete a team and its memberships")
            .empty(204, "Deleted.")
            .error(404, NO_TEAM);
    });
    write(doc, "POST", MEMBERS, ("add_team_member", "teams"), |op| {
        owner_only(op)
            .summary("Add a roster entry to a team")
            .body::<TeamMemberCreate>("The roster entry joining the team.")
            .empty(204, "Added.")
            .error(
                404,
                "`Tournament not found`, `Team not found` or `Roster player not found in this \
                 tournament`.",
            );
        conflict(op, "`Player already on the team`");
    });
    write(
        doc,
        "DELETE",
        MEMBER,
        ("remove_team_member", "teams"),
        |op| {
            owner_only(op)
                .summary("Remove a team member")
                .empty(204, "Removed.")
                .error(
                    404,
                    "`Tournament not found`, `Team not found` or `Player not found on this team`.",
                );
        },
    );
    write(doc, "PATCH", CAPTAIN, ("set_team_captain", "teams"), |op| {
        owner_only(op)
            .summary("Make a member the team's captain")
            .body::<TeamCaptainSet>("The member becoming captain.")
            .empty(204, "Set (a no-op when already captain).")
            .error(
                404,
                "`Tournament not found`, `Team not found` or not a member.",
            );
    });
    write(
        doc,
        "DELETE",
        CAPTAIN,
        ("clear_team_captain", "teams"),
        |op| {
            owner_only(op)
                .summary("Clear the team's captain")
                .empty(204, "Cleared (a no-op without a captain).")
                .error(404, NO_TEAM);
        },
    );
}

fn owners(doc: &mut Doc) {
    doc.get(OWNERS, |op| {
        op.id("list_tournament_owners")
            .tag("owners")
            .summary("The tournament's owners, oldest first")
            .authenticated()
            .json::<Vec<TournamentOwnerRead>>(200, "The owners.")
            .cache("no-store")
            .error(
                422,
                "A path value of the wrong type (the original's validation).",
            )
            .error(503, UNAVAILABLE);
        owner_only(op);
    });
    write(
        doc,
        "POST",
        OWNERS,
        ("grant_tournament_owner", "owners"),
        |op| {
            owner_only(op)
                .summary("Make a user an owner")
                .body::<TournamentOwnerCreate>("The user becoming an owner.")
                .empty(204, "Granted.");
            conflict(op, "`User is already an owner`");
        },
    );
    write(
        doc,
        "DELETE",
        OWNER,
        ("revoke_tournament_owner", "owners"),
        |op| {
            owner_only(op)
                .summary("Revoke an owner (never the last)")
                .empty(204, "Revoked.")
                .error(404, "`Tournament not found` or `User is not an owner`.")
                .errors(
                    422,
                    &format!(
                        "`Cannot revoke the last owner — the tournament would become uneditable`, \
                     or {BAD_KEY}."
                    ),
                    RULE,
                );
        },
    );
}

fn webhooks(doc: &mut Doc) {
    const NO_WEBHOOK: &str = "`Tournament not found` or `Webhook not found`.";
    const URL_RULES: &str = "an invalid body; a `url` that is not `https` (unless the operator \
        allows `http`), names credentials, does not resolve, or resolves to a private, \
        loopback, link-local, unique-local, CGNAT, multicast or documentation address (unless \
        the operator's allowlist names it); an unknown kind; a non-Discord `url` for \
        `format: discord`";
    doc.get(WEBHOOKS, |op| {
        op.id("list_tournament_webhooks")
            .tag("webhooks")
            .summary("The tournament's webhook subscriptions, oldest first (URLs redacted)")
            .authenticated()
            .json::<Vec<WebhookRead>>(200, "The subscriptions (never their secrets).")
            .cache("no-store")
            .error(503, UNAVAILABLE);
        owner_only(op);
    });
    doc.get(WEBHOOK, |op| {
        op.id("get_tournament_webhook")
            .tag("webhooks")
            .summary("One webhook subscription (URL redacted)")
            .authenticated()
            .json::<WebhookRead>(200, "The subscription (never its secret).")
            .cache("no-store")
            .error(503, UNAVAILABLE);
        owner_only(op).error(404, NO_WEBHOOK);
    });
    write(
        doc,
        "POST",
        WEBHOOKS,
        ("create_tournament_webhook", "webhooks"),
        |op| {
            owner_only(op)
                .summary("Register a webhook (at most 20 per tournament)")
                .body::<WebhookCreate>("The endpoint, its format and the kinds it wants.")
                .json::<WebhookRead>(201, "Registered; `secret` is shown this once.")
                .errors(
                    422,
                    &format!("{URL_RULES}; the 20-webhook ceiling; or {BAD_KEY}."),
                    RULE,
                );
        },
    );
    write(
        doc,
        "PATCH",
        WEBHOOK,
        ("update_tournament_webhook", "webhooks"),
        |op| {
            owner_only(op)
                .summary("Edit, pause (`paused: true`) or resume a webhook")
                .body::<WebhookUpdate>("Only present keys are applied.")
                .json::<WebhookRead>(200, "Updated.")
                .error(404, NO_WEBHOOK)
                .errors(422, &format!("{URL_RULES}; or {BAD_KEY}."), RULE);
        },
    );
    write(
        doc,
        "DELETE",
        WEBHOOK,
        ("delete_tournament_webhook", "webhooks"),
        |op| {
            owner_only(op)
                .summary("Delete a webhook (its pending deliveries are dropped)")
                .empty(204, "Deleted.")
                .error(404, NO_WEBHOOK);
        },
    );
    write(
        doc,
        "POST",
        WEBHOOK_ROTATE,
        ("rotate_tournament_webhook_secret", "webhooks"),
        |op| {
            owner_only(op)
                .summary("Issue a new signing secret (the old one stops signing at once)")
                .json::<WebhookRead>(200, "Rotated; `secret` is shown this once.")
                .error(404, NO_WEBHOOK);
        },
    );
}
