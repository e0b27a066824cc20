//! `standings webhooks list|add|edit|pause|resume|delete|rotate-secret|deliveries|replay
//! --tournament SLUG`: the owner routes' commands for operators (actor `operator:<name>`), with
//! the same URL checks (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOWED_HOSTS`), the same secret
//! handling (stored beside the log, printed once) and the same delivery log (`webhooks::log`).

use anyhow::bail;
use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::tournament::{
    Tournament, TournamentAction, TournamentCommand, TournamentError, WebhookChange, WebhookFormat,
    WebhookRegistration,
};
use domain::webhook_url::redact;
use domain::EventMetadata;
use sqlx::PgPool;
use store::{webhook_secrets, CommandError, EventStore};

use webhooks::log::{DeliveryLog, SubscriptionLag};

use crate::settings::{
    WebhookAddArgs, WebhookDeliveriesArgs, WebhookEditArgs, WebhookFormatArg, WebhookIdArgs,
    WebhookTournamentArgs, WebhooksCommand,
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
        WebhooksCommand::Deliveries(args) => deliveries(pool, args).await,
        WebhooksCommand::Replay(args) => replay(pool, args).await,
    }
}

/// What `WebhooksCommand` names: the subcommand's group, for `main.rs`'s database args.
pub fn tournament_args(command: &WebhooksCommand) -> &WebhookTournamentArgs {
    match command {
        WebhooksCommand::List(args) => args,
        WebhooksCommand::Add(args) => &args.target,
        WebhooksCommand::Edit(args) => &args.target.target,
        WebhooksCommand::Deliveries(args) => &args.target.target,
        WebhooksCommand::Pause(args)
        | WebhooksCommand::Resume(args)
        | WebhooksCommand::Delete(args)
        | WebhooksCommand::RotateSecret(args)
        | WebhooksCommand::Replay(args) => &args.target,
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
    crate::admin::show::<Tournament>(pool, &target.tournament).await
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

/// The check the owner routes make before reading a webhook's deliveries: the tournament
/// exists and `id` is one of its webhooks (the other commands get it from the aggregate's
/// command handler).
async fn existing(pool: &PgPool, args: &WebhookIdArgs) -> anyhow::Result<()> {
    let slug = &args.target.tournament;
    let tournament = match EventStore::new(pool.clone()).load::<Tournament>(slug).await {
        Ok(tournament) => tournament,
        Err(e) => bail!("loading tournament {slug}: {e}"),
    };
    if tournament.tournament_id.is_none() || tournament.config.is_none() {
        bail!("{}: {slug}", TournamentError::NotFound);
    }
    if !tournament.webhooks.contains_key(&args.id) {
        bail!(
            "{}: {} on {slug}",
            TournamentError::WebhookNotFound,
            args.id
        );
    }
    Ok(())
}

async fn deliveries(pool: &PgPool, args: &WebhookDeliveriesArgs) -> anyhow::Result<()> {
    existing(pool, &args.target).await?;
    let id = &args.target.id;
    let log = match webhooks::log::deliveries(pool, id, webhooks::log::ATTEMPTS_SHOWN).await {
        Ok(log) => log,
        // A fresh deployment: the worker's `notifications` projector builds its table first.
        Err(e) if api::not_built_yet(&e) => bail!(
            "no delivery log yet: the notifications read model is not built \
             (start `standings serve` with ROLE=all or worker)"
        ),
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&log)?);
    } else {
        print!("{}", describe(id, &args.target.target.tournament, &log));
    }
    Ok(())
}

/// The delivery log as text: the state, then the attempts and the dead letters, one a line.
fn describe(id: &str, slug: &str, log: &DeliveryLog) -> String {
    let mut out = match &log.state {
        Some(state) => describe_state(id, slug, state),
        // The read model has not caught up with the webhook's registration yet.
        None => format!("webhook {id} on {slug}: no delivery state yet\n"),
    };
    if log.attempts.is_empty() {
        out.push_str("attempts: none\n");
    } else {
        out.push_str(&format!(
            "attempts (last {}, newest first):\n",
            log.attempts.len()
        ));
    }
    for a in &log.attempts {
        let status = a
            .status
            .map_or("no answer".to_string(), |s| format!("HTTP {s}"));
        out.push_str(&format!(
            "  {}  {}  attempt {}  {}  {status}  {} ms{}\n",
            time(a.at),
            a.notification_id,
            a.attempt,
            a.outcome,
            a.latency_ms,
            reason(a.error.as_deref().unwrap_or(""))
        ));
    }
    if log.dead_letters.is_empty() {
        out.push_str("dead letters: none\n");
    } else {
        out.push_str(&format!("dead letters ({}):\n", log.dead_letters.len()));
    }
    for d in &log.dead_letters {
        let requeued = if d.requeued { "  (requeued)" } else { "" };
        out.push_str(&format!(
            "  {}  position {}/{}  {} attempts  dead since {}{requeued}{}\n",
            d.notification_id,
            d.position,
            d.ordinal,
            d.attempts,
            time(d.dead_at),
            reason(&d.last_error)
        ));
    }
    out
}

fn describe_state(id: &str, slug: &str, s: &SubscriptionLag) -> String {
    let paused = if s.paused { "paused" } else { "active" };
    let cursor = if s.ordinal < 0 {
        "nothing handled yet".to_string()
    } else {
        format!("{}/{}", s.position, s.ordinal)
    };
    let mut out = format!(
        "webhook {id} on {slug}: {paused}\n\
         cursor {cursor}, delivered {}, pending {}, lag {:.1} s, dead letters awaiting replay {}\n",
        s.delivered, s.pending, s.lag_seconds, s.dead_letters
    );
    if s.attempts > 0 {
        let next = s.next_attempt_at.map_or("not scheduled".to_string(), time);
        out.push_str(&format!(
            "retry in progress: {} failed attempts, next {next}\n",
            s.attempts
        ));
    }
    out
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `  error` after a line, without the empty body a bare `HTTP 500: ` error ends with.
fn reason(error: &str) -> String {
    let error = error.trim().trim_end_matches(':');
    if error.is_empty() {
        String::new()
    } else {
        format!("  {error}")
    }
}

async fn replay(pool: &PgPool, args: &WebhookIdArgs) -> anyhow::Result<()> {
    existing(pool, args).await?;
    let requeued = webhooks::log::replay(pool, &args.id).await?;
    let letters = if requeued == 1 { "letter" } else { "letters" };
    println!("requeued {requeued} dead {letters} of webhook {}", args.id);
    Ok(())
}
