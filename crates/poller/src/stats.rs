//! Stats cycle: one batched `GetPersonalStat` over the tracked set → one `ObserveStats` per
//! profile whose observation differs from what its aggregate was last told; and movement
//! detection (wins + losses, last match time) that decides whose history to fetch.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::profile::{
    LadderStats, ObserveStats, Profile, ProfileCommand, ProfileIdentity, RANK_REFRESH,
};
use futures::future::try_join_all;
use upstream::{PersonalStats, Priority, ProfileObservation, RatingObservation, UpstreamError};

use crate::{tracked, CycleError, CycleKind, CycleReport, Inner, Sent};

/// Per profile: what the aggregate was last told, and the game counters last seen.
#[derive(Default)]
pub(crate) struct StatsState {
    sent: HashMap<i64, SentObservation>,
    games: HashMap<i64, GamesKey>,
    /// Where the round-robin continues after a cycle cut short by the budget.
    resume_after: Option<i64>,
}

impl StatsState {
    fn retain(&mut self, tracked: &HashSet<i64>) {
        self.sent.retain(|id, _| tracked.contains(id));
        self.games.retain(|id, _| tracked.contains(id));
    }
}

/// One profile's observation, in domain types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    pub identity: Option<ProfileIdentity>,
    /// Sorted by leaderboard id.
    pub ladders: Vec<LadderStats>,
}

/// What we believe the Profile aggregate holds, per ladder with the time its rank fields
/// were last recorded: mirrors the aggregate's own rule (rank-only movement at most once per
/// [`RANK_REFRESH`]) so idle players whose rank drifts cost no command every cycle.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SentObservation {
    identity: Option<ProfileIdentity>,
    ladders: BTreeMap<i64, (LadderStats, DateTime<Utc>)>,
}

/// `(leaderboard, wins + losses, last match)` per ladder: what a played game changes.
type GamesKey = Vec<(i64, i64, Option<DateTime<Utc>>)>;

pub(crate) async fn cycle(inner: &Inner) -> Result<CycleReport, CycleError> {
    // The cycle may use its whole cadence, no more: what the budget cannot send by then is
    // left for the next cycle instead of queueing behind it.
    let deadline = tokio::time::Instant::now() + inner.config.stats_interval;
    let tracked = tracked::tracked_profiles(&inner.pool).await?;
    let tracked_set: HashSet<i64> = tracked.iter().copied().collect();
    let (hot, rest) = {
        let mut state = inner.lock_state();
        state.stats.retain(&tracked_set);
        let hot = state.hot_profiles(&tracked_set);
        let rest = round_robin(&tracked, &hot, state.stats.resume_after);
        (hot, rest)
    };
    let mut report = CycleReport {
        tracked: tracked.len(),
        ..CycleReport::default()
    };
    if tracked.is_empty() {
        return Ok(report);
    }
    let fetched = fetch(inner, &hot, &rest, deadline).await?;
    report.requests = fetched.requests;
    report.items = fetched.asked;
    report.deferred = tracked.len() - fetched.asked;
    if fetched.resume_after.is_some() {
        inner.lock_state().stats.resume_after = fetched.resume_after;
    }
    let response = fetched.stats;
    let now = Utc::now();
    let observations = group(response, &tracked_set);

    let to_send: Vec<(i64, Observation, SentObservation)> = {
        let mut state = inner.lock_state();
        let mut moved = Vec::new();
        let mut first_seen = Vec::new();
        for (&profile_id, observation) in &observations {
            let key = games_key(observation);
            match state.stats.games.insert(profile_id, key.clone()) {
                Some(previous) if previous == key => {}
                Some(_) => moved.push(profile_id),
                // First sighting counts as moved (a new term does not know what it missed),
                // but is no news: its history goes after the players who just played.
                None => first_seen.push(profile_id),
            }
        }
        report.moved = moved.len() + first_seen.len();
        state.history.mark_moved(&moved);
        state.history.mark_first_seen(&first_seen);
        observations
            .into_iter()
            .filter_map(|(profile_id, observation)| {
                plan(state.stats.sent.get(&profile_id), &observation, now)
                    .map(|next| (profile_id, observation, next))
            })
            .collect()
    };

    for (profile_id, observation, next) in to_send {
        let command = ProfileCommand::ObserveStats(ObserveStats {
            profile_id,
            identity: observation.identity,
            ladders: observation.ladders,
            observed_at: now,
        });
        let sent = inner
            .send::<Profile>(CycleKind::Stats, &profile_id.to_string(), command)
            .await?;
        report.commands += 1;
        if sent == Sent::Appended {
            inner.lock_state().stats.sent.insert(profile_id, next);
        }
    }
    Ok(report)
}

