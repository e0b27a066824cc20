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

mod controls;
mod games;
mod generate;
mod lobbies;
#[cfg(test)]
mod tests;

use generate::generate_players;

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
