//! Pure standings rules of the contract (seed contract §4): ranking order, the in-window
//! tournament record, win percentages, and the metric frozen when the window closes.
//! Read models and the API compute standings through these functions only.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::matches::Outcome;
use crate::tournament::RankBy;

/// `round(wins / games * 100, 1)` exactly as Python rounds a binary float (Rust's formatting
/// is correctly rounded too, ties to even on the exact value); `None` without games.
pub fn win_pct(wins: i64, games: i64) -> Option<f64> {
    if games <= 0 {
        return None;
    }
    let pct = wins as f64 / games as f64 * 100.0;
    format!("{pct:.1}").parse().ok()
}

/// The display label of a roster player: `presentation.displayName` when it is a non-blank
/// string, else the base roster name.
pub fn display_name(presentation: &Value, base: &str) -> String {
    presentation
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(base)
        .to_string()
}

/// Is `started_at` inside the window? A missing bound is open; both bounds are inclusive.
pub fn in_window(
    started_at: DateTime<Utc>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> bool {
    start.is_none_or(|s| started_at >= s) && end.is_none_or(|e| started_at <= e)
}

/// What ranks a row: the two ratings and the base roster name (never the display name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankKey<'a> {
    pub max_rating: Option<i64>,
    pub current_rating: Option<i64>,
    pub base_name: &'a str,
}

/// Descending with nulls last: the order of every rating column in the contract.
pub fn desc_nulls_last(a: Option<i64>, b: Option<i64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The contract's standings order: the ranked metric DESC NULLS LAST, then the other rating
/// DESC NULLS LAST, then base name ASC (names are unique per tournament: a total order).
pub fn rank_order(rank_by: RankBy, a: &RankKey<'_>, b: &RankKey<'_>) -> Ordering {
    let (first, second) = match rank_by {
        RankBy::PeakRating => (
            desc_nulls_last(a.max_rating, b.max_rating),
            desc_nulls_last(a.current_rating, b.current_rating),
        ),
        RankBy::CurrentRating => (
            desc_nulls_last(a.current_rating, b.current_rating),
            desc_nulls_last(a.max_rating, b.max_rating),
        ),
    };
    first
        .then(second)
        .then_with(|| a.base_name.cmp(b.base_name))
}

/// One completed game of a player, for the in-window record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Game {
    pub match_id: i64,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
    pub new_rating: Option<i64>,
}

/// The in-window record of one player (seed contract §4.3), without the matchup details.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    pub games_played: i64,
    pub wins: i64,
    pub losses: i64,
    /// Leading run of identical outcomes, newest first: + wins, − losses; 0 without games.
    pub streak: i64,
    pub longest_win_streak: i64,
    /// When the longest run started and ended (ties: the most recent run).
    pub longest_win_streak_span: Option<StreakSpan>,
    /// Highest post-game rating in the window.
    pub peak_rating: Option<i64>,
    pub last_match_at: Option<DateTime<Utc>>,
    pub win_pct: Option<f64>,
}

/// `completed_at` of the oldest and of the newest win of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreakSpan {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// Builds the record from a player's completed in-window games (any order).
pub fn record(games: &[Game]) -> Record {
    let mut games: Vec<&Game> = games.iter().collect();
    // Newest first, as the contract reads them (started_at DESC, then match id DESC).
    games.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then(b.match_id.cmp(&a.match_id))
    });
    let games_played = games.len() as i64;
    let wins = games.iter().filter(|g| g.outcome == Outcome::Win).count() as i64;
    let streak = match games.first() {
        None => 0,
        Some(first) => {
            let run = games
                .iter()
                .take_while(|g| g.outcome == first.outcome)
                .count() as i64;
            if first.outcome == Outcome::Win {
                run
            } else {
                -run
            }
        }
    };
    // Scan oldest to newest so that a later run of equal length replaces an earlier one.
    let mut longest = 0i64;
    let mut span = None;
    let mut run = 0i64;
    let mut run_start = None;
    for g in games.iter().rev() {
        if g.outcome == Outcome::Win {
            if run == 0 {
                run_start = Some(g.completed_at);
            }
            run += 1;
            if run >= longest {
                longest = run;
                span = run_start.map(|start| StreakSpan {
                    start,
                    end: g.completed_at,
                });
            }
        } else {
            run = 0;
        }
    }
    Record {
        games_played,
        wins,
        losses: games_played - wins,
        streak,
        longest_win_streak: longest,
        longest_win_streak_span: span,
        peak_rating: games.iter().filter_map(|g| g.new_rating).max(),
        last_match_at: games.first().map(|g| g.started_at),
        win_pct: win_pct(wins, games_played),
    }
}

