//! The simulation: a seeded ladder where players play games, ratings move by Elo, lobbies
//! open and close.
//!
//! Time is event-driven (game starts, game ends, lobby opens/closes/joins at whole simulated
//! seconds, processed in a fixed order), so the state after `advance(a); advance(b)` equals
//! the state after `advance(a + b)`: only the seed and the sequence of controls matter.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

use crate::blobs;
use crate::config::SimConfig;
use crate::model::*;

/// Longest simulated time one [`Ladder::advance`] call plays.
pub const MAX_ADVANCE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Elo K-factor.
const K_FACTOR: f64 = 32.0;
/// Rating of a player's first game on a ladder.
const START_RATING: i64 = 1000;
/// A row counts as ranked with this many games...
const RANKED_MIN_GAMES: i64 = 10;
/// ...and a game within this many seconds.
const RANKED_MAX_IDLE_SECS: i64 = 28 * 24 * 3600;
/// Highest per-player activity multiplier (rejection sampling bound).
const MAX_ACTIVITY: f64 = 1.9;
/// Ranked queue mix: `(matchtype, weight)`. Players per game average 3.16.
const QUEUE_MIX: [(i64, f64); 8] = [
    (6, 0.58),
    (26, 0.12),
    (7, 0.08),
    (27, 0.04),
    (8, 0.05),
    (28, 0.03),
    (9, 0.07),
    (29, 0.03),
];
const PLAYERS_PER_GAME: f64 = 3.16;
/// Share of ranked games whose `mapname` names another map (upstream: about half).
const LYING_MAPNAME_SHARE: f64 = 0.5;
/// Share of report rows whose civ falls back to 0 (unresolved random pick).
const REPORT_CIV_ZERO_SHARE: f64 = 0.15;

/// Map pools (verified locstring ids only).
const POOL_RM_1V1: [i64; 12] = [
    10875, 10895, 10931, 10919, 10952, 10901, 301104, 301100, 301111, 10941, 10892, 10968,
];
const POOL_RM_TEAM: [i64; 9] = [
    10875, 10895, 10878, 10889, 10882, 10919, 10963, 10886, 10921,
];
const POOL_EW: [i64; 7] = [10875, 10895, 10980, 10979, 10961, 11013, 11012];

const CUSTOM_RMS: [&str; 8] = [
    "Hyper_Random.rms",
    "Nothing.rms",
    "Fast_Castle_Arabia.rms",
    "BF_Nomad.rms",
    "Mega_Random_Land.rms",
    "ES@Canals_v2.rms",
    "Wolf_Hill.rms",
    "Coastal_Cliffs.rms",
];
const LOBBY_TITLES: [&str; 8] = [
    "1v1 Arabia no rush",
    "casual 2v2",
    "4v4 BF no walls",
    "TG 3v3 anyone",
    "noobs only",
    "ranked practice",
    "FFA 8p",
    "quick game",
];
const RMS_LOBBY_TITLES: [&str; 3] = ["1v1 hyper random", "Fun map!", "Nothing map 4v4"];
const RELAY_REGIONS: [&str; 7] = [
    "westeurope",
    "eastus",
    "northeurope",
    "southeastasia",
    "brazilsouth",
    "australiaeast",
    "westus2",
];
const ALIAS_HEADS: [&str; 16] = [
    "Iron", "Dark", "Swift", "Red", "Old", "Mad", "Lone", "Grim", "Wild", "Frost", "Night",
    "Stone", "Sun", "Storm", "Ash", "Blue",
];
const ALIAS_TAILS: [&str; 14] = [
    "wolf", "king", "blade", "fox", "bear", "hawk", "monk", "knight", "scout", "ram", "paladin",
    "archer", "hussar", "mangonel",
];
const CLANS: [&str; 12] = [
    "VIT", "GL", "TZ", "aM", "SY", "BTS", "MBL", "TTL", "RAT", "DS", "L3", "NaVi",
];

