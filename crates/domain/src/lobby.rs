//! The Lobby aggregate (id: lobby id, which becomes the match id once played): an open custom
//! lobby with a tracked player in it, from first sighting until it leaves the lobby list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::ObservationError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LobbyState {
    /// Upstream `state == 0`: players gathering (the only state ever observed).
    Staging,
    InProgress,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbySnapshot {
    pub lobby_id: i64,
    pub map_name: String,
    pub description: Option<String>,
    pub matchtype_id: i64,
    pub state: LobbyState,
    /// Every member's profile id, sorted and unique.
    pub members: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LobbyCommand {
    Observe {
        snapshot: LobbySnapshot,
        observed_at: DateTime<Utc>,
    },
    /// The lobby is no longer listed.
    End { observed_at: DateTime<Utc> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LobbyEvent {
    LiveMatchStarted {
        snapshot: LobbySnapshot,
        started_at: DateTime<Utc>,
    },
    LiveMatchUpdated {
        snapshot: LobbySnapshot,
        observed_at: DateTime<Utc>,
    },
    LiveMatchEnded {
        lobby_id: i64,
        ended_at: DateTime<Utc>,
    },
}

domain_event!(LobbyEvent {
    LiveMatchStarted,
    LiveMatchUpdated,
    LiveMatchEnded
});

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lobby {
    pub open: Option<LobbySnapshot>,
}

aggregate!(Lobby: LobbyCommand => LobbyEvent, ObservationError);

impl Lobby {
    fn decide(&self, command: LobbyCommand) -> Result<Option<LobbyEvent>, ObservationError> {
        let event = match command {
            LobbyCommand::Observe {
                mut snapshot,
                observed_at,
            } => {
                snapshot.members.sort_unstable();
                snapshot.members.dedup();
                match &self.open {
                    None => Some(LobbyEvent::LiveMatchStarted {
                        snapshot,
                        started_at: observed_at,
                    }),
                    Some(open) if *open != snapshot => Some(LobbyEvent::LiveMatchUpdated {
                        snapshot,
                        observed_at,
                    }),
                    Some(_) => None,
                }
            }
            LobbyCommand::End { observed_at } => {
                self.open.as_ref().map(|open| LobbyEvent::LiveMatchEnded {
                    lobby_id: open.lobby_id,
                    ended_at: observed_at,
                })
            }
        };
        Ok(event)
    }

    fn evolve(&mut self, event: LobbyEvent) {
        match event {
            LobbyEvent::LiveMatchStarted { snapshot, .. }
            | LobbyEvent::LiveMatchUpdated { snapshot, .. } => self.open = Some(snapshot),
            LobbyEvent::LiveMatchEnded { .. } => self.open = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type F = TestFramework<Lobby>;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + s, 0).unwrap()
    }

    fn snapshot(members: Vec<i64>) -> LobbySnapshot {
        LobbySnapshot {
            lobby_id: 486002117,
            map_name: "Arena".into(),
            description: Some("Hera vs ACCM - Bo7 G3".into()),
            matchtype_id: 0,
            state: LobbyState::Staging,
            members,
        }
    }

    fn started() -> LobbyEvent {
        LobbyEvent::LiveMatchStarted {
            snapshot: snapshot(vec![199325, 347269]),
            started_at: at(0),
        }
    }

    #[test]
    fn first_sighting_starts_and_members_are_normalized() {
        F::with(())
            .given_no_previous_events()
            .when(LobbyCommand::Observe {
                snapshot: snapshot(vec![347269, 199325, 347269]),
                observed_at: at(0),
            })
            .then_expect_events(vec![started()]);
    }

    #[test]
    fn unchanged_lobby_yields_nothing_and_changes_yield_update() {
        F::with(())
            .given(vec![started()])
            .when(LobbyCommand::Observe {
                snapshot: snapshot(vec![347269, 199325]),
                observed_at: at(15),
            })
            .then_expect_events(vec![]);
        F::with(())
            .given(vec![started()])
            .when(LobbyCommand::Observe {
                snapshot: snapshot(vec![199325]),
                observed_at: at(15),
            })
            .then_expect_events(vec![LobbyEvent::LiveMatchUpdated {
                snapshot: snapshot(vec![199325]),
                observed_at: at(15),
            }]);
    }

    #[test]
    fn end_only_once() {
        F::with(())
            .given(vec![started()])
            .when(LobbyCommand::End {
                observed_at: at(30),
            })
            .then_expect_events(vec![LobbyEvent::LiveMatchEnded {
                lobby_id: 486002117,
                ended_at: at(30),
            }]);
        F::with(())
            .given_no_previous_events()
            .when(LobbyCommand::End {
                observed_at: at(30),
            })
            .then_expect_events(vec![]);
    }
}
