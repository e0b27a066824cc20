//! The projector's state and what each event derives from it. Pure: [`Model::apply`] works on
//! what `db::load` fetched for the batch, and `db::flush` writes back what changed. A batch
//! of one event and a batch of many run the same code, in log order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::catalog::CatalogEvent;
use domain::lobby::LobbyEvent;
use domain::matches::{FinishedMatch, MatchEvent, Outcome};
use domain::profile::ProfileEvent;
use domain::standings::{self as rules, display_name, in_window, Game, RankKey};
use domain::stream_channel::StreamChannelEvent;
use domain::streams::channels_in_presentation;
use domain::tournament::{RankBy, TournamentConfig, TournamentEvent};
use domain::AnyEvent;
use serde::{Deserialize, Serialize};
use store::RecordedEvent;

use super::body::{self, Kind, Notification};

/// Win or loss streak lengths announced by `streak_milestone`. A constant, not a setting: two
/// deployments (or a rebuild after a settings change) must derive the same notifications from
/// the same log. Changing it is a new projector version (a rebuild).
pub const STREAK_MILESTONES: [i64; 3] = [3, 5, 10];

/// One tournament as the projector sees it (stored as JSON in `notify_tournaments.state`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tournament {
    pub slug: String,
    pub name: String,
    pub leaderboard_id: i64,
    pub rank_by: RankBy,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// `window_opened` was announced (or there is no start: open from the beginning).
    pub opened: bool,
    /// `window_closed` was announced.
    pub closed: bool,
    /// By tournament player id.
    pub roster: BTreeMap<i64, Player>,
    /// Rank 1 of the standings (tournament player id), among players with a ranked metric.
    pub leader: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Player {
    /// Base roster name (ranks ties, as in the standings).
    pub name: String,
    /// Display label (`presentation.displayName` or the base name).
    pub label: String,
    pub profile_id: Option<i64>,
    pub current_rating: Option<i64>,
    pub max_rating: Option<i64>,
    /// Highest rating observed inside the window; the first observation is the baseline.
    pub window_peak: Option<i64>,
    /// Completed in-window games on the tournament ladder.
    pub games: Vec<PlayedGame>,
    /// Open lobbies the player is in.
    pub live: BTreeSet<i64>,
    /// Stream channels the roster row names (`<platform>:<channel>`), and those live now.
    pub channels: BTreeSet<String>,
    pub streaming: BTreeSet<String>,
}

/// A completed game, short keys: a tournament holds ~40 per player.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayedGame {
    #[serde(rename = "m")]
    pub match_id: i64,
    #[serde(rename = "s")]
    pub started_at: DateTime<Utc>,
    #[serde(rename = "c")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(rename = "w")]
    pub won: bool,
    #[serde(rename = "r")]
    pub new_rating: Option<i64>,
}

impl Player {
    /// The in-window record, by the standings' own rules.
    pub fn record(&self) -> rules::Record {
        let games: Vec<Game> = self
            .games
            .iter()
            .map(|g| Game {
                match_id: g.match_id,
                started_at: g.started_at,
                completed_at: g.completed_at,
                outcome: if g.won { Outcome::Win } else { Outcome::Loss },
                new_rating: g.new_rating,
            })
            .collect();
        rules::record(&games)
    }
}

impl Tournament {
    fn from_config(slug: &str, config: &TournamentConfig) -> Self {
        Tournament {
            slug: slug.to_string(),
            name: config.name.clone(),
            leaderboard_id: config.leaderboard_id,
            rank_by: config.rank_by,
            start: config.start_date,
            end: config.end_date,
            opened: config.start_date.is_none(),
            closed: false,
            roster: BTreeMap::new(),
            leader: None,
        }
    }

    /// The window boundary still to be announced.
    pub fn next_boundary(&self) -> Option<DateTime<Utc>> {
        if !self.opened {
            self.start
        } else if !self.closed {
            self.end
        } else {
            None
        }
    }

