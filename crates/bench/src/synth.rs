//! A synthetic event log shaped like production: a few tournaments with rosters of 32–100
//! players (some with teams), a few thousand polled profiles whose rank, rating and identity
//! observations dominate, finished matches of 2–8 players (tracked players and untracked
//! opponents), custom lobbies that open, change, close and are then played (so lobbies and
//! finished matches share ids, in both orders, plus stale re-sightings of played lobbies), and
//! the occasional catalog refresh, roster edit and creator grant.
//!
//! Payloads are real domain events serialised like the event store does, so every event
//! decodes; sequences are per aggregate, `recorded_at` follows a simulated clock. The same
//! [`Spec`] always generates the same log.
//!
//! [`load`] writes it into `events` with `COPY`, one transaction per chunk.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use domain::catalog::{CatalogEvent, Civilization, Leaderboard};
use domain::lobby::{LobbyEvent, LobbySnapshot, LobbyState};
use domain::matches::{FinishedMatch, MatchEvent, MatchPlayer, Outcome};
use domain::operator::OperatorEvent;
use domain::profile::{LadderStats, ProfileEvent, ProfileIdentity};
use domain::tournament::{RankBy, TournamentConfig, TournamentEvent};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::PgConnection;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    pub events: usize,
    /// Polled (tracked) profiles.
    pub profiles: usize,
    pub tournaments: usize,
    pub seed: u64,
}

/// One row of `events`.
#[derive(Clone, Debug)]
pub struct Event {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: String,
    pub metadata: &'static str,
    pub recorded_at: DateTime<Utc>,
}

const POLLER: &str = r#"{"actor":"poller"}"#;
const OWNER: &str = r#"{"actor":"user:6f1c2a9e-0000-4000-8000-00000000b0b0"}"#;
const OPERATOR: &str = r#"{"actor":"operator:bench"}"#;
const OWNER_ID: &str = "6f1c2a9e-0000-4000-8000-00000000b0b0";

const MAPS: &[&str] = &[
    "Arabia",
    "Arena",
    "Black Forest",
    "Hideout",
    "Nomad",
    "Four Lakes",
    "Socotra",
    "Bohemia",
    "Golden Pit",
    "Team Islands",
    "Megarandom",
    "Land Madness",
];
const COUNTRIES: &[&str] = &["de", "fr", "br", "cn", "us", "vn", "es", "it", "pl", "ca"];

struct Player {
    id: i64,
    identity: ProfileIdentity,
    /// (leaderboard id, stats), at most one per ladder.
    ladders: Vec<(i64, LadderStats)>,
    /// Upstream omits the peak for some accounts: `highest_rating` stays 0.
    no_peak: bool,
}

struct OpenLobby {
    snapshot: LobbySnapshot,
    /// Already recorded as a finished match (played while still listed).
    finished: bool,
}

struct Entry {
    id: i64,
    profile: Option<i64>,
    team: Option<i64>,
}

struct Team {
    id: i64,
    members: Vec<i64>,
    captain: Option<i64>,
}

struct Tourney {
    id: i64,
    slug: String,
    config: TournamentConfig,
    roster: Vec<Entry>,
    teams: Vec<Team>,
    owners: Vec<String>,
}

/// The generator: call [`Synth::next_chunk`] until it returns an empty vector.
pub struct Synth {
    spec: Spec,
    rng: StdRng,
    clock: DateTime<Utc>,
    sequences: HashMap<(&'static str, String), i64>,
    players: Vec<Player>,
    open: Vec<OpenLobby>,
    /// Lobbies that closed and will show up as finished matches.
    played: Vec<LobbySnapshot>,
    /// Lobbies already finished, which a stale listing may show again.
    finished: Vec<LobbySnapshot>,
    next_id: i64,
    tournaments: Vec<Tourney>,
    next_tournament_player: i64,
    next_team: i64,
    /// Events generated so far (including those still in `out`).
    generated: usize,
    out: VecDeque<Event>,
    next_catalog: usize,
    catalog_round: i64,
    started: bool,
}

impl Synth {
    pub fn new(spec: Spec) -> Synth {
        let rng = StdRng::seed_from_u64(spec.seed);
        Synth {
            spec,
            rng,
            clock: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(), // 2026-01-01
            sequences: HashMap::new(),
            players: Vec::new(),
            open: Vec::new(),
            played: Vec::new(),
            finished: Vec::new(),
            next_id: 480_000_000,
            tournaments: Vec::new(),
            next_tournament_player: 1,
            next_team: 1,
            generated: 0,
            out: VecDeque::new(),
            next_catalog: 0,
            catalog_round: 0,
            started: false,
        }
    }

