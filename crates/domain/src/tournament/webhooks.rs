//! Webhook subscriptions of a tournament (issue 15): owners register endpoints that receive
//! the tournament's notifications. Each change is a Tournament event, so the audit trail shows
//! who added, edited, paused or deleted which endpoint.
//!
//! What is **not** here: the secret (events only record its fingerprint: the log is forever
//! and its audit view is public), and the address checks, which need DNS (the caller runs
//! [`crate::webhook_url::UrlPolicy`] before sending the command). The aggregate enforces what
//! needs only its state: known kinds, the per-tournament cap, the URL's length and shape, and
//! that a `discord` subscription points at a Discord webhook.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{invalid, Res, Tournament, TournamentError, TournamentEvent};
use crate::rules::char_len_within;
use crate::webhook_url::is_discord_webhook;

/// The notification kinds a subscription may ask for (docs/notifications.md).
pub const NOTIFICATION_KINDS: &[&str] = &[
    "match_finished",
    "peak_rating",
    "lead_change",
    "streak_milestone",
    "player_live",
    "player_offline",
    "window_opened",
    "window_closed",
];
pub const MAX_WEBHOOKS_PER_TOURNAMENT: usize = 20;
pub const MAX_WEBHOOK_URL_CHARS: usize = 2_048;
pub const MAX_WEBHOOK_DESCRIPTION_CHARS: usize = 200;

/// How notifications are rendered for the endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// The generic JSON body, signed (`X-Standings-Signature`).
    Json,
    /// `content` / `embeds` for a Discord webhook URL.
    Discord,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Discord => "discord",
        }
    }
}

/// A subscription as the aggregate keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    pub format: WebhookFormat,
    /// Sorted, without duplicates; empty means every kind.
    pub kinds: Vec<String>,
    pub description: Option<String>,
    pub paused: bool,
    pub secret_fingerprint: String,
}

/// The endpoint a command names, with what the caller learned about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: String,
    /// The operator's allowlist names the URL's host: it may stand in for Discord (a local
    /// receiver in tests and demos).
    pub host_allowlisted: bool,
}

/// `TournamentAction::RegisterWebhook`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// A fresh UUID chosen by the caller (also the secret's key).
    pub subscription_id: String,
    pub target: WebhookTarget,
    pub format: WebhookFormat,
    pub kinds: Vec<String>,
    pub description: Option<String>,
    /// First 8 hex digits of the new secret's SHA-256.
    pub secret_fingerprint: String,
    pub at: DateTime<Utc>,
}

/// `TournamentAction::ChangeWebhook`: what happens to an existing subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookChange {
    /// `None` leaves a field alone; `description: Some(None)` clears it.
    Edit {
        target: Option<WebhookTarget>,
        format: Option<WebhookFormat>,
        kinds: Option<Vec<String>>,
        description: Option<Option<String>>,
    },
    Pause,
    Resume,
    Delete,
    RotateSecret {
        secret_fingerprint: String,
    },
}

impl WebhookChange {
    /// The audit action name (log-based alerts key on it, like the contract's).
    pub fn audit_name(&self) -> &'static str {
        match self {
            WebhookChange::Edit { .. } => "webhook_edit",
            WebhookChange::Pause => "webhook_pause",
            WebhookChange::Resume => "webhook_resume",
            WebhookChange::Delete => "webhook_delete",
            WebhookChange::RotateSecret { .. } => "webhook_rotate_secret",
        }
    }
}

/// `WebhookRegistered`: a new subscription (its secret was issued outside the log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRegistered {
    pub tournament_id: i64,
    pub subscription_id: String,
    pub url: String,
    pub format: WebhookFormat,
    pub kinds: Vec<String>,
    pub description: Option<String>,
    pub secret_fingerprint: String,
    pub registered_at: DateTime<Utc>,
}

/// `WebhookEdited`: the subscription's settings after the edit, whole; `changed` names the
/// fields that differ (for the audit trail).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEdited {
    pub tournament_id: i64,
    pub subscription_id: String,
    pub url: String,
    pub format: WebhookFormat,
    pub kinds: Vec<String>,
    pub description: Option<String>,
    pub changed: Vec<String>,
}

/// `WebhookPaused`, `WebhookResumed`, `WebhookDeleted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookChanged {
    pub tournament_id: i64,
    pub subscription_id: String,
}

/// `WebhookSecretRotated`: a new secret was issued (only its fingerprint is recorded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecretRotated {
    pub tournament_id: i64,
    pub subscription_id: String,
    pub secret_fingerprint: String,
}

/// Event types whose payload holds a webhook URL (public reads must redact it).
pub const EVENTS_WITH_URL: &[&str] = &["WebhookRegistered", "WebhookEdited"];

