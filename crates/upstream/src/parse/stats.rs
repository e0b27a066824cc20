//! `GetPersonalStat` and `getLeaderBoard2`: `statGroups[]` + `leaderboardStats[]`.
//!
//! Stat rows carry no profile id: they are attributed through `statgroup_id` ↔
//! `statGroups[].id`, which differs from the profile id.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::{decode_body, endpoint, epoch, non_empty, non_negative};
use crate::error::Result;
use crate::model::{LeaderboardPage, PersonalStats, ProfileObservation, RatingObservation};

#[derive(Deserialize)]
struct RawStatsBody {
    #[serde(rename = "statGroups")]
    stat_groups: Vec<RawStatGroup>,
    #[serde(rename = "leaderboardStats")]
    leaderboard_stats: Vec<RawStatRow>,
    #[serde(rename = "rankTotal", default)]
    rank_total: Option<i64>,
}

#[derive(Deserialize)]
struct RawStatGroup {
    id: i64,
    #[serde(default)]
    members: Option<Vec<RawProfile>>,
}

/// Shape of `statGroups[].members[]` (and of `profiles[]` / `avatars[]` elsewhere).
#[derive(Deserialize)]
struct RawProfile {
    profile_id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    xp: Option<i64>,
    #[serde(default)]
    level: Option<i64>,
    #[serde(default)]
    leaderboardregion_id: Option<i64>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    clanlist_name: Option<String>,
}

/// Ratings and win/loss counts are required: defaulting them would record wrong standings.
#[derive(Deserialize)]
struct RawStatRow {
    statgroup_id: i64,
    leaderboard_id: i64,
    rating: i64,
    wins: i64,
    losses: i64,
    #[serde(default)]
    highestrating: Option<i64>,
    #[serde(default)]
    streak: Option<i64>,
    #[serde(default)]
    drops: Option<i64>,
    #[serde(default)]
    rank: Option<i64>,
    #[serde(default)]
    ranktotal: Option<i64>,
    #[serde(default)]
    regionrank: Option<i64>,
    #[serde(default)]
    regionranktotal: Option<i64>,
    #[serde(default)]
    lastmatchdate: Option<i64>,
}

impl RawProfile {
    fn into_observation(self) -> ProfileObservation {
        let steam_id = self
            .name
            .as_deref()
            .and_then(|n| n.strip_prefix("/steam/"))
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        ProfileObservation {
            profile_id: self.profile_id,
            alias: self.alias.unwrap_or_default(),
            country: non_empty(self.country),
            steam_id,
            level: self.level.unwrap_or(0),
            xp: self.xp.unwrap_or(0),
            region_id: self.leaderboardregion_id.unwrap_or(0),
            clan_name: non_empty(self.clanlist_name),
        }
    }
}

impl RawStatRow {
    fn into_observation(self, profile_id: i64) -> RatingObservation {
        RatingObservation {
            profile_id,
            leaderboard_id: self.leaderboard_id,
            rating: self.rating,
            // Missing or 0 for players without wins on the ladder; never below the rating.
            highest_rating: self.highestrating.unwrap_or(0).max(self.rating),
            wins: self.wins,
            losses: self.losses,
            streak: self.streak.unwrap_or(0),
            drops: self.drops.unwrap_or(0),
            rank: non_negative(self.rank),
            rank_total: non_negative(self.ranktotal),
            region_rank: non_negative(self.regionrank),
            region_rank_total: non_negative(self.regionranktotal),
            last_match_at: epoch(self.lastmatchdate),
        }
    }
}

/// Join groups and rows. Groups without members and rows whose statgroup matches no group
/// are skipped (a batch must not fail because of one odd row).
fn join(body: RawStatsBody) -> (Vec<ProfileObservation>, Vec<RatingObservation>) {
    let mut group_to_profile = HashMap::new();
    let mut seen_profiles = HashSet::new();
    let mut profiles = Vec::new();
    for group in body.stat_groups {
        // AoE2 ladders all use solo statgroups: the first member is the player.
        let Some(member) = group.members.and_then(|m| m.into_iter().next()) else {
            continue;
        };
        group_to_profile.insert(group.id, member.profile_id);
        if seen_profiles.insert(member.profile_id) {
            profiles.push(member.into_observation());
        }
    }
    let mut seen_ratings = HashSet::new();
    let ratings = body
        .leaderboard_stats
        .into_iter()
        .filter_map(|row| {
            let profile_id = *group_to_profile.get(&row.statgroup_id)?;
            seen_ratings
                .insert((profile_id, row.leaderboard_id))
                .then(|| row.into_observation(profile_id))
        })
        .collect();
    (profiles, ratings)
}

/// Parse a `GetPersonalStat` body.
pub fn parse_personal_stats(body: &[u8]) -> Result<PersonalStats> {
    let raw: RawStatsBody = decode_body(endpoint::PERSONAL_STATS, body)?;
    let (profiles, ratings) = join(raw);
    Ok(PersonalStats { profiles, ratings })
}

/// Parse a `getLeaderBoard2` body; ratings keep upstream's rank order.
pub fn parse_leaderboard_page(body: &[u8]) -> Result<LeaderboardPage> {
    let raw: RawStatsBody = decode_body(endpoint::LEADERBOARD_PAGE, body)?;
    let rank_total = raw.rank_total;
    let (profiles, ratings) = join(raw);
    Ok(LeaderboardPage {
        profiles,
        ratings,
        rank_total,
    })
}