    /// Up to `max` more events, in log order; empty once `spec.events` have been returned.
    pub fn next_chunk(&mut self, max: usize) -> Vec<Event> {
        let mut chunk = Vec::with_capacity(max);
        while chunk.len() < max {
            if let Some(e) = self.out.pop_front() {
                chunk.push(e);
                continue;
            }
            if self.generated >= self.spec.events {
                break;
            }
            self.act();
        }
        chunk
    }

    fn emit<T: serde::Serialize>(
        &mut self,
        aggregate_type: &'static str,
        aggregate_id: String,
        metadata: &'static str,
        event: &T,
    ) {
        if self.generated >= self.spec.events {
            return;
        }
        let payload = serde_json::to_string(event).expect("domain events serialise");
        // Externally tagged: `{"<EventType>":...}`; the tag is the stored event type.
        let event_type = payload
            .get(2..)
            .and_then(|p| p.split('"').next())
            .unwrap_or_default()
            .to_string();
        let sequence = self
            .sequences
            .entry((aggregate_type, aggregate_id.clone()))
            .or_insert(0);
        *sequence += 1;
        self.out.push_back(Event {
            aggregate_type,
            aggregate_id,
            sequence: *sequence,
            event_type,
            payload,
            metadata,
            recorded_at: self.clock,
        });
        self.generated += 1;
    }

    fn tick(&mut self) {
        let ms = self.rng.gen_range(0..6_000);
        self.clock += Duration::milliseconds(ms);
    }

    fn act(&mut self) {
        if !self.started {
            self.started = true;
            self.start();
            return;
        }
        self.tick();
        if self.generated >= self.next_catalog {
            self.catalog();
            self.next_catalog += 250_000;
        }
        // Tournaments after the first half are created along the way.
        let created = self.tournaments.len();
        if created < self.spec.tournaments {
            let due = self.spec.events * created / self.spec.tournaments.max(1);
            if self.generated >= due {
                self.create_tournament();
                return;
            }
        }
        let roll = self.rng.gen_range(0..1000);
        match roll {
            0..380 => self.rank(),
            380..470 => self.game(),
            470..570 => {
                let p = self.rng.gen_range(0..self.players.len());
                let delta =
                    self.rng.gen_range(6..=24) * if self.rng.gen_bool(0.5) { 1 } else { -1 };
                self.rating(p, None, Some(delta));
            }
            570..610 => {
                let p = self.rng.gen_range(0..self.players.len());
                self.rating(p, None, None);
            }
            610..724 => {
                let p = self.rng.gen_range(0..self.players.len());
                self.identity(p);
            }
            724..804 => self.lobby(),
            804..805 => self.roster_edit(),
            _ => self.rank(),
        }
    }

