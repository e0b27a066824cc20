//! A tournament of simulator players in a fresh database, for the pipeline benchmarks
//! (`poll_to_sse`, `viewer_traffic`).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::tournament::{
    CreateTournament, CreatorFacts, LeaderboardFacts, RankBy, Tournament, TournamentAction,
    TournamentCommand, TournamentConfig,
};
use domain::EventMetadata;
use sqlx::PgPool;
use store::ids::{next_id, IdKind};
use store::EventStore;

/// The operator every bench tournament is created and managed by.
pub fn operator() -> Actor {
    Actor::Operator("bench".into())
}

/// A tournament named `name` on leaderboard 3: no dates, prize, streams or presentation.
pub fn config(name: String) -> TournamentConfig {
    TournamentConfig {
        name,
        leaderboard_id: 3,
        rank_by: RankBy::PeakRating,
        start_date: None,
        end_date: None,
        prize_pool_cents: None,
        host_stream_urls: vec![],
        presentation: serde_json::json!({}),
    }
}

/// Creates tournament `slug` (id `tournament_id`) as the [`operator`] at `at`.
pub async fn create(
    store: &EventStore,
    tournament_id: i64,
    slug: &str,
    config: TournamentConfig,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let create = TournamentCommand::Create {
        actor: operator(),
        create: Box::new(CreateTournament {
            tournament_id,
            slug: slug.into(),
            config,
            owner: None,
            creator: CreatorFacts::default(),
            leaderboard: Some(LeaderboardFacts {
                name: "SOLO_RM_RANKED".into(),
                is_ranked: true,
            }),
            at,
        }),
    };
    store
        .execute::<Tournament>(slug, create, &EventMetadata::new(operator()))
        .await
        .map_err(|e| anyhow!("create tournament: {e}"))
}

/// Applies `actions` to tournament `slug` one by one, as the [`operator`].
pub async fn manage_all(
    store: &EventStore,
    slug: &str,
    actions: impl IntoIterator<Item = TournamentAction>,
) -> anyhow::Result<()> {
    let meta = EventMetadata::new(operator());
    for action in actions {
        let manage = TournamentCommand::Manage {
            actor: operator(),
            action,
        };
        store
            .execute::<Tournament>(slug, manage, &meta)
            .await
            .map_err(|e| anyhow!("manage tournament: {e}"))?;
    }
    Ok(())
}

/// A tournament `slug` on leaderboard 3 with `roster` (simulator profiles) as players.
pub async fn seed(
    pool: &PgPool,
    sim: &sim::SimHandle,
    slug: &str,
    roster: &[i64],
) -> anyhow::Result<()> {
    let store = EventStore::new(pool.clone());
    let tournament_id = next_id(pool, IdKind::Tournament).await?;
    create(
        &store,
        tournament_id,
        slug,
        config(format!("{slug} cup")),
        Utc::now(),
    )
    .await?;
    let mut players = Vec::with_capacity(roster.len());
    for &profile_id in roster {
        // Simulated aliases repeat; roster names may not.
        let alias = sim.player(profile_id).map(|p| p.alias).unwrap_or_default();
        players.push(TournamentAction::AddPlayerToRoster {
            tournament_player_id: next_id(pool, IdKind::TournamentPlayer).await?,
            name: format!("{} {profile_id}", alias.trim()),
            profile_id: Some(profile_id),
            presentation: serde_json::json!({}),
        });
    }
    manage_all(&store, slug, players).await
}

/// Until the projector (running in the background) has the roster in `live.*`.
pub async fn wait_tracked(pool: &PgPool, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tracked = poller::tracked::tracked_profiles(pool)
            .await
            .unwrap_or_default();
        if tracked.len() == n {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("tracked set stuck at {} of {n}", tracked.len());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
