//! Forced games and lobbies, observed through HTTP and the `upstream` client.

mod common;

use common::*;
use serde_json::Value;
use sim::{LadderStats, MatchSpec, SimError, LB_SOLO_RM, LB_TEAM_RM};
use upstream::{Outcome, RatingObservation};

fn rating(stats: &upstream::PersonalStats, profile_id: i64, lb: i64) -> RatingObservation {
    stats
        .ratings
        .iter()
        .find(|r| r.profile_id == profile_id && r.leaderboard_id == lb)
        .cloned()
        .expect("rating row")
}

/// The row `before` after one game with result `won` and new rating `new`.
fn expected_after(before: Option<LadderStats>, won: bool, new: i64) -> (i64, i64, i64, i64) {
    let b = before.unwrap_or(LadderStats::new_row(1000));
    let streak = match (won, b.streak) {
        (true, s) if s > 0 => s + 1,
        (true, _) => 1,
        (false, s) if s < 0 => s - 1,
        (false, _) => -1,
    };
    let highest = if won {
        b.highest_rating.max(new)
    } else {
        b.highest_rating
    };
    (
        b.wins + i64::from(won),
        b.losses + i64::from(!won),
        streak,
        highest,
    )
}

#[tokio::test]
async fn forced_1v1_shows_up_everywhere_consistently() {
    let s = serve(frozen_config(21)).await;
    let roster = s.sim.roster(2);
    let (a, b) = (roster[0], roster[1]);
    let before_a = s.sim.stats(a, LB_SOLO_RM);
    let before_b = s.sim.stats(b, LB_SOLO_RM);

    let spec = MatchSpec::one_v_one(a, b, 1)
        .civs(vec![vec![4], vec![7]])
        .map(10878)
        .lying_mapname(true)
        .report_civ_zero(true);
    let match_id = s.sim.play_match(&spec).expect("forced game");

    let client = s.client();
    for pid in [a, b] {
        let history = client.recent_match_history(&[pid]).await.expect("history");
        let m = history
            .matches
            .iter()
            .find(|m| m.match_id == match_id)
            .expect("forced match in this player's history");
        // `mapname` lies, the options blob tells the truth.
        assert_eq!(m.map_name, "Black Forest");
        assert_ne!(m.raw_mapname, "Black_Forest.rms");
        assert!(m.raw_mapname.ends_with(".rms"));
        assert_eq!(m.matchtype_id, 6);
        assert_eq!(m.description.as_deref(), Some("AUTOMATCH"));
        assert!(m.completed_at.is_some_and(|c| c > m.started_at));
        let pa = m.players.iter().find(|p| p.profile_id == a).expect("a");
        let pb = m.players.iter().find(|p| p.profile_id == b).expect("b");
        assert_eq!(
            (pa.civilization_id, pb.civilization_id),
            (4, 7),
            "member civs"
        );
        assert_eq!(pa.outcome, Some(Outcome::Loss));
        assert_eq!(pb.outcome, Some(Outcome::Win));
        assert_ne!(pa.team_id, pb.team_id);
    }

    // The raw report rows say civ 0; the member rows and key 10 hold the truth.
    let (_, body) = s.get(&format!("{HISTORY}{}", ids_query(&[a]))).await;
    let raw: Value = serde_json::from_slice(&body).expect("json");
    let m = raw["matchHistoryStats"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["id"] == match_id))
        .expect("raw match");
    for r in m["matchhistoryreportresults"].as_array().expect("reports") {
        assert_eq!(r["civilization_id"], 0);
    }
    let options = upstream::options::decode(m["options"].as_str().expect("blob")).expect("decodes");
    assert_eq!(options["10"], "10878");

    // Ratings: member rows and GetPersonalStat agree, W/L/streak/peak follow the rules.
    let stats = client.personal_stats(&[a, b]).await.expect("stats");
    let history = client.recent_match_history(&[a]).await.expect("history");
    let m = history
        .matches
        .iter()
        .find(|m| m.match_id == match_id)
        .expect("match");
    for (pid, before, won) in [(a, before_a, false), (b, before_b, true)] {
        let p = m
            .players
            .iter()
            .find(|p| p.profile_id == pid)
            .expect("player");
        let (old, new) = (p.old_rating.expect("old"), p.new_rating.expect("new"));
        assert_eq!(old, before.as_ref().map_or(1000, |s| s.rating));
        assert_eq!(new > old, won, "winner gains, loser drops");
        assert!((1..=32).contains(&(new - old).abs()));
        let now = rating(&stats, pid, LB_SOLO_RM);
        assert_eq!(now.rating, new);
        let (wins, losses, streak, highest) = expected_after(before, won, new);
        assert_eq!((now.wins, now.losses, now.streak), (wins, losses, streak));
        let raw_now = s.sim.stats(pid, LB_SOLO_RM).expect("row");
        assert_eq!(raw_now.highest_rating, highest);
        // The parser floors a missing/0 peak at the rating.
        assert_eq!(now.highest_rating, highest.max(new));
        assert_eq!(
            now.last_match_at.map(|t| t.timestamp()),
            Some(s.sim.now()),
            "lastmatchdate = completion time"
        );
    }
    // Elo is zero-sum in a 1v1.
    let d: i64 = m
        .players
        .iter()
        .map(|p| p.new_rating.unwrap_or(0) - p.old_rating.unwrap_or(0))
        .sum();
    assert_eq!(d, 0);
}

