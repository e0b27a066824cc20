//! The document: every operation and its parameters, read from `/openapi.json`.

use super::*;

#[derive(Clone, Debug)]
pub(super) struct Param {
    pub(super) name: String,
    /// `path`, `query` or `header`.
    pub(super) location: String,
    pub(super) schema: Value,
}

#[derive(Clone, Debug)]
pub(super) struct Operation {
    pub(super) id: String,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) params: Vec<Param>,
    pub(super) body: Option<Value>,
    pub(super) secured: bool,
}

pub(super) fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let params: Vec<Param> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| Param {
                            name: p["name"].as_str().unwrap().to_string(),
                            location: p["in"].as_str().unwrap().to_string(),
                            schema: p["schema"].clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut params = params;
            params.extend(unlisted(method, path, op));
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            out.push(Operation {
                id: id.to_string(),
                method: method.to_uppercase(),
                path: path.clone(),
                params,
                body: (!body.is_null()).then_some(body),
                secured: op["security"].as_array().is_some_and(|s| !s.is_empty()),
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Parameters the server reads that the document describes in prose only (listing them would
/// change the signatures of clients generated from the original's operations): fuzzed too.
pub(super) fn unlisted(method: &str, path: &str, op: &Value) -> Vec<Param> {
    let param = |name: &str, location: &str, schema: Value| Param {
        name: name.into(),
        location: location.into(),
        schema,
    };
    let mut out = vec![];
    if op["responses"]["304"].is_object() {
        out.push(param("If-None-Match", "header", json!({"type": "string"})));
    }
    match (method, path) {
        ("get", "/v1/stream") => {
            out.push(param("tournament", "query", json!({"type": "string"})));
            let id = json!({"type": "integer", "minimum": 0});
            out.push(param("last_event_id", "query", id));
            out.push(param("Last-Event-ID", "header", json!({"type": "string"})));
        }
        ("get", "/v1/tournaments/{tournament_slug}/standings") => {
            let at = json!({"type": "string", "format": "date-time"});
            out.push(param("as_of", "query", at));
        }
        _ => {}
    }
    out
}