    /// The catalog, creators, the first tournaments and every profile's first sighting.
    fn start(&mut self) {
        self.catalog();
        self.next_catalog = 250_000;
        for i in 0..3 {
            let event = OperatorEvent::CreatorGranted {
                user_id: format!("6f1c2a9e-0000-4000-8000-00000000b0b{i}"),
                granted_at: self.clock,
            };
            self.emit("Operator", "creators".into(), OPERATOR, &event);
        }
        for i in 0..self.spec.profiles {
            let id = 100_000 + i as i64 * 37;
            let ladders = match self.rng.gen_range(0..10) {
                0..5 => vec![3],
                5..8 => vec![3, 4],
                8 => vec![4, 14],
                _ => vec![3, 4, 13],
            };
            let base = self.rng.gen_range(700..2500);
            let no_peak = self.rng.gen_bool(0.05);
            let ladders = ladders
                .into_iter()
                .map(|lb| {
                    let rating = base + self.rng.gen_range(-150..150);
                    let stats = LadderStats {
                        leaderboard_id: lb,
                        rating,
                        highest_rating: if no_peak {
                            0
                        } else {
                            rating + self.rng.gen_range(0..120)
                        },
                        wins: self.rng.gen_range(10..2000),
                        losses: self.rng.gen_range(10..2000),
                        streak: self.rng.gen_range(-5..6),
                        drops: self.rng.gen_range(0..20),
                        rank: Some(self.rng.gen_range(1..40_000)),
                        rank_total: Some(40_000),
                        region_rank: self.rng.gen_bool(0.8).then(|| self.rng.gen_range(1..9_000)),
                        region_rank_total: Some(9_000),
                        last_match_at: Some(
                            self.clock - Duration::hours(self.rng.gen_range(1..500)),
                        ),
                    };
                    (lb, stats)
                })
                .collect();
            let identity = ProfileIdentity {
                alias: format!("Player{i}"),
                country: Some(COUNTRIES[self.rng.gen_range(0..COUNTRIES.len())].into()),
                steam_id: self
                    .rng
                    .gen_bool(0.9)
                    .then(|| format!("7656119{:010}", self.rng.gen_range(0..9_999_999_999u64))),
                level: self.rng.gen_range(1..100),
                xp: self.rng.gen_range(0..500_000),
                region_id: self.rng.gen_range(0..5),
                clan_name: self.rng.gen_bool(0.3).then(|| format!("CLAN{}", i % 97)),
            };
            self.players.push(Player {
                id,
                identity,
                ladders,
                no_peak,
            });
        }
        for _ in 0..self.spec.tournaments.div_ceil(2) {
            self.create_tournament();
        }
        for p in 0..self.players.len() {
            self.tick();
            self.identity(p);
            for l in 0..self.players[p].ladders.len() {
                let stats = self.players[p].ladders[l].1.clone();
                let event = ProfileEvent::RatingObserved {
                    profile_id: self.players[p].id,
                    stats,
                    observed_at: self.clock,
                };
                self.emit("Profile", self.players[p].id.to_string(), POLLER, &event);
            }
        }
    }

    fn catalog(&mut self) {
        let round = self.catalog_round;
        self.catalog_round += 1;
        let boards = [
            (1, "UNRANKED", false, vec![0]),
            (2, "DM_1V1", true, vec![1]),
            (3, "RM_1V1", true, vec![6]),
            (4, "RM_TEAM", true, vec![7, 8, 9]),
            (13, "EW_1V1", true, vec![26]),
            (14, "EW_TEAM", true, vec![27, 28, 29]),
        ];
        let event = CatalogEvent::LeaderboardsObserved {
            leaderboards: boards
                .into_iter()
                .map(|(id, name, ranked, types)| Leaderboard {
                    leaderboard_id: id,
                    name: name.into(),
                    is_ranked: ranked,
                    matchtype_ids: types,
                })
                .collect(),
            observed_at: self.clock,
        };
        self.emit("Catalog", "age2".into(), POLLER, &event);
        // A new civilization now and then.
        let event = CatalogEvent::CivilizationsObserved {
            civilizations: (1..=45 + round)
                .map(|id| Civilization {
                    civilization_id: id,
                    name: format!("Civ {id}"),
                })
                .collect(),
            observed_at: self.clock,
        };
        self.emit("Catalog", "age2".into(), POLLER, &event);
    }

