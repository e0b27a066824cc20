//! The `discord` format: a notification's generic body rendered as a Discord webhook message
//! (`{"content", "embeds": [...]}`) that reads well in a channel, within Discord's limits.

use serde_json::{json, Value};

/// Discord's limits (characters): message content, embed title, description, field name,
/// field value, footer, and all of an embed's text together; fields per embed.
const CONTENT_MAX: usize = 2000;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FOOTER_MAX: usize = 2048;
const FIELDS_MAX: usize = 25;
const EMBED_TOTAL_MAX: usize = 6000;

const GREEN: u32 = 0x2e_cc71;
const GOLD: u32 = 0xf1_c40f;
const BLUE: u32 = 0x34_98db;
const RED: u32 = 0xe7_4c3c;
const GREY: u32 = 0x95_a5a6;

/// The Discord message for `body`. `live_page`: the tournament's public page (`/t/{slug}`
/// on the operator's base URL), linked from the title when known.
pub fn render(body: &Value, live_page: Option<&str>) -> Value {
    let data = &body["data"];
    let tournament = text(&body["tournament"]["name"]);
    let kind = body["kind"].as_str().unwrap_or("");
    let (title, description, fields, colour) = match kind {
        "match_finished" => match_finished(data),
        "peak_rating" => (
            format!("New peak rating: {}", player(&data["player"])),
            format!(
                "**{}** (previous peak {})",
                text(&data["rating"]),
                text(&data["previous_peak"])
            ),
            vec![],
            GOLD,
        ),
        "lead_change" => {
            let leader = &data["leader"];
            let previous = match data["previous_leader"].is_object() {
                true => format!(
                    "Previous leader: {} ({})",
                    player(&data["previous_leader"]["player"]),
                    text(&data["previous_leader"]["rating"])
                ),
                false => "First leader of the tournament".to_string(),
            };
            (
                format!("New leader: {}", player(&leader["player"])),
                format!("Rating **{}**. {previous}", text(&leader["rating"])),
                vec![],
                GOLD,
            )
        }
        "streak_milestone" => {
            let win = data["kind"].as_str() == Some("win");
            (
                format!(
                    "{} {} {} in a row",
                    player(&data["player"]),
                    if win { "won" } else { "lost" },
                    text(&data["streak"])
                ),
                String::new(),
                vec![],
                if win { GREEN } else { RED },
            )
        }
        "player_live" | "player_offline" => {
            let live = kind == "player_live";
            let what = match data["source"].as_str() {
                Some("stream") => "streaming",
                _ => "in a match",
            };
            let mut description = String::new();
            if let Some(url) = data["url"].as_str() {
                description = url.to_string();
            }
            (
                format!(
                    "{} is {}{}",
                    player(&data["player"]),
                    if live { "" } else { "no longer " },
                    what
                ),
                description,
                vec![],
                if live { RED } else { GREY },
            )
        }
        "window_opened" => (
            "The tournament window is open".to_string(),
            format!(
                "From {} to {}",
                text(&data["starts_at"]),
                text(&data["ends_at"])
            ),
            vec![],
            BLUE,
        ),
        "window_closed" => {
            let lines: Vec<String> = data["final_standings"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|row| {
                    format!(
                        "{}. {} — {} ({}W {}L)",
                        text(&row["rank"]),
                        player(&row["player"]),
                        text(&row["rating"]),
                        text(&row["wins"]),
                        text(&row["losses"])
                    )
                })
                .collect();
            (
                "The tournament window closed: final standings".to_string(),
                lines.join("\n"),
                vec![],
                BLUE,
            )
        }
        other => (other.replace('_', " "), String::new(), vec![], GREY),
    };
    let mut embed = json!({
        "title": clip(&title, TITLE_MAX),
        "description": clip(&description, DESCRIPTION_MAX),
        "color": colour,
        "footer": {"text": clip(&tournament, FOOTER_MAX)},
        "fields": fit_fields(fields, EMBED_TOTAL_MAX
            .saturating_sub(title.chars().count().min(TITLE_MAX))
            .saturating_sub(description.chars().count().min(DESCRIPTION_MAX))
            .saturating_sub(tournament.chars().count().min(FOOTER_MAX))),
    });
    if let Some(at) = body["occurred_at"].as_str() {
        embed["timestamp"] = json!(at);
    }
    if let Some(url) = live_page {
        embed["url"] = json!(url);
    }
    json!({
        "content": clip(&format!("{tournament}: {title}"), CONTENT_MAX),
        "embeds": [embed],
        // Names in payloads are player-chosen: never let them ping anyone.
        "allowed_mentions": {"parse": []},
    })
}

type Rendered = (String, String, Vec<(String, String, bool)>, u32);

