//! JSON rendering in upstream's shapes. Serde structs keep upstream's key order (`result`
//! first) and make the bytes a pure function of the ladder state.

use serde::Serialize;

use crate::ladder::Ladder;
use crate::model::*;

/// The envelope every response starts with.
#[derive(Serialize)]
struct Status {
    code: i64,
    message: &'static str,
}

const SUCCESS: Status = Status {
    code: 0,
    message: "SUCCESS",
};

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs with string keys always serialize; an empty body would show up as a
    // decode error in any client, never as a panic here.
    serde_json::to_vec(value).unwrap_or_default()
}

/// `{"result":{"code":<code>,"message":<message>}}` with no data arrays.
pub(crate) fn result_only(code: i64, message: &'static str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body {
        result: Status,
    }
    to_bytes(&Body {
        result: Status { code, message },
    })
}

/// `statGroups[].members[]`, `profiles[]` and (without clan) `avatars[]`.
#[derive(Serialize)]
struct ProfileJson<'a> {
    profile_id: i64,
    name: &'a str,
    alias: &'a str,
    personal_statgroup_id: i64,
    xp: i64,
    level: i64,
    leaderboardregion_id: i64,
    country: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    clanlist_name: Option<&'a str>,
}

fn profile(p: &Player, with_clan: bool) -> ProfileJson<'_> {
    ProfileJson {
        profile_id: p.profile_id,
        name: &p.name,
        alias: &p.alias,
        personal_statgroup_id: p.statgroup_id,
        xp: p.xp,
        level: p.level,
        leaderboardregion_id: p.region_id,
        country: &p.country,
        clanlist_name: with_clan.then_some(p.clan.as_str()),
    }
}

#[derive(Serialize)]
struct StatGroupJson<'a> {
    id: i64,
    name: &'static str,
    #[serde(rename = "type")]
    kind: i64,
    members: [ProfileJson<'a>; 1],
}

fn stat_group(p: &Player) -> StatGroupJson<'_> {
    StatGroupJson {
        id: p.statgroup_id,
        name: "",
        kind: 1,
        members: [profile(p, true)],
    }
}

#[derive(Serialize)]
struct StatRowJson {
    statgroup_id: i64,
    leaderboard_id: i64,
    wins: i64,
    losses: i64,
    streak: i64,
    disputes: i64,
    drops: i64,
    rank: i64,
    ranktotal: i64,
    ranklevel: i64,
    rating: i64,
    regionrank: i64,
    regionranktotal: i64,
    lastmatchdate: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    highestrating: Option<i64>,
}

fn stat_row(p: &Player, leaderboard_id: i64, s: &LadderStats, r: RankInfo) -> StatRowJson {
    StatRowJson {
        statgroup_id: p.statgroup_id,
        leaderboard_id,
        wins: s.wins,
        losses: s.losses,
        streak: s.streak,
        disputes: s.disputes,
        drops: s.drops,
        rank: r.rank,
        ranktotal: r.rank_total,
        ranklevel: r.rank_level,
        rating: s.rating,
        regionrank: r.region_rank,
        regionranktotal: r.region_rank_total,
        lastmatchdate: s.last_match,
        highestrating: (!(s.omit_highest && s.highest_rating == 0)).then_some(s.highest_rating),
    }
}

const NO_RANK: RankInfo = RankInfo {
    rank: -1,
    rank_total: 0,
    region_rank: -1,
    region_rank_total: -1,
    rank_level: 0,
};

/// Rows of one player, leaderboards in id order.
fn rows_of(ladder: &mut Ladder, idx: usize) -> Vec<StatRowJson> {
    let boards: Vec<i64> = ladder.player_at(idx).stats.keys().copied().collect();
    let ranks: Vec<RankInfo> = boards
        .iter()
        .map(|&lb| ladder.rank_at(idx, lb).unwrap_or(NO_RANK))
        .collect();
    let p = ladder.player_at(idx);
    boards
        .iter()
        .zip(ranks)
        .filter_map(|(lb, r)| Some(stat_row(p, *lb, p.stats.get(lb)?, r)))
        .collect()
}

