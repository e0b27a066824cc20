//! Request bodies: schema-conforming, or that value mutated; raw numbers at f64's edges.

use super::*;

impl Fuzzer<'_> {
    /// A request body: schema-conforming, or that value mutated.
    pub(super) fn body(&mut self, schema: &Value, notes: &mut Vec<String>) -> Vec<u8> {
        let schema = self.resolve(schema);
        let mut value = self.conforming(&schema, "", 0);
        let properties: Vec<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let required: Vec<String> = required(&schema);
        let mutations = if self.chance(0.35) {
            0
        } else {
            self.rng.gen_range(1..=2)
        };
        for _ in 0..mutations {
            let field = if properties.is_empty() {
                "x".to_string()
            } else {
                self.pick(&properties).clone()
            };
            let object = value.as_object_mut().expect("bodies are objects");
            match self.rng.gen_range(0..12) {
                0 => {
                    let wrong = self
                        .pick(&[
                            json!(1),
                            json!(-1),
                            json!(0),
                            json!(1.5),
                            json!(-0.0),
                            json!(1e300),
                            json!(i64::MAX),
                            json!(i64::MIN),
                            json!(u64::MAX),
                            json!("x"),
                            json!(""),
                            json!("1"),
                            json!(true),
                            json!([]),
                            json!({}),
                            json!([1, "a", null]),
                            json!({"a": 1}),
                            json!(["peak_rating"]),
                        ])
                        .clone();
                    notes.push(format!("{field} = {wrong}"));
                    object.insert(field, wrong);
                }
                1 => {
                    notes.push(format!("{field} = null"));
                    object.insert(field, Value::Null);
                }
                2 => {
                    if let Some(key) = required.choose(&mut self.rng) {
                        notes.push(format!("without {key}"));
                        object.remove(key);
                    } else {
                        object.clear();
                        notes.push("empty object".into());
                    }
                }
                3 => {
                    for _ in 0..self.rng.gen_range(1..5) {
                        let key = match self.rng.gen_range(0..6) {
                            0 => "__proto__".to_string(),
                            1 => "id".to_string(),
                            2 => "tournament_id".to_string(),
                            3 => "k".repeat(2000),
                            4 => field.to_uppercase(),
                            _ => self.text(0, 10),
                        };
                        let v = json!(self.text(0, 10));
                        notes.push(format!(
                            "extra {}",
                            key.chars().take(20).collect::<String>()
                        ));
                        object.insert(key, v);
                    }
                }
                4 => {
                    let max = schema["properties"][&field]["maxLength"]
                        .as_u64()
                        .unwrap_or(256) as usize;
                    let len = *self.pick(&[max + 1, max + 2, 300, 5_000, 70_000]);
                    let unit = *self.pick(&["x", "é", "💥"]);
                    notes.push(format!("{field}: {len} × {unit}"));
                    object.insert(field, json!(unit.repeat(len)));
                }
                5 => {
                    let unit = *self.pick(&["a\u{0}b", "\u{0}", "ok"]);
                    let v = match self.rng.gen_range(0..3) {
                        0 => json!(unit),
                        1 => json!([unit]),
                        _ => json!({ "k\u{0}": unit }),
                    };
                    notes.push(format!("NUL in {field}"));
                    object.insert(field, v);
                }
                6 => {
                    let date = *self.pick(EDGE_DATETIMES);
                    let date_fields: Vec<&String> =
                        properties.iter().filter(|p| p.ends_with("_date")).collect();
                    let key = date_fields
                        .choose(&mut self.rng)
                        .map(|k| (*k).clone())
                        .unwrap_or(field);
                    notes.push(format!("{key} = {date:?}"));
                    object.insert(key, json!(date));
                }
                7 => {
                    let number = *self.pick(&[
                        "9223372036854775807",
                        "9223372036854775808",
                        "-9223372036854775808",
                        "18446744073709551616",
                        "1e999",
                        "1.7976931348623157e308",
                        "-1.79e308",
                        "5e-324",
                        "1e400",
                        "-0",
                        "1.0",
                        "1e2",
                        "0",
                        "-1",
                    ]);
                    notes.push(format!("{field} = {number}"));
                    let marker = "\"@@NUMBER@@\"";
                    object.insert(field, json!("@@NUMBER@@"));
                    return raw(serde_json::to_string(&value)
                        .unwrap()
                        .replace(marker, number))
                    .into_bytes();
                }
                8 => {
                    // Deep nesting, as raw text (a `Value` this deep is awkward to drop).
                    let depth = *self.pick(&[
                        8, 32, 62, 63, 64, 65, 100, 120, 125, 126, 127, 128, 200, 100_000,
                    ]);
                    let key = if properties.iter().any(|p| p == "presentation") && self.chance(0.7)
                    {
                        "presentation".to_string()
                    } else {
                        field
                    };
                    let nested = if self.chance(0.5) {
                        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
                    } else {
                        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
                    };
                    notes.push(format!("{key} nested {depth} deep"));
                    object.insert(key, json!("@@NESTED@@"));
                    return raw(serde_json::to_string(&value)
                        .unwrap()
                        .replace("\"@@NESTED@@\"", &nested))
                    .into_bytes();
                }
                9 => {
                    let (note, text): (&str, Vec<u8>) = match self.rng.gen_range(0..8) {
                        0 => ("array", format!("[{value}]").into_bytes()),
                        1 => ("number", b"42".to_vec()),
                        2 => ("string", b"\"body\"".to_vec()),
                        3 => ("null", b"null".to_vec()),
                        4 => ("true", b"true".to_vec()),
                        5 => ("empty", Vec::new()),
                        6 => ("whitespace", b" \n\t ".to_vec()),
                        _ => ("empty array", b"[]".to_vec()),
                    };
                    notes.push(format!("non-object body: {note}"));
                    return text;
                }
                10 => {
                    let text = serde_json::to_string(&value).unwrap();
                    let broken: Vec<u8> = match self.rng.gen_range(0..10) {
                        0 => {
                            let cut = self.rng.gen_range(0..text.len().max(1));
                            text.as_bytes()[..cut].to_vec()
                        }
                        1 => format!("{text} trailing").into_bytes(),
                        2 => format!("{text}{text}").into_bytes(),
                        3 => {
                            let mut b = b"{\"name\": \"".to_vec();
                            b.extend_from_slice(b"\xff\xfe\xc3\x28");
                            b.extend_from_slice(b"\"}");
                            b
                        }
                        4 => format!("\u{feff}{text}").into_bytes(),
                        5 => b"{\"a\": 1,}".to_vec(),
                        6 => b"{\"a\": NaN, \"b\": Infinity}".to_vec(),
                        7 => b"{\"name\": \"\\ud800\"}".to_vec(),
                        8 => b"{'name': 'single quotes'}".to_vec(),
                        _ => {
                            let mut dup = text.trim_end_matches('}').to_string();
                            if dup.len() > 1 {
                                dup.push(',');
                            }
                            dup.push_str(&format!("\"{field}\": {{\"dup\": 1}}}}"));
                            dup.into_bytes()
                        }
                    };
                    notes.push("broken JSON".into());
                    return broken;
                }
                _ => {
                    // Over the body size limit.
                    notes.push("1.1 MB body".into());
                    object.insert(field, json!("x".repeat(1_100_000)));
                }
            }
        }
        raw(serde_json::to_string(&value).unwrap()).into_bytes()
    }
}

/// Numbers put in free-form fields as raw JSON text: the edges of f64 (whose `jsonb` form
/// serde_json could not read back before issue 11), beyond f64 (`1e400`: the server's parser
/// refuses it), the smallest subnormal, negative zero and integers beyond 64 bits.
pub(super) const RAW_NUMBERS: &[&str] = &[
    "1.7976931348623157e308",
    "-1.7976931348623157e308",
    "-1.79e308",
    "1e308",
    "1e300",
    "1e400",
    "-1e400",
    "5e-324",
    "1e-400",
    "-0",
    "-0.0",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
];

/// A marker string standing for `RAW_NUMBERS[i]` until [`raw`] writes the number in.
pub(super) fn raw_number(i: usize) -> String {
    format!("@@RAW{i}@@")
}

/// Replaces the markers of [`raw_number`] in a serialized body by the raw numbers.
pub(super) fn raw(mut text: String) -> String {
    for (i, number) in RAW_NUMBERS.iter().enumerate() {
        text = text.replace(&format!("\"{}\"", raw_number(i)), number);
    }
    text
}

/// A JSON value as it goes in a path or query string (strings unquoted).
pub(super) fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
