//! Request bodies, read the way the contract's pydantic models read them: unknown keys are
//! ignored, a missing required key or a wrong type is a list-shaped 422 naming the field, and
//! a PATCH tells "absent" (leave alone) from `null` (clear, or 422 where null is not allowed).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

pub struct Body(Map<String, Value>);

impl Body {
    /// A JSON object (an empty body reads as `{}` for routes whose fields are all optional).
    pub fn parse(bytes: &[u8]) -> ApiResult<Body> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            // PostgreSQL text cannot hold NUL: such an event could never be projected.
            Ok(v) if has_nul(&v) => Err(ApiError::Validation {
                loc: vec!["body".into()],
                msg: "Strings must not contain NUL (\\u0000) characters".into(),
            }),
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(ApiError::Validation {
                loc: vec!["body".into()],
                msg: "Input should be a valid dictionary or object".into(),
            }),
            Err(e) => Err(ApiError::Validation {
                loc: vec!["body".into()],
                msg: format!("JSON decode error: {e}"),
            }),
        }
    }

    fn typed<T: DeserializeOwned>(key: &str, value: &Value) -> ApiResult<T> {
        serde_json::from_value(value.clone())
            .map_err(|_| ApiError::body(key, format!("Input should be {}", expected::<T>())))
    }

    /// Present and not null.
    pub fn required<T: DeserializeOwned>(&self, key: &str) -> ApiResult<T> {
        match self.0.get(key) {
            None => Err(ApiError::body(key, "Field required")),
            Some(Value::Null) => Err(ApiError::body(
                key,
                format!("Input should be {}", expected::<T>()),
            )),
            Some(v) => Self::typed(key, v),
        }
    }

    /// Absent and `null` both read as `None`.
    pub fn optional<T: DeserializeOwned>(&self, key: &str) -> ApiResult<Option<T>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Self::typed(key, v).map(Some),
        }
    }

    /// PATCH of a field that cannot be null: absent → `None`, `null` → 422.
    pub fn not_null<T: DeserializeOwned>(&self, key: &str) -> ApiResult<Option<T>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(_) => self.required(key).map(Some),
        }
    }

    /// PATCH of a nullable field: absent → `None`, `null` → `Some(None)` (clear).
    pub fn nullable<T: DeserializeOwned>(&self, key: &str) -> ApiResult<Option<Option<T>>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => Self::typed(key, v).map(|v| Some(Some(v))),
        }
    }

    /// A datetime as pydantic accepts it: RFC 3339, or naive (read as UTC), or a bare date.
    pub fn datetime(&self, key: &str) -> ApiResult<Option<Option<DateTime<Utc>>>> {
        match self.nullable::<String>(key)? {
            None => Ok(None),
            Some(None) => Ok(Some(None)),
            Some(Some(text)) => parse_datetime(&text)
                .map(|d| Some(Some(d)))
                .ok_or_else(|| ApiError::body(key, "Input should be a valid datetime")),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
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

pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, format) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
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

    fn body(text: &str) -> Body {
        Body::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn absent_null_and_present() {
        let b = body(r#"{"name": "A", "end_date": null, "n": "x", "extra": 1}"#);
        assert_eq!(b.required::<String>("name").unwrap(), "A");
        assert!(b.required::<String>("missing").is_err());
        assert!(b.required::<i64>("n").is_err());
        assert_eq!(b.optional::<i64>("end_date").unwrap(), None);
        assert_eq!(b.datetime("end_date").unwrap(), Some(None));
        assert_eq!(b.datetime("start_date").unwrap(), None);
        assert!(b.not_null::<String>("end_date").is_err());
        assert_eq!(b.not_null::<String>("absent").unwrap(), None);
    }

    #[test]
    fn bodies_that_are_not_objects() {
        assert!(Body::parse(b"[1]").is_err());
        assert!(Body::parse(b"{").is_err());
        assert!(Body::parse(b"").unwrap().0.is_empty());
        assert!(Body::parse(br#"{"name": "a\u0000b"}"#).is_err());
        assert!(Body::parse(br#"{"presentation": {"k\u0000": 1}}"#).is_err());
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
    }
}
