//! Standings as of a past instant on a large log: a 32-player tournament on ladder 3 whose
//! players each have a month of history (ratings on ladder 3 and ladder 4, identity changes,
//! about one profile event a minute and a half), plus the ladder's hourly rank events every
//! 30 s: 1M events by default, loaded with `COPY` and back-dated over 30 days. Then requests
//! at random instants of that month: the served (indexed) answer over real HTTP, the same
//! from the response cache, and the full replay (the way before the index) for comparison,
//! each checked equal to the indexed answer.
//!
//! `cargo run -p bench --bin as_of -- --events 1000000 --requests 400 --replays 20`

use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use bench::tournament;
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use domain::ladder::{ladder_id, LadderEvent, LadderRank};
use domain::profile::{LadderStats, ProfileEvent, ProfileIdentity};
use domain::tournament::TournamentAction;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::EventStore;

#[derive(Parser)]
struct Args {
    /// Events in the log.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Indexed requests (over HTTP, each at a distinct instant: cache misses).
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Full replays (the way before), at random instants.
    #[arg(long, default_value_t = 20)]
    replays: usize,
}

const PLAYERS: i64 = 32;
const SLUG: &str = "bench";
const BOARD: i64 = 3;
const DAYS: i64 = 30;

fn profile(i: i64) -> i64 {
    1_000_000 + i
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = bench::rig::data_dir("bench-as-of-")?;
    let config = embedded_pg::ClusterConfig::throwaway(&dir);
    bench::rig::on_cluster(config, &dir, "bench", async |_, url| run(&url, &args).await).await
}

