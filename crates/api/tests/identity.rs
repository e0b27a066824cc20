//! Contract identity (issue 12): the original service's generated clients (orval hooks named
//! after `operationId`s, files split by tag, TypeScript types named after component schemas,
//! zod schemas) must compile and validate against our document unchanged.
//!
//! `tests/reference/seed-openapi.json` is the original's `/openapi.json`. This test compares
//! ours with it operation by operation (path template, `operationId`, tags, parameters with
//! their schemas, defaults and bounds, request body, documented statuses and their bodies) and
//! component by component (properties, types, formats, `required`, nullability, enums,
//! defaults, bounds). Every difference must be listed in [`ALLOWED`] with a one-line reason,
//! and only additions may be listed: an extra operation, component, optional property or
//! documented status, or a body where the original left it untyped. `docs/compatibility.md`
//! lists the same additions for people.
//!
//! `IDENTITY_AGAINST=path cargo test -p api --test identity -- --nocapture` compares a saved
//! document instead (e.g. an older build's, written with `OPENAPI_DUMP`), and prints every
//! difference: that is how the count before this test existed was taken.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// `(pattern, reason)`: a difference matching `pattern` (`*` matches any text) is an addition
/// made on purpose. Every entry must match at least one difference.
const ALLOWED: &[(&str, &str)] = &[
    // Statuses the original answers without documenting them (seed contract §1.0-§1.1).
    (
        "* extra response 401",
        "no or an invalid token on an authenticated route, as the original",
    ),
    (
        "* extra response 403",
        "not an owner / not on the creator allowlist, as the original",
    ),
    (
        "* extra response 404",
        "an unknown tournament, row or stream filter slug, as the original",
    ),
    (
        "* extra response 409",
        "the original's conflicts, and an `Idempotency-Key` still in progress",
    ),
    ("* extra response 413", "a body over 1 MiB, as the original"),
    (
        "* extra response 400",
        "a path segment that is not UTF-8, refused by axum before any handler",
    ),
    (
        "* extra response 429",
        "per-IP rate limits, as the original's slowapi (body `RateLimited`)",
    ),
    (
        "* extra response 503",
        "the database is unreachable: a 503 in the contract's error shape",
    ),
    (
        "* extra response 304",
        "`If-None-Match` with the current `ETag`; never seen by a client that does not send it",
    ),
    (
        "GET /v1/stream: extra response 422",
        "more than 20 slugs in `?tournament=` (our server-side filter)",
    ),
    (
        "* response 422 application/json: also documents *",
        "writes' 422s the original also sends: rule texts (`HTTPError`), `Idempotency-Key` envelope",
    ),
    // Bodies the original left untyped (`{}`): the same bytes, now described.
    (
        "GET /: response 200 application/json: the original's untyped body is typed",
        "`ServiceStatus`",
    ),
    (
        "GET /health: response 200 application/json: the original's untyped body is typed",
        "`Health`",
    ),
    (
        "GET /v1/stream: response 200: the original's untyped application/json body is documented as [\"text/event-stream\"]",
        "the stream is SSE, as the original's always was",
    ),
    // Operations of our own, under tags of our own (`audit`, `infra`).
    (
        "GET /v1/tournaments/{tournament_slug}/events: extra operation",
        "the audit trail",
    ),
    (
        "GET /v1/tournaments/{tournament_slug}/standings/as-of: extra operation",
        "the standings at a past instant",
    ),
    (
        "GET /v1/tournaments/{tournament_slug}/text/standings: extra operation",
        "chat-bot text: the top of the standings as one line",
    ),
    (
        "GET /v1/tournaments/{tournament_slug}/text/player: extra operation",
        "chat-bot text: one player as one line",
    ),
    (
        "POST /v1/tournaments/{tournament_slug}/archive: extra operation",
        "archive a finished tournament (issue 16)",
    ),
    (
        "DELETE /v1/tournaments/{tournament_slug}/archive: extra operation",
        "un-archive a tournament (issue 16)",
    ),
    (
        "* /v1/tournaments/{tournament_slug}/webhooks: extra operation",
        "webhook subscriptions (issue 15)",
    ),
    (
        "* /v1/tournaments/{tournament_slug}/webhooks/{webhook_id}: extra operation",
        "webhook subscriptions (issue 15)",
    ),
    (
        "POST /v1/tournaments/{tournament_slug}/webhooks/{webhook_id}/rotate-secret: extra operation",
        "webhook subscriptions: a new signing secret (issue 15)",
    ),
    (
        "GET /metrics: extra operation",
        "Prometheus metrics (the original served none)",
    ),
    (
        "GET /.well-known/security.txt: extra operation",
        "served by the original too, but not in its document",
    ),
    // Components of our own, used only by the additions above.
    ("schema AuditEntry: extra component", "the audit trail"),
    ("schema AuditPage: extra component", "the audit trail"),
    ("schema HTTPError: extra component", "`{\"detail\": \"...\"}`"),
    (
        "schema IdempotencyError: extra component",
        "the contract's v1 envelope of `Idempotency-Key` errors",
    ),
    ("schema RateLimited: extra component", "429 bodies"),
    ("schema ServiceStatus: extra component", "`GET /`"),
    ("schema Health: extra component", "`GET /health`"),
    ("schema PoolUsage: extra component", "`GET /health`"),
    ("schema ProjectionHealth: extra component", "`GET /health`"),
    ("schema QuarantinedEvent: extra component", "`GET /health`"),
    ("schema HealthProblem: extra component", "`GET /health`"),
    ("schema WebhookRead: extra component", "webhook subscriptions"),
    ("schema WebhookCreate: extra component", "webhook subscriptions"),
    ("schema WebhookUpdate: extra component", "webhook subscriptions"),
    ("schema WebhookFormatName: extra component", "webhook subscriptions"),
    ("schema NotificationKind: extra component", "webhook subscriptions"),
    (
        "GET /v1/tournaments/{tournament_slug}/webhooks/{webhook_id}/deliveries: extra operation",
        "webhook delivery log",
    ),
    (
        "POST /v1/tournaments/{tournament_slug}/webhooks/{webhook_id}/replay: extra operation",
        "webhook dead-letter replay",
    ),
    ("schema AttemptRow: extra component", "webhook delivery log"),
    ("schema DeadLetter: extra component", "webhook delivery log"),
    ("schema DeliveryLog: extra component", "webhook delivery log"),
    ("schema ReplayRead: extra component", "webhook dead-letter replay"),
    ("schema SubscriptionLag: extra component", "webhook delivery log"),
];

