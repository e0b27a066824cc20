//! The management API (seed contract §1.1 writes): every route authenticates, checks the
//! contract's 401 → 404 → 403 order, reads its body, and sends one command to the Tournament
//! (or Operator) aggregate, which enforces the rules. A write answers only after the
//! projections have applied its events (bounded wait), so the caller's next read sees it.
//!
//! Bodies are typed (`TournamentCreate`, `TeamUpdate`, ..., beside their handlers) and read by
//! `body.rs`; the same types are the request schemas of `/openapi.json` (see `body.rs`).
//!
//! Each handler spells out `owner` → read body → `manage` → status although they look alike:
//! the order decides which error a bad request gets (401/404/403 before 422), and a shared
//! wrapper would hide it.

mod body;
mod owners;
mod roster;
mod teams;
mod tournaments;
mod webhooks;

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName};
use axum::routing::{delete, patch, post};
use axum::Router;
use domain::event::Actor;
use domain::tournament::{Tournament, TournamentAction, TournamentCommand};
use domain::EventMetadata;
use projections::runner::Projector;
use store::{CommandError, EventStore};

use crate::caller::authenticate;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub use body::parse_datetime;
pub(crate) use owners::{TournamentOwnerCreate, TournamentOwnerRead};
pub(crate) use roster::{RosterPlayerCreate, RosterPlayerUpdate};
pub(crate) use teams::{TeamCaptainSet, TeamCreate, TeamMemberCreate, TeamRead, TeamUpdate};
pub use tournaments::creator_facts;
pub(crate) use tournaments::{TournamentCreate, TournamentUpdate};
pub use webhooks::vet_url;
pub(crate) use webhooks::{WebhookCreate, WebhookRead, WebhookUpdate};

