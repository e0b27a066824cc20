//! Constants and validators shared by the write rules (seed contract §2.4 and §1.3).

use serde_json::Value;

/// Ladders a tournament may track: ranked solo and team RM / EW / DM boards.
pub const SUPPORTED_LEADERBOARD_IDS: [i64; 6] = [1, 2, 3, 4, 13, 14];
pub const MAX_ROSTER_ROWS: usize = 100;
pub const MAX_OWNED_TOURNAMENTS_PER_CREATOR: usize = 10;
pub const MAX_PLAYER_PRESENTATION_BYTES: usize = 8_192;
pub const MAX_TOURNAMENT_PRESENTATION_BYTES: usize = 16_384;
/// Nesting levels a presentation bag may have (`{}` is 1). Events carry the bag a few levels
/// down, and every JSON reader here (serde_json, sqlx) stops at 128 levels: a deeper bag would
/// be an event that can be appended but never read back.
pub const MAX_PRESENTATION_DEPTH: usize = 32;
/// Largest magnitude of a number in a presentation bag. PostgreSQL's `jsonb` rewrites
/// `1.7976931348623157e308` as a 309-digit integer that serde_json cannot read back; far below
/// f64's limit every number survives the trip. Integers within i64/u64 are always fine.
pub const MAX_PRESENTATION_NUMBER: f64 = 1e300;
pub const MAX_HOST_STREAM_URLS: usize = 5;
pub const MAX_HOST_STREAM_URL_CHARS: usize = 256;
pub const MAX_SLUG_CHARS: usize = 64;
pub const MAX_TOURNAMENT_NAME_CHARS: usize = 200;
pub const MAX_ROSTER_NAME_CHARS: usize = 64;
pub const MAX_TEAM_NAME_CHARS: usize = 200;
pub const MAX_TEAM_INITIALS_CHARS: usize = 8;
/// The alias read routes resolve to the latest started tournament; it can never be a real slug.
pub const RESERVED_SLUG: &str = "current";
/// Upstream's "unknown civilization"; 0 is a real civ (Armenians).
pub const UNKNOWN_CIVILIZATION_ID: i64 = -1;

/// The slug format as a regular expression (for documents; [`is_valid_slug`] checks it).
pub const SLUG_PATTERN: &str = "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$";

/// [`SLUG_PATTERN`], 1 to 64 characters.
pub fn is_valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= MAX_SLUG_CHARS
                && edge_ok(first)
                && edge_ok(last)
                && bytes.iter().all(|&b| edge_ok(b) || b == b'-')
        }
        _ => false,
    }
}

pub fn is_supported_leaderboard(leaderboard_id: i64) -> bool {
    SUPPORTED_LEADERBOARD_IDS.contains(&leaderboard_id)
}

/// Length in characters (not bytes), as the contract's pydantic limits count.
pub fn char_len_within(text: &str, min: usize, max: usize) -> bool {
    let n = text.chars().count();
    n >= min && n <= max
}

/// Size of a presentation bag as the contract measures it: its compact JSON serialization.
pub fn json_size(value: &Value) -> usize {
    // Serializing a `Value` cannot fail; fall back to "too big" rather than panic if it ever did.
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

/// Nesting levels of a JSON value: a scalar is 0, `{}` and `[]` are 1, `{"a": []}` is 2.
pub fn json_depth(value: &Value) -> usize {
    // Iterative: the value may be as deep as the parser allowed.
    let mut deepest = 0;
    let mut stack = vec![(value, 0)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// The first value of a free-form bag that could not be stored and read back: a number
/// beyond ±[`MAX_PRESENTATION_NUMBER`] or a string (or key) holding NUL, which `jsonb` refuses.
/// Returns its path (`x.0.y`, empty for the root) and what is wrong with it.
pub fn json_unstorable_value(value: &Value) -> Option<(String, &'static str)> {
    // Iterative: the value may be as deep as the parser allowed.
    let mut stack = vec![(value, String::new())];
    while let Some((value, path)) = stack.pop() {
        let child = |key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            }
        };
        match value {
            Value::Number(n) if n.as_i64().is_none() && n.as_u64().is_none() => {
                let fits = n
                    .as_f64()
                    .is_some_and(|f| f.is_finite() && f.abs() <= MAX_PRESENTATION_NUMBER);
                if !fits {
                    return Some((path, "a number beyond ±1e300"));
                }
            }
            Value::String(s) if s.contains('\0') => return Some((path, "a NUL character")),
            Value::Array(items) => {
                stack.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (v, child(&i.to_string()))),
                );
            }
            Value::Object(map) => {
                if let Some(key) = map.keys().find(|k| k.contains('\0')) {
                    return Some((child(key), "a key with a NUL character"));
                }
                stack.extend(map.iter().map(|(k, v)| (v, child(k))));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_format() {
        for ok in ["a", "hera-invitational-2026", "0", "a1-b2"] {
            assert!(is_valid_slug(ok), "{ok} should be valid");
        }
        let long = "a".repeat(65);
        for bad in ["", "-a", "a-", "A", "a_b", "a b", "é", long.as_str()] {
            assert!(!is_valid_slug(bad), "{bad:?} should be invalid");
        }
        assert!(is_valid_slug(&"a".repeat(64)));
    }

    #[test]
    fn supported_ladders() {
        for id in [1, 2, 3, 4, 13, 14] {
            assert!(is_supported_leaderboard(id));
        }
        for id in [0, 5, 6, 27, -1] {
            assert!(!is_supported_leaderboard(id));
        }
    }

    #[test]
    fn json_depth_counts_containers() {
        assert_eq!(json_depth(&serde_json::json!(1)), 0);
        assert_eq!(json_depth(&serde_json::json!({})), 1);
        assert_eq!(
            json_depth(&serde_json::json!({"a": [1, {"b": []}], "c": 2})),
            4
        );
        let deep: Value =
            serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap();
        assert_eq!(json_depth(&deep), 100);
    }

    #[test]
    fn unstorable_values_are_found_with_their_path() {
        use serde_json::json;
        for fine in [
            json!({}),
            json!({"a": [1, -1.5, 1e300, -1e300, 5e-324, -0.0, u64::MAX, i64::MIN, "é😀"]}),
        ] {
            assert_eq!(json_unstorable_value(&fine), None, "{fine}");
        }
        let cases = [
            (json!({"x": 1.7976931348623157e308}), "x"),
            (json!({"a": {"b": [0, -1.79e308]}}), "a.b.1"),
            (json!({"a": [{"s": "a\0b"}]}), "a.0.s"),
            (json!({"k\0": 1}), "k\0"),
        ];
        for (value, path) in cases {
            assert_eq!(
                json_unstorable_value(&value).map(|(p, _)| p),
                Some(path.to_string()),
                "{value}"
            );
        }
    }

    #[test]
    fn json_size_is_compact_serialization() {
        let v = serde_json::json!({"a": [1, 2]});
        assert_eq!(json_size(&v), r#"{"a":[1,2]}"#.len());
    }
}