    fn in_window(&self, at: DateTime<Utc>) -> bool {
        in_window(at, self.start, self.end)
    }

    /// The ranked metric of a player (the standings' `rank_by`).
    pub fn metric(&self, p: &Player) -> Option<i64> {
        match self.rank_by {
            RankBy::PeakRating => p.max_rating,
            RankBy::CurrentRating => p.current_rating,
        }
    }

    /// The roster in standings order (`domain::standings::rank_order`).
    pub fn ranked(&self) -> Vec<(i64, &Player)> {
        let mut rows: Vec<(i64, &Player)> = self.roster.iter().map(|(id, p)| (*id, p)).collect();
        fn key(p: &Player) -> RankKey<'_> {
            RankKey {
                max_rating: p.max_rating,
                current_rating: p.current_rating,
                base_name: &p.name,
            }
        }
        rows.sort_by(|a, b| rules::rank_order(self.rank_by, &key(a.1), &key(b.1)));
        rows
    }

    /// Rank 1, if it has a ranked metric (an unrated roster leads nothing).
    fn current_leader(&self) -> Option<i64> {
        self.ranked()
            .first()
            .filter(|(_, p)| self.metric(p).is_some())
            .map(|(id, _)| *id)
    }

    fn player_of(&self, profile: i64) -> Option<i64> {
        self.roster
            .iter()
            .find(|(_, p)| p.profile_id == Some(profile))
            .map(|(id, _)| *id)
    }
}

/// The tournament a roster-shaping event names (the only tournament events that derive).
pub fn tournament_of(e: &TournamentEvent) -> Option<(i64, Option<i64>)> {
    match e {
        TournamentEvent::TournamentCreated { tournament_id, .. }
        | TournamentEvent::TournamentUpdated { tournament_id, .. }
        | TournamentEvent::TournamentDeleted { tournament_id }
        | TournamentEvent::PlayerRemovedFromRoster { tournament_id, .. }
        | TournamentEvent::RosterPlayerUpdated { tournament_id, .. } => {
            Some((*tournament_id, None))
        }
        TournamentEvent::PlayerAddedToRoster {
            tournament_id,
            profile_id,
            ..
        } => Some((*tournament_id, *profile_id)),
        TournamentEvent::RosterPlayerLinked {
            tournament_id,
            profile_id,
            ..
        } => Some((*tournament_id, Some(*profile_id))),
        _ => None,
    }
}

/// Everything a batch works on, loaded before it and written back after it.
#[derive(Debug, Default)]
pub struct Model {
    pub tournaments: Tournaments,
    /// Profile → tournaments it is rostered in, for every profile the batch names.
    pub index: HashMap<i64, BTreeSet<i64>>,
    /// (profile, ladder) → (current, max), for every profile the batch names.
    pub ratings: HashMap<(i64, i64), (i64, i64)>,
    pub ratings_dirty: BTreeSet<(i64, i64)>,
    /// Open lobbies the batch names → members.
    pub lobbies: HashMap<i64, Vec<i64>>,
    pub lobbies_dirty: BTreeSet<i64>,
    pub civs: BTreeMap<i64, String>,
    pub civs_dirty: bool,
    /// Stream channel → tournaments whose roster names it, for every channel the batch names.
    pub channels: HashMap<String, BTreeSet<i64>>,
    /// Channels the batch names → live now.
    pub live_channels: HashMap<String, bool>,
    pub live_channels_dirty: BTreeSet<String>,
    /// What this batch derived, in log order.
    pub out: Vec<Notification>,
}

/// The notifications of one event: ordinals count per tournament.
struct Emit<'a> {
    event: &'a RecordedEvent,
    ordinals: HashMap<i64, i32>,
}