/// A game between given players, forced to happen now (see [`Ladder::play_match`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// Exactly two teams of equal size (1–4 profile ids each).
    pub teams: Vec<Vec<i64>>,
    /// Index into `teams` of the winning team.
    pub winner: usize,
    /// Ranked matchtype; default: Random Map for the team size (6, 7, 8, 9).
    #[serde(default)]
    pub matchtype_id: Option<i64>,
    /// Civs, same shape as `teams`; default: random.
    #[serde(default)]
    pub civs: Option<Vec<Vec<i64>>>,
    /// Map locstring id (must be a verified map); default: random from the pool.
    #[serde(default)]
    pub map_id: Option<i64>,
    /// Force (or forbid) a lying `mapname`; default: random (half the games).
    #[serde(default)]
    pub lying_mapname: Option<bool>,
    /// Force (or forbid) the report-row civ `0` quirk for every player; default: random.
    #[serde(default)]
    pub report_civ_zero: Option<bool>,
    /// Game length in seconds (ends now, started this long ago); default: random.
    #[serde(default)]
    pub duration_secs: Option<i64>,
}

impl MatchSpec {
    /// A 1v1 Random Map game; `winner` is a team index (0 = `a`, 1 = `b`).
    pub fn one_v_one(a: i64, b: i64, winner: usize) -> Self {
        Self {
            teams: vec![vec![a], vec![b]],
            winner,
            ..Self::default()
        }
    }

    /// A team game between `team0` and `team1`.
    pub fn teams(team0: Vec<i64>, team1: Vec<i64>, winner: usize) -> Self {
        Self {
            teams: vec![team0, team1],
            winner,
            ..Self::default()
        }
    }

    pub fn matchtype(mut self, matchtype_id: i64) -> Self {
        self.matchtype_id = Some(matchtype_id);
        self
    }

    pub fn civs(mut self, civs: Vec<Vec<i64>>) -> Self {
        self.civs = Some(civs);
        self
    }

    pub fn map(mut self, map_id: i64) -> Self {
        self.map_id = Some(map_id);
        self
    }

    pub fn lying_mapname(mut self, lie: bool) -> Self {
        self.lying_mapname = Some(lie);
        self
    }

    pub fn report_civ_zero(mut self, zero: bool) -> Self {
        self.report_civ_zero = Some(zero);
        self
    }

    pub fn duration_secs(mut self, secs: i64) -> Self {
        self.duration_secs = Some(secs);
        self
    }
}

/// Why a control was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("unknown profile id {0}")]
    UnknownProfile(i64),
    #[error("profile id {0} appears more than once")]
    DuplicateProfile(i64),
    #[error("invalid teams: {0}")]
    InvalidTeams(String),
    #[error("winner index {0} is not a team index")]
    InvalidWinner(usize),
    #[error("matchtype {0} is not a ranked matchtype for this team size")]
    InvalidMatchtype(i64),
    #[error("map locstring id {0} is not a verified map")]
    UnknownMap(i64),
    #[error("unknown civilization id {0}")]
    UnknownCivilization(i64),
    #[error("invalid lobby: {0}")]
    InvalidLobby(String),
    #[error("invalid control: {0}")]
    InvalidControl(String),
}

/// A game in progress (or being forced); random cosmetics are drawn when it starts.
#[derive(Debug, Clone)]
struct PendingMatch {
    id: i64,
    matchtype_id: i64,
    /// `None` = unranked custom game (ratings do not move).
    leaderboard: Option<i64>,
    teams: Vec<Vec<usize>>,
    civs: Vec<Vec<i64>>,
    map_id: i64,
    mapname: String,
    options: String,
    description: String,
    max_players: i64,
    started_at: i64,
    completed_at: i64,
    observers: i64,
    creator: usize,
}

#[derive(Debug, Clone)]
struct RankCache {
    key: (u64, i64),
    ranks: BTreeMap<(i64, usize), RankInfo>,
    /// Ranked player indices per leaderboard, best first.
    order: BTreeMap<i64, Vec<usize>>,
}

/// The simulated ladder. Not thread-safe by itself; [`crate::SimHandle`] wraps it.
#[derive(Debug, Clone)]
pub struct Ladder {
    rng: StdRng,
    /// Simulated time in milliseconds since the epoch.
    now_ms: i64,
    activity: f64,
    history_window: usize,
    lobby_target: usize,
    players: Vec<Player>,
    by_profile: BTreeMap<i64, usize>,
    busy: Vec<bool>,
    histories: Vec<VecDeque<Arc<MatchRecord>>>,
    /// In-progress games by `(end, id)`.
    ongoing: BTreeMap<(i64, i64), PendingMatch>,
    lobbies: BTreeMap<i64, Lobby>,
    /// Auto-lobby closes by `(close_at, id)`.
    lobby_closes: BTreeSet<(i64, i64)>,
    next_game_at: i64,
    next_join_at: i64,
    next_id: i64,
    version: u64,
    matches_played: u64,
    ranks: Option<RankCache>,
}

