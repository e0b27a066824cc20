//! Matchtype → leaderboard floor table.
//!
//! Upstream's catalog once silently renamed `matchtypes` to `leaderboardmap` (2026-06-01) and
//! every match lost its leaderboard. The floor keeps the verified mapping available whatever
//! the catalog says; upstream's own map is laid over it.

use std::collections::BTreeMap;

/// `(matchtype_id, leaderboard_id)` pairs transcribed from the live catalog on 2026-07-25.
pub const MATCHTYPE_LEADERBOARD_FLOOR: [(i64, i64); 15] = [
    (2, 1),
    (60, 1),
    (3, 2),
    (4, 2),
    (5, 2),
    (61, 2),
    (6, 3),
    (7, 4),
    (8, 4),
    (9, 4),
    (10, 5),
    (26, 13),
    (27, 14),
    (28, 14),
    (29, 14),
];

/// The floor as a map.
pub fn matchtype_floor() -> BTreeMap<i64, i64> {
    MATCHTYPE_LEADERBOARD_FLOOR.into_iter().collect()
}

/// The floor with `upstream` laid over it: upstream's entries win, floor entries fill gaps.
pub fn merge_over_floor(upstream: &BTreeMap<i64, i64>) -> BTreeMap<i64, i64> {
    let mut merged = matchtype_floor();
    merged.extend(upstream.iter().map(|(&mt, &lb)| (mt, lb)));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_wins_over_floor() {
        let upstream = BTreeMap::from([(6, 99), (122, 27)]);
        let merged = merge_over_floor(&upstream);
        assert_eq!(merged[&6], 99);
        assert_eq!(merged[&122], 27);
        assert_eq!(merged[&26], 13);
        assert_eq!(merged.len(), 16);
    }

    #[test]
    fn empty_upstream_keeps_floor() {
        assert_eq!(merge_over_floor(&BTreeMap::new()), matchtype_floor());
    }
}