impl Tournament {
    pub(super) fn decide_register_webhook(
        &self,
        tid: i64,
        r: WebhookRegistration,
    ) -> Result<Vec<TournamentEvent>, TournamentError> {
        if self.webhooks.contains_key(&r.subscription_id) {
            return Err(TournamentError::WebhookExists);
        }
        if self.webhooks.len() >= MAX_WEBHOOKS_PER_TOURNAMENT {
            return Err(TournamentError::WebhookLimit);
        }
        let kinds = check_kinds(r.kinds)?;
        check_target(&r.target, r.format)?;
        check_description(r.description.as_deref())?;
        Ok(vec![TournamentEvent::WebhookRegistered(
            WebhookRegistered {
                tournament_id: tid,
                subscription_id: r.subscription_id,
                url: r.target.url,
                format: r.format,
                kinds,
                description: r.description,
                secret_fingerprint: r.secret_fingerprint,
                registered_at: r.at,
            },
        )])
    }

    pub(super) fn decide_change_webhook(
        &self,
        tid: i64,
        subscription_id: String,
        change: WebhookChange,
    ) -> Result<Vec<TournamentEvent>, TournamentError> {
        use TournamentEvent as E;
        let current = self
            .webhooks
            .get(&subscription_id)
            .ok_or(TournamentError::WebhookNotFound)?;
        let changed = |subscription_id: String| WebhookChanged {
            tournament_id: tid,
            subscription_id,
        };
        let events = match change {
            WebhookChange::Edit {
                target,
                format,
                kinds,
                description,
            } => {
                let format = format.unwrap_or(current.format);
                let kinds = match kinds {
                    Some(kinds) => check_kinds(kinds)?,
                    None => current.kinds.clone(),
                };
                let description = description.unwrap_or_else(|| current.description.clone());
                check_description(description.as_deref())?;
                // The URL is re-checked whenever it or the format changes (a `json` endpoint
                // switched to `discord` must be a Discord URL).
                let url = match target {
                    Some(target) => {
                        check_target(&target, format)?;
                        target.url
                    }
                    None if format != current.format => {
                        check_target(
                            &WebhookTarget {
                                url: current.url.clone(),
                                host_allowlisted: false,
                            },
                            format,
                        )?;
                        current.url.clone()
                    }
                    None => current.url.clone(),
                };
                let mut names = vec![];
                for (name, differs) in [
                    ("url", url != current.url),
                    ("format", format != current.format),
                    ("kinds", kinds != current.kinds),
                    ("description", description != current.description),
                ] {
                    if differs {
                        names.push(name.to_string());
                    }
                }
                if names.is_empty() {
                    vec![]
                } else {
                    vec![E::WebhookEdited(WebhookEdited {
                        tournament_id: tid,
                        subscription_id,
                        url,
                        format,
                        kinds,
                        description,
                        changed: names,
                    })]
                }
            }
            WebhookChange::Pause if !current.paused => {
                vec![E::WebhookPaused(changed(subscription_id))]
            }
            WebhookChange::Resume if current.paused => {
                vec![E::WebhookResumed(changed(subscription_id))]
            }
            WebhookChange::Pause | WebhookChange::Resume => vec![],
            WebhookChange::Delete => vec![E::WebhookDeleted(changed(subscription_id))],
            WebhookChange::RotateSecret { secret_fingerprint } => {
                vec![E::WebhookSecretRotated(WebhookSecretRotated {
                    tournament_id: tid,
                    subscription_id,
                    secret_fingerprint,
                })]
            }
        };
        Ok(events)
    }

    /// The webhook part of `evolve` (`true` when `event` was a webhook event).
    pub(super) fn evolve_webhook(&mut self, event: &TournamentEvent) -> bool {
        use TournamentEvent as E;
        match event {
            E::WebhookRegistered(e) => {
                self.webhooks.insert(
                    e.subscription_id.clone(),
                    Webhook {
                        url: e.url.clone(),
                        format: e.format,
                        kinds: e.kinds.clone(),
                        description: e.description.clone(),
                        paused: false,
                        secret_fingerprint: e.secret_fingerprint.clone(),
                    },
                );
            }
            E::WebhookEdited(e) => {
                if let Some(w) = self.webhooks.get_mut(&e.subscription_id) {
                    w.url = e.url.clone();
                    w.format = e.format;
                    w.kinds = e.kinds.clone();
                    w.description = e.description.clone();
                }
            }
            E::WebhookPaused(e) | E::WebhookResumed(e) => {
                if let Some(w) = self.webhooks.get_mut(&e.subscription_id) {
                    w.paused = matches!(event, E::WebhookPaused(_));
                }
            }
            E::WebhookDeleted(e) => {
                self.webhooks.remove(&e.subscription_id);
            }
            E::WebhookSecretRotated(e) => {
                if let Some(w) = self.webhooks.get_mut(&e.subscription_id) {
                    w.secret_fingerprint = e.secret_fingerprint.clone();
                }
            }
            _ => return false,
        }
        true
    }
}

