//! `standings demo`: everything on one laptop: the embedded PostgreSQL, the simulated upstream,
//! the worker and the API, with a demo tournament of 16 simulated players in 4 teams.

use anyhow::Context;
use chrono::Utc;
use domain::event::Actor;
use domain::operator::{Operator, OperatorCommand, OPERATOR_ID};
use domain::tournament::{
    CreateTournament, CreatorFacts, LeaderboardFacts, RankBy, Tournament, TournamentAction,
    TournamentCommand, TournamentConfig,
};
use domain::EventMetadata;
use serde_json::json;
use sqlx::PgPool;
use store::ids::{next_id, IdKind};
use store::EventStore;

pub const DEMO_SLUG: &str = "demo";
/// The demo's host: owns the demo tournament and may create more (`demo` prints a token).
pub const DEMO_HOST: &str = "d3e0d3e0-0000-4000-8000-000000000001";
const PLAYERS: usize = 16;
const TEAMS: [(&str, &str); 4] = [
    ("Britons", "BRI"),
    ("Franks", "FRA"),
    ("Mongols", "MON"),
    ("Byzantines", "BYZ"),
];

/// Twitch logins of the demo (served by the stream platforms fake).
const HOST_CHANNEL: &str = "demo_host";
const DEMO_STREAMER: &str = "demo_streamer_";

/// The fake Twitch of the demo: the host and the first player are live.
pub fn streams_live(fake: &sim::StreamsFake) {
    fake.twitch_live(HOST_CHANNEL, "Demo Cup: casting live", "Age of Empires II");
    fake.twitch_live(
        &format!("{DEMO_STREAMER}0"),
        "Laddering for the Demo Cup",
        "Age of Empires II",
    );
}

/// Stream detection against the fake, with its credentials and a short Twitch cadence.
pub fn streams_config(fake: std::net::SocketAddr) -> stream_live::StreamsConfig {
    let credentials = sim::StreamsFakeConfig::default();
    let base = format!("http://{fake}");
    stream_live::StreamsConfig {
        twitch: stream_live::TwitchConfig::from_credentials(
            Some(&credentials.twitch_client_id),
            Some(&credentials.twitch_client_secret),
            &base,
            &base,
        ),
        twitch_interval: std::time::Duration::from_secs(10),
        lock_retry: std::time::Duration::from_secs(2),
        lock_check: std::time::Duration::from_secs(2),
        ..stream_live::StreamsConfig::default()
    }
}

fn operator() -> Actor {
    Actor::Operator("demo".into())
}

/// Creates the demo tournament (once; a second run reuses it) from the simulator's players,
/// owned by [`DEMO_HOST`].
pub async fn seed(pool: &PgPool, sim: &sim::SimHandle) -> anyhow::Result<()> {
    let store = EventStore::new(pool.clone());
    let meta = EventMetadata::new(operator());
    let existing: Tournament = store
        .load(DEMO_SLUG)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if existing.tournament_id.is_none() {
        create_tournament(pool, &store, &meta, sim).await?;
    }
    // The host may create tournaments and owns the demo (both no-ops once done).
    store
        .execute::<Operator>(
            OPERATOR_ID,
            OperatorCommand::GrantCreator {
                user_id: DEMO_HOST.into(),
                at: Utc::now(),
            },
            &meta,
        )
        .await
        .map_err(|e| anyhow::anyhow!("grant the demo host: {e}"))?;
    let current: Tournament = store
        .load(DEMO_SLUG)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !current.owners.contains(DEMO_HOST) {
        let grant = TournamentCommand::Manage {
            actor: operator(),
            action: TournamentAction::GrantOwner {
                user_id: DEMO_HOST.into(),
                at: Utc::now(),
            },
        };
        store
            .execute::<Tournament>(DEMO_SLUG, grant, &meta)
            .await
            .map_err(|e| anyhow::anyhow!("make the demo host an owner: {e}"))?;
    }
    Ok(())
}

async fn create_tournament(
    pool: &PgPool,
    store: &EventStore,
    meta: &EventMetadata,
    sim: &sim::SimHandle,
) -> anyhow::Result<()> {
    let create = TournamentCommand::Create {
        actor: operator(),
        create: Box::new(CreateTournament {
            tournament_id: next_id(pool, IdKind::Tournament).await?,
            slug: DEMO_SLUG.into(),
            config: TournamentConfig {
                name: "Live Standings Demo Cup".into(),
                leaderboard_id: 3,
                rank_by: RankBy::PeakRating,
                start_date: None,
                end_date: None,
                prize_pool_cents: Some(100_000),
                host_stream_urls: vec![format!("https://twitch.tv/{HOST_CHANNEL}")],
                presentation: json!({"tagline": "simulated players, real pipeline"}),
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
        .execute::<Tournament>(DEMO_SLUG, create, meta)
        .await
        .map_err(|e| anyhow::anyhow!("create the demo tournament: {e}"))?;
    let manage = |action| TournamentCommand::Manage {
        actor: operator(),
        action,
    };
    let mut team_ids = vec![];
    for (name, initials) in TEAMS {
        let team_id = next_id(pool, IdKind::Team).await?;
        store
            .execute::<Tournament>(
                DEMO_SLUG,
                manage(TournamentAction::CreateTeam {
                    team_id,
                    name: name.into(),
                    initials: initials.into(),
                }),
                meta,
            )
            .await
            .map_err(|e| anyhow::anyhow!("create team {name}: {e}"))?;
        team_ids.push(team_id);
    }
    for (i, profile_id) in sim.roster(PLAYERS).into_iter().enumerate() {
        let alias = sim
            .player(profile_id)
            .map(|p| p.alias)
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| format!("Player {profile_id}"));
        let tournament_player_id = next_id(pool, IdKind::TournamentPlayer).await?;
        let team_id = team_ids[i % team_ids.len()];
        for action in [
            TournamentAction::AddPlayerToRoster {
                tournament_player_id,
                name: alias.clone(),
                profile_id: Some(profile_id),
                presentation: json!({
                    "streamUrls": [format!("https://twitch.tv/{DEMO_STREAMER}{i}")]
                }),
            },
            TournamentAction::AddTeamMember {
                team_id,
                tournament_player_id,
            },
        ] {
            store
                .execute::<Tournament>(DEMO_SLUG, manage(action), meta)
                .await
                .map_err(|e| anyhow::anyhow!("add {alias}: {e}"))
                .context("seed the demo roster")?;
        }
        if i < team_ids.len() {
            store
                .execute::<Tournament>(
                    DEMO_SLUG,
                    manage(TournamentAction::SetTeamCaptain {
                        team_id,
                        tournament_player_id,
                    }),
                    meta,
                )
                .await
                .map_err(|e| anyhow::anyhow!("captain {alias}: {e}"))?;
        }
    }
    Ok(())
}
