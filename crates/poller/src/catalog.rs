//! Catalog cycle: `getAvailableLeaderboards` → catalog `Observe` (leaderboards with their
//! matchtypes, civilizations), and the matchtype → leaderboard map the matches cycle uses.
//!
//! The map is upstream's laid over the verified floor. Before the first catalog poll of a
//! term it comes from the Catalog aggregate, so a restart with upstream down still maps
//! matches as the last catalog said. A catalog listing no matchtypes (the 2026-06-01 schema
//! drift zeroed every standings table that way) keeps the map in force.

use chrono::Utc;
use domain::catalog::{Catalog, CatalogCommand, Civilization, Leaderboard, CATALOG_ID};
use upstream::LeaderboardInfo;

use crate::{CycleError, CycleKind, CycleReport, Inner, MatchtypeMap, Sent};

#[derive(Default)]
pub(crate) struct CatalogState {
    map: Option<MatchtypeMap>,
    /// The last catalog the aggregate was told about (skip identical commands).
    sent: Option<(Vec<Leaderboard>, Vec<Civilization>)>,
}

pub(crate) async fn cycle(inner: &Inner) -> Result<CycleReport, CycleError> {
    let catalog = inner.client.available_leaderboards().await?;
    let mut report = CycleReport {
        requests: 1,
        items: catalog.leaderboards.len(),
        ..CycleReport::default()
    };
    let upstream_map = catalog.matchtype_map();
    if upstream_map.is_empty() {
        tracing::warn!(
            leaderboards = catalog.leaderboards.len(),
            "catalog lists no matchtypes; keeping the matchtype map in force"
        );
    }
    let leaderboards: Vec<Leaderboard> = catalog
        .leaderboards
        .iter()
        .map(|l| Leaderboard {
            leaderboard_id: l.id,
            name: l.name.clone(),
            is_ranked: l.is_ranked,
            matchtype_ids: l.matchtype_ids.clone(),
        })
        .collect();
    let civilizations: Vec<Civilization> = catalog
        .civilizations
        .iter()
        .map(|c| Civilization {
            civilization_id: c.id,
            name: c.name.clone(),
        })
        .collect();
    let observed = (leaderboards, civilizations);
    let unchanged = inner.lock_state().catalog.sent.as_ref() == Some(&observed);
    if !unchanged {
        let command = CatalogCommand::Observe {
            leaderboards: observed.0.clone(),
            civilizations: observed.1.clone(),
            observed_at: Utc::now(),
        };
        let sent = inner
            .send::<Catalog>(CycleKind::Catalog, CATALOG_ID, command)
            .await?;
        report.commands += 1;
        if sent == Sent::Appended {
            inner.lock_state().catalog.sent = Some(observed);
        }
    }
    if !upstream_map.is_empty() {
        inner.lock_state().catalog.map = Some(upstream::merge_over_floor(&upstream_map));
    }
    Ok(report)
}

/// The map in force; loaded from the Catalog aggregate the first time in a term.
pub(crate) async fn matchtype_map(inner: &Inner) -> Result<MatchtypeMap, CycleError> {
    if let Some(map) = inner.lock_state().catalog.map.clone() {
        return Ok(map);
    }
    let known = inner
        .store
        .load::<Catalog>(CATALOG_ID)
        .await
        .map_err(|e| CycleError::Store(e.to_string()))?;
    let map = map_of(&known.leaderboards);
    Ok(inner.lock_state().catalog.map.get_or_insert(map).clone())
}

/// Upstream's rule (a ranked board wins a shared matchtype) over the floor.
pub(crate) fn map_of(leaderboards: &[Leaderboard]) -> MatchtypeMap {
    upstream::Catalog {
        leaderboards: leaderboards
            .iter()
            .map(|l| LeaderboardInfo {
                id: l.leaderboard_id,
                name: l.name.clone(),
                is_ranked: l.is_ranked,
                matchtype_ids: l.matchtype_ids.clone(),
            })
            .collect(),
        civilizations: Vec::new(),
    }
    .matchtype_map_with_floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_fills_what_the_aggregate_lacks() {
        assert_eq!(map_of(&[]), upstream::matchtype_floor());
        let custom = map_of(&[Leaderboard {
            leaderboard_id: 27,
            name: "X".into(),
            is_ranked: true,
            matchtype_ids: vec![122, 6],
        }]);
        assert_eq!(custom[&122], 27);
        assert_eq!(custom[&6], 27, "upstream wins over the floor");
        assert_eq!(custom[&26], 13);
    }
}
