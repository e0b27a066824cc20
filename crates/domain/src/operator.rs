//! The Operator aggregate (singleton): the allowlist of users who may create tournaments.
//! Only the `standings creators` CLI changes it; granting twice or revoking a stranger is a no-op.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::ObservationError;

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

domain_event!(OperatorEvent {
    CreatorGranted,
    CreatorRevoked
});

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    pub creators: BTreeSet<String>,
}

aggregate!(Operator: OperatorCommand => OperatorEvent, ObservationError);

impl Operator {
    fn decide(&self, command: OperatorCommand) -> Result<Option<OperatorEvent>, ObservationError> {
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
        Ok(event)
    }

    fn evolve(&mut self, event: OperatorEvent) {
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