    fn create_tournament(&mut self) {
        let k = self.tournaments.len() as i64;
        let id = k + 1;
        let slug = format!("bench-{k}");
        let config = TournamentConfig {
            name: format!("Bench Cup {k}"),
            leaderboard_id: if k % 3 == 2 { 4 } else { 3 },
            rank_by: if k % 2 == 0 {
                RankBy::PeakRating
            } else {
                RankBy::CurrentRating
            },
            start_date: Some(self.clock),
            end_date: Some(self.clock + Duration::days(30)),
            prize_pool_cents: (k % 2 == 0).then_some(100_000 * (k + 1)),
            host_stream_urls: vec![format!("https://twitch.tv/bench{k}")],
            presentation: json!({"accent": "#aa3300", "round": k}),
        };
        let created = TournamentEvent::TournamentCreated {
            tournament_id: id,
            slug: slug.clone(),
            config: config.clone(),
            created_at: self.clock,
        };
        self.emit("Tournament", slug.clone(), OWNER, &created);
        let granted = TournamentEvent::OwnerGranted {
            tournament_id: id,
            user_id: OWNER_ID.into(),
            granted_at: self.clock,
        };
        self.emit("Tournament", slug.clone(), OWNER, &granted);
        self.tournaments.push(Tourney {
            id,
            slug,
            config,
            roster: Vec::new(),
            teams: Vec::new(),
            owners: vec![OWNER_ID.into()],
        });
        let t = self.tournaments.len() - 1;
        let size = self.rng.gen_range(32..=100);
        let picks: Vec<usize> = rand::seq::index::sample(
            &mut self.rng,
            self.players.len(),
            size.min(self.players.len()),
        )
        .into_vec();
        for p in picks {
            // About one in twenty starts as a placeholder, linked later.
            let profile = (!self.rng.gen_bool(0.05)).then_some(self.players[p].id);
            self.add_to_roster(t, profile);
        }
        if k % 2 == 0 {
            let entries: Vec<i64> = self.tournaments[t].roster.iter().map(|e| e.id).collect();
            for four in entries.chunks_exact(4).take(8) {
                let team_id = self.next_team;
                self.next_team += 1;
                let event = TournamentEvent::TeamCreated {
                    tournament_id: id,
                    team_id,
                    name: format!("Team {team_id}"),
                    initials: format!("T{team_id}"),
                };
                self.emit_tournament(t, &event);
                self.tournaments[t].teams.push(Team {
                    id: team_id,
                    members: Vec::new(),
                    captain: None,
                });
                for member in four {
                    self.add_member(t, team_id, *member);
                }
                self.set_captain(t, team_id, four[0]);
            }
        }
    }

    fn emit_tournament(&mut self, t: usize, event: &TournamentEvent) {
        let slug = self.tournaments[t].slug.clone();
        self.emit("Tournament", slug, OWNER, event);
    }

    fn add_to_roster(&mut self, t: usize, profile: Option<i64>) {
        let id = self.next_tournament_player;
        self.next_tournament_player += 1;
        let name = match profile {
            Some(p) => format!("P{p}"),
            None => format!("Placeholder {id}"),
        };
        let event = TournamentEvent::PlayerAddedToRoster {
            tournament_id: self.tournaments[t].id,
            tournament_player_id: id,
            name: name.clone(),
            profile_id: profile,
            presentation: json!({"displayName": name, "streamUrls": [format!("https://twitch.tv/p{id}")]}),
        };
        self.emit_tournament(t, &event);
        self.tournaments[t].roster.push(Entry {
            id,
            profile,
            team: None,
        });
    }

    fn add_member(&mut self, t: usize, team_id: i64, entry: i64) {
        let event = TournamentEvent::TeamMemberAdded {
            tournament_id: self.tournaments[t].id,
            team_id,
            tournament_player_id: entry,
        };
        self.emit_tournament(t, &event);
        if let Some(e) = self.tournaments[t]
            .roster
            .iter_mut()
            .find(|e| e.id == entry)
        {
            e.team = Some(team_id);
        }
        if let Some(team) = self.tournaments[t]
            .teams
            .iter_mut()
            .find(|x| x.id == team_id)
        {
            team.members.push(entry);
        }
    }

    fn set_captain(&mut self, t: usize, team_id: i64, entry: i64) {
        let Some(team) = self.tournaments[t].teams.iter().find(|x| x.id == team_id) else {
            return;
        };
        let event = TournamentEvent::TeamCaptainSet {
            tournament_id: self.tournaments[t].id,
            team_id,
            tournament_player_id: entry,
            previous_captain: team.captain,
        };
        self.emit_tournament(t, &event);
        if let Some(team) = self.tournaments[t]
            .teams
            .iter_mut()
            .find(|x| x.id == team_id)
        {
            team.captain = Some(entry);
        }
    }