/// `GetPersonalStat` for the given players (indices, already deduplicated).
pub(crate) fn personal_stats(ladder: &mut Ladder, idxs: &[usize]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        result: Status,
        #[serde(rename = "statGroups")]
        stat_groups: Vec<StatGroupJson<'a>>,
        #[serde(rename = "leaderboardStats")]
        leaderboard_stats: Vec<StatRowJson>,
    }
    let rows: Vec<StatRowJson> = idxs.iter().flat_map(|&i| rows_of(ladder, i)).collect();
    let ladder = &*ladder;
    to_bytes(&Body {
        result: SUCCESS,
        stat_groups: idxs
            .iter()
            .map(|&i| stat_group(ladder.player_at(i)))
            .collect(),
        leaderboard_stats: rows,
    })
}

/// `getLeaderBoard2`: ranked players sorted by rating (`sort_by_wins`: by wins), 1-based
/// `start`, at most `count` rows.
pub(crate) fn leaderboard_page(
    ladder: &mut Ladder,
    leaderboard_id: i64,
    start: usize,
    count: usize,
    sort_by_wins: bool,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        result: Status,
        #[serde(rename = "statGroups")]
        stat_groups: Vec<StatGroupJson<'a>>,
        #[serde(rename = "leaderboardStats")]
        leaderboard_stats: Vec<StatRowJson>,
        #[serde(rename = "rankTotal")]
        rank_total: i64,
    }
    let mut order = ladder.ranked_order(leaderboard_id);
    if sort_by_wins {
        order.sort_by_key(|&i| {
            let p = ladder.player_at(i);
            let wins = p.stats.get(&leaderboard_id).map_or(0, |s| s.wins);
            (std::cmp::Reverse(wins), p.profile_id)
        });
    }
    let rank_total = order.len() as i64;
    let page: Vec<usize> = order
        .into_iter()
        .skip(start.saturating_sub(1))
        .take(count)
        .collect();
    let ranks: Vec<RankInfo> = page
        .iter()
        .map(|&i| ladder.rank_at(i, leaderboard_id).unwrap_or(NO_RANK))
        .collect();
    let ladder = &*ladder;
    let rows = page
        .iter()
        .zip(ranks)
        .filter_map(|(&i, r)| {
            let p = ladder.player_at(i);
            Some(stat_row(
                p,
                leaderboard_id,
                p.stats.get(&leaderboard_id)?,
                r,
            ))
        })
        .collect();
    to_bytes(&Body {
        result: SUCCESS,
        stat_groups: page
            .iter()
            .map(|&i| stat_group(ladder.player_at(i)))
            .collect(),
        leaderboard_stats: rows,
        rank_total,
    })
}

#[derive(Serialize)]
struct ReportJson {
    matchhistory_id: i64,
    profile_id: i64,
    resulttype: i64,
    teamid: i64,
    civilization_id: i64,
    xpgained: i64,
    counters: &'static str,
    matchstartdate: i64,
}

#[derive(Serialize)]
struct UrlJson<'a> {
    profile_id: i64,
    url: &'a str,
    size: i64,
    datatype: i64,
}

#[derive(Serialize)]
struct MemberJson {
    matchhistory_id: i64,
    profile_id: i64,
    civilization_id: i64,
    statgroup_id: i64,
    teamid: i64,
    wins: i64,
    losses: i64,
    streak: i64,
    arbitration: i64,
    outcome: i64,
    oldrating: i64,
    newrating: i64,
    reporttype: i64,
}

#[derive(Serialize)]
struct MatchJson<'a> {
    id: i64,
    creator_profile_id: i64,
    mapname: &'a str,
    maxplayers: i64,
    matchtype_id: i64,
    options: &'a str,
    slotinfo: &'a str,
    description: &'a str,
    startgametime: i64,
    completiontime: i64,
    observertotal: i64,
    matchhistoryreportresults: Vec<ReportJson>,
    matchhistoryitems: [(); 0],
    matchurls: Vec<UrlJson<'a>>,
    matchhistorymember: Vec<MemberJson>,
}

