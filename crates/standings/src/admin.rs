//! Operator commands: append events directly (actor `operator:<name>`) for self-hosting
//! without an auth service, then bring the read models up to date so the change shows at once.

use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::operator::{Operator, OperatorCommand, OPERATOR_ID};
use domain::tournament::{
    CreateTournament, CreatorFacts, LeaderboardFacts, RankBy, Tournament, TournamentAction,
    TournamentCommand, TournamentConfig,
};
use domain::EventMetadata;
use sqlx::PgPool;
use store::ids::{next_id, IdKind};
use store::{CommandError, EventStore};

use crate::settings::{
    CreatorArgs, OperatorArgs, RankByArg, RosterAddArgs, TokenArgs, TournamentCreateArgs,
    TournamentSlugArgs,
};

fn actor(operator: &OperatorArgs) -> Actor {
    Actor::Operator(operator.who.clone())
}

/// A user id as the API stores it (lowercase hyphenated UUID).
fn user_id(text: &str) -> anyhow::Result<String> {
    uuid::Uuid::parse_str(text.trim())
        .map(|u| u.hyphenated().to_string())
        .with_context(|| format!("`{text}` is not a user id (a UUID, the token's `sub`)"))
}

/// Runs an operator's command, then brings the read models up to date (safe beside a running
/// worker: builds are stepped under an advisory lock).
async fn run<A>(
    pool: &PgPool,
    id: &str,
    command: A::Command,
    operator: &OperatorArgs,
) -> anyhow::Result<()>
where
    A: cqrs_es::Aggregate<Services = ()>,
    A::Command: Clone,
{
    match EventStore::new(pool.clone())
        .execute::<A>(id, command, &EventMetadata::new(actor(operator)))
        .await
    {
        Ok(()) => {}
        Err(CommandError::Rejected(e)) => bail!("refused: {e}"),
        Err(other) => bail!("{other}"),
    }
    show::<A>(pool, id).await
}

/// How long a command waits for the read models to show its change.
const SHOW_WAIT: Duration = Duration::from_secs(10);

/// Brings the `core` read models up to aggregate `id` of `A` as it now stands (its last event),
/// so that the next read (`standings webhooks list`, the API) shows the change. One catch-up
/// is not enough: a committed event is read only once every older transaction in the cluster
/// has ended, and a running worker may hold the build. After [`SHOW_WAIT`] it says so and
/// returns (the change is recorded; the projector applies it when it can).
pub async fn show<A: cqrs_es::Aggregate>(pool: &PgPool, id: &str) -> anyhow::Result<()> {
    let Some(target) = store::log::last_of(pool, A::TYPE, id).await? else {
        return Ok(());
    };
    let shown = projections::runner::catch_up_to(pool, &projections::core::Core, target, SHOW_WAIT)
        .await
        .context("updating the read models")?;
    if !shown {
        eprintln!(
            "note: recorded, but the read models have not applied it yet \
             (see `standings projections status`)"
        );
    }
    Ok(())
}

pub async fn creators(pool: &PgPool, args: &CreatorArgs, grant: bool) -> anyhow::Result<()> {
    let user = user_id(&args.user)?;
    let command = if grant {
        OperatorCommand::GrantCreator {
            user_id: user.clone(),
            at: Utc::now(),
        }
    } else {
        OperatorCommand::RevokeCreator {
            user_id: user.clone(),
        }
    };
    run::<Operator>(pool, OPERATOR_ID, command, &args.operator).await?;
    let verb = if grant { "may now" } else { "may no longer" };
    println!("{user} {verb} create tournaments");
    Ok(())
}

fn date(text: &Option<String>) -> anyhow::Result<Option<DateTime<Utc>>> {
    text.as_deref()
        .map(|t| {
            api::parse_datetime(t)
                .with_context(|| format!("`{t}` is not a date (RFC 3339 or YYYY-MM-DD)"))
        })
        .transpose()
}

