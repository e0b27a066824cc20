//! The game cache (`games.rs`) answers exactly what a full load answers. Two real servers share
//! one database: one with the response cache (and its game cache, caught up from the rows'
//! positions between fills), one that loads everything on every request. After each change
//! (projected by the real core projector, then a nudge's invalidation) every per-tournament
//! read that uses the games must be identical on both, and the cached server must have caught
//! up rather than reloaded wherever a position can place the change.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use domain::lobby::{Lobby, LobbyCommand, LobbySnapshot, LobbyState};
use domain::matches::{FinishedMatch, Match, MatchCommand, MatchPlayer, Outcome};
use domain::tournament::TournamentAction;
use serde_json::Value;
use sqlx::PgPool;
use store::EventStore;
use testkit::seed::{self, match_player};

const READS: [&str; 4] = [
    "standings",
    "teams/standings",
    "summary",
    "standings/history",
];
const A: i64 = 101;
const B: i64 = 202;
const C: i64 = 303;
/// Rostered late.
const D: i64 = 404;
/// Profiles never on the roster.
const X: i64 = 901;
const Y: i64 = 902;

struct Servers {
    pool: PgPool,
    store: EventStore,
    cache: Arc<api::ResponseCache>,
    cached: String,
    plain: String,
    http: reqwest::Client,
    next_match: i64,
    start: DateTime<Utc>,
}

async fn serve(state: api::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api::router(state)).await });
    base
}

fn player(id: i64, profile_id: i64) -> TournamentAction {
    TournamentAction::AddPlayerToRoster {
        tournament_player_id: id,
        name: format!("Player {id}"),
        profile_id: Some(profile_id),
        presentation: serde_json::json!({}),
    }
}