/// Known kinds only; stored sorted and without duplicates (empty: every kind).
fn check_kinds(mut kinds: Vec<String>) -> Result<Vec<String>, TournamentError> {
    if let Some(unknown) = kinds
        .iter()
        .find(|k| !NOTIFICATION_KINDS.contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "kinds holds an unknown notification kind '{}'; known: {}",
            unknown.chars().take(64).collect::<String>(),
            NOTIFICATION_KINDS.join(", ")
        )));
    }
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

fn check_target(target: &WebhookTarget, format: WebhookFormat) -> Res {
    if !char_len_within(&target.url, 1, MAX_WEBHOOK_URL_CHARS) {
        return Err(invalid(format!(
            "url must be 1-{MAX_WEBHOOK_URL_CHARS} characters"
        )));
    }
    let scheme = target.url.split_once("://").map(|(s, _)| s);
    if !matches!(scheme, Some("https" | "http")) {
        return Err(invalid("url must be an absolute http(s) URL"));
    }
    if format == WebhookFormat::Discord
        && !target.host_allowlisted
        && !is_discord_webhook(&target.url)
    {
        return Err(invalid(
            "url must be a Discord webhook URL (https://discord.com/api/webhooks/...) for \
             format 'discord'",
        ));
    }
    Ok(())
}