fn match_json(m: &MatchRecord) -> MatchJson<'_> {
    MatchJson {
        id: m.id,
        creator_profile_id: m.creator_profile_id,
        mapname: &m.mapname,
        maxplayers: m.max_players,
        matchtype_id: m.matchtype_id,
        options: &m.options,
        slotinfo: &m.slotinfo,
        description: &m.description,
        startgametime: m.started_at,
        completiontime: m.completed_at,
        observertotal: m.observers,
        matchhistoryreportresults: m
            .players
            .iter()
            .map(|p| ReportJson {
                matchhistory_id: m.id,
                profile_id: p.profile_id,
                resulttype: i64::from(p.won),
                teamid: p.team,
                civilization_id: p.report_civ,
                xpgained: p.xp_gained,
                counters: "{}",
                matchstartdate: m.started_at,
            })
            .collect(),
        matchhistoryitems: [],
        matchurls: m
            .players
            .iter()
            .filter_map(|p| {
                let replay = p.replay.as_ref()?;
                Some(UrlJson {
                    profile_id: p.profile_id,
                    url: &replay.url,
                    size: replay.size,
                    datatype: 0,
                })
            })
            .collect(),
        matchhistorymember: m
            .players
            .iter()
            .map(|p| MemberJson {
                matchhistory_id: m.id,
                profile_id: p.profile_id,
                civilization_id: p.civ,
                statgroup_id: p.statgroup_id,
                teamid: p.team,
                wins: p.wins,
                losses: p.losses,
                streak: p.streak,
                arbitration: 1,
                outcome: i64::from(p.won),
                oldrating: p.old_rating,
                newrating: p.new_rating,
                reporttype: 1,
            })
            .collect(),
    }
}

/// `getRecentMatchHistory`: each requested player's window, newest first, one after the
/// other, so a match shared by two requested players appears twice (upstream does that
/// too); `profiles` lists every participant once.
pub(crate) fn match_history(ladder: &Ladder, idxs: &[usize]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        result: Status,
        #[serde(rename = "matchHistoryStats")]
        matches: Vec<MatchJson<'a>>,
        profiles: Vec<ProfileJson<'a>>,
    }
    let records: Vec<&MatchRecord> = idxs
        .iter()
        .flat_map(|&i| ladder.history_at(i).iter().map(|m| &**m))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let profiles = records
        .iter()
        .flat_map(|m| m.players.iter())
        .filter(|p| seen.insert(p.profile_id))
        .filter_map(|p| ladder.player(p.profile_id))
        .map(|p| profile(p, true))
        .collect();
    to_bytes(&Body {
        result: SUCCESS,
        matches: records.into_iter().map(match_json).collect(),
        profiles,
    })
}

#[derive(Serialize)]
struct LobbyMemberJson {
    match_id: i64,
    profile_id: i64,
    ranking: i64,
    statgroup_id: i64,
    race_id: i64,
    teamid: i64,
}

#[derive(Serialize)]
struct LobbyJson<'a> {
    id: i64,
    steamlobbyid: u64,
    xboxsessionid: &'static str,
    host_profile_id: i64,
    state: i64,
    description: &'a str,
    visible: i64,
    mapname: &'a str,
    options: &'a str,
    passwordprotected: i64,
    maxplayers: i64,
    slotinfo: &'a str,
    matchtype_id: i64,
    matchmembers: Vec<LobbyMemberJson>,
    observernum: i64,
    observermax: i64,
    isobservable: i64,
    observerdelay: i64,
    hasobserverpassword: i64,
    servicetype: i64,
    relayserver_region: &'a str,
}

/// Lobbies per `findAdvertisements` page.
pub const LOBBY_PAGE_SIZE: usize = 100;