/// `rest` (tracked minus `hot`, ascending) rotated to start after `resume_after`: a cycle
/// cut short by the budget is continued, not restarted, by the next one.
pub(crate) fn round_robin(tracked: &[i64], hot: &[i64], resume_after: Option<i64>) -> Vec<i64> {
    let hot: HashSet<i64> = hot.iter().copied().collect();
    let rest: Vec<i64> = tracked
        .iter()
        .copied()
        .filter(|id| !hot.contains(id))
        .collect();
    let start = resume_after.map_or(0, |after| rest.partition_point(|&id| id <= after));
    let (before, after) = rest.split_at(start);
    after.iter().chain(before).copied().collect()
}

/// What one stats cycle got from upstream.
struct Fetched {
    stats: PersonalStats,
    /// Profiles in batches that were answered.
    asked: usize,
    requests: u64,
    /// The last profile of the answered prefix of the round-robin, if it stopped early.
    resume_after: Option<i64>,
}

/// All batches at once through the shared budget: `hot` first (a batch holding one of them
/// goes at Hot priority), then `rest` in order (Normal), in as few batches as before.
/// Batches not started by `deadline` are left out; any other failure fails the cycle.
async fn fetch(
    inner: &Inner,
    hot: &[i64],
    rest: &[i64],
    deadline: tokio::time::Instant,
) -> Result<Fetched, CycleError> {
    let batch = inner.config.upstream.stats_batch_size.max(1);
    let hot_client = inner.client.at(Priority::Hot).until(deadline);
    let rest_client = inner.client.at(Priority::Normal).until(deadline);
    let order: Vec<i64> = hot.iter().chain(rest).copied().collect();
    let answers = try_join_all(order.chunks(batch).enumerate().map(|(i, chunk)| {
        let client = if i * batch < hot.len() {
            &hot_client
        } else {
            &rest_client
        };
        async move {
            match client.personal_stats(chunk).await {
                Ok(stats) => Ok((chunk, Some(stats))),
                Err(UpstreamError::Deferred) => Ok((chunk, None)),
                Err(e) => Err(e),
            }
        }
    }))
    .await?;
    let hot: HashSet<i64> = hot.iter().copied().collect();
    let mut fetched = Fetched {
        stats: PersonalStats::default(),
        asked: 0,
        requests: 0,
        resume_after: None,
    };
    // The round-robin resumes after the last `rest` profile of the answered prefix.
    let mut prefix_done = true;
    let mut prefix_last = None;
    for (chunk, stats) in answers {
        let last_rest = chunk.iter().rev().find(|id| !hot.contains(id)).copied();
        match stats {
            Some(stats) => {
                fetched.asked += chunk.len();
                fetched.requests += 1;
                fetched.stats.profiles.extend(stats.profiles);
                fetched.stats.ratings.extend(stats.ratings);
                if prefix_done && last_rest.is_some() {
                    prefix_last = last_rest;
                }
            }
            None if prefix_done => {
                prefix_done = false;
                fetched.resume_after = prefix_last;
            }
            None => {}
        }
    }
    Ok(fetched)
}

