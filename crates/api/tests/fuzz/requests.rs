//! Requests: the generator, the ids it draws from and the junk it sends.

use super::*;

pub(super) struct Request {
    pub(super) method: String,
    /// Path and query, already percent-encoded where needed.
    pub(super) target: String,
    pub(super) headers: Vec<(String, Vec<u8>)>,
    pub(super) body: Option<Vec<u8>>,
    /// What was mutated, for the failure message.
    pub(super) note: String,
}

/// Ids the seed and the fuzzing itself created, re-read from the read models now and then.
#[derive(Default)]
pub(super) struct Pools {
    pub(super) slugs: Vec<String>,
    pub(super) players: Vec<i64>,
    pub(super) teams: Vec<i64>,
    pub(super) matches: Vec<i64>,
    pub(super) users: Vec<String>,
    /// `(team_id, tournament_player_id)` of every membership.
    pub(super) members: Vec<(i64, i64)>,
}

impl Pools {
    pub(super) async fn refresh(&mut self, pool: &PgPool) {
        self.slugs = sqlx::query_scalar("SELECT slug FROM live.tournaments ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
        self.players = sqlx::query_scalar("SELECT id FROM live.tournament_players ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
        self.teams = sqlx::query_scalar("SELECT id FROM live.teams ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
        self.matches = sqlx::query_scalar("SELECT match_id FROM live.matches ORDER BY match_id")
            .fetch_all(pool)
            .await
            .unwrap();
        self.members = sqlx::query_as(
            "SELECT team_id, tournament_player_id FROM live.team_members ORDER BY 1, 2",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        self.users = sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM live.tournament_owners ORDER BY user_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
    }
}

/// Path segments a client could send, percent-encoded as they go on the wire.
pub(super) const JUNK_SEGMENTS: &[&str] = &[
    "",
    "%20",
    "0",
    "-1",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999",
    "1.5",
    "1e3",
    "0x10",
    "+1",
    "%00",
    "a%00b",
    "%FF",
    "%C3%28",
    "%E2%82",
    "%2E%2E",
    "%2F",
    "%5C",
    "current",
    "CURRENT",
    "Hera",
    "h%C3%A9ra",
    "%F0%9F%92%A5",
    "%E2%80%AE",
    "null",
    "true",
    "%5B%5D",
    "%7B%7D",
    "hera%20",
    "%09hera",
    "hera-",
    "-hera",
    "%25",
    "%3Fx%3D1",
    "%23frag",
    "11111111-1111-1111-1111-11111111111",
    "11111111111111111111111111111111",
    "{slug}",
];

/// Query values outside any declared bound or type.
pub(super) const JUNK_QUERY: &[&str] = &[
    "",
    "-1",
    "0",
    "201",
    "101",
    "abc",
    "1.5",
    "1e2",
    "%00",
    "%FF",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "true",
    "%20",
    "1%2C2",
    "%5B1%5D",
    "%2B5",
    "%205",
    "5%20",
    "completed%00",
    "COMPLETED",
    "%F0%9F%92%A5",
    "hera",
];

/// RFC 3339 datetimes at the edges of what the contract accepts (Python's years 1 to 9999).
pub(super) const VALID_DATETIMES: &[&str] = &[
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "2026-06-30T23:59:60Z",
    "2026-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00+01:00",
];

/// Datetimes a client could send: valid, odd and out of any database's range.
pub(super) const EDGE_DATETIMES: &[&str] = &[
    "2026-05-20T12:00:00Z",
    "2026-05-20T12:00:00",
    "2026-05-20 12:00:00",
    "2026-05-20",
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "+100000-01-01T00:00:00",
    "-5000-01-01T00:00:00",
    "+262143-12-31T23:59:59",
    "-262143-01-01T00:00:00",
    "+10000-01-01",
    "-0001-01-01",
    "2026-02-30T00:00:00Z",
    "2026-06-30T23:59:60Z",
    "2026-01-01T00:00:00+23:59",
    "2026-01-01T00:00:00-23:59",
    "2026-01-01T00:00:00+24:00",
    "2026-13-01T00:00:00Z",
    "soon",
    "",
    " 2026-01-01 ",
    "2026-01-01T00:00:00.0000000000000000001Z",
];

pub(super) fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) struct Fuzzer<'a> {
    pub(super) doc: &'a Value,
    pub(super) rng: StdRng,
    pub(super) pools: Pools,
    pub(super) owner: &'a str,
    pub(super) other: &'a str,
    pub(super) garbage: &'a [String],
    pub(super) seeded: &'a [i64],
    /// A membership this request names (team in the path, player in the path or body), so the
    /// member and captain routes reach their rules, not only their 404s.
    pub(super) pinned: Option<(i64, i64)>,
    /// An `Idempotency-Key` sent before (its reuse with another body is a 422 envelope).
    pub(super) used_key: String,
}

impl Fuzzer<'_> {
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    pub(super) fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        items.choose(&mut self.rng).expect("a non-empty list")
    }

