//! Map locstring id → map name, verified entries only.
//!
//! Every entry was cross-checked against replay-derived ground truth (2026-06-10). Ids follow
//! the game's string table but must never be extended by arithmetic or guesses: an unknown id
//! falls back to upstream's `mapname`. Seen but deliberately absent: 11017, 11022 (unverified).

/// `(locstring_id, map name)`, sorted by id (binary-searched).
pub const VERIFIED_MAPS: [(i64, &str); 50] = [
    (10875, "Arabia"),
    (10878, "Black Forest"),
    (10882, "Fortress"),
    (10883, "Gold Rush"),
    (10884, "Highland"),
    (10886, "Mediterranean"),
    (10887, "Migration"),
    (10889, "Team Islands"),
    (10892, "Mongolia"),
    (10894, "Yucatan"),
    (10895, "Arena"),
    (10897, "Oasis"),
    (10901, "Nomad"),
    (10915, "Budapest"),
    (10919, "Hideout"),
    (10920, "Hill Fort"),
    (10921, "Lombardia"),
    (10924, "MegaRandom"),
    (10926, "CtR Random"),
    (10931, "Four Lakes"),
    (10932, "Land Nomad"),
    (10938, "Amazon Tunnel"),
    (10939, "Coastal Forest"),
    (10940, "African Clearing"),
    (10941, "Atacama"),
    (10945, "Michi"),
    (10949, "Eruption"),
    (10952, "Lowland"),
    (10953, "Marketplace"),
    (10956, "Northern Isles"),
    (10960, "Enclosed"),
    (10961, "Haboob"),
    (10963, "Land Madness"),
    (10966, "Morass"),
    (10968, "Cliffbound"),
    (10969, "Isthmus"),
    (10973, "River Divide"),
    (10978, "Karsts"),
    (10979, "Glade"),
    (10980, "Fortified Clearing"),
    (10994, "Seasons"),
    (10995, "Sherwood Forest"),
    (11005, "QS Runestones"),
    (11006, "QS Arena"),
    (11012, "Border Dispute"),
    (11013, "Graupel"),
    (301100, "Kilimanjaro"),
    (301104, "Socotra"),
    (301111, "Bohemia"),
    (301153, "Snake Forest"),
];

/// The verified name for a locstring id, if any.
pub fn map_for_locstring(id: i64) -> Option<&'static str> {
    VERIFIED_MAPS
        .binary_search_by_key(&id, |&(k, _)| k)
        .ok()
        .map(|i| VERIFIED_MAPS[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(VERIFIED_MAPS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookups() {
        assert_eq!(map_for_locstring(10875), Some("Arabia"));
        assert_eq!(map_for_locstring(10878), Some("Black Forest"));
        assert_eq!(map_for_locstring(301153), Some("Snake Forest"));
        assert_eq!(map_for_locstring(11022), None);
        assert_eq!(map_for_locstring(0), None);
        assert_eq!(map_for_locstring(-2), None);
    }
}