/// A rating observation (snapshot) of one player on the tournament ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub observed_at: DateTime<Utc>,
    pub max_rating: i64,
    pub current_rating: Option<i64>,
}

/// A rated game on the tournament ladder (any time), for the frozen metric.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatedGame {
    pub match_id: i64,
    pub started_at: DateTime<Utc>,
    pub new_rating: Option<i64>,
}

/// The ranked metric once the window has closed (seed contract §4.4). `None` while the window
/// is open (no `end_date`, or `now < end_date`): callers use live values then.
/// `live` is the player's live value of the ranked metric.
pub fn frozen_metric(
    rank_by: RankBy,
    end_date: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    live_max: Option<i64>,
    live_current: Option<i64>,
    snapshots: &[Snapshot],
    games: &[RatedGame],
) -> Option<Option<i64>> {
    let end = end_date.filter(|end| now >= *end)?;
    let games_by_end = games.iter().filter(|g| g.started_at <= end);
    let snapshots_by_end = snapshots.iter().filter(|s| s.observed_at <= end);
    Some(match rank_by {
        RankBy::PeakRating => {
            let from_snapshots = snapshots_by_end.map(|s| s.max_rating).max();
            let from_games = games_by_end.filter_map(|g| g.new_rating).max();
            let peak = from_snapshots.max(from_games).or(live_max);
            // Values above today's reported peak are rebase noise.
            match (peak, live_max) {
                (Some(p), Some(live)) => Some(p.min(live)),
                (p, _) => p,
            }
        }
        RankBy::CurrentRating => {
            let last_game = games_by_end
                .filter(|g| g.new_rating.is_some())
                .max_by(|a, b| {
                    a.started_at
                        .cmp(&b.started_at)
                        .then(a.match_id.cmp(&b.match_id))
                })
                .and_then(|g| g.new_rating);
            // Latest snapshot by time (the input order breaks ties: later rows win).
            let last_snapshot = snapshots_by_end
                .filter(|s| s.current_rating.is_some())
                .fold(None::<&Snapshot>, |best, s| match best {
                    Some(b) if b.observed_at > s.observed_at => Some(b),
                    _ => Some(s),
                })
                .and_then(|s| s.current_rating);
            last_game.or(last_snapshot).or(live_current)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + minute * 60, 0).unwrap()
    }

    fn key(max: Option<i64>, current: Option<i64>, name: &str) -> RankKey<'_> {
        RankKey {
            max_rating: max,
            current_rating: current,
            base_name: name,
        }
    }

    fn sorted<'a>(rank_by: RankBy, mut rows: Vec<RankKey<'a>>) -> Vec<&'a str> {
        rows.sort_by(|a, b| rank_order(rank_by, a, b));
        rows.iter().map(|r| r.base_name).collect()
    }

    #[test]
    fn peak_mode_orders_by_peak_then_current_then_name_with_nulls_last() {
        let rows = vec![
            key(None, None, "Zed (unlinked)"),
            key(Some(2500), Some(2400), "Bravo"),
            key(Some(2500), Some(2450), "Alpha"),
            key(Some(2500), Some(2450), "Aardvark"),
            key(None, None, "Alice (unrated)"),
            key(Some(2600), None, "Peak only"),
            key(Some(2400), Some(2399), "Low"),
        ];
        assert_eq!(
            sorted(RankBy::PeakRating, rows),
            vec![
                "Peak only",
                "Aardvark",
                "Alpha",
                "Bravo",
                "Low",
                "Alice (unrated)",
                "Zed (unlinked)"
            ]
        );
    }

    #[test]
    fn current_mode_orders_by_current_then_peak() {
        let rows = vec![
            key(Some(2600), Some(2300), "High peak"),
            key(Some(2400), Some(2350), "Steady"),
            key(Some(2500), Some(2350), "Tie, higher peak"),
            key(Some(2700), None, "No current"),
        ];
        assert_eq!(
            sorted(RankBy::CurrentRating, rows),
            vec!["Tie, higher peak", "Steady", "High peak", "No current"]
        );
    }

    #[test]
    fn win_pct_rounds_like_python() {
        assert_eq!(win_pct(0, 0), None);
        assert_eq!(win_pct(1, 3), Some(33.3));
        assert_eq!(win_pct(2, 3), Some(66.7));
        assert_eq!(win_pct(1, 8), Some(12.5));
        // 0.35 is 0.34999… in binary: Python's round gives 0.3, and so must we.
        assert_eq!(format!("{:.1}", 0.35f64), "0.3");
        assert_eq!(win_pct(7, 7), Some(100.0));
    }

    #[test]
    fn window_bounds_are_inclusive_and_open_when_missing() {
        assert!(in_window(t(5), Some(t(5)), Some(t(5))));
        assert!(!in_window(t(4), Some(t(5)), None));
        assert!(!in_window(t(6), None, Some(t(5))));
        assert!(in_window(t(6), None, None));
    }

    fn game(match_id: i64, minute: i64, outcome: Outcome, rating: i64) -> Game {
        Game {
            match_id,
            started_at: t(minute),
            completed_at: Some(t(minute + 1)),
            outcome,
            new_rating: Some(rating),
        }
    }

    #[test]
    fn record_streaks_peak_and_last_match() {
        use Outcome::{Loss as L, Win as W};
        // Oldest to newest: W W L W W L L  (given shuffled)
        let games = vec![
            game(6, 60, L, 2010),
            game(1, 10, W, 2010),
            game(4, 40, W, 2030),
            game(2, 20, W, 2020),
            game(3, 30, L, 2012),
            game(5, 50, W, 2040),
            game(7, 70, L, 2000),
        ];
        let r = record(&games);
        assert_eq!((r.games_played, r.wins, r.losses), (7, 4, 3));
        assert_eq!(r.streak, -2);
        assert_eq!(r.longest_win_streak, 2);
        // Two runs of 2: the most recent one (games 4 and 5) wins the tie.
        assert_eq!(
            r.longest_win_streak_span,
            Some(StreakSpan {
                start: Some(t(41)),
                end: Some(t(51))
            })
        );
        assert_eq!(r.peak_rating, Some(2040));
        assert_eq!(r.last_match_at, Some(t(70)));
        assert_eq!(r.win_pct, Some(57.1));
        assert_eq!(record(&[]), Record::default());
        assert_eq!(record(&[game(1, 0, W, 1), game(2, 1, W, 2)]).streak, 2);
    }

    fn snap(minute: i64, max: i64, current: i64) -> Snapshot {
        Snapshot {
            observed_at: t(minute),
            max_rating: max,
            current_rating: Some(current),
        }
    }

    fn rated(match_id: i64, minute: i64, rating: i64) -> RatedGame {
        RatedGame {
            match_id,
            started_at: t(minute),
            new_rating: Some(rating),
        }
    }

    #[test]
    fn nothing_is_frozen_while_the_window_is_open() {
        for end in [None, Some(t(100))] {
            assert_eq!(
                frozen_metric(RankBy::PeakRating, end, t(99), Some(1), Some(1), &[], &[]),
                None
            );
        }
    }

    #[test]
    fn peak_mode_freezes_at_the_best_of_snapshots_and_buzzer_games_clamped_to_live() {
        let snapshots = [
            snap(10, 2500, 2480),
            snap(90, 2550, 2550),
            snap(110, 2600, 2600),
        ];
        // A game started before the end (a buzzer-beater) settles after it.
        let games = [rated(1, 95, 2560), rated(2, 105, 2590)];
        let frozen = |live_max| {
            frozen_metric(
                RankBy::PeakRating,
                Some(t(100)),
                t(200),
                live_max,
                Some(2500),
                &snapshots,
                &games,
            )
        };
        assert_eq!(frozen(Some(2600)), Some(Some(2560)));
        // Clamp: never above today's reported peak (rebase noise).
        assert_eq!(frozen(Some(2540)), Some(Some(2540)));
        // Nothing recorded before the end: the live value.
        assert_eq!(
            frozen_metric(
                RankBy::PeakRating,
                Some(t(0)),
                t(200),
                Some(2600),
                None,
                &snapshots,
                &games
            ),
            Some(Some(2600))
        );
    }

    #[test]
    fn current_mode_freezes_at_the_last_game_then_last_snapshot_then_live() {
        let snapshots = [snap(10, 2500, 2480), snap(90, 2550, 2530)];
        let games = [
            rated(1, 50, 2490),
            rated(3, 80, 2520),
            rated(2, 80, 2510),
            rated(4, 150, 2700),
        ];
        let frozen = |snapshots: &[Snapshot], games: &[RatedGame]| {
            frozen_metric(
                RankBy::CurrentRating,
                Some(t(100)),
                t(200),
                Some(2700),
                Some(2700),
                snapshots,
                games,
            )
        };
        // Latest game by (started_at, match_id) before the end.
        assert_eq!(frozen(&snapshots, &games), Some(Some(2520)));
        assert_eq!(frozen(&snapshots, &[]), Some(Some(2530)));
        assert_eq!(frozen(&[], &[]), Some(Some(2700)));
    }
}