/// The loaded tournaments, what changed, and the window boundaries still to be announced.
#[derive(Debug, Default)]
pub struct Tournaments {
    /// A deleted tournament is removed here and listed in `deleted`.
    pub map: HashMap<i64, Tournament>,
    pub dirty: BTreeSet<i64>,
    /// Tournaments whose roster (or its profiles and channels) a tournament event changed.
    pub roster_changed: BTreeSet<i64>,
    pub deleted: BTreeSet<i64>,
    pub pending: BTreeSet<(DateTime<Utc>, i64)>,
}

impl Tournaments {
    /// Registers a loaded tournament (its pending boundary included).
    pub fn insert_loaded(&mut self, id: i64, t: Tournament) {
        if let Some(b) = t.next_boundary() {
            self.pending.insert((b, id));
        }
        self.map.insert(id, t);
    }

    pub fn get(&self, id: &i64) -> Option<&Tournament> {
        self.map.get(id)
    }

    /// Changes tournament `id` through `f`, keeping `pending` and `dirty` in step.
    fn change<R>(&mut self, id: i64, f: impl FnOnce(&mut Tournament) -> R) -> Option<R> {
        let t = self.map.get_mut(&id)?;
        if let Some(b) = t.next_boundary() {
            self.pending.remove(&(b, id));
        }
        let r = f(t);
        if let Some(b) = t.next_boundary() {
            self.pending.insert((b, id));
        }
        self.dirty.insert(id);
        Some(r)
    }

    fn remove(&mut self, id: i64) -> Option<Tournament> {
        let t = self.map.remove(&id)?;
        if let Some(b) = t.next_boundary() {
            self.pending.remove(&(b, id));
        }
        self.dirty.remove(&id);
        self.deleted.insert(id);
        Some(t)
    }
}

impl Model {
    /// Applies one event: announces the window boundaries its recording time crossed, then
    /// what the event itself derives.
    pub fn apply(&mut self, event: &RecordedEvent, decoded: &AnyEvent) {
        let mut emit = Emit {
            event,
            ordinals: HashMap::new(),
        };
        self.cross_boundaries(&mut emit);
        match decoded {
            AnyEvent::Tournament(e) => {
                if let Some((id, _)) = tournament_of(e) {
                    self.tournaments.roster_changed.insert(id);
                }
                self.tournament(e, event.recorded_at)
            }
            AnyEvent::Profile(ProfileEvent::RatingObserved {
                profile_id,
                stats,
                observed_at,
            }) => self.rating(
                &mut emit,
                *profile_id,
                stats.leaderboard_id,
                (stats.rating, stats.max_rating()),
                *observed_at,
            ),
            AnyEvent::Match(MatchEvent::MatchFinished(m)) => self.finished(&mut emit, m),
            AnyEvent::Lobby(e) => self.lobby(&mut emit, e),
            AnyEvent::StreamChannel(e) => self.stream(&mut emit, e),
            AnyEvent::Catalog(CatalogEvent::CivilizationsObserved { civilizations, .. }) => {
                self.civs = civilizations
                    .iter()
                    .map(|c| (c.civilization_id, c.name.clone()))
                    .collect();
                self.civs_dirty = true;
            }
            _ => {}
        }
        // A tournament created or moved by this event may already be past a boundary.
        self.cross_boundaries(&mut emit);
    }

    fn push(
        &mut self,
        emit: &mut Emit<'_>,
        tid: i64,
        kind: Kind,
        subject: Option<i64>,
        at: DateTime<Utc>,
        data: serde_json::Value,
    ) {
        let Some(t) = self.tournaments.get(&tid) else {
            return;
        };
        let ordinal = emit.ordinals.entry(tid).or_insert(0);
        self.out.push(body::notification(
            tid,
            t,
            kind,
            subject,
            emit.event.log_position.position,
            *ordinal,
            at,
            data,
        ));
        *ordinal += 1;
    }

