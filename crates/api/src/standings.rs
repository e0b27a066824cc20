//! `GET /v1/tournaments/{tournament_slug}/standings`: the contract's `StandingRow`s (seed contract §4.2-4.4),
//! computed from the core read model with the pure rules of `domain::standings`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use domain::matches::Outcome;
use domain::standings::{self as rules, Game, RankKey, RatedGame, Snapshot};
use domain::tournament::RankBy;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgPool;

use crate::catalog::ListEnvelope;
use crate::error::{ApiError, ApiResult};
use crate::games::{self, Games};
use crate::respond::{cached, CacheClass};
use crate::tournaments::TournamentRead;
use crate::wire::ser_opt_dt;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/tournaments/{tournament_slug}/standings",
            get(standings),
        )
        .route(
            "/v1/tournaments/{tournament_slug}/standings/as-of",
            get(standings_as_of),
        )
}

async fn standings(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // `?as_of=` here predates `…/standings/as-of` and keeps working, undocumented: a documented
    // parameter would change the original's generated `get_standings` signature.
    if let Some(text) = params.get("as_of") {
        return as_of(&state, &slug, text, &headers).await;
    }
    let reader = state.clone();
    cached(
        &state,
        &slug,
        "standings".into(),
        CacheClass::AuthAware,
        &headers,
        |t| async move { compute(&reader, &t, Utc::now()).await },
    )
    .await
}

/// `GET …/standings/as-of?as_of=<datetime>`: the table at a past instant (`as_of.rs`).
async fn standings_as_of(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let text = params
        .get("as_of")
        .ok_or_else(|| ApiError::query("as_of", "Field required"))?;
    as_of(&state, &slug, text, &headers).await
}

async fn as_of(
    state: &AppState,
    slug: &str,
    text: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let at = crate::writes::parse_datetime(text)
        .ok_or_else(|| ApiError::query("as_of", "Input should be a valid datetime"))?;
    // Keyed by the exact instant (to the microsecond the log stores): a coarser bucket would
    // answer for another instant than asked. Entries go with the tournament's next nudge
    // like every other, and the cache's size bound caps what distinct instants can pile up.
    let key = format!("as-of|{}", at.timestamp_micros());
    let pool = state.pool.clone();
    cached(state, slug, key, CacheClass::AuthAware, headers, |t| async move {
        crate::as_of::standings(&pool, &t, at, crate::as_of::Method::Indexed).await
    })
    .await
}

/// The team a standings row's player belongs to.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "StandingTeam")]
pub struct TeamRef {
    pub team_id: i64,
    pub name: String,
    pub initials: String,
}

// Document identity: `civilization_id` is nullable in the original's schema (ours is always known).
#[derive(Debug, Serialize, JsonSchema)]
pub struct MatchupOpponent {
    pub profile_id: i64,
    pub tournament_player_id: Option<i64>,
    pub name: Option<String>,
    #[schemars(with = "Option<i64>")]
    pub civilization_id: i64,
    pub civilization_name: Option<String>,
}

