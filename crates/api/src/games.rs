//! The games the per-tournament reads are computed from (every in-window match that involves a
//! rostered profile, with all its participants, and each rostered profile's last ten results),
//! kept in memory between cache fills and brought up to date from what the core projector wrote
//! since.
//!
//! Why: after every nudge the next standings, team standings, summary and history request is a
//! cache miss, and loading these games again was most of its cost (1,280 participant rows for
//! the bench tournament; docs/performance.md). A fill now reads only the rows written since the
//! last one.
//!
//! How it stays exact: the core projector stamps `matches` and `profile_aliases` rows with the
//! log position of the event that last wrote them, and a build applies events in log order, one
//! writer at a time. So once a fill has seen every row up to position *p* (read in one snapshot
//! before its rows), the rows above *p* are exactly what changed. A fill starts over from a full
//! load when anything else the games depend on changed: the live core build (a rebuild may write
//! other rows for the same positions), the ladder, the window or the roster's profiles. Changes
//! a position cannot place (a known game moved in time or off the ladder, which could push one
//! of the last ten out) also start over. The catalog (civilization names) changes with a nudge
//! to every tournament, which clears the response cache and this one with it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::{ApiError, ApiResult};
use crate::standings::{self, parse_outcome, InWindowMatch, ParticipantRow};
use crate::tournaments::TournamentRead;

/// How many recent results a standings row shows.
const RECENT: usize = 10;

/// Tournaments whose games are kept; past it, an arbitrary one is dropped (it loads in full
/// on its next fill).
const MAX_TOURNAMENTS: usize = 256;

/// A tournament with more participant rows than this is loaded in full on every fill rather
/// than held (bounds the memory one entry can take).
const MAX_ROWS_KEPT: usize = 200_000;

/// Participant rows held over all tournaments (a row is about 250 bytes: ~120 MiB); past it,
/// other tournaments are dropped.
const MAX_ROWS_HELD: usize = 500_000;

/// The loaded games of one tournament.
#[derive(Clone, Default)]
pub struct Games {
    /// In-window matches on the tournament ladder that involve a rostered profile.
    pub matches: BTreeMap<i64, InWindowMatch>,
    /// Names of the civilizations played in `matches`.
    pub civs: HashMap<i64, String>,
    /// The last known alias of the participants of `matches`.
    pub aliases: HashMap<i64, String>,
    /// Per rostered profile: its last [`RECENT`] finished games on the ladder (any date),
    /// newest first.
    recent: HashMap<i64, Vec<RecentGame>>,
    /// Per participant: the ids of its finished games in `matches`, newest first (kept by
    /// [`Games::index`] after every change; the reads ask for each player's games several
    /// times per fill).
    by_profile: HashMap<i64, Vec<i64>>,
}

#[derive(Clone)]
struct RecentGame {
    match_id: i64,
    started_at: DateTime<Utc>,
    outcome: &'static str,
}