async fn run(url: &str, args: &Args) -> anyhow::Result<()> {
    let pool = bench::rig::migrated_pool(url, 8).await?;

    let end = Utc::now() - Duration::hours(1);
    let start = end - Duration::days(DAYS);
    create_tournament(&EventStore::new(pool.clone())).await?;
    // Back-date the tournament to before the month; project it (the history is not
    // projected: as-of reads the log, and the projector is not what is measured).
    sqlx::query("UPDATE events SET recorded_at = $1 WHERE aggregate_type = 'Tournament'")
        .bind(start - Duration::hours(1))
        .execute(&pool)
        .await?;
    projections::runner::catch_up(&pool, &projections::core::Core, 5_000)
        .await
        .map_err(|e| anyhow!("{e}"))?;

    let began = Instant::now();
    let loaded = load_history(&pool, args.events, start, end).await?;
    sqlx::query("ANALYZE events").execute(&pool).await?;
    eprintln!(
        "loaded {loaded} events in {:.1} s",
        began.elapsed().as_secs_f64()
    );

    let cache = Arc::new(api::ResponseCache::default());
    let app = api::router(api::AppState::with_cache(pool.clone(), cache));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();

    let mut rng = StdRng::seed_from_u64(11);
    let mut instant = || start + Duration::milliseconds(rng.gen_range(0..DAYS * 86_400_000));
    let url = |at: DateTime<Utc>| {
        format!(
            "{base}/v1/tournaments/{SLUG}/standings/as-of?as_of={}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
    };
    let get = |at: DateTime<Utc>| {
        let request = client.get(url(at));
        async move {
            let began = Instant::now();
            let response = request.send().await.context("get")?;
            anyhow::ensure!(response.status() == 200, "status {}", response.status());
            let body: serde_json::Value = response.json().await?;
            Ok::<_, anyhow::Error>((began.elapsed().as_secs_f64() * 1e3, body))
        }
    };

    let mut misses = Vec::new();
    let mut asked = Vec::new();
    for _ in 0..args.requests {
        let at = instant();
        let (ms, body) = get(at).await?;
        // (Players not yet polled by then are left out of the table.)
        anyhow::ensure!(
            body["items"]
                .as_array()
                .is_some_and(|rows| !rows.is_empty()),
            "an empty table at {at}"
        );
        misses.push(ms);
        asked.push(at);
    }
    let mut hits = Vec::new();
    for at in asked.iter().take(args.requests.min(200)) {
        hits.push(get(*at).await?.0);
    }
    let mut replays = Vec::new();
    let mut indexed = Vec::new();
    for _ in 0..args.replays {
        let at = instant();
        let began = Instant::now();
        let by_index = api::as_of_standings_json(&pool, SLUG, at, true)
            .await
            .map_err(|e| anyhow!(e))?;
        indexed.push(began.elapsed().as_secs_f64() * 1e3);
        let began = Instant::now();
        let by_replay = api::as_of_standings_json(&pool, SLUG, at, false)
            .await
            .map_err(|e| anyhow!(e))?;
        replays.push(began.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(by_index == by_replay, "indexed != replay at {at}");
    }
    println!("log: {loaded} events over {DAYS} days, {PLAYERS} rostered players");
    report("indexed, HTTP, cache miss", &mut misses);
    report("indexed, HTTP, cache hit", &mut hits);
    report("indexed, in process", &mut indexed);
    report("full replay (before), in process", &mut replays);
    println!("indexed == replay at {} instants", args.replays);
    pool.close().await;
    Ok(())
}

fn report(what: &str, ms: &mut [f64]) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    if ms.is_empty() {
        return;
    }
    println!(
        "{what}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        ms.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

async fn create_tournament(store: &EventStore) -> anyhow::Result<()> {
    let config = tournament::config("As-of Bench".into());
    tournament::create(store, 1, SLUG, config, Utc::now()).await?;
    let roster = (0..PLAYERS).map(|i| TournamentAction::AddPlayerToRoster {
        tournament_player_id: 10 + i,
        name: format!("Player {i:02}"),
        profile_id: Some(profile(i)),
        presentation: serde_json::json!({}),
    });
    tournament::manage_all(store, SLUG, roster).await
}

fn stats(board: i64, rating: i64, games: i64, rank: i64) -> LadderStats {
    LadderStats {
        leaderboard_id: board,
        rating,
        highest_rating: rating + 50,
        wins: games / 2,
        losses: games - games / 2,
        streak: 1,
        drops: 0,
        rank: Some(rank),
        rank_total: Some(40_000),
        region_rank: None,
        region_rank_total: None,
        last_match_at: None,
    }
}

/// `events` events spread evenly over `[start, end)`: every 30 s one ladder rank event (all
/// ranks in an hour's first, a few changed ones otherwise); the rest profile events of the
/// roster, round robin (mostly ratings on either ladder, an identity change in 50).
async fn load_history(
    pool: &sqlx::PgPool,
    events: usize,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(7);
    let cycles = (end - start).num_seconds() / 30;
    let per_cycle = (events as i64 / cycles.max(1)).max(2);
    let step = Duration::milliseconds((end - start).num_milliseconds() / events.max(1) as i64);
    let mut sequences: std::collections::HashMap<String, i64> = Default::default();
    let mut games = vec![0_i64; PLAYERS as usize];
    let mut chunk = Vec::with_capacity(50_000);
    let mut written = 0;
    let mut at = start;
    let mut n = 0_usize;
    let mut cursor = 0_i64;
    while written + chunk.len() < events {
        let (aggregate_type, aggregate_id, event_type, payload) = if n as i64 % per_cycle == 0 {
            let id = ladder_id(BOARD, at);
            let first = !sequences.contains_key(&id);
            let mut ranks = Vec::new();
            for i in 0..PLAYERS {
                if first || rng.gen_bool(0.1) {
                    ranks.push(LadderRank {
                        profile_id: profile(i),
                        rank: Some(rng.gen_range(1..5_000)),
                        rank_total: Some(40_000),
                        region_rank: None,
                        region_rank_total: None,
                    });
                }
            }
            let event = LadderEvent::LadderRanksObserved {
                leaderboard_id: BOARD,
                ranks,
                observed_at: at,
            };
            (
                "Ladder",
                id,
                "LadderRanksObserved",
                serde_json::to_string(&event)?,
            )
        } else {
            let i = cursor % PLAYERS;
            cursor += 1;
            let profile_id = profile(i);
            let event = if rng.gen_ratio(1, 50) {
                ProfileEvent::ProfileObserved {
                    profile_id,
                    identity: ProfileIdentity {
                        alias: format!("P{i}-{}", rng.gen_range(0..1000)),
                        country: Some("ca".into()),
                        steam_id: None,
                        level: 1,
                        xp: 0,
                        region_id: 3,
                        clan_name: None,
                    },
                    observed_at: at,
                }
            } else {
                games[i as usize] += 1;
                let board = if rng.gen_bool(0.5) { BOARD } else { 4 };
                let stats = stats(
                    board,
                    rng.gen_range(1_500..2_500),
                    games[i as usize],
                    rng.gen_range(1..5_000),
                );
                ProfileEvent::RatingObserved {
                    profile_id,
                    stats,
                    observed_at: at,
                }
            };
            let event_type = match &event {
                ProfileEvent::ProfileObserved { .. } => "ProfileObserved",
                _ => "RatingObserved",
            };
            (
                "Profile",
                profile_id.to_string(),
                event_type,
                serde_json::to_string(&event)?,
            )
        };
        let sequence = {
            let s = sequences.entry(aggregate_id.clone()).or_insert(0);
            *s += 1;
            *s
        };
        chunk.push(bench::synth::Event {
            aggregate_type,
            aggregate_id,
            sequence,
            event_type: event_type.into(),
            payload,
            metadata: r#"{"actor":"poller"}"#,
            recorded_at: at,
        });
        n += 1;
        at += step;
        if chunk.len() == 50_000 {
            let mut db = pool.acquire().await?;
            written += bench::synth::load(&mut db, &chunk).await? as usize;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        let mut db = pool.acquire().await?;
        written += bench::synth::load(&mut db, &chunk).await? as usize;
    }
    Ok(written)
}
