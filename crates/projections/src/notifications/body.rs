//! Notification kinds, ids and the generic JSON body (docs/notifications.md, "Kinds and
//! payloads"). The body is what the generic JSON format POSTs, byte for byte; Discord renders
//! from it.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::matches::{FinishedMatch, Outcome};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::model::Tournament;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    MatchFinished,
    PeakRating,
    LeadChange,
    StreakMilestone,
    PlayerLive,
    PlayerOffline,
    WindowOpened,
    WindowClosed,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::MatchFinished,
        Kind::PeakRating,
        Kind::LeadChange,
        Kind::StreakMilestone,
        Kind::PlayerLive,
        Kind::PlayerOffline,
        Kind::WindowOpened,
        Kind::WindowClosed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MatchFinished => "match_finished",
            Kind::PeakRating => "peak_rating",
            Kind::LeadChange => "lead_change",
            Kind::StreakMilestone => "streak_milestone",
            Kind::PlayerLive => "player_live",
            Kind::PlayerOffline => "player_offline",
            Kind::WindowOpened => "window_opened",
            Kind::WindowClosed => "window_closed",
        }
    }
}

/// One row of the `notifications` table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub id: String,
    pub tournament_id: i64,
    pub kind: Kind,
    pub position: i64,
    pub ordinal: i32,
    pub occurred_at: DateTime<Utc>,
    pub body: Value,
}

/// `n-<position>-<kind>-<tournament id>[-<subject>]`: the same event, kind and subject always
/// give the same id, on every build. The subject is the match id (`match_finished`) or the
/// tournament player id (per-player kinds); the tournament id keeps one event's notifications
/// for two tournaments apart.
pub fn id(position: i64, kind: Kind, tournament_id: i64, subject: Option<i64>) -> String {
    match subject {
        Some(s) => format!("n-{position}-{}-{tournament_id}-{s}", kind.as_str()),
        None => format!("n-{position}-{}-{tournament_id}", kind.as_str()),
    }
}

/// UTC with `Z`, fractions only when present (as the REST reads write datetimes).
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn time_opt(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |t| Value::String(time(t)))
}

#[allow(clippy::too_many_arguments)]
pub fn notification(
    tournament_id: i64,
    t: &Tournament,
    kind: Kind,
    subject: Option<i64>,
    position: i64,
    ordinal: i32,
    occurred_at: DateTime<Utc>,
    data: Value,
) -> Notification {
    let id = id(position, kind, tournament_id, subject);
    let body = json!({
        "id": id,
        "kind": kind.as_str(),
        "occurred_at": time(occurred_at),
        "position": position,
        "tournament": {"slug": t.slug, "name": t.name},
        "data": data,
    });
    Notification {
        id,
        tournament_id,
        kind,
        position,
        ordinal,
        occurred_at,
        body,
    }
}

/// `{"tournament_player_id", "name", "profile_id"}`.
pub fn player(t: &Tournament, tpid: i64) -> Value {
    let p = t.roster.get(&tpid);
    json!({
        "tournament_player_id": tpid,
        "name": p.map(|p| p.label.as_str()),
        "profile_id": p.and_then(|p| p.profile_id),
    })
}

pub fn match_finished(t: &Tournament, m: &FinishedMatch, civs: &BTreeMap<i64, String>) -> Value {
    let players: Vec<Value> = m
        .players
        .iter()
        .map(|mp| {
            let mut o = Map::new();
            let roster = t
                .roster
                .iter()
                .find(|(_, p)| p.profile_id == Some(mp.profile_id));
            if let Some((tpid, _)) = roster {
                o.insert("player".into(), player(t, *tpid));
            }
            let name = roster
                .map(|(_, p)| p.label.clone())
                .or_else(|| mp.alias.clone())
                .unwrap_or_else(|| mp.profile_id.to_string());
            o.insert("name".into(), name.into());
            o.insert("profile_id".into(), mp.profile_id.into());
            o.insert(
                "civ".into(),
                civs.get(&mp.civilization_id)
                    .map_or(Value::Null, |c| c.as_str().into()),
            );
            o.insert("civilization_id".into(), mp.civilization_id.into());
            o.insert("team".into(), mp.team_id.into());
            o.insert(
                "won".into(),
                mp.outcome
                    .map_or(Value::Null, |w| (w == Outcome::Win).into()),
            );
            if let Some(before) = mp.old_rating {
                o.insert("rating_before".into(), before.into());
            }
            if let Some(after) = mp.new_rating {
                o.insert("rating_after".into(), after.into());
            }
            if let (Some(before), Some(after)) = (mp.old_rating, mp.new_rating) {
                o.insert("rating_change".into(), (after - before).into());
            }
            Value::Object(o)
        })
        .collect();
    json!({
        "match_id": m.match_id,
        "map": m.map_name,
        "started_at": time(m.started_at),
        "finished_at": time_opt(m.completed_at),
        "players": players,
    })
}

pub fn peak_rating(t: &Tournament, tpid: i64, rating: i64, previous: i64) -> Value {
    json!({"player": player(t, tpid), "rating": rating, "previous_peak": previous})
}

fn ranked_player(t: &Tournament, tpid: i64) -> Value {
    let rating = t.roster.get(&tpid).and_then(|p| t.metric(p));
    json!({"player": player(t, tpid), "rating": rating})
}

pub fn lead_change(t: &Tournament, leader: i64, previous: i64) -> Value {
    json!({
        "leader": ranked_player(t, leader),
        "previous_leader": ranked_player(t, previous),
        "rank_by": t.rank_by,
    })
}

pub fn streak_milestone(t: &Tournament, tpid: i64, streak: i64) -> Value {
    json!({
        "player": player(t, tpid),
        "streak": streak.abs(),
        "kind": if streak > 0 { "win" } else { "loss" },
    })
}

pub fn presence(t: &Tournament, tpid: i64, lobby_id: i64) -> Value {
    json!({"player": player(t, tpid), "source": "match", "match_id": lobby_id})
}

/// A roster player's stream went live or offline: `channel` is `<platform>:<channel>`.
pub fn stream_presence(t: &Tournament, tpid: i64, channel: &str) -> Value {
    json!({"player": player(t, tpid), "source": "stream", "channel": channel})
}

pub fn window_opened(t: &Tournament) -> Value {
    json!({"starts_at": time_opt(t.start), "ends_at": time_opt(t.end)})
}

/// The standings when the close is announced: rank order, the ranked metric, and the
/// in-window record.
pub fn window_closed(t: &Tournament) -> Value {
    let standings: Vec<Value> = t
        .ranked()
        .iter()
        .enumerate()
        .map(|(i, (tpid, p))| {
            let record = p.record();
            json!({
                "rank": i + 1,
                "player": player(t, *tpid),
                "rating": t.metric(p),
                "wins": record.wins,
                "losses": record.losses,
            })
        })
        .collect();
    json!({
        "ends_at": time_opt(t.end),
        "rank_by": t.rank_by,
        "final_standings": standings,
    })
}
