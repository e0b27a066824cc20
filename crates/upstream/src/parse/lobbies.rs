//! `findAdvertisements`: open custom lobbies (ranked automatch never appears here).

use std::collections::HashSet;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{decode_body, decode_error, endpoint, epoch};
use crate::error::Result;
use crate::model::{Lobby, LobbyMember};
use crate::options;

#[derive(Deserialize)]
struct RawLobbyBody {
    /// Current name of the lobby list.
    #[serde(default)]
    matches: Option<Vec<RawLobby>>,
    /// Legacy name, kept for tolerance (never reproduced live).
    #[serde(default)]
    advertisements: Option<Vec<RawLobby>>,
}

#[derive(Deserialize)]
struct RawLobby {
    #[serde(default)]
    id: Option<i64>,
    /// Legacy lobby id.
    #[serde(default)]
    match_id: Option<i64>,
    #[serde(default)]
    state: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    mapname: Option<String>,
    #[serde(default)]
    options: Option<String>,
    #[serde(default)]
    matchtype_id: Option<i64>,
    #[serde(default)]
    host_profile_id: Option<i64>,
    #[serde(default)]
    steamlobbyid: Option<RawSteamLobbyId>,
    #[serde(default)]
    creation_time: Option<i64>,
    #[serde(default)]
    matchmembers: Option<Vec<RawLobbyMember>>,
}

/// Above 2^53, so it must never pass through a float. Informational only: an odd shape
/// becomes `None` rather than failing the whole lobby list.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawSteamLobbyId {
    Unsigned(u64),
    Text(String),
    Other(IgnoredAny),
}

impl RawSteamLobbyId {
    fn value(self) -> Option<u64> {
        match self {
            RawSteamLobbyId::Unsigned(v) => Some(v),
            RawSteamLobbyId::Text(s) => s.trim().parse().ok(),
            RawSteamLobbyId::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct RawLobbyMember {
    #[serde(default)]
    profile_id: Option<i64>,
    #[serde(default)]
    civilization_id: Option<i64>,
    #[serde(default)]
    race_id: Option<i64>,
    #[serde(default)]
    teamid: Option<i64>,
}

fn convert(raw: RawLobby) -> Option<Lobby> {
    let lobby_id = raw.id.or(raw.match_id)?;
    let raw_mapname = raw.mapname.unwrap_or_default();
    let members = raw
        .matchmembers
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| {
            Some(LobbyMember {
                profile_id: m.profile_id?,
                civilization_id: m.civilization_id.or(m.race_id),
                team_id: m.teamid,
            })
        })
        .collect();
    Some(Lobby {
        lobby_id,
        state: raw.state.unwrap_or(0),
        description: raw.description,
        map_name: options::resolve_map_name(raw.options.as_deref(), &raw_mapname),
        raw_mapname,
        matchtype_id: raw.matchtype_id.unwrap_or(0),
        host_profile_id: raw.host_profile_id,
        steam_lobby_id: raw.steamlobbyid.and_then(RawSteamLobbyId::value),
        created_at: epoch(raw.creation_time),
        members,
    })
}

/// One page: the lobbies plus the raw list length (lobbies without an id included), which
/// decides whether another page exists.
pub(crate) fn parse_advertisements_page(body: &[u8]) -> Result<(Vec<Lobby>, usize)> {
    let raw: RawLobbyBody = decode_body(endpoint::ADVERTISEMENTS, body)?;
    let list = raw.matches.or(raw.advertisements).ok_or_else(|| {
        decode_error(
            endpoint::ADVERTISEMENTS,
            ".".to_owned(),
            "missing field `matches` (or legacy `advertisements`)".to_owned(),
        )
    })?;
    let raw_len = list.len();
    let mut seen = HashSet::new();
    let lobbies = list
        .into_iter()
        .filter_map(convert)
        .filter(|lobby| seen.insert(lobby.lobby_id))
        .collect();
    Ok((lobbies, raw_len))
}

/// Parse a `findAdvertisements` body. Lobbies without an id are skipped; `state` defaults
/// to 0; the map comes from the options blob (lobby `mapname` is usually `"my map"`).
pub fn parse_advertisements(body: &[u8]) -> Result<Vec<Lobby>> {
    parse_advertisements_page(body).map(|(lobbies, _)| lobbies)
}
