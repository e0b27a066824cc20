//! The notifications projector against a real PostgreSQL: a log that hits every kind fires each
//! exactly once for its event; non-roster players, other ladders and events outside the window
//! fire nothing; a rebuild reproduces the table (ids and bodies); one event per batch and the
//! whole log in one batch agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::lobby::{Lobby, LobbyCommand};
use domain::matches::{FinishedMatch, Match, MatchCommand, MatchPlayer, Outcome};
use domain::profile::{ObserveStats, Profile, ProfileCommand};
use domain::tournament::{TournamentAction, TournamentPatch};
use projections::notifications::Notifications;
use projections::runner::{builds, catch_up, start_build};
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;
use testkit::{at, people, seed, ACCM, HERA};

/// Two opponents who are on no roster.
const STRANGER: i64 = 5;
const OTHER_STRANGER: i64 = 6;

async fn rating(store: &EventStore, profile: i64, rating: i64, minute: i64) {
    store
        .execute::<Profile>(
            &profile.to_string(),
            ProfileCommand::ObserveStats(ObserveStats {
                profile_id: profile,
                identity: None,
                ladders: vec![seed::ladder(rating, rating, 10 + minute)],
                observed_at: at(minute),
            }),
            &people::poller(),
        )
        .await
        .unwrap();
}

/// A 1v1: `winner` beats `loser` (rating +8 / -8 from `base`).
async fn game(
    store: &EventStore,
    match_id: i64,
    leaderboard: i64,
    minute: i64,
    (winner, loser): (i64, i64),
) {
    let player = |profile_id, civ, team, outcome, old: i64, new| MatchPlayer {
        profile_id,
        alias: Some(format!("alias {profile_id}")),
        civilization_id: civ,
        team_id: team,
        outcome: Some(outcome),
        old_rating: Some(old),
        new_rating: Some(new),
        xp_gained: 1,
    };
    store
        .execute::<Match>(
            &match_id.to_string(),
            MatchCommand::RecordFinishedMatch(FinishedMatch {
                match_id,
                map_name: "Arabia".into(),
                matchtype_id: 6,
                leaderboard_id: Some(leaderboard),
                started_at: at(minute),
                completed_at: Some(at(minute + 5)),
                description: None,
                players: vec![
                    player(winner, 4, 1, Outcome::Win, 2700, 2708),
                    player(loser, 99, 2, Outcome::Loss, 2600, 2592),
                ],
            }),
            &people::poller(),
        )
        .await
        .unwrap();
}

/// A log that derives every kind exactly once or twice (counts in [`EXPECTED`]), plus events
/// that must derive nothing.
async fn seed(store: &EventStore) {
    seed::catalog(
        store,
        vec![seed::solo_rm()],
        vec![seed::civilization(4, "Bohemians")],
        at(-100),
    )
    .await;
    // Window from minute 0, no end yet: open at once (the log is recorded long after minute 0).
    seed::tournament(
        store,
        1,
        "hera",
        seed::plain("Hera Cup", Some(at(0))),
        at(-10),
    )
    .await;
    let roster = [
        (10, "Hera", Some(HERA)),
        (11, "ACCM", Some(ACCM)),
        (12, "Placeholder", None),
    ]
    .map(|(id, name, profile)| TournamentAction::AddPlayerToRoster {
        tournament_player_id: id,
        name: name.into(),
        profile_id: profile,
        presentation: json!({
            "displayName": format!("{name}!"),
            "stream": format!("https://twitch.tv/{}_aoe", name.to_lowercase()),
        }),
    });
    seed::manage_all(store, "hera", roster).await;

    // Before the window: a baseline that never notifies.
    rating(store, HERA, 2600, -5).await;
    game(store, 900, 3, -50, (HERA, ACCM)).await;
    // First in-window observations: the peak baselines; Hera is the first leader (not news).
    rating(store, HERA, 2700, 1).await;
    rating(store, ACCM, 2650, 1).await;
    // peak_rating (Hera), then peak_rating + lead_change (ACCM overtakes).
    rating(store, HERA, 2750, 2).await;
    rating(store, ACCM, 2800, 3).await;
    // Three wins for Hera: match_finished x3; at the third, a 3-win and a 3-loss streak.
    for (i, minute) in [10, 20, 30].into_iter().enumerate() {
        game(store, 1000 + i as i64, 3, minute, (HERA, ACCM)).await;
    }
    // Nothing: strangers only, and another ladder.
    game(store, 2000, 3, 35, (STRANGER, OTHER_STRANGER)).await;
    game(store, 2001, 4, 36, (HERA, ACCM)).await;
    // player_live x2, then player_offline x2; a strangers' lobby derives nothing.
    seed::open_lobby(store, "Hera vs ACCM", at(50)).await;
    lobby_of_strangers(store).await;
    store
        .execute::<Lobby>(
            "486002117",
            LobbyCommand::End {
                observed_at: at(60),
            },
            &people::poller(),
        )
        .await
        .unwrap();
    // Hera's stream: player_live and player_offline (source stream); a channel no roster row
    // names derives nothing.
    stream(store, "hera_aoe", true, 52).await;
    stream(store, "nobody", true, 52).await;
    stream(store, "hera_aoe", false, 62).await;
    // The window closes at minute 100: announced by the first event recorded after it (this
    // update itself, as the log is recorded long after minute 100).
    let close = TournamentAction::Update {
        patch: Box::new(TournamentPatch {
            end_date: Some(Some(at(100))),
            ..Default::default()
        }),
        leaderboard: None,
    };
    seed::manage_all(store, "hera", [close]).await;
    // After the window: nothing.
    rating(store, HERA, 2900, 200).await;
    game(store, 3000, 3, 200, (HERA, ACCM)).await;
}

