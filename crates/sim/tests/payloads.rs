//! Every endpoint over real HTTP: upstream's shapes, parsed by the `upstream` crate.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;
use sim::{SimConfig, LB_SOLO_RM};
use upstream::{
    parse_advertisements, parse_catalog, parse_leaderboard_page, parse_match_history,
    parse_personal_stats,
};

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("valid JSON")
}

const SUCCESS_PREFIX: &[u8] = br#"{"result":{"code":0,"message":"SUCCESS"},"#;

#[tokio::test]
async fn every_endpoint_parses_and_starts_with_the_envelope() {
    let s = serve(frozen_config(7)).await;
    let roster = s.sim.roster(32);
    let bodies = poll_all(&s, &roster).await;
    for (status, body) in &bodies {
        assert_eq!(*status, 200);
        assert!(
            body.starts_with(SUCCESS_PREFIX),
            "{}",
            String::from_utf8_lossy(body)
        );
    }

    let stats = parse_personal_stats(&bodies[0].1).expect("stats parse");
    assert_eq!(stats.profiles.len(), 32);
    assert!(
        stats.ratings.len() >= 32,
        "most players have several ladders"
    );
    let history = parse_match_history(&bodies[1].1).expect("history parses");
    assert!(!history.matches.is_empty(), "the warm-up played games");
    let lobbies = parse_advertisements(&bodies[2].1).expect("lobbies parse");
    assert_eq!(lobbies.len(), 6);
    let catalog = parse_catalog(&bodies[3].1).expect("catalog parses");
    let page = parse_leaderboard_page(&bodies[4].1).expect("page parses");
    assert!(!page.ratings.is_empty());

    // Catalog: matchtype map, ~50 civs with 0 = Armenians.
    let map = catalog.matchtype_map();
    for (mt, lb) in [(6, 3), (7, 4), (8, 4), (9, 4), (26, 13), (27, 14)] {
        assert_eq!(map.get(&mt), Some(&lb), "matchtype {mt}");
    }
    assert!(catalog.civilizations.len() >= 50);
    assert_eq!(catalog.civilizations[0].name, "Armenians");
    assert_eq!(catalog.civilizations[4].name, "Bohemians");
    assert_eq!(catalog.civilizations[34].name, "Portuguese");
    let raw = json(&bodies[3].1);
    assert_eq!(raw["factions"], Value::Array(vec![]));
    assert_eq!(raw["leaderboardRegions"].as_array().map(Vec::len), Some(8));
    assert_eq!(
        raw["leaderboards"][2]["leaderboardmap"][0]["civilization_id"],
        -1
    );
}

#[tokio::test]
async fn personal_stats_use_statgroups_and_sentinels() {
    let s = serve(SimConfig {
        players: 300,
        ..frozen_config(11)
    })
    .await;
    let all = s.sim.roster(300);
    let (_, body) = s.get(&format!("{STATS}{}", ids_query(&all))).await;
    let raw = json(&body);
    let groups = raw["statGroups"].as_array().expect("statGroups");
    let profile_ids: BTreeSet<i64> = all.iter().copied().collect();
    for g in groups {
        let id = g["id"].as_i64().expect("id");
        assert!(
            !profile_ids.contains(&id),
            "statgroup ids differ from profile ids"
        );
        assert_eq!(g["type"], 1);
        assert_eq!(g["name"], "");
        let member = &g["members"][0];
        assert_eq!(member["personal_statgroup_id"], id);
        assert!(member["clanlist_name"].is_string());
        let name = member["name"].as_str().expect("name");
        assert!(name.starts_with("/steam/") || name.starts_with("/xboxlive/"));
    }
    let names: Vec<&str> = groups
        .iter()
        .filter_map(|g| g["members"][0]["name"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("/xboxlive/")));
    assert!(groups
        .iter()
        .any(|g| g["members"][0]["clanlist_name"] == ""));
    assert!(groups
        .iter()
        .any(|g| g["members"][0]["clanlist_name"] != ""));

    let rows = raw["leaderboardStats"].as_array().expect("rows");
    let boards: BTreeSet<i64> = rows
        .iter()
        .filter_map(|r| r["leaderboard_id"].as_i64())
        .collect();
    assert!(boards.is_superset(&BTreeSet::from([3, 4, 13])));
    assert!(rows
        .iter()
        .any(|r| r["rank"] == -1 && r["regionrank"] == -1 && r["ranklevel"] == 0));
    assert!(rows
        .iter()
        .any(|r| r["rank"].as_i64() > Some(0) && r["ranklevel"] == 1));
    assert!(rows.iter().any(|r| r["highestrating"] == 0));
    assert!(rows.iter().any(|r| r.get("highestrating").is_none()));
    assert!(rows.iter().any(|r| r["streak"].as_i64() < Some(0)));
    assert!(rows.iter().any(|r| r["streak"].as_i64() > Some(0)));
    for r in rows {
        for key in [
            "disputes",
            "drops",
            "ranktotal",
            "regionranktotal",
            "lastmatchdate",
        ] {
            assert!(r[key].is_i64(), "{key} in {r}");
        }
    }

    // The parser joins every row to a profile through the statgroup.
    let stats = parse_personal_stats(&body).expect("parses");
    assert_eq!(stats.ratings.len(), rows.len());
    let p0 = s.sim.player(all[0]).expect("player");
    for r in stats.ratings.iter().filter(|r| r.profile_id == all[0]) {
        assert_eq!(r.rating, p0.stats[&r.leaderboard_id].rating);
    }
}

