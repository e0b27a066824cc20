//! Matches cycle: `getRecentMatchHistory` only for profiles that may have played, then one
//! `RecordFinishedMatch` per match not recorded yet.
//!
//! Who is asked about, per cycle:
//! - profiles whose stats moved (wins + losses or last match time; first sighting counts),
//!   until one fetch of their history succeeds;
//! - one tracked member of each lobby that closed recently, at 1, 2, 4, 8, … cycles after
//!   it closed, until the lobby's match id shows up (custom games move no ladder stats);
//! - a rotating sweep slice: every tracked profile at least about once per sweep period, so
//!   nothing missed by the two rules above stays missing.
//!
//! So requests grow with the players who played (plus `ceil(tracked / sweep cycles)`
//! profiles of sweep), not with roster size.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use domain::matches::{self as dm, Match, MatchCommand};
use futures::future::try_join_all;
use upstream::{MatchHistory, Outcome, Priority, UpstreamError};

use crate::{batches, catalog, tracked, CycleError, CycleKind, CycleReport, Inner, MatchtypeMap};

/// Recorded match ids kept in memory; older ones fall out (re-sending one is harmless).
const RECORDED_CAP: usize = 200_000;

#[derive(Default)]
pub(crate) struct HistoryState {
    /// Moved profiles waiting for a history fetch → generation of the latest movement, so a
    /// movement seen while a fetch is in flight is not cleared by that fetch.
    pending: HashMap<i64, u64>,
    /// The part of `pending` known only from a first sighting (asked at sweep priority).
    first_seen: HashSet<i64>,
    generation: u64,
    /// Matches cycle of each profile's last successful fetch.
    last_fetch: HashMap<i64, i64>,
    /// The last profile the sweep visited (the cursor into the sorted tracked set).
    sweep_after: Option<i64>,
    /// Successful matches cycles so far in this term.
    cycle: i64,
    watch: Vec<Watch>,
    pub(crate) recorded: RecordedSet,
    /// Whether `recorded` was primed from the read model this term.
    primed: bool,
}

/// A closed lobby whose game we expect to see in its members' history.
#[derive(Debug, Clone, PartialEq)]
struct Watch {
    lobby_id: i64,
    /// Tracked members; one of them is enough (a match is in every participant's history).
    members: BTreeSet<i64>,
    /// Successful matches cycles since the lobby closed.
    age: u64,
}

/// Match ids already appended (bounded FIFO).
#[derive(Default)]
pub(crate) struct RecordedSet {
    ids: HashSet<i64>,
    order: VecDeque<i64>,
}

impl RecordedSet {
    pub(crate) fn contains(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }

    pub(crate) fn insert(&mut self, id: i64) {
        if self.ids.insert(id) {
            self.order.push_back(id);
            if self.order.len() > RECORDED_CAP {
                if let Some(old) = self.order.pop_front() {
                    self.ids.remove(&old);
                }
            }
        }
    }
}

/// Who one cycle asks about.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Plan {
    /// Sorted, unique.
    pub ids: Vec<i64>,
    pub moved: Vec<(i64, u64)>,
    pub watched: usize,
    pub swept: usize,
    /// The sweep's share of `ids` (asked last when the budget is short).
    pub sweep_ids: Vec<i64>,
    /// The cycle number this plan runs as.
    pub current: i64,
    /// The sweep cursor after this cycle.
    pub sweep_after: Option<i64>,
}

impl HistoryState {
    pub(crate) fn mark_moved(&mut self, profiles: &[i64]) {
        if profiles.is_empty() {
            return;
        }
        self.generation += 1;
        for &id in profiles {
            self.pending.insert(id, self.generation);
            self.first_seen.remove(&id);
        }
    }

    /// Profiles seen for the first time this term: due for a history fetch, but after those
    /// who just played.
    pub(crate) fn mark_first_seen(&mut self, profiles: &[i64]) {
        if profiles.is_empty() {
            return;
        }
        self.generation += 1;
        for &id in profiles {
            self.pending.insert(id, self.generation);
            self.first_seen.insert(id);
        }
    }