/// Profiles and their ladders from a (merged) response, tracked ids only.
pub(crate) fn group(stats: PersonalStats, tracked: &HashSet<i64>) -> BTreeMap<i64, Observation> {
    let mut out: BTreeMap<i64, Observation> = BTreeMap::new();
    for profile in stats.profiles {
        if tracked.contains(&profile.profile_id) {
            let id = profile.profile_id;
            out.entry(id).or_insert_with(empty).identity = Some(identity(profile));
        }
    }
    for rating in stats.ratings {
        if tracked.contains(&rating.profile_id) {
            let id = rating.profile_id;
            out.entry(id)
                .or_insert_with(empty)
                .ladders
                .push(ladder(rating));
        }
    }
    for observation in out.values_mut() {
        observation.ladders.sort_by_key(|l| l.leaderboard_id);
        observation.ladders.dedup_by_key(|l| l.leaderboard_id);
    }
    out
}

fn empty() -> Observation {
    Observation {
        identity: None,
        ladders: Vec::new(),
    }
}

pub(crate) fn identity(p: ProfileObservation) -> ProfileIdentity {
    ProfileIdentity {
        alias: p.alias,
        country: p.country,
        steam_id: p.steam_id,
        level: p.level,
        xp: p.xp,
        region_id: p.region_id,
        clan_name: p.clan_name,
    }
}

pub(crate) fn ladder(r: RatingObservation) -> LadderStats {
    LadderStats {
        leaderboard_id: r.leaderboard_id,
        rating: r.rating,
        // The parser floors it already; the domain states it as an invariant, so hold it here
        // too rather than trust a layer we do not own.
        highest_rating: r.highest_rating.max(r.rating),
        wins: r.wins,
        losses: r.losses,
        streak: r.streak,
        drops: r.drops,
        rank: r.rank,
        rank_total: r.rank_total,
        region_rank: r.region_rank,
        region_rank_total: r.region_rank_total,
        last_match_at: r.last_match_at,
    }
}

fn games_key(observation: &Observation) -> GamesKey {
    observation
        .ladders
        .iter()
        .map(|l| (l.leaderboard_id, l.wins + l.losses, l.last_match_at))
        .collect()
}

/// Everything but the rank fields (which move when *other* players play).
fn without_ranks(l: &LadderStats) -> LadderStats {
    LadderStats {
        rank: None,
        rank_total: None,
        region_rank: None,
        region_rank_total: None,
        ..l.clone()
    }
}