    fn cross_boundaries(&mut self, emit: &mut Emit<'_>) {
        let now = emit.event.recorded_at;
        while let Some(&(boundary, tid)) = self.tournaments.pending.first() {
            if boundary > now {
                break;
            }
            let Some(opening) = self.tournaments.change(tid, |t| {
                let opening = !t.opened;
                if opening {
                    t.opened = true;
                } else {
                    t.closed = true;
                }
                opening
            }) else {
                self.tournaments.pending.pop_first();
                continue;
            };
            let Some(t) = self.tournaments.get(&tid) else {
                continue;
            };
            let data = if opening {
                body::window_opened(t)
            } else {
                body::window_closed(t)
            };
            let kind = if opening {
                Kind::WindowOpened
            } else {
                Kind::WindowClosed
            };
            self.push(emit, tid, kind, None, boundary, data);
        }
    }

    fn tournament(&mut self, e: &TournamentEvent, now: DateTime<Utc>) {
        match e {
            TournamentEvent::TournamentCreated {
                tournament_id,
                slug,
                config,
                ..
            } => {
                let t = &mut self.tournaments;
                t.deleted.remove(tournament_id);
                t.insert_loaded(*tournament_id, Tournament::from_config(slug, config));
                t.dirty.insert(*tournament_id);
            }
            TournamentEvent::TournamentUpdated {
                tournament_id,
                config,
                ..
            } => {
                let ratings = &self.ratings;
                self.tournaments.change(*tournament_id, |t| {
                    t.name = config.name.clone();
                    t.rank_by = config.rank_by;
                    t.start = config.start_date;
                    t.end = config.end_date;
                    // A boundary moved past now is announced again when reached.
                    match t.start {
                        None => t.opened = true,
                        Some(start) if start > now => t.opened = false,
                        Some(_) => {}
                    }
                    if t.end.is_none_or(|end| end > now) {
                        t.closed = false;
                    }
                    if t.leaderboard_id != config.leaderboard_id {
                        t.leaderboard_id = config.leaderboard_id;
                        for p in t.roster.values_mut() {
                            set_ratings(p, ratings, t.leaderboard_id);
                        }
                    }
                    // Baseline, not news: a config change is not a lead change.
                    t.leader = t.current_leader();
                });
            }
            TournamentEvent::TournamentDeleted { tournament_id } => {
                if let Some(t) = self.tournaments.remove(*tournament_id) {
                    for profile in t.roster.values().filter_map(|p| p.profile_id) {
                        if let Some(set) = self.index.get_mut(&profile) {
                            set.remove(tournament_id);
                        }
                    }
                }
            }
            TournamentEvent::PlayerAddedToRoster {
                tournament_id,
                tournament_player_id,
                name,
                profile_id,
                presentation,
            } => {
                let player = Player {
                    name: name.clone(),
                    label: display_name(presentation, name),
                    profile_id: None,
                    current_rating: None,
                    max_rating: None,
                    window_peak: None,
                    games: vec![],
                    live: BTreeSet::new(),
                    channels: BTreeSet::new(),
                    streaming: BTreeSet::new(),
                };
                self.tournaments.change(*tournament_id, |t| {
                    t.roster.insert(*tournament_player_id, player);
                });
                self.name_channels(*tournament_id, *tournament_player_id, presentation);
                if let Some(profile) = profile_id {
                    self.link(*tournament_id, *tournament_player_id, *profile);
                }
            }
            TournamentEvent::RosterPlayerLinked {
                tournament_id,
                tournament_player_id,
                profile_id,
            } => self.link(*tournament_id, *tournament_player_id, *profile_id),
            TournamentEvent::RosterPlayerUpdated {
                tournament_id,
                tournament_player_id,
                presentation,
            } => {
                self.tournaments.change(*tournament_id, |t| {
                    if let Some(p) = t.roster.get_mut(tournament_player_id) {
                        p.label = display_name(presentation, &p.name);
                    }
                });
                self.name_channels(*tournament_id, *tournament_player_id, presentation);
            }
            TournamentEvent::PlayerRemovedFromRoster {
                tournament_id,
                tournament_player_id,
            } => {
                let removed = self
                    .tournaments
                    .change(*tournament_id, |t| {
                        let removed = t.roster.remove(tournament_player_id);
                        t.leader = t.current_leader();
                        removed
                    })
                    .flatten();
                if let Some(profile) = removed.and_then(|p| p.profile_id) {
                    if let Some(set) = self.index.get_mut(&profile) {
                        set.remove(tournament_id);
                    }
                }
            }
            // Owners, teams, and any event added later derive nothing.
            _ => {}
        }
    }