    pub(super) fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.gen();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    pub(super) fn text(&mut self, min: usize, max: usize) -> String {
        const ALPHABET: &[&str] = &[
            "a", "b", "z", "0", "9", "-", " ", "_", "é", "ß", "日", "💥", "\u{202e}", "'", "\"",
            "\\", "<", "/", "%", "\t", "\n",
        ];
        let len = if max <= min {
            min
        } else {
            self.rng.gen_range(min..=max.min(min + 24))
        };
        (0..len).map(|_| *self.pick(ALPHABET)).collect()
    }

    pub(super) fn resolve(&self, schema: &Value) -> Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference.trim_start_matches("#/components/schemas/");
                self.doc["components"]["schemas"][name].clone()
            }
            None => schema.clone(),
        }
    }

    /// A value the schema accepts. `name` is the property it is for: ids of the seed are
    /// likelier to reach the handlers' rules than random integers.
    pub(super) fn conforming(&mut self, schema: &Value, name: &str, depth: usize) -> Value {
        let schema = self.resolve(schema);
        if let Some(branches) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
            let branch = self.pick(branches).clone();
            return self.conforming(&branch, name, depth);
        }
        if let Some(values) = schema["enum"].as_array() {
            return self.pick(values).clone();
        }
        let types: Vec<String> = match &schema["type"] {
            Value::String(t) => vec![t.clone()],
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => vec!["object".into()],
        };
        let kind = self.pick(&types).clone();
        match kind.as_str() {
            "null" => Value::Null,
            "boolean" => Value::Bool(self.rng.gen()),
            "integer" | "number" => self.integer(&schema, name),
            "string" => Value::String(self.string(&schema, name)),
            "array" => {
                let max = schema["maxItems"].as_u64().unwrap_or(3) as usize;
                let min = schema["minItems"].as_u64().unwrap_or(0) as usize;
                let n = self.rng.gen_range(min..=max.min(min + 3).max(min));
                let items = schema["items"].clone();
                Value::Array(
                    (0..n)
                        .map(|_| self.conforming(&items, name, depth + 1))
                        .collect(),
                )
            }
            _ => {
                let mut object = Map::new();
                let required: BTreeSet<String> = required(&schema);
                if let Some(properties) = schema["properties"].as_object() {
                    for (key, sub) in properties {
                        if required.contains(key) || self.chance(0.6) {
                            let value = self.conforming(sub, key, depth + 1);
                            object.insert(key.clone(), value);
                        }
                    }
                } else if depth < 3 {
                    // A free-form object (`presentation`).
                    for _ in 0..self.rng.gen_range(0..4) {
                        let key = self.text(1, 8);
                        let value = match self.rng.gen_range(0..6) {
                            0 => json!(self.text(0, 12)),
                            1 => json!(self.rng.gen::<i32>()),
                            2 => json!([1, "two", null]),
                            3 => json!({"nested": {"ok": true}}),
                            // Numbers at and beyond the edge, as raw JSON text (see `raw`).
                            4 => json!(raw_number(self.rng.gen_range(0..RAW_NUMBERS.len()))),
                            _ => {
                                json!([{ "n": raw_number(self.rng.gen_range(0..RAW_NUMBERS.len())) }])
                            }
                        };
                        object.insert(key, value);
                    }
                }
                // The one rule across fields a conforming client keeps: the window's order.
                if let (Some(Value::String(start)), Some(Value::String(end))) =
                    (object.get("start_date"), object.get("end_date"))
                {
                    if start > end {
                        let (start, end) = (end.clone(), start.clone());
                        object.insert("start_date".into(), Value::String(start));
                        object.insert("end_date".into(), Value::String(end));
                    }
                }
                Value::Object(object)
            }
        }
    }

    pub(super) fn integer(&mut self, schema: &Value, name: &str) -> Value {
        let above = schema["exclusiveMinimum"]
            .as_f64()
            .map(|m| m.floor() as i64 + 1);
        let min = schema["minimum"].as_i64().or(above);
        let max = schema["maximum"].as_i64();
        let seeded: Vec<i64> = match name {
            "leaderboard_id" => vec![3, 3, 3, 5, 1],
            "profile_id" => vec![HERA, ACCM, 5555, 1, 424242],
            "tournament_player_id" => match self.pinned {
                Some((_, player)) => vec![player],
                None => self.pools.players.clone(),
            },
            "team_id" => self.pools.teams.clone(),
            "match_id" => self.pools.matches.clone(),
            "last_event_id" | "after" => vec![0, 1, 5, 1_000_000],
            _ => vec![],
        };
        let value = if !seeded.is_empty() && self.chance(0.6) {
            *self.pick(&seeded)
        } else {
            let lo = min.unwrap_or(-1_000);
            let hi = max.unwrap_or(lo.saturating_add(100_000));
            match self.rng.gen_range(0..5) {
                0 => lo,
                1 => hi,
                2 => schema["default"].as_i64().unwrap_or(lo),
                _ => self.rng.gen_range(lo..=hi),
            }
        };
        let value = value
            .max(min.unwrap_or(i64::MIN))
            .min(max.unwrap_or(i64::MAX));
        json!(value)
    }

    pub(super) fn string(&mut self, schema: &Value, name: &str) -> String {
        let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
        let max = schema["maxLength"].as_u64().unwrap_or(40) as usize;
        match schema["format"].as_str() {
            Some("date-time") => {
                if self.chance(0.85) {
                    let minute = self.rng.gen_range(-100_000..100_000);
                    return at(minute).to_rfc3339();
                }
                return self.pick(VALID_DATETIMES).to_string();
            }
            Some("uuid") => {
                return match self.rng.gen_range(0..4) {
                    0 => OWNER.into(),
                    1 => OTHER.into(),
                    2 => self.uuid().to_uppercase(),
                    _ => self.uuid(),
                };
            }
            _ => {}
        }
        if schema["pattern"].is_string() && name == "slug" {
            // `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`
            if self.chance(0.2) {
                return self.pick(&["hera", "spare", "current"]).to_string();
            }
            let len = self.rng.gen_range(min.max(1)..=max.min(20));
            const EDGE: &[u8] = b"abcxyz0189";
            const INNER: &[u8] = b"abcxyz0189--";
            return (0..len)
                .map(|i| {
                    let set = if i == 0 || i + 1 == len { EDGE } else { INNER };
                    *set.choose(&mut self.rng).unwrap() as char
                })
                .collect();
        }
        match name {
            "slug" | "tournament" => {
                let slugs = self.pools.slugs.clone();
                if !slugs.is_empty() && self.chance(0.7) {
                    return self.pick(&slugs).clone();
                }
            }
            "host_stream_urls" => {
                let urls = [
                    "https://twitch.tv/host",
                    "https://www.youtube.com/@host",
                    "twitch.tv/x",
                    "not a url",
                ];
                let url = *self.pick(&urls);
                if url.chars().count() <= max {
                    return url.to_string();
                }
            }
            _ => {}
        }
        let mut text = self.text(min, max);
        while text.chars().count() < min {
            text.push('x');
        }
        text
    }
}

/// The names an object schema lists as `required`.
pub(super) fn required<C: FromIterator<String>>(schema: &Value) -> C {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}
