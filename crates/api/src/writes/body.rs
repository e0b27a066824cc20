//! Request bodies, read the way the contract's pydantic models read them: unknown keys are
//! ignored, a missing required key or a wrong type is a list-shaped 422 naming the field, and
//! a PATCH tells "absent" (leave alone) from `null` (clear, or 422 where null is not allowed).
//!
//! **One type per body, documented and parsed from the same definition.** Each write's body
//! is a Rust type named as in the contract (`TournamentCreate`, `TeamUpdate`, ...), defined
//! beside its handler. It derives `Deserialize` (the handler reads the body into it with
//! [`read`]) and `JsonSchema` (`openapi/writes.rs` documents the route with
//! `op.body::<TournamentCreate>(..)`), so a field cannot be renamed, added or made optional in
//! one place and not the other (before, handlers read a `Map` key by key and the document
//! described the bodies as untyped objects by hand). The contract's bounds (lengths, minimums,
//! the slug pattern, `maxItems`) are `#[schemars(..)]` attributes on the same fields, written
//! with the constants of `domain::rules` that the Tournament aggregate enforces (it answers
//! with the field's name), so the document and the write model cannot disagree on a limit
//! either. What JSON Schema cannot say (a presentation's size in bytes and nesting depth, the
//! reserved slug `current`, `start_date` ≤ `end_date`) is in the field's description.
//!
//! Why serde can keep the contract's answers: every field goes through one of the `field::*`
//! functions below (`#[serde(deserialize_with = ..)]`), which decide what absent, `null` and a
//! wrong type mean for that field and word the failure as pydantic does ("Input should be a
//! valid integer"). [`serde_path_to_error`] reports which field failed, so a 422 still names it
//! in `loc: ["body", field]`. Fields are visited in declaration order (not the JSON's key
//! order), so the first error reported is the first wrong field of the type, as when the
//! handlers read fields one by one; a missing required field is reported after the present
//! fields were checked (serde learns what is missing at the end of the object).
//!
//! The shape of a field in the document is the original's, keyword for keyword (clients
//! generate code from it; `tests/identity.rs` compares), which is not always what the
//! deserializer accepts:
//! - `field::required`: listed in `required`, never null.
//! - `field::optional` (POST): not required. `null` reads as absent (the default); the schema
//!   is nullable only where the original's is (the window, the prize pool, `profile_id`).
//! - `field::not_null` (PATCH): not required, `null` is 422 as in the original, whose schema
//!   still says nullable: `#[schemars(with = "Option<T>")]` and a description that says so.
//! - `field::nullable` (PATCH): not required, `null` clears: `#[schemars(with = "Option<T>")]`.
//!
//! Bounds the original's schema does not state (the length of a host stream URL) are enforced
//! all the same and said in the field's description.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::de::value::MapDeserializer;
use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Reads a JSON object into `T` (an empty body reads as `{}`, for routes whose fields are all
/// optional). Strings holding NUL are refused before anything else: PostgreSQL text cannot
/// hold them, so such an event could never be projected.
pub fn read<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let map = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if has_nul(&v) => {
                return Err(ApiError::Validation {
                    loc: vec!["body".into()],
                    msg: "Strings must not contain NUL (\\u0000) characters".into(),
                })
            }
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(ApiError::Validation {
                    loc: vec!["body".into()],
                    msg: "Input should be a valid dictionary or object".into(),
                })
            }
            Err(e) => {
                return Err(ApiError::Validation {
                    loc: vec!["body".into()],
                    msg: format!("JSON decode error: {e}"),
                })
            }
        }
    };
    serde_path_to_error::deserialize(InOrder(map)).map_err(|e| {
        let field = e.path().iter().next().map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => key.clone(),
            other => other.to_string(),
        });
        let msg = e.inner().to_string();
        match field {
            Some(field) => ApiError::body(&field, msg),
            None => match missing_field(&msg) {
                Some(field) => ApiError::body(field, "Field required"),
                None => ApiError::Validation {
                    loc: vec!["body".into()],
                    msg,
                },
            },
        }
    })
}

/// The field named by serde's `missing field `name`` error.
fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `")?.strip_suffix('`')
}

/// A JSON object handed to a derived `Deserialize` with its fields in the type's declaration
/// order (a `serde_json::Map` iterates alphabetically), unknown keys left out.
struct InOrder(Map<String, Value>);