async fn stream(store: &EventStore, login: &str, live: bool, minute: i64) {
    use domain::stream_channel::{LiveStream, StreamChannel, StreamChannelCommand};
    use domain::streams::{Channel, Platform};
    let channel = Channel::new(Platform::Twitch, login);
    store
        .execute::<StreamChannel>(
            &channel.aggregate_id(),
            StreamChannelCommand::Observe {
                channel: channel.clone(),
                live: live.then(|| LiveStream {
                    title: Some("Cup day".into()),
                    category: None,
                    started_at: Some(at(minute - 1)),
                }),
                observed_at: at(minute),
            },
            &people::poller(),
        )
        .await
        .unwrap();
}

async fn lobby_of_strangers(store: &EventStore) {
    use domain::lobby::{LobbySnapshot, LobbyState};
    store
        .execute::<Lobby>(
            "77",
            LobbyCommand::Observe {
                snapshot: LobbySnapshot {
                    lobby_id: 77,
                    map_name: "Arena".into(),
                    description: None,
                    matchtype_id: 0,
                    state: LobbyState::Staging,
                    members: vec![STRANGER, OTHER_STRANGER],
                },
                observed_at: at(55),
            },
            &people::poller(),
        )
        .await
        .unwrap();
}

const EXPECTED: [(&str, usize); 8] = [
    ("lead_change", 1),
    ("match_finished", 3),
    ("peak_rating", 2),
    ("player_live", 3),
    ("player_offline", 3),
    ("streak_milestone", 2),
    ("window_closed", 1),
    ("window_opened", 1),
];

type Row = (String, i64, String, i64, i32, DateTime<Utc>, Value);