#[tokio::test]
async fn match_history_has_every_field_and_the_quirks() {
    let s = serve(SimConfig {
        players: 120,
        activity: 2.0,
        warmup: std::time::Duration::from_secs(6 * 3600),
        ..frozen_config(3)
    })
    .await;
    let ids = s.sim.roster(40);
    let (_, body) = s.get(&format!("{HISTORY}{}", ids_query(&ids))).await;
    let raw = json(&body);
    let matches = raw["matchHistoryStats"].as_array().expect("matches");
    assert!(matches.len() > 40);
    let (mut lying, mut truthful, mut civ_zero, mut team_games, mut dupes) = (0, 0, 0, 0, 0);
    let mut seen = BTreeSet::new();
    for m in matches {
        if !seen.insert(m["id"].as_i64()) {
            dupes += 1;
        }
        for key in [
            "creator_profile_id",
            "maxplayers",
            "startgametime",
            "completiontime",
            "observertotal",
        ] {
            assert!(m[key].is_i64(), "{key}");
        }
        assert!(m["slotinfo"].is_string());
        assert_eq!(m["matchhistoryitems"], Value::Array(vec![]));
        assert!(m["matchurls"].is_array());
        let options = upstream::options::decode(m["options"].as_str().expect("options"))
            .expect("options decode");
        let map_id: i64 = options["10"].parse().expect("key 10");
        let matchtype = m["matchtype_id"].as_i64().expect("matchtype");
        if matchtype != 0 {
            assert_eq!(m["description"], "AUTOMATCH");
            assert!(upstream::maps::map_for_locstring(map_id).is_some());
            if m["mapname"] == sim::rms_name(map_id) {
                truthful += 1;
            } else {
                lying += 1;
            }
        }
        if [7, 8, 9, 27, 28, 29].contains(&matchtype) {
            team_games += 1;
        }
        let reports = m["matchhistoryreportresults"].as_array().expect("reports");
        let members = m["matchhistorymember"].as_array().expect("members");
        assert_eq!(reports.len(), members.len());
        for (r, mem) in reports.iter().zip(members) {
            assert_eq!(r["counters"], "{}");
            assert_eq!(r["matchhistory_id"], m["id"]);
            assert_eq!(r["matchstartdate"], m["startgametime"]);
            assert_eq!(r["profile_id"], mem["profile_id"]);
            assert_eq!(r["resulttype"], mem["outcome"]);
            if r["civilization_id"] == 0 && mem["civilization_id"] != 0 {
                civ_zero += 1;
            }
            for key in [
                "statgroup_id",
                "wins",
                "losses",
                "streak",
                "oldrating",
                "newrating",
            ] {
                assert!(mem[key].is_i64(), "{key}");
            }
        }
    }
    assert!(
        lying > 0 && truthful > 0,
        "lying {lying}, truthful {truthful}"
    );
    let share = lying as f64 / (lying + truthful) as f64;
    assert!((0.3..0.7).contains(&share), "about half lie: {share}");
    assert!(civ_zero > 0, "some report rows say civ 0");
    assert!(team_games > 0, "some team games");
    assert!(
        dupes > 0,
        "a batch repeats matches shared by requested players"
    );

    // The parser dedupes, resolves maps from options and civs from the member rows.
    let history = parse_match_history(&body).expect("parses");
    assert_eq!(history.matches.len(), seen.len());
    for m in &history.matches {
        for p in &m.players {
            assert!(p.civilization_id >= 0);
        }
    }
    let participants: BTreeSet<i64> = matches
        .iter()
        .flat_map(|m| {
            m["matchhistorymember"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|mem| mem["profile_id"].as_i64())
        .collect();
    let profiles: BTreeSet<i64> = raw["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .filter_map(|p| p["profile_id"].as_i64())
        .collect();
    assert_eq!(participants, profiles, "a profile for every participant");
}

#[tokio::test]
async fn lobbies_page_by_100_and_keep_their_quirks() {
    let s = serve(SimConfig {
        lobbies: 150,
        ..frozen_config(5)
    })
    .await;
    let (_, first) = s.get(&format!("{LOBBIES}?title=age2&start=0")).await;
    let (_, second) = s.get(&format!("{LOBBIES}?title=age2&start=100")).await;
    let first_raw = json(&first);
    assert_eq!(first_raw["matches"].as_array().map(Vec::len), Some(100));
    assert_eq!(json(&second)["matches"].as_array().map(Vec::len), Some(50));

    let all = s.client().advertisements().await.expect("paged");
    assert_eq!(all.len(), 150);
    let (my_map, rms): (Vec<_>, Vec<_>) = all.iter().partition(|l| l.raw_mapname == "my map");
    assert!(!my_map.is_empty() && !rms.is_empty());
    for l in &my_map {
        assert_ne!(l.map_name, "my map", "key 10 resolves the real map");
    }
    for l in &rms {
        assert!(l.raw_mapname.ends_with(".rms"));
        assert_eq!(l.map_name, l.raw_mapname, "custom RMS keeps its file name");
    }
    for l in &all {
        assert_eq!(l.state, 0);
        assert_eq!(l.matchtype_id, 0);
        assert!(l.steam_lobby_id.is_some_and(|id| id > 1 << 53));
        assert!(!l.members.is_empty());
    }
    let lobby = &first_raw["matches"][0];
    for key in [
        "xboxsessionid",
        "host_profile_id",
        "visible",
        "passwordprotected",
        "maxplayers",
        "slotinfo",
        "observernum",
        "observermax",
        "isobservable",
        "observerdelay",
        "hasobserverpassword",
        "servicetype",
        "relayserver_region",
    ] {
        assert!(!lobby[key].is_null(), "{key}");
    }
    assert_eq!(lobby["matchmembers"][0]["match_id"], lobby["id"]);
    assert_eq!(lobby["matchmembers"][0]["race_id"], -1);
    let avatars = first_raw["avatars"].as_array().expect("avatars");
    assert!(!avatars.is_empty());
    assert!(avatars[0].get("clanlist_name").is_none());
}

#[tokio::test]
async fn leaderboard_pages_are_sorted_and_one_based() {
    let s = serve(SimConfig {
        players: 120,
        ..frozen_config(9)
    })
    .await;
    let client = s.client();
    let page1 = client
        .leaderboard_page(LB_SOLO_RM, 1, 10)
        .await
        .expect("page 1");
    let page2 = client
        .leaderboard_page(LB_SOLO_RM, 11, 10)
        .await
        .expect("page 2");
    assert_eq!(page1.ratings.len(), 10);
    let ranks: Vec<Option<i64>> = page1
        .ratings
        .iter()
        .chain(&page2.ratings)
        .map(|r| r.rank)
        .collect();
    let expected: Vec<Option<i64>> = (1..=ranks.len() as i64).map(Some).collect();
    assert_eq!(ranks, expected);
    assert!(page1.ratings.windows(2).all(|w| w[0].rating >= w[1].rating));
    assert!(page1.rank_total.is_some_and(|t| t > 20));
    // count is capped at 200.
    let (_, body) = s
        .get(&format!(
            "{PAGE}?title=age2&leaderboard_id=3&start=1&count=5000"
        ))
        .await;
    let n = json(&body)["leaderboardStats"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(n <= 200);
    // An unknown board is empty, not an error.
    let empty = client
        .leaderboard_page(99, 1, 10)
        .await
        .expect("empty page");
    assert!(empty.ratings.is_empty());
}

#[tokio::test]
async fn requests_are_validated() {
    let s = serve(frozen_config(1)).await;
    let id = s.sim.roster(1)[0];
    let cases = [
        (format!("{STATS}?profile_ids=%5B{id}%5D"), 400),
        (format!("{STATS}?title=age1&profile_ids=%5B{id}%5D"), 400),
        (format!("{STATS}?title=age2"), 400),
        (format!("{STATS}?title=age2&profile_ids=%5Bnull%5D"), 400),
        (
            format!("{STATS}?title=age2&profile_ids=%5BNone,{id}%5D"),
            400,
        ),
        (format!("{STATS}?title=age2&profile_ids={id}"), 400),
        (format!("{STATS}?title=age2&profile_ids=%5B{id}"), 400),
        (format!("{HISTORY}?title=age2&profile_ids=garbage"), 400),
        (format!("{LOBBIES}?title=age2&start=-1"), 400),
        (format!("{LOBBIES}?title=age2&start=x"), 400),
        (format!("{PAGE}?title=age2"), 400),
        (format!("{PAGE}?title=age2&leaderboard_id=3&count=abc"), 400),
        // Literal brackets and case-insensitive paths are fine.
        (format!("{STATS}?title=age2&profile_ids=[{id}]"), 200),
        (
            format!("/COMMUNITY/Leaderboard/getpersonalstat?title=age2&profile_ids=[{id}]"),
            200,
        ),
        (
            format!("{PAGE}?title=age2&leaderboard_id=3&start=0&count=0"),
            200,
        ),
        (format!("{LOBBIES}?title=age2&start=100000"), 200),
        ("/community/leaderboard/nope?title=age2".to_owned(), 404),
        ("/%ZZ?title=age2".to_owned(), 404),
    ];
    for (path, expected) in cases {
        let (status, body) = s.get(&path).await;
        assert_eq!(
            status,
            expected,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        if expected == 400 {
            assert_eq!(json(&body)["result"]["code"], -1);
        }
    }
    let post = s
        .http
        .post(s.url(&format!("{CATALOG}?title=age2")))
        .send()
        .await
        .expect("post");
    assert_eq!(post.status().as_u16(), 405);
    let counters = s.sim.counters();
    assert_eq!(
        counters.endpoint(sim::Endpoint::PersonalStat).bad_request,
        7
    );
}

#[tokio::test]
async fn unknown_ids_are_left_out_and_names_work() {
    let s = serve(frozen_config(2)).await;
    let ids = s.sim.roster(3);
    let stats = s
        .client()
        .personal_stats(&[ids[0], 1, ids[1], 2, ids[0]])
        .await
        .expect("unknown ids do not fail the batch");
    let got: Vec<i64> = stats.profiles.iter().map(|p| p.profile_id).collect();
    assert_eq!(got, vec![ids[0], ids[1]]);
    let (_, body) = s.get(&format!("{STATS}{}", ids_query(&[1, 2]))).await;
    let raw = json(&body);
    assert_eq!(raw["statGroups"], Value::Array(vec![]));
    assert_eq!(raw["leaderboardStats"], Value::Array(vec![]));

    let p = s.sim.player(ids[2]).expect("player");
    let (_, body) = s
        .get(&format!(
            "{STATS}?title=age2&profile_names=%5B%22{}%22%5D",
            p.name.replace('/', "%2F")
        ))
        .await;
    let by_name = parse_personal_stats(&body).expect("parses");
    assert_eq!(by_name.profiles[0].profile_id, ids[2]);
}