impl<'de> Deserializer<'de> for InOrder {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        Value::Object(self.0).deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let mut map = self.0;
        let entries = fields
            .iter()
            .filter_map(|&field| map.remove(field).map(|value| (field, value)))
            .collect::<Vec<_>>();
        let mut access = MapDeserializer::new(entries.into_iter());
        let value = visitor.visit_map(&mut access)?;
        access.end()?;
        Ok(value)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// `#[schemars(transform = body::no_null_defaults)]` on every body type: a field's
/// `#[serde(default)]` means "absent reads as `None`", which schemars would document as
/// `"default": null` even where `null` is refused. Real defaults are stated with
/// `#[schemars(extend("default" = ..))]`.
pub fn no_null_defaults(schema: &mut schemars::Schema) {
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for property in properties.values_mut() {
            if let Value::Object(property) = property {
                if property.get("default") == Some(&Value::Null) {
                    property.remove("default");
                }
            }
        }
    }
}

/// How each field reads absent, `null` and a value (`#[serde(deserialize_with = ..)]`; every
/// field not marked `required` also needs `#[serde(default)]`: absent is `None`).
pub mod field {
    use chrono::{DateTime, Utc};
    use domain::tournament::RankBy;
    use serde::de::{DeserializeOwned, Deserializer, Error};
    use serde::Deserialize;
    use serde_json::Value;

    fn typed<T: DeserializeOwned, E: Error>(value: Value) -> Result<T, E> {
        serde_json::from_value(value)
            .map_err(|_| E::custom(format!("Input should be {}", super::expected::<T>())))
    }

    /// Present and not null.
    pub fn required<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<T, D::Error> {
        typed(Value::deserialize(d)?)
    }

    /// POST: absent and `null` both read as `None`.
    pub fn optional<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            value => typed(value).map(Some),
        }
    }

    /// PATCH of a field that cannot be null: absent → `None`, `null` → 422.
    pub fn not_null<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        required(d).map(Some)
    }

    /// PATCH of a nullable field: absent → `None`, `null` → `Some(None)` (clear).
    pub fn nullable<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        optional(d).map(Some)
    }

    /// A datetime as pydantic accepts it (RFC 3339, naive as UTC, or a bare date); absent and
    /// `null` read as `None`.
    pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match optional::<D, String>(d)? {
            None => Ok(None),
            Some(text) => super::parse_datetime(&text)
                .map(Some)
                .ok_or_else(|| D::Error::custom("Input should be a valid datetime")),
        }
    }

    /// PATCH of a datetime: absent → `None`, `null` → `Some(None)` (clear).
    pub fn datetime_patch<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
        datetime(d).map(Some)
    }

    pub const RANK_BY: &str = "Input should be 'peak_rating' or 'current_rating'";

    fn rank_by_text<E: Error>(value: Value) -> Result<RankBy, E> {
        match value.as_str() {
            Some("peak_rating") => Ok(RankBy::PeakRating),
            Some("current_rating") => Ok(RankBy::CurrentRating),
            _ => Err(E::custom(RANK_BY)),
        }
    }

    /// POST: absent and `null` read as `None` (the default, `peak_rating`).
    pub fn rank_by<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RankBy>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            value => rank_by_text(value).map(Some),
        }
    }

    /// PATCH: absent → `None`; `null` or anything but the two names → 422.
    pub fn rank_by_patch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RankBy>, D::Error> {
        rank_by_text(Value::deserialize(d)?).map(Some)
    }

    /// A required id greater than 0.
    pub fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let id: i64 = required(d)?;
        if id > 0 {
            Ok(id)
        } else {
            Err(D::Error::custom("Input should be greater than 0"))
        }
    }

    /// A required user id: a 36-character UUID in either case, read as lowercase.
    pub fn user_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let text: String = required(d)?;
        super::super::owners::user_uuid(&text)
            .ok_or_else(|| D::Error::custom("Input should be a valid UUID"))
    }
}

/// A datetime as pydantic reads one: RFC 3339, naive (read as UTC), or a bare date, in the
/// years 1 to 9999 of Python's `datetime`. chrono alone would take `+100000-01-01T00:00:00`,
/// which PostgreSQL cannot store: an `as_of` query failed with a 503 and such a window would
/// be a poison event for the projector.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let naive = if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        (d.naive_local(), d.with_timezone(&Utc))
    } else if let Some(d) = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    {
        (d, d.and_utc())
    } else {
        let d = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?;
        (d, d.and_utc())
    };
    let (local, utc) = naive;
    (1..=9999).contains(&local.year()).then_some(utc)
}

