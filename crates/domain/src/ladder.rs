//! The Ladder aggregate (id: [`ladder_id`], one leaderboard for one UTC hour): the ladder
//! ranks of the tracked players, which move whenever *anyone* on the ladder plays.
//!
//! Each stats cycle sends the ranks it saw for one leaderboard in one command; the aggregate
//! appends at most one [`LadderEvent::LadderRanksObserved`] carrying only the ranks that
//! changed since its state (its state is the dedupe). So ranks are as fresh as the last stats
//! poll while the log grows by at most one rank event per ladder per cycle.
//!
//! The id names an hour because the event store replays an aggregate's whole stream on every
//! command: an hour holds at most 120 events at the 30 s cadence. The first event of an hour
//! repeats every rank (its state starts empty), which is one event, not a flood.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::ObservationError;

/// The aggregate id for `leaderboard_id` at `at`: `<leaderboard>@<YYYY-MM-DDTHH>` (UTC hour).
pub fn ladder_id(leaderboard_id: i64, at: DateTime<Utc>) -> String {
    format!("{leaderboard_id}@{}", at.format("%Y-%m-%dT%H"))
}

/// One player's rank fields on one ladder, as upstream reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderRank {
    pub profile_id: i64,
    pub rank: Option<i64>,
    pub rank_total: Option<i64>,
    pub region_rank: Option<i64>,
    pub region_rank_total: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LadderCommand {
    /// The ranks one stats poll saw on `leaderboard_id` (any order; a profile once).
    ObserveRanks {
        leaderboard_id: i64,
        ranks: Vec<LadderRank>,
        observed_at: DateTime<Utc>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LadderEvent {
    /// The ranks that changed since the ladder's last event, sorted by profile id.
    LadderRanksObserved {
        leaderboard_id: i64,
        observed_at: DateTime<Utc>,
        ranks: Vec<LadderRank>,
    },
}

domain_event!(LadderEvent {
    LadderRanksObserved
});

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ladder {
    /// The last recorded rank per profile.
    pub ranks: BTreeMap<i64, LadderRank>,
}

impl Ladder {
    fn decide(&self, command: LadderCommand) -> Result<Option<LadderEvent>, ObservationError> {
        let LadderCommand::ObserveRanks {
            leaderboard_id,
            ranks,
            observed_at,
        } = command;
        let mut changed: BTreeMap<i64, LadderRank> = BTreeMap::new();
        for rank in ranks {
            if self.ranks.get(&rank.profile_id) != Some(&rank) {
                changed.insert(rank.profile_id, rank);
            }
        }
        Ok(
            (!changed.is_empty()).then(|| LadderEvent::LadderRanksObserved {
                leaderboard_id,
                observed_at,
                ranks: changed.into_values().collect(),
            }),
        )
    }
}

aggregate!(Ladder: LadderCommand => LadderEvent, ObservationError);

impl Ladder {
    fn evolve(&mut self, event: LadderEvent) {
        let LadderEvent::LadderRanksObserved { ranks, .. } = event;
        for rank in ranks {
            self.ranks.insert(rank.profile_id, rank);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type F = TestFramework<Ladder>;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + minute * 60, 0).unwrap()
    }

    fn rank(profile_id: i64, rank: i64) -> LadderRank {
        LadderRank {
            profile_id,
            rank: Some(rank),
            rank_total: Some(1000),
            region_rank: None,
            region_rank_total: None,
        }
    }

    fn observe(ranks: Vec<LadderRank>, minute: i64) -> LadderCommand {
        LadderCommand::ObserveRanks {
            leaderboard_id: 3,
            ranks,
            observed_at: at(minute),
        }
    }

    fn observed(ranks: Vec<LadderRank>, minute: i64) -> LadderEvent {
        LadderEvent::LadderRanksObserved {
            leaderboard_id: 3,
            observed_at: at(minute),
            ranks,
        }
    }

    #[test]
    fn the_first_observation_records_every_rank_sorted() {
        F::with(())
            .given_no_previous_events()
            .when(observe(vec![rank(9, 2), rank(4, 1)], 0))
            .then_expect_events(vec![observed(vec![rank(4, 1), rank(9, 2)], 0)]);
    }

    #[test]
    fn only_the_ranks_that_moved_are_recorded_at_once() {
        F::with(())
            .given(vec![observed(vec![rank(4, 1), rank(9, 2)], 0)])
            .when(observe(vec![rank(4, 1), rank(9, 3), rank(7, 2)], 1))
            .then_expect_events(vec![observed(vec![rank(7, 2), rank(9, 3)], 1)]);
    }

    #[test]
    fn unchanged_ranks_append_nothing() {
        F::with(())
            .given(vec![
                observed(vec![rank(4, 1), rank(9, 2)], 0),
                observed(vec![rank(9, 3)], 1),
            ])
            .when(observe(vec![rank(9, 3), rank(4, 1)], 2))
            .then_expect_events(vec![]);
    }

    #[test]
    fn the_id_names_the_leaderboard_and_the_utc_hour() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T14:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(ladder_id(3, t), "3@2026-12-07T14");
        assert_eq!(
            ladder_id(3, t + chrono::Duration::seconds(1)),
            "3@2026-12-07T15"
        );
    }
}
