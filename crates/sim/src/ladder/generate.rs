//! The seeded roster: players, their aliases, clans and starting stats.

use super::*;

pub(super) fn generate_players(rng: &mut StdRng, n: usize, now: i64) -> Vec<Player> {
    // Profile ids stay below 10M, statgroup ids above 10M: they never collide.
    let avg_gap = (9_000_000 / n as i64).max(2);
    let mut profile_id = 100_000 + rng.gen_range(0..avg_gap);
    let mut statgroup_id = 10_000_000 + rng.gen_range(0..avg_gap);
    (0..n)
        .map(|_| {
            profile_id += rng.gen_range(1..=avg_gap);
            statgroup_id += rng.gen_range(1..=avg_gap);
            generate_player(rng, profile_id, statgroup_id, now)
        })
        .collect()
}

fn generate_player(rng: &mut StdRng, profile_id: i64, statgroup_id: i64, now: i64) -> Player {
    let name = if rng.gen_bool(0.12) {
        let hex: String = (0..40)
            .map(|_| char::from(b"0123456789ABCDEF"[rng.gen_range(0..16)]))
            .collect();
        format!("/xboxlive/{hex}")
    } else {
        format!(
            "/steam/{}",
            76_561_197_960_265_728u64 + rng.gen_range(10_000_000..1_300_000_000u64)
        )
    };
    let alias = if rng.gen_bool(0.02) {
        String::new()
    } else {
        let head = ALIAS_HEADS[rng.gen_range(0..ALIAS_HEADS.len())];
        let tail = ALIAS_TAILS[rng.gen_range(0..ALIAS_TAILS.len())];
        match rng.gen_range(0..3) {
            0 => format!("{head}{tail}"),
            1 => format!("{head}_{tail}{}", rng.gen_range(1..100)),
            _ => format!("{}{tail}", head.to_lowercase()),
        }
    };
    let (country, region_id) = if rng.gen_bool(0.01) {
        (String::new(), REGION_UNKNOWN)
    } else {
        let (c, r) = COUNTRIES[rng.gen_range(0..COUNTRIES.len())];
        (c.to_owned(), r)
    };
    let clan = if rng.gen_bool(0.4) {
        CLANS[rng.gen_range(0..CLANS.len())].to_owned()
    } else {
        String::new()
    };
    let xp = rng.gen_range(100..20_000);
    let activity = if rng.gen_bool(0.1) {
        0.0
    } else {
        rng.gen_range(0.3..MAX_ACTIVITY)
    };
    let skill = (1100.0 + 280.0 * normal(rng)).clamp(500.0, 2900.0);
    let mut stats = BTreeMap::new();
    for (lb, share, offset) in [
        (LB_SOLO_RM, 0.95, 0.0),
        (LB_TEAM_RM, 0.7, 60.0),
        (LB_SOLO_EW, 0.4, -40.0),
        (LB_TEAM_EW, 0.25, 20.0),
    ] {
        if rng.gen_bool(share) {
            let rating = (skill + offset + 90.0 * normal(rng)).clamp(300.0, 3000.0) as i64;
            stats.insert(lb, generate_stats(rng, rating, now));
        }
    }
    Player {
        profile_id,
        statgroup_id,
        name,
        alias,
        country,
        region_id,
        clan,
        xp,
        level: 1 + xp / 4000,
        stats,
        activity,
    }
}

fn generate_stats(rng: &mut StdRng, rating: i64, now: i64) -> LadderStats {
    let last_match = if rng.gen_bool(0.2) {
        // Idle for more than 28 days: unranked (rank -1) until the next game.
        now - rng.gen_range(29 * 86_400..200 * 86_400)
    } else {
        now - rng.gen_range(3_600..20 * 86_400)
    };
    if rng.gen_bool(0.05) {
        // Only losses so far: no peak (0 or absent), never ranked.
        let losses = rng.gen_range(1..6);
        return LadderStats {
            rating: rating.min(1000),
            highest_rating: 0,
            omit_highest: rng.gen_bool(0.5),
            wins: 0,
            losses,
            streak: -losses,
            drops: 0,
            disputes: 0,
            last_match,
        };
    }
    let games = (rng.gen::<f64>().powi(2) * 3000.0) as i64 + 1;
    let wins = ((games as f64 * rng.gen_range(0.42..0.62)).round() as i64).clamp(1, games);
    let losses = games - wins;
    let streak = if losses == 0 || rng.gen_bool(0.5) {
        rng.gen_range(1..=wins.min(6))
    } else {
        -rng.gen_range(1..=losses.min(5))
    };
    LadderStats {
        rating,
        highest_rating: rating + rng.gen_range(0..250),
        omit_highest: false,
        wins,
        losses,
        streak,
        drops: rng.gen_range(0..=games / 50),
        disputes: 0,
        last_match,
    }
}