/// How long a write waits for the projections to apply its events before answering anyway.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The paths are the document's (`openapi/writes.rs`), which also gives each its rate limit.
pub fn router() -> Router<AppState> {
    use crate::openapi::writes::{
        CAPTAIN, MEMBER, MEMBERS, OWNER, OWNERS, ROSTER, ROSTER_ENTRY, TEAM, TEAMS, TOURNAMENT,
        TOURNAMENTS, WEBHOOK, WEBHOOKS, WEBHOOK_ROTATE,
    };
    Router::new()
        .route(TOURNAMENTS, post(tournaments::create))
        .route(
            TOURNAMENT,
            patch(tournaments::update).delete(tournaments::delete),
        )
        .route(ROSTER, post(roster::add))
        .route(ROSTER_ENTRY, patch(roster::update).delete(roster::remove))
        .route(TEAMS, post(teams::create))
        .route(TEAM, patch(teams::update).delete(teams::delete))
        .route(MEMBERS, post(teams::add_member))
        .route(MEMBER, delete(teams::remove_member))
        .route(
            CAPTAIN,
            patch(teams::set_captain).delete(teams::clear_captain),
        )
        .route(OWNERS, axum::routing::get(owners::list).post(owners::grant))
        .route(OWNER, delete(owners::revoke))
        .route(
            WEBHOOKS,
            axum::routing::get(webhooks::list).post(webhooks::create),
        )
        .route(
            WEBHOOK,
            axum::routing::get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(WEBHOOK_ROTATE, post(webhooks::rotate_secret))
}

/// An authenticated owner of the tournament at `slug` (writes use the literal slug: the
/// `current` alias is for reads only).
pub struct Owner {
    pub user: String,
    pub tournament: Tournament,
    pub tournament_id: i64,
}

/// 401 (token) → 404 (`Tournament not found`) → 403 (`Not a tournament owner`).
pub async fn owner(state: &AppState, headers: &HeaderMap, slug: &str) -> ApiResult<Owner> {
    let user = authenticate(state, headers).await?;
    if !domain::rules::is_valid_slug(slug) {
        return Err(ApiError::NotFound("Tournament not found"));
    }
    let tournament = load(state, slug).await?;
    let tournament_id = match (tournament.tournament_id, &tournament.config) {
        (Some(id), Some(_)) => id,
        _ => return Err(ApiError::NotFound("Tournament not found")),
    };
    if !tournament.owners.contains(&user) {
        return Err(ApiError::forbidden("Not a tournament owner"));
    }
    Ok(Owner {
        user,
        tournament,
        tournament_id,
    })
}

async fn load(state: &AppState, slug: &str) -> ApiResult<Tournament> {
    EventStore::new(state.pool.clone())
        .load::<Tournament>(slug)
        .await
        .map_err(store_failure)
}

/// Event metadata of this request: the actor, the request id the middleware assigned, and
/// the idempotency key (the audit trail shows them).
pub fn metadata(actor: Actor, headers: &HeaderMap) -> EventMetadata {
    let header = |name: &'static str| {
        headers
            .get(HeaderName::from_static(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    EventMetadata {
        actor,
        request_id: header("x-request-id"),
        idempotency_key: header("idempotency-key"),
    }
}

/// Runs an owner's action on the tournament, then waits until the read models show it.
pub async fn manage(
    state: &AppState,
    headers: &HeaderMap,
    slug: &str,
    owner: &Owner,
    action: TournamentAction,
) -> ApiResult<()> {
    let command = TournamentCommand::Manage {
        actor: Actor::User(owner.user.clone()),
        action,
    };
    let meta = metadata(Actor::User(owner.user.clone()), headers);
    let action_name = audit_action(&command);
    execute(state, slug, command, &meta).await?;
    audit_log(action_name, &owner.user, slug, owner.tournament_id, &meta);
    settle(state, slug, Some(owner.tournament_id)).await;
    Ok(())
}

/// The contract's audit action names (Appendix A), which log-based alerts key on.
fn audit_action(command: &TournamentCommand) -> &'static str {
    use TournamentAction as A;
    match command {
        TournamentCommand::Create { .. } => "tournament_create",
        TournamentCommand::Manage { action, .. } => match action {
            A::Update { .. } => "tournament_update",
            A::Delete => "tournament_delete",
            A::GrantOwner { .. } => "owner_grant",
            A::RevokeOwner { .. } => "owner_revoke",
            A::AddPlayerToRoster { .. } => "roster_add",
            A::UpdateRosterPlayer {
                profile_id: Some(_),
                ..
            } => "roster_promote",
            A::UpdateRosterPlayer { .. } => "roster_update",
            A::RemovePlayerFromRoster { .. } => "roster_remove",
            A::CreateTeam { .. } => "team_create",
            A::UpdateTeam { .. } => "team_update",
            A::DeleteTeam { .. } => "team_delete",
            A::AddTeamMember { .. } => "team_member_add",
            A::RemoveTeamMember { .. } => "team_member_remove",
            A::SetTeamCaptain { .. } => "team_captain_set",
            A::ClearTeamCaptain { .. } => "team_captain_unset",
            A::RegisterWebhook(_) => "webhook_register",
            A::ChangeWebhook { change, .. } => change.audit_name(),
        },
    }
}

/// One structured line per successful write (target `app.audit`), after the commit; the
/// durable record is the event itself (`GET …/events`).
pub fn audit_log(
    action: &'static str,
    actor_user_id: &str,
    slug: &str,
    tournament_id: i64,
    meta: &EventMetadata,
) {
    tracing::info!(
        target: "app.audit",
        action,
        actor_user_id,
        tournament_slug = slug,
        tournament_id,
        request_id = meta.request_id.as_deref().unwrap_or(""),
        "{action}"
    );
}

/// Sends a command to a Tournament aggregate and maps its refusal to the contract's answer.
pub async fn execute(
    state: &AppState,
    slug: &str,
    command: TournamentCommand,
    meta: &EventMetadata,
) -> ApiResult<()> {
    match EventStore::new(state.pool.clone())
        .execute::<Tournament>(slug, command, meta)
        .await
    {
        Ok(()) => Ok(()),
        Err(e) => Err(store_failure(e)),
    }
}

/// The contract's answer to a failed load or command (never a panic, never a dropped
/// connection).
fn store_failure(error: CommandError<domain::tournament::TournamentError>) -> ApiError {
    use axum::http::StatusCode;
    match error {
        CommandError::Rejected(e) => e.into(),
        CommandError::Conflict(what) => ApiError::Refused {
            status: StatusCode::CONFLICT,
            detail: format!("{what} is being changed concurrently; retry"),
        },
        // The body held a value PostgreSQL would not give back intact (what the aggregate's
        // own bounds do not catch): nothing was appended.
        CommandError::Unstorable(e) => ApiError::Validation {
            loc: body_location(&e.path),
            msg: format!("Value cannot be stored: {}", e.reason),
        },
        CommandError::Unreadable(e) => {
            tracing::error!(error = %e, "a stored event of this tournament cannot be read");
            ApiError::Refused {
                status: StatusCode::SERVICE_UNAVAILABLE,
                detail: "This tournament's history cannot be read; an operator must repair it"
                    .into(),
            }
        }
        CommandError::Store(e) => {
            tracing::error!(error = %e, "event store failed");
            ApiError::Unavailable
        }
    }
}

/// `loc` of a value inside a Tournament event's payload, as the body names it: events nest the
/// tournament's settings under `config` (`config.presentation.x` is `body.presentation.x`).
fn body_location(path: &str) -> Vec<String> {
    let mut segments = path.split('.').filter(|s| !s.is_empty()).peekable();
    if segments.peek() == Some(&"config") {
        segments.next();
    }
    std::iter::once("body")
        .chain(segments)
        .map(String::from)
        .collect()
}

/// Read your writes: waits (bounded) until the live core projection has applied the latest
/// event of `slug`, then drops this replica's cached responses of the tournament.
pub async fn settle(state: &AppState, slug: &str, tournament_id: Option<i64>) {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        let applied: Result<bool, sqlx::Error> = sqlx::query_scalar(
            "SELECT NOT EXISTS (
                 SELECT 1 FROM (SELECT tx, global_position FROM events
                                 WHERE aggregate_type = 'Tournament' AND aggregate_id = $1
                                 ORDER BY sequence DESC LIMIT 1) e
                  WHERE NOT EXISTS (SELECT 1 FROM projection_checkpoints c
                                     WHERE c.name = $2 AND c.status = 'live'
                                       AND (c.tx, c.position) >= (e.tx, e.global_position)))",
        )
        .bind(slug)
        .bind(projections::core::Core::NAME)
        .fetch_one(&state.pool)
        .await;
        match applied {
            Ok(true) => break,
            Ok(false) if started.elapsed() < SETTLE_TIMEOUT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Ok(false) => {
                tracing::warn!(slug, "write answered before the projections applied it");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot check the projection checkpoint");
                break;
            }
        }
    }
    if let Some(cache) = &state.cache {
        match tournament_id {
            Some(id) => cache.invalidate(Some(&[id])),
            None => cache.clear(),
        }
    }
}

/// A path segment that must be a positive integer (FastAPI answers 422 otherwise).
pub fn path_id(name: &str, text: &str) -> ApiResult<i64> {
    text.parse::<i64>().map_err(|_| ApiError::Validation {
        loc: vec!["path".into(), name.into()],
        msg: "Input should be a valid integer, unable to parse string as an integer".into(),
    })
}
