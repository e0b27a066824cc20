//! Serves the bench tournament of the design (32 rostered players on ladder 3, about 40 finished
//! games each inside the window, 8 teams of 4, 3 live lobbies) with the real API and its
//! response cache, on a throwaway PostgreSQL, for HTTP load tools (`wrk`) on loopback.
//!
//! `cargo run --release -p bench --bin standings_server -- --bind 127.0.0.1:8090`
//!
//! `--cold` invalidates the tournament's cached responses before every request (as a nudge
//! does), so every request computes its answer: the first request after a change.
//! `--new-game` (with `--measure`) records and projects one new game before every request, so
//! each cold fill also catches up a change, as after a real nudge.
//! `--measure N` does not serve: it sends N sequential requests (after a warm-up) to each
//! per-tournament read over real HTTP and prints p50 / p99 latency and the CPU per request of
//! this process (server and the one client) and of PostgreSQL, then exits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use bench::tournament;
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use domain::event::Actor;
use domain::lobby::{Lobby, LobbyCommand, LobbySnapshot, LobbyState};
use domain::matches::{FinishedMatch, Match, MatchCommand, MatchPlayer, Outcome};
use domain::profile::{LadderStats, ObserveStats, Profile, ProfileCommand, ProfileIdentity};
use domain::tournament::{TournamentAction, TournamentConfig};
use domain::EventMetadata;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use store::EventStore;

#[derive(Parser)]
struct Args {
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: SocketAddr,
    /// Games per player inside the window.
    #[arg(long, default_value_t = 40)]
    games: usize,
    /// Invalidate the tournament before every request (every request is a cache miss).
    #[arg(long)]
    cold: bool,
    /// Measure N sequential requests per endpoint, print the figures and exit.
    #[arg(long)]
    measure: Option<usize>,
    /// With `--measure`: before every request, record one new game between two rostered
    /// players and project it, as before a real nudge. The CPU of recording and projecting is
    /// measured in a run of its own without requests and subtracted. Each endpoint gets a
    /// fresh bench tournament (the games accumulate: 640 in-window games grow by 2N + 20).
    #[arg(long, requires = "measure")]
    new_game: bool,
}

/// The per-tournament reads a nudge makes viewers refetch.
const ENDPOINTS: [&str; 5] = [
    "standings",
    "teams/standings",
    "matches",
    "summary",
    "standings/history",
];

const PLAYERS: i64 = 32;
const SLUG: &str = "bench";