impl Games {
    /// A profile's last results on the ladder, newest first (`win` / `loss`).
    pub fn recent_results(&self, profile: i64) -> Vec<&'static str> {
        self.recent
            .get(&profile)
            .map(|games| games.iter().map(|g| g.outcome).collect())
            .unwrap_or_default()
    }

    /// A profile's finished in-window games, newest first, with its own row.
    pub fn of(&self, profile: i64) -> Vec<(i64, &InWindowMatch, &ParticipantRow)> {
        let Some(ids) = self.by_profile.get(&profile) else {
            return vec![];
        };
        ids.iter()
            .filter_map(|id| {
                let m = self.matches.get(id)?;
                let me = m.players.iter().find(|p| p.profile_id == profile)?;
                Some((*id, m, me))
            })
            .collect()
    }

    /// Rebuilds `by_profile` from `matches`.
    fn index(&mut self) {
        self.by_profile.clear();
        for (id, m) in &self.matches {
            for p in &m.players {
                if p.outcome.as_deref().and_then(outcome_str).is_some() {
                    self.by_profile.entry(p.profile_id).or_default().push(*id);
                }
            }
        }
        let matches = &self.matches;
        for ids in self.by_profile.values_mut() {
            // `matches` holds every id indexed.
            ids.sort_by_key(|id| std::cmp::Reverse((matches.get(id).map(|m| m.started_at), *id)));
        }
    }

    fn rows(&self) -> usize {
        self.matches.values().map(|m| m.players.len()).sum()
    }

    fn add_participants(&mut self, rows: Vec<ParticipantRow>) {
        for mut p in rows {
            if let Some(alias) = p.alias.take() {
                self.aliases.insert(p.profile_id, alias);
            }
            if let Some(name) = p.civilization_name.take() {
                self.civs.insert(p.civilization_id, name);
            }
            self.matches
                .entry(p.match_id)
                .or_insert_with(|| InWindowMatch {
                    map_name: p.map_name.clone(),
                    started_at: p.started_at,
                    completed_at: p.completed_at,
                    updated_at: p.updated_at,
                    players: vec![],
                })
                .players
                .push(p);
        }
    }

    fn add_recent(&mut self, rows: Vec<(i64, i64, DateTime<Utc>, String)>) {
        for (profile, match_id, started_at, outcome) in rows {
            if let Some(outcome) = outcome_str(&outcome) {
                self.recent.entry(profile).or_default().push(RecentGame {
                    match_id,
                    started_at,
                    outcome,
                });
            }
        }
    }

    /// Applies the rows of matches written since the last fill (every participant of each,
    /// ordered by match), as a full load would have read them. `Err(())`: a change this
    /// cannot place; load in full.
    fn apply_matches(
        &mut self,
        scope: &Scope,
        rows: Vec<ParticipantRow>,
        rostered: &HashSet<i64>,
    ) -> Result<(), ()> {
        let mut by_match: BTreeMap<i64, Vec<ParticipantRow>> = BTreeMap::new();
        for row in rows {
            by_match.entry(row.match_id).or_default().push(row);
        }
        for (match_id, players) in by_match {
            let Some(first) = players.first() else {
                continue;
            };
            let started_at = first.started_at;
            let on_ladder = first.leaderboard_id == Some(scope.leaderboard_id);
            for p in players.iter().filter(|p| rostered.contains(&p.profile_id)) {
                let Some(outcome) = p.outcome.as_deref().and_then(outcome_str) else {
                    continue;
                };
                let games = self.recent.entry(p.profile_id).or_default();
                if let Some(known) = games.iter().find(|g| g.match_id == match_id) {
                    // A known game that moved in time or left the ladder may have pushed an
                    // older one back into the last ten, which is not held.
                    if known.started_at != started_at || !on_ladder {
                        return Err(());
                    }
                    continue;
                }
                if on_ladder {
                    games.push(RecentGame {
                        match_id,
                        started_at,
                        outcome,
                    });
                    games.sort_by(|a, b| {
                        b.started_at
                            .cmp(&a.started_at)
                            .then(b.match_id.cmp(&a.match_id))
                    });
                    games.truncate(RECENT);
                }
            }
            self.matches.remove(&match_id);
            if on_ladder && scope.in_window(started_at) {
                self.add_participants(players);
            }
        }
        Ok(())
    }

    /// Applies aliases written since the last fill to the participants it names.
    fn apply_aliases(&mut self, changed: Vec<(i64, String)>) {
        if changed.is_empty() {
            return;
        }
        let participants: HashSet<i64> = self
            .matches
            .values()
            .flat_map(|m| m.players.iter().map(|p| p.profile_id))
            .collect();
        for (profile, alias) in changed {
            if participants.contains(&profile) {
                self.aliases.insert(profile, alias);
            }
        }
    }
}

/// A stored outcome as the reads write it (`win` / `loss`); `None` for anything else.
fn outcome_str(s: &str) -> Option<&'static str> {
    parse_outcome(Some(s)).map(standings::outcome_str)
}

/// What a tournament's games depend on besides the rows: held games are reused only while it
/// is unchanged.
#[derive(Clone, PartialEq, Eq)]
struct Scope {
    build: Option<i64>,
    leaderboard_id: i64,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    /// Sorted.
    profiles: Vec<i64>,
}

impl Scope {
    fn in_window(&self, started_at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| started_at >= s) && self.end.is_none_or(|e| started_at <= e)
    }
}

/// The newest positions written, read in one snapshot before the rows.
#[derive(Clone, Copy, sqlx::FromRow)]
struct Seen {
    build: Option<i64>,
    matches: i64,
    aliases: i64,
}