    /// Members of closed lobbies whose game we have not seen yet.
    pub(crate) fn watched_members(&self) -> impl Iterator<Item = i64> + '_ {
        self.watch.iter().flat_map(|w| w.members.iter().copied())
    }

    /// A lobby with these tracked members closed: expect its game in their history.
    pub(crate) fn watch_lobby(&mut self, lobby_id: i64, tracked_members: BTreeSet<i64>) {
        if !tracked_members.is_empty() && !self.watch.iter().any(|w| w.lobby_id == lobby_id) {
            self.watch.push(Watch {
                lobby_id,
                members: tracked_members,
                age: 0,
            });
        }
    }

    fn retain(&mut self, tracked: &HashSet<i64>) {
        self.pending.retain(|id, _| tracked.contains(id));
        self.first_seen.retain(|id| self.pending.contains_key(id));
        self.last_fetch.retain(|id, _| tracked.contains(id));
        for w in &mut self.watch {
            w.members.retain(|id| tracked.contains(id));
        }
        self.watch.retain(|w| !w.members.is_empty());
    }

    pub(crate) fn plan(&self, tracked: &[i64], sweep_cycles: u64) -> Plan {
        let current = self.cycle + 1;
        let mut ids: BTreeSet<i64> = BTreeSet::new();
        let moved: Vec<(i64, u64)> = self.pending.iter().map(|(&id, &g)| (id, g)).collect();
        ids.extend(moved.iter().map(|(id, _)| *id));
        let mut watched = 0;
        for w in &self.watch {
            // 1, 2, 4, 8, … cycles after the close: cheap, yet a long game is seen.
            if (w.age + 1).is_power_of_two() && !w.members.iter().any(|m| ids.contains(m)) {
                if let Some(&first) = w.members.iter().next() {
                    ids.insert(first);
                    watched += 1;
                }
            }
        }
        let (swept, sweep_after) = sweep(
            tracked,
            &self.last_fetch,
            self.sweep_after,
            current,
            sweep_cycles,
            &ids,
        );
        let swept_count = swept.len();
        ids.extend(swept.iter().copied());
        Plan {
            ids: ids.into_iter().collect(),
            moved,
            watched,
            swept: swept_count,
            sweep_ids: swept,
            current,
            sweep_after,
        }
    }

    /// `plan` minus the profiles whose fetch was left for later: they stay pending, and a
    /// sweep not fully done keeps its cursor (the slice is visited again next cycle).
    fn without(&self, mut plan: Plan, left: &HashSet<i64>) -> Plan {
        plan.ids.retain(|id| !left.contains(id));
        plan.moved.retain(|(id, _)| !left.contains(id));
        if plan.sweep_ids.iter().any(|id| left.contains(id)) {
            plan.sweep_after = self.sweep_after;
        }
        plan
    }

    /// After a successful fetch (and every new match appended).
    fn complete(&mut self, plan: &Plan, seen_matches: &HashSet<i64>, watch_cycles: u64) {
        for (id, generation) in &plan.moved {
            if self.pending.get(id) == Some(generation) {
                self.pending.remove(id);
                self.first_seen.remove(id);
            }
        }
        for &id in &plan.ids {
            self.last_fetch.insert(id, plan.current);
        }
        self.sweep_after = plan.sweep_after;
        self.cycle = plan.current;
        for w in &mut self.watch {
            w.age += 1;
        }
        self.watch
            .retain(|w| !seen_matches.contains(&w.lobby_id) && w.age < watch_cycles);
    }
}

/// The sweep slice: the next `ceil(tracked / sweep_cycles)` profiles of the sorted tracked
/// set after `after` (wrapping), minus those already asked about this cycle or fetched
/// within the last half period. The cursor visits everyone once per period, so a profile's
/// history is at most 1.5 periods old; busy players (fetched because they moved) cost the
/// sweep nothing. Returns the profiles to fetch and the last profile visited.
pub(crate) fn sweep(
    tracked: &[i64],
    last_fetch: &HashMap<i64, i64>,
    after: Option<i64>,
    current: i64,
    sweep_cycles: u64,
    already: &BTreeSet<i64>,
) -> (Vec<i64>, Option<i64>) {
    if tracked.is_empty() {
        return (Vec::new(), after);
    }
    let period = sweep_cycles.max(1);
    let slice = tracked
        .len()
        .div_ceil(usize::try_from(period).unwrap_or(usize::MAX));
    let fresh_for = i64::try_from(period.div_ceil(2)).unwrap_or(i64::MAX);
    let start = after.map_or(0, |a| tracked.partition_point(|&id| id <= a));
    let mut taken = Vec::new();
    let mut last = after;
    for i in 0..slice.min(tracked.len()) {
        let id = tracked[(start + i) % tracked.len()];
        last = Some(id);
        let recent = last_fetch
            .get(&id)
            .is_some_and(|&at| current.saturating_sub(at) < fresh_for);
        if !already.contains(&id) && !recent {
            taken.push(id);
        }
    }
    (taken, last)
}

