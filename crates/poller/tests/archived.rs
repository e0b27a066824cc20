//! Archived tournaments are not polled (issue 16 item 3): once a tournament is archived, the
//! simulator stops receiving requests about the players only it tracks, while another
//! tournament's players (and a player on both) keep being asked about; un-archiving resumes.

mod common;

use chrono::{Duration as Days, Utc};
use common::{all_cycles, seed_tournament, wait_tracked, Env};
use domain::tournament::{TournamentAction, TournamentPatch};

const ROUNDS: usize = 4;

async fn rounds(poller: &poller::Poller) {
    for _ in 0..ROUNDS {
        all_cycles(poller).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_stops_the_upstream_requests_for_its_players() {
    let env = Env::start("archived_poll", common::frozen_sim(11, 0)).await;
    let ladder = env.sim.roster(9);
    // "old": four players of its own and one it shares with "cup"; "cup": four of its own.
    let (only_old, shared, only_cup) = (&ladder[0..4], ladder[4], &ladder[5..9]);
    let old_roster: Vec<i64> = only_old.iter().copied().chain([shared]).collect();
    let cup_roster: Vec<i64> = [shared]
        .into_iter()
        .chain(only_cup.iter().copied())
        .collect();
    seed_tournament(&env.store, "old", 1, &old_roster, 100).await;
    seed_tournament(&env.store, "cup", 2, &cup_roster, 200).await;
    wait_tracked(&env.pool, 9).await;
    let poller = env.poller();
    let asked = |ids: &[i64]| env.sim.with_traffic(|t| t.requests_for(ids));

    rounds(&poller).await;
    assert!(asked(only_old) > 0, "polled before archiving");

    let finished = TournamentAction::Update {
        patch: Box::new(TournamentPatch {
            end_date: Some(Some(Utc::now() - Days::days(1))),
            ..TournamentPatch::default()
        }),
        leaderboard: None,
    };
    let archive = TournamentAction::Archive { at: Utc::now() };
    testkit::seed::manage_all(&env.store, "old", [finished, archive]).await;
    assert_eq!(
        poller::tracked::tracked_profiles(&env.pool)
            .await
            .expect("tracked"),
        {
            let mut ids = cup_roster.clone();
            ids.sort_unstable();
            ids
        },
        "the tracked set leaves out the archived tournament's own players"
    );

    env.sim.reset_counters();
    rounds(&poller).await;
    println!(
        "archived: {} requests naming its own players, {} the other tournament's, {} the shared one",
        asked(only_old),
        asked(only_cup),
        asked(&[shared])
    );
    assert_eq!(asked(only_old), 0, "no request about the archived players");
    assert!(
        asked(only_cup) >= ROUNDS,
        "the other tournament is still polled"
    );
    assert!(
        asked(&[shared]) >= ROUNDS,
        "a player on both is still polled"
    );

    let unarchive = TournamentAction::Unarchive { at: Utc::now() };
    testkit::seed::manage_all(&env.store, "old", [unarchive]).await;
    env.sim.reset_counters();
    rounds(&poller).await;
    assert!(
        asked(only_old) >= ROUNDS,
        "un-archiving resumes polling: {}",
        asked(only_old)
    );
}
