//! The Profile aggregate (id: upstream profile id): what `GetPersonalStat` says about a player.
//!
//! Polls repeat every 30 s; an event is appended only when the observation differs from the
//! state. Rank-only movement (other players' games shift everyone's rank) is not recorded here
//! but on the [`Ladder`](crate::ladder::Ladder) aggregate, one event per ladder per poll for all
//! players; `RankObserved` (once throttled to one per 15 minutes per ladder) is no longer
//! appended but stays readable and applied, so old logs replay identically.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::ObservationError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileIdentity {
    pub alias: String,
    pub country: Option<String>,
    pub steam_id: Option<String>,
    pub level: i64,
    pub xp: i64,
    pub region_id: i64,
    pub clan_name: Option<String>,
}

/// One ladder's figures for a player, as upstream reports them (sentinels already mapped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderStats {
    pub leaderboard_id: i64,
    pub rating: i64,
    /// Lifetime peak, floored at `rating` (upstream omits it or sends 0 for some accounts).
    pub highest_rating: i64,
    pub wins: i64,
    pub losses: i64,
    pub streak: i64,
    pub drops: i64,
    pub rank: Option<i64>,
    pub rank_total: Option<i64>,
    pub region_rank: Option<i64>,
    pub region_rank_total: Option<i64>,
    pub last_match_at: Option<DateTime<Utc>>,
}

impl LadderStats {
    /// The peak the read models record: a missing or lower peak is floored at the rating.
    pub fn max_rating(&self) -> i64 {
        self.highest_rating.max(self.rating)
    }