fn check_description(description: Option<&str>) -> Res {
    if description.is_some_and(|d| !char_len_within(d, 1, MAX_WEBHOOK_DESCRIPTION_CHARS)) {
        return Err(invalid(format!(
            "description must be 1-{MAX_WEBHOOK_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Actor;
    use crate::tournament::{RankBy, TournamentAction, TournamentCommand, TournamentConfig};

    const OWNER: &str = "11111111-1111-1111-1111-111111111111";
    const TID: i64 = 7;
    const DISCORD: &str = "https://discord.com/api/webhooks/1/token";

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000, 0).unwrap_or_default()
    }

    fn tournament(extra: Vec<TournamentEvent>) -> Tournament {
        let mut events = vec![
            TournamentEvent::TournamentCreated {
                tournament_id: TID,
                slug: "hera".into(),
                config: TournamentConfig {
                    name: "Hera".into(),
                    leaderboard_id: 3,
                    rank_by: RankBy::PeakRating,
                    start_date: None,
                    end_date: None,
                    prize_pool_cents: None,
                    host_stream_urls: vec![],
                    presentation: serde_json::json!({}),
                },
                created_at: at(),
            },
            TournamentEvent::OwnerGranted {
                tournament_id: TID,
                user_id: OWNER.into(),
                granted_at: at(),
            },
        ];
        events.extend(extra);
        Tournament::replay(events)
    }

    fn run(
        t: &Tournament,
        action: TournamentAction,
    ) -> Result<Vec<TournamentEvent>, TournamentError> {
        t.decide(TournamentCommand::Manage {
            actor: Actor::User(OWNER.into()),
            action,
        })
    }

    fn register(id: &str, url: &str, format: WebhookFormat, kinds: &[&str]) -> TournamentAction {
        TournamentAction::RegisterWebhook(Box::new(WebhookRegistration {
            subscription_id: id.into(),
            target: WebhookTarget {
                url: url.into(),
                host_allowlisted: false,
            },
            format,
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            description: None,
            secret_fingerprint: "0badf00d".into(),
            at: at(),
        }))
    }

    fn change(id: &str, change: WebhookChange) -> TournamentAction {
        TournamentAction::ChangeWebhook {
            subscription_id: id.into(),
            change,
        }
    }

    fn registered(id: &str) -> TournamentEvent {
        TournamentEvent::WebhookRegistered(WebhookRegistered {
            tournament_id: TID,
            subscription_id: id.into(),
            url: "https://example.com/hook".into(),
            format: WebhookFormat::Json,
            kinds: vec![],
            description: None,
            secret_fingerprint: "0badf00d".into(),
            registered_at: at(),
        })
    }

    #[test]
    fn register_sorts_and_dedupes_kinds_and_refuses_unknown_ones() {
        let t = tournament(vec![]);
        let events = run(
            &t,
            register(
                "a",
                "https://example.com/h",
                WebhookFormat::Json,
                &["peak_rating", "match_finished", "peak_rating"],
            ),
        )
        .unwrap();
        let TournamentEvent::WebhookRegistered(e) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(e.kinds, ["match_finished", "peak_rating"]);
        let refused = run(
            &t,
            register("a", "https://example.com/h", WebhookFormat::Json, &["goal"]),
        );
        assert!(
            matches!(&refused, Err(TournamentError::InvalidField(m)) if m.starts_with("kinds ")),
            "{refused:?}"
        );
    }

    #[test]
    fn discord_format_needs_a_discord_url_unless_the_host_is_allowlisted() {
        let t = tournament(vec![]);
        let refused = run(
            &t,
            register("a", "https://example.com/h", WebhookFormat::Discord, &[]),
        );
        assert!(
            matches!(&refused, Err(TournamentError::InvalidField(m)) if m.starts_with("url ")),
            "{refused:?}"
        );
        assert!(run(&t, register("a", DISCORD, WebhookFormat::Discord, &[])).is_ok());
        let mut stand_in = register("a", "http://127.0.0.1:9/h", WebhookFormat::Discord, &[]);
        if let TournamentAction::RegisterWebhook(r) = &mut stand_in {
            r.target.host_allowlisted = true;
        }
        assert!(run(&t, stand_in).is_ok());
        // Switching a json endpoint to discord re-checks its URL.
        let t = tournament(vec![registered("a")]);
        let edit = WebhookChange::Edit {
            target: None,
            format: Some(WebhookFormat::Discord),
            kinds: None,
            description: None,
        };
        assert!(run(&t, change("a", edit)).is_err());
    }

    #[test]
    fn at_most_twenty_per_tournament_and_bounded_urls() {
        let t = tournament((0..20).map(|i| registered(&i.to_string())).collect());
        assert_eq!(
            run(
                &t,
                register("x", "https://example.com/h", WebhookFormat::Json, &[])
            ),
            Err(TournamentError::WebhookLimit)
        );
        let t = tournament(vec![]);
        let long = format!("https://example.com/{}", "a".repeat(MAX_WEBHOOK_URL_CHARS));
        assert!(run(&t, register("x", &long, WebhookFormat::Json, &[])).is_err());
        assert!(run(
            &t,
            register("x", "ftp://example.com/", WebhookFormat::Json, &[])
        )
        .is_err());
    }

    #[test]
    fn pause_resume_delete_and_rotate() {
        let t = tournament(vec![registered("a")]);
        assert_eq!(
            run(&t, change("b", WebhookChange::Pause)),
            Err(TournamentError::WebhookNotFound)
        );
        let paused = run(&t, change("a", WebhookChange::Pause)).unwrap();
        assert!(matches!(paused[..], [TournamentEvent::WebhookPaused(_)]));
        // Resuming a running subscription, pausing a paused one: nothing to record.
        assert_eq!(run(&t, change("a", WebhookChange::Resume)), Ok(vec![]));
        let mut events = vec![registered("a")];
        events.extend(paused);
        let t = tournament(events.clone());
        assert!(t.webhooks["a"].paused);
        assert_eq!(run(&t, change("a", WebhookChange::Pause)), Ok(vec![]));
        let rotated = run(
            &t,
            change(
                "a",
                WebhookChange::RotateSecret {
                    secret_fingerprint: "12345678".into(),
                },
            ),
        )
        .unwrap();
        events.extend(rotated);
        events.extend(run(&t, change("a", WebhookChange::Delete)).unwrap());
        let before_delete = tournament(events[..3].to_vec());
        assert_eq!(before_delete.webhooks["a"].secret_fingerprint, "12345678");
        assert!(tournament(events).webhooks.is_empty());
    }

    #[test]
    fn edit_records_only_what_changed() {
        let t = tournament(vec![registered("a")]);
        let same = WebhookChange::Edit {
            target: Some(WebhookTarget {
                url: "https://example.com/hook".into(),
                host_allowlisted: false,
            }),
            format: None,
            kinds: Some(vec![]),
            description: None,
        };
        assert_eq!(run(&t, change("a", same)), Ok(vec![]));
        let edit = WebhookChange::Edit {
            target: None,
            format: None,
            kinds: Some(vec!["lead_change".into()]),
            description: Some(Some("results channel".into())),
        };
        let events = run(&t, change("a", edit)).unwrap();
        let TournamentEvent::WebhookEdited(e) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(e.changed, ["kinds", "description"]);
        assert_eq!(e.url, "https://example.com/hook");
    }

    #[test]
    fn other_owners_tournament_rules_come_first() {
        let t = tournament(vec![]);
        let stranger = t.decide(TournamentCommand::Manage {
            actor: Actor::User("22222222-2222-2222-2222-222222222222".into()),
            action: register("a", "https://example.com/h", WebhookFormat::Json, &[]),
        });
        assert_eq!(stranger, Err(TournamentError::NotOwnerOfTournament));
    }
}
