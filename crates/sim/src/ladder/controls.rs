//! Forced controls: a game played now between given players, a lobby opened and closed on
//! request.

use super::*;

impl Ladder {
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
}