/// Whether `observation` is worth a command, given what the aggregate was last told; if so,
/// what it will know afterwards. `None`: the aggregate would append nothing.
pub(crate) fn plan(
    prev: Option<&SentObservation>,
    observation: &Observation,
    now: DateTime<Utc>,
) -> Option<SentObservation> {
    let Some(prev) = prev else {
        return Some(SentObservation {
            identity: observation.identity.clone(),
            ladders: observation
                .ladders
                .iter()
                .map(|l| (l.leaderboard_id, (l.clone(), now)))
                .collect(),
        });
    };
    let mut next = prev.clone();
    let mut due = false;
    if observation.identity.is_some() && observation.identity != prev.identity {
        next.identity = observation.identity.clone();
        due = true;
    }
    for l in &observation.ladders {
        match prev.ladders.get(&l.leaderboard_id) {
            Some((known, _)) if known == l => {}
            Some((known, rank_at)) if without_ranks(known) == without_ranks(l) => {
                // Rank-only: the aggregate records it once per RANK_REFRESH; until then keep
                // the old figures here, so the change is sent again once it is due.
                if now - *rank_at >= RANK_REFRESH {
                    next.ladders.insert(l.leaderboard_id, (l.clone(), now));
                    due = true;
                }
            }
            _ => {
                next.ladders.insert(l.leaderboard_id, (l.clone(), now));
                due = true;
            }
        }
    }
    due.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + minute * 60, 0).unwrap()
    }

    fn rm(rating: i64, wins: i64, rank: Option<i64>) -> LadderStats {
        LadderStats {
            leaderboard_id: 3,
            rating,
            highest_rating: rating,
            wins,
            losses: 10,
            streak: 1,
            drops: 0,
            rank,
            rank_total: Some(1000),
            region_rank: None,
            region_rank_total: None,
            last_match_at: Some(at(-5)),
        }
    }

    fn obs(ladders: Vec<LadderStats>) -> Observation {
        Observation {
            identity: Some(ProfileIdentity {
                alias: "Hera".into(),
                country: Some("ca".into()),
                steam_id: None,
                level: 1,
                xp: 0,
                region_id: 3,
                clan_name: None,
            }),
            ladders,
        }
    }

    #[test]
    fn the_round_robin_skips_hot_players_and_resumes_after_the_cursor() {
        let tracked = [1, 2, 3, 4, 5, 6];
        assert_eq!(round_robin(&tracked, &[3], None), vec![1, 2, 4, 5, 6]);
        assert_eq!(round_robin(&tracked, &[3], Some(4)), vec![5, 6, 1, 2, 4]);
        // A cursor on a profile no longer tracked still resumes after its place.
        assert_eq!(round_robin(&[1, 2, 5, 6], &[], Some(3)), vec![5, 6, 1, 2]);
        assert_eq!(round_robin(&tracked, &[], Some(6)), tracked.to_vec());
    }

    #[test]
    fn first_sighting_is_sent_and_the_same_again_is_not() {
        let first = obs(vec![rm(2000, 5, Some(7))]);
        let sent = plan(None, &first, at(0)).expect("first sighting");
        assert_eq!(plan(Some(&sent), &first, at(1)), None);
    }

    #[test]
    fn a_game_is_sent_at_once() {
        let sent = plan(None, &obs(vec![rm(2000, 5, Some(7))]), at(0)).unwrap();
        assert!(plan(Some(&sent), &obs(vec![rm(2008, 6, Some(6))]), at(1)).is_some());
    }

    #[test]
    fn rank_only_movement_waits_for_the_aggregates_refresh() {
        let sent = plan(None, &obs(vec![rm(2000, 5, Some(7))]), at(0)).unwrap();
        let drifted = obs(vec![rm(2000, 5, Some(9))]);
        assert_eq!(plan(Some(&sent), &drifted, at(5)), None);
        let due = plan(Some(&sent), &drifted, at(15)).expect("after RANK_REFRESH");
        assert_eq!(plan(Some(&due), &drifted, at(16)), None);
    }

    #[test]
    fn an_identity_change_is_sent_and_a_missing_identity_is_not() {
        let sent = plan(None, &obs(vec![rm(2000, 5, None)]), at(0)).unwrap();
        let mut renamed = obs(vec![rm(2000, 5, None)]);
        renamed.identity.as_mut().unwrap().alias = "Hera2".into();
        assert!(plan(Some(&sent), &renamed, at(1)).is_some());
        let mut anonymous = obs(vec![rm(2000, 5, None)]);
        anonymous.identity = None;
        assert_eq!(plan(Some(&sent), &anonymous, at(1)), None);
    }

    #[test]
    fn grouping_joins_profiles_and_ladders_and_floors_the_peak() {
        let profile = ProfileObservation {
            profile_id: 1,
            alias: "A".into(),
            country: None,
            steam_id: None,
            level: 1,
            xp: 0,
            region_id: 7,
            clan_name: None,
        };
        let rating = |profile_id, leaderboard_id, highest_rating| RatingObservation {
            profile_id,
            leaderboard_id,
            rating: 1000,
            highest_rating,
            wins: 1,
            losses: 2,
            streak: -1,
            drops: 0,
            rank: None,
            rank_total: None,
            region_rank: None,
            region_rank_total: None,
            last_match_at: None,
        };
        let stats = PersonalStats {
            profiles: vec![
                profile.clone(),
                ProfileObservation {
                    profile_id: 9,
                    ..profile
                },
            ],
            ratings: vec![rating(1, 4, 0), rating(1, 3, 1200), rating(9, 3, 0)],
        };
        let grouped = group(stats, &HashSet::from([1]));
        assert_eq!(grouped.len(), 1, "untracked profile 9 dropped");
        let one = &grouped[&1];
        assert_eq!(one.identity.as_ref().unwrap().alias, "A");
        let boards: Vec<i64> = one.ladders.iter().map(|l| l.leaderboard_id).collect();
        assert_eq!(boards, vec![3, 4]);
        assert_eq!(one.ladders[0].highest_rating, 1200);
        assert_eq!(
            one.ladders[1].highest_rating, 1000,
            "peak floored at rating"
        );
    }
}
