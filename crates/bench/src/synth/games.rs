//! Finished matches (tracked players and untracked opponents) and custom lobbies that open,
//! change, close and are then played.

use super::*;

impl Synth {
    pub(super) fn opponent(&mut self) -> i64 {
        50_000_000 + self.rng.gen_range(0..200_000)
    }

    /// A finished match and what its tracked players' next polls show.
    pub(super) fn game(&mut self) {
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
    pub(super) fn start_lobby(
        &mut self,
        snapshot: LobbySnapshot,
        finished: bool,
        at: DateTime<Utc>,
    ) {
        let event = LobbyEvent::LiveMatchStarted {
            snapshot: snapshot.clone(),
            started_at: at,
        };
        self.emit("Lobby", snapshot.lobby_id.to_string(), POLLER, &event);
        self.open.push(OpenLobby { snapshot, finished });
    }

    pub(super) fn lobby_members(&mut self) -> Vec<i64> {
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
    pub(super) fn lobby(&mut self) {
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
