//! The Catalog aggregate (singleton): leaderboards and civilizations upstream publishes.
//!
//! An empty list never replaces a known one: upstream has silently dropped fields before
//! (`matchtypes` → `leaderboardmap`), and an empty catalog would zero every standings table.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::ObservationError;

/// The one catalog aggregate's id.
pub const CATALOG_ID: &str = "age2";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaderboard {
    pub leaderboard_id: i64,
    pub name: String,
    pub is_ranked: bool,
    pub matchtype_ids: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Civilization {
    pub civilization_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CatalogCommand {
    Observe {
        leaderboards: Vec<Leaderboard>,
        civilizations: Vec<Civilization>,
        observed_at: DateTime<Utc>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CatalogEvent {
    LeaderboardsObserved {
        leaderboards: Vec<Leaderboard>,
        observed_at: DateTime<Utc>,
    },
    CivilizationsObserved {
        civilizations: Vec<Civilization>,
        observed_at: DateTime<Utc>,
    },
}

domain_event!(CatalogEvent {
    LeaderboardsObserved,
    CivilizationsObserved
});

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub leaderboards: Vec<Leaderboard>,
    pub civilizations: Vec<Civilization>,
}

aggregate!(Catalog: CatalogCommand => CatalogEvent, ObservationError);

impl Catalog {
    fn decide(&self, command: CatalogCommand) -> Result<Vec<CatalogEvent>, ObservationError> {
        let CatalogCommand::Observe {
            mut leaderboards,
            mut civilizations,
            observed_at,
        } = command;
        // Sorted so that the same catalog in another order is not a change.
        leaderboards.sort_by_key(|l| l.leaderboard_id);
        for board in &mut leaderboards {
            board.matchtype_ids.sort_unstable();
            board.matchtype_ids.dedup();
        }
        civilizations.sort_by_key(|c| c.civilization_id);
        let mut events = Vec::new();
        if !leaderboards.is_empty() && leaderboards != self.leaderboards {
            let event = CatalogEvent::LeaderboardsObserved {
                leaderboards,
                observed_at,
            };
            events.push(event);
        }
        if !civilizations.is_empty() && civilizations != self.civilizations {
            let event = CatalogEvent::CivilizationsObserved {
                civilizations,
                observed_at,
            };
            events.push(event);
        }
        Ok(events)
    }

    fn evolve(&mut self, event: CatalogEvent) {
        match event {
            CatalogEvent::LeaderboardsObserved { leaderboards, .. } => {
                self.leaderboards = leaderboards
            }
            CatalogEvent::CivilizationsObserved { civilizations, .. } => {
                self.civilizations = civilizations
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

    fn boards() -> Vec<Leaderboard> {
        vec![
            Leaderboard {
                leaderboard_id: 3,
                name: "SOLO_RM_RANKED".into(),
                is_ranked: true,
                matchtype_ids: vec![6],
            },
            Leaderboard {
                leaderboard_id: 4,
                name: "TEAM_RM_RANKED".into(),
                is_ranked: true,
                matchtype_ids: vec![7, 8, 9],
            },
        ]
    }

    fn civs() -> Vec<Civilization> {
        vec![Civilization {
            civilization_id: 0,
            name: "Armenians".into(),
        }]
    }

    #[test]
    fn same_catalog_in_another_order_is_not_a_change() {
        let mut shuffled = boards();
        shuffled.reverse();
        shuffled[0].matchtype_ids = vec![9, 8, 7];
        TestFramework::<Catalog>::with(())
            .given(vec![
                CatalogEvent::LeaderboardsObserved {
                    leaderboards: boards(),
                    observed_at: at(),
                },
                CatalogEvent::CivilizationsObserved {
                    civilizations: civs(),
                    observed_at: at(),
                },
            ])
            .when(CatalogCommand::Observe {
                leaderboards: shuffled,
                civilizations: civs(),
                observed_at: at(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn empty_lists_never_replace_known_ones() {
        TestFramework::<Catalog>::with(())
            .given(vec![CatalogEvent::LeaderboardsObserved {
                leaderboards: boards(),
                observed_at: at(),
            }])
            .when(CatalogCommand::Observe {
                leaderboards: vec![],
                civilizations: civs(),
                observed_at: at(),
            })
            .then_expect_events(vec![CatalogEvent::CivilizationsObserved {
                civilizations: civs(),
                observed_at: at(),
            }]);
    }
}
