//! Profiles and ratings: `players`, `player_ratings` and `player_rating_snapshots`.
//!
//! One by one ([`profile`], [`ladder`]): an upsert per event; a `RatingObserved` inserts a
//! snapshot when its `(max_rating, current_rating)` pair differs from the row's; a
//! `RankObserved` (legacy) and each rank of a `LadderRanksObserved` only update a rating row
//! that exists.
//!
//! Batched ([`Fold::profile`], then [`Fold::write_profiles`] and [`Fold::write_ratings`]): last
//! write wins per key; a snapshot whenever the pair differs from the one before it in the
//! batch, the first of a key compared with `player_ratings` in the insert itself.

use chrono::{DateTime, Utc};
use domain::ladder::{LadderEvent, LadderRank};
use domain::profile::{LadderStats, ProfileEvent};
use sqlx::PgConnection;
use store::RecordedEvent;

use super::fold::Fold;
use super::tournaments_of;
use crate::nudge::{NudgeKind, Nudges};

/// The `max_rating` both paths record (see [`LadderStats::max_rating`]).
fn max_rating_of(s: &LadderStats) -> i64 {
    s.max_rating()
}

pub(super) async fn profile(
    db: &mut PgConnection,
    event: &RecordedEvent,
    e: &ProfileEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let profile_id = match e {
        ProfileEvent::ProfileObserved {
            profile_id,
            identity,
            observed_at,
        } => {
            sqlx::query(
                "INSERT INTO players (profile_id, alias, country, steam_id, level, xp, region_id,
                                      clan_name, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (profile_id) DO UPDATE SET
                    alias = excluded.alias, country = excluded.country,
                    steam_id = excluded.steam_id, level = excluded.level, xp = excluded.xp,
                    region_id = excluded.region_id, clan_name = excluded.clan_name,
                    updated_at = excluded.updated_at",
            )
            .bind(profile_id)
            .bind(&identity.alias)
            .bind(&identity.country)
            .bind(&identity.steam_id)
            .bind(identity.level)
            .bind(identity.xp)
            .bind(identity.region_id)
            .bind(&identity.clan_name)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
            *profile_id
        }
        ProfileEvent::RatingObserved {
            profile_id,
            stats: s,
            observed_at,
        } => {
            let current_rating = s.rating;
            let max_rating = max_rating_of(s);
            // Snapshot whenever the ranked pair differs from the last one (self-seeding).
            sqlx::query(
                "INSERT INTO player_rating_snapshots
                        (profile_id, leaderboard_id, max_rating, current_rating, observed_at, position)
                 SELECT $1, $2, $3, $4, $5, $6
                  WHERE NOT EXISTS (SELECT 1 FROM player_ratings
                                     WHERE profile_id = $1 AND leaderboard_id = $2
                                       AND max_rating = $3 AND current_rating = $4)",
            )
            .bind(profile_id)
            .bind(s.leaderboard_id)
            .bind(max_rating)
            .bind(current_rating)
            .bind(observed_at)
            .bind(event.log_position.position)
            .execute(&mut *db)
            .await?;
            sqlx::query(
                "INSERT INTO player_ratings (profile_id, leaderboard_id, current_rating, max_rating,
                        wins, losses, streak, drops, rank, rank_total, region_rank,
                        region_rank_total, last_match_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (profile_id, leaderboard_id) DO UPDATE SET
                    current_rating = excluded.current_rating, max_rating = excluded.max_rating,
                    wins = excluded.wins, losses = excluded.losses, streak = excluded.streak,
                    drops = excluded.drops, rank = excluded.rank, rank_total = excluded.rank_total,
                    region_rank = excluded.region_rank,
                    region_rank_total = excluded.region_rank_total,
                    last_match_at = excluded.last_match_at, updated_at = excluded.updated_at",
            )
            .bind(profile_id)
            .bind(s.leaderboard_id)
            .bind(current_rating)
            .bind(max_rating)
            .bind(s.wins)
            .bind(s.losses)
            .bind(s.streak)
            .bind(s.drops)
            .bind(s.rank)
            .bind(s.rank_total)
            .bind(s.region_rank)
            .bind(s.region_rank_total)
            .bind(s.last_match_at)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
            *profile_id
        }
        ProfileEvent::RankObserved {
            profile_id,
            leaderboard_id,
            rank,
            rank_total,
            region_rank,
            region_rank_total,
            observed_at,
        } => {
            sqlx::query(
                "UPDATE player_ratings SET rank = $3, rank_total = $4, region_rank = $5,
                        region_rank_total = $6, updated_at = $7
                  WHERE profile_id = $1 AND leaderboard_id = $2",
            )
            .bind(profile_id)
            .bind(leaderboard_id)
            .bind(rank)
            .bind(rank_total)
            .bind(region_rank)
            .bind(region_rank_total)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
            *profile_id
        }
    };
    let scope = tournaments_of(db, &[profile_id]).await?;
    nudges.touch(NudgeKind::Standings, scope);
    Ok(())
}