    /// The stream channels a roster row's presentation names; a channel already live counts
    /// as the baseline (no notification for an edit).
    fn name_channels(&mut self, tid: i64, tpid: i64, presentation: &serde_json::Value) {
        let named: BTreeSet<String> = channels_in_presentation(presentation)
            .iter()
            .map(|c| c.aggregate_id())
            .collect();
        let live = &self.live_channels;
        self.tournaments.change(tid, |t| {
            if let Some(p) = t.roster.get_mut(&tpid) {
                p.streaming = named
                    .iter()
                    .filter(|c| live.get(*c).copied().unwrap_or(false))
                    .cloned()
                    .collect();
                p.channels = named.clone();
            }
        });
        for channel in named {
            self.channels.entry(channel).or_default().insert(tid);
        }
    }

    fn stream(&mut self, emit: &mut Emit<'_>, e: &StreamChannelEvent) {
        let (live, at) = match e {
            StreamChannelEvent::StreamWentLive { observed_at, .. }
            | StreamChannelEvent::StreamUpdated { observed_at, .. } => (true, *observed_at),
            StreamChannelEvent::StreamWentOffline { observed_at, .. } => (false, *observed_at),
        };
        let key = e.channel().aggregate_id();
        self.live_channels.insert(key.clone(), live);
        self.live_channels_dirty.insert(key.clone());
        let tids: Vec<i64> = self
            .channels
            .get(&key)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        for tid in tids {
            let Some(changed) = self.tournaments.change(tid, |t| {
                let counts = t.in_window(at);
                let mut changed = vec![];
                for (tpid, p) in t.roster.iter_mut() {
                    if !p.channels.contains(&key) {
                        continue;
                    }
                    let was_live = !p.streaming.is_empty();
                    if live {
                        p.streaming.insert(key.clone());
                    } else {
                        p.streaming.remove(&key);
                    }
                    let is_live = !p.streaming.is_empty();
                    if counts && was_live != is_live {
                        changed.push(*tpid);
                    }
                }
                changed
            }) else {
                continue;
            };
            let Some(t) = self.tournaments.get(&tid) else {
                continue;
            };
            let bodies: Vec<(i64, serde_json::Value)> = changed
                .iter()
                .map(|tpid| (*tpid, body::stream_presence(t, *tpid, &key)))
                .collect();
            let kind = if live {
                Kind::PlayerLive
            } else {
                Kind::PlayerOffline
            };
            for (tpid, data) in bodies {
                self.push(emit, tid, kind, Some(tpid), at, data);
            }
        }
    }

    fn link(&mut self, tid: i64, tpid: i64, profile: i64) {
        let ratings = &self.ratings;
        let linked = self.tournaments.change(tid, |t| {
            let lb = t.leaderboard_id;
            let Some(p) = t.roster.get_mut(&tpid) else {
                return false;
            };
            p.profile_id = Some(profile);
            set_ratings(p, ratings, lb);
            t.leader = t.current_leader();
            true
        });
        if linked == Some(true) {
            self.index.entry(profile).or_default().insert(tid);
        }
    }

    fn tournaments_of(&self, profile: i64) -> Vec<i64> {
        self.index
            .get(&profile)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default()
    }

