//! Commands appended through the real event store, as the poller and the owner send them, and
//! the projection of what was appended. Each builder takes the few values that differ between
//! tests (names, presentation, aliases) so assertions keep their exact expectations.

use chrono::{DateTime, Utc};
use domain::catalog::{Catalog, CatalogCommand, Civilization, Leaderboard, CATALOG_ID};
use domain::event::Actor;
use domain::lobby::{Lobby, LobbyCommand, LobbySnapshot, LobbyState};
use domain::matches::{FinishedMatch, Match, MatchCommand, MatchPlayer, Outcome};
use domain::operator::{Operator, OperatorCommand, OPERATOR_ID};
use domain::profile::{LadderStats, ObserveStats, Profile, ProfileCommand, ProfileIdentity};
use domain::tournament::{
    CreateTournament, CreatorFacts, LeaderboardFacts, RankBy, Tournament, TournamentAction,
    TournamentCommand, TournamentConfig,
};
use domain::EventMetadata;
use sqlx::PgPool;
use store::EventStore;

use crate::people::{at, owner, poller, ACCM, HERA, MATCH_ID, OWNER};

/// The ranked 1v1 random-map leaderboard (3) every seeded tournament ranks by.
pub fn solo_rm() -> Leaderboard {
    Leaderboard {
        leaderboard_id: 3,
        name: "SOLO_RM_RANKED".into(),
        is_ranked: true,
        matchtype_ids: vec![6],
    }
}

pub fn civilization(civilization_id: i64, name: &str) -> Civilization {
    Civilization {
        civilization_id,
        name: name.into(),
    }
}

/// The catalog as the poller observes it at `observed_at`.
pub async fn catalog(
    store: &EventStore,
    leaderboards: Vec<Leaderboard>,
    civilizations: Vec<Civilization>,
    observed_at: DateTime<Utc>,
) {
    store
        .execute::<Catalog>(
            CATALOG_ID,
            CatalogCommand::Observe {
                leaderboards,
                civilizations,
                observed_at,
            },
            &poller(),
        )
        .await
        .expect("observe the catalog");
}

/// A public cup on leaderboard 3 with a prize pool, a host stream and a gold accent.
pub fn cup(name: &str, start_date: Option<DateTime<Utc>>) -> TournamentConfig {
    TournamentConfig {
        name: name.into(),
        leaderboard_id: 3,
        rank_by: RankBy::PeakRating,
        start_date,
        end_date: None,
        prize_pool_cents: Some(50_000),
        host_stream_urls: vec!["https://twitch.tv/host".into()],
        presentation: serde_json::json!({"accent": "gold"}),
    }
}

/// A bare tournament on leaderboard 3: no prize, no streams, no presentation.
pub fn plain(name: &str, start_date: Option<DateTime<Utc>>) -> TournamentConfig {
    TournamentConfig {
        prize_pool_cents: None,
        host_stream_urls: vec![],
        presentation: serde_json::json!({}),
        ..cup(name, start_date)
    }
}

/// Tournament `slug` (id `tournament_id`) created by [`OWNER`] at `created`.
pub async fn tournament(
    store: &EventStore,
    tournament_id: i64,
    slug: &str,
    config: TournamentConfig,
    created: DateTime<Utc>,
) {
    let create = TournamentCommand::Create {
        actor: Actor::User(OWNER.into()),
        create: Box::new(CreateTournament {
            tournament_id,
            slug: slug.into(),
            config,
            owner: Some(OWNER.into()),
            creator: CreatorFacts {
                on_allowlist: true,
                owned_tournaments: 0,
            },
            leaderboard: Some(LeaderboardFacts {
                name: "SOLO_RM_RANKED".into(),
                is_ranked: true,
            }),
            at: created,
        }),
    };
    store
        .execute::<Tournament>(slug, create, &owner())
        .await
        .expect("create the tournament");
}

/// `action` as [`OWNER`] manages a tournament.
pub fn manage(action: TournamentAction) -> TournamentCommand {
    TournamentCommand::Manage {
        actor: Actor::User(OWNER.into()),
        action,
    }
}

/// Applies `actions` to tournament `slug` one by one, as [`OWNER`].
pub async fn manage_all(
    store: &EventStore,
    slug: &str,
    actions: impl IntoIterator<Item = TournamentAction>,
) {
    for action in actions {
        store
            .execute::<Tournament>(slug, manage(action), &owner())
            .await
            .expect("manage the tournament");
    }
}