/// A ladder's ranks (one event for many players): one update of the rows that exist.
pub(super) async fn ladder(
    db: &mut PgConnection,
    e: &LadderEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let LadderEvent::LadderRanksObserved {
        leaderboard_id,
        observed_at,
        ranks,
    } = e;
    let mut columns = RatingColumns::default();
    for r in ranks {
        columns.push(r.profile_id, *leaderboard_id, &Rank::of(r), *observed_at);
    }
    update_ranks(db, &columns).await?;
    let scope = tournaments_of(db, &columns.profile_id).await?;
    nudges.touch(NudgeKind::Standings, scope);
    Ok(())
}

/// Sets the rank columns of the `player_ratings` rows that exist, one statement.
async fn update_ranks(db: &mut PgConnection, ranks: &RatingColumns) -> sqlx::Result<()> {
    if ranks.profile_id.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE player_ratings r SET rank = u.rank, rank_total = u.rank_total,
                region_rank = u.region_rank, region_rank_total = u.region_rank_total,
                updated_at = u.updated_at
           FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[],
                       $6::int8[], $7::timestamptz[])
                AS u (profile_id, leaderboard_id, rank, rank_total, region_rank,
                      region_rank_total, updated_at)
          WHERE r.profile_id = u.profile_id AND r.leaderboard_id = u.leaderboard_id",
    )
    .persistent(false)
    .bind(&ranks.profile_id)
    .bind(&ranks.leaderboard_id)
    .bind(&ranks.rank)
    .bind(&ranks.rank_total)
    .bind(&ranks.region_rank)
    .bind(&ranks.region_rank_total)
    .bind(&ranks.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The batch path.

#[derive(Clone, Copy)]
pub(super) struct Rank {
    rank: Option<i64>,
    rank_total: Option<i64>,
    region_rank: Option<i64>,
    region_rank_total: Option<i64>,
}

impl Rank {
    fn of(r: &LadderRank) -> Rank {
        Rank {
            rank: r.rank,
            rank_total: r.rank_total,
            region_rank: r.region_rank,
            region_rank_total: r.region_rank_total,
        }
    }
}

/// A `player_rating_snapshots` row to insert.
pub(super) struct Snapshot {
    profile_id: i64,
    leaderboard_id: i64,
    max_rating: i64,
    current_rating: i64,
    observed_at: DateTime<Utc>,
    position: i64,
    /// The first of its key in the batch: kept only if `player_ratings` holds another pair.
    first: bool,
}

/// What a batch does to one `player_ratings` key.
pub(super) enum RatingWrite<'a> {
    /// The whole row: the last `RatingObserved`, with any `RankObserved` after it.
    Row {
        stats: &'a LadderStats,
        max_rating: i64,
        rank: Rank,
        updated_at: DateTime<Utc>,
    },
    /// Only `RankObserved` events: the last one, applied if the row exists.
    RankOnly {
        rank: Rank,
        updated_at: DateTime<Utc>,
    },
}

impl<'a> Fold<'a> {
    /// Folds a profile event, with the meaning of [`profile`]'s statements.
    pub(super) fn profile(&mut self, event: &'a RecordedEvent, e: &'a ProfileEvent) {
        match e {
            ProfileEvent::ProfileObserved {
                profile_id,
                identity,
                observed_at,
            } => {
                self.players.insert(*profile_id, (identity, *observed_at));
                self.standings.push(*profile_id);
            }
            ProfileEvent::RatingObserved {
                profile_id,
                stats,
                observed_at,
            } => {
                let key = (*profile_id, stats.leaderboard_id);
                let max_rating = max_rating_of(stats);
                let pair = (max_rating, stats.rating);
                // The first of a key compares with the table (in the insert), the others with
                // the pair before them, whether or not that one made a snapshot.
                let first = match self.pairs.insert(key, pair) {
                    None => Some(true),
                    Some(last) if last != pair => Some(false),
                    Some(_) => None,
                };
                if let Some(first) = first {
                    self.snapshots.push(Snapshot {
                        profile_id: key.0,
                        leaderboard_id: key.1,
                        max_rating,
                        current_rating: stats.rating,
                        observed_at: *observed_at,
                        position: event.log_position.position,
                        first,
                    });
                }
                let rank = Rank {
                    rank: stats.rank,
                    rank_total: stats.rank_total,
                    region_rank: stats.region_rank,
                    region_rank_total: stats.region_rank_total,
                };
                self.ratings.insert(
                    key,
                    RatingWrite::Row {
                        stats,
                        max_rating,
                        rank,
                        updated_at: *observed_at,
                    },
                );
                self.standings.push(*profile_id);
            }
            ProfileEvent::RankObserved {
                profile_id,
                leaderboard_id,
                rank,
                rank_total,
                region_rank,
                region_rank_total,
                observed_at,
            } => {
                let new = Rank {
                    rank: *rank,
                    rank_total: *rank_total,
                    region_rank: *region_rank,
                    region_rank_total: *region_rank_total,
                };
                self.rank((*profile_id, *leaderboard_id), new, *observed_at);
            }
        }
    }

