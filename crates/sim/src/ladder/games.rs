//! Simulated time: [`Ladder::advance`] plays the background games (matchmaking, Elo,
//! records) and the auto lobbies' events in a fixed order.

use super::*;

impl Ladder {
    // ------------------------------------------------------------------ time

    /// Move simulated time forward, playing every event on the way. At most
    /// [`MAX_ADVANCE`] per call, so no control can stall the simulator for hours.
    pub fn advance(&mut self, dt: Duration) {
        let dt_ms = i64::try_from(dt.min(MAX_ADVANCE).as_millis()).unwrap_or(0);
        self.advance_to_ms(self.now_ms.saturating_add(dt_ms));
    }

    /// Move simulated time forward to `target_ms` (no-op if it is in the past).
    pub fn advance_to_ms(&mut self, target_ms: i64) {
        if target_ms <= self.now_ms {
            return;
        }
        let target = target_ms.div_euclid(1000);
        loop {
            let end = self.ongoing.keys().next().map_or(i64::MAX, |k| k.0);
            let close = self.lobby_closes.iter().next().map_or(i64::MAX, |k| k.0);
            let t = end.min(close).min(self.next_join_at).min(self.next_game_at);
            if t > target {
                break;
            }
            self.now_ms = self.now_ms.max(t * 1000);
            // Fixed order at equal times keeps runs reproducible.
            if end == t {
                self.finish_next_match();
            } else if close == t {
                self.close_next_auto_lobby(t);
            } else if self.next_join_at == t {
                self.lobby_join(t);
            } else {
                self.start_background_game(t);
            }
        }
        self.now_ms = target_ms;
    }

    // ------------------------------------------------------------------ background games

    pub(super) fn draw_next_game(&mut self, from: i64) -> i64 {
        let games_per_sec = self.players.len() as f64 * self.activity / PLAYERS_PER_GAME / 3600.0;
        if games_per_sec <= 0.0 {
            return i64::MAX;
        }
        from + exp_secs(&mut self.rng, 1.0 / games_per_sec)
    }

    /// A random idle player, picked in proportion to their activity.
    pub(super) fn pick_idle(&mut self, exclude: &[usize]) -> Option<usize> {
        let n = self.players.len();
        for _ in 0..64 {
            let i = self.rng.gen_range(0..n);
            let accept = self.rng.gen::<f64>() * MAX_ACTIVITY < self.players[i].activity;
            if accept && !self.busy[i] && !exclude.contains(&i) {
                return Some(i);
            }
        }
        None
    }

    pub(super) fn rating_on(&self, idx: usize, leaderboard: i64) -> i64 {
        self.players[idx]
            .stats
            .get(&leaderboard)
            .map_or(START_RATING, |s| s.rating)
    }

    /// Matchmaking: a seed player plus the closest-rated of a sample of idle players.
    pub(super) fn start_background_game(&mut self, t: i64) {
        self.next_game_at = self.draw_next_game(t);
        let matchtype_id = pick_weighted(&mut self.rng, &QUEUE_MIX);
        let (Some(leaderboard), Some(size)) = (
            leaderboard_for_matchtype(matchtype_id),
            team_size_for_matchtype(matchtype_id),
        ) else {
            return;
        };
        let Some(seed) = self.pick_idle(&[]) else {
            return;
        };
        let needed = 2 * size - 1;
        let mut candidates = Vec::new();
        for _ in 0..(3 * needed) {
            let mut exclude = candidates.clone();
            exclude.push(seed);
            if let Some(i) = self.pick_idle(&exclude) {
                candidates.push(i);
            }
        }
        if candidates.len() < needed {
            return;
        }
        let seed_rating = self.rating_on(seed, leaderboard);
        candidates.sort_by_key(|&i| ((self.rating_on(i, leaderboard) - seed_rating).abs(), i));
        let mut group = vec![seed];
        group.extend_from_slice(&candidates[..needed]);
        // Snake draft by rating keeps team averages close.
        group.sort_by_key(|&i| (std::cmp::Reverse(self.rating_on(i, leaderboard)), i));
        let mut teams = vec![Vec::new(), Vec::new()];
        for (pos, &i) in group.iter().enumerate() {
            let team = if matches!(pos % 4, 0 | 3) { 0 } else { 1 };
            teams[team].push(i);
        }
        if self.rng.gen_bool(0.5) {
            teams.swap(0, 1);
        }
        for &i in &group {
            self.busy[i] = true;
        }
        let end = t + self.draw_duration(matchtype_id);
        let pending = self.new_ranked_match(matchtype_id, leaderboard, teams, t, end, None, None);
        self.ongoing.insert((end, pending.id), pending);
    }

