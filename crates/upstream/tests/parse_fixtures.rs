//! Parsers against the worked examples of the upstream reference (fixtures copied verbatim)
//! and against drifted variants derived from them.

use serde_json::{json, Value};
use upstream::{
    parse_advertisements, parse_catalog, parse_leaderboard_page, parse_match_history,
    parse_personal_stats, Outcome, UpstreamError, UNKNOWN_CIVILIZATION,
};

const PERSONAL_STATS: &str = include_str!("fixtures/personal_stats.json");
const MATCH_HISTORY: &str = include_str!("fixtures/match_history.json");
const ADVERTISEMENTS: &str = include_str!("fixtures/advertisements.json");
const LEADERBOARDS: &str = include_str!("fixtures/leaderboards.json");
const LEADERBOARD_PAGE: &str = include_str!("fixtures/leaderboard_page.json");

const HERA: i64 = 199325;
const ACCM: i64 = 347269;

fn value(fixture: &str) -> Value {
    serde_json::from_str(fixture).expect("fixture is JSON")
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serializable")
}

/// Rename `from` to `to` in an object.
fn rename(obj: &mut Value, from: &str, to: &str) {
    let map = obj.as_object_mut().expect("object");
    let v = map.remove(from).expect("key present");
    map.insert(to.to_owned(), v);
}

