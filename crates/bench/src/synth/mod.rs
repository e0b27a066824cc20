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

mod games;
mod profiles;
#[cfg(test)]
mod tests;
mod tournaments;

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