    fn rating(
        &mut self,
        emit: &mut Emit<'_>,
        profile: i64,
        leaderboard: i64,
        (current, max): (i64, i64),
        at: DateTime<Utc>,
    ) {
        self.ratings.insert((profile, leaderboard), (current, max));
        self.ratings_dirty.insert((profile, leaderboard));
        for tid in self.tournaments_of(profile) {
            let Some(derived) = self.tournaments.change(tid, |t| {
                if t.leaderboard_id != leaderboard {
                    return None;
                }
                let tpid = t.player_of(profile)?;
                let counts = t.in_window(at);
                let p = t.roster.get_mut(&tpid)?;
                p.current_rating = Some(current);
                p.max_rating = Some(max);
                let mut peak = None;
                if counts {
                    match p.window_peak {
                        Some(previous) if current > previous => peak = Some(previous),
                        _ => {}
                    }
                    p.window_peak = Some(p.window_peak.map_or(current, |w| w.max(current)));
                }
                let before = t.leader;
                t.leader = t.current_leader();
                let lead = match (before, t.leader) {
                    (Some(b), Some(a)) if counts && a != b => Some((b, a)),
                    _ => None,
                };
                Some((tpid, peak, lead))
            }) else {
                continue;
            };
            let Some((tpid, peak, lead)) = derived else {
                continue;
            };
            let Some(t) = self.tournaments.get(&tid) else {
                continue;
            };
            let mut out = vec![];
            if let Some(previous) = peak {
                out.push((
                    Kind::PeakRating,
                    Some(tpid),
                    body::peak_rating(t, tpid, current, previous),
                ));
            }
            if let Some((before, after)) = lead {
                out.push((Kind::LeadChange, None, body::lead_change(t, after, before)));
            }
            for (kind, subject, data) in out {
                self.push(emit, tid, kind, subject, at, data);
            }
        }
    }

    fn finished(&mut self, emit: &mut Emit<'_>, m: &FinishedMatch) {
        let mut tids: BTreeSet<i64> = BTreeSet::new();
        for p in &m.players {
            tids.extend(self.tournaments_of(p.profile_id));
        }
        let at = m.completed_at.unwrap_or(m.started_at);
        for tid in tids {
            let Some(streaks) = self.tournaments.change(tid, |t| {
                if m.leaderboard_id != Some(t.leaderboard_id) || !t.in_window(m.started_at) {
                    return None;
                }
                let mut streaks = vec![];
                for mp in &m.players {
                    let Some(outcome) = mp.outcome else { continue };
                    let Some(tpid) = t.player_of(mp.profile_id) else {
                        continue;
                    };
                    let Some(p) = t.roster.get_mut(&tpid) else {
                        continue;
                    };
                    if p.games.iter().any(|g| g.match_id == m.match_id) {
                        continue;
                    }
                    let before = p.record().streak;
                    p.games.push(PlayedGame {
                        match_id: m.match_id,
                        started_at: m.started_at,
                        completed_at: m.completed_at,
                        won: outcome == Outcome::Win,
                        new_rating: mp.new_rating,
                    });
                    let after = p.record().streak;
                    if after != before && STREAK_MILESTONES.contains(&after.abs()) {
                        streaks.push((tpid, after));
                    }
                }
                Some(streaks)
            }) else {
                continue;
            };
            let Some(mut streaks) = streaks else {
                continue;
            };
            let Some(t) = self.tournaments.get(&tid) else {
                continue;
            };
            let roster_played = m
                .players
                .iter()
                .any(|mp| mp.outcome.is_some() && t.player_of(mp.profile_id).is_some());
            if !roster_played {
                continue;
            }
            streaks.sort();
            let finished = body::match_finished(t, m, &self.civs);
            let streak_bodies: Vec<_> = streaks
                .iter()
                .map(|(tpid, streak)| (*tpid, body::streak_milestone(t, *tpid, *streak)))
                .collect();
            self.push(
                emit,
                tid,
                Kind::MatchFinished,
                Some(m.match_id),
                at,
                finished,
            );
            for (tpid, data) in streak_bodies {
                self.push(emit, tid, Kind::StreakMilestone, Some(tpid), at, data);
            }
        }
    }