fn assert_decode_error(err: UpstreamError, path_part: &str, message_part: &str) {
    match err {
        UpstreamError::Decode { path, message, .. } => {
            if path_part == "." {
                assert_eq!(path, ".", "top-level error expected");
            } else {
                assert!(
                    path.contains(path_part),
                    "path {path:?} lacks {path_part:?}"
                );
            }
            assert!(
                message.contains(message_part),
                "message {message:?} lacks {message_part:?}"
            );
        }
        other => panic!("expected Decode error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- GetPersonalStat

#[test]
fn personal_stats_statgroup_join_and_sentinels() {
    let stats = parse_personal_stats(PERSONAL_STATS.as_bytes()).expect("parses");
    assert_eq!(stats.profiles.len(), 2);
    let hera = &stats.profiles[0];
    assert_eq!(hera.profile_id, HERA);
    assert_eq!(hera.alias, "Hera");
    assert_eq!(hera.country.as_deref(), Some("ca"));
    assert_eq!(hera.steam_id.as_deref(), Some("76561198000199325"));
    assert_eq!((hera.level, hera.xp, hera.region_id), (4, 12964, 3));
    assert_eq!(hera.clan_name.as_deref(), Some("VIT"));
    assert_eq!(stats.profiles[1].clan_name, None, "empty clan → None");

    // Rows carry statgroup ids (208411, 351002); they must land on the profile ids.
    assert_eq!(stats.ratings.len(), 4);
    let row = |p: i64, lb: i64| {
        stats
            .ratings
            .iter()
            .find(|r| r.profile_id == p && r.leaderboard_id == lb)
            .unwrap_or_else(|| panic!("rating {p}/{lb}"))
    };
    let hera_rm = row(HERA, 3);
    assert_eq!((hera_rm.rating, hera_rm.highest_rating), (2788, 3045));
    assert_eq!(
        (hera_rm.wins, hera_rm.losses, hera_rm.streak),
        (4962, 1701, 4)
    );
    assert_eq!(hera_rm.drops, 55);
    assert_eq!(hera_rm.rank, Some(5));
    assert_eq!(hera_rm.rank_total, Some(47807));
    assert_eq!(hera_rm.region_rank, Some(1));
    assert_eq!(hera_rm.region_rank_total, Some(9639));
    assert_eq!(
        hera_rm.last_match_at.map(|t| t.timestamp()),
        Some(1779084162)
    );

    let hera_ew = row(HERA, 13);
    assert_eq!(hera_ew.rank, None, "rank -1 → None");
    assert_eq!(hera_ew.region_rank, None);
    assert_eq!(hera_ew.rank_total, Some(12011));
    assert_eq!(hera_ew.streak, -1);

    let accm_team = row(ACCM, 4);
    assert_eq!(accm_team.highest_rating, 1178, "highestrating 0 → rating");
    assert_eq!(accm_team.rank, None);
    assert_eq!(
        accm_team.region_rank_total, None,
        "regionranktotal -1 → None"
    );
    assert_eq!(row(ACCM, 3).highest_rating, 2892);
}

#[test]
fn personal_stats_orphans_memberless_groups_and_missing_optionals() {
    let mut v = value(PERSONAL_STATS);
    let rows = v["leaderboardStats"].as_array_mut().unwrap();
    let mut orphan = rows[0].clone();
    orphan["statgroup_id"] = json!(999_999);
    rows.push(orphan);
    let mut sparse = rows[3].clone();
    for key in [
        "highestrating",
        "lastmatchdate",
        "rank",
        "regionrank",
        "streak",
        "drops",
    ] {
        sparse.as_object_mut().unwrap().remove(key);
    }
    sparse["leaderboard_id"] = json!(13);
    rows.push(sparse);
    let groups = v["statGroups"].as_array_mut().unwrap();
    groups.push(json!({"id": 777, "name": "", "type": 1, "members": []}));
    groups.push(json!({"id": 778, "name": "", "type": 1}));
    v["leaderboardStats"].as_array_mut().unwrap().push(
        json!({"statgroup_id": 777, "leaderboard_id": 3, "rating": 1, "wins": 0, "losses": 0}),
    );

    let stats = parse_personal_stats(&bytes(&v)).expect("parses");
    assert_eq!(stats.profiles.len(), 2, "memberless groups skipped");
    assert_eq!(stats.ratings.len(), 5, "orphan rows skipped");
    let sparse = stats
        .ratings
        .iter()
        .find(|r| r.profile_id == ACCM && r.leaderboard_id == 13)
        .unwrap();
    assert_eq!(
        sparse.highest_rating, sparse.rating,
        "missing highestrating"
    );
    assert_eq!(sparse.last_match_at, None);
    assert_eq!(sparse.rank, None);
    assert_eq!((sparse.streak, sparse.drops), (0, 0));
}

#[test]
fn personal_stats_xbox_identity_has_no_steam_id() {
    let mut v = value(PERSONAL_STATS);
    v["statGroups"][0]["members"][0]["name"] =
        json!("/xboxlive/0A1B2C3D4E5F60718293A4B5C6D7E8F901234567");
    v["statGroups"][0]["members"][0]["lastmatchdate"] = json!(0);
    let stats = parse_personal_stats(&bytes(&v)).expect("parses");
    assert_eq!(stats.profiles[0].steam_id, None);
}

#[test]
fn personal_stats_renamed_required_key_is_decode_error() {
    let mut v = value(PERSONAL_STATS);
    rename(&mut v["leaderboardStats"][1], "statgroup_id", "statGroupId");
    let err = parse_personal_stats(&bytes(&v)).expect_err("renamed join key");
    assert_decode_error(err, "leaderboardStats[1]", "statgroup_id");

    let mut v = value(PERSONAL_STATS);
    rename(&mut v, "leaderboardStats", "leaderboardStatistics");
    let err = parse_personal_stats(&bytes(&v)).expect_err("renamed array");
    assert_decode_error(err, ".", "leaderboardStats");

    let mut v = value(PERSONAL_STATS);
    v["statGroups"][0]["members"][0]["profile_id"] = Value::Null;
    let err = parse_personal_stats(&bytes(&v)).expect_err("null profile id");
    assert_decode_error(err, "statGroups[0].members[0].profile_id", "null");
}

#[test]
fn result_code_is_an_error_not_empty() {
    let body = br#"{"result":{"code":-1,"message":"FAILED"}}"#;
    let expected = UpstreamError::ResultCode {
        code: -1,
        message: "FAILED".into(),
    };
    assert_eq!(parse_personal_stats(body), Err(expected.clone()));
    assert_eq!(parse_match_history(body), Err(expected.clone()));
    assert_eq!(parse_advertisements(body), Err(expected.clone()));
    assert_eq!(parse_catalog(body), Err(expected.clone()));
    assert_eq!(parse_leaderboard_page(body), Err(expected));
}

#[test]
fn unknown_extra_fields_are_ignored() {
    let mut v = value(PERSONAL_STATS);
    v["brandNewTopLevel"] = json!({"nested": [1, 2, 3]});
    v["statGroups"][0]["members"][0]["twitch"] = json!("hera");
    v["leaderboardStats"][0]["season"] = json!(12);
    assert_eq!(
        parse_personal_stats(&bytes(&v)),
        parse_personal_stats(PERSONAL_STATS.as_bytes())
    );

    let mut v = value(MATCH_HISTORY);
    v["matchHistoryStats"][0]["gamemod_id"] = json!(0);
    v["matchHistoryStats"][0]["matchhistorymember"][0]["new_thing"] = json!({"a": null});
    assert_eq!(
        parse_match_history(&bytes(&v)),
        parse_match_history(MATCH_HISTORY.as_bytes())
    );
}

// ---------------------------------------------------------------- getRecentMatchHistory

#[test]
fn match_history_worked_example() {
    let history = parse_match_history(MATCH_HISTORY.as_bytes()).expect("parses");
    let ids: Vec<i64> = history.matches.iter().map(|m| m.match_id).collect();
    assert_eq!(ids, vec![484977310, 485301122], "sorted by start time");

    let rm = &history.matches[1];
    assert_eq!(rm.map_name, "Arabia", "map from options, not mapname");
    assert_eq!(rm.raw_mapname, "Marketplace.rms");
    assert_eq!(rm.matchtype_id, 6);
    assert_eq!(rm.started_at.timestamp(), 1779082301);
    assert_eq!(rm.completed_at.map(|t| t.timestamp()), Some(1779084162));
    assert_eq!(rm.description.as_deref(), Some("AUTOMATCH"));
    assert_eq!(rm.players.len(), 2);
    let hera = rm.players.iter().find(|p| p.profile_id == HERA).unwrap();
    assert_eq!(hera.civilization_id, 4, "member civ wins over report's 0");
    assert_eq!(hera.team_id, 1);
    assert_eq!(hera.outcome, Some(Outcome::Win));
    assert_eq!((hera.old_rating, hera.new_rating), (Some(2780), Some(2788)));
    assert_eq!(hera.xp_gained, 1);
    let accm = rm.players.iter().find(|p| p.profile_id == ACCM).unwrap();
    assert_eq!(accm.civilization_id, 23);
    assert_eq!(accm.outcome, Some(Outcome::Loss));
    assert_eq!(accm.team_id, 0);

    let ew = &history.matches[0];
    assert_eq!(ew.matchtype_id, 26);
    assert_eq!(
        upstream::matchtype_floor().get(&ew.matchtype_id),
        Some(&13),
        "EW 1v1 → leaderboard 13"
    );
    assert_eq!(ew.map_name, "Arena");
    assert_eq!(ew.raw_mapname, "Arena.rms");

    let aliases: Vec<(i64, &str)> = history
        .aliases
        .iter()
        .map(|a| (a.profile_id, a.alias.as_str()))
        .collect();
    assert_eq!(aliases, vec![(HERA, "Hera"), (ACCM, "ACCM")]);
}

#[test]
fn match_history_civ_fallback_chain() {
    let mut v = value(MATCH_HISTORY);
    let m = &mut v["matchHistoryStats"][0];
    // ACCM (member 0): member civ gone, member race_id present → member race_id.
    let accm_member = m["matchhistorymember"][0].as_object_mut().unwrap();
    accm_member.remove("civilization_id");
    accm_member.insert("race_id".into(), json!(11));
    // Hera: member row gone entirely → report civ (which is the lying 0: still better than
    // nothing, and it is what upstream says).
    m["matchhistorymember"].as_array_mut().unwrap().remove(1);
    let history = parse_match_history(&bytes(&v)).expect("parses");
    let rm = history
        .matches
        .iter()
        .find(|m| m.match_id == 485301122)
        .unwrap();
    let civ = |p: i64| rm.players.iter().find(|x| x.profile_id == p).unwrap();
    assert_eq!(civ(ACCM).civilization_id, 11);
    assert_eq!(civ(HERA).civilization_id, 0);
    assert_eq!(civ(HERA).old_rating, None, "no member row → no ratings");

    // Legacy payload: `race_id` only, on both arrays.
    let mut v = value(MATCH_HISTORY);
    let m = &mut v["matchHistoryStats"][0];
    for key in ["matchhistoryreportresults", "matchhistorymember"] {
        for row in m[key].as_array_mut().unwrap() {
            rename(row, "civilization_id", "race_id");
        }
    }
    let history = parse_match_history(&bytes(&v)).expect("parses");
    let rm = history
        .matches
        .iter()
        .find(|m| m.match_id == 485301122)
        .unwrap();
    let hera = rm.players.iter().find(|p| p.profile_id == HERA).unwrap();
    assert_eq!(
        hera.civilization_id, 4,
        "member race_id beats report race_id"
    );

    // Report race_id only, no civ anywhere else; and nothing at all → -1, never 0.
    let mut v = value(MATCH_HISTORY);
    let m = &mut v["matchHistoryStats"][0];
    m.as_object_mut().unwrap().remove("matchhistorymember");
    rename(
        &mut m["matchhistoryreportresults"][0],
        "civilization_id",
        "race_id",
    );
    m["matchhistoryreportresults"][1]
        .as_object_mut()
        .unwrap()
        .remove("civilization_id");
    let history = parse_match_history(&bytes(&v)).expect("parses");
    let rm = history
        .matches
        .iter()
        .find(|m| m.match_id == 485301122)
        .unwrap();
    let civ = |p: i64| rm.players.iter().find(|x| x.profile_id == p).unwrap();
    assert_eq!(civ(ACCM).civilization_id, 23);
    assert_eq!(civ(HERA).civilization_id, UNKNOWN_CIVILIZATION);
}

#[test]
fn match_history_outcomes_nullables_and_duplicates() {
    let mut v = value(MATCH_HISTORY);
    let first = v["matchHistoryStats"][0].clone();
    v["matchHistoryStats"].as_array_mut().unwrap().push(first);
    let m = &mut v["matchHistoryStats"][1];
    m["description"] = Value::Null;
    m["completiontime"] = json!(0);
    m["matchhistoryreportresults"][0]["resulttype"] = json!(4);
    v["profiles"][1]["alias"] = json!("");

    let history = parse_match_history(&bytes(&v)).expect("parses");
    assert_eq!(history.matches.len(), 2, "duplicate match id dropped");
    let ew = history
        .matches
        .iter()
        .find(|m| m.match_id == 484977310)
        .unwrap();
    assert_eq!(ew.description, None);
    assert_eq!(ew.completed_at, None, "completiontime 0 → None");
    assert_eq!(ew.players[0].outcome, None, "unknown resulttype");
    assert_eq!(history.aliases.len(), 1, "blank alias skipped");
}

#[test]
fn match_history_renamed_keys_are_decode_errors() {
    let mut v = value(MATCH_HISTORY);
    rename(&mut v, "matchHistoryStats", "matchHistory");
    let err = parse_match_history(&bytes(&v)).expect_err("renamed list");
    assert_decode_error(err, ".", "matchHistoryStats");

    let mut v = value(MATCH_HISTORY);
    rename(
        &mut v["matchHistoryStats"][1]["matchhistoryreportresults"][0],
        "profile_id",
        "profileId",
    );
    let err = parse_match_history(&bytes(&v)).expect_err("renamed profile id");
    assert_decode_error(
        err,
        "matchHistoryStats[1].matchhistoryreportresults[0]",
        "profile_id",
    );

    let mut v = value(MATCH_HISTORY);
    v["matchHistoryStats"][0]
        .as_object_mut()
        .unwrap()
        .remove("startgametime");
    let err = parse_match_history(&bytes(&v)).expect_err("missing start");
    assert_decode_error(err, "matchHistoryStats[0]", "startgametime");
}

// ---------------------------------------------------------------- findAdvertisements

#[test]
fn lobbies_worked_example() {
    let lobbies = parse_advertisements(ADVERTISEMENTS.as_bytes()).expect("parses");
    assert_eq!(lobbies.len(), 2);
    let bo7 = &lobbies[0];
    assert_eq!(bo7.lobby_id, 486002117);
    assert_eq!(bo7.map_name, "Arena", "\"my map\" resolved from options");
    assert_eq!(bo7.raw_mapname, "my map");
    assert_eq!(bo7.state, 0);
    assert_eq!(bo7.matchtype_id, 0);
    assert_eq!(bo7.description.as_deref(), Some("Hera vs ACCM - Bo7 G3"));
    assert_eq!(bo7.host_profile_id, Some(HERA));
    assert_eq!(
        bo7.steam_lobby_id,
        Some(109_775_244_681_261_354),
        "exact above 2^53"
    );
    assert_eq!(bo7.created_at, None);
    let members: Vec<i64> = bo7.members.iter().map(|m| m.profile_id).collect();
    assert_eq!(members, vec![HERA, ACCM]);
    assert_eq!(bo7.members[0].civilization_id, Some(-1), "race_id accepted");
    assert_eq!(bo7.members[0].team_id, Some(-1));

    let custom = &lobbies[1];
    assert_eq!(
        custom.map_name, "Hyper_Random.rms",
        "custom RMS keeps mapname"
    );
    assert_eq!(custom.members.len(), 1);
}

#[test]
fn lobbies_legacy_shape_and_skips() {
    let mut v = value(ADVERTISEMENTS);
    rename(&mut v, "matches", "advertisements");
    for lobby in v["advertisements"].as_array_mut().unwrap() {
        rename(lobby, "id", "match_id");
        lobby.as_object_mut().unwrap().remove("state");
        lobby["creation_time"] = json!(1779000000);
    }
    let mut no_id = v["advertisements"][0].clone();
    no_id.as_object_mut().unwrap().remove("match_id");
    v["advertisements"].as_array_mut().unwrap().push(no_id);
    v["advertisements"][0]["matchmembers"][0]["civilization_id"] = json!(7);
    v["advertisements"][0]["matchmembers"][0]
        .as_object_mut()
        .unwrap()
        .remove("race_id");

    let lobbies = parse_advertisements(&bytes(&v)).expect("parses");
    let ids: Vec<i64> = lobbies.iter().map(|l| l.lobby_id).collect();
    assert_eq!(ids, vec![486002117, 486002398], "lobby without id skipped");
    assert!(lobbies.iter().all(|l| l.state == 0), "state defaults to 0");
    assert_eq!(
        lobbies[0].created_at.map(|t| t.timestamp()),
        Some(1779000000)
    );
    assert_eq!(lobbies[0].members[0].civilization_id, Some(7));
    assert_eq!(lobbies[0].map_name, "Arena");

    let err = parse_advertisements(br#"{"result":{"code":0,"message":"SUCCESS"},"lobbies":[]}"#)
        .expect_err("no lobby list");
    assert_decode_error(err, ".", "matches");
    let empty = parse_advertisements(br#"{"result":{"code":0,"message":"SUCCESS"},"matches":[]}"#)
        .expect("an empty list is fine");
    assert!(empty.is_empty());
}

// ---------------------------------------------------------------- getAvailableLeaderboards

#[test]
fn catalog_leaderboardmap() {
    let catalog = parse_catalog(LEADERBOARDS.as_bytes()).expect("parses");
    let ids: Vec<i64> = catalog.leaderboards.iter().map(|l| l.id).collect();
    assert_eq!(ids, vec![3, 4, 13, 14]);
    let team_rm = &catalog.leaderboards[1];
    assert_eq!(team_rm.name, "TEAM_RM_RANKED");
    assert!(team_rm.is_ranked);
    assert_eq!(team_rm.matchtype_ids, vec![7, 8, 9]);

    let map = catalog.matchtype_map();
    assert_eq!(map.len(), 8);
    assert_eq!(map[&26], 13);
    assert_eq!(map[&28], 14);
    let merged = catalog.matchtype_map_with_floor();
    assert_eq!(merged[&2], 1, "floor fills DM");
    assert_eq!(merged[&6], 3);
    assert_eq!(merged.len(), 15);

    let civs: Vec<(i64, &str)> = catalog
        .civilizations
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    assert_eq!(
        civs,
        vec![
            (0, "Armenians"),
            (4, "Bohemians"),
            (7, "Burgundians"),
            (34, "Portuguese")
        ]
    );
}

#[test]
fn catalog_legacy_matchtypes() {
    let mut v = value(LEADERBOARDS);
    let boards = v["leaderboards"].as_array_mut().unwrap();
    for board in boards.iter_mut() {
        board.as_object_mut().unwrap().remove("leaderboardmap");
    }
    boards[0]["matchtypes"] = json!([6]);
    boards[1]["matchtypes"] = json!([{"id": 7}, {"id": 8}, {"id": 9}]);
    boards[2]["leaderboardmap"] = json!([]);
    boards[2]["matchtypes"] = json!([26]);
    boards[3]["isranked"] = json!(0);
    boards.push(json!({"id": 30, "name": "EVENT", "isranked": 0, "matchtypes": [122, 6]}));

    let catalog = parse_catalog(&bytes(&v)).expect("parses");
    assert_eq!(catalog.leaderboards[0].matchtype_ids, vec![6]);
    assert_eq!(catalog.leaderboards[1].matchtype_ids, vec![7, 8, 9]);
    assert_eq!(
        catalog.leaderboards[2].matchtype_ids,
        vec![26],
        "empty map → legacy"
    );
    assert!(catalog.leaderboards[3].matchtype_ids.is_empty());
    assert!(!catalog.leaderboards[3].is_ranked, "isranked 0");
    let map = catalog.matchtype_map();
    assert_eq!(map[&6], 3, "ranked board wins a shared matchtype");
    assert_eq!(map[&122], 30);
    let merged = catalog.matchtype_map_with_floor();
    assert_eq!(merged[&27], 14, "floor covers what upstream lost");
}

#[test]
fn catalog_missing_id_is_decode_error() {
    let mut v = value(LEADERBOARDS);
    v["leaderboards"][2].as_object_mut().unwrap().remove("id");
    let err = parse_catalog(&bytes(&v)).expect_err("missing id");
    assert_decode_error(err, "leaderboards[2]", "id");
}

// ---------------------------------------------------------------- getLeaderBoard2

#[test]
fn leaderboard_page_joins_and_keeps_rank_order() {
    let page = parse_leaderboard_page(LEADERBOARD_PAGE.as_bytes()).expect("parses");
    assert_eq!(page.rank_total, Some(47807));
    assert_eq!(page.profiles.len(), 2);
    let order: Vec<(i64, Option<i64>)> = page
        .ratings
        .iter()
        .map(|r| (r.profile_id, r.rank))
        .collect();
    assert_eq!(order, vec![(HERA, Some(5)), (2888888, Some(6))]);
    assert!(page.ratings.iter().all(|r| r.leaderboard_id == 3));
}