#[test]
fn our_document_keeps_every_element_of_the_originals() {
    let reference: Value =
        serde_json::from_str(include_str!("reference/seed-openapi.json")).unwrap();
    let ours: Value = match std::env::var("IDENTITY_AGAINST") {
        Ok(path) => serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
        Err(_) => serde_json::from_slice(api::openapi::document_json()).unwrap(),
    };
    let differences = compare(&reference, &ours);
    println!("{} differences:", differences.len());
    for d in &differences {
        println!("  {d}");
    }
    let unexplained: Vec<&String> = differences
        .iter()
        .filter(|d| !ALLOWED.iter().any(|(pattern, _)| matches(pattern, d)))
        .collect();
    let stale: Vec<&str> = ALLOWED
        .iter()
        .filter(|(pattern, _)| !differences.iter().any(|d| matches(pattern, d)))
        .map(|(pattern, _)| *pattern)
        .collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "differences from the original's document that are not allowed: {unexplained:#?}\n\
         allowlist entries that match nothing (remove them): {stale:#?}"
    );
}

/// A glob where `*` matches any text (including none).
fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn compare(reference: &Value, ours: &Value) -> Vec<String> {
    let mut out = vec![];
    let paths = |doc: &Value| doc["paths"].as_object().cloned().unwrap_or_default();
    let (ref_paths, our_paths) = (paths(reference), paths(ours));
    for (path, item) in &ref_paths {
        for method in METHODS {
            let Some(original) = item.get(method) else {
                continue;
            };
            let at = format!("{} {path}", method.to_uppercase());
            match our_paths.get(path).and_then(|i| i.get(method)) {
                None => out.push(format!("{at}: missing operation")),
                Some(op) => compare_operation(&at, original, op, &mut out),
            }
        }
    }
    for (path, item) in &our_paths {
        for method in METHODS {
            let original = ref_paths.get(path).and_then(|i| i.get(method));
            if item.get(method).is_some() && original.is_none() {
                out.push(format!("{} {path}: extra operation", method.to_uppercase()));
            }
        }
    }
    let schemas = |doc: &Value| {
        doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    let (ref_schemas, our_schemas) = (schemas(reference), schemas(ours));
    for (name, original) in &ref_schemas {
        match our_schemas.get(name) {
            None => out.push(format!("schema {name}: missing")),
            Some(schema) => compare_schema(&format!("schema {name}"), original, schema, &mut out),
        }
    }
    for name in our_schemas.keys() {
        if !ref_schemas.contains_key(name) {
            out.push(format!("schema {name}: extra component"));
        }
    }
    out
}

fn compare_operation(at: &str, original: &Value, ours: &Value, out: &mut Vec<String>) {
    for key in ["operationId", "tags"] {
        if original.get(key) != ours.get(key) {
            out.push(format!(
                "{at}: {key} is {} (original {})",
                show(ours.get(key)),
                show(original.get(key))
            ));
        }
    }
    let params = |op: &Value| -> Vec<(String, Value)> {
        op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            format!(
                                "{} {}",
                                p["in"].as_str().unwrap_or("?"),
                                p["name"].as_str().unwrap_or("?")
                            ),
                            p.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ref_params, our_params) = (params(original), params(ours));
    for (key, param) in &ref_params {
        let Some((_, mine)) = our_params.iter().find(|(k, _)| k == key) else {
            out.push(format!("{at}: missing parameter {key}"));
            continue;
        };
        let required = |p: &Value| p["required"].as_bool().unwrap_or(false);
        if required(param) != required(mine) {
            out.push(format!(
                "{at}: parameter {key} required is {} (original {})",
                required(mine),
                required(param)
            ));
        }
        compare_schema(
            &format!("{at}: parameter {key}"),
            &param["schema"],
            &mine["schema"],
            out,
        );
    }
    for (key, param) in &our_params {
        if !ref_params.iter().any(|(k, _)| k == key) {
            let required = if param["required"] == true {
                " (required)"
            } else {
                ""
            };
            out.push(format!("{at}: extra parameter {key}{required}"));
        }
    }
    let body = |op: &Value| op.get("requestBody").cloned();
    match (body(original), body(ours)) {
        (None, None) => {}
        (Some(_), None) => out.push(format!("{at}: missing request body")),
        (None, Some(_)) => out.push(format!("{at}: extra request body")),
        (Some(a), Some(b)) => {
            if a["required"].as_bool().unwrap_or(false) != b["required"].as_bool().unwrap_or(false)
            {
                out.push(format!("{at}: request body required differs"));
            }
            compare_content(&format!("{at}: request body"), &a, &b, out);
        }
    }
    let responses = |op: &Value| op["responses"].as_object().cloned().unwrap_or_default();
    let (ref_responses, our_responses) = (responses(original), responses(ours));
    for (status, response) in &ref_responses {
        match our_responses.get(status) {
            None => out.push(format!("{at}: missing response {status}")),
            Some(mine) => compare_content(&format!("{at}: response {status}"), response, mine, out),
        }
    }
    for status in our_responses.keys() {
        if !ref_responses.contains_key(status) {
            out.push(format!("{at}: extra response {status}"));
        }
    }
}

/// The media types of a response or request body and their schemas.
fn compare_content(at: &str, original: &Value, ours: &Value, out: &mut Vec<String>) {
    let content = |v: &Value| v["content"].as_object().cloned().unwrap_or_default();
    let (ref_content, our_content) = (content(original), content(ours));
    // A body the original left untyped (`{}`, FastAPI's default for a handler without a
    // response model) promises nothing: ours may say what it is, in its real media type.
    if let [(media, entry)] = ref_content.iter().collect::<Vec<_>>()[..] {
        if entry["schema"] == Value::Object(Map::new()) && !our_content.contains_key(media) {
            let ours: Vec<&String> = our_content.keys().collect();
            out.push(format!(
                "{at}: the original's untyped {media} body is documented as {ours:?}"
            ));
            return;
        }
    }
    for (media, entry) in &ref_content {
        match our_content.get(media) {
            None => out.push(format!("{at}: missing media type {media}")),
            Some(mine) => compare_schema(
                &format!("{at} {media}"),
                &entry["schema"],
                &mine["schema"],
                out,
            ),
        }
    }
    for media in our_content.keys() {
        if !ref_content.contains_key(media) {
            out.push(format!("{at}: extra media type {media}"));
        }
    }
}

/// Splits `anyOf: [X, {type: null}]` and `type: [X, "null"]` into (X, nullable).
fn nullable(schema: &Value) -> (Value, bool) {
    if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
        let is_null = |b: &Value| b.get("type") == Some(&Value::from("null"));
        if branches.len() == 2 && branches.iter().filter(|b| is_null(b)).count() == 1 {
            let inner = branches.iter().find(|b| !is_null(b)).cloned().unwrap();
            // Keywords beside `anyOf` (default, readOnly) belong to the whole.
            let mut merged = schema.as_object().cloned().unwrap_or_default();
            merged.remove("anyOf");
            if let Some(inner) = inner.as_object() {
                for (k, v) in inner {
                    merged.insert(k.clone(), v.clone());
                }
            }
            return (Value::Object(merged), true);
        }
    }
    if let Some(types) = schema.get("type").and_then(Value::as_array) {
        if types.iter().any(|t| t == "null") {
            let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
            let mut merged = schema.as_object().cloned().unwrap_or_default();
            merged.insert(
                "type".into(),
                if rest.len() == 1 {
                    rest[0].clone()
                } else {
                    Value::Array(rest)
                },
            );
            return (Value::Object(merged), true);
        }
    }
    (schema.clone(), false)
}