struct Held {
    scope: Scope,
    seen: Seen,
    games: Arc<Games>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

/// Each tournament's games between fills (see the module docs).
pub struct GameCache {
    slots: Mutex<Slots>,
    /// Fills that loaded a tournament's games in full (the rest caught up).
    full_loads: AtomicU64,
    max_tournaments: usize,
    max_rows_held: usize,
}

#[derive(Default)]
struct Slots {
    map: HashMap<i64, Slot>,
    /// Participant rows held per tournament in `map`.
    rows: HashMap<i64, usize>,
}

impl Slots {
    fn remove(&mut self, tournament_id: i64) -> usize {
        self.map.remove(&tournament_id);
        self.rows.remove(&tournament_id).unwrap_or(0)
    }
}

impl Default for GameCache {
    fn default() -> GameCache {
        GameCache::with_limits(MAX_TOURNAMENTS, MAX_ROWS_HELD)
    }
}

impl GameCache {
    /// How many fills loaded a tournament's games in full so far.
    pub fn full_loads(&self) -> u64 {
        self.full_loads.load(Ordering::Relaxed)
    }

    fn with_limits(max_tournaments: usize, max_rows_held: usize) -> GameCache {
        GameCache {
            slots: Mutex::default(),
            full_loads: AtomicU64::new(0),
            max_tournaments,
            max_rows_held,
        }
    }

    /// Drops every tournament's games.
    pub fn clear(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            *slots = Slots::default();
        }
    }

    fn slot(&self, tournament_id: i64) -> Slot {
        let Ok(mut slots) = self.slots.lock() else {
            return Slot::default();
        };
        if !slots.map.contains_key(&tournament_id) && slots.map.len() >= self.max_tournaments {
            if let Some(victim) = slots.map.keys().next().copied() {
                slots.remove(victim);
            }
        }
        slots.map.entry(tournament_id).or_default().clone()
    }

    /// Records that `slot` (if still the tournament's) holds `rows`, and drops other
    /// tournaments while all of them hold more than the budget.
    fn account(&self, tournament_id: i64, slot: &Slot, rows: usize) {
        let Ok(mut slots) = self.slots.lock() else {
            return;
        };
        if !slots
            .map
            .get(&tournament_id)
            .is_some_and(|s| Arc::ptr_eq(s, slot))
        {
            return;
        }
        slots.rows.insert(tournament_id, rows);
        let mut total: usize = slots.rows.values().sum();
        while total > self.max_rows_held {
            let Some(victim) = slots.rows.keys().copied().find(|id| *id != tournament_id) else {
                break;
            };
            total -= slots.remove(victim);
        }
    }

    /// The games of `t` for the roster `profiles`, from what is held plus the rows written
    /// since. Fills of one tournament take turns, so a burst of misses loads once.
    pub async fn games(
        &self,
        pool: &PgPool,
        t: &TournamentRead,
        profiles: &[i64],
    ) -> ApiResult<Arc<Games>> {
        let slot = self.slot(t.id);
        let mut held = slot.lock().await;
        let seen = match read_seen(pool).await {
            Ok(seen) => seen,
            // A core build from before `position` (an upgrade still rebuilding): load in full.
            Err(e) if undefined_column(&e) => {
                *held = None;
                self.full_loads.fetch_add(1, Ordering::Relaxed);
                return Ok(Arc::new(load(pool, t, profiles, None).await?));
            }
            Err(e) => return Err(e.into()),
        };
        let mut sorted = profiles.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let scope = Scope {
            build: seen.build,
            leaderboard_id: t.leaderboard_id,
            start: t.start_date,
            end: t.end_date,
            profiles: sorted,
        };
        if let Some(h) = held.as_mut().filter(|h| h.scope == scope) {
            if catch_up(pool, h, seen).await? {
                self.account(t.id, &slot, h.games.rows());
                return Ok(h.games.clone());
            }
        }
        self.full_loads.fetch_add(1, Ordering::Relaxed);
        let games = Arc::new(load(pool, t, profiles, None).await?);
        let rows = games.rows();
        *held = (rows <= MAX_ROWS_KEPT).then(|| Held {
            scope,
            seen,
            games: games.clone(),
        });
        self.account(t.id, &slot, if held.is_some() { rows } else { 0 });
        Ok(games)
    }
}