    /// Folds a ladder's ranks, with the meaning of [`ladder`]'s statement.
    pub(super) fn ladder(&mut self, e: &LadderEvent) {
        let LadderEvent::LadderRanksObserved {
            leaderboard_id,
            observed_at,
            ranks,
        } = e;
        for r in ranks {
            self.rank((r.profile_id, *leaderboard_id), Rank::of(r), *observed_at);
        }
    }

    /// A rank-only write: over the key's pending write, or an update of the row if it exists.
    fn rank(&mut self, key: (i64, i64), new: Rank, at: DateTime<Utc>) {
        match self.ratings.get_mut(&key) {
            Some(RatingWrite::Row {
                rank, updated_at, ..
            })
            | Some(RatingWrite::RankOnly { rank, updated_at }) => {
                *rank = new;
                *updated_at = at;
            }
            None => {
                self.ratings.insert(
                    key,
                    RatingWrite::RankOnly {
                        rank: new,
                        updated_at: at,
                    },
                );
            }
        }
        self.standings.push(key.0);
    }

    pub(super) async fn write_profiles(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        if self.players.is_empty() {
            return Ok(());
        }
        let n = self.players.len();
        let mut profile_id = Vec::with_capacity(n);
        let mut alias = Vec::with_capacity(n);
        let mut country = Vec::with_capacity(n);
        let mut steam_id = Vec::with_capacity(n);
        let mut level = Vec::with_capacity(n);
        let mut xp = Vec::with_capacity(n);
        let mut region_id = Vec::with_capacity(n);
        let mut clan_name = Vec::with_capacity(n);
        let mut updated_at = Vec::with_capacity(n);
        for (p, (identity, at)) in &self.players {
            profile_id.push(*p);
            alias.push(identity.alias.as_str());
            country.push(identity.country.as_deref());
            steam_id.push(identity.steam_id.as_deref());
            level.push(identity.level);
            xp.push(identity.xp);
            region_id.push(identity.region_id);
            clan_name.push(identity.clan_name.as_deref());
            updated_at.push(*at);
        }
        sqlx::query(
            "INSERT INTO players (profile_id, alias, country, steam_id, level, xp, region_id,
                                  clan_name, updated_at)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::int8[],
                                  $6::int8[], $7::int8[], $8::text[], $9::timestamptz[])
             ON CONFLICT (profile_id) DO UPDATE SET
                alias = excluded.alias, country = excluded.country,
                steam_id = excluded.steam_id, level = excluded.level, xp = excluded.xp,
                region_id = excluded.region_id, clan_name = excluded.clan_name,
                updated_at = excluded.updated_at",
        )
        .bind(&profile_id)
        .bind(&alias)
        .bind(&country)
        .bind(&steam_id)
        .bind(&level)
        .bind(&xp)
        .bind(&region_id)
        .bind(&clan_name)
        .bind(&updated_at)
        .execute(&mut *db)
        .await?;
        Ok(())
    }

    pub(super) async fn write_ratings(&self, db: &mut PgConnection) -> sqlx::Result<()> {
        if !self.snapshots.is_empty() {
            let n = self.snapshots.len();
            let mut profile_id = Vec::with_capacity(n);
            let mut leaderboard_id = Vec::with_capacity(n);
            let mut max_rating = Vec::with_capacity(n);
            let mut current_rating = Vec::with_capacity(n);
            let mut observed_at = Vec::with_capacity(n);
            let mut position = Vec::with_capacity(n);
            let mut first = Vec::with_capacity(n);
            for x in &self.snapshots {
                profile_id.push(x.profile_id);
                leaderboard_id.push(x.leaderboard_id);
                max_rating.push(x.max_rating);
                current_rating.push(x.current_rating);
                observed_at.push(x.observed_at);
                position.push(x.position);
                first.push(x.first);
            }
            // Before the rating rows are written: a key's first pair compares with the row as
            // it was before the batch.
            sqlx::query(
                "INSERT INTO player_rating_snapshots
                        (profile_id, leaderboard_id, max_rating, current_rating, observed_at, position)
                 SELECT u.profile_id, u.leaderboard_id, u.max_rating, u.current_rating,
                        u.observed_at, u.position
                   FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[],
                               $5::timestamptz[], $6::int8[], $7::bool[])
                        AS u (profile_id, leaderboard_id, max_rating, current_rating,
                              observed_at, position, first)
                  WHERE NOT u.first
                     OR NOT EXISTS (SELECT 1 FROM player_ratings r
                                     WHERE r.profile_id = u.profile_id
                                       AND r.leaderboard_id = u.leaderboard_id
                                       AND r.max_rating = u.max_rating
                                       AND r.current_rating = u.current_rating)",
            )
            .persistent(false)
            .bind(&profile_id)
            .bind(&leaderboard_id)
            .bind(&max_rating)
            .bind(&current_rating)
            .bind(&observed_at)
            .bind(&position)
            .bind(&first)
            .execute(&mut *db)
            .await?;
        }
        let mut rows = RatingColumns::default();
        let mut ranks = RatingColumns::default();
        for ((p, l), write) in &self.ratings {
            match write {
                RatingWrite::Row {
                    stats,
                    max_rating,
                    rank,
                    updated_at,
                } => {
                    rows.push(*p, *l, rank, *updated_at);
                    rows.current_rating.push(stats.rating);
                    rows.max_rating.push(*max_rating);
                    rows.wins.push(stats.wins);
                    rows.losses.push(stats.losses);
                    rows.streak.push(stats.streak);
                    rows.drops.push(stats.drops);
                    rows.last_match_at.push(stats.last_match_at);
                }
                RatingWrite::RankOnly { rank, updated_at } => {
                    ranks.push(*p, *l, rank, *updated_at);
                }
            }
        }
        if !rows.profile_id.is_empty() {
            sqlx::query(
                "INSERT INTO player_ratings (profile_id, leaderboard_id, current_rating, max_rating,
                        wins, losses, streak, drops, rank, rank_total, region_rank,
                        region_rank_total, last_match_at, updated_at)
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[],
                                      $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[],
                                      $11::int8[], $12::int8[], $13::timestamptz[],
                                      $14::timestamptz[])
                 ON CONFLICT (profile_id, leaderboard_id) DO UPDATE SET
                    current_rating = excluded.current_rating, max_rating = excluded.max_rating,
                    wins = excluded.wins, losses = excluded.losses, streak = excluded.streak,
                    drops = excluded.drops, rank = excluded.rank, rank_total = excluded.rank_total,
                    region_rank = excluded.region_rank,
                    region_rank_total = excluded.region_rank_total,
                    last_match_at = excluded.last_match_at, updated_at = excluded.updated_at",
            )
            .bind(&rows.profile_id)
            .bind(&rows.leaderboard_id)
            .bind(&rows.current_rating)
            .bind(&rows.max_rating)
            .bind(&rows.wins)
            .bind(&rows.losses)
            .bind(&rows.streak)
            .bind(&rows.drops)
            .bind(&rows.rank)
            .bind(&rows.rank_total)
            .bind(&rows.region_rank)
            .bind(&rows.region_rank_total)
            .bind(&rows.last_match_at)
            .bind(&rows.updated_at)
            .execute(&mut *db)
            .await?;
        }
        update_ranks(db, &ranks).await?;
        Ok(())
    }
}

/// `player_ratings` columns for one statement.
#[derive(Default)]
struct RatingColumns {
    profile_id: Vec<i64>,
    leaderboard_id: Vec<i64>,
    current_rating: Vec<i64>,
    max_rating: Vec<i64>,
    wins: Vec<i64>,
    losses: Vec<i64>,
    streak: Vec<i64>,
    drops: Vec<i64>,
    rank: Vec<Option<i64>>,
    rank_total: Vec<Option<i64>>,
    region_rank: Vec<Option<i64>>,
    region_rank_total: Vec<Option<i64>>,
    last_match_at: Vec<Option<DateTime<Utc>>>,
    updated_at: Vec<DateTime<Utc>>,
}

impl RatingColumns {
    fn push(&mut self, profile_id: i64, leaderboard_id: i64, rank: &Rank, at: DateTime<Utc>) {
        self.profile_id.push(profile_id);
        self.leaderboard_id.push(leaderboard_id);
        self.rank.push(rank.rank);
        self.rank_total.push(rank.rank_total);
        self.region_rank.push(rank.region_rank);
        self.region_rank_total.push(rank.region_rank_total);
        self.updated_at.push(at);
    }
}