/// Keywords that change generated types or validators. (`title`, `description` and examples
/// do not.)
const KEYWORDS: [&str; 16] = [
    "$ref",
    "type",
    "format",
    "enum",
    "const",
    "default",
    "readOnly",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
];

fn compare_schema(at: &str, original: &Value, ours: &Value, out: &mut Vec<String>) {
    if original == &Value::Object(Map::new()) {
        if ours != original {
            out.push(format!("{at}: the original's untyped body is typed"));
        }
        return;
    }
    let (original, ref_nullable) = nullable(original);
    let (ours, our_nullable) = nullable(ours);
    // A union that keeps the original's schema as one branch: more shapes, none taken away.
    if let (Some(reference), Some(branches)) = (
        original.get("$ref"),
        ours.get("anyOf").and_then(Value::as_array),
    ) {
        if !our_nullable && branches.iter().any(|b| b.get("$ref") == Some(reference)) {
            let others: Vec<&str> = branches
                .iter()
                .filter_map(|b| b.get("$ref").and_then(Value::as_str))
                .filter(|r| Some(*r) != reference.as_str())
                .map(|r| r.trim_start_matches("#/components/schemas/"))
                .collect();
            out.push(format!("{at}: also documents {}", others.join(", ")));
            return;
        }
    }
    if ref_nullable != our_nullable {
        out.push(format!(
            "{at}: nullable is {our_nullable} (original {ref_nullable})"
        ));
    }
    for key in KEYWORDS {
        let (a, b) = (original.get(key), ours.get(key));
        let same = match (a, b) {
            (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
            _ => a == b,
        };
        if !same {
            out.push(format!("{at}: {key} is {} (original {})", show(b), show(a)));
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        match (original.get(key), ours.get(key)) {
            (None, None) => {}
            (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    compare_schema(&format!("{at} {key}[{i}]"), x, y, out);
                }
            }
            (a, b) => out.push(format!("{at}: {key} is {} (original {})", show(b), show(a))),
        }
    }
    match (original.get("items"), ours.get("items")) {
        (None, None) => {}
        (Some(a), Some(b)) => compare_schema(&format!("{at}[]"), a, b, out),
        (a, b) => out.push(format!("{at}: items is {} (original {})", show(b), show(a))),
    }
    match (
        original.get("additionalProperties"),
        ours.get("additionalProperties"),
    ) {
        (Some(a), Some(b)) if a.is_object() && b.is_object() => {
            compare_schema(&format!("{at}{{}}"), a, b, out)
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!(
            "{at}: additionalProperties is {} (original {})",
            show(b),
            show(a)
        )),
    }
    let properties = |s: &Value| s["properties"].as_object().cloned().unwrap_or_default();
    let required = |s: &Value| -> BTreeSet<String> {
        s["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ref_props, our_props) = (properties(&original), properties(&ours));
    let (ref_required, our_required) = (required(&original), required(&ours));
    for (name, property) in &ref_props {
        match our_props.get(name) {
            None => out.push(format!("{at}.{name}: missing property")),
            Some(mine) => {
                compare_schema(&format!("{at}.{name}"), property, mine, out);
                let (a, b) = (ref_required.contains(name), our_required.contains(name));
                if a != b {
                    out.push(format!("{at}.{name}: required is {b} (original {a})"));
                }
            }
        }
    }
    for name in our_props.keys() {
        if !ref_props.contains_key(name) {
            let required = if our_required.contains(name) {
                " (required)"
            } else {
                ""
            };
            out.push(format!("{at}.{name}: extra property{required}"));
        }
    }
    for name in our_required.difference(&ref_required) {
        if !our_props.contains_key(name) && !ref_props.contains_key(name) {
            out.push(format!("{at}: requires {name}, which it does not list"));
        }
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "absent".into(),
        Some(v) => v.to_string(),
    }
}

#[test]
fn the_glob_matches_as_documented() {
    assert!(matches(
        "* extra response 429",
        "GET /v1/x: extra response 429"
    ));
    assert!(matches("GET /v1/x: *", "GET /v1/x: extra response 429"));
    assert!(matches("a*b*c", "a-b-c"));
    assert!(!matches("a*b*c", "a-b-cd"));
    assert!(!matches("GET /v1/x: *", "POST /v1/x: extra response 429"));
    assert!(matches("exact", "exact"));
    assert!(!matches("exact", "exactly"));
}
