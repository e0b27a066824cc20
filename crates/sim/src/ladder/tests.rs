use super::*;

fn config() -> SimConfig {
    SimConfig {
        players: 60,
        activity: 1.0,
        warmup: Duration::from_secs(3600),
        ..SimConfig::default()
    }
}

#[test]
fn ids_are_distinct_spaces() {
    let ladder = Ladder::new(&config());
    let profiles: BTreeSet<i64> = ladder.players().iter().map(|p| p.profile_id).collect();
    assert_eq!(profiles.len(), 60);
    for p in ladder.players() {
        assert!(!profiles.contains(&p.statgroup_id));
    }
}

#[test]
fn advance_is_chunking_independent() {
    let mut a = Ladder::new(&config());
    let mut b = a.clone();
    a.advance(Duration::from_secs(7200));
    for _ in 0..7 {
        b.advance(Duration::from_millis(1_028_571));
    }
    b.advance(Duration::from_millis(7_200_000 - 7 * 1_028_571));
    assert_eq!(a.now_ms(), b.now_ms());
    assert_eq!(a.players(), b.players());
    assert_eq!(a.version(), b.version());
    assert!(a.matches_played() > 0, "games were played");
}

#[test]
fn pools_are_verified_maps() {
    for id in POOL_RM_1V1.iter().chain(&POOL_RM_TEAM).chain(&POOL_EW) {
        assert!(upstream::maps::map_for_locstring(*id).is_some(), "{id}");
    }
    assert_eq!(rms_name(10878), "Black_Forest.rms");
}

#[test]
fn background_games_keep_stats_consistent() {
    let mut ladder = Ladder::new(&config());
    ladder.advance(Duration::from_secs(6 * 3600));
    let mut team_games = 0;
    for p in ladder.players().to_vec() {
        for m in ladder.history(p.profile_id) {
            let me = m.player(p.profile_id).expect("participant");
            if m.matchtype_id != MATCHTYPE_CUSTOM {
                assert_ne!(me.old_rating, me.new_rating);
                assert_eq!(me.won, me.new_rating > me.old_rating);
            }
            if m.players.len() > 2 {
                team_games += 1;
            }
        }
        for s in p.stats.values() {
            assert!(s.streak.abs() <= s.wins.max(s.losses));
            if s.wins > 0 {
                assert!(s.highest_rating >= s.rating, "peak below rating: {s:?}");
            } else {
                assert_eq!(s.highest_rating, 0, "no wins, no peak");
            }
        }
    }
    assert!(team_games > 0, "some team games were played");
}