pub(crate) async fn cycle(inner: &Inner) -> Result<CycleReport, CycleError> {
    let deadline = tokio::time::Instant::now() + inner.config.matches_interval;
    let tracked = tracked::tracked_profiles(&inner.pool).await?;
    let tracked_set: HashSet<i64> = tracked.iter().copied().collect();
    prime(inner).await?;
    let map = catalog::matchtype_map(inner).await?;
    let sweep_cycles = inner.config.sweep_cycles();
    let plan = {
        let mut state = inner.lock_state();
        state.history.retain(&tracked_set);
        state.history.plan(&tracked, sweep_cycles)
    };
    let mut report = CycleReport {
        tracked: tracked.len(),
        items: plan.ids.len(),
        moved: plan.moved.len(),
        watched: plan.watched,
        swept: plan.swept,
        ..CycleReport::default()
    };
    if plan.ids.is_empty() {
        // Nobody played and nothing is due: no request at all (the cycle still counts, so
        // the sweep cursor and the lobby watch move on).
        inner.lock_state().history.complete(
            &plan,
            &HashSet::new(),
            inner.config.lobby_watch_cycles(),
        );
        return Ok(report);
    }
    // Players who just played or left a lobby first; first sightings and the sweep only
    // with what the budget has left.
    let (urgent, background): (Vec<i64>, Vec<i64>) = {
        let state = inner.lock_state();
        let sweep: HashSet<i64> = plan.sweep_ids.iter().copied().collect();
        plan.ids
            .iter()
            .copied()
            .partition(|id| !sweep.contains(id) && !state.history.first_seen.contains(id))
    };
    // The background may use the cadence and no more; what the budget could not start by
    // then stays due (first sightings stay pending, the sweep cursor stays put).
    let batch = inner.config.upstream.history_batch_size.max(1);
    let background_client = inner.client.at(Priority::Sweep).until(deadline);
    let (urgent_history, background_parts) = futures::future::try_join(
        inner.client.at(Priority::Hot).recent_match_history(&urgent),
        try_join_all(background.chunks(batch).map(|chunk| {
            let client = &background_client;
            async move {
                match client.recent_match_history(chunk).await {
                    Ok(history) => Ok(Some(history)),
                    Err(UpstreamError::Deferred) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        })),
    )
    .await?;
    let mut parts = vec![urgent_history];
    let mut left = HashSet::new();
    for (chunk, part) in background.chunks(batch).zip(background_parts) {
        match part {
            Some(history) => parts.push(history),
            None => left.extend(chunk.iter().copied()),
        }
    }
    let history = upstream::merge_histories(parts);
    report.requests = batches(urgent.len(), batch) + batches(background.len() - left.len(), batch);
    report.deferred = left.len();
    let plan = if left.is_empty() {
        plan
    } else {
        inner.lock_state().history.without(plan, &left)
    };
    let seen: HashSet<i64> = history.matches.iter().map(|m| m.match_id).collect();
    let fresh: Vec<dm::FinishedMatch> = {
        let state = inner.lock_state();
        finished_matches(history, &map)
            .into_iter()
            .filter(|m| !state.history.recorded.contains(m.match_id))
            .collect()
    };
    for m in fresh {
        let id = m.match_id;
        inner
            .send::<Match>(
                CycleKind::Matches,
                &id.to_string(),
                MatchCommand::RecordFinishedMatch(m),
            )
            .await?;
        report.commands += 1;
        // Refused (no players) will never pass either: remember it too.
        inner.lock_state().history.recorded.insert(id);
    }
    inner
        .lock_state()
        .history
        .complete(&plan, &seen, inner.config.lobby_watch_cycles());
    Ok(report)
}

/// Once per term: the recently projected matches, so a new leader does not re-send a whole
/// history window of commands.
async fn prime(inner: &Inner) -> Result<(), CycleError> {
    if inner.lock_state().history.primed {
        return Ok(());
    }
    let ids = tracked::recent_match_ids(&inner.pool, RECORDED_CAP as i64 / 2).await?;
    let mut state = inner.lock_state();
    for id in ids {
        state.history.recorded.insert(id);
    }
    state.history.primed = true;
    Ok(())
}

/// Every match of a response in domain types: leaderboard from the matchtype map, aliases
/// from the response's `profiles`, civs/outcomes/ratings as parsed (member row first).
pub(crate) fn finished_matches(
    history: MatchHistory,
    map: &MatchtypeMap,
) -> Vec<dm::FinishedMatch> {
    let aliases: HashMap<i64, String> = history
        .aliases
        .into_iter()
        .map(|a| (a.profile_id, a.alias))
        .collect();
    history
        .matches
        .into_iter()
        .map(|m| dm::FinishedMatch {
            match_id: m.match_id,
            map_name: m.map_name,
            matchtype_id: m.matchtype_id,
            leaderboard_id: map.get(&m.matchtype_id).copied(),
            started_at: m.started_at,
            completed_at: m.completed_at,
            description: m.description,
            players: m
                .players
                .into_iter()
                .map(|p| dm::MatchPlayer {
                    profile_id: p.profile_id,
                    alias: aliases.get(&p.profile_id).cloned(),
                    civilization_id: p.civilization_id,
                    team_id: p.team_id,
                    outcome: p.outcome.map(|o| match o {
                        Outcome::Win => dm::Outcome::Win,
                        Outcome::Loss => dm::Outcome::Loss,
                    }),
                    old_rating: p.old_rating,
                    new_rating: p.new_rating,
                    xp_gained: p.xp_gained,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_moved_profiles_are_asked_about() {
        let mut h = HistoryState::default();
        let tracked: Vec<i64> = (1..=100).collect();
        // Everyone fetched once (start of term), then two players move.
        let start = Plan {
            ids: tracked.clone(),
            current: 1,
            ..Plan::default()
        };
        h.complete(&start, &HashSet::new(), 120);
        h.mark_moved(&[7, 42]);
        let plan = h.plan(&tracked, 1000);
        assert_eq!(plan.ids, vec![7, 42]);
        assert_eq!(plan.swept, 0);
    }

    #[test]
    fn first_sightings_left_for_later_stay_due_and_the_sweep_cursor_stays_put() {
        let mut h = HistoryState::default();
        h.mark_first_seen(&[1, 2, 3, 4]);
        h.mark_moved(&[2]);
        assert_eq!(
            h.first_seen,
            HashSet::from([1, 3, 4]),
            "a real game is no first sighting"
        );
        let plan = h.plan(&[1, 2, 3, 4], 1000);
        let plan = h.without(plan, &HashSet::from([3, 4]));
        h.complete(&plan, &HashSet::new(), 120);
        let mut next = h.plan(&[1, 2, 3, 4], 1000).ids;
        next.retain(|id| [1, 2, 3, 4].contains(id));
        assert_eq!(next, vec![3, 4], "only what was left is still due");
        assert_eq!(h.first_seen, HashSet::from([3, 4]));

        // A sweep slice not fully fetched is visited again.
        let mut h = HistoryState::default();
        let plan = h.plan(&[1, 2, 3, 4], 1);
        assert_eq!(plan.sweep_ids, vec![1, 2, 3, 4]);
        let plan = h.without(plan, &HashSet::from([4]));
        assert_eq!(plan.sweep_after, None, "cursor kept");
        h.complete(&plan, &HashSet::new(), 120);
        assert_eq!(h.sweep_after, None);
    }

    #[test]
    fn a_movement_during_a_fetch_survives_it() {
        let mut h = HistoryState::default();
        h.mark_moved(&[7]);
        let plan = h.plan(&[7], 1000);
        h.mark_moved(&[7]);
        h.complete(&plan, &HashSet::new(), 120);
        assert_eq!(h.plan(&[7], 1000).ids, vec![7]);
    }

    #[test]
    fn the_sweep_covers_everyone_within_one_and_a_half_periods_a_slice_at_a_time() {
        let mut h = HistoryState::default();
        let tracked: Vec<i64> = (1..=100).collect();
        let period = 10;
        let start = Plan {
            ids: tracked.clone(),
            current: 1,
            ..Plan::default()
        };
        h.complete(&start, &HashSet::new(), 120);
        let mut seen = HashSet::new();
        for cycle in 2..=16 {
            let plan = h.plan(&tracked, period);
            assert!(
                plan.ids.len() <= 10,
                "slice = ceil(100 / 10): {}",
                plan.ids.len()
            );
            if cycle <= 5 {
                assert!(plan.ids.is_empty(), "just fetched: not swept yet");
            }
            seen.extend(plan.ids.iter().copied());
            h.complete(&plan, &HashSet::new(), 120);
        }
        assert_eq!(seen.len(), 100, "every profile swept within 1.5 periods");
    }

    #[test]
    fn closed_lobbies_are_checked_at_growing_intervals_until_their_game_shows() {
        let mut h = HistoryState::default();
        let start = Plan {
            ids: vec![1, 2],
            current: 1,
            ..Plan::default()
        };
        h.complete(&start, &HashSet::new(), 120);
        h.watch_lobby(900, BTreeSet::from([1, 2]));
        let mut asked = vec![];
        for cycle in 1..=9 {
            let plan = h.plan(&[1, 2], 1000);
            if !plan.ids.is_empty() {
                assert_eq!(plan.ids, vec![1], "one member is enough");
                asked.push(cycle);
            }
            h.complete(&plan, &HashSet::new(), 120);
        }
        assert_eq!(asked, vec![1, 2, 4, 8]);
        let plan = h.plan(&[1, 2], 1000);
        h.complete(&plan, &HashSet::from([900]), 120);
        assert!(h.watch.is_empty(), "its game showed up");
    }

    #[test]
    fn recorded_set_is_bounded() {
        let mut r = RecordedSet::default();
        for id in 0..(RECORDED_CAP as i64 + 10) {
            r.insert(id);
        }
        assert!(!r.contains(0));
        assert!(r.contains(RECORDED_CAP as i64 + 9));
        assert_eq!(r.ids.len(), RECORDED_CAP);
    }
}
