//! The Match aggregate (id: upstream match id): a finished game, recorded exactly once.
//!
//! The same match is seen in the history of every participant and on every poll until it falls
//! out of upstream's window; only the first observation appends `MatchFinished`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::ObservationError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Win,
    Loss,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchPlayer {
    pub profile_id: i64,
    /// The alias upstream listed for this player with the match (opponents are not tracked).
    pub alias: Option<String>,
    /// `-1` when unknown; `0` is a real civilization.
    pub civilization_id: i64,
    pub team_id: i64,
    pub outcome: Option<Outcome>,
    pub old_rating: Option<i64>,
    pub new_rating: Option<i64>,
    pub xp_gained: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedMatch {
    pub match_id: i64,
    /// Decoded from the options blob; upstream's `mapname` only as a fallback.
    pub map_name: String,
    pub matchtype_id: i64,
    /// Derived from the matchtype; `None` for unranked / unmapped match types.
    pub leaderboard_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub players: Vec<MatchPlayer>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MatchCommand {
    RecordFinishedMatch(FinishedMatch),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchEvent {
    MatchFinished(FinishedMatch),
}

domain_event!(MatchEvent { MatchFinished });

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub recorded: bool,
}

aggregate!(Match: MatchCommand => MatchEvent, ObservationError);

impl Match {
    fn decide(&self, command: MatchCommand) -> Result<Option<MatchEvent>, ObservationError> {
        let MatchCommand::RecordFinishedMatch(finished) = command;
        if finished.players.is_empty() {
            return Err(ObservationError::Invalid(format!(
                "match {} has no players",
                finished.match_id
            )));
        }
        Ok((!self.recorded).then_some(MatchEvent::MatchFinished(finished)))
    }

    fn evolve(&mut self, event: MatchEvent) {
        let MatchEvent::MatchFinished(_) = event;
        self.recorded = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn game() -> FinishedMatch {
        let player = |profile_id, civ, team, outcome, old, new| MatchPlayer {
            profile_id,
            alias: None,
            civilization_id: civ,
            team_id: team,
            outcome: Some(outcome),
            old_rating: Some(old),
            new_rating: Some(new),
            xp_gained: 1,
        };
        FinishedMatch {
            match_id: 485301122,
            map_name: "Arabia".into(),
            matchtype_id: 6,
            leaderboard_id: Some(3),
            started_at: DateTime::from_timestamp(1779082301, 0).unwrap(),
            completed_at: DateTime::from_timestamp(1779084162, 0),
            description: Some("AUTOMATCH".into()),
            players: vec![
                player(347269, 23, 0, Outcome::Loss, 2726, 2718),
                player(199325, 4, 1, Outcome::Win, 2780, 2788),
            ],
        }
    }

    #[test]
    fn first_sighting_records_the_match() {
        TestFramework::<Match>::with(())
            .given_no_previous_events()
            .when(MatchCommand::RecordFinishedMatch(game()))
            .then_expect_events(vec![MatchEvent::MatchFinished(game())]);
    }

    #[test]
    fn the_same_match_twice_yields_one_event() {
        TestFramework::<Match>::with(())
            .given(vec![MatchEvent::MatchFinished(game())])
            .when(MatchCommand::RecordFinishedMatch(game()))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_match_without_players_is_rejected() {
        let mut empty = game();
        empty.players.clear();
        TestFramework::<Match>::with(())
            .given_no_previous_events()
            .when(MatchCommand::RecordFinishedMatch(empty))
            .then_expect_error_message("match 485301122 has no players");
    }
}
