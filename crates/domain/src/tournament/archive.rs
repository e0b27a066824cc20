//! Archiving (issue 16 item 3): an owner freezes a finished tournament. It is no longer
//! polled and its public reads are served from a snapshot, so the aggregate refuses what
//! would change them while archived (every edit but deletion) and archives only once the
//! rated window has closed, when the standings stop moving (seed contract §4.4).
//!
//! Both commands are idempotent: archiving an archived tournament (or un-archiving a live
//! one) appends nothing.

use chrono::{DateTime, Utc};

use super::{Tournament, TournamentAction, TournamentConfig, TournamentError, TournamentEvent};

/// The events of `Archive` / `Unarchive`, `Some(vec![])` for a no-op; `None` for other
/// actions, after refusing them (but `Delete` and webhooks) while the tournament is archived.
pub(super) fn decide(
    state: &Tournament,
    tournament_id: i64,
    config: &TournamentConfig,
    action: &TournamentAction,
) -> Result<Option<Vec<TournamentEvent>>, TournamentError> {
    match action {
        TournamentAction::Archive { at } => archive(state, tournament_id, config, *at).map(Some),
        TournamentAction::Unarchive { at } => Ok(Some(match state.archived_at {
            None => vec![],
            Some(_) => vec![TournamentEvent::TournamentUnarchived {
                tournament_id,
                unarchived_at: *at,
            }],
        })),
        // Deletion, and webhooks (owner-only, no public read shows them).
        TournamentAction::Delete
        | TournamentAction::RegisterWebhook(_)
        | TournamentAction::ChangeWebhook { .. } => Ok(None),
        _ if state.archived_at.is_some() => Err(TournamentError::Archived),
        _ => Ok(None),
    }
}

fn archive(
    state: &Tournament,
    tournament_id: i64,
    config: &TournamentConfig,
    at: DateTime<Utc>,
) -> Result<Vec<TournamentEvent>, TournamentError> {
    if state.archived_at.is_some() {
        return Ok(vec![]);
    }
    if !window_closed(config, at) {
        return Err(TournamentError::WindowStillOpen);
    }
    Ok(vec![TournamentEvent::TournamentArchived {
        tournament_id,
        archived_at: at,
    }])
}

/// Whether the rated window had ended at `at` (an open-ended window never does).
pub fn window_closed(config: &TournamentConfig, at: DateTime<Utc>) -> bool {
    config.end_date.is_some_and(|end| end <= at)
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    use super::super::{RankBy, TournamentCommand};
    use super::*;
    use crate::event::Actor;

    type F = TestFramework<Tournament>;
    const OWNER: &str = "11111111-1111-1111-1111-111111111111";
    const TID: i64 = 7;

    fn day(d: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + d * 86_400, 0).unwrap_or_default()
    }

    fn config(end: Option<DateTime<Utc>>) -> TournamentConfig {
        TournamentConfig {
            name: "Hera Invitational".into(),
            leaderboard_id: 3,
            rank_by: RankBy::PeakRating,
            start_date: Some(day(0)),
            end_date: end,
            prize_pool_cents: None,
            host_stream_urls: vec![],
            presentation: json!({}),
        }
    }

    fn created(end: Option<DateTime<Utc>>) -> Vec<TournamentEvent> {
        vec![
            TournamentEvent::TournamentCreated {
                tournament_id: TID,
                slug: "hera".into(),
                config: config(end),
                created_at: day(0),
            },
            TournamentEvent::OwnerGranted {
                tournament_id: TID,
                user_id: OWNER.into(),
                granted_at: day(0),
            },
        ]
    }

    fn by(actor: &str, action: TournamentAction) -> TournamentCommand {
        TournamentCommand::Manage {
            actor: Actor::User(actor.into()),
            action,
        }
    }

    fn archived(at: i64) -> TournamentEvent {
        TournamentEvent::TournamentArchived {
            tournament_id: TID,
            archived_at: day(at),
        }
    }

    fn with_archive(end: i64, at: i64) -> Vec<TournamentEvent> {
        let mut events = created(Some(day(end)));
        events.push(archived(at));
        events
    }

    #[test]
    fn a_finished_tournament_is_archived_once() {
        F::with(())
            .given(created(Some(day(10))))
            .when(by(OWNER, TournamentAction::Archive { at: day(11) }))
            .then_expect_events(vec![archived(11)]);
        F::with(())
            .given(with_archive(10, 11))
            .when(by(OWNER, TournamentAction::Archive { at: day(12) }))
            .then_expect_events(vec![]);
    }

    #[test]
    fn an_open_window_cannot_be_archived() {
        for end in [None, Some(day(10))] {
            F::with(())
                .given(created(end))
                .when(by(OWNER, TournamentAction::Archive { at: day(9) }))
                .then_expect_error(TournamentError::WindowStillOpen);
        }
    }

    #[test]
    fn only_owners_archive() {
        F::with(())
            .given(created(Some(day(10))))
            .when(by(
                "22222222-2222-2222-2222-222222222222",
                TournamentAction::Archive { at: day(11) },
            ))
            .then_expect_error(TournamentError::NotOwnerOfTournament);
        F::with(())
            .given_no_previous_events()
            .when(by(OWNER, TournamentAction::Archive { at: day(11) }))
            .then_expect_error(TournamentError::NotFound);
    }

    #[test]
    fn unarchive_restores_edits_and_is_idempotent() {
        F::with(())
            .given(with_archive(10, 11))
            .when(by(OWNER, TournamentAction::Unarchive { at: day(12) }))
            .then_expect_events(vec![TournamentEvent::TournamentUnarchived {
                tournament_id: TID,
                unarchived_at: day(12),
            }]);
        F::with(())
            .given(created(Some(day(10))))
            .when(by(OWNER, TournamentAction::Unarchive { at: day(12) }))
            .then_expect_events(vec![]);
        let mut events = with_archive(10, 11);
        events.push(TournamentEvent::TournamentUnarchived {
            tournament_id: TID,
            unarchived_at: day(12),
        });
        F::with(())
            .given(events)
            .when(by(OWNER, TournamentAction::DeleteTeam { team_id: 1 }))
            .then_expect_error(TournamentError::TeamNotFound);
    }

    #[test]
    fn an_archived_tournament_refuses_edits_but_not_deletion() {
        F::with(())
            .given(with_archive(10, 11))
            .when(by(OWNER, TournamentAction::DeleteTeam { team_id: 1 }))
            .then_expect_error(TournamentError::Archived);
        F::with(())
            .given(with_archive(10, 11))
            .when(by(
                OWNER,
                TournamentAction::GrantOwner {
                    user_id: "33333333-3333-3333-3333-333333333333".into(),
                    at: day(12),
                },
            ))
            .then_expect_error(TournamentError::Archived);
        // Webhooks are in no public read: still managed (here: an unknown one is not found).
        F::with(())
            .given(with_archive(10, 11))
            .when(by(
                OWNER,
                TournamentAction::ChangeWebhook {
                    subscription_id: "w1".into(),
                    change: super::super::WebhookChange::Pause,
                },
            ))
            .then_expect_error(TournamentError::WebhookNotFound);
        F::with(())
            .given(with_archive(10, 11))
            .when(by(OWNER, TournamentAction::Delete))
            .then_expect_events(vec![TournamentEvent::TournamentDeleted {
                tournament_id: TID,
            }]);
    }
}
