//! `standings webhooks list|add|edit|pause|resume|delete|rotate-secret --tournament SLUG`:
//! the owner routes' commands for operators (actor `operator:<name>`), with the same URL
//! checks (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOWED_HOSTS`) and the same secret handling (stored
//! beside the log, printed once).

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::tournament::{
    Tournament, TournamentAction, TournamentCommand, WebhookChange, WebhookFormat,
    WebhookRegistration,
};
use domain::webhook_url::redact;
use domain::EventMetadata;
use sqlx::PgPool;
use store::{webhook_secrets, CommandError, EventStore};

use crate::settings::{
    WebhookAddArgs, WebhookEditArgs, WebhookFormatArg, WebhookIdArgs, WebhookTournamentArgs,
    WebhooksCommand,
};

pub async fn run(pool: &PgPool, command: &WebhooksCommand) -> anyhow::Result<()> {
    match command {
        WebhooksCommand::List(args) => list(pool, args).await,
        WebhooksCommand::Add(args) => add(pool, args).await,
        WebhooksCommand::Edit(args) => edit(pool, args).await,
        WebhooksCommand::Pause(args) => change(pool, args, WebhookChange::Pause, "paused").await,
        WebhooksCommand::Resume(args) => change(pool, args, WebhookChange::Resume, "resumed").await,
        WebhooksCommand::Delete(args) => {
            change(pool, args, WebhookChange::Delete, "deleted").await?;
            webhook_secrets::forget(pool, &args.id).await?;
            Ok(())
        }
        WebhooksCommand::RotateSecret(args) => rotate(pool, args).await,
    }
}

/// What `WebhooksCommand` names: the subcommand's group, for `main.rs`'s database args.
pub fn tournament_args(command: &WebhooksCommand) -> &WebhookTournamentArgs {
    match command {
        WebhooksCommand::List(args) => args,
        WebhooksCommand::Add(args) => &args.target,
        WebhooksCommand::Edit(args) => &args.target.target,
        WebhooksCommand::Pause(args)
        | WebhooksCommand::Resume(args)
        | WebhooksCommand::Delete(args)
        | WebhooksCommand::RotateSecret(args) => &args.target,
    }
}

fn format(arg: WebhookFormatArg) -> WebhookFormat {
    match arg {
        WebhookFormatArg::Json => WebhookFormat::Json,
        WebhookFormatArg::Discord => WebhookFormat::Discord,
    }
}

/// `--kinds a,b` without empty entries (`--kinds ''` is every kind).
fn kinds(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

/// Runs one action on the tournament as the operator, then brings the read models up to date.
async fn manage(
    pool: &PgPool,
    target: &WebhookTournamentArgs,
    action: TournamentAction,
) -> anyhow::Result<()> {
    let actor = Actor::Operator(target.operator.who.clone());
    let command = TournamentCommand::Manage {
        actor: actor.clone(),
        action,
    };
    match EventStore::new(pool.clone())
        .execute::<Tournament>(&target.tournament, command, &EventMetadata::new(actor))
        .await
    {
        Ok(()) => {}
        Err(CommandError::Rejected(e)) => bail!("refused: {e}"),
        Err(other) => bail!("{other}"),
    }
    projections::runner::catch_up(pool, &projections::core::Core, 10_000)
        .await
        .context("updating the read models")?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Listed {
    subscription_id: String,
    url: String,
    format: String,
    kinds: Vec<String>,
    paused: bool,
    secret_fingerprint: String,
    created_at: DateTime<Utc>,
}

async fn list(pool: &PgPool, args: &WebhookTournamentArgs) -> anyhow::Result<()> {
    let rows: Vec<Listed> = sqlx::query_as(
        "SELECT w.subscription_id, w.url, w.format, w.kinds, w.paused, w.secret_fingerprint,
                w.created_at
           FROM live.webhook_subscriptions w
           JOIN live.tournaments t ON t.id = w.tournament_id
          WHERE t.slug = $1 ORDER BY w.created_position",
    )
    .bind(&args.tournament)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        println!("no webhooks on {}", args.tournament);
    }
    for w in rows {
        let kinds = if w.kinds.is_empty() {
            "all kinds".to_string()
        } else {
            w.kinds.join(",")
        };
        let state = if w.paused { "paused" } else { "active" };
        println!(
            "{}  {:<7} {state:<6} {}  {kinds}  secret {}  since {}",
            w.subscription_id,
            w.format,
            redact(&w.url),
            w.secret_fingerprint,
            w.created_at.format("%Y-%m-%d %H:%M")
        );
    }
    Ok(())
}

async fn add(pool: &PgPool, args: &WebhookAddArgs) -> anyhow::Result<()> {
    let target = api::vet_webhook_url(&args.policy.policy(), &args.url)
        .await
        .map_err(|refusal| anyhow::anyhow!("refused: {refusal}"))?;
    let id = uuid::Uuid::new_v4().to_string();
    let secret = webhook_secrets::generate();
    webhook_secrets::save(pool, &id, &secret).await?;
    let action = TournamentAction::RegisterWebhook(Box::new(WebhookRegistration {
        subscription_id: id.clone(),
        target,
        format: format(args.format),
        kinds: kinds(&args.kinds),
        description: args.description.clone(),
        secret_fingerprint: webhook_secrets::fingerprint(&secret),
        at: Utc::now(),
    }));
    if let Err(e) = manage(pool, &args.target, action).await {
        webhook_secrets::forget(pool, &id).await.ok();
        return Err(e);
    }
    println!("registered webhook {id} on {}", args.target.tournament);
    println!("signing secret (shown once): {secret}");
    Ok(())
}

async fn edit(pool: &PgPool, args: &WebhookEditArgs) -> anyhow::Result<()> {
    let target = match &args.url {
        Some(url) => Some(
            api::vet_webhook_url(&args.policy.policy(), url)
                .await
                .map_err(|refusal| anyhow::anyhow!("refused: {refusal}"))?,
        ),
        None => None,
    };
    let change = WebhookChange::Edit {
        target,
        format: args.format.map(format),
        kinds: args.kinds.as_deref().map(kinds),
        description: args
            .description
            .as_ref()
            .map(|d| Some(d.clone()).filter(|d| !d.is_empty())),
    };
    change_webhook(pool, &args.target, change).await?;
    println!("edited webhook {}", args.target.id);
    Ok(())
}

async fn change_webhook(
    pool: &PgPool,
    args: &WebhookIdArgs,
    change: WebhookChange,
) -> anyhow::Result<()> {
    let action = TournamentAction::ChangeWebhook {
        subscription_id: args.id.clone(),
        change,
    };
    manage(pool, &args.target, action).await
}

async fn change(
    pool: &PgPool,
    args: &WebhookIdArgs,
    change: WebhookChange,
    done: &str,
) -> anyhow::Result<()> {
    change_webhook(pool, args, change).await?;
    println!("{done} webhook {}", args.id);
    Ok(())
}

async fn rotate(pool: &PgPool, args: &WebhookIdArgs) -> anyhow::Result<()> {
    let secret = webhook_secrets::generate();
    let change = WebhookChange::RotateSecret {
        secret_fingerprint: webhook_secrets::fingerprint(&secret),
    };
    change_webhook(pool, args, change).await?;
    webhook_secrets::save(pool, &args.id, &secret).await?;
    println!(
        "new signing secret for webhook {} (shown once): {secret}",
        args.id
    );
    Ok(())
}
