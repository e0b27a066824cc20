//! The batch path against the one-event-at-a-time reference, on a log built to hit every
//! fold rule: keys written several times in one batch, rating snapshots that change and
//! do not, rank updates (per player and per ladder) before and after rating rows, lobbies that become matches (both
//! orders), a stale lobby after completion, roster changes in the middle of a batch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::catalog::{CatalogEvent, Civilization, Leaderboard};
use domain::ladder::{ladder_id, LadderEvent, LadderRank};
use domain::lobby::{LobbyEvent, LobbySnapshot, LobbyState};
use domain::matches::{FinishedMatch, MatchEvent, MatchPlayer, Outcome};
use domain::operator::OperatorEvent;
use domain::profile::{LadderStats, ProfileEvent, ProfileIdentity};
use domain::stream_channel::StreamChannelEvent;
use domain::streams::{Channel, Platform};
use domain::tournament::{
    RankBy, TournamentConfig, TournamentEvent, WebhookChanged, WebhookEdited, WebhookFormat,
    WebhookRegistered, WebhookSecretRotated,
};
use serde_json::{json, Value};
use sqlx::{Executor, PgPool};
use store::log::{read_after, LogPosition};
use store::RecordedEvent;

use super::Core;
use crate::runner::{builds, catch_up, start_build, Projector};
use crate::Nudges;

const A: i64 = 100;
const B: i64 = 200;
const C: i64 = 300;
const X: i64 = 9_001;
const Y: i64 = 9_002;
const Z: i64 = 9_003;

mod log;
use log::{seed, Log};