/// What a type expects, in pydantic's words.
fn expected<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    if name.contains("String") {
        "a valid string"
    } else if name.starts_with("i64") || name.starts_with("u") {
        "a valid integer"
    } else if name.contains("Vec") {
        "a valid list"
    } else if name.contains("Value") {
        "a valid dictionary"
    } else if name.contains("bool") {
        "a valid boolean"
    } else {
        "a valid value"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "field::required")]
        name: String,
        #[serde(default, deserialize_with = "field::optional")]
        count: Option<i64>,
        #[serde(default, deserialize_with = "field::not_null")]
        label: Option<String>,
        #[serde(default, deserialize_with = "field::datetime_patch")]
        end_date: Option<Option<DateTime<Utc>>>,
        #[serde(default, deserialize_with = "field::datetime")]
        start_date: Option<DateTime<Utc>>,
    }

    fn sample(body: Value) -> ApiResult<Sample> {
        read(body.to_string().as_bytes())
    }

    /// `(loc, msg)` of a 422.
    fn refused(result: ApiResult<Sample>) -> (Vec<String>, String) {
        match result {
            Err(ApiError::Validation { loc, msg }) => (loc, msg),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn absent_null_and_present() {
        let s = sample(json!({"name": "A", "end_date": null, "count": null, "extra": 1})).unwrap();
        assert_eq!(s.name, "A");
        assert_eq!(s.count, None);
        assert_eq!(s.label, None);
        assert_eq!(s.end_date, Some(None), "null clears");
        assert_eq!(s.start_date, None);
        let s = sample(json!({"name": "A", "end_date": "2026-05-20", "count": 3})).unwrap();
        assert_eq!(s.count, Some(3));
        assert!(matches!(s.end_date, Some(Some(_))));

        assert_eq!(
            refused(sample(json!({"count": 1}))),
            (vec!["body".into(), "name".into()], "Field required".into())
        );
        assert_eq!(
            refused(sample(json!({"name": null}))),
            (
                vec!["body".into(), "name".into()],
                "Input should be a valid string".into()
            )
        );
        assert_eq!(
            refused(sample(json!({"name": "A", "label": null}))),
            (
                vec!["body".into(), "label".into()],
                "Input should be a valid string".into()
            )
        );
        assert_eq!(
            refused(sample(json!({"name": "A", "count": "x"}))),
            (
                vec!["body".into(), "count".into()],
                "Input should be a valid integer".into()
            )
        );
        assert_eq!(
            refused(sample(json!({"name": "A", "start_date": "soon"}))),
            (
                vec!["body".into(), "start_date".into()],
                "Input should be a valid datetime".into()
            )
        );
        assert_eq!(
            refused(sample(json!({"name": "A", "start_date": 5}))).1,
            "Input should be a valid string"
        );
    }

    #[test]
    fn the_first_wrong_field_in_declaration_order_is_reported() {
        // A `Map` iterates alphabetically ("count" < "label" < "name"): the type's order wins.
        let (loc, _) = refused(sample(json!({"name": 1, "count": "x", "label": 2})));
        assert_eq!(loc, ["body", "name"]);
        let (loc, _) = refused(sample(json!({"name": "A", "count": "x", "label": 2})));
        assert_eq!(loc, ["body", "count"]);
    }

    #[test]
    fn bodies_that_are_not_objects() {
        for text in ["[1]", "{", "1", "null", "\"x\""] {
            let (loc, _) = refused(read(text.as_bytes()));
            assert_eq!(loc, ["body"], "{text}");
        }
        assert!(read::<Map<String, Value>>(b"").unwrap().is_empty());
        assert!(read::<Map<String, Value>>(b"  \n").unwrap().is_empty());
        let (loc, msg) = refused(read(br#"{"name": "a\u0000b"}"#));
        assert_eq!(
            (loc.as_slice(), msg.contains("NUL")),
            (&["body".to_string()][..], true)
        );
        assert!(read::<Map<String, Value>>(br#"{"presentation": {"k\u0000": 1}}"#).is_err());
    }

    #[test]
    fn serde_names_a_missing_field_as_this_module_expects() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Plain {
            slug: String,
        }
        let e = serde_path_to_error::deserialize::<_, Plain>(InOrder(Map::new())).unwrap_err();
        assert_eq!(missing_field(&e.inner().to_string()), Some("slug"));
    }

    #[test]
    fn datetimes() {
        let want = DateTime::parse_from_rfc3339("2026-05-20T12:00:00Z").unwrap();
        for text in [
            "2026-05-20T12:00:00Z",
            "2026-05-20T14:00:00+02:00",
            "2026-05-20T12:00:00",
            "2026-05-20 12:00:00",
        ] {
            assert_eq!(
                parse_datetime(text),
                Some(want.with_timezone(&Utc)),
                "{text}"
            );
        }
        assert!(parse_datetime("2026-05-20").is_some());
        assert!(parse_datetime("tomorrow").is_none());
        // Python's years only: PostgreSQL cannot store what chrono reads beyond them.
        assert!(parse_datetime("0001-01-01T00:00:00Z").is_some());
        assert!(parse_datetime("9999-12-31T23:59:59-23:59").is_some());
        for text in [
            "0000-01-01T00:00:00Z",
            "+100000-01-01T00:00:00",
            "-5000-01-01T00:00:00",
            "-262143-01-01T00:00:00",
            "+10000-01-01",
        ] {
            assert_eq!(parse_datetime(text), None, "{text}");
        }
    }
}
