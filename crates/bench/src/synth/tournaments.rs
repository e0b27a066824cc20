//! Tournaments: creation, rosters, teams and captains, and the later roster edits.

use super::*;

impl Synth {
    pub(super) fn create_tournament(&mut self) {
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

    pub(super) fn emit_tournament(&mut self, t: usize, event: &TournamentEvent) {
        let slug = self.tournaments[t].slug.clone();
        self.emit("Tournament", slug, OWNER, event);
    }

    pub(super) fn add_to_roster(&mut self, t: usize, profile: Option<i64>) {
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

    pub(super) fn add_member(&mut self, t: usize, team_id: i64, entry: i64) {
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

    pub(super) fn set_captain(&mut self, t: usize, team_id: i64, entry: i64) {
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
    pub(super) fn roster_edit(&mut self) {
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
}