    fn lobby(&mut self, emit: &mut Emit<'_>, e: &LobbyEvent) {
        let (lobby_id, members, at) = match e {
            LobbyEvent::LiveMatchStarted {
                snapshot,
                started_at,
            } => (snapshot.lobby_id, snapshot.members.clone(), *started_at),
            LobbyEvent::LiveMatchUpdated {
                snapshot,
                observed_at,
            } => (snapshot.lobby_id, snapshot.members.clone(), *observed_at),
            LobbyEvent::LiveMatchEnded { lobby_id, ended_at } => (*lobby_id, vec![], *ended_at),
        };
        let before: HashSet<i64> = self
            .lobbies
            .get(&lobby_id)
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default();
        let after: HashSet<i64> = members.iter().copied().collect();
        self.lobbies.insert(lobby_id, members);
        self.lobbies_dirty.insert(lobby_id);
        // Sorted, so notifications come out in the same order on every run.
        let mut changed: Vec<(i64, bool)> = after
            .difference(&before)
            .map(|p| (*p, true))
            .chain(before.difference(&after).map(|p| (*p, false)))
            .collect();
        changed.sort();
        for (profile, joined) in changed {
            for tid in self.tournaments_of(profile) {
                let Some(Some(tpid)) = self.tournaments.change(tid, |t| {
                    let tpid = t.player_of(profile)?;
                    let counts = t.in_window(at);
                    let p = t.roster.get_mut(&tpid)?;
                    let was_live = !p.live.is_empty();
                    if joined {
                        p.live.insert(lobby_id);
                    } else {
                        p.live.remove(&lobby_id);
                    }
                    let is_live = !p.live.is_empty();
                    (counts && was_live != is_live).then_some(tpid)
                }) else {
                    continue;
                };
                let Some(t) = self.tournaments.get(&tid) else {
                    continue;
                };
                let data = body::presence(t, tpid, lobby_id);
                let kind = if joined {
                    Kind::PlayerLive
                } else {
                    Kind::PlayerOffline
                };
                self.push(emit, tid, kind, Some(tpid), at, data);
            }
        }
    }
}