async fn read_seen(pool: &PgPool) -> sqlx::Result<Seen> {
    sqlx::query_as(
        "SELECT (SELECT build FROM public.projection_checkpoints
                  WHERE name = 'core' AND status = 'live') AS build,
                (SELECT coalesce(max(position), 0) FROM live.matches) AS matches,
                (SELECT coalesce(max(position), 0) FROM live.profile_aliases) AS aliases",
    )
    .fetch_one(pool)
    .await
}

fn undefined_column(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "42703")
}

/// Brings `held` up to `seen`; false when a full load is needed (`held` may then be half
/// updated: the caller replaces it).
async fn catch_up(pool: &PgPool, held: &mut Held, seen: Seen) -> ApiResult<bool> {
    if seen.matches < held.seen.matches || seen.aliases < held.seen.aliases {
        return Ok(false);
    }
    if seen.matches == held.seen.matches && seen.aliases == held.seen.aliases {
        return Ok(true);
    }
    let matches = sqlx::query_as::<_, ParticipantRow>(
        "SELECT m.match_id, m.map_name, m.started_at, m.completed_at, m.updated_at,
                m.leaderboard_id, mp.profile_id, mp.civilization_id, mp.team_id, mp.outcome,
                mp.old_rating, mp.new_rating, pa.alias, c.name AS civilization_name
           FROM live.matches m JOIN live.match_players mp ON mp.match_id = m.match_id
           LEFT JOIN live.profile_aliases pa ON pa.profile_id = mp.profile_id
           LEFT JOIN live.civilizations c ON c.civilization_id = mp.civilization_id
          WHERE m.position > $1 AND m.position <= $2
            AND m.match_id IN (SELECT match_id FROM live.match_players
                                WHERE profile_id = ANY($3) AND outcome IS NOT NULL)
          ORDER BY m.match_id, mp.profile_id",
    )
    .bind(held.seen.matches)
    .bind(seen.matches)
    .bind(&held.scope.profiles)
    .fetch_all(pool);
    let aliases = sqlx::query_as::<_, (i64, String)>(
        "SELECT profile_id, alias FROM live.profile_aliases
          WHERE position > $1 AND position <= $2",
    )
    .bind(held.seen.aliases)
    .bind(seen.aliases)
    .fetch_all(pool);
    let (matches, aliases) =
        tokio::try_join!(async { Ok::<_, ApiError>(matches.await?) }, async {
            Ok::<_, ApiError>(aliases.await?)
        },)?;
    if !matches.is_empty() || !aliases.is_empty() {
        let rostered: HashSet<i64> = held.scope.profiles.iter().copied().collect();
        // In place unless a request still reads the previous games (then a copy).
        let games = Arc::make_mut(&mut held.games);
        if games
            .apply_matches(&held.scope, matches, &rostered)
            .is_err()
        {
            return Ok(false);
        }
        games.apply_aliases(aliases);
        games.index();
    }
    held.seen = seen;
    Ok(true)
}