    /// A rare edit of a random tournament: config, roster, teams or owners.
    fn roster_edit(&mut self) {
        if self.tournaments.is_empty() {
            return;
        }
        let t = self.rng.gen_range(0..self.tournaments.len());
        let tid = self.tournaments[t].id;
        match self.rng.gen_range(0..9) {
            0 => {
                let mut config = self.tournaments[t].config.clone();
                config.prize_pool_cents = Some(self.rng.gen_range(1..1_000) * 10_000);
                config.name = format!("{} (updated)", self.tournaments[t].slug);
                self.tournaments[t].config = config.clone();
                let event = TournamentEvent::TournamentUpdated {
                    tournament_id: tid,
                    config,
                    changed: vec!["name".into(), "prize_pool_cents".into()],
                };
                self.emit_tournament(t, &event);
            }
            1 | 2 => {
                // A newly rostered profile: from now on its observations nudge this tournament.
                let on: HashSet<i64> = self.tournaments[t]
                    .roster
                    .iter()
                    .filter_map(|e| e.profile)
                    .collect();
                let p = self.rng.gen_range(0..self.players.len());
                if !on.contains(&self.players[p].id) {
                    self.add_to_roster(t, Some(self.players[p].id));
                }
            }
            3 => {
                let free: Vec<usize> = (0..self.tournaments[t].roster.len())
                    .filter(|i| self.tournaments[t].roster[*i].team.is_none())
                    .collect();
                if let Some(&i) = free.choose(&mut self.rng) {
                    let entry = self.tournaments[t].roster.remove(i);
                    let event = TournamentEvent::PlayerRemovedFromRoster {
                        tournament_id: tid,
                        tournament_player_id: entry.id,
                    };
                    self.emit_tournament(t, &event);
                }
            }
            4 => {
                let on: HashSet<i64> = self.tournaments[t]
                    .roster
                    .iter()
                    .filter_map(|e| e.profile)
                    .collect();
                let p = self.players[self.rng.gen_range(0..self.players.len())].id;
                let placeholder = self.tournaments[t]
                    .roster
                    .iter()
                    .position(|e| e.profile.is_none());
                if let (Some(i), false) = (placeholder, on.contains(&p)) {
                    self.tournaments[t].roster[i].profile = Some(p);
                    let event = TournamentEvent::RosterPlayerLinked {
                        tournament_id: tid,
                        tournament_player_id: self.tournaments[t].roster[i].id,
                        profile_id: p,
                    };
                    self.emit_tournament(t, &event);
                }
            }
            5 => {
                if let Some(e) = self.tournaments[t].roster.choose(&mut self.rng) {
                    let event = TournamentEvent::RosterPlayerUpdated {
                        tournament_id: tid,
                        tournament_player_id: e.id,
                        presentation: json!({"displayName": format!("Edited {}", e.id)}),
                    };
                    self.emit_tournament(t, &event);
                }
            }
            6 => {
                let teams: Vec<(i64, Vec<i64>, Option<i64>)> = self.tournaments[t]
                    .teams
                    .iter()
                    .map(|x| (x.id, x.members.clone(), x.captain))
                    .collect();
                if let Some((team_id, members, captain)) = teams.choose(&mut self.rng).cloned() {
                    match (members.choose(&mut self.rng).copied(), captain) {
                        (Some(m), Some(c)) if m == c => {
                            let event = TournamentEvent::TeamCaptainCleared {
                                tournament_id: tid,
                                team_id,
                                tournament_player_id: c,
                            };
                            self.emit_tournament(t, &event);
                            if let Some(x) = self.tournaments[t]
                                .teams
                                .iter_mut()
                                .find(|x| x.id == team_id)
                            {
                                x.captain = None;
                            }
                        }
                        (Some(m), _) => self.set_captain(t, team_id, m),
                        (None, _) => {}
                    }
                }
            }
            7 => {
                // Move a member out of a team (not its captain).
                let pick = self.tournaments[t].teams.iter().find_map(|x| {
                    x.members
                        .iter()
                        .find(|m| Some(**m) != x.captain)
                        .map(|m| (x.id, *m))
                });
                if let Some((team_id, member)) = pick {
                    let event = TournamentEvent::TeamMemberRemoved {
                        tournament_id: tid,
                        team_id,
                        tournament_player_id: member,
                    };
                    self.emit_tournament(t, &event);
                    if let Some(x) = self.tournaments[t]
                        .teams
                        .iter_mut()
                        .find(|x| x.id == team_id)
                    {
                        x.members.retain(|m| *m != member);
                    }
                    if let Some(e) = self.tournaments[t]
                        .roster
                        .iter_mut()
                        .find(|e| e.id == member)
                    {
                        e.team = None;
                    }
                }
            }
            _ => {
                let user = format!(
                    "6f1c2a9e-0000-4000-8000-{:012}",
                    self.rng.gen_range(0..1000)
                );
                if self.tournaments[t].owners.contains(&user) {
                    self.tournaments[t].owners.retain(|o| *o != user);
                    let event = TournamentEvent::OwnerRevoked {
                        tournament_id: tid,
                        user_id: user,
                    };
                    self.emit_tournament(t, &event);
                } else {
                    self.tournaments[t].owners.push(user.clone());
                    let event = TournamentEvent::OwnerGranted {
                        tournament_id: tid,
                        user_id: user,
                        granted_at: self.clock,
                    };
                    self.emit_tournament(t, &event);
                }
            }
        }
    }