    /// The figures a game changes; rank fields move without the player playing.
    fn game_figures(&self) -> impl PartialEq + '_ {
        (
            self.rating,
            self.highest_rating,
            self.wins,
            self.losses,
            self.streak,
            self.drops,
            self.last_match_at,
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObserveStats {
    pub profile_id: i64,
    pub identity: Option<ProfileIdentity>,
    pub ladders: Vec<LadderStats>,
    pub observed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProfileCommand {
    ObserveStats(ObserveStats),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileEvent {
    ProfileObserved {
        profile_id: i64,
        identity: ProfileIdentity,
        observed_at: DateTime<Utc>,
    },
    RatingObserved {
        profile_id: i64,
        stats: LadderStats,
        observed_at: DateTime<Utc>,
    },
    /// Legacy (no longer appended): rank-only movement of one player; see the module docs.
    RankObserved {
        profile_id: i64,
        leaderboard_id: i64,
        rank: Option<i64>,
        rank_total: Option<i64>,
        region_rank: Option<i64>,
        region_rank_total: Option<i64>,
        observed_at: DateTime<Utc>,
    },
}

domain_event!(ProfileEvent {
    ProfileObserved,
    RatingObserved,
    RankObserved
});

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LadderState {
    pub stats: LadderStats,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub identity: Option<ProfileIdentity>,
    pub ladders: BTreeMap<i64, LadderState>,
}

impl Profile {
    fn decide(&self, command: ProfileCommand) -> Result<Vec<ProfileEvent>, ObservationError> {
        let ProfileCommand::ObserveStats(observe) = command;
        let ObserveStats {
            profile_id,
            identity,
            ladders,
            observed_at,
        } = observe;
        let mut events = vec![];
        if let Some(identity) = identity {
            if self.identity.as_ref() != Some(&identity) {
                events.push(ProfileEvent::ProfileObserved {
                    profile_id,
                    identity,
                    observed_at,
                });
            }
        }
        for stats in ladders {
            match self.ladders.get(&stats.leaderboard_id) {
                // Rank-only movement is the Ladder aggregate's to record.
                Some(known) if known.stats.game_figures() == stats.game_figures() => {}
                _ => events.push(ProfileEvent::RatingObserved {
                    profile_id,
                    stats,
                    observed_at,
                }),
            }
        }
        Ok(events)
    }
}

aggregate!(Profile: ProfileCommand => ProfileEvent, ObservationError);

impl Profile {
    fn evolve(&mut self, event: ProfileEvent) {
        match event {
            ProfileEvent::ProfileObserved { identity, .. } => self.identity = Some(identity),
            ProfileEvent::RatingObserved { stats, .. } => {
                self.ladders
                    .insert(stats.leaderboard_id, LadderState { stats });
            }
            ProfileEvent::RankObserved {
                leaderboard_id,
                rank,
                rank_total,
                region_rank,
                region_rank_total,
                ..
            } => {
                if let Some(ladder) = self.ladders.get_mut(&leaderboard_id) {
                    ladder.stats.rank = rank;
                    ladder.stats.rank_total = rank_total;
                    ladder.stats.region_rank = region_rank;
                    ladder.stats.region_rank_total = region_rank_total;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use cqrs_es::Aggregate;

    type F = TestFramework<Profile>;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + minute * 60, 0).unwrap()
    }

    fn identity() -> ProfileIdentity {
        ProfileIdentity {
            alias: "Hera".into(),
            country: Some("ca".into()),
            steam_id: Some("76561198000199325".into()),
            level: 4,
            xp: 12964,
            region_id: 3,
            clan_name: Some("VIT".into()),
        }
    }

    fn rm(rating: i64, wins: i64, rank: Option<i64>) -> LadderStats {
        LadderStats {
            leaderboard_id: 3,
            rating,
            highest_rating: 3045,
            wins,
            losses: 1701,
            streak: 4,
            drops: 55,
            rank,
            rank_total: Some(47807),
            region_rank: Some(1),
            region_rank_total: Some(9639),
            last_match_at: Some(at(-10)),
        }
    }

    fn observe(ladders: Vec<LadderStats>, minute: i64) -> ProfileCommand {
        ProfileCommand::ObserveStats(ObserveStats {
            profile_id: 199325,
            identity: Some(identity()),
            ladders,
            observed_at: at(minute),
        })
    }

    fn seen(minute: i64) -> Vec<ProfileEvent> {
        vec![
            ProfileEvent::ProfileObserved {
                profile_id: 199325,
                identity: identity(),
                observed_at: at(minute),
            },
            ProfileEvent::RatingObserved {
                profile_id: 199325,
                stats: rm(2788, 4962, Some(5)),
                observed_at: at(minute),
            },
        ]
    }

    #[test]
    fn first_observation_records_identity_and_rating() {
        F::with(())
            .given_no_previous_events()
            .when(observe(vec![rm(2788, 4962, Some(5))], 0))
            .then_expect_events(seen(0));
    }

    #[test]
    fn the_same_observation_twice_yields_no_event() {
        F::with(())
            .given(seen(0))
            .when(observe(vec![rm(2788, 4962, Some(5))], 1))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_played_game_yields_one_rating_event() {
        let after = rm(2796, 4963, Some(4));
        F::with(())
            .given(seen(0))
            .when(observe(vec![after.clone()], 1))
            .then_expect_events(vec![ProfileEvent::RatingObserved {
                profile_id: 199325,
                stats: after,
                observed_at: at(1),
            }]);
    }

    #[test]
    fn rank_only_movement_is_left_to_the_ladder() {
        for minute in [1, 15, 60] {
            F::with(())
                .given(seen(0))
                .when(observe(vec![rm(2788, 4962, Some(6))], minute))
                .then_expect_events(vec![]);
        }
    }

    #[test]
    fn a_legacy_rank_event_still_applies() {
        let mut profile = Profile::default();
        for event in seen(0) {
            profile.apply(event);
        }
        profile.apply(ProfileEvent::RankObserved {
            profile_id: 199325,
            leaderboard_id: 3,
            rank: Some(6),
            rank_total: Some(47808),
            region_rank: Some(2),
            region_rank_total: Some(9640),
            observed_at: at(15),
        });
        let ladder = &profile.ladders[&3].stats;
        assert_eq!(
            (
                ladder.rank,
                ladder.rank_total,
                ladder.region_rank,
                ladder.region_rank_total
            ),
            (Some(6), Some(47808), Some(2), Some(9640))
        );
        assert_eq!(ladder.rating, 2788, "game figures untouched");
    }

    #[test]
    fn identity_change_alone_yields_profile_event() {
        let mut renamed = identity();
        renamed.alias = "Hera2".into();
        F::with(())
            .given(seen(0))
            .when(ProfileCommand::ObserveStats(ObserveStats {
                profile_id: 199325,
                identity: Some(renamed.clone()),
                ladders: vec![rm(2788, 4962, Some(5))],
                observed_at: at(1),
            }))
            .then_expect_events(vec![ProfileEvent::ProfileObserved {
                profile_id: 199325,
                identity: renamed,
                observed_at: at(1),
            }]);
    }
}