/// Loads the games of `t` for `profiles` in full; `recorded_by` limits them to matches the
/// service had recorded by then (the table as it stood at a past instant, see `as_of`).
pub async fn load(
    pool: &PgPool,
    t: &TournamentRead,
    profiles: &[i64],
    recorded_by: Option<DateTime<Utc>>,
) -> ApiResult<Games> {
    // The as-of filter only when asked for: a statement with an optional clause
    // (`$n IS NULL OR …`) never gets a generic plan, so PostgreSQL would plan it again on every
    // cache fill (about 0.4 ms each, measured).
    let recorded = |n: u8| match recorded_by {
        Some(_) => format!(
            "AND EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = 'Match'
                            AND e.aggregate_id = m.match_id::text AND e.recorded_at <= ${n})"
        ),
        None => String::new(),
    };
    let recent_sql = format!(
        "SELECT profile_id, match_id, started_at, outcome FROM (
            SELECT mp.profile_id, m.match_id, m.started_at, mp.outcome,
                   row_number() OVER (PARTITION BY mp.profile_id
                                      ORDER BY m.started_at DESC, m.match_id DESC) AS n
              FROM live.match_players mp JOIN live.matches m ON m.match_id = mp.match_id
             WHERE mp.profile_id = ANY($1) AND m.leaderboard_id = $2 AND mp.outcome IS NOT NULL
               {}
         ) x WHERE n <= {RECENT} ORDER BY profile_id, n",
        recorded(3)
    );
    // Every participant of every in-window match that involves a rostered profile, with the
    // participant's last known alias (opponents are named by it) and civilization's name (the
    // only civilizations the reads name).
    let participants_sql = format!(
        "SELECT m.match_id, m.map_name, m.started_at, m.completed_at, m.updated_at, mp.profile_id,
                mp.civilization_id, mp.team_id, mp.outcome, mp.old_rating, mp.new_rating,
                pa.alias, c.name AS civilization_name
           FROM live.matches m JOIN live.match_players mp ON mp.match_id = m.match_id
           LEFT JOIN live.profile_aliases pa ON pa.profile_id = mp.profile_id
           LEFT JOIN live.civilizations c ON c.civilization_id = mp.civilization_id
          WHERE m.leaderboard_id = $2
            AND m.started_at >= coalesce($3, '-infinity'::timestamptz)
            AND m.started_at <= coalesce($4, 'infinity'::timestamptz)
            AND m.match_id IN (SELECT match_id FROM live.match_players
                                WHERE profile_id = ANY($1) AND outcome IS NOT NULL)
            {}
          ORDER BY m.match_id, mp.profile_id",
        recorded(5)
    );
    // Independent queries, each on its own pooled connection: the fill waits for the slowest
    // of them instead of their sum.
    let mut recent = sqlx::query_as::<_, (i64, i64, DateTime<Utc>, String)>(&recent_sql)
        .bind(profiles)
        .bind(t.leaderboard_id);
    let mut participants = sqlx::query_as::<_, ParticipantRow>(&participants_sql)
        .bind(profiles)
        .bind(t.leaderboard_id)
        .bind(t.start_date)
        .bind(t.end_date);
    if let Some(at) = recorded_by {
        recent = recent.bind(at);
        participants = participants.bind(at);
    }
    let (recent, participants) = (recent.fetch_all(pool), participants.fetch_all(pool));
    let (recent, participants) =
        tokio::try_join!(async { Ok::<_, ApiError>(recent.await?) }, async {
            Ok::<_, ApiError>(participants.await?)
        },)?;
    let mut games = Games::default();
    games.add_recent(recent);
    games.add_participants(participants);
    games.index();
    Ok(games)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budgets_drop_other_tournaments_first() {
        let cache = GameCache::with_limits(3, 100);
        let (a, b, c) = (cache.slot(1), cache.slot(2), cache.slot(3));
        cache.account(1, &a, 40);
        cache.account(2, &b, 40);
        let held = |cache: &GameCache| {
            let slots = cache.slots.lock().unwrap();
            let mut ids: Vec<i64> = slots.map.keys().copied().collect();
            ids.sort_unstable();
            (ids, slots.rows.values().sum::<usize>())
        };
        assert_eq!(held(&cache), (vec![1, 2, 3], 80));
        // 3 grows past the budget: another tournament goes, never 3 itself.
        cache.account(3, &c, 50);
        let (ids, total) = held(&cache);
        assert!(
            ids.contains(&3) && ids.len() == 2 && total == 90,
            "{ids:?} {total}"
        );
        // Alone over the budget, it stays (MAX_ROWS_KEPT bounds one entry).
        cache.account(3, &c, 150);
        assert_eq!(held(&cache), (vec![3], 150));
        // A slot dropped meanwhile is not counted again by a fill that still holds it.
        cache.account(1, &a, 10);
        assert_eq!(held(&cache), (vec![3], 150));
        cache.clear();
        assert_eq!(held(&cache), (vec![], 0));
        // Past the tournament cap, an arbitrary other one goes, with its rows.
        let capped = GameCache::with_limits(2, 1_000);
        let (x, y) = (capped.slot(1), capped.slot(2));
        capped.account(1, &x, 5);
        capped.account(2, &y, 7);
        let _z = capped.slot(3);
        let (ids, total) = held(&capped);
        assert!(
            ids.len() == 2 && ids.contains(&3) && (total == 5 || total == 7),
            "{ids:?} {total}"
        );
    }
}