impl Ladder {
    /// Generate players and lobbies from `config.seed`, then play the warm-up.
    pub fn new(config: &SimConfig) -> Self {
        let config = config.normalized();
        let mut rng = StdRng::seed_from_u64(config.seed);
        let warmup_secs = i64::try_from(config.warmup.as_secs()).unwrap_or(0);
        let t0 = config.start_time - warmup_secs;
        let players = generate_players(&mut rng, config.players, t0);
        let by_profile = players
            .iter()
            .enumerate()
            .map(|(i, p)| (p.profile_id, i))
            .collect();
        let next_id = 485_000_000 + rng.gen_range(0..1_000_000);
        let n = players.len();
        let mut ladder = Self {
            rng,
            now_ms: t0 * 1000,
            activity: config.activity,
            history_window: config.history_window,
            lobby_target: config.lobbies,
            players,
            by_profile,
            busy: vec![false; n],
            histories: vec![VecDeque::new(); n],
            ongoing: BTreeMap::new(),
            lobbies: BTreeMap::new(),
            lobby_closes: BTreeSet::new(),
            next_game_at: i64::MAX,
            next_join_at: i64::MAX,
            next_id,
            version: 0,
            matches_played: 0,
            ranks: None,
        };
        ladder.next_game_at = ladder.draw_next_game(t0);
        ladder.next_join_at = t0 + ladder.rng.gen_range(1..120);
        for _ in 0..ladder.lobby_target {
            ladder.open_auto_lobby(t0);
        }
        ladder.advance(config.warmup);
        ladder
    }

    // ------------------------------------------------------------------ reads