// Document identity: `opponents` is optional in the original's schema (default `[]`).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::openapi::optional(&["opponents"]))]
pub struct RecentMatchup {
    #[schemars(with = "crate::openapi::shapes::MatchOutcome")]
    pub outcome: &'static str,
    pub civilization_id: i64,
    pub civilization_name: Option<String>,
    #[schemars(extend("default" = []))]
    pub opponents: Vec<MatchupOpponent>,
    pub opponent_civilization_id: Option<i64>,
    pub opponent_civilization_name: Option<String>,
    pub opponent_profile_id: Option<i64>,
    pub opponent_name: Option<String>,
    pub opponent_tournament_player_id: Option<i64>,
    pub map_name: String,
    #[serde(serialize_with = "ser_opt_dt")]
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TournamentRecord {
    pub games_played: i64,
    pub wins: i64,
    pub losses: i64,
    pub streak: i64,
    pub longest_win_streak: i64,
    pub peak_rating: Option<i64>,
    #[serde(serialize_with = "ser_opt_dt")]
    pub last_match_at: Option<DateTime<Utc>>,
    pub recent_matchups: Vec<RecentMatchup>,
    /// Win percentage (0–100, 1 dp) over in-window games; null when none.
    #[schemars(extend("readOnly" = true))]
    pub win_pct: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StandingRow {
    pub tournament_player_id: i64,
    pub profile_id: Option<i64>,
    pub name: String,
    pub alias: String,
    pub country: Option<String>,
    pub team: Option<TeamRef>,
    #[schemars(with = "crate::openapi::shapes::Object")]
    pub presentation: Value,
    pub current_rating: Option<i64>,
    pub max_rating: Option<i64>,
    pub wins: i64,
    pub losses: i64,
    pub streak: i64,
    #[schemars(with = "Vec<crate::openapi::shapes::MatchOutcome>")]
    pub recent_results: Vec<&'static str>,
    pub tournament_record: TournamentRecord,
    pub rank: Option<i64>,
    pub rank_total: Option<i64>,
    pub in_match: bool,
    pub live_match_id: Option<i64>,
    pub stream_live: bool,
    pub stream_title: Option<String>,
    pub stream_category: Option<String>,
    #[serde(serialize_with = "ser_opt_dt")]
    pub last_match_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_dt")]
    pub updated_at: Option<DateTime<Utc>>,
    #[schemars(extend("readOnly" = true))]
    pub games: i64,
    /// Win percentage (0–100, 1 dp), or null when the player has no games.
    #[schemars(extend("readOnly" = true))]
    pub win_pct: Option<f64>,
    /// Base roster name: the sort key (not serialized).
    #[serde(skip)]
    pub base_name: String,
}

#[derive(Debug, sqlx::FromRow)]
pub struct RosterRow {
    pub id: i64,
    pub profile_id: Option<i64>,
    pub name: String,
    pub presentation: Json<Value>,
    pub polled: bool,
    pub alias: Option<String>,
    pub country: Option<String>,
    pub player_updated_at: Option<DateTime<Utc>>,
    pub current_rating: Option<i64>,
    pub max_rating: Option<i64>,
    pub wins: Option<i64>,
    pub losses: Option<i64>,
    pub streak: Option<i64>,
    pub rank: Option<i64>,
    pub rank_total: Option<i64>,
    pub last_match_at: Option<DateTime<Utc>>,
    pub rating_updated_at: Option<DateTime<Utc>>,
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub team_initials: Option<String>,
    pub live_match_id: Option<i64>,
    /// Any channel of the row's presentation live; title and category of the first, Twitch
    /// before YouTube.
    pub stream_live: bool,
    pub stream_title: Option<String>,
    pub stream_category: Option<String>,
}

const ROSTER: &str = "
    SELECT tp.id, tp.profile_id, tp.name, tp.presentation,
           (p.profile_id IS NOT NULL) AS polled, p.alias, p.country,
           p.updated_at AS player_updated_at,
           r.current_rating, r.max_rating, r.wins, r.losses, r.streak, r.rank, r.rank_total,
           r.last_match_at, r.updated_at AS rating_updated_at,
           t.id AS team_id, t.name AS team_name, t.initials AS team_initials,
           lm.match_id AS live_match_id,
           (st.live IS NOT NULL) AS stream_live, st.title AS stream_title,
           st.category AS stream_category
      FROM live.tournament_players tp
      LEFT JOIN live.players p ON p.profile_id = tp.profile_id
      LEFT JOIN live.player_ratings r ON r.profile_id = tp.profile_id AND r.leaderboard_id = $2
      LEFT JOIN live.team_members tm ON tm.tournament_player_id = tp.id
      LEFT JOIN live.teams t ON t.id = tm.team_id
      LEFT JOIN LATERAL (
            SELECT lmp.match_id FROM live.live_match_players lmp
              JOIN live.matches m ON m.match_id = lmp.match_id
             WHERE lmp.profile_id = tp.profile_id AND m.state IN ('staging', 'in_progress')
             ORDER BY m.started_at DESC, m.match_id DESC LIMIT 1) lm ON true
      LEFT JOIN LATERAL (
            SELECT true AS live, ls.title, ls.category FROM live.stream_links sl
              JOIN live.live_streams ls ON ls.platform = sl.platform AND ls.channel = sl.channel
             WHERE sl.tournament_player_id = tp.id
             ORDER BY sl.platform = 'twitch' DESC, sl.platform, sl.channel LIMIT 1) st ON true
     WHERE tp.tournament_id = $1";

/// The display label (shared with the notifications projector).
pub use domain::standings::display_name;

pub(crate) fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Win => "win",
        Outcome::Loss => "loss",
    }
}

