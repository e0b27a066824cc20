//! Plain data of the simulated ladder (players, per-ladder stats, finished matches, lobbies)
//! and the static catalogue (leaderboards, matchtypes, civilizations, regions).
//!
//! Everything here is data; the rules that change it live in [`crate::ladder`].

use std::collections::BTreeMap;

/// 1v1 Random Map.
pub const LB_SOLO_RM: i64 = 3;
/// Team Random Map (2v2–4v4, solo statgroups).
pub const LB_TEAM_RM: i64 = 4;
/// 1v1 Empire Wars.
pub const LB_SOLO_EW: i64 = 13;
/// Team Empire Wars.
pub const LB_TEAM_EW: i64 = 14;

/// Ladders the simulation keeps stats on and plays games for.
pub const SIMULATED_LEADERBOARDS: [i64; 4] = [LB_SOLO_RM, LB_TEAM_RM, LB_SOLO_EW, LB_TEAM_EW];

/// Matchtype of custom lobbies and of the unranked games they turn into.
pub const MATCHTYPE_CUSTOM: i64 = 0;

/// Ranked matchtype → (leaderboard, players per team), as in the live catalogue.
const RANKED_MATCHTYPES: [(i64, i64, usize); 8] = [
    (6, LB_SOLO_RM, 1),
    (7, LB_TEAM_RM, 2),
    (8, LB_TEAM_RM, 3),
    (9, LB_TEAM_RM, 4),
    (26, LB_SOLO_EW, 1),
    (27, LB_TEAM_EW, 2),
    (28, LB_TEAM_EW, 3),
    (29, LB_TEAM_EW, 4),
];

/// The leaderboard a ranked matchtype counts on.
pub fn leaderboard_for_matchtype(matchtype_id: i64) -> Option<i64> {
    RANKED_MATCHTYPES
        .iter()
        .find(|(mt, _, _)| *mt == matchtype_id)
        .map(|&(_, lb, _)| lb)
}

/// Players per team of a ranked matchtype.
pub fn team_size_for_matchtype(matchtype_id: i64) -> Option<usize> {
    RANKED_MATCHTYPES
        .iter()
        .find(|(mt, _, _)| *mt == matchtype_id)
        .map(|&(_, _, size)| size)
}

/// The ranked matchtype for `team_size` players per team on `leaderboard_id`.
pub fn matchtype_for(leaderboard_id: i64, team_size: usize) -> Option<i64> {
    RANKED_MATCHTYPES
        .iter()
        .find(|(_, lb, size)| *lb == leaderboard_id && *size == team_size)
        .map(|&(mt, _, _)| mt)
}

/// Whether a matchtype is Empire Wars (shorter games, its own map pool).
pub(crate) fn is_empire_wars(matchtype_id: i64) -> bool {
    (26..=29).contains(&matchtype_id)
}

/// `races[]` of the catalogue. 0–44 follow the reference's alphabetical re-sort (0 =
/// Armenians, 4 = Bohemians, 7 = Burgundians, 34 = Portuguese are verified); later ids are
/// appended civilizations (names are the simulator's choice, upstream never named them).
pub const CIVILIZATIONS: [&str; 53] = [
    "Armenians",
    "Aztecs",
    "Bengalis",
    "Berbers",
    "Bohemians",
    "Britons",
    "Bulgarians",
    "Burgundians",
    "Burmese",
    "Byzantines",
    "Celts",
    "Chinese",
    "Cumans",
    "Dravidians",
    "Ethiopians",
    "Franks",
    "Georgians",
    "Goths",
    "Gurjaras",
    "Hindustanis",
    "Huns",
    "Incas",
    "Italians",
    "Japanese",
    "Khmer",
    "Koreans",
    "Lithuanians",
    "Magyars",
    "Malay",
    "Malians",
    "Mayans",
    "Mongols",
    "Persians",
    "Poles",
    "Portuguese",
    "Romans",
    "Saracens",
    "Sicilians",
    "Slavs",
    "Spanish",
    "Tatars",
    "Teutons",
    "Turks",
    "Vietnamese",
    "Vikings",
    "Achaemenids",
    "Athenians",
    "Spartans",
    "Jurchens",
    "Khitans",
    "Shu",
    "Wei",
    "Wu",
];

/// Civ ids players pick in ranked games (the Chronicles civs 45–47 are not ladder civs).
pub(crate) fn is_ladder_civ(civ: i64) -> bool {
    (0..CIVILIZATIONS.len() as i64).contains(&civ) && !(45..=47).contains(&civ)
}

/// `leaderboardRegions[]`: id = index.
pub const REGIONS: [&str; 8] = [
    "Europe",
    "Middle East",
    "Asia",
    "North America",
    "South America",
    "Oceania",
    "Africa",
    "Unknown",
];

/// Region of unknown/blank countries.
pub const REGION_UNKNOWN: i64 = 7;

/// `(country, leaderboardregion_id)` the generator draws from.
pub(crate) const COUNTRIES: [(&str, i64); 30] = [
    ("de", 0),
    ("fr", 0),
    ("gb", 0),
    ("es", 0),
    ("it", 0),
    ("pl", 0),
    ("se", 0),
    ("nl", 0),
    ("ru", 0),
    ("ua", 0),
    ("fi", 0),
    ("cz", 0),
    ("tr", 1),
    ("ae", 1),
    ("sa", 1),
    ("cn", 2),
    ("kr", 2),
    ("jp", 2),
    ("vn", 2),
    ("in", 2),
    ("us", 3),
    ("ca", 3),
    ("mx", 3),
    ("br", 4),
    ("ar", 4),
    ("cl", 4),
    ("au", 5),
    ("nz", 5),
    ("za", 6),
    ("eg", 6),
];