/// The whole log, once every appended event is readable (another test's transaction on
/// the shared cluster can hold the gap-safe reader back for a moment).
async fn read_log(pool: &PgPool) -> Vec<RecordedEvent> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut all: Vec<RecordedEvent> = Vec::new();
    for _ in 0..2000 {
        let at = all.last().map_or(LogPosition::START, |e| e.log_position);
        let events = read_after(&mut conn, at, 10_000).await.unwrap();
        if events.is_empty() {
            if all.len() as i64 == total {
                return all;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        all.extend(events);
    }
    panic!("the log did not become readable");
}

/// Builds `core` from position 0 in a fresh schema with steps of `chunk` events, either
/// with `apply_batch` or with `apply` per event. Returns the schema and each step's nudges.
async fn build(
    pool: &PgPool,
    log: &[RecordedEvent],
    batched: bool,
    chunk: usize,
) -> (String, Vec<Nudges>) {
    let build = start_build::<Core>(pool).await.unwrap();
    let schema = format!("core_b{build}");
    let mut nudges = Vec::new();
    for events in log.chunks(chunk) {
        let mut tx = pool.begin().await.unwrap();
        (&mut *tx)
            .execute(format!("SET LOCAL search_path TO {schema}, public").as_str())
            .await
            .unwrap();
        let decoded: Vec<_> = events
            .iter()
            .map(|e| (e.clone(), e.decode().unwrap()))
            .collect();
        let mut step = Nudges::default();
        if batched {
            Core.apply_batch(&mut tx, &decoded, &mut step)
                .await
                .unwrap();
        } else {
            for (event, d) in &decoded {
                Core.apply(&mut tx, event, d.clone(), &mut step)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
        nudges.push(step);
    }
    (schema, nudges)
}

async fn dump(pool: &PgPool, schema: &str) -> Vec<(String, Vec<Value>)> {
    let mut out = vec![];
    for table in Core::TABLES {
        let rows: Vec<Value> = sqlx::query_scalar(&format!(
            "SELECT to_jsonb(t) FROM {schema}.{table} t ORDER BY to_jsonb(t)::text"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        out.push((table.to_string(), rows));
    }
    out
}

fn rows<'a>(dump: &'a [(String, Vec<Value>)], table: &str) -> &'a [Value] {
    &dump.iter().find(|(t, _)| t == table).unwrap().1
}

#[tokio::test]
async fn the_batch_path_builds_what_one_event_at_a_time_builds() {
    let pool = store::testing::migrated_pool("core_batch").await;
    let mut log = Log::new(&pool);
    seed(&mut log).await;
    let events = read_log(&pool).await;

    let (schema, reference_nudges) = build(&pool, &events, false, 1_000).await;
    let reference = dump(&pool, &schema).await;
    for chunk in [1, 2, 3, 4, 5, 7, 8, 13, 21, 1_000] {
        let (one, one_nudges) = build(&pool, &events, false, chunk).await;
        let (batched, batched_nudges) = build(&pool, &events, true, chunk).await;
        assert_eq!(
            dump(&pool, &batched).await,
            reference,
            "tables, chunk {chunk}"
        );
        assert_eq!(
            dump(&pool, &one).await,
            reference,
            "reference, chunk {chunk}"
        );
        assert_eq!(batched_nudges, one_nudges, "nudges, chunk {chunk}");
    }
    assert_eq!(reference_nudges.len(), 1);
    // Everyone (civilizations), and every tournament, of every kind.
    let all = &reference_nudges[0];
    assert!(all.everyone);
    assert_eq!(
        all.tournament_ids.iter().copied().collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(all.kinds.len(), 3);

    // The log does exercise the rules.
    let snapshots: Vec<(i64, i64, i64)> = rows(&reference, "player_rating_snapshots")
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (n("profile_id"), n("max_rating"), n("current_rating"))
        })
        .filter(|(p, _, _)| *p == A)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        snapshots,
        [
            (A, 1000, 1000),
            (A, 1010, 1000),
            (A, 1010, 1010),
            (A, 1020, 1020)
        ]
    );
    let ratings = rows(&reference, "player_ratings");
    let a = ratings.iter().find(|r| r["profile_id"] == A).unwrap();
    // The ladders' rank events came last for both.
    assert_eq!(
        (
            a["current_rating"].as_i64(),
            a["rank"].as_i64(),
            a["rank_total"].as_i64()
        ),
        (Some(1020), Some(18), Some(2018))
    );
    let b = ratings.iter().find(|r| r["profile_id"] == B).unwrap();
    assert_eq!(
        (
            b["max_rating"].as_i64(),
            b["rank"].as_i64(),
            b["region_rank_total"].as_i64()
        ),
        (Some(900), Some(27), Some(81))
    );
    assert!(ratings
        .iter()
        .all(|r| r["profile_id"] != C || r["leaderboard_id"] == 3));
    let ids = |table: &str, keys: &[&str]| -> Vec<String> {
        rows(&reference, table)
            .iter()
            .map(|r| {
                keys.iter()
                    .map(|k| r[*k].to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect()
    };
    assert_eq!(ids("tournaments", &["id"]), ["1", "3"], "2 was deleted");
    assert_eq!(
        ids("tournament_owners", &["tournament_id", "user_id"]),
        ["1/\"u1\""]
    );
    assert_eq!(ids("tournament_creators", &["user_id"]), ["\"u1\""]);
    assert_eq!(ids("teams", &["id", "name"]), ["21/\"Team (renamed)\""]);
    assert_eq!(
        ids(
            "team_members",
            &["team_id", "tournament_player_id", "is_captain"]
        ),
        ["21/11/false"]
    );
    let a_player = rows(&reference, "players")
        .iter()
        .find(|r| r["profile_id"] == A)
        .unwrap();
    assert_eq!(a_player["xp"], 3);
    let mut civ: Vec<(i64, i64)> = rows(&reference, "match_players")
        .iter()
        .filter(|r| r["match_id"] == 7_001 || r["match_id"] == 5_001)
        .map(|r| {
            (
                r["profile_id"].as_i64().unwrap(),
                r["civilization_id"].as_i64().unwrap(),
            )
        })
        .collect();
    civ.sort_unstable();
    assert_eq!(civ, [(A, 4), (A, 6), (X, 5), (X, 7)], "first write wins");
    let aliases: Vec<(i64, String)> = rows(&reference, "profile_aliases")
        .iter()
        .map(|r| {
            (
                r["profile_id"].as_i64().unwrap(),
                r["alias"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(aliases.contains(&(A, "Ann5".into())));
    assert!(!aliases.iter().any(|(p, _)| *p == Z || *p == C));
    let matches = rows(&reference, "matches");
    let lobby = matches.iter().find(|r| r["match_id"] == 5_001).unwrap();
    assert_eq!(
        lobby["state"], "completed",
        "a stale lobby never un-completes"
    );
    assert_eq!(lobby["map_name"], "Arabia 5001");
    let early = matches.iter().find(|r| r["match_id"] == 7_003).unwrap();
    assert_eq!(early["map_name"], "Lobby of 7003");
    let live: Vec<(i64, i64)> = rows(&reference, "live_match_players")
        .iter()
        .map(|r| {
            (
                r["match_id"].as_i64().unwrap(),
                r["profile_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(live, [(5_004, A), (5_004, C), (7_003, A), (7_003, Y)]);

    let streams: Vec<(String, String, Option<String>)> = rows(&reference, "live_streams")
        .iter()
        .map(|r| {
            (
                r["platform"].as_str().unwrap().into(),
                r["channel"].as_str().unwrap().into(),
                r["title"].as_str().map(Into::into),
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let s = |p: &str, c: &str, t: &str| (p.to_string(), c.to_string(), Some(t.to_string()));
    assert_eq!(
        streams,
        [
            s("twitch", "a", "~Game 2"),
            s("twitch", "a2", "A2"),
            s("twitch", "nobody", "Unlisted"),
        ]
    );
    let mut links: Vec<(i64, Option<i64>, String)> = rows(&reference, "stream_links")
        .iter()
        .map(|r| {
            (
                r["tournament_id"].as_i64().unwrap(),
                r["tournament_player_id"].as_i64(),
                format!(
                    "{}:{}",
                    r["platform"].as_str().unwrap(),
                    r["channel"].as_str().unwrap()
                ),
            )
        })
        .collect();
    links.sort();
    let l = |t, p, c: &str| (t, p, c.to_string());
    assert_eq!(
        links,
        [
            l(1, Some(11), "twitch:a2"),
            l(1, Some(13), "twitch:tbd"),
            l(1, Some(13), "youtube:@shared"),
            l(3, None, "twitch:a2"),
            l(3, None, "twitch:b"),
        ],
        "removed and edited rows drop their links; hosts are linked"
    );
}

#[tokio::test]
async fn stream_changes_nudge_live_for_the_tournaments_that_name_the_channel() {
    let pool = store::testing::migrated_pool("core_streams").await;
    let mut log = Log::new(&pool);
    seed(&mut log).await;
    let events = read_log(&pool).await;
    let (_, nudges) = build(&pool, &events, false, 1).await;
    let of = |kind: &str, channel: &str| -> Vec<&Nudges> {
        events
            .iter()
            .zip(&nudges)
            .filter(|(e, _)| e.event_type == kind && e.aggregate_id == channel)
            .map(|(_, n)| n)
            .collect()
    };
    let scope = |n: &Nudges| {
        (
            n.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            n.tournament_ids.iter().copied().collect::<Vec<_>>(),
        )
    };
    // Row 11 ("A") and row 13 ("TBD") name @shared in tournament 1.
    assert_eq!(
        scope(of("StreamWentLive", "youtube:@shared")[0]),
        (vec!["live"], vec![1])
    );
    // Nobody names it: no nudge.
    assert!(of("StreamWentLive", "twitch:nobody")[0].is_empty());
    // b goes live while row 12 is on tournament 1's roster; goes offline after the row was
    // removed and tournament 3's hosts named b.
    assert_eq!(
        scope(of("StreamWentLive", "twitch:b")[0]),
        (vec!["live"], vec![1])
    );
    assert_eq!(
        scope(of("StreamWentOffline", "twitch:b")[0]),
        (vec!["live"], vec![3])
    );
    // a2: row 11 of tournament 1 and the hosts of tournament 3.
    assert_eq!(
        scope(of("StreamWentLive", "twitch:a2")[0]),
        (vec!["live"], vec![1, 3])
    );
}

#[tokio::test]
async fn a_poison_event_inside_a_batch_quarantines_only_its_aggregate() {
    let pool = store::testing::migrated_pool("core_batch_poison").await;
    let mut log = Log::new(&pool);
    for xp in 0..6 {
        log.identity(A, "Ann", xp).await;
        log.rating(A, 3, 1000 + xp, 1000 + xp, xp).await;
    }
    // Decodes, but PostgreSQL text cannot hold NUL: the set-based insert fails, and the
    // one-by-one replay names this event.
    log.identity(B, "Bad\u{0}Name", 1).await;
    let poison: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    for xp in 0..6 {
        log.rating(A, 3, 2000 + xp, 2000 + xp, xp).await;
        log.rating(B, 3, 2000 + xp, 2000 + xp, xp).await;
    }
    read_log(&pool).await;
    catch_up(&pool, &Core, 1_000).await.unwrap();
    let quarantined = crate::quarantine::list(&pool).await.unwrap();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_eq!(quarantined[0].position, poison);
    assert_eq!(quarantined[0].aggregate_id, B.to_string());
    assert_eq!(quarantined[0].held_back, 6);
    assert!(quarantined[0].error.contains("ProfileObserved"));
    let build = &builds(&pool).await.unwrap()[0];
    assert_eq!(build.events, 18, "every event of A is applied, none of B");
    let rating: i64 =
        sqlx::query_scalar("SELECT current_rating FROM live.player_ratings WHERE profile_id = $1")
            .bind(A)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(rating, 2005);
}