#[tokio::test]
async fn forced_team_game_and_streaks() {
    let s = serve(frozen_config(22)).await;
    let r = s.sim.roster(4);
    let match_id = s
        .sim
        .play_match(&MatchSpec::teams(vec![r[0], r[1]], vec![r[2], r[3]], 0))
        .expect("2v2");
    let history = s
        .client()
        .recent_match_history(&[r[3]])
        .await
        .expect("history");
    let m = history
        .matches
        .iter()
        .find(|m| m.match_id == match_id)
        .expect("2v2 in history");
    assert_eq!(m.matchtype_id, 7);
    assert_eq!(m.players.len(), 4);
    let stats = s.client().personal_stats(&r).await.expect("stats");
    for p in &m.players {
        let row = rating(&stats, p.profile_id, LB_TEAM_RM);
        assert_eq!(Some(row.rating), p.new_rating);
        assert_eq!(
            p.outcome == Some(Outcome::Win),
            p.team_id == m.players[0].team_id
        );
    }

    // Three straight wins: streak counts up from wherever it was.
    let (w, l) = (r[0], r[2]);
    for _ in 0..3 {
        s.sim.play_1v1(w, l).expect("1v1");
    }
    let row = s.sim.stats(w, LB_SOLO_RM).expect("row");
    assert!(row.streak >= 3);
    assert!(row.highest_rating >= row.rating);
    assert!(s.sim.stats(l, LB_SOLO_RM).expect("row").streak <= -3);
}

#[tokio::test]
async fn forced_game_validation() {
    let s = serve(frozen_config(23)).await;
    let r = s.sim.roster(3);
    let cases = [
        (
            MatchSpec::one_v_one(r[0], 1, 0),
            SimError::UnknownProfile(1),
        ),
        (
            MatchSpec::one_v_one(r[0], r[0], 0),
            SimError::DuplicateProfile(r[0]),
        ),
        (
            MatchSpec::one_v_one(r[0], r[1], 2),
            SimError::InvalidWinner(2),
        ),
        (
            MatchSpec::one_v_one(r[0], r[1], 0).matchtype(7),
            SimError::InvalidMatchtype(7),
        ),
        (
            MatchSpec::one_v_one(r[0], r[1], 0).map(11022),
            SimError::UnknownMap(11022),
        ),
        (
            MatchSpec::one_v_one(r[0], r[1], 0).civs(vec![vec![99], vec![1]]),
            SimError::UnknownCivilization(99),
        ),
    ];
    for (spec, err) in cases {
        assert_eq!(s.sim.play_match(&spec), Err(err));
    }
    assert!(matches!(
        s.sim
            .play_match(&MatchSpec::teams(vec![r[0]], vec![r[1], r[2]], 0)),
        Err(SimError::InvalidTeams(_))
    ));

    // The same over HTTP.
    let ok = s
        .http
        .post(s.url("/sim/play"))
        .json(&serde_json::json!({"teams": [[r[0]], [r[1]]], "winner": 0, "matchtype_id": 26}))
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status().as_u16(), 200);
    let played: Value = ok.json().await.expect("json");
    assert!(played["match_id"].as_i64().is_some());
    let bad = s
        .http
        .post(s.url("/sim/play"))
        .json(&serde_json::json!({"teams": [[r[0]], [1]], "winner": 0}))
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status().as_u16(), 400);
}

#[tokio::test]
async fn lobbies_open_and_close_on_demand() {
    let s = serve(frozen_config(24)).await;
    let r = s.sim.roster(2);
    let lobby_id = s.sim.open_lobby(&r).expect("lobby");
    let lobbies = s.client().advertisements().await.expect("lobbies");
    let lobby = lobbies
        .iter()
        .find(|l| l.lobby_id == lobby_id)
        .expect("listed");
    assert_eq!(lobby.raw_mapname, "my map");
    assert_eq!(lobby.map_name, "Arabia");
    assert_eq!(lobby.host_profile_id, Some(r[0]));
    let members: Vec<i64> = lobby.members.iter().map(|m| m.profile_id).collect();
    assert_eq!(members, r);
    // Test lobbies do not close by themselves.
    s.sim.advance(std::time::Duration::from_secs(6 * 3600));
    assert!(s.sim.lobbies().iter().any(|l| l.id == lobby_id));
    assert!(s.sim.close_lobby(lobby_id));
    assert!(!s.sim.close_lobby(lobby_id));
    let lobbies = s.client().advertisements().await.expect("lobbies");
    assert!(lobbies.iter().all(|l| l.lobby_id != lobby_id));

    // Over HTTP.
    let opened: Value = s
        .post_json("/sim/lobbies", &serde_json::json!({"members": [r[1]]}))
        .await;
    let id = opened["lobby_id"].as_i64().expect("id");
    let closed: Value = s
        .post_json("/sim/lobbies/close", &serde_json::json!({"lobby_id": id}))
        .await;
    assert_eq!(closed["closed"], true);
    let roster: Value = s.get_json("/sim/roster?count=5").await;
    assert_eq!(roster["profile_ids"], serde_json::json!(s.sim.roster(5)));
}
