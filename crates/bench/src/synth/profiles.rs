//! Polled profiles: rank drift, rating changes and identity observations.

use super::*;

impl Synth {
    /// Rank drift without a game (at most every 15 minutes per ladder in production).
    pub(super) fn rank(&mut self) {
        let p = self.rng.gen_range(0..self.players.len());
        let l = self.rng.gen_range(0..self.players[p].ladders.len());
        let drift = self.rng.gen_range(-40..=40);
        let region_known = self.rng.gen_bool(0.9);
        let clock = self.clock;
        let player = &mut self.players[p];
        let (lb, stats) = &mut player.ladders[l];
        stats.rank = Some((stats.rank.unwrap_or(20_000) + drift).max(1));
        stats.rank_total = Some(stats.rank_total.unwrap_or(40_000) + drift.abs() / 8);
        stats.region_rank =
            region_known.then(|| (stats.region_rank.unwrap_or(4_000) + drift / 4).max(1));
        let event = ProfileEvent::RankObserved {
            profile_id: player.id,
            leaderboard_id: *lb,
            rank: stats.rank,
            rank_total: stats.rank_total,
            region_rank: stats.region_rank,
            region_rank_total: stats.region_rank_total,
            observed_at: clock,
        };
        let id = player.id.to_string();
        self.emit("Profile", id, POLLER, &event);
    }

    /// A new `RatingObserved` for player `p` on `board` (a random ladder of theirs if
    /// `None`): the rating moved by `delta` (a game), or with `None` only `drops` changed,
    /// which leaves the snapshot pair as it was.
    pub(super) fn rating(&mut self, p: usize, board: Option<i64>, delta: Option<i64>) {
        let no_peak = self.players[p].no_peak;
        let l = match board {
            Some(b) => match self.players[p].ladders.iter().position(|(lb, _)| *lb == b) {
                Some(l) => l,
                None => {
                    // First game on this ladder.
                    let rating = self.rng.gen_range(900..1300);
                    let stats = LadderStats {
                        leaderboard_id: b,
                        rating,
                        highest_rating: if no_peak { 0 } else { rating },
                        wins: 0,
                        losses: 0,
                        streak: 0,
                        drops: 0,
                        rank: None,
                        rank_total: None,
                        region_rank: None,
                        region_rank_total: None,
                        last_match_at: None,
                    };
                    self.players[p].ladders.push((b, stats));
                    self.players[p].ladders.len() - 1
                }
            },
            None => self.rng.gen_range(0..self.players[p].ladders.len()),
        };
        let clock = self.clock;
        let player = &mut self.players[p];
        let stats = &mut player.ladders[l].1;
        if let Some(delta) = delta {
            stats.rating += delta;
            if !no_peak {
                stats.highest_rating = stats.highest_rating.max(stats.rating);
            }
            if delta > 0 {
                stats.wins += 1;
                stats.streak = stats.streak.max(0) + 1;
            } else {
                stats.losses += 1;
                stats.streak = stats.streak.min(0) - 1;
            }
            stats.last_match_at = Some(clock);
        } else {
            stats.drops += 1;
        }
        let event = ProfileEvent::RatingObserved {
            profile_id: player.id,
            stats: stats.clone(),
            observed_at: clock,
        };
        let id = player.id.to_string();
        self.emit("Profile", id, POLLER, &event);
    }

    /// Identity drift: xp and level mostly, alias and clan rarely.
    pub(super) fn identity(&mut self, p: usize) {
        let gain = self.rng.gen_range(40..400);
        let rename = self.rng.gen_bool(0.01);
        let reclan = self.rng.gen_bool(0.01);
        let clock = self.clock;
        let player = &mut self.players[p];
        let identity = &mut player.identity;
        identity.xp += gain;
        if identity.xp / 10_000 > identity.level {
            identity.level += 1;
        }
        if rename {
            identity.alias = format!("{}_", identity.alias);
        }
        if reclan {
            identity.clan_name = match identity.clan_name {
                Some(_) => None,
                None => Some("NEW".into()),
            };
        }
        let event = ProfileEvent::ProfileObserved {
            profile_id: player.id,
            identity: identity.clone(),
            observed_at: clock,
        };
        let id = player.id.to_string();
        self.emit("Profile", id, POLLER, &event);
    }
}