/// One simulated account. Fields mirror `statGroups[].members[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Player {
    pub profile_id: i64,
    /// Solo statgroup id; never equal to any profile id.
    pub statgroup_id: i64,
    /// `/steam/<steamid64>` or `/xboxlive/<40 hex>`.
    pub name: String,
    /// Display name; a few are `""` (the real quirk).
    pub alias: String,
    /// Lower-case ISO alpha-2, `""` for a few (region 7).
    pub country: String,
    pub region_id: i64,
    /// `""` when the player has no clan.
    pub clan: String,
    pub xp: i64,
    pub level: i64,
    /// Stats per leaderboard id; no entry = never played that ladder (no row in payloads).
    pub stats: BTreeMap<i64, LadderStats>,
    /// Multiplier of the configured activity (0 = never queues).
    pub activity: f64,
}

/// One `leaderboardStats[]` row, minus the ranks (computed from the whole ladder on demand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LadderStats {
    pub rating: i64,
    /// Peak rating; `0` until the player wins a game on this ladder (upstream quirk).
    pub highest_rating: i64,
    /// Render a `0` peak by omitting `highestrating` entirely (the other real variant).
    pub omit_highest: bool,
    pub wins: i64,
    pub losses: i64,
    /// Signed: `+n` wins in a row, `-n` losses in a row.
    pub streak: i64,
    pub drops: i64,
    pub disputes: i64,
    /// Epoch seconds of the last game on this ladder.
    pub last_match: i64,
}

impl LadderStats {
    /// A fresh row for a player's first game on a ladder.
    pub fn new_row(rating: i64) -> Self {
        Self {
            rating,
            highest_rating: 0,
            omit_highest: false,
            wins: 0,
            losses: 0,
            streak: 0,
            drops: 0,
            disputes: 0,
            last_match: 0,
        }
    }

    /// Apply one finished game: the rules a client can check against `oldrating/newrating`.
    pub fn record(&mut self, won: bool, new_rating: i64, at: i64) {
        self.rating = new_rating;
        if won {
            self.wins += 1;
            self.streak = if self.streak > 0 { self.streak + 1 } else { 1 };
            self.highest_rating = self.highest_rating.max(new_rating);
        } else {
            self.losses += 1;
            self.streak = if self.streak < 0 { self.streak - 1 } else { -1 };
        }
        self.last_match = self.last_match.max(at);
    }

    pub fn games(&self) -> i64 {
        self.wins + self.losses
    }
}

/// Rank fields of a row, computed over the ladder at the current simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankInfo {
    /// `-1` = not ranked.
    pub rank: i64,
    pub rank_total: i64,
    pub region_rank: i64,
    /// `-1` when nobody in the region is ranked.
    pub region_rank_total: i64,
    /// `1` ranked, `0` not.
    pub rank_level: i64,
}

/// A finished match as stored in players' recent-history windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRecord {
    pub id: i64,
    pub creator_profile_id: i64,
    pub matchtype_id: i64,
    /// The real map: options key 10 (a verified locstring id, or `0` for custom RMS).
    pub map_id: i64,
    /// What upstream reports as `mapname`; for ~half the ranked games another map's file.
    pub mapname: String,
    /// Base64/zlib options blob (key 10 = `map_id`).
    pub options: String,
    pub slotinfo: String,
    pub description: String,
    pub max_players: i64,
    pub started_at: i64,
    pub completed_at: i64,
    pub observers: i64,
    pub players: Vec<MatchPlayer>,
}

impl MatchRecord {
    /// The participant row of `profile_id`.
    pub fn player(&self, profile_id: i64) -> Option<&MatchPlayer> {
        self.players.iter().find(|p| p.profile_id == profile_id)
    }
}

/// One participant: both the report row and the member row are rendered from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchPlayer {
    pub profile_id: i64,
    pub statgroup_id: i64,
    pub team: i64,
    /// The assigned civ (`matchhistorymember.civilization_id`).
    pub civ: i64,
    /// The report row's civ: `0` for some unresolved random picks (the real quirk).
    pub report_civ: i64,
    pub won: bool,
    pub old_rating: i64,
    pub new_rating: i64,
    /// Ladder counters after the match (the member row's snapshot).
    pub wins: i64,
    pub losses: i64,
    pub streak: i64,
    pub xp_gained: i64,
    /// Replay upload by this player's client, if any (`size -1` = never uploaded).
    pub replay: Option<Replay>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub url: String,
    pub size: i64,
}

/// An open custom lobby (`findAdvertisements`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lobby {
    pub id: i64,
    /// Above 2^53 on purpose.
    pub steam_lobby_id: u64,
    pub host_profile_id: i64,
    pub description: String,
    /// `"my map"` for standard maps, the `.rms` file for custom RMS (key 10 = 0).
    pub mapname: String,
    pub map_id: i64,
    pub options: String,
    pub slotinfo: String,
    pub password_protected: bool,
    pub max_players: i64,
    pub members: Vec<i64>,
    pub observers: i64,
    pub relay_region: &'static str,
    pub opened_at: i64,
    /// Simulated close time; `None` for lobbies opened by a test (closed explicitly).
    pub close_at: Option<i64>,
}