/// `findAdvertisements`: open lobbies by id, `start` = 0-based offset, 100 per page.
pub(crate) fn advertisements(ladder: &Ladder, start: usize) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        result: Status,
        matches: Vec<LobbyJson<'a>>,
        avatars: Vec<ProfileJson<'a>>,
    }
    let page: Vec<&Lobby> = ladder.lobbies().skip(start).take(LOBBY_PAGE_SIZE).collect();
    let matches = page
        .iter()
        .map(|l| LobbyJson {
            id: l.id,
            steamlobbyid: l.steam_lobby_id,
            xboxsessionid: "0",
            host_profile_id: l.host_profile_id,
            state: 0,
            description: &l.description,
            visible: 1,
            mapname: &l.mapname,
            options: &l.options,
            passwordprotected: i64::from(l.password_protected),
            maxplayers: l.max_players,
            slotinfo: &l.slotinfo,
            matchtype_id: MATCHTYPE_CUSTOM,
            matchmembers: l
                .members
                .iter()
                .map(|&pid| LobbyMemberJson {
                    match_id: l.id,
                    profile_id: pid,
                    ranking: -1,
                    statgroup_id: ladder.player(pid).map_or(-1, |p| p.statgroup_id),
                    race_id: -1,
                    teamid: -1,
                })
                .collect(),
            observernum: l.observers,
            observermax: 512,
            isobservable: 1,
            observerdelay: 120,
            hasobserverpassword: 0,
            servicetype: 0,
            relayserver_region: l.relay_region,
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let avatars = page
        .iter()
        .flat_map(|l| l.members.iter())
        .filter(|pid| seen.insert(**pid))
        .filter_map(|&pid| ladder.player(pid))
        .map(|p| profile(p, false))
        .collect();
    to_bytes(&Body {
        result: SUCCESS,
        matches,
        avatars,
    })
}

/// `getAvailableLeaderboards`: static.
pub(crate) fn catalog() -> Vec<u8> {
    #[derive(Serialize)]
    struct MapEntry {
        matchtype_id: i64,
        statgroup_type: i64,
        civilization_id: i64,
    }
    #[derive(Serialize)]
    struct Board {
        id: i64,
        name: &'static str,
        isranked: i64,
        leaderboardmap: Vec<MapEntry>,
    }
    #[derive(Serialize)]
    struct Named {
        id: i64,
        name: &'static str,
        locstringid: i64,
    }
    #[derive(Serialize)]
    struct Race {
        id: i64,
        name: &'static str,
        faction_id: i64,
        locstringid: i64,
    }
    #[derive(Serialize)]
    struct Body {
        result: Status,
        leaderboards: Vec<Board>,
        #[serde(rename = "matchTypes")]
        match_types: Vec<Named>,
        races: Vec<Race>,
        factions: [(); 0],
        #[serde(rename = "leaderboardRegions")]
        leaderboard_regions: Vec<Named>,
    }
    const BOARDS: [(i64, &str, i64, &[i64]); 8] = [
        (1, "SOLO_DM_RANKED", 1, &[2, 60]),
        (2, "TEAM_DM_RANKED", 1, &[3, 4, 5, 61]),
        (3, "SOLO_RM_RANKED", 1, &[6]),
        (4, "TEAM_RM_RANKED", 1, &[7, 8, 9]),
        (5, "SOLO_BR_RANKED", 1, &[10]),
        (13, "SOLO_EW_RANKED", 1, &[26]),
        (14, "TEAM_EW_RANKED", 1, &[27, 28, 29]),
        (27, "RBW_SOLO_RM_EVENT", 0, &[122]),
    ];
    const MATCH_TYPES: [(i64, &str); 17] = [
        (0, "CUSTOM"),
        (2, "1V1"),
        (3, "2V2"),
        (4, "3V3"),
        (5, "4V4"),
        (6, "1V1"),
        (7, "2V2"),
        (8, "3V3"),
        (9, "4V4"),
        (10, "FFA"),
        (26, "1V1"),
        (27, "2V2"),
        (28, "3V3"),
        (29, "4V4"),
        (60, "CUSTOM_DM_1V1"),
        (61, "CUSTOM_DM_TEAM"),
        (122, "RBW_1V1"),
    ];
    let body = Body {
        result: SUCCESS,
        leaderboards: BOARDS
            .iter()
            .map(|&(id, name, isranked, matchtypes)| Board {
                id,
                name,
                isranked,
                leaderboardmap: matchtypes
                    .iter()
                    .map(|&matchtype_id| MapEntry {
                        matchtype_id,
                        statgroup_type: 1,
                        civilization_id: -1,
                    })
                    .collect(),
            })
            .collect(),
        match_types: MATCH_TYPES
            .iter()
            .map(|&(id, name)| Named {
                id,
                name,
                locstringid: -1,
            })
            .collect(),
        races: CIVILIZATIONS
            .iter()
            .enumerate()
            .map(|(id, &name)| Race {
                id: id as i64,
                name,
                faction_id: 0,
                locstringid: -1,
            })
            .collect(),
        factions: [],
        leaderboard_regions: REGIONS
            .iter()
            .enumerate()
            .map(|(id, &name)| Named {
                id: id as i64,
                name,
                locstringid: -1,
            })
            .collect(),
    };
    to_bytes(&body)
}
