//! The server and its data.

use super::*;

pub(super) struct Env {
    pub(super) base: String,
    pub(super) client: reqwest::Client,
    pub(super) pool: PgPool,
    pub(super) owner: String,
    pub(super) other: String,
    pub(super) garbage: Vec<String>,
    /// `hera`'s roster rows and its team.
    pub(super) seeded: Vec<i64>,
    pub(super) _stop: tokio::sync::watch::Sender<bool>,
}

impl Env {
    pub(super) async fn start() -> Env {
        let pool = store::testing::migrated_pool("fuzz").await;
        let key = auth::DevKey::generate();
        let config = auth::VerifierConfig::new(jwks_server(key.jwks()).await);
        let stop = seed::run_core(&pool);
        let stopped = stop.subscribe();
        let seeded = seed(&pool).await;

        let hub = sse::Hub::new(sse::HubConfig::default());
        tokio::spawn(sse::run_feed(pool.clone(), hub.clone(), stopped));
        let cache = Arc::new(api::ResponseCache::default());
        // `with_cache` has the rate limiter off: 429 would drown everything else.
        let state = api::AppState::with_cache(pool.clone(), cache.clone())
            .with_auth(auth::Verifier::new(config));
        let hub_cache = cache.clone();
        hub.observe(move |nudge| hub_cache.invalidate(nudge.tournament_ids.as_deref()));
        let app = api::router(state).merge(sse::router(sse::StreamState::new(hub, pool.clone())));
        let base = testkit::serve(app).await;

        let now = Utc::now().timestamp();
        let claims = |sub: &str, exp: i64| json!({"sub": sub, "aud": auth::AUDIENCE, "exp": exp, "iat": now});
        let stranger = auth::DevKey::generate();
        let garbage = vec![
            "garbage".to_string(),
            "a.b.c".to_string(),
            String::new(),
            // alg none
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxMTExMTExMS0xMTExLTExMTEtMTExMS0xMTExMTExMTExMTEifQ.".to_string(),
            key.sign_claims(&claims(OWNER, now - 3600), Some(key.kid())),
            key.sign_claims(&claims("", now + 600), Some(key.kid())),
            stranger.sign_claims(&claims(OWNER, now + 600), Some(key.kid())),
            stranger.sign_claims(&claims(OWNER, now + 600), Some("unknown-kid")),
            "x".repeat(6000),
        ];
        Env {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            pool,
            owner: key.mint(OWNER, Duration::from_secs(3600), None),
            other: key.mint(OTHER, Duration::from_secs(3600), None),
            garbage,
            seeded,
            _stop: stop,
        }
    }

    pub(super) async fn events(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// The catalog, the creator allowlist, and two tournaments of `OWNER`: `hera` (a roster with
/// linked, unlinked and never-polled rows, a team with a captain, polled profiles, a finished
/// match, an open lobby: every read has rows) and `spare` (for deletes). Ids come from the
/// sequences, as the API takes them. Returns the ids of `hera`'s roster rows and team.
pub(super) async fn seed(pool: &PgPool) -> Vec<i64> {
    use store::ids::{next_id, IdKind};
    let id = |kind| async move { next_id(pool, kind).await.unwrap() };
    let store = EventStore::new(pool.clone());
    let bohemians = seed::civilization(4, "Bohemians");
    seed::catalog(
        &store,
        vec![seed::solo_rm(), seed::unranked()],
        vec![bohemians],
        at(0),
    )
    .await;
    seed::grant_creators(&store, &[OWNER], "fuzz", at(0)).await;
    for slug in ["hera", "spare"] {
        let tournament_id = id(IdKind::Tournament).await;
        let config = seed::cup(&format!("{slug} cup"), Some(at(1)));
        seed::tournament(&store, tournament_id, slug, config, at(1)).await;
    }
    let mut actions = vec![];
    let mut seeded = vec![];
    for (name, profile) in [
        ("Hera", Some(HERA)),
        ("ACCM", Some(ACCM)),
        ("Placeholder", None),
        ("Never Polled", Some(5555)),
    ] {
        let tournament_player_id = id(IdKind::TournamentPlayer).await;
        seeded.push(tournament_player_id);
        actions.push(TournamentAction::AddPlayerToRoster {
            tournament_player_id,
            name: name.into(),
            profile_id: profile,
            presentation: json!({"twitch": "https://twitch.tv/hera"}),
        });
    }
    let team_id = id(IdKind::Team).await;
    actions.push(TournamentAction::CreateTeam {
        team_id,
        name: "Vikings".into(),
        initials: "VK".into(),
    });
    for &member in &seeded[..2] {
        actions.push(TournamentAction::AddTeamMember {
            team_id,
            tournament_player_id: member,
        });
    }
    actions.push(TournamentAction::SetTeamCaptain {
        team_id,
        tournament_player_id: seeded[0],
    });
    seeded.push(team_id);
    seed::manage_all(&store, "hera", actions).await;
    seed::played(&store).await;
    caught_up(pool, Duration::from_secs(10)).await.unwrap();
    seeded
}

/// Waits (up to `within`) until the live `core` build has applied every stored event; an
/// error when a build is parked or quarantined an event, or the projector is stuck (it retries an event it cannot read
/// without parking).
pub(super) async fn caught_up(pool: &PgPool, within: Duration) -> Result<(), String> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let builds = projections::runner::builds(pool).await.unwrap();
        if let Some(parked) = builds.iter().find(|b| b.parked_at.is_some()) {
            return Err(format!(
                "projector {} parked: {:?}",
                parked.name, parked.last_error
            ));
        }
        let quarantined = projections::quarantine::list(pool).await.unwrap();
        if !quarantined.is_empty() {
            return Err(format!("poison events quarantined: {quarantined:?}"));
        }
        let applied = builds
            .iter()
            .filter(|b| b.is_live())
            .map(|b| b.events)
            .max();
        if applied == Some(total) {
            return Ok(());
        }
        if started.elapsed() > within {
            return Err(format!(
                "projector stuck: {applied:?} of {total} events applied after {within:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
