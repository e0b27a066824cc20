//! Live cycle: `findAdvertisements` → `Observe` for each open lobby with a tracked member,
//! `End` for each lobby we had open that is no longer listed (or no longer has one).
//!
//! The set of open lobbies starts each term from the database (aggregates whose last event
//! is not `LiveMatchEnded`), so a lobby that closed while no poller ran is still ended.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::Utc;
use domain::lobby::{Lobby, LobbyCommand, LobbySnapshot, LobbyState};
use upstream::Priority;

use crate::{tracked, CycleError, CycleKind, CycleReport, Inner, Sent};

#[derive(Default)]
pub(crate) struct LiveState {
    /// Lobbies whose aggregate is open → the snapshot it was last told (`None`: known from
    /// the database only).
    open: BTreeMap<i64, Option<LobbySnapshot>>,
    seeded: bool,
}

impl LiveState {
    /// Members of the lobbies we hold open (tracked or not).
    pub(crate) fn members(&self) -> impl Iterator<Item = i64> + '_ {
        self.open
            .values()
            .flatten()
            .flat_map(|s| s.members.iter().copied())
    }
}

pub(crate) async fn cycle(inner: &Inner) -> Result<CycleReport, CycleError> {
    let tracked = tracked::tracked_profiles(&inner.pool).await?;
    let tracked: HashSet<i64> = tracked.into_iter().collect();
    seed(inner).await?;
    let mut report = CycleReport {
        tracked: tracked.len(),
        ..CycleReport::default()
    };
    // Nobody tracked: no call; every open lobby has lost its last tracked member.
    let lobbies = if tracked.is_empty() {
        Vec::new()
    } else {
        let lobbies = inner.client.at(Priority::Live).advertisements().await?;
        report.requests = pages(lobbies.len(), &inner.config.upstream);
        lobbies
    };
    report.items = lobbies.len();
    let now = Utc::now();
    let kept: Vec<LobbySnapshot> = lobbies
        .into_iter()
        .filter(|l| l.members.iter().any(|m| tracked.contains(&m.profile_id)))
        .map(snapshot)
        .collect();
    let kept_ids: HashSet<i64> = kept.iter().map(|s| s.lobby_id).collect();

    for snap in kept {
        let id = snap.lobby_id;
        if inner.lock_state().live.open.get(&id) == Some(&Some(snap.clone())) {
            continue;
        }
        let command = LobbyCommand::Observe {
            snapshot: snap.clone(),
            observed_at: now,
        };
        let sent = inner
            .send::<Lobby>(CycleKind::Live, &id.to_string(), command)
            .await?;
        report.commands += 1;
        if sent == Sent::Appended {
            inner.lock_state().live.open.insert(id, Some(snap));
        }
    }

    let ended: Vec<(i64, Option<LobbySnapshot>)> = inner
        .lock_state()
        .live
        .open
        .iter()
        .filter(|(id, _)| !kept_ids.contains(id))
        .map(|(&id, snap)| (id, snap.clone()))
        .collect();
    for (id, snap) in ended {
        let command = LobbyCommand::End { observed_at: now };
        inner
            .send::<Lobby>(CycleKind::Live, &id.to_string(), command)
            .await?;
        report.commands += 1;
        let mut state = inner.lock_state();
        state.live.open.remove(&id);
        if let Some(snap) = snap {
            // A closed lobby may have become a (custom, unranked) game: watch its history.
            let members: BTreeSet<i64> = snap
                .members
                .iter()
                .copied()
                .filter(|m| tracked.contains(m))
                .collect();
            state.history.watch_lobby(id, members);
        }
    }
    Ok(report)
}

async fn seed(inner: &Inner) -> Result<(), CycleError> {
    if inner.lock_state().live.seeded {
        return Ok(());
    }
    let open = tracked::open_lobbies(&inner.pool).await?;
    let mut state = inner.lock_state();
    for id in open {
        state.live.open.entry(id).or_insert(None);
    }
    state.live.seeded = true;
    Ok(())
}

/// Every member counts (not only tracked ones); state `0` is staging, anything else is
/// taken as in progress (only `0` has ever been observed).
pub(crate) fn snapshot(lobby: upstream::Lobby) -> LobbySnapshot {
    let mut members: Vec<i64> = lobby.members.iter().map(|m| m.profile_id).collect();
    members.sort_unstable();
    members.dedup();
    LobbySnapshot {
        lobby_id: lobby.lobby_id,
        map_name: lobby.map_name,
        description: lobby.description,
        matchtype_id: lobby.matchtype_id,
        state: if lobby.state == 0 {
            LobbyState::Staging
        } else {
            LobbyState::InProgress
        },
        members,
    }
}

/// Pages `advertisements()` fetched: it asks again while a page is full.
fn pages(lobbies: usize, config: &upstream::UpstreamConfig) -> u64 {
    let per_page = config.lobby_page_size.max(1);
    let pages = (lobbies / per_page + 1).min(config.max_lobby_pages.max(1));
    u64::try_from(pages).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_count_follows_the_clients_paging() {
        let c = upstream::UpstreamConfig::default();
        assert_eq!(pages(0, &c), 1);
        assert_eq!(pages(99, &c), 1);
        assert_eq!(pages(100, &c), 2);
        assert_eq!(pages(100_000, &c), 20);
    }

    #[test]
    fn snapshot_sorts_members_and_maps_state() {
        let member = |profile_id| upstream::LobbyMember {
            profile_id,
            civilization_id: None,
            team_id: None,
        };
        let lobby = upstream::Lobby {
            lobby_id: 5,
            state: 1,
            description: None,
            map_name: "Arena".into(),
            raw_mapname: "my map".into(),
            matchtype_id: 0,
            host_profile_id: None,
            steam_lobby_id: None,
            created_at: None,
            members: vec![member(3), member(1), member(3)],
        };
        let s = snapshot(lobby);
        assert_eq!(s.members, vec![1, 3]);
        assert_eq!(s.state, LobbyState::InProgress);
        assert_eq!(s.map_name, "Arena");
    }
}