fn match_finished(data: &Value) -> Rendered {
    let players = data["players"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let winners: Vec<String> = players
        .iter()
        .filter(|p| p["won"].as_bool() == Some(true))
        .map(|p| text(&p["name"]))
        .collect();
    let title = match winners.is_empty() {
        true => format!("Match finished on {}", text(&data["map"])),
        false => format!("{} won on {}", winners.join(" & "), text(&data["map"])),
    };
    let fields = players
        .iter()
        .map(|p| {
            let mut value = format!("{}, team {}", text(&p["civ"]), text(&p["team"]));
            if let (Some(before), Some(after)) =
                (p["rating_before"].as_i64(), p["rating_after"].as_i64())
            {
                value.push_str(&format!(", {before} → {after} ({:+})", after - before));
            }
            let result = if p["won"].as_bool() == Some(true) {
                "🏆 "
            } else {
                ""
            };
            (format!("{result}{}", text(&p["name"])), value, true)
        })
        .collect();
    (title, String::new(), fields, GREEN)
}

/// At most 25 fields, each clipped, and no more text than `room` leaves.
fn fit_fields(fields: Vec<(String, String, bool)>, mut room: usize) -> Value {
    let mut out = vec![];
    for (name, value, inline) in fields.into_iter().take(FIELDS_MAX) {
        let name = clip(&name, FIELD_NAME_MAX);
        let value = clip(&value, FIELD_VALUE_MAX);
        let size = name.chars().count() + value.chars().count();
        if size > room {
            break;
        }
        room -= size;
        out.push(json!({"name": name, "value": value, "inline": inline}));
    }
    Value::Array(out)
}

/// A player's display name (`name`, else `profile_id`).
fn player(p: &Value) -> String {
    match p["name"].as_str() {
        Some(name) => name.to_string(),
        None => text(&p["profile_id"]),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "?".to_string(),
        other => other.to_string(),
    }
}

/// `s` cut to `max` characters (not bytes), with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_finished_renders_winner_and_players() {
        let body = json!({
            "id": "n-1-match_finished-0", "kind": "match_finished",
            "occurred_at": "2026-12-07T16:00:00Z", "position": 1,
            "tournament": {"slug": "cup", "name": "Winter Cup"},
            "data": {"match_id": 7, "map": "Arabia", "players": [
                {"name": "Hera", "civ": "Mayans", "team": 1, "won": true, "rating_before": 2000, "rating_after": 2012},
                {"name": "ACCM", "civ": "Franks", "team": 2, "won": false}
            ]}
        });
        let m = render(&body, Some("https://example.org/t/cup"));
        let embed = &m["embeds"][0];
        assert_eq!(embed["title"], "Hera won on Arabia");
        assert_eq!(embed["url"], "https://example.org/t/cup");
        assert_eq!(
            embed["fields"][0]["value"],
            "Mayans, team 1, 2000 → 2012 (+12)"
        );
        assert_eq!(embed["fields"].as_array().unwrap().len(), 2);
        assert_eq!(m["content"], "Winter Cup: Hera won on Arabia");
    }

    #[test]
    fn limits_hold_for_huge_inputs() {
        let long = "x".repeat(10_000);
        let players: Vec<Value> = (0..40)
            .map(|i| json!({"name": format!("{long}{i}"), "civ": long, "team": 1, "won": true}))
            .collect();
        let body = json!({"kind": "match_finished", "tournament": {"name": long},
            "data": {"map": long, "players": players}});
        let m = render(&body, None);
        let embed = &m["embeds"][0];
        assert!(embed["title"].as_str().unwrap().chars().count() <= TITLE_MAX);
        assert!(m["content"].as_str().unwrap().chars().count() <= CONTENT_MAX);
        let fields = embed["fields"].as_array().unwrap();
        assert!(fields.len() <= FIELDS_MAX);
        let total: usize = [
            &embed["title"],
            &embed["description"],
            &embed["footer"]["text"],
        ]
        .iter()
        .map(|v| v.as_str().unwrap().chars().count())
        .sum::<usize>()
            + fields
                .iter()
                .map(|f| {
                    f["name"].as_str().unwrap().chars().count()
                        + f["value"].as_str().unwrap().chars().count()
                })
                .sum::<usize>();
        assert!(total <= EMBED_TOTAL_MAX, "{total}");
    }

    #[test]
    fn every_kind_has_a_title() {
        for kind in [
            "peak_rating",
            "lead_change",
            "streak_milestone",
            "player_live",
            "player_offline",
            "window_opened",
            "window_closed",
        ] {
            let m = render(
                &json!({"kind": kind, "tournament": {"name": "Cup"}, "data": {}}),
                None,
            );
            assert!(
                !m["embeds"][0]["title"].as_str().unwrap().is_empty(),
                "{kind}"
            );
        }
    }
}
