//! A tournament of simulator players in a fresh database, for the pipeline benchmarks
//! (`poll_to_sse`, `viewer_traffic`).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use chrono::Utc;
use domain::event::Actor;
use domain::tournament::{
    CreateTournament, CreatorFacts, LeaderboardFacts, RankBy, Tournament, TournamentAction,
    TournamentCommand, TournamentConfig,
};
use domain::EventMetadata;
use sqlx::PgPool;
use store::ids::{next_id, IdKind};
use store::EventStore;

/// A tournament `slug` on leaderboard 3 with `roster` (simulator profiles) as players.
pub async fn seed(
    pool: &PgPool,
    sim: &sim::SimHandle,
    slug: &str,
    roster: &[i64],
) -> anyhow::Result<()> {
    let store = EventStore::new(pool.clone());
    let actor = Actor::Operator("bench".into());
    let meta = EventMetadata::new(actor.clone());
    let create = TournamentCommand::Create {
        actor: actor.clone(),
        create: Box::new(CreateTournament {
            tournament_id: next_id(pool, IdKind::Tournament).await?,
            slug: slug.into(),
            config: TournamentConfig {
                name: format!("{slug} cup"),
                leaderboard_id: 3,
                rank_by: RankBy::PeakRating,
                start_date: None,
                end_date: None,
                prize_pool_cents: None,
                host_stream_urls: vec![],
                presentation: serde_json::json!({}),
            },
            owner: None,
            creator: CreatorFacts::default(),
            leaderboard: Some(LeaderboardFacts {
                name: "SOLO_RM_RANKED".into(),
                is_ranked: true,
            }),
            at: Utc::now(),
        }),
    };
    store
        .execute::<Tournament>(slug, create, &meta)
        .await
        .map_err(|e| anyhow!("create tournament: {e}"))?;
    for &profile_id in roster {
        // Simulated aliases repeat; roster names may not.
        let alias = sim.player(profile_id).map(|p| p.alias).unwrap_or_default();
        let name = format!("{} {profile_id}", alias.trim());
        let add = TournamentCommand::Manage {
            actor: actor.clone(),
            action: TournamentAction::AddPlayerToRoster {
                tournament_player_id: next_id(pool, IdKind::TournamentPlayer).await?,
                name,
                profile_id: Some(profile_id),
                presentation: serde_json::json!({}),
            },
        };
        store
            .execute::<Tournament>(slug, add, &meta)
            .await
            .map_err(|e| anyhow!("roster: {e}"))?;
    }
    Ok(())
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
