//! Public, already-cleaned observations. Sentinels are resolved here (`-1` rank → `None`,
//! `0` timestamp → `None`, unknown civ → `-1`), so callers never see raw upstream quirks.
//!
//! Several types mirror the domain's field for field (`RatingObservation` and
//! `domain::profile::LadderStats`, the match players): on purpose, `upstream` does not depend
//! on `domain`, so a change to what upstream sends never changes the event schema by itself
//! (the poller maps one onto the other).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// Civilization id meaning "unknown". Never `0`: upstream's `0` is Armenians.
pub const UNKNOWN_CIVILIZATION: i64 = -1;

/// One player's profile as seen in `statGroups[].members[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileObservation {
    pub profile_id: i64,
    /// Display name; may be empty upstream.
    pub alias: String,
    /// Lower-case ISO-3166 alpha-2; `None` when missing or empty.
    pub country: Option<String>,
    /// SteamID64 taken from `name` when it is `/steam/<id>`; `None` for Xbox identities.
    pub steam_id: Option<String>,
    pub level: i64,
    pub xp: i64,
    /// `leaderboardregion_id` (0 Europe … 7 Unknown).
    pub region_id: i64,
    /// `clanlist_name`; `None` when missing or empty.
    pub clan_name: Option<String>,
}

/// One (profile, leaderboard) rating row from `leaderboardStats[]`, attributed through the
/// statgroup join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingObservation {
    pub profile_id: i64,
    pub leaderboard_id: i64,
    pub rating: i64,
    /// `max(highestrating, rating)`: upstream sends 0 or nothing for players without wins.
    pub highest_rating: i64,
    pub wins: i64,
    pub losses: i64,
    /// Signed: `+n` win streak, `-n` loss streak.
    pub streak: i64,
    pub drops: i64,
    pub rank: Option<i64>,
    pub rank_total: Option<i64>,
    pub region_rank: Option<i64>,
    pub region_rank_total: Option<i64>,
    pub last_match_at: Option<DateTime<Utc>>,
}

/// Result of `GetPersonalStat` (merged across batches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalStats {
    pub profiles: Vec<ProfileObservation>,
    pub ratings: Vec<RatingObservation>,
}

/// Result of one `getLeaderBoard2` page. `ratings` keep upstream's (rank) order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderboardPage {
    pub profiles: Vec<ProfileObservation>,
    pub ratings: Vec<RatingObservation>,
    /// `rankTotal`, when sent.
    pub rank_total: Option<i64>,
}

/// Win/loss from a report row's `resulttype`. Other values are unknown and map to `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Win,
    Loss,
}

/// One participant of a finished match: report row joined to the member row by profile id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchPlayer {
    pub profile_id: i64,
    /// Member civ first (the report row lies with 0), [`UNKNOWN_CIVILIZATION`] if none.
    pub civilization_id: i64,
    /// Report row `teamid` (0-based; equal ids are allies).
    pub team_id: i64,
    pub outcome: Option<Outcome>,
    pub old_rating: Option<i64>,
    pub new_rating: Option<i64>,
    pub xp_gained: i64,
}

/// One finished match from `getRecentMatchHistory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedMatch {
    pub match_id: i64,
    /// Resolved from the `options` blob; falls back to `raw_mapname`.
    pub map_name: String,
    /// Upstream `mapname` as sent (wrong for about half the ranked games).
    pub raw_mapname: String,
    pub matchtype_id: i64,
    pub started_at: DateTime<Utc>,
    /// `None` only defensively (upstream lists finished matches only).
    pub completed_at: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub players: Vec<MatchPlayer>,
}

/// A display name seen in `profiles[]` (blank aliases are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileAlias {
    pub profile_id: i64,
    pub alias: String,
}

/// Result of `getRecentMatchHistory` (merged across batches, deduplicated, sorted by start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchHistory {
    pub matches: Vec<FinishedMatch>,
    pub aliases: Vec<ProfileAlias>,
}

/// A player currently in an open lobby.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobbyMember {
    pub profile_id: i64,
    /// `civilization_id` or `race_id` as sent (`-1` = random / not chosen).
    pub civilization_id: Option<i64>,
    /// `teamid` as sent (`-1` = unassigned).
    pub team_id: Option<i64>,
}

/// One open lobby from `findAdvertisements`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lobby {
    /// `id` (legacy `match_id`); becomes the match id in history later.
    pub lobby_id: i64,
    /// Lobby state; only `0` (open/staging) has been observed.
    pub state: i64,
    pub description: Option<String>,
    /// Resolved from the `options` blob; falls back to `raw_mapname`.
    pub map_name: String,
    /// Usually the placeholder `"my map"`.
    pub raw_mapname: String,
    pub matchtype_id: i64,
    pub host_profile_id: Option<i64>,
    /// Exceeds 2^53: kept as an integer, never a float.
    pub steam_lobby_id: Option<u64>,
    /// Legacy `creation_time`; absent from current payloads.
    pub created_at: Option<DateTime<Utc>>,
    pub members: Vec<LobbyMember>,
}

/// One leaderboard of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderboardInfo {
    pub id: i64,
    /// Internal taxonomy (`SOLO_RM_RANKED`), not a display name.
    pub name: String,
    pub is_ranked: bool,
    /// From `leaderboardmap[].matchtype_id`, else legacy `matchtypes`.
    pub matchtype_ids: Vec<i64>,
}

/// A civilization id → name pair from `races[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Civilization {
    pub id: i64,
    pub name: String,
}

/// Result of `getAvailableLeaderboards`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub leaderboards: Vec<LeaderboardInfo>,
    pub civilizations: Vec<Civilization>,
}

impl Catalog {
    /// Upstream's own matchtype → leaderboard map. When a matchtype is listed by several
    /// boards, a ranked board wins over an unranked one, then the first listed wins.
    pub fn matchtype_map(&self) -> BTreeMap<i64, i64> {
        let mut map: BTreeMap<i64, (i64, bool)> = BTreeMap::new();
        for lb in &self.leaderboards {
            for &mt in &lb.matchtype_ids {
                match map.get(&mt) {
                    Some(&(_, ranked)) if ranked || !lb.is_ranked => {}
                    _ => {
                        map.insert(mt, (lb.id, lb.is_ranked));
                    }
                }
            }
        }
        map.into_iter().map(|(mt, (lb, _))| (mt, lb)).collect()
    }

    /// Upstream's map merged over the verified floor (upstream wins), so a schema drift that
    /// empties upstream's map never leaves ranked matches without a leaderboard.
    pub fn matchtype_map_with_floor(&self) -> BTreeMap<i64, i64> {
        crate::matchtypes::merge_over_floor(&self.matchtype_map())
    }
}