pub async fn create_tournament(pool: &PgPool, args: &TournamentCreateArgs) -> anyhow::Result<()> {
    let owner = args.owner.as_deref().map(user_id).transpose()?;
    let leaderboard: Option<(String, bool)> =
        sqlx::query_as("SELECT name, is_ranked FROM live.leaderboards WHERE leaderboard_id = $1")
            .bind(args.leaderboard_id)
            .fetch_optional(pool)
            .await
            .ok()
            .flatten();
    let tournament_id = next_id(pool, IdKind::Tournament).await?;
    let command = TournamentCommand::Create {
        actor: actor(&args.operator),
        create: Box::new(CreateTournament {
            tournament_id,
            slug: args.slug.clone(),
            config: TournamentConfig {
                name: args.name.clone(),
                leaderboard_id: args.leaderboard_id,
                rank_by: match args.rank_by {
                    RankByArg::PeakRating => RankBy::PeakRating,
                    RankByArg::CurrentRating => RankBy::CurrentRating,
                },
                start_date: date(&args.start)?,
                end_date: date(&args.end)?,
                prize_pool_cents: None,
                host_stream_urls: vec![],
                presentation: serde_json::json!({}),
            },
            owner,
            creator: CreatorFacts::default(),
            leaderboard: leaderboard.map(|(name, is_ranked)| LeaderboardFacts { name, is_ranked }),
            at: Utc::now(),
        }),
    };
    run::<Tournament>(pool, &args.slug, command, &args.operator).await?;
    println!("created tournament {} (id {tournament_id})", args.slug);
    Ok(())
}

pub async fn add_to_roster(pool: &PgPool, args: &RosterAddArgs) -> anyhow::Result<()> {
    let tournament_player_id = next_id(pool, IdKind::TournamentPlayer).await?;
    let command = TournamentCommand::Manage {
        actor: actor(&args.operator),
        action: TournamentAction::AddPlayerToRoster {
            tournament_player_id,
            name: args.name.clone(),
            profile_id: args.profile_id,
            presentation: serde_json::json!({}),
        },
    };
    run::<Tournament>(pool, &args.slug, command, &args.operator).await?;
    println!(
        "added {} to {} (tournament_player_id {tournament_player_id})",
        args.name, args.slug
    );
    Ok(())
}

/// Archives (or un-archives) a tournament as the operator; running api replicas learn it
/// from the nudge the projector sends.
pub async fn archive(
    pool: &PgPool,
    args: &TournamentSlugArgs,
    archive: bool,
) -> anyhow::Result<()> {
    let at = Utc::now();
    let action = if archive {
        TournamentAction::Archive { at }
    } else {
        TournamentAction::Unarchive { at }
    };
    let command = TournamentCommand::Manage {
        actor: actor(&args.operator),
        action,
    };
    run::<Tournament>(pool, &args.slug, command, &args.operator).await?;
    let archived = store::archived::archived_tournaments(pool)
        .await?
        .iter()
        .any(|t| t.slug == args.slug);
    let state = if archived { "archived" } else { "not archived" };
    println!("{} is {state}", args.slug);
    Ok(())
}

/// Prints a token signed with the local dev key (refused in production).
pub fn token(args: &TokenArgs) -> anyhow::Result<()> {
    if args.auth.is_production() {
        bail!("ENVIRONMENT is production: dev tokens are disabled (use the auth service)");
    }
    if args.auth.auth_jwks_url.is_some() {
        eprintln!(
            "warning: AUTH_JWKS_URL is set, so a server with this environment verifies tokens \
             against it and will refuse this dev token"
        );
    }
    let user = user_id(&args.user)?;
    let key = auth::DevKey::load_or_create(&args.auth.auth_dev_key)
        .with_context(|| format!("dev key {}", args.auth.auth_dev_key.display()))?;
    let ttl = std::time::Duration::from_secs(args.ttl_seconds);
    println!("{}", key.mint(&user, ttl, args.auth.issuer()));
    Ok(())
}
