//! Auto lobbies: opened, joined and closed by the simulation (half of the closed ones are
//! played as custom games).

use super::*;

impl Ladder {
    // ------------------------------------------------------------------ lobbies

    pub(super) fn alias_or_id(&self, profile_id: i64) -> String {
        match self.player(profile_id) {
            Some(p) if !p.alias.is_empty() => p.alias.clone(),
            _ => profile_id.to_string(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn build_lobby(
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

    pub(super) fn open_auto_lobby(&mut self, t: i64) {
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
    pub(super) fn close_next_auto_lobby(&mut self, t: i64) {
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
    pub(super) fn lobby_join(&mut self, t: i64) {
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
