//! The Operator aggregate (singleton): the allowlist of users who may create tournaments.
//! Only the `standings creators` CLI changes it; granting twice or revoking a stranger is a no-op.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::event::{ObservationError, CURRENT_EVENT_VERSION};

/// The one operator aggregate's id.
pub const OPERATOR_ID: &str = "creators";

#[derive(Clone, Debug, PartialEq)]
pub enum OperatorCommand {
    GrantCreator { user_id: String, at: DateTime<Utc> },
    RevokeCreator { user_id: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperatorEvent {
    CreatorGranted {
        user_id: String,
        granted_at: DateTime<Utc>,
    },
    CreatorRevoked {
        user_id: String,
    },
}

impl DomainEvent for OperatorEvent {
    fn event_type(&self) -> String {
        match self {
            Self::CreatorGranted { .. } => "CreatorGranted",
            Self::CreatorRevoked { .. } => "CreatorRevoked",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        CURRENT_EVENT_VERSION.to_string()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    pub creators: BTreeSet<String>,
}

impl Aggregate for Operator {
    const TYPE: &'static str = "Operator";
    type Command = OperatorCommand;
    type Event = OperatorEvent;
    type Error = ObservationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            OperatorCommand::GrantCreator { user_id, at } => {
                if user_id.trim().is_empty() {
                    return Err(ObservationError::Invalid(
                        "user id must not be empty".into(),
                    ));
                }
                (!self.creators.contains(&user_id)).then_some(OperatorEvent::CreatorGranted {
                    user_id,
                    granted_at: at,
                })
            }
            OperatorCommand::RevokeCreator { user_id } => self
                .creators
                .contains(&user_id)
                .then_some(OperatorEvent::CreatorRevoked { user_id }),
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            OperatorEvent::CreatorGranted { user_id, .. } => {
                self.creators.insert(user_id);
            }
            OperatorEvent::CreatorRevoked { user_id } => {
                self.creators.remove(&user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000, 0).unwrap()
    }

    #[test]
    fn grant_is_idempotent_and_revoke_of_stranger_is_noop() {
        let granted = OperatorEvent::CreatorGranted {
            user_id: "u1".into(),
            granted_at: at(),
        };
        TestFramework::<Operator>::with(())
            .given_no_previous_events()
            .when(OperatorCommand::GrantCreator {
                user_id: "u1".into(),
                at: at(),
            })
            .then_expect_events(vec![granted.clone()]);
        TestFramework::<Operator>::with(())
            .given(vec![granted.clone()])
            .when(OperatorCommand::GrantCreator {
                user_id: "u1".into(),
                at: at(),
            })
            .then_expect_events(vec![]);
        TestFramework::<Operator>::with(())
            .given(vec![granted])
            .when(OperatorCommand::RevokeCreator {
                user_id: "u2".into(),
            })
            .then_expect_events(vec![]);
    }
}