async fn dump(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as(
        "SELECT id, tournament_id, kind, position, ordinal, occurred_at, body
           FROM live.notifications ORDER BY position, ordinal",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Catches up with `batch` until the live build has applied every stored event.
async fn settle(pool: &PgPool, batch: i64) {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    for _ in 0..2000 {
        catch_up(pool, &Notifications, batch).await.unwrap();
        let all = builds(pool).await.unwrap();
        if all.iter().all(|b| b.is_live() && b.events == total) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("projector did not catch up");
}

fn body_of<'a>(rows: &'a [Row], kind: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r.2 == kind).map(|r| &r.6).collect()
}

#[tokio::test]
async fn every_kind_fires_once_for_its_event_and_nothing_else_fires() {
    let pool = store::testing::migrated_pool("notify_kinds").await;
    let store = EventStore::new(pool.clone());
    seed(&store).await;
    settle(&pool, 500).await;
    let rows = dump(&pool).await;

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *counts.entry(r.2.as_str()).or_default() += 1;
    }
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        EXPECTED,
        "{rows:#?}"
    );

    // Ids are unique and stable in shape; ordinals count per (tournament, event).
    for (id, tournament, kind, position, _, _, body) in &rows {
        assert!(
            id.starts_with(&format!("n-{position}-{kind}-{tournament}")),
            "{id}"
        );
        assert_eq!(body["id"], json!(id));
        assert_eq!(body["position"], json!(position));
        assert_eq!(
            body["tournament"],
            json!({"slug": "hera", "name": "Hera Cup"})
        );
    }
    let hera = json!({"tournament_player_id": 10, "name": "Hera!", "profile_id": HERA});
    let accm = json!({"tournament_player_id": 11, "name": "ACCM!", "profile_id": ACCM});

    let peaks = body_of(&rows, "peak_rating");
    assert_eq!(
        peaks[0]["data"],
        json!({"player": hera, "rating": 2750, "previous_peak": 2700})
    );
    assert_eq!(
        peaks[1]["data"],
        json!({"player": accm, "rating": 2800, "previous_peak": 2650})
    );
    let lead = body_of(&rows, "lead_change")[0];
    assert_eq!(
        lead["data"]["leader"],
        json!({"player": accm, "rating": 2800})
    );
    assert_eq!(
        lead["data"]["previous_leader"],
        json!({"player": hera, "rating": 2750})
    );
    // The lead change and ACCM's peak come from the same event, peak first.
    let same_event: Vec<(&str, i32)> = rows
        .iter()
        .filter(|r| r.3 == rows.iter().find(|r| r.2 == "lead_change").unwrap().3)
        .map(|r| (r.2.as_str(), r.4))
        .collect();
    assert_eq!(same_event, vec![("peak_rating", 0), ("lead_change", 1)]);

    let matches = body_of(&rows, "match_finished");
    let ids: Vec<&Value> = matches.iter().map(|b| &b["data"]["match_id"]).collect();
    assert_eq!(ids, vec![&json!(1000), &json!(1001), &json!(1002)]);
    let first = &matches[0]["data"];
    assert_eq!(first["map"], "Arabia");
    assert_eq!(first["players"][0]["player"], hera);
    assert_eq!(first["players"][0]["civ"], "Bohemians");
    assert_eq!(first["players"][0]["won"], true);
    assert_eq!(first["players"][0]["rating_change"], 8);
    assert_eq!(first["players"][1]["civ"], Value::Null, "civ 99 is unknown");
    assert_eq!(first["players"][1]["rating_change"], -8);

    let streaks = body_of(&rows, "streak_milestone");
    let streaks: Vec<&Value> = streaks.iter().map(|b| &b["data"]).collect();
    assert_eq!(
        streaks,
        vec![
            &json!({"player": hera, "streak": 3, "kind": "win"}),
            &json!({"player": accm, "streak": 3, "kind": "loss"}),
        ]
    );
    // The third match's event: match_finished, then the two milestones.
    let third = rows
        .iter()
        .find(|r| r.6["data"]["match_id"] == 1002)
        .unwrap()
        .3;
    let kinds: Vec<&str> = rows
        .iter()
        .filter(|r| r.3 == third)
        .map(|r| r.2.as_str())
        .collect();
    assert_eq!(
        kinds,
        ["match_finished", "streak_milestone", "streak_milestone"]
    );

    let live: Vec<&Value> = body_of(&rows, "player_live")
        .iter()
        .map(|b| &b["data"])
        .collect();
    assert_eq!(
        live,
        vec![
            &json!({"player": hera, "source": "match", "match_id": 486002117}),
            &json!({"player": accm, "source": "match", "match_id": 486002117}),
            &json!({"player": hera, "source": "stream", "channel": "twitch:hera_aoe"}),
        ]
    );
    let offline = body_of(&rows, "player_offline");
    assert_eq!(offline.len(), 3);
    assert_eq!(
        offline[2]["data"],
        json!({"player": hera, "source": "stream", "channel": "twitch:hera_aoe"})
    );

    let opened = body_of(&rows, "window_opened")[0];
    assert_eq!(
        opened["data"],
        json!({"starts_at": "2026-05-17T06:40:00Z", "ends_at": null})
    );
    assert_eq!(opened["occurred_at"], "2026-05-17T06:40:00Z");
    let closed = body_of(&rows, "window_closed")[0];
    assert_eq!(closed["occurred_at"], "2026-05-17T08:20:00Z");
    assert_eq!(
        closed["data"]["final_standings"],
        json!([
            {"rank": 1, "player": accm, "rating": 2800, "wins": 0, "losses": 3},
            {"rank": 2, "player": hera, "rating": 2750, "wins": 3, "losses": 0},
            {"rank": 3, "player": {"tournament_player_id": 12, "name": "Placeholder!",
                                   "profile_id": null}, "rating": null, "wins": 0, "losses": 0},
        ])
    );
    // Last: nothing after the close (the rating and match at minute 200 are outside).
    assert_eq!(rows.last().unwrap().2, "window_closed");
}