/// A leaderboard-3 row: `losses` 10, streak 2, rank 5 of 47,807, last match at minute 20.
pub fn ladder(rating: i64, highest_rating: i64, wins: i64) -> LadderStats {
    LadderStats {
        leaderboard_id: 3,
        rating,
        highest_rating,
        wins,
        losses: 10,
        streak: 2,
        drops: 0,
        rank: Some(5),
        rank_total: Some(47807),
        region_rank: None,
        region_rank_total: None,
        last_match_at: Some(at(20)),
    }
}

/// The poller's stats of `profile` (a Canadian `alias`) at minute 21.
pub async fn profile(store: &EventStore, profile: i64, alias: &str, ladders: Vec<LadderStats>) {
    let identity = ProfileIdentity {
        alias: alias.into(),
        country: Some("ca".into()),
        steam_id: None,
        level: 1,
        xp: 1,
        region_id: 0,
        clan_name: None,
    };
    observe(store, profile, identity, ladders, at(21)).await;
}

/// The poller's stats of `profile` (`alias`, no country, region 3) observed now: for tests
/// whose instants come from the wall clock (standings as of a past instant).
pub async fn profile_now(store: &EventStore, profile: i64, alias: &str, ladders: Vec<LadderStats>) {
    let identity = ProfileIdentity {
        alias: alias.into(),
        country: None,
        steam_id: None,
        level: 1,
        xp: 0,
        region_id: 3,
        clan_name: None,
    };
    observe(store, profile, identity, ladders, Utc::now()).await;
}

async fn observe(
    store: &EventStore,
    profile: i64,
    identity: ProfileIdentity,
    ladders: Vec<LadderStats>,
    observed_at: DateTime<Utc>,
) {
    let command = ProfileCommand::ObserveStats(ObserveStats {
        profile_id: profile,
        identity: Some(identity),
        ladders,
        observed_at,
    });
    store
        .execute::<Profile>(&profile.to_string(), command, &poller())
        .await
        .expect("observe the profile");
}

/// A ranked match's row for `profile_id`: its civilization, team, outcome and rating move
/// (`old` -> `new`), 1 XP gained.
pub fn match_player(
    profile_id: i64,
    alias: Option<&str>,
    civilization_id: i64,
    team_id: i64,
    outcome: Outcome,
    old: i64,
    new: i64,
) -> MatchPlayer {
    MatchPlayer {
        profile_id,
        alias: alias.map(str::to_owned),
        civilization_id,
        team_id,
        outcome: Some(outcome),
        old_rating: Some(old),
        new_rating: Some(new),
        xp_gained: 1,
    }
}

/// Match [`MATCH_ID`] on Arabia, minutes 10 to 40: Hera (Bohemians, team 1) beats ACCM
/// (civ 23, team 0), 2780 -> 2788 and 2726 -> 2718. Player aliases are recorded when `aliases`.
pub async fn finished_match(store: &EventStore, aliases: bool) {
    let player = |profile_id, alias, civ, team, outcome, old, new| {
        match_player(
            profile_id,
            aliases.then_some(alias),
            civ,
            team,
            outcome,
            old,
            new,
        )
    };
    store
        .execute::<Match>(
            &MATCH_ID.to_string(),
            MatchCommand::RecordFinishedMatch(FinishedMatch {
                match_id: MATCH_ID,
                map_name: "Arabia".into(),
                matchtype_id: 6,
                leaderboard_id: Some(3),
                started_at: at(10),
                completed_at: Some(at(40)),
                description: Some("AUTOMATCH".into()),
                players: vec![
                    player(ACCM, "ACCM", 23, 0, Outcome::Loss, 2726, 2718),
                    player(HERA, "Hera", 4, 1, Outcome::Win, 2780, 2788),
                ],
            }),
            &poller(),
        )
        .await
        .expect("record the finished match");
}

/// Hera and ACCM in an open (staging) lobby on Arena, observed by the poller (the api tests
/// observe it at minute 50).
pub async fn open_lobby(store: &EventStore, description: &str, observed_at: DateTime<Utc>) {
    store
        .execute::<Lobby>(
            "486002117",
            LobbyCommand::Observe {
                snapshot: LobbySnapshot {
                    lobby_id: 486002117,
                    map_name: "Arena".into(),
                    description: Some(description.into()),
                    matchtype_id: 0,
                    state: LobbyState::Staging,
                    members: vec![HERA, ACCM],
                },
                observed_at,
            },
            &poller(),
        )
        .await
        .expect("observe the lobby");
}

