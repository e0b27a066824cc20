//! Real responses against `/openapi.json`: [`checked`] finds the documented operation of a
//! request (method and concrete path → path template), requires the answer's status to be
//! documented, and validates a JSON body against its schema: field names, types,
//! nullability, no undocumented fields, and datetimes exactly as pydantic v2 writes them
//! (UTC `Z`, six fraction digits only when the microseconds are not zero), which is stricter
//! than the front-ends' zod `z.iso.datetime()`.

use std::sync::OnceLock;

use serde_json::{json, Value};

/// Our document, as `/openapi.json` serves it.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_slice(api::openapi::document_json()).unwrap())
}

/// The response's `Content-Type` (empty when missing or not text).
pub fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// `response` after checking it against the document (see the module docs); panics with the
/// reason when it does not match. A streamed body (`text/event-stream`) is passed on unread.
pub async fn checked(method: &str, target: &str, response: reqwest::Response) -> reqwest::Response {
    let content_type = content_type(&response);
    if content_type.starts_with("text/event-stream") {
        return response;
    }
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    if let Err(e) = check_response(method, target, status.as_u16(), &content_type, &bytes) {
        panic!("{method} {target} → {status}: {e}");
    }
    let mut rebuilt = axum::http::Response::builder()
        .status(status)
        .version(version);
    if let Some(h) = rebuilt.headers_mut() {
        *h = headers;
    }
    reqwest::Response::from(rebuilt.body(bytes).unwrap())
}

/// The documented operation of `method target`, its answer `status` and, for JSON, its body.
pub fn check_response(
    method: &str,
    target: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let doc = document();
    let path = target.split('?').next().unwrap_or(target);
    let Some(template) = template_of(doc, path) else {
        // The document's own pages, and the router's fallback for a path nobody serves.
        let fallback = status == 404 && body == br#"{"detail":"Not Found"}"#;
        return match path == "/openapi.json" || path.starts_with("/docs") || fallback {
            true => Ok(()),
            false => Err(format!("{path} is not documented")),
        };
    };
    let operation = &doc["paths"][&template][method.to_lowercase()];
    if !operation.is_object() {
        return Err(format!("{method} {template} is not documented"));
    }
    let response = &operation["responses"][status.to_string()];
    if !response.is_object() {
        return Err(format!(
            "status {status} is not documented for {method} {template}"
        ));
    }
    if !content_type.starts_with("application/json") {
        return Ok(());
    }
    let schema = &response["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Err(format!(
            "{status} of {method} {template} has no JSON body documented"
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    check(doc, schema, &value, "body")
}

/// The template of the document that `path` matches, the most literal one when several do.
fn template_of(doc: &Value, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    continue;
                }
                if part != segment {
                    return None;
                }
                literal += 1;
            }
            Some((literal, template.clone()))
        })
        .max()
        .map(|(_, template)| template)
}

/// `2026-11-13T17:06:59Z` or `2026-12-04T17:06:59.670779Z`, as pydantic v2 writes UTC.
pub fn is_pydantic_datetime(text: &str) -> bool {
    let Some(rest) = text.strip_suffix('Z') else {
        return false;
    };
    let (seconds, fraction) = match rest.split_once('.') {
        Some((seconds, fraction)) => (seconds, Some(fraction)),
        None => (rest, None),
    };
    let fraction_ok = fraction
        .is_none_or(|f| f.len() == 6 && f.bytes().all(|b| b.is_ascii_digit()) && f != "000000");
    let shape_ok = seconds.len() == 19
        && seconds.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    shape_ok && fraction_ok && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A JSON Schema check of the subset the document uses, strict about object keys: a property
/// the document does not list, or a required one that is missing, fails.
pub fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if schema == &Value::Bool(true) || schema == &json!({}) {
        return Ok(());
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let errors: Vec<String> = branches
                .iter()
                .filter_map(|b| check(doc, b, value, at).err())
                .collect();
            if errors.len() == branches.len() {
                return Err(format!("{at}: no branch of {key} matches: {errors:?}"));
            }
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} not in {allowed:?}"));
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if schema.get("format") == Some(&json!("date-time")) {
        if let Some(text) = value.as_str() {
            if !is_pydantic_datetime(text) {
                return Err(format!(
                    "{at}: {text:?} is not a UTC `Z` datetime as pydantic's"
                ));
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(key) {
                    return Err(format!("{at}: required `{key}` is missing"));
                }
            }
        }
        for (key, field) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => check(doc, sub, field, &format!("{at}.{key}"))?,
                None => match schema.get("additionalProperties") {
                    Some(sub) if sub.is_object() => check(doc, sub, field, &format!("{at}.{key}"))?,
                    // An object schema without listed properties allows any.
                    Some(Value::Bool(true)) | None if properties.is_none() => {}
                    Some(Value::Bool(true)) => {}
                    _ => return Err(format!("{at}: `{key}` is not documented")),
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[test]
fn datetimes_are_checked_as_pydantic_writes_them() {
    for good in ["2026-11-13T17:06:59Z", "2026-12-04T17:06:59.670779Z"] {
        assert!(is_pydantic_datetime(good), "{good}");
    }
    for bad in [
        "2026-11-13T17:06:59+00:00",
        "2026-11-13T17:06:59.000000Z",
        "2026-11-13T17:06:59.67Z",
        "2026-11-13T17:06:59.670779123Z",
        "2026-11-13 17:06:59Z",
        "2026-13-13T17:06:59Z",
        "2026-11-13T17:06Z",
    ] {
        assert!(!is_pydantic_datetime(bad), "{bad}");
    }
}