#[tokio::test]
async fn a_rebuild_in_one_batch_reproduces_a_build_made_one_event_at_a_time() {
    let pool = store::testing::migrated_pool("notify_rebuild").await;
    let store = EventStore::new(pool.clone());
    seed(&store).await;
    // One event per batch: the path a live worker takes when events trickle in.
    settle(&pool, 1).await;
    let one_by_one = dump(&pool).await;
    assert_eq!(
        one_by_one.len(),
        EXPECTED.iter().map(|(_, n)| n).sum::<usize>()
    );
    let old = builds(&pool).await.unwrap()[0].build;

    // `standings projections rebuild` path: a new build from position 0, swapped in when caught up.
    let new = start_build::<Notifications>(&pool).await.unwrap();
    assert!(new > old);
    settle(&pool, 10_000).await;
    let all = builds(&pool).await.unwrap();
    assert_eq!(all.len(), 1, "the old build is dropped after the swap");
    assert_eq!(all[0].build, new);
    assert_eq!(dump(&pool).await, one_by_one);
}

#[tokio::test]
async fn each_tournament_gets_its_own_ids_and_roster_changes_scope_what_fires() {
    let pool = store::testing::migrated_pool("notify_scope").await;
    let store = EventStore::new(pool.clone());
    for (id, slug, players) in [
        (1, "a", vec![(10, HERA), (11, ACCM)]),
        (2, "b", vec![(20, HERA)]),
    ] {
        seed::tournament(&store, id, slug, seed::plain(slug, Some(at(0))), at(-10)).await;
        let roster =
            players
                .into_iter()
                .map(|(tpid, profile)| TournamentAction::AddPlayerToRoster {
                    tournament_player_id: tpid,
                    name: format!("p{tpid}"),
                    profile_id: Some(profile),
                    presentation: json!({}),
                });
        seed::manage_all(&store, slug, roster).await;
    }
    game(&store, 1000, 3, 10, (HERA, ACCM)).await;
    let removal = TournamentAction::RemovePlayerFromRoster {
        tournament_player_id: 20,
    };
    seed::manage_all(&store, "b", [removal]).await;
    game(&store, 1001, 3, 20, (HERA, ACCM)).await;
    seed::manage_all(&store, "a", [TournamentAction::Delete]).await;
    game(&store, 1002, 3, 30, (HERA, ACCM)).await;
    settle(&pool, 500).await;

    let rows = dump(&pool).await;
    let finished: Vec<(i64, i64, i32)> = rows
        .iter()
        .filter(|r| r.2 == "match_finished")
        .map(|r| (r.1, r.6["data"]["match_id"].as_i64().unwrap(), r.4))
        .collect();
    // 1000 in both (ordinal 0 in each), 1001 only where Hera still plays, 1002 nowhere.
    assert_eq!(finished, vec![(1, 1000, 0), (2, 1000, 0), (1, 1001, 0)]);
    let ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.2 == "match_finished")
        .map(|r| r.0.as_str())
        .collect();
    assert!(ids[0].ends_with("-match_finished-1-1000"), "{ids:?}");
    assert!(ids[1].ends_with("-match_finished-2-1000"), "{ids:?}");
    assert_eq!(rows.iter().filter(|r| r.2 == "window_opened").count(), 2);
}