/// Runs the `core` projector until its live build has applied every stored event.
pub async fn project(pool: &PgPool) {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .expect("count events");
    for _ in 0..4000 {
        projections::runner::catch_up(pool, &projections::core::Core, 500)
            .await
            .expect("catch up");
        let builds = projections::runner::builds(pool)
            .await
            .expect("read builds");
        if builds.iter().any(|b| b.is_live() && b.events == total) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("projections did not catch up");
}

/// The unranked board (5): the catalog knows it, a tournament may not rank by it.
pub fn unranked() -> Leaderboard {
    Leaderboard {
        leaderboard_id: 5,
        name: "UNRANKED".into(),
        is_ranked: false,
        matchtype_ids: vec![0],
    }
}

/// Puts `users` on the creator allowlist, as `operator:<operator>` at `granted`.
pub async fn grant_creators(
    store: &EventStore,
    users: &[&str],
    operator: &str,
    granted: DateTime<Utc>,
) {
    let meta = EventMetadata::new(Actor::Operator(operator.into()));
    for &user in users {
        store
            .execute::<Operator>(
                OPERATOR_ID,
                OperatorCommand::GrantCreator {
                    user_id: user.into(),
                    at: granted,
                },
                &meta,
            )
            .await
            .expect("grant creator");
    }
}

/// Waits until a running projector has `n` creators on the allowlist (the API reads the
/// creator facts from the read models).
pub async fn wait_for_creators(pool: &PgPool, n: i64) {
    for _ in 0..1000 {
        let creators: i64 = sqlx::query_scalar("SELECT count(*) FROM live.tournament_creators")
            .fetch_one(pool)
            .await
            .unwrap_or(0);
        if creators == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("projector did not apply the seed");
}

/// Runs the `core` projector in the background (batches of 500) until the returned sender
/// says stop or is dropped.
pub fn run_core(pool: &PgPool) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(projections::runner::run(
        pool.clone(),
        projections::core::Core,
        500,
        stopped,
    ));
    stop
}

/// Runs both projectors, `core` and `notifications`, in the background (batches of 500) until
/// the returned sender says stop or is dropped: for tests that read webhook deliveries.
pub fn run_projectors(pool: &PgPool) -> tokio::sync::watch::Sender<bool> {
    let stop = run_core(pool);
    tokio::spawn(projections::runner::run(
        pool.clone(),
        projections::notifications::Notifications,
        500,
        stop.subscribe(),
    ));
    stop
}

/// Every live `core` table as JSON rows in a stable order, for row-by-row comparison of two
/// builds.
pub async fn core_rows(pool: &PgPool) -> Vec<(String, Vec<serde_json::Value>)> {
    let mut out = vec![];
    for table in <projections::core::Core as projections::Projector>::TABLES {
        let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
            "SELECT to_jsonb(t) FROM live.{table} t ORDER BY to_jsonb(t)::text"
        ))
        .fetch_all(pool)
        .await
        .expect("read a live table");
        out.push((table.to_string(), rows));
    }
    out
}

/// What the poller saw of Hera and ACCM: their stats (2788 and 2718, each peak 100 higher),
/// their finished match [`MATCH_ID`] and their open lobby (at minute 50).
pub async fn played(store: &EventStore) {
    for (profile_id, alias, rating) in [(HERA, "Hera", 2788), (ACCM, "ACCM", 2718)] {
        profile(
            store,
            profile_id,
            alias,
            vec![ladder(rating, rating + 100, 100)],
        )
        .await;
    }
    finished_match(store, false).await;
    open_lobby(store, "Hera vs ACCM", at(50)).await;
}

/// A plain "cup" (id 1) on ladder 3 whose window opens at minute 0, created at minute -10, with
/// Hera as roster row 10, after the smallest catalog (observed at minute -100).
pub async fn cup_with_hera(store: &EventStore) {
    catalog(store, vec![solo_rm()], vec![], at(-100)).await;
    tournament(store, 1, "cup", plain("Cup", Some(at(0))), at(-10)).await;
    manage_all(
        store,
        "cup",
        [TournamentAction::AddPlayerToRoster {
            tournament_player_id: 10,
            name: "Hera".into(),
            profile_id: Some(HERA),
            presentation: serde_json::json!({}),
        }],
    )
    .await;
}

/// Team 20, "Vikings" (VK), with roster row 10 (Hera in every seed) as its member.
pub fn vikings() -> [TournamentAction; 2] {
    [
        TournamentAction::CreateTeam {
            team_id: 20,
            name: "Vikings".into(),
            initials: "VK".into(),
        },
        TournamentAction::AddTeamMember {
            team_id: 20,
            tournament_player_id: 10,
        },
    ]
}

/// The smallest catalog the write rules accept: ladder 3 ([`solo_rm`]) only, no civilizations,
/// observed at `observed_at`.
pub async fn solo_rm_catalog(store: &EventStore, observed_at: DateTime<Utc>) {
    catalog(store, vec![solo_rm()], vec![], observed_at).await;
}