pub fn parse_outcome(s: Option<&str>) -> Option<Outcome> {
    match s {
        Some("win") => Some(Outcome::Win),
        Some("loss") => Some(Outcome::Loss),
        _ => None,
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ParticipantRow {
    pub match_id: i64,
    pub map_name: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The match's ladder: read only when catching up (`games.rs`), where it is not filtered.
    #[sqlx(default)]
    pub leaderboard_id: Option<i64>,
    pub profile_id: i64,
    pub civilization_id: i64,
    pub team_id: i64,
    pub outcome: Option<String>,
    pub old_rating: Option<i64>,
    pub new_rating: Option<i64>,
    /// The participant's alias (`live.profile_aliases`), moved into [`Games::aliases`].
    pub alias: Option<String>,
    /// The name of the participant's civilization, moved into [`Games::civs`].
    pub civilization_name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct InWindowMatch {
    pub map_name: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub players: Vec<ParticipantRow>,
}

/// Everything the per-tournament reads need, loaded once per request (or cache fill).
pub struct Loaded {
    pub rank_by: RankBy,
    /// Visible roster rows (linked rows appear once their profile has been polled).
    pub roster: Vec<RosterRow>,
    /// The in-window games and recent results of the roster (held between fills: `games.rs`).
    pub games: Arc<Games>,
    /// Rostered profile → (tournament_player_id, display label).
    pub roster_by_profile: HashMap<i64, (i64, String)>,
    frozen: HashMap<i64, Option<i64>>,
}

pub fn rank_by_of(t: &TournamentRead) -> RankBy {
    if t.rank_by == "current_rating" {
        RankBy::CurrentRating
    } else {
        RankBy::PeakRating
    }
}

/// Loads the roster, in-window games and reference data of `t` (`now` decides whether the
/// window has closed and the ranked metric is frozen). The games come from `state`'s game
/// cache when it has one (a nudge feed keeps the response cache, and it, honest).
pub async fn load(state: &AppState, t: &TournamentRead, now: DateTime<Utc>) -> ApiResult<Loaded> {
    let pool = &state.pool;
    let roster: Vec<RosterRow> = sqlx::query_as(ROSTER)
        .bind(t.id)
        .bind(t.leaderboard_id)
        .fetch_all(pool)
        .await?;
    let roster = visible(roster);
    let profiles: Vec<i64> = roster.iter().filter_map(|r| r.profile_id).collect();
    let games = async {
        match state.cache.as_ref() {
            Some(cache) => cache.games.games(pool, t, &profiles).await,
            None => Ok(Arc::new(games::load(pool, t, &profiles, None).await?)),
        }
    };
    let (games, frozen) =
        tokio::try_join!(games, frozen_metrics(pool, t, rank_by_of(t), now, &roster))?;
    Ok(Loaded::new(t, roster, games, frozen))
}

/// [`load`] around a given roster, without the game cache; `recorded_by` limits matches to
/// those the service had recorded by then (the table as it stood at a past instant, see
/// `as_of`).
pub async fn load_with(
    pool: &PgPool,
    t: &TournamentRead,
    now: DateTime<Utc>,
    roster: Vec<RosterRow>,
    recorded_by: Option<DateTime<Utc>>,
) -> ApiResult<Loaded> {
    let roster = visible(roster);
    let profiles: Vec<i64> = roster.iter().filter_map(|r| r.profile_id).collect();
    let (games, frozen) = tokio::try_join!(
        games::load(pool, t, &profiles, recorded_by),
        frozen_metrics(pool, t, rank_by_of(t), now, &roster),
    )?;
    Ok(Loaded::new(t, roster, Arc::new(games), frozen))
}

/// Linked rows are hidden until their first stats poll.
fn visible(roster: Vec<RosterRow>) -> Vec<RosterRow> {
    roster
        .into_iter()
        .filter(|r| r.profile_id.is_none() || r.polled)
        .collect()
}

impl Loaded {
    fn new(
        t: &TournamentRead,
        roster: Vec<RosterRow>,
        games: Arc<Games>,
        frozen: HashMap<i64, Option<i64>>,
    ) -> Loaded {
        let roster_by_profile = roster
            .iter()
            .filter_map(|r| {
                let label = display_name(&r.presentation.0, &r.name);
                r.profile_id.map(|p| (p, (r.id, label)))
            })
            .collect();
        Loaded {
            rank_by: rank_by_of(t),
            roster,
            games,
            roster_by_profile,
            frozen,
        }
    }

    /// The ranked metric and the other rating of a roster row (frozen after the window).
    pub fn ratings(&self, r: &RosterRow) -> (Option<i64>, Option<i64>) {
        let (mut current_rating, mut max_rating) = (r.current_rating, r.max_rating);
        if let Some(value) = r.profile_id.and_then(|p| self.frozen.get(&p)) {
            match self.rank_by {
                RankBy::PeakRating => max_rating = *value,
                RankBy::CurrentRating => current_rating = *value,
            }
        }
        (current_rating, max_rating)
    }

    /// A profile's completed in-window games, newest first, with its own row.
    pub fn games_of(&self, profile: i64) -> Vec<(i64, &InWindowMatch, &ParticipantRow)> {
        self.games.of(profile)
    }

    /// The pure-rules record of a profile's in-window games.
    pub fn record_of(&self, profile: i64) -> rules::Record {
        let games: Vec<Game> = self
            .games_of(profile)
            .iter()
            .filter_map(|(id, m, me)| {
                Some(Game {
                    match_id: *id,
                    started_at: m.started_at,
                    completed_at: m.completed_at,
                    outcome: parse_outcome(me.outcome.as_deref())?,
                    new_rating: me.new_rating,
                })
            })
            .collect();
        rules::record(&games)
    }

    /// The standings rows, in ranking order.
    pub fn standing_rows(&self) -> Vec<StandingRow> {
        let mut rows: Vec<StandingRow> = self
            .roster
            .iter()
            .map(|r| {
                let record = match r.profile_id {
                    Some(profile) => tournament_record(profile, self),
                    None => empty_record(),
                };
                let (current_rating, max_rating) = self.ratings(r);
                let wins = r.wins.unwrap_or(0);
                let losses = r.losses.unwrap_or(0);
                let games = wins + losses;
                StandingRow {
                    tournament_player_id: r.id,
                    profile_id: r.profile_id,
                    name: display_name(&r.presentation.0, &r.name),
                    alias: r.alias.clone().unwrap_or_else(|| r.name.clone()),
                    country: r.country.clone(),
                    team: match (r.team_id, &r.team_name, &r.team_initials) {
                        (Some(team_id), Some(name), Some(initials)) => Some(TeamRef {
                            team_id,
                            name: name.clone(),
                            initials: initials.clone(),
                        }),
                        _ => None,
                    },
                    presentation: r.presentation.0.clone(),
                    current_rating,
                    max_rating,
                    wins,
                    losses,
                    streak: r.streak.unwrap_or(0),
                    recent_results: r
                        .profile_id
                        .map(|p| self.games.recent_results(p))
                        .unwrap_or_default(),
                    tournament_record: record,
                    rank: r.rank,
                    rank_total: r.rank_total,
                    in_match: r.live_match_id.is_some(),
                    live_match_id: r.live_match_id,
                    stream_live: r.stream_live,
                    stream_title: r.stream_title.clone(),
                    stream_category: r.stream_category.clone(),
                    last_match_at: r.last_match_at,
                    updated_at: r
                        .profile_id
                        .and(r.rating_updated_at.or(r.player_updated_at)),
                    games,
                    win_pct: rules::win_pct(wins, games),
                    base_name: r.name.clone(),
                }
            })
            .collect();
        let rank_by = self.rank_by;
        rows.sort_by(|a, b| {
            rules::rank_order(
                rank_by,
                &RankKey {
                    max_rating: a.max_rating,
                    current_rating: a.current_rating,
                    base_name: &a.base_name,
                },
                &RankKey {
                    max_rating: b.max_rating,
                    current_rating: b.current_rating,
                    base_name: &b.base_name,
                },
            )
        });
        rows
    }
}

/// Computes the standings table at `now`.
pub async fn compute(
    state: &AppState,
    t: &TournamentRead,
    now: DateTime<Utc>,
) -> ApiResult<ListEnvelope<StandingRow>> {
    let loaded = load(state, t, now).await?;
    let items = loaded.standing_rows();
    Ok(ListEnvelope {
        last_polled_at: items.iter().filter_map(|r| r.updated_at).max(),
        items,
    })
}

fn empty_record() -> TournamentRecord {
    TournamentRecord {
        games_played: 0,
        wins: 0,
        losses: 0,
        streak: 0,
        longest_win_streak: 0,
        peak_rating: None,
        last_match_at: None,
        recent_matchups: vec![],
        win_pct: None,
    }
}

fn tournament_record(profile: i64, data: &Loaded) -> TournamentRecord {
    let record = data.record_of(profile);
    let mine = data.games_of(profile);
    let (civs, roster_by_profile, aliases) = (
        &data.games.civs,
        &data.roster_by_profile,
        &data.games.aliases,
    );
    let recent_matchups = mine
        .iter()
        .take(10)
        .map(|(_, m, me)| {
            let opponents: Vec<MatchupOpponent> = m
                .players
                .iter()
                .filter(|p| p.profile_id != profile && p.team_id != me.team_id)
                .map(|p| {
                    let rostered = roster_by_profile.get(&p.profile_id);
                    MatchupOpponent {
                        profile_id: p.profile_id,
                        tournament_player_id: rostered.map(|(id, _)| *id),
                        name: rostered
                            .map(|(_, label)| label.clone())
                            .or_else(|| aliases.get(&p.profile_id).cloned()),
                        civilization_id: p.civilization_id,
                        civilization_name: civs.get(&p.civilization_id).cloned(),
                    }
                })
                .collect();
            let single = (opponents.len() == 1).then(|| &opponents[0]);
            RecentMatchup {
                outcome: parse_outcome(me.outcome.as_deref()).map_or("loss", outcome_str),
                civilization_id: me.civilization_id,
                civilization_name: civs.get(&me.civilization_id).cloned(),
                opponent_civilization_id: single.map(|o| o.civilization_id),
                opponent_civilization_name: single.and_then(|o| o.civilization_name.clone()),
                opponent_profile_id: single.map(|o| o.profile_id),
                opponent_name: single.and_then(|o| o.name.clone()),
                opponent_tournament_player_id: single.and_then(|o| o.tournament_player_id),
                opponents,
                map_name: m.map_name.clone(),
                completed_at: m.completed_at,
            }
        })
        .collect();
    TournamentRecord {
        games_played: record.games_played,
        wins: record.wins,
        losses: record.losses,
        streak: record.streak,
        longest_win_streak: record.longest_win_streak,
        peak_rating: record.peak_rating,
        last_match_at: record.last_match_at,
        recent_matchups,
        win_pct: record.win_pct,
    }
}

/// The ranked metric per profile once the window has closed (empty while it is open).
async fn frozen_metrics(
    pool: &PgPool,
    t: &TournamentRead,
    rank_by: RankBy,
    now: DateTime<Utc>,
    roster: &[RosterRow],
) -> ApiResult<HashMap<i64, Option<i64>>> {
    let Some(end) = t.end_date.filter(|end| now >= *end) else {
        return Ok(HashMap::new());
    };
    let profiles: Vec<i64> = roster.iter().filter_map(|r| r.profile_id).collect();
    let snapshots: Vec<(i64, DateTime<Utc>, i64, Option<i64>)> = sqlx::query_as(
        "SELECT profile_id, observed_at, max_rating, current_rating
           FROM live.player_rating_snapshots
          WHERE profile_id = ANY($1) AND leaderboard_id = $2 AND observed_at <= $3
          ORDER BY observed_at, position",
    )
    .bind(&profiles)
    .bind(t.leaderboard_id)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let games: Vec<(i64, i64, DateTime<Utc>, Option<i64>)> = sqlx::query_as(
        "SELECT mp.profile_id, m.match_id, m.started_at, mp.new_rating
           FROM live.match_players mp JOIN live.matches m ON m.match_id = mp.match_id
          WHERE mp.profile_id = ANY($1) AND m.leaderboard_id = $2 AND m.started_at <= $3",
    )
    .bind(&profiles)
    .bind(t.leaderboard_id)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let mut out = HashMap::new();
    for r in roster {
        let Some(profile) = r.profile_id else {
            continue;
        };
        let snaps: Vec<Snapshot> = snapshots
            .iter()
            .filter(|s| s.0 == profile)
            .map(|s| Snapshot {
                observed_at: s.1,
                max_rating: s.2,
                current_rating: s.3,
            })
            .collect();
        let rated: Vec<RatedGame> = games
            .iter()
            .filter(|g| g.0 == profile)
            .map(|g| RatedGame {
                match_id: g.1,
                started_at: g.2,
                new_rating: g.3,
            })
            .collect();
        if let Some(value) = rules::frozen_metric(
            rank_by,
            Some(end),
            now,
            r.max_rating,
            r.current_rating,
            &snaps,
            &rated,
        ) {
            out.insert(profile, value);
        }
    }
    Ok(out)
}
