//! A game upstream becomes exactly the right events: one `MatchFinished` (member-row civs,
//! the options-blob map, outcomes, ratings) and a `RatingObserved` per player; lobbies start
//! and end; the catalog is observed once.

mod common;

use common::{all_cycles, delta, event_counts, events_of, key, rostered};
use domain::lobby::LobbyEvent;
use domain::matches::{MatchEvent, Outcome};
use domain::profile::ProfileEvent;
use poller::CycleKind;
use sim::MatchSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_forced_game_appends_one_match_and_a_rating_per_player() {
    let (env, roster) = rostered("forced", 4, 0).await;
    let poller = env.poller();
    all_cycles(&poller).await;
    all_cycles(&poller).await;

    let (winner, loser) = (roster[0], roster[1]);
    let spec = MatchSpec::one_v_one(winner, loser, 0)
        .civs(vec![vec![4], vec![23]])
        .map(10878)
        .lying_mapname(true)
        .report_civ_zero(true);
    let xp_before = env.sim.player(winner).expect("player").xp;
    let match_id = env.sim.play_match(&spec).expect("forced game");
    let record = env.sim.history(winner)[0].clone();
    assert_eq!(record.id, match_id);
    assert_ne!(
        record.mapname, "Black Forest.rms",
        "the sim lies about the map"
    );
    assert!(
        record.players.iter().all(|p| p.report_civ == 0),
        "report rows say 0"
    );

    let before = event_counts(&env.pool).await;
    let stats = poller.run_cycle(CycleKind::Stats).await.expect("stats");
    assert_eq!(stats.moved, 2, "exactly the two players moved");
    let matches = poller.run_cycle(CycleKind::Matches).await.expect("matches");
    assert_eq!(
        (
            matches.items,
            matches.moved,
            matches.requests,
            matches.commands
        ),
        (2, 2, 1, 1),
        "history of the two movers only, one request, one new match: {matches:?}"
    );
    poller.run_cycle(CycleKind::Live).await.expect("live");
    let appended = delta(&before, &event_counts(&env.pool).await);
    // A game also earns XP, which is part of the profile's identity: one `ProfileObserved`
    // per player is a true change, not noise. It moves ranks on its ladder too: one
    // `LadderRanksObserved` for all of them.
    assert_ne!(env.sim.player(winner).expect("player").xp, xp_before);
    assert_eq!(
        appended,
        [
            (key("Ladder", "LadderRanksObserved"), 1),
            (key("Match", "MatchFinished"), 1),
            (key("Profile", "ProfileObserved"), 2),
            (key("Profile", "RatingObserved"), 2)
        ]
        .into_iter()
        .collect(),
    );

    let finished = events_of(&env.pool, "MatchFinished").await;
    let (id, payload) = finished.last().expect("a MatchFinished").clone();
    assert_eq!(id, match_id.to_string());
    let MatchEvent::MatchFinished(m) = serde_json::from_value(payload).expect("decode");
    assert_eq!(m.map_name, "Black Forest", "map from the options blob");
    assert_eq!(m.matchtype_id, 6);
    assert_eq!(m.leaderboard_id, Some(3));
    assert_eq!(m.players.len(), 2);
    for p in &m.players {
        let sim = record.player(p.profile_id).expect("participant");
        let (civ, outcome) = if p.profile_id == winner {
            (4, Outcome::Win)
        } else {
            (23, Outcome::Loss)
        };
        assert_eq!(p.civilization_id, civ, "member-row civ, not the report's 0");
        assert_eq!(p.outcome, Some(outcome));
        assert_eq!(p.old_rating, Some(sim.old_rating));
        assert_eq!(p.new_rating, Some(sim.new_rating));
        assert_ne!(p.old_rating, p.new_rating);
        let alias = env.sim.player(p.profile_id).expect("player").alias;
        assert_eq!(p.alias, Some(alias).filter(|a| !a.is_empty()));
    }

    let ratings = events_of(&env.pool, "RatingObserved").await;
    for player in [winner, loser] {
        let (_, payload) = ratings
            .iter()
            .rev()
            .find(|(id, _)| *id == player.to_string())
            .expect("a RatingObserved")
            .clone();
        let ProfileEvent::RatingObserved { stats, .. } =
            serde_json::from_value(payload).expect("decode")
        else {
            panic!("not a RatingObserved");
        };
        let now = env.sim.stats(player, 3).expect("ladder row");
        assert_eq!(stats.leaderboard_id, 3);
        assert_eq!(stats.rating, now.rating);
        assert_eq!((stats.wins, stats.losses), (now.wins, now.losses));
        assert_eq!(stats.rating, record.player(player).unwrap().new_rating);
        assert!(stats.highest_rating >= stats.rating);
    }

    // Seen again (stats, history, a sweep): nothing more.
    let before = event_counts(&env.pool).await;
    all_cycles(&poller).await;
    poller.reset_caches();
    all_cycles(&poller).await;
    all_cycles(&poller).await;
    assert_eq!(
        delta(&before, &event_counts(&env.pool).await),
        Default::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lobby_with_a_tracked_member_starts_updates_and_ends() {
    let (env, roster) = rostered("lobby", 4, 0).await;
    let poller = env.poller();
    all_cycles(&poller).await;
    let outsider = env.sim.roster(40)[39];
    let lobby = env
        .sim
        .open_lobby(&[outsider, roster[2]])
        .expect("open lobby");
    let before = event_counts(&env.pool).await;
    poller.run_cycle(CycleKind::Live).await.expect("live");
    poller.run_cycle(CycleKind::Live).await.expect("live again");
    assert_eq!(
        delta(&before, &event_counts(&env.pool).await),
        [(key("Lobby", "LiveMatchStarted"), 1)]
            .into_iter()
            .collect()
    );
    let started = events_of(&env.pool, "LiveMatchStarted").await;
    let (id, payload) = started.last().unwrap().clone();
    assert_eq!(id, lobby.to_string());
    let LobbyEvent::LiveMatchStarted { snapshot, .. } = serde_json::from_value(payload).unwrap()
    else {
        panic!("not started");
    };
    let mut members = vec![outsider, roster[2]];
    members.sort_unstable();
    assert_eq!(snapshot.members, members, "every member, tracked or not");
    assert_eq!(snapshot.state, domain::lobby::LobbyState::Staging);

    assert!(env.sim.close_lobby(lobby));
    let before = event_counts(&env.pool).await;
    poller.run_cycle(CycleKind::Live).await.expect("live");
    poller.run_cycle(CycleKind::Live).await.expect("live again");
    assert_eq!(
        delta(&before, &event_counts(&env.pool).await),
        [(key("Lobby", "LiveMatchEnded"), 1)].into_iter().collect()
    );
    // The closed lobby's tracked member is watched for a custom game.
    let report = poller.run_cycle(CycleKind::Matches).await.expect("matches");
    assert_eq!((report.watched, report.items), (1, 1), "{report:?}");

    // A new leader term (fresh caches) still ends a lobby that closed meanwhile.
    let lobby = env.sim.open_lobby(&[roster[3]]).expect("open lobby");
    poller.run_cycle(CycleKind::Live).await.expect("live");
    let fresh = env.poller();
    assert!(env.sim.close_lobby(lobby));
    fresh.run_cycle(CycleKind::Live).await.expect("live");
    let ended = events_of(&env.pool, "LiveMatchEnded").await;
    assert_eq!(ended.last().unwrap().0, lobby.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_is_observed_once() {
    let (env, _) = rostered("catalog", 1, 0).await;
    let poller = env.poller();
    let before = event_counts(&env.pool).await;
    for _ in 0..3 {
        poller.run_cycle(CycleKind::Catalog).await.expect("catalog");
    }
    assert_eq!(
        delta(&before, &event_counts(&env.pool).await),
        [
            (key("Catalog", "CivilizationsObserved"), 1),
            (key("Catalog", "LeaderboardsObserved"), 1)
        ]
        .into_iter()
        .collect()
    );
}
