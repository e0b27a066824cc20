//! What an append costs, with the read-back check of `repository.rs` (issue 11).
//!
//! `cargo bench -p store --bench append` (harness = false). A fresh database on the embedded
//! PostgreSQL cluster; `BENCH_APPENDS` (default 2,000) operator `TournamentCreated` commands,
//! each on its own aggregate (so loads replay nothing) and each carrying a ~1 KiB
//! `presentation`, appended one after another through `EventStore::execute`. Prints the mean
//! and percentiles of one command (load + decide + insert + check + commit).

use std::time::{Duration, Instant};

use chrono::Utc;
use domain::event::Actor;
use domain::tournament::{
    CreateTournament, RankBy, Tournament, TournamentCommand, TournamentConfig,
};
use domain::EventMetadata;
use serde_json::json;
use store::EventStore;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let appends: usize = std::env::var("BENCH_APPENDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let pool = store::testing::migrated_pool("bench_append").await;
    let store = EventStore::new(pool);
    let meta = EventMetadata::new(Actor::Operator("bench".into()));
    let command = |n: usize| TournamentCommand::Create {
        actor: Actor::Operator("bench".into()),
        create: Box::new(CreateTournament {
            tournament_id: n as i64 + 1,
            slug: format!("cup-{n}"),
            config: TournamentConfig {
                name: format!("Cup {n}"),
                leaderboard_id: 3,
                rank_by: RankBy::PeakRating,
                start_date: None,
                end_date: None,
                prize_pool_cents: Some(50_000),
                host_stream_urls: vec!["https://twitch.tv/host".into()],
                presentation: json!({
                    "bio": "x".repeat(800),
                    "accent": "gold",
                    "sponsors": [{"name": "A", "weight": 1.5}, {"name": "B", "weight": 2.25e10}],
                    "n": n,
                }),
            },
            owner: None,
            creator: Default::default(),
            leaderboard: Some(domain::tournament::LeaderboardFacts {
                name: "SOLO_RM_RANKED".into(),
                is_ranked: true,
            }),
            at: Utc::now(),
        }),
    };
    // Warm the pool and the plan cache.
    for n in 0..50 {
        store
            .execute::<Tournament>(&format!("cup-{n}"), command(n), &meta)
            .await
            .expect("append");
    }
    let mut took: Vec<Duration> = Vec::with_capacity(appends);
    let started = Instant::now();
    for n in 50..50 + appends {
        let one = Instant::now();
        store
            .execute::<Tournament>(&format!("cup-{n}"), command(n), &meta)
            .await
            .expect("append");
        took.push(one.elapsed());
    }
    let total = started.elapsed();
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize];
    println!(
        "append: {appends} commands in {total:.2?}: {:.0}/s; per command mean {:.2?}, p50 {:.2?}, p99 {:.2?}",
        appends as f64 / total.as_secs_f64(),
        total / appends as u32,
        at(0.5),
        at(0.99),
    );
}