    pub(super) fn draw_duration(&mut self, matchtype_id: i64) -> i64 {
        let team = team_size_for_matchtype(matchtype_id).unwrap_or(1) > 1;
        let range = match (is_empire_wars(matchtype_id), team) {
            (false, false) => 900..2700,
            (true, false) => 600..1800,
            (false, true) => 1500..3300,
            (true, true) => 900..2100,
        };
        self.rng.gen_range(range)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_ranked_match(
        &mut self,
        matchtype_id: i64,
        leaderboard: i64,
        teams: Vec<Vec<usize>>,
        started_at: i64,
        completed_at: i64,
        map_id: Option<i64>,
        lie: Option<bool>,
    ) -> PendingMatch {
        let id = self.alloc_id();
        let size = teams[0].len();
        let pool: &[i64] = if is_empire_wars(matchtype_id) {
            &POOL_EW
        } else if size == 1 {
            &POOL_RM_1V1
        } else {
            &POOL_RM_TEAM
        };
        let map_id = map_id.unwrap_or_else(|| pool[self.rng.gen_range(0..pool.len())]);
        let lie = lie.unwrap_or_else(|| self.rng.gen_bool(LYING_MAPNAME_SHARE));
        let shown = if lie {
            // Another map of the pool (any verified map if the pool has no other).
            let others: Vec<i64> = pool.iter().copied().filter(|&m| m != map_id).collect();
            others[self.rng.gen_range(0..others.len())]
        } else {
            map_id
        };
        let civs = teams
            .iter()
            .map(|team| team.iter().map(|_| self.random_civ()).collect())
            .collect();
        let creator = teams[self.rng.gen_range(0..2)][0];
        PendingMatch {
            id,
            matchtype_id,
            leaderboard: Some(leaderboard),
            civs,
            map_id,
            mapname: rms_name(shown),
            options: blobs::options(map_id, matchtype_id, size, false),
            description: "AUTOMATCH".to_owned(),
            max_players: 2 * size as i64,
            started_at,
            completed_at,
            observers: self.rng.gen_range(0..25),
            creator,
            teams,
        }
    }

    pub(super) fn random_civ(&mut self) -> i64 {
        loop {
            let civ = self.rng.gen_range(0..CIVILIZATIONS.len() as i64);
            if is_ladder_civ(civ) {
                return civ;
            }
        }
    }

    pub(super) fn finish_next_match(&mut self) {
        let Some((_, pending)) = self.ongoing.pop_first() else {
            return;
        };
        // Only ranked games mark players busy (custom games come from lobbies).
        if pending.leaderboard.is_some() {
            for &i in pending.teams.iter().flatten() {
                self.busy[i] = false;
            }
        }
        let winner = match pending.leaderboard {
            Some(lb) => {
                let e0 = self.expected_score(&pending.teams, lb);
                usize::from(!self.rng.gen_bool(e0.clamp(0.0, 1.0)))
            }
            None => self.rng.gen_range(0..2),
        };
        self.resolve(pending, winner, None);
    }

    /// Elo expectation of team 0, from average team ratings.
    pub(super) fn expected_score(&self, teams: &[Vec<usize>], leaderboard: i64) -> f64 {
        let avg = |team: &Vec<usize>| {
            team.iter()
                .map(|&i| self.rating_on(i, leaderboard) as f64)
                .sum::<f64>()
                / team.len().max(1) as f64
        };
        1.0 / (1.0 + 10f64.powf((avg(&teams[1]) - avg(&teams[0])) / 400.0))
    }

    /// Finish a game: move ratings, build the record, file it in every participant's window.
    pub(super) fn resolve(
        &mut self,
        pending: PendingMatch,
        winner: usize,
        report_civ_zero: Option<bool>,
    ) {
        let delta = match pending.leaderboard {
            Some(lb) => {
                let e0 = self.expected_score(&pending.teams, lb);
                let score0 = if winner == 0 { 1.0 } else { 0.0 };
                let d = (K_FACTOR * (score0 - e0)).round() as i64;
                // Relic never awards 0 points: at least 1 either way.
                if winner == 0 {
                    d.max(1)
                } else {
                    d.min(-1)
                }
            }
            None => 0,
        };
        let mut players = Vec::new();
        let mut slots = Vec::new();
        for (team_idx, team) in pending.teams.iter().enumerate() {
            let won = team_idx == winner;
            let team_delta = if team_idx == 0 { delta } else { -delta };
            for (pos, &idx) in team.iter().enumerate() {
                let civ = pending.civs[team_idx][pos];
                let report_civ = match report_civ_zero {
                    Some(true) => 0,
                    Some(false) => civ,
                    None if self.rng.gen_bool(REPORT_CIV_ZERO_SHARE) => 0,
                    None => civ,
                };
                let dropped = !won && self.rng.gen_bool(0.02);
                let replay = self.draw_replay(pending.id);
                let player = &mut self.players[idx];
                let (old, new, wins, losses, streak) = match pending.leaderboard {
                    Some(lb) => {
                        let row = player
                            .stats
                            .entry(lb)
                            .or_insert_with(|| LadderStats::new_row(START_RATING));
                        let old = row.rating;
                        let new = (old + team_delta).max(100);
                        row.record(won, new, pending.completed_at);
                        if dropped {
                            row.drops += 1;
                        }
                        (old, new, row.wins, row.losses, row.streak)
                    }
                    // Custom games: the 1v1 RM rating as both values, counters unchanged.
                    None => {
                        let row = player.stats.get(&LB_SOLO_RM).cloned();
                        let r = row.as_ref().map_or(START_RATING, |s| s.rating);
                        let (w, l, s) = row.map_or((0, 0, 0), |s| (s.wins, s.losses, s.streak));
                        (r, r, w, l, s)
                    }
                };
                player.xp += 1;
                player.level = 1 + player.xp / 4000;
                slots.push((player.profile_id, team_idx as i64, civ));
                players.push(MatchPlayer {
                    profile_id: player.profile_id,
                    statgroup_id: player.statgroup_id,
                    team: team_idx as i64,
                    civ,
                    report_civ,
                    won,
                    old_rating: old,
                    new_rating: new,
                    wins,
                    losses,
                    streak,
                    xp_gained: 1,
                    replay,
                });
            }
        }
        let record = Arc::new(MatchRecord {
            id: pending.id,
            creator_profile_id: self.players[pending.creator].profile_id,
            matchtype_id: pending.matchtype_id,
            map_id: pending.map_id,
            mapname: pending.mapname,
            options: pending.options,
            slotinfo: blobs::slotinfo(&slots, slots.len(), pending.matchtype_id),
            description: pending.description,
            max_players: pending.max_players,
            started_at: pending.started_at,
            completed_at: pending.completed_at,
            observers: pending.observers,
            players,
        });
        for &idx in pending.teams.iter().flatten() {
            let window = &mut self.histories[idx];
            window.push_front(Arc::clone(&record));
            window.truncate(self.history_window);
        }
        if pending.leaderboard.is_some() {
            self.matches_played += 1;
        }
        self.version += 1;
    }

    pub(super) fn draw_replay(&mut self, match_id: i64) -> Option<Replay> {
        if !self.rng.gen_bool(0.85) {
            return None;
        }
        let folder = self.rng.gen_range(1_000_000..9_999_999);
        let hash = self.rng.gen_range(0..0xff_ffff_ffffu64);
        let size = if self.rng.gen_bool(0.1) {
            -1
        } else {
            self.rng.gen_range(650_000..900_000)
        };
        Some(Replay {
            url: format!(
                "https://rl0aoelivemk2blob.blob.core.windows.net/cloudfiles/{folder}/aoelive_/age2/replay/windows/4.0.0/0/M_{match_id}_{hash:010x}.gz"
            ),
            size,
        })
    }

    pub(super) fn alloc_id(&mut self) -> i64 {
        // Other titles and regions share the id space: ids grow with gaps.
        self.next_id += self.rng.gen_range(1..40);
        self.next_id
    }
}
