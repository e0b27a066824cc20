//! `getRecentMatchHistory`: finished matches with per-player rows, plus participant aliases.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::{decode_body, decode_error, endpoint, epoch};
use crate::error::Result;
use crate::model::{
    FinishedMatch, MatchHistory, MatchPlayer, Outcome, ProfileAlias, UNKNOWN_CIVILIZATION,
};
use crate::options;

#[derive(Deserialize)]
struct RawHistoryBody {
    #[serde(rename = "matchHistoryStats")]
    matches: Vec<RawMatch>,
    #[serde(default)]
    profiles: Option<Vec<RawAliasEntry>>,
}

#[derive(Deserialize)]
struct RawMatch {
    id: i64,
    matchtype_id: i64,
    startgametime: i64,
    matchhistoryreportresults: Vec<RawReport>,
    #[serde(default)]
    matchhistorymember: Option<Vec<RawMember>>,
    #[serde(default)]
    mapname: Option<String>,
    #[serde(default)]
    options: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    completiontime: Option<i64>,
}

/// Outcome and team come from the report row; its civ is only a fallback (it lies with 0).
#[derive(Deserialize)]
struct RawReport {
    profile_id: i64,
    teamid: i64,
    #[serde(default)]
    resulttype: Option<i64>,
    #[serde(default)]
    civilization_id: Option<i64>,
    #[serde(default)]
    race_id: Option<i64>,
    #[serde(default)]
    xpgained: Option<i64>,
}

/// Civ and ratings come from the member row.
#[derive(Deserialize)]
struct RawMember {
    profile_id: i64,
    #[serde(default)]
    civilization_id: Option<i64>,
    #[serde(default)]
    race_id: Option<i64>,
    #[serde(default)]
    oldrating: Option<i64>,
    #[serde(default)]
    newrating: Option<i64>,
}

/// `profiles[]` entries: only the alias is used, so everything is optional here.
#[derive(Deserialize)]
struct RawAliasEntry {
    #[serde(default)]
    profile_id: Option<i64>,
    #[serde(default)]
    alias: Option<String>,
}

fn outcome(resulttype: Option<i64>) -> Option<Outcome> {
    match resulttype {
        Some(1) => Some(Outcome::Win),
        Some(0) => Some(Outcome::Loss),
        _ => None,
    }
}

fn convert_match(index: usize, raw: RawMatch) -> Result<FinishedMatch> {
    let started_at = epoch(Some(raw.startgametime)).ok_or_else(|| {
        decode_error(
            endpoint::RECENT_MATCH_HISTORY,
            format!("matchHistoryStats[{index}].startgametime"),
            format!("not a valid epoch timestamp: {}", raw.startgametime),
        )
    })?;
    let members: HashMap<i64, RawMember> = raw
        .matchhistorymember
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.profile_id, m))
        .collect();
    let mut seen = HashSet::new();
    let players = raw
        .matchhistoryreportresults
        .into_iter()
        .filter(|report| seen.insert(report.profile_id))
        .map(|report| {
            let member = members.get(&report.profile_id);
            // Never default to 0: that is Armenians.
            let civilization_id = member
                .and_then(|m| m.civilization_id.or(m.race_id))
                .or(report.civilization_id)
                .or(report.race_id)
                .unwrap_or(UNKNOWN_CIVILIZATION);
            MatchPlayer {
                profile_id: report.profile_id,
                civilization_id,
                team_id: report.teamid,
                outcome: outcome(report.resulttype),
                old_rating: member.and_then(|m| m.oldrating),
                new_rating: member.and_then(|m| m.newrating),
                xp_gained: report.xpgained.unwrap_or(0),
            }
        })
        .collect();
    let raw_mapname = raw.mapname.unwrap_or_default();
    Ok(FinishedMatch {
        match_id: raw.id,
        map_name: options::resolve_map_name(raw.options.as_deref(), &raw_mapname),
        raw_mapname,
        matchtype_id: raw.matchtype_id,
        started_at,
        completed_at: epoch(raw.completiontime),
        description: raw.description,
        players,
    })
}

/// Parse a `getRecentMatchHistory` body: matches deduplicated by id (first wins) and sorted
/// by start time (upstream's order is not chronological); blank aliases dropped.
pub fn parse_match_history(body: &[u8]) -> Result<MatchHistory> {
    let raw: RawHistoryBody = decode_body(endpoint::RECENT_MATCH_HISTORY, body)?;
    let mut seen = HashSet::new();
    let mut matches = Vec::with_capacity(raw.matches.len());
    for (index, m) in raw.matches.into_iter().enumerate() {
        if seen.insert(m.id) {
            matches.push(convert_match(index, m)?);
        }
    }
    sort_matches(&mut matches);
    let mut seen = HashSet::new();
    let aliases = raw
        .profiles
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let alias = p.alias.filter(|a| !a.is_empty())?;
            let profile_id = p.profile_id?;
            seen.insert(profile_id)
                .then_some(ProfileAlias { profile_id, alias })
        })
        .collect();
    Ok(MatchHistory { matches, aliases })
}

/// Chronological, ties broken by match id so the order is deterministic.
pub(crate) fn sort_matches(matches: &mut [FinishedMatch]) {
    matches.sort_by_key(|m| (m.started_at, m.match_id));
}