    /// Rank drift without a game (at most every 15 minutes per ladder in production).
    fn rank(&mut self) {
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
    fn rating(&mut self, p: usize, board: Option<i64>, delta: Option<i64>) {
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
    fn identity(&mut self, p: usize) {
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

    fn opponent(&mut self) -> i64 {
        50_000_000 + self.rng.gen_range(0..200_000)
    }

    /// A finished match and what its tracked players' next polls show.
    fn game(&mut self) {
        // Custom games come from lobbies (closed ones mostly, sometimes still listed).
        let lobby = match self.rng.gen_range(0..100) {
            0..25 if !self.played.is_empty() => {
                let i = self.rng.gen_range(0..self.played.len());
                Some(self.played.swap_remove(i))
            }
            25..30 if !self.open.is_empty() => {
                let i = self.rng.gen_range(0..self.open.len());
                if self.open[i].finished {
                    None
                } else {
                    self.open[i].finished = true;
                    Some(self.open[i].snapshot.clone())
                }
            }
            _ => None,
        };
        let (match_id, members, board, matchtype, description) = match &lobby {
            Some(s) => (
                s.lobby_id,
                s.members.clone(),
                None,
                0,
                s.description.clone(),
            ),
            None => {
                self.next_id += self.rng.gen_range(1..40);
                let per_side = match self.rng.gen_range(0..10) {
                    0..6 => 1,
                    6..8 => 2,
                    8 => 3,
                    _ => 4,
                };
                let first = self.players[self.rng.gen_range(0..self.players.len())].id;
                let mut members = vec![first];
                while members.len() < per_side * 2 {
                    let candidate = if self.rng.gen_bool(0.2) {
                        self.players[self.rng.gen_range(0..self.players.len())].id
                    } else {
                        self.opponent()
                    };
                    if !members.contains(&candidate) {
                        members.push(candidate);
                    }
                }
                let ew = self.rng.gen_bool(0.1);
                let (board, matchtype) = match (per_side, ew) {
                    (1, false) => (3, 6),
                    (1, true) => (13, 26),
                    (n, false) => (4, 5 + n as i64),
                    (n, true) => (14, 25 + n as i64),
                };
                (
                    self.next_id,
                    members,
                    Some(board),
                    matchtype,
                    Some("AUTOMATCH".to_string()),
                )
            }
        };
        let index: HashMap<i64, usize> = members
            .iter()
            .filter_map(|m| {
                self.players
                    .binary_search_by_key(m, |p| p.id)
                    .ok()
                    .map(|i| (*m, i))
            })
            .collect();
        let winner = self.rng.gen_range(0..2);
        let half = members.len().div_ceil(2);
        let mut players = Vec::with_capacity(members.len());
        let mut follow_ups = Vec::new();
        for (i, m) in members.iter().enumerate() {
            let team = i64::from(i >= half);
            let won = team == winner;
            let (alias, old, new) = match index.get(m) {
                Some(&p) => {
                    let alias = Some(self.players[p].identity.alias.clone());
                    let (old, new) = match board {
                        Some(b) => {
                            let rating = self.players[p]
                                .ladders
                                .iter()
                                .find(|(lb, _)| *lb == b)
                                .map(|(_, s)| s.rating);
                            let delta = self.rng.gen_range(6..=24) * if won { 1 } else { -1 };
                            follow_ups.push((p, b, delta));
                            (rating, rating.map(|r| r + delta))
                        }
                        None => (None, None),
                    };
                    (alias, old, new)
                }
                None => {
                    let alias = match self.rng.gen_range(0..100) {
                        0..3 => None,
                        3..5 => Some(String::new()),
                        5..8 => Some(format!("opp{m}_renamed")),
                        _ => Some(format!("opp{m}")),
                    };
                    let rating = self.rng.gen_range(700..2600);
                    let rated = board.is_some() && self.rng.gen_bool(0.95);
                    (
                        alias,
                        rated.then_some(rating),
                        rated.then_some(rating + if won { 12 } else { -12 }),
                    )
                }
            };
            players.push(MatchPlayer {
                profile_id: *m,
                alias,
                civilization_id: if self.rng.gen_bool(0.02) {
                    -1
                } else {
                    self.rng.gen_range(1..=45)
                },
                team_id: team,
                outcome: if self.rng.gen_bool(0.02) {
                    None
                } else if won {
                    Some(Outcome::Win)
                } else {
                    Some(Outcome::Loss)
                },
                old_rating: old,
                new_rating: new,
                xp_gained: self.rng.gen_range(50..300),
            });
        }
        let minutes = self.rng.gen_range(12..70);
        let finished = FinishedMatch {
            match_id,
            map_name: MAPS[self.rng.gen_range(0..MAPS.len())].into(),
            matchtype_id: matchtype,
            leaderboard_id: board,
            started_at: self.clock - Duration::minutes(minutes),
            completed_at: (!self.rng.gen_bool(0.02)).then(|| self.clock - Duration::seconds(30)),
            description,
            players,
        };
        self.emit(
            "Match",
            match_id.to_string(),
            POLLER,
            &MatchEvent::MatchFinished(finished),
        );
        if let Some(s) = lobby {
            self.finished.push(s);
        }
        for (p, b, delta) in follow_ups {
            self.tick();
            self.rating(p, Some(b), Some(delta));
            if self.rng.gen_bool(0.25) {
                self.identity(p);
            }
        }
        if board.is_none() {
            for m in &members {
                if let Some(&p) = index.get(m) {
                    if self.rng.gen_bool(0.25) {
                        self.identity(p);
                    }
                }
            }
        }
    }

    /// Lists a lobby: its `LiveMatchStarted` now, and it stays open until a later step.
    fn start_lobby(&mut self, snapshot: LobbySnapshot, finished: bool, at: DateTime<Utc>) {
        let event = LobbyEvent::LiveMatchStarted {
            snapshot: snapshot.clone(),
            started_at: at,
        };
        self.emit("Lobby", snapshot.lobby_id.to_string(), POLLER, &event);
        self.open.push(OpenLobby { snapshot, finished });
    }

    fn lobby_members(&mut self) -> Vec<i64> {
        let size = self.rng.gen_range(2..=8);
        let tracked = self.rng.gen_range(1..=3.min(size));
        let mut members = Vec::with_capacity(size);
        while members.len() < size {
            let m = if members.len() < tracked {
                self.players[self.rng.gen_range(0..self.players.len())].id
            } else {
                self.opponent()
            };
            if !members.contains(&m) {
                members.push(m);
            }
        }
        members.sort_unstable();
        members
    }

    /// A custom lobby opens, changes or closes; rarely a played one is listed again.
    fn lobby(&mut self) {
        let clock = self.clock;
        if self.rng.gen_bool(0.02) && !self.finished.is_empty() {
            // A stale listing of a lobby whose match is already recorded.
            let i = self.rng.gen_range(0..self.finished.len());
            let snapshot = self.finished.swap_remove(i);
            if !self
                .open
                .iter()
                .any(|o| o.snapshot.lobby_id == snapshot.lobby_id)
            {
                self.start_lobby(snapshot, true, clock);
            }
            return;
        }
        if self.open.len() < 3 || (self.open.len() < 40 && self.rng.gen_bool(0.35)) {
            self.next_id += self.rng.gen_range(1..40);
            let members = self.lobby_members();
            let snapshot = LobbySnapshot {
                lobby_id: self.next_id,
                map_name: if self.rng.gen_bool(0.5) {
                    "my map".into()
                } else {
                    MAPS[self.rng.gen_range(0..MAPS.len())].into()
                },
                description: Some(format!("custom game {}", self.next_id % 1000)),
                matchtype_id: 0,
                state: LobbyState::Staging,
                members,
            };
            self.start_lobby(snapshot, false, clock);
            return;
        }
        let i = self.rng.gen_range(0..self.open.len());
        if self.rng.gen_bool(0.55) {
            let mut snapshot = self.open[i].snapshot.clone();
            match self.rng.gen_range(0..3) {
                0 if snapshot.members.len() > 2 => {
                    let gone = self.rng.gen_range(0..snapshot.members.len());
                    snapshot.members.remove(gone);
                }
                1 => snapshot.map_name = MAPS[self.rng.gen_range(0..MAPS.len())].into(),
                _ => {
                    let m = self.opponent();
                    if !snapshot.members.contains(&m) && snapshot.members.len() < 8 {
                        snapshot.members.push(m);
                        snapshot.members.sort_unstable();
                    } else {
                        snapshot.description =
                            Some(format!("renamed {}", self.rng.gen_range(0..100)));
                    }
                }
            }
            let event = LobbyEvent::LiveMatchUpdated {
                snapshot: snapshot.clone(),
                observed_at: clock,
            };
            self.emit("Lobby", snapshot.lobby_id.to_string(), POLLER, &event);
            self.open[i].snapshot = snapshot;
        } else {
            let lobby = self.open.swap_remove(i);
            let event = LobbyEvent::LiveMatchEnded {
                lobby_id: lobby.snapshot.lobby_id,
                ended_at: clock,
            };
            self.emit("Lobby", lobby.snapshot.lobby_id.to_string(), POLLER, &event);
            // Most closed lobbies were played and show up in match history later.
            if !lobby.finished && self.rng.gen_bool(0.7) {
                self.played.push(lobby.snapshot);
            }
        }
    }
}

/// Counts per event type.
pub fn mix(events: &[Event], counts: &mut HashMap<String, usize>) {
    for e in events {
        *counts.entry(e.event_type.clone()).or_default() += 1;
    }
}

fn copy_escape(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// Appends `events` to the `events` table with one `COPY` (one transaction).
pub async fn load(db: &mut PgConnection, events: &[Event]) -> sqlx::Result<u64> {
    let mut buf = Vec::with_capacity(events.len() * 512);
    for e in events {
        copy_escape(&mut buf, e.aggregate_type);
        buf.push(b'\t');
        copy_escape(&mut buf, &e.aggregate_id);
        buf.push(b'\t');
        buf.extend_from_slice(e.sequence.to_string().as_bytes());
        buf.push(b'\t');
        copy_escape(&mut buf, &e.event_type);
        buf.extend_from_slice(b"\t1\t");
        copy_escape(&mut buf, &e.payload);
        buf.push(b'\t');
        copy_escape(&mut buf, e.metadata);
        buf.push(b'\t');
        buf.extend_from_slice(e.recorded_at.to_rfc3339().as_bytes());
        buf.push(b'\n');
    }
    let mut copy = db
        .copy_in_raw(
            "COPY events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                          payload, metadata, recorded_at) FROM STDIN",
        )
        .await?;
    copy.send(buf).await?;
    copy.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::AnyEvent;

    fn spec(events: usize) -> Spec {
        Spec {
            events,
            profiles: 300,
            tournaments: 4,
            seed: 7,
        }
    }

    #[test]
    fn every_event_decodes_and_sequences_are_dense() {
        let mut synth = Synth::new(spec(30_000));
        let mut all = Vec::new();
        loop {
            let chunk = synth.next_chunk(4_096);
            if chunk.is_empty() {
                break;
            }
            all.extend(chunk);
        }
        assert_eq!(all.len(), 30_000);
        let mut last: HashMap<(&str, &str), i64> = HashMap::new();
        for e in &all {
            let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            AnyEvent::decode(e.aggregate_type, &e.event_type, "1", payload)
                .unwrap_or_else(|err| panic!("{} {}: {err}", e.event_type, e.payload));
            let seq = last.entry((e.aggregate_type, &e.aggregate_id)).or_insert(0);
            assert_eq!(e.sequence, *seq + 1);
            *seq = e.sequence;
        }
        let mut counts = HashMap::new();
        mix(&all, &mut counts);
        for kind in [
            "RankObserved",
            "RatingObserved",
            "ProfileObserved",
            "MatchFinished",
            "LiveMatchStarted",
            "LiveMatchUpdated",
            "LiveMatchEnded",
            "PlayerAddedToRoster",
            "CivilizationsObserved",
        ] {
            assert!(counts.get(kind).copied().unwrap_or(0) > 0, "no {kind}");
        }
    }

    #[test]
    fn the_same_spec_generates_the_same_log() {
        let a: Vec<String> = Synth::new(spec(5_000))
            .next_chunk(10_000)
            .into_iter()
            .map(|e| e.payload)
            .collect();
        let b: Vec<String> = Synth::new(spec(5_000))
            .next_chunk(10_000)
            .into_iter()
            .map(|e| e.payload)
            .collect();
        assert_eq!(a, b);
    }
}