impl Servers {
    async fn get(&self, base: &str, read: &str) -> Value {
        let response = self
            .http
            .get(format!("{base}/v1/tournaments/cup/{read}"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{read}");
        response.json().await.expect("json")
    }

    /// Projects what was appended, invalidates the cup as its nudge would, and compares every
    /// read of both servers. Returns the cached server's standings.
    async fn check(&self, step: &str) -> Value {
        seed::project(&self.pool).await;
        let id: i64 = sqlx::query_scalar("SELECT id FROM live.tournaments WHERE slug = 'cup'")
            .fetch_one(&self.pool)
            .await
            .expect("tournament id");
        self.cache.invalidate(Some(&[id]));
        for read in READS {
            let cached = self.get(&self.cached, read).await;
            let plain = self.get(&self.plain, read).await;
            assert_eq!(cached, plain, "{step}: {read}");
        }
        self.get(&self.cached, "standings").await
    }

    /// A finished ranked match `minutes` after the window opened: `players` are
    /// `(profile, alias, team, outcome)`.
    async fn game(&mut self, minutes: i64, players: &[(i64, &str, i64, Outcome)]) -> i64 {
        self.next_match += 1;
        let match_id = self.next_match;
        let players: Vec<MatchPlayer> = players
            .iter()
            .map(|&(profile, alias, team, outcome)| {
                match_player(profile, Some(alias), 4 + team, team, outcome, 2000, 2010)
            })
            .collect();
        self.finish(FinishedMatch {
            match_id,
            map_name: "Arabia".into(),
            matchtype_id: 6,
            leaderboard_id: Some(3),
            started_at: self.start + Duration::minutes(minutes),
            completed_at: Some(self.start + Duration::minutes(minutes + 30)),
            description: Some("AUTOMATCH".into()),
            players,
        })
        .await;
        match_id
    }

    async fn finish(&self, m: FinishedMatch) {
        self.store
            .execute::<Match>(
                &m.match_id.to_string(),
                MatchCommand::RecordFinishedMatch(m),
                &testkit::poller(),
            )
            .await
            .expect("record the match");
    }

    fn row(standings: &Value, profile: i64) -> &Value {
        standings["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["profile_id"] == profile)
            .expect("row")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_games_answer_what_a_full_load_answers() {
    let pool = store::testing::migrated_pool("game_cache").await;
    let store = EventStore::new(pool.clone());
    let start = Utc::now() - Duration::days(2);
    seed::catalog(
        &store,
        vec![seed::solo_rm()],
        vec![
            seed::civilization(4, "Bohemians"),
            seed::civilization(5, "Huns"),
        ],
        start,
    )
    .await;
    seed::tournament(&store, 1, "cup", seed::plain("Cup", Some(start)), start).await;
    seed::manage_all(
        &store,
        "cup",
        [player(10, A), player(11, B), player(12, C)]
            .into_iter()
            .chain(seed::vikings()),
    )
    .await;
    for (profile, alias) in [(A, "Alpha"), (B, "Bravo"), (C, "Charlie"), (D, "Delta")] {
        seed::profile_now(&store, profile, alias, vec![seed::ladder(2000, 2050, 10)]).await;
    }
    let cache = Arc::new(api::ResponseCache::default());
    let cached = serve(api::AppState::with_cache(pool.clone(), cache.clone())).await;
    let plain = serve(api::AppState::new(pool.clone())).await;
    let mut s = Servers {
        pool,
        store,
        cache,
        cached,
        plain,
        http: reqwest::Client::new(),
        next_match: 5_000,
        start,
    };
    use Outcome::{Loss, Win};

    s.game(10, &[(A, "Alpha", 0, Win), (X, "Xeno", 1, Loss)])
        .await;
    s.check("first fill").await;
    let loads = s.cache.games.full_loads();
    assert!(loads >= 1, "the first fill loads in full");

    // A new game between two rostered players: caught up, not reloaded.
    s.game(60, &[(B, "Bravo", 0, Win), (C, "Charlie", 1, Loss)])
        .await;
    let standings = s.check("new game").await;
    assert_eq!(
        Servers::row(&standings, B)["recent_results"],
        serde_json::json!(["win"])
    );
    assert_eq!(s.cache.games.full_loads(), loads, "a new game is caught up");

    // X renames in a game without anyone on the roster: A's matchup names the new alias.
    s.game(70, &[(X, "Xeno II", 0, Win), (Y, "Yankee", 1, Loss)])
        .await;
    let standings = s.check("alias elsewhere").await;
    let matchup = &Servers::row(&standings, A)["tournament_record"]["recent_matchups"][0];
    assert_eq!(matchup["opponent_name"], "Xeno II");
    assert_eq!(s.cache.games.full_loads(), loads, "an alias is caught up");

    // A game before the window: in the recent results, not in the tournament record.
    s.game(-600, &[(C, "Charlie", 0, Win), (X, "Xeno II", 1, Loss)])
        .await;
    let standings = s.check("before the window").await;
    let c = Servers::row(&standings, C);
    assert_eq!(c["recent_results"], serde_json::json!(["loss", "win"]));
    assert_eq!(c["tournament_record"]["games_played"], 1);

    // Twelve more for A: the recent results keep the newest ten.
    for i in 0..12 {
        let outcome = if i % 3 == 0 { Loss } else { Win };
        s.game(100 + i, &[(A, "Alpha", 0, outcome), (Y, "Yankee", 1, Win)])
            .await;
    }
    let standings = s.check("twelve games").await;
    let recent = Servers::row(&standings, A)["recent_results"].clone();
    assert_eq!(recent.as_array().map(Vec::len), Some(10));
    assert_eq!(s.cache.games.full_loads(), loads, "new games are caught up");

    // An unfinished game that a lobby observation then updates (the one way a known
    // `matches` row changes): caught up as a replaced match.
    let open = s.next_match + 1;
    s.next_match = open;
    s.finish(FinishedMatch {
        match_id: open,
        map_name: "Arabia".into(),
        matchtype_id: 6,
        leaderboard_id: Some(3),
        started_at: start + Duration::minutes(300),
        completed_at: None,
        description: None,
        players: vec![
            match_player(A, Some("Alpha"), 4, 0, Win, 2000, 2010),
            match_player(B, Some("Bravo"), 5, 1, Loss, 2000, 1990),
        ],
    })
    .await;
    s.check("unfinished game").await;
    s.store
        .execute::<Lobby>(
            &open.to_string(),
            LobbyCommand::Observe {
                snapshot: LobbySnapshot {
                    lobby_id: open,
                    map_name: "Arena".into(),
                    description: Some("renamed".into()),
                    matchtype_id: 6,
                    state: LobbyState::InProgress,
                    members: vec![A, B],
                },
                observed_at: start + Duration::minutes(301),
            },
            &testkit::poller(),
        )
        .await
        .expect("observe the lobby");
    let standings = s.check("lobby over a known game").await;
    let newest = &Servers::row(&standings, A)["tournament_record"]["recent_matchups"][0];
    assert_eq!(
        newest["map_name"], "Arena",
        "the lobby's map replaced the game's"
    );
    assert_eq!(
        s.cache.games.full_loads(),
        loads,
        "a known game is caught up"
    );

    // A new rostered player who already played: the roster changed, so a full load.
    s.game(400, &[(D, "Delta", 0, Win), (A, "Alpha", 1, Loss)])
        .await;
    s.check("D's game before D is rostered").await;
    seed::manage_all(&s.store, "cup", [player(13, D)]).await;
    let standings = s.check("roster change").await;
    assert_eq!(Servers::row(&standings, D)["tournament_record"]["wins"], 1);
    assert!(
        s.cache.games.full_loads() > loads,
        "a roster change reloads"
    );

    // A catalog change nudges everyone: the games go with the responses.
    seed::catalog(
        &s.store,
        vec![seed::solo_rm()],
        vec![
            seed::civilization(4, "Bohemians II"),
            seed::civilization(5, "Huns"),
        ],
        Utc::now(),
    )
    .await;
    seed::project(&s.pool).await;
    s.cache.invalidate(None);
    let standings = s.check("catalog").await;
    let newest = &Servers::row(&standings, D)["tournament_record"]["recent_matchups"][0];
    assert_eq!(newest["civilization_name"], "Bohemians II");

    // During an upgrade the previous core build, whose tables have no `position`, is served
    // until the new one catches up: the reads load in full.
    let build: i64 = sqlx::query_scalar(
        "SELECT build FROM projection_checkpoints WHERE name = 'core' AND status = 'live'",
    )
    .fetch_one(&s.pool)
    .await
    .expect("live build");
    sqlx::raw_sql(&format!(
        "DROP VIEW live.matches;
         CREATE VIEW live.matches AS
         SELECT match_id, map_name, matchtype_id, leaderboard_id, started_at, completed_at,
                description, state, updated_at FROM core_b{build}.matches"
    ))
    .execute(&s.pool)
    .await
    .expect("a view without position");
    let loads = s.cache.games.full_loads();
    s.game(500, &[(B, "Bravo", 0, Loss), (D, "Delta", 1, Win)])
        .await;
    let standings = s.check("previous build").await;
    assert_eq!(Servers::row(&standings, D)["tournament_record"]["wins"], 2);
    assert!(s.cache.games.full_loads() > loads, "loaded in full");
}