/// A player's ratings on `leaderboard`, from the latest observation of their profile.
fn set_ratings(p: &mut Player, ratings: &HashMap<(i64, i64), (i64, i64)>, leaderboard: i64) {
    let known = p.profile_id.and_then(|id| ratings.get(&(id, leaderboard)));
    p.current_rating = known.map(|r| r.0);
    p.max_rating = known.map(|r| r.1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::profile::LadderStats;
    use serde_json::{json, Value};
    use store::log::LogPosition;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + minute * 60, 0).unwrap()
    }

    /// Feeds `events` through one model, positions 1, 2, ... recorded at minute 1000.
    fn derive(events: Vec<AnyEvent>) -> Vec<Notification> {
        let mut model = Model::default();
        for (i, decoded) in events.iter().enumerate() {
            let recorded = RecordedEvent {
                log_position: LogPosition {
                    tx: i as i64 + 1,
                    position: i as i64 + 1,
                },
                aggregate_type: String::new(),
                aggregate_id: String::new(),
                sequence: 1,
                event_type: String::new(),
                event_version: "1".into(),
                payload: Value::Null,
                metadata: Value::Null,
                recorded_at: at(1000),
                unreadable: None,
            };
            model.apply(&recorded, decoded);
        }
        model.out
    }

    fn created(rank_by: RankBy) -> AnyEvent {
        AnyEvent::Tournament(TournamentEvent::TournamentCreated {
            tournament_id: 1,
            slug: "t".into(),
            config: TournamentConfig {
                name: "T".into(),
                leaderboard_id: 3,
                rank_by,
                start_date: None,
                end_date: None,
                prize_pool_cents: None,
                host_stream_urls: vec![],
                presentation: json!({}),
            },
            created_at: at(0),
        })
    }

    fn rostered(tpid: i64, name: &str, profile: i64) -> AnyEvent {
        AnyEvent::Tournament(TournamentEvent::PlayerAddedToRoster {
            tournament_id: 1,
            tournament_player_id: tpid,
            name: name.into(),
            profile_id: Some(profile),
            presentation: json!({}),
        })
    }

    fn rated(profile: i64, rating: i64, highest: i64, minute: i64) -> AnyEvent {
        AnyEvent::Profile(ProfileEvent::RatingObserved {
            profile_id: profile,
            stats: LadderStats {
                leaderboard_id: 3,
                rating,
                highest_rating: highest,
                wins: 0,
                losses: 0,
                streak: 0,
                drops: 0,
                rank: None,
                rank_total: None,
                region_rank: None,
                region_rank_total: None,
                last_match_at: None,
            },
            observed_at: at(minute),
        })
    }

    fn leaders(out: &[Notification]) -> Vec<(i64, i64)> {
        out.iter()
            .filter(|n| n.kind == Kind::LeadChange)
            .map(|n| {
                let d = &n.body["data"];
                let id = |k: &str| d[k]["player"]["tournament_player_id"].as_i64().unwrap();
                (id("previous_leader"), id("leader"))
            })
            .collect()
    }

    #[test]
    fn a_tie_on_the_ranked_metric_goes_to_the_standings_order() {
        // Peak mode: Bravo leads at 2000; Alpha ties the peak with a higher current rating
        // (second key) and leads; Charlie ties both and only the base name decides.
        let out = derive(vec![
            created(RankBy::PeakRating),
            rostered(1, "Bravo", 101),
            rostered(2, "Alpha", 102),
            rated(101, 1990, 2000, 1),
            rated(102, 1995, 2000, 2),
        ]);
        assert_eq!(leaders(&out), vec![(1, 2)]);
        // The first leader is a baseline; the same order, observed again, changes nothing.
        let out = derive(vec![
            created(RankBy::PeakRating),
            rostered(1, "Bravo", 101),
            rostered(2, "Alpha", 102),
            rated(101, 2000, 2000, 1),
            rated(102, 2000, 2000, 2),
            rated(101, 2000, 2000, 3),
        ]);
        assert_eq!(
            leaders(&out),
            vec![(1, 2)],
            "equal ratings: Alpha sorts first"
        );
        // Current mode ranks by the current rating: a higher peak does not lead.
        let out = derive(vec![
            created(RankBy::CurrentRating),
            rostered(1, "Bravo", 101),
            rostered(2, "Alpha", 102),
            rated(101, 1990, 1990, 1),
            rated(102, 1980, 2500, 2),
        ]);
        assert_eq!(leaders(&out), vec![]);
    }

    #[test]
    fn milestones_fire_when_the_streak_becomes_one_not_while_it_stays() {
        let game = |id: i64, minute: i64, won: bool| {
            AnyEvent::Match(MatchEvent::MatchFinished(FinishedMatch {
                match_id: id,
                map_name: "Arabia".into(),
                matchtype_id: 6,
                leaderboard_id: Some(3),
                started_at: at(minute),
                completed_at: Some(at(minute + 1)),
                description: None,
                players: vec![domain::matches::MatchPlayer {
                    profile_id: 101,
                    alias: None,
                    civilization_id: 1,
                    team_id: 1,
                    outcome: Some(if won { Outcome::Win } else { Outcome::Loss }),
                    old_rating: None,
                    new_rating: None,
                    xp_gained: 0,
                }],
            }))
        };
        let mut events = vec![created(RankBy::PeakRating), rostered(1, "Bravo", 101)];
        // W W W W W L W W W W W W W W W W: 3 and 5, then (after the loss) 3, 5 and 10.
        for i in 0..16 {
            events.push(game(i, i * 10, i != 5));
        }
        let streaks: Vec<i64> = derive(events)
            .iter()
            .filter(|n| n.kind == Kind::StreakMilestone)
            .map(|n| n.body["data"]["streak"].as_i64().unwrap())
            .collect();
        assert_eq!(streaks, vec![3, 5, 3, 5, 10]);
    }
}