fn err<E: std::error::Error>(e: store::CommandError<E>) -> anyhow::Error {
    anyhow!("{e}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // New games accumulate: each endpoint gets a fresh bench tournament of its own.
    let runs: Vec<&[&str]> = if args.new_game {
        ENDPOINTS.chunks(1).collect()
    } else {
        vec![&ENDPOINTS]
    };
    if args.measure.is_some() {
        println!("| endpoint | requests | p50 | p99 | CPU/request: process | PostgreSQL |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    }
    for endpoints in runs {
        let dir = bench::rig::data_dir("bench-standings-")?;
        let config = embedded_pg::ClusterConfig::throwaway(dir.join("pg"));
        bench::rig::on_cluster(config, &dir, "bench", async |cluster, url| {
            serve(cluster, &url, &args, endpoints).await
        })
        .await?;
    }
    Ok(())
}

async fn serve(
    cluster: &embedded_pg::Cluster,
    url: &str,
    args: &Args,
    endpoints: &[&str],
) -> anyhow::Result<()> {
    let pool = bench::rig::migrated_pool(url, 8).await?;
    seed(&EventStore::new(pool.clone()), args.games).await?;
    let applied = projections::runner::catch_up(&pool, &projections::core::Core, 5_000)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    eprintln!("bench tournament ready ({applied} events)");

    let cache = Arc::new(api::ResponseCache::default());
    let mut app = api::router(api::AppState::with_cache(pool.clone(), cache.clone()));
    if args.cold || args.new_game {
        let (id,): (i64,) = sqlx::query_as("SELECT id FROM live.tournaments WHERE slug = $1")
            .bind(SLUG)
            .fetch_one(&pool)
            .await?;
        // What the nudge feed does when a projector commit touches the tournament.
        app = app.layer(axum::middleware::from_fn(
            move |request, next: axum::middleware::Next| {
                let cache = cache.clone();
                async move {
                    cache.invalidate(Some(&[id]));
                    next.run(request).await
                }
            },
        ));
    }
    // Measuring serves on a free port: each run of `--new-game` has a server of its own.
    let bind = match args.measure {
        Some(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
        None => args.bind,
    };
    let listener = tokio::net::TcpListener::bind(bind).await.context("bind")?;
    let base = format!("http://{}/v1/tournaments/{SLUG}", listener.local_addr()?);
    match args.measure {
        Some(requests) => {
            let server = tokio::spawn(async move { axum::serve(listener, app).await });
            let games = args.new_game.then(|| NewGames {
                store: EventStore::new(pool.clone()),
                pool: pool.clone(),
                next: std::sync::atomic::AtomicI64::new(0),
                first: args.games * PLAYERS as usize / 2,
            });
            let measured = measure(&base, endpoints, requests, cluster.pid(), games.as_ref()).await;
            server.abort();
            measured?;
        }
        None => {
            println!("{base}/standings");
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
    }
    pool.close().await;
    Ok(())
}

/// Sequential requests (one connection, brotli accepted, as a browser sends) to each endpoint:
/// latency percentiles and CPU per request.
async fn measure(
    base: &str,
    endpoints: &[&str],
    requests: usize,
    postmaster: u32,
    games: Option<&NewGames>,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for endpoint in endpoints {
        let url = format!("{base}/{endpoint}");
        let get = || async {
            let response = client
                .get(&url)
                .header("accept-encoding", "br")
                .send()
                .await?
                .error_for_status()?;
            response.bytes().await
        };
        let cpu = || {
            (
                bench::procstat::own_cpu(),
                bench::procstat::server_cpu(postmaster),
            )
        };
        for _ in 0..requests.min(20) {
            if let Some(games) = games {
                games.add().await?;
            }
            get().await?;
        }
        // The cost of the new games alone, counted negative: subtracted from the run below.
        let (mut process, mut server) = (0.0, 0.0);
        if let Some(games) = games {
            let before = cpu();
            for _ in 0..requests {
                games.add().await?;
            }
            let after = cpu();
            (process, server) = (before.0 - after.0, before.1 - after.1);
        }
        let mut times = Vec::with_capacity(requests);
        let before = cpu();
        for _ in 0..requests {
            if let Some(games) = games {
                games.add().await?;
            }
            let at = Instant::now();
            get().await?;
            times.push(at.elapsed());
        }
        let after = cpu();
        process += after.0 - before.0;
        server += after.1 - before.1;
        times.sort();
        let at = |q: f64| {
            let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
            times[i].as_secs_f64() * 1e3
        };
        let per = |cpu: f64| cpu * 1e3 / requests.max(1) as f64;
        println!(
            "| `{endpoint}` | {requests} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            at(0.5),
            at(0.99),
            per(process),
            per(server)
        );
    }
    Ok(())
}

/// `--new-game`: one more game between two rostered players, recorded and projected.
struct NewGames {
    store: EventStore,
    pool: sqlx::PgPool,
    next: std::sync::atomic::AtomicI64,
    /// How many games the seed recorded (new match ids follow theirs).
    first: usize,
}

impl NewGames {
    async fn add(&self) -> anyhow::Result<()> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let g = self.first as i64 + n;
        let (a, b) = (n % PLAYERS, (n * 7 + 3) % PLAYERS);
        let b = if a == b { (b + 1) % PLAYERS } else { b };
        let started = bench_start() + Duration::minutes(30 * g);
        let player = |i: i64, team, won: bool| MatchPlayer {
            profile_id: 1_000_000 + i,
            alias: Some(format!("player{i:02}")),
            civilization_id: (g + i) % 45,
            team_id: team,
            outcome: Some(if won { Outcome::Win } else { Outcome::Loss }),
            old_rating: Some(2000),
            new_rating: Some(if won { 2010 } else { 1990 }),
            xp_gained: 1,
        };
        let match_id = 480_000_000 + g;
        self.store
            .execute::<Match>(
                &match_id.to_string(),
                MatchCommand::RecordFinishedMatch(FinishedMatch {
                    match_id,
                    map_name: "Arabia".into(),
                    matchtype_id: 6,
                    leaderboard_id: Some(3),
                    started_at: started,
                    completed_at: Some(started + Duration::minutes(25)),
                    description: Some("AUTOMATCH".into()),
                    players: vec![player(a, 0, n % 2 == 0), player(b, 1, n % 2 == 1)],
                }),
                &EventMetadata::new(Actor::Poller),
            )
            .await
            .map_err(err)?;
        projections::runner::catch_up(&self.pool, &projections::core::Core, 500)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        Ok(())
    }
}

fn bench_start() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_779_000_000, 0).unwrap_or_default()
}

async fn seed(store: &EventStore, games_each: usize) -> anyhow::Result<()> {
    let poller = EventMetadata::new(Actor::Poller);
    let start = bench_start();
    let config = TournamentConfig {
        start_date: Some(start),
        prize_pool_cents: Some(1_000_000),
        ..tournament::config("Bench Invitational".into())
    };
    tournament::create(store, 1, SLUG, config, start).await?;
    let teams = (0..8).map(|team| TournamentAction::CreateTeam {
        team_id: 100 + team,
        name: format!("Team {team}"),
        initials: format!("T{team}"),
    });
    tournament::manage_all(store, SLUG, teams).await?;
    let profile = |i: i64| 1_000_000 + i;
    let players = (0..PLAYERS).flat_map(|i| {
        [
            TournamentAction::AddPlayerToRoster {
                tournament_player_id: 10 + i,
                name: format!("Player {i:02}"),
                profile_id: Some(profile(i)),
                presentation: json!({"displayName": format!("Bench Player {i:02}"), "flag": "ca"}),
            },
            TournamentAction::AddTeamMember {
                team_id: 100 + i / 4,
                tournament_player_id: 10 + i,
            },
        ]
    });
    tournament::manage_all(store, SLUG, players).await?;
    // Games between rostered players: Elo-ish ratings, random civs and maps.
    let mut rng = StdRng::seed_from_u64(7);
    let mut rating: Vec<i64> = (0..PLAYERS).map(|_| rng.gen_range(1800..2600)).collect();
    let mut peak = rating.clone();
    let mut record = vec![(0i64, 0i64); PLAYERS as usize];
    let maps = [
        "Arabia",
        "Arena",
        "Black Forest",
        "Mediterranean",
        "Four Lakes",
    ];
    let total = games_each * PLAYERS as usize / 2;
    for g in 0..total {
        let a = rng.gen_range(0..PLAYERS) as usize;
        let mut b = rng.gen_range(0..PLAYERS) as usize;
        if a == b {
            b = (b + 1) % PLAYERS as usize;
        }
        let a_wins = rng.gen_bool(0.5);
        let delta = rng.gen_range(5..20);
        let started = start + Duration::minutes(30 * g as i64);
        let (old_a, old_b) = (rating[a], rating[b]);
        let (new_a, new_b) = if a_wins {
            (old_a + delta, old_b - delta)
        } else {
            (old_a - delta, old_b + delta)
        };
        rating[a] = new_a;
        rating[b] = new_b;
        peak[a] = peak[a].max(new_a);
        peak[b] = peak[b].max(new_b);
        let (wa, wb) = if a_wins { (1, 0) } else { (0, 1) };
        record[a] = (record[a].0 + wa, record[a].1 + 1 - wa);
        record[b] = (record[b].0 + wb, record[b].1 + 1 - wb);
        let player = |i: usize, team, won: bool, old, new, civ| MatchPlayer {
            profile_id: profile(i as i64),
            alias: Some(format!("player{i:02}")),
            civilization_id: civ,
            team_id: team,
            outcome: Some(if won { Outcome::Win } else { Outcome::Loss }),
            old_rating: Some(old),
            new_rating: Some(new),
            xp_gained: 1,
        };
        let match_id = 480_000_000 + g as i64;
        store
            .execute::<Match>(
                &match_id.to_string(),
                MatchCommand::RecordFinishedMatch(FinishedMatch {
                    match_id,
                    map_name: maps[g % maps.len()].into(),
                    matchtype_id: 6,
                    leaderboard_id: Some(3),
                    started_at: started,
                    completed_at: Some(started + Duration::minutes(25)),
                    description: Some("AUTOMATCH".into()),
                    players: vec![
                        player(a, 0, a_wins, old_a, new_a, rng.gen_range(0..45)),
                        player(b, 1, !a_wins, old_b, new_b, rng.gen_range(0..45)),
                    ],
                }),
                &poller,
            )
            .await
            .map_err(err)?;
    }
    let observed_at = start + Duration::minutes(30 * total as i64);
    for i in 0..PLAYERS as usize {
        store
            .execute::<Profile>(
                &profile(i as i64).to_string(),
                ProfileCommand::ObserveStats(ObserveStats {
                    profile_id: profile(i as i64),
                    identity: Some(ProfileIdentity {
                        alias: format!("player{i:02}"),
                        country: Some("ca".into()),
                        steam_id: None,
                        level: 10,
                        xp: 1000,
                        region_id: 0,
                        clan_name: None,
                    }),
                    ladders: vec![LadderStats {
                        leaderboard_id: 3,
                        rating: rating[i],
                        highest_rating: peak[i],
                        wins: 1000 + record[i].0,
                        losses: 900 + record[i].1,
                        streak: 1,
                        drops: 0,
                        rank: Some(i as i64 + 1),
                        rank_total: Some(50_000),
                        region_rank: None,
                        region_rank_total: None,
                        last_match_at: Some(observed_at),
                    }],
                    observed_at,
                }),
                &poller,
            )
            .await
            .map_err(err)?;
    }
    for l in 0..3 {
        store
            .execute::<Lobby>(
                &(490_000_000 + l).to_string(),
                LobbyCommand::Observe {
                    snapshot: LobbySnapshot {
                        lobby_id: 490_000_000 + l,
                        map_name: "Arena".into(),
                        description: Some(format!("Showmatch {l}")),
                        matchtype_id: 0,
                        state: LobbyState::Staging,
                        members: vec![profile(2 * l), profile(2 * l + 1)],
                    },
                    observed_at,
                },
                &poller,
            )
            .await
            .map_err(err)?;
    }
    Ok(())
}
