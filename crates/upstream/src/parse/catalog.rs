//! `getAvailableLeaderboards`: leaderboards with their matchtypes, and civilization names.

use serde::Deserialize;

use super::{decode_body, endpoint};
use crate::error::Result;
use crate::model::{Catalog, Civilization, LeaderboardInfo};

#[derive(Deserialize)]
struct RawCatalogBody {
    leaderboards: Vec<RawLeaderboard>,
    #[serde(default)]
    races: Option<Vec<RawRace>>,
}

#[derive(Deserialize)]
struct RawLeaderboard {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    isranked: Option<Truthy>,
    /// Current shape (since ~2026-06-01).
    #[serde(default)]
    leaderboardmap: Option<Vec<RawLeaderboardMapEntry>>,
    /// Legacy shape: ints or `{id}` objects.
    #[serde(default)]
    matchtypes: Option<Vec<RawMatchtypeRef>>,
}

#[derive(Deserialize)]
struct RawLeaderboardMapEntry {
    matchtype_id: i64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawMatchtypeRef {
    Id(i64),
    Object { id: i64 },
}

/// Upstream booleans are 0/1 integers; accept real booleans and "1"/"true" too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Truthy {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Truthy {
    fn value(&self) -> bool {
        match self {
            Truthy::Bool(b) => *b,
            Truthy::Int(i) => *i != 0,
            Truthy::Text(s) => matches!(s.trim(), "1" | "true" | "True"),
        }
    }
}

#[derive(Deserialize)]
struct RawRace {
    id: i64,
    #[serde(default)]
    name: Option<String>,
}

impl RawLeaderboard {
    fn into_info(self) -> LeaderboardInfo {
        let from_map: Vec<i64> = self
            .leaderboardmap
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.matchtype_id)
            .collect();
        let ids = if from_map.is_empty() {
            self.matchtypes
                .unwrap_or_default()
                .into_iter()
                .map(|m| match m {
                    RawMatchtypeRef::Id(id) | RawMatchtypeRef::Object { id } => id,
                })
                .collect()
        } else {
            from_map
        };
        let mut matchtype_ids = Vec::with_capacity(ids.len());
        for id in ids {
            if !matchtype_ids.contains(&id) {
                matchtype_ids.push(id);
            }
        }
        LeaderboardInfo {
            id: self.id,
            name: self.name.unwrap_or_default(),
            is_ranked: self.isranked.as_ref().is_some_and(Truthy::value),
            matchtype_ids,
        }
    }
}

/// Parse a `getAvailableLeaderboards` body. `leaderboardmap` is read first, legacy
/// `matchtypes` only when it is missing or empty; races without a name are skipped.
pub fn parse_catalog(body: &[u8]) -> Result<Catalog> {
    let raw: RawCatalogBody = decode_body(endpoint::LEADERBOARDS, body)?;
    Ok(Catalog {
        leaderboards: raw
            .leaderboards
            .into_iter()
            .map(RawLeaderboard::into_info)
            .collect(),
        civilizations: raw
            .races
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(Civilization {
                    id: r.id,
                    name: r.name.filter(|n| !n.is_empty())?,
                })
            })
            .collect(),
    })
}