    /// Current simulated time, epoch seconds.
    pub fn now(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    /// Current simulated time, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Bumped by every observable change (game finished, lobby changed, ...).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Ranked games finished so far (forced ones included), custom games excluded.
    pub fn matches_played(&self) -> u64 {
        self.matches_played
    }

    pub fn ongoing_matches(&self) -> usize {
        self.ongoing.len()
    }

    /// All players, in roster order.
    pub fn players(&self) -> &[Player] {
        &self.players
    }

    /// The first `n` profile ids (roster order is stable for a seed).
    pub fn roster(&self, n: usize) -> Vec<i64> {
        self.players.iter().take(n).map(|p| p.profile_id).collect()
    }

    pub fn player(&self, profile_id: i64) -> Option<&Player> {
        self.index_of(profile_id).map(|i| &self.players[i])
    }

    /// A player's current stats on a leaderboard (`None`: no row).
    pub fn stats(&self, profile_id: i64, leaderboard_id: i64) -> Option<&LadderStats> {
        self.player(profile_id)?.stats.get(&leaderboard_id)
    }

    /// A player's recent finished matches, newest first (at most `history_window`).
    pub fn history(&self, profile_id: i64) -> Vec<Arc<MatchRecord>> {
        self.index_of(profile_id)
            .map(|i| self.histories[i].iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Open lobbies by id.
    pub fn lobbies(&self) -> impl Iterator<Item = &Lobby> {
        self.lobbies.values()
    }

    pub fn lobby(&self, id: i64) -> Option<&Lobby> {
        self.lobbies.get(&id)
    }

    /// Rank fields of a row at the current time (`None`: no row).
    pub fn rank(&mut self, profile_id: i64, leaderboard_id: i64) -> Option<RankInfo> {
        let idx = self.index_of(profile_id)?;
        self.rank_at(idx, leaderboard_id)
    }

    pub(crate) fn index_of(&self, profile_id: i64) -> Option<usize> {
        self.by_profile.get(&profile_id).copied()
    }

    pub(crate) fn player_at(&self, idx: usize) -> &Player {
        &self.players[idx]
    }

    pub(crate) fn history_at(&self, idx: usize) -> &VecDeque<Arc<MatchRecord>> {
        &self.histories[idx]
    }

    pub(crate) fn index_of_name(&self, name: &str) -> Option<usize> {
        self.players.iter().position(|p| p.name == name)
    }

    /// Aliases are not unique: every player with that (non-empty) alias.
    pub(crate) fn indices_of_alias(&self, alias: &str) -> Vec<usize> {
        if alias.is_empty() {
            return Vec::new();
        }
        (0..self.players.len())
            .filter(|&i| self.players[i].alias == alias)
            .collect()
    }

    pub(crate) fn rank_at(&mut self, idx: usize, leaderboard_id: i64) -> Option<RankInfo> {
        self.refresh_ranks();
        self.ranks
            .as_ref()
            .and_then(|c| c.ranks.get(&(leaderboard_id, idx)).copied())
    }

    /// Ranked players of a ladder, best first.
    pub(crate) fn ranked_order(&mut self, leaderboard_id: i64) -> Vec<usize> {
        self.refresh_ranks();
        self.ranks
            .as_ref()
            .and_then(|c| c.order.get(&leaderboard_id).cloned())
            .unwrap_or_default()
    }

    fn refresh_ranks(&mut self) {
        let key = (self.version, self.now());
        if self.ranks.as_ref().is_some_and(|c| c.key == key) {
            return;
        }
        let now = self.now();
        let mut ranks = BTreeMap::new();
        let mut order = BTreeMap::new();
        for lb in SIMULATED_LEADERBOARDS {
            let mut ranked: Vec<usize> = (0..self.players.len())
                .filter(|&i| {
                    self.players[i].stats.get(&lb).is_some_and(|s| {
                        s.games() >= RANKED_MIN_GAMES && now - s.last_match <= RANKED_MAX_IDLE_SECS
                    })
                })
                .collect();
            // Best rating first; ties by profile id so the order is stable.
            ranked.sort_by_key(|&i| {
                let p = &self.players[i];
                (std::cmp::Reverse(p.stats[&lb].rating), p.profile_id)
            });
            let total = ranked.len() as i64;
            let mut region_totals: BTreeMap<i64, i64> = BTreeMap::new();
            for &i in &ranked {
                *region_totals.entry(self.players[i].region_id).or_default() += 1;
            }
            let mut region_seen: BTreeMap<i64, i64> = BTreeMap::new();
            let mut is_ranked = vec![false; self.players.len()];
            for (pos, &i) in ranked.iter().enumerate() {
                is_ranked[i] = true;
                let region = self.players[i].region_id;
                let seen = region_seen.entry(region).or_default();
                *seen += 1;
                ranks.insert(
                    (lb, i),
                    RankInfo {
                        rank: pos as i64 + 1,
                        rank_total: total,
                        region_rank: *seen,
                        region_rank_total: region_totals[&region],
                        rank_level: 1,
                    },
                );
            }
            for (i, p) in self.players.iter().enumerate() {
                if p.stats.contains_key(&lb) && !is_ranked[i] {
                    ranks.insert(
                        (lb, i),
                        RankInfo {
                            rank: -1,
                            rank_total: total,
                            region_rank: -1,
                            region_rank_total: region_totals
                                .get(&p.region_id)
                                .copied()
                                .unwrap_or(-1),
                            rank_level: 0,
                        },
                    );
                }
            }
            order.insert(lb, ranked);
        }
        self.ranks = Some(RankCache { key, ranks, order });
    }

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

    // ------------------------------------------------------------------ forced controls

    /// Play a game between the given players now (it ends at the current time) and return
    /// its match id. Ratings, peaks, streaks and W/L move as for any ranked game.
    pub fn play_match(&mut self, spec: &MatchSpec) -> Result<i64, SimError> {
        if spec.teams.len() != 2 {
            return Err(SimError::InvalidTeams(
                "exactly two teams are needed".into(),
            ));
        }
        let size = spec.teams[0].len();
        if size == 0 || size > 4 || spec.teams[1].len() != size {
            return Err(SimError::InvalidTeams(
                "teams must have the same size, 1 to 4 players".into(),
            ));
        }
        if spec.winner > 1 {
            return Err(SimError::InvalidWinner(spec.winner));
        }
        let mut teams = Vec::with_capacity(2);
        let mut seen = BTreeSet::new();
        for team in &spec.teams {
            let mut idxs = Vec::with_capacity(size);
            for &pid in team {
                let idx = self.index_of(pid).ok_or(SimError::UnknownProfile(pid))?;
                if !seen.insert(pid) {
                    return Err(SimError::DuplicateProfile(pid));
                }
                idxs.push(idx);
            }
            teams.push(idxs);
        }
        let default_board = if size == 1 { LB_SOLO_RM } else { LB_TEAM_RM };
        let matchtype_id = spec
            .matchtype_id
            .or_else(|| matchtype_for(default_board, size))
            .unwrap_or(6);
        let leaderboard = leaderboard_for_matchtype(matchtype_id)
            .filter(|_| team_size_for_matchtype(matchtype_id) == Some(size))
            .ok_or(SimError::InvalidMatchtype(matchtype_id))?;
        if let Some(civs) = &spec.civs {
            if civs.len() != 2 || civs.iter().any(|c| c.len() != size) {
                return Err(SimError::InvalidTeams(
                    "civs must have the shape of teams".into(),
                ));
            }
            if let Some(&bad) = civs.iter().flatten().find(|&&c| !is_known_civ(c)) {
                return Err(SimError::UnknownCivilization(bad));
            }
        }
        if let Some(map) = spec.map_id {
            if upstream::maps::map_for_locstring(map).is_none() {
                return Err(SimError::UnknownMap(map));
            }
        }
        let now = self.now();
        let duration = match spec.duration_secs {
            Some(d) => d.clamp(1, 24 * 3600),
            None => self.draw_duration(matchtype_id),
        };
        let mut pending = self.new_ranked_match(
            matchtype_id,
            leaderboard,
            teams,
            now - duration,
            now,
            spec.map_id,
            spec.lying_mapname,
        );
        if let Some(civs) = &spec.civs {
            pending.civs = civs.clone();
        }
        let id = pending.id;
        self.resolve(pending, spec.winner, spec.report_civ_zero);
        Ok(id)
    }

    /// Open a lobby (standard map, `mapname: "my map"`) with these members; it stays open
    /// until [`Ladder::close_lobby`]. The first member hosts.
    pub fn open_lobby(&mut self, members: &[i64]) -> Result<i64, SimError> {
        if members.is_empty() || members.len() > 8 {
            return Err(SimError::InvalidLobby("1 to 8 members".into()));
        }
        let mut seen = BTreeSet::new();
        for &pid in members {
            self.index_of(pid).ok_or(SimError::UnknownProfile(pid))?;
            if !seen.insert(pid) {
                return Err(SimError::DuplicateProfile(pid));
            }
        }
        let now = self.now();
        let id = self.alloc_id();
        let max_players = if members.len() <= 2 { 2 } else { 8 };
        let description = match members {
            [a, b] => format!(
                "{} vs {} - Bo7 G1",
                self.alias_or_id(*a),
                self.alias_or_id(*b)
            ),
            _ => "Tournament lobby".to_owned(),
        };
        let lobby = self.build_lobby(
            id,
            members.to_vec(),
            max_players,
            10875,
            "my map".to_owned(),
            description,
            true,
            now,
            None,
        );
        self.lobbies.insert(id, lobby);
        self.version += 1;
        Ok(id)
    }

    /// Close a lobby (no game is recorded). Returns whether it was open.
    pub fn close_lobby(&mut self, id: i64) -> bool {
        let Some(lobby) = self.lobbies.remove(&id) else {
            return false;
        };
        if let Some(at) = lobby.close_at {
            self.lobby_closes.remove(&(at, id));
            // Another lobby takes its place: the configured count holds at any time.
            self.open_auto_lobby(self.now());
        }
        self.version += 1;
        true
    }

    // ------------------------------------------------------------------ background games

    fn draw_next_game(&mut self, from: i64) -> i64 {
        let games_per_sec = self.players.len() as f64 * self.activity / PLAYERS_PER_GAME / 3600.0;
        if games_per_sec <= 0.0 {
            return i64::MAX;
        }
        from + exp_secs(&mut self.rng, 1.0 / games_per_sec)
    }

    /// A random idle player, picked in proportion to their activity.
    fn pick_idle(&mut self, exclude: &[usize]) -> Option<usize> {
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

    fn rating_on(&self, idx: usize, leaderboard: i64) -> i64 {
        self.players[idx]
            .stats
            .get(&leaderboard)
            .map_or(START_RATING, |s| s.rating)
    }

    /// Matchmaking: a seed player plus the closest-rated of a sample of idle players.
    fn start_background_game(&mut self, t: i64) {
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

    fn draw_duration(&mut self, matchtype_id: i64) -> i64 {
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
    fn new_ranked_match(
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

    fn random_civ(&mut self) -> i64 {
        loop {
            let civ = self.rng.gen_range(0..CIVILIZATIONS.len() as i64);
            if is_ladder_civ(civ) {
                return civ;
            }
        }
    }

    fn finish_next_match(&mut self) {
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
    fn expected_score(&self, teams: &[Vec<usize>], leaderboard: i64) -> f64 {
        let avg = |team: &Vec<usize>| {
            team.iter()
                .map(|&i| self.rating_on(i, leaderboard) as f64)
                .sum::<f64>()
                / team.len().max(1) as f64
        };
        1.0 / (1.0 + 10f64.powf((avg(&teams[1]) - avg(&teams[0])) / 400.0))
    }

    /// Finish a game: move ratings, build the record, file it in every participant's window.
    fn resolve(&mut self, pending: PendingMatch, winner: usize, report_civ_zero: Option<bool>) {
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

    fn draw_replay(&mut self, match_id: i64) -> Option<Replay> {
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

    fn alloc_id(&mut self) -> i64 {
        // Other titles and regions share the id space: ids grow with gaps.
        self.next_id += self.rng.gen_range(1..40);
        self.next_id
    }

    // ------------------------------------------------------------------ lobbies

    fn alias_or_id(&self, profile_id: i64) -> String {
        match self.player(profile_id) {
            Some(p) if !p.alias.is_empty() => p.alias.clone(),
            _ => profile_id.to_string(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn build_lobby(
        &mut self,
        id: i64,
        members: Vec<i64>,
        max_players: i64,
        map_id: i64,
        mapname: String,
        description: String,
        password_protected: bool,
        opened_at: i64,
        close_at: Option<i64>,
    ) -> Lobby {
        let host = members.first().copied().unwrap_or(-1);
        let size = usize::try_from(max_players / 2).unwrap_or(1);
        Lobby {
            id,
            steam_lobby_id: 109_775_240_000_000_000 + self.rng.gen_range(0..10_000_000_000),
            host_profile_id: host,
            description,
            mapname,
            map_id,
            options: blobs::options(map_id, MATCHTYPE_CUSTOM, size, password_protected),
            slotinfo: lobby_slotinfo(&members, max_players),
            password_protected,
            max_players,
            members,
            observers: self.rng.gen_range(0..40),
            relay_region: RELAY_REGIONS[self.rng.gen_range(0..RELAY_REGIONS.len())],
            opened_at,
            close_at,
        }
    }

    fn open_auto_lobby(&mut self, t: i64) {
        let id = self.alloc_id();
        let max_players = [2, 2, 4, 8][self.rng.gen_range(0..4)];
        let wanted = self
            .rng
            .gen_range(1..=max_players as usize)
            .min(self.players.len());
        let mut members: Vec<i64> = Vec::with_capacity(wanted);
        while members.len() < wanted {
            let pid = self.players[self.rng.gen_range(0..self.players.len())].profile_id;
            if !members.contains(&pid) {
                members.push(pid);
            }
        }
        let custom_rms = self.rng.gen_bool(0.3);
        let (map_id, mapname, description) = if custom_rms {
            let rms = CUSTOM_RMS[self.rng.gen_range(0..CUSTOM_RMS.len())];
            let title = RMS_LOBBY_TITLES[self.rng.gen_range(0..RMS_LOBBY_TITLES.len())];
            (0, rms.to_owned(), title.to_owned())
        } else {
            let (map, _) = upstream::maps::VERIFIED_MAPS
                [self.rng.gen_range(0..upstream::maps::VERIFIED_MAPS.len())];
            let title = if members.len() == 2 && self.rng.gen_bool(0.5) {
                format!(
                    "{} vs {} - Bo{} G{}",
                    self.alias_or_id(members[0]),
                    self.alias_or_id(members[1]),
                    [5, 7][self.rng.gen_range(0..2)],
                    self.rng.gen_range(1..5)
                )
            } else {
                LOBBY_TITLES[self.rng.gen_range(0..LOBBY_TITLES.len())].to_owned()
            };
            (map, "my map".to_owned(), title)
        };
        let close_at = t + self.rng.gen_range(300..2400);
        let password = self.rng.gen_bool(0.2);
        let lobby = self.build_lobby(
            id,
            members,
            max_players,
            map_id,
            mapname,
            description,
            password,
            t,
            Some(close_at),
        );
        self.lobbies.insert(id, lobby);
        self.lobby_closes.insert((close_at, id));
        self.version += 1;
    }

    /// An auto lobby closes; half of those with 2+ players start an unranked custom game
    /// (same id) that shows up in the members' histories when it ends.
    fn close_next_auto_lobby(&mut self, t: i64) {
        let Some((_, id)) = self.lobby_closes.pop_first() else {
            return;
        };
        let Some(lobby) = self.lobbies.remove(&id) else {
            return;
        };
        self.version += 1;
        // Another lobby takes its place: the configured count holds at any time.
        self.open_auto_lobby(t);
        if lobby.members.len() < 2 || !self.rng.gen_bool(0.5) {
            return;
        }
        let idxs: Vec<usize> = lobby
            .members
            .iter()
            .filter_map(|&pid| self.index_of(pid))
            .collect();
        let mut teams = vec![Vec::new(), Vec::new()];
        for (pos, &i) in idxs.iter().enumerate() {
            teams[pos % 2].push(i);
        }
        let civs = teams
            .iter()
            .map(|team| team.iter().map(|_| self.random_civ()).collect())
            .collect();
        let mapname = if lobby.map_id > 0 {
            rms_name(lobby.map_id)
        } else {
            lobby.mapname.clone()
        };
        let end = t + self.rng.gen_range(1200..3000);
        let creator = idxs[0];
        let pending = PendingMatch {
            id,
            matchtype_id: MATCHTYPE_CUSTOM,
            leaderboard: None,
            teams,
            civs,
            map_id: lobby.map_id,
            mapname,
            options: lobby.options,
            description: lobby.description,
            max_players: lobby.max_players,
            started_at: t,
            completed_at: end,
            observers: lobby.observers,
            creator,
        };
        self.ongoing.insert((end, id), pending);
    }

    /// Someone joins a random auto lobby that has room.
    fn lobby_join(&mut self, t: i64) {
        let auto: Vec<i64> = self
            .lobbies
            .values()
            .filter(|l| l.close_at.is_some() && (l.members.len() as i64) < l.max_players)
            .map(|l| l.id)
            .collect();
        self.next_join_at = t + exp_secs(&mut self.rng, 120.0 / auto.len().max(1) as f64);
        if auto.is_empty() {
            return;
        }
        let id = auto[self.rng.gen_range(0..auto.len())];
        let pid = self.players[self.rng.gen_range(0..self.players.len())].profile_id;
        if let Some(lobby) = self.lobbies.get_mut(&id) {
            if !lobby.members.contains(&pid) {
                lobby.members.push(pid);
                lobby.slotinfo = lobby_slotinfo(&lobby.members, lobby.max_players);
                self.version += 1;
            }
        }
    }
}

fn lobby_slotinfo(members: &[i64], max_players: i64) -> String {
    let slots: Vec<blobs::SlotPlayer> = members.iter().map(|&pid| (pid, -1, -1)).collect();
    blobs::slotinfo(
        &slots,
        usize::try_from(max_players).unwrap_or(0),
        MATCHTYPE_CUSTOM,
    )
}

fn is_known_civ(civ: i64) -> bool {
    (0..CIVILIZATIONS.len() as i64).contains(&civ)
}

/// The `.rms` file name upstream would report for a map (`Black Forest` → `Black_Forest.rms`).
pub fn rms_name(map_id: i64) -> String {
    match upstream::maps::map_for_locstring(map_id) {
        Some(name) => format!("{}.rms", name.replace(' ', "_")),
        None => "unknown.rms".to_owned(),
    }
}

/// Exponentially distributed whole seconds (≥ 1) with the given mean.
fn exp_secs(rng: &mut StdRng, mean: f64) -> i64 {
    let u: f64 = rng.gen();
    let secs = -mean * (1.0 - u).ln();
    if secs.is_finite() {
        (secs.round() as i64).clamp(1, 365 * 24 * 3600)
    } else {
        1
    }
}

/// Standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn pick_weighted(rng: &mut StdRng, items: &[(i64, f64)]) -> i64 {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen::<f64>() * total;
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items.last().map_or(0, |&(item, _)| item)
}

// ---------------------------------------------------------------------- generation

fn generate_players(rng: &mut StdRng, n: usize, now: i64) -> Vec<Player> {
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

#[cfg(test)]
mod tests {
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
}
