//! The OpenAPI 3.1 document (`GET /openapi.json`) and the interactive docs (`GET /docs`).
//!
//! **Identity with the original.** Front-ends generate their client from the original
//! service's document (orval: hooks named after `operationId`s, files split by tag, types named
//! after component schemas, zod validators). Every operation of the original therefore keeps
//! its path template, `operationId` (FastAPI's `{name}{path}_{method}`, see [`Op::id`]), tags,
//! parameters, schema names, `required` lists and nullability, spelled as pydantic spells them
//! (`anyOf: [X, {"type": "null"}]`, no integer formats). What we add is additive: operations of
//! their own with tags of their own, optional properties, documented statuses, components.
//! `tests/identity.rs` compares the whole document with the original's
//! (`tests/reference/seed-openapi.json`); `docs/compatibility.md` lists the additions.
//!
//! **How the document is built.** Handlers stay plain axum handlers (they return `Response`s
//! with the contract's caching and ETags, and parse queries themselves for the contract's 422s),
//! so aide's `ApiRouter` could infer neither their response bodies nor their query bounds. The
//! document is instead a *route table* (`reads.rs`, `writes.rs`) written with [`Doc`], using
//! aide's OpenAPI types and schemas that `schemars` generates from the **real response types**
//! (each derives `JsonSchema` where it is defined). Nothing is hand-copied except the closed
//! string sets and error bodies in [`shapes`], and `/v1/stream` (served outside axum).
//!
//! What keeps it honest: `tests/identity.rs` (above), and `tests/edge.rs`: every documented
//! path and method is answered by the real router (no 404/405), every route of the contract's
//! table is documented, and every documented read's real response validates against its schema
//! (field names, nullability, no undocumented fields, datetimes as pydantic writes them); the
//! contract and write tests validate every response they receive the same way.
//!
//! **Adding a route**: describe it in `reads.rs` (or `writes.rs`) with the handler's own types:
//! ```ignore
//! doc.get("/v1/tournaments/{tournament_slug}/things", |op| {
//!     op.id("list_things").tag("things").summary("...")
//!         .query("limit", "Rows, newest first.", int_in(1, 200, 50))
//!         .json::<ListEnvelope<ThingRead>>(200, "The things.")
//!         .conditional("public, s-maxage=15, max-age=0, must-revalidate")
//!         .error(404, "Tournament not found");
//! });
//! ```
//! Path parameters (`{tournament_slug}`, `{team_id}`, ...) are added from the template, with
//! the 400 axum answers for a segment that is not UTF-8; 429 is added to every rate-limited
//! route. A response field the original does not have is optional
//! in the document: `#[schemars(transform = optional(&["field"]))]` on its type.

mod reads;
pub mod shapes;
mod ui;
pub mod writes;

use std::sync::OnceLock;

use aide::openapi::{
    Components, Header, Info, MediaType, OpenApi, Operation, Parameter, ParameterData,
    ParameterSchemaOrContent, PathItem, Paths, ReferenceOr, RequestBody, Response, Responses,
    SchemaObject, SecurityRequirement, SecurityScheme, StatusCode, Tag,
};
use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::transform::{RecursiveTransform, Transform};
use schemars::{json_schema, JsonSchema, Schema};
use serde_json::Value;

use crate::AppState;

pub use ui::SCALAR_VERSION;
pub use writes::{document_writes, WriteRoute, WRITE_ROUTES};

pub const TITLE: &str = "AoE2 Live Standings API";
/// The contract's version of the API (not the crate's).
pub const VERSION: &str = "0.0.1";
pub const DESCRIPTION: &str = "Live standings, matches, live lobbies and nudges for Age of \
Empires II: Definitive Edition tournaments.\n\n\
Reads are public. Writes need a `criticalbit_access` JWT (cookie, or `Authorization: Bearer`). \
Errors are `{\"detail\": ...}`; rate limits answer 429 `{\"error\": \"Rate limit exceeded: <N> \
per 1 minute\"}` with `Retry-After`. Datetimes are UTC ISO-8601 with `Z` (fraction digits only \
when the microseconds are not zero). Reads answer `If-None-Match` with 304 when their `ETag` \
is current.\n\n\
**Game Content Usage Rules.** Age of Empires II: Definitive Edition © Microsoft Corporation. \
This service was created under Microsoft's \"Game Content Usage Rules\" \
(https://www.xbox.com/en-US/developers/rules) using data from Age of Empires II: Definitive \
Edition, and it is not endorsed by or affiliated with Microsoft.";

/// The whole document: reads, the stream, and the write routes of [`document_writes`].
pub fn document() -> OpenApi {
    let mut doc = Doc::new();
    reads::document_reads(&mut doc);
    document_writes(&mut doc);
    doc.finish()
}

/// The serialized document, built once per process.
pub fn document_json() -> &'static Bytes {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    JSON.get_or_init(|| {
        let json = serde_json::to_vec(&document()).expect("the OpenAPI document serializes");
        Bytes::from(json)
    })
}

/// `GET /openapi.json`, `GET /docs` and the docs' assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .merge(ui::router())
}

async fn openapi_json() -> axum::response::Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        document_json().clone(),
    )
        .into_response()
}

/// `#[schemars(transform = optional(&["field", ...]))]` on a response type: these fields are
/// not `required` in the document although the server always sends them. For fields the
/// original's schema has as optional (pydantic fields with a default) and fields we added to
/// one of its schemas: clients' typed fixtures written for the original must still compile.
pub fn optional(fields: &'static [&'static str]) -> impl FnMut(&mut Schema) {
    move |schema: &mut Schema| {
        for field in fields {
            assert!(
                schema
                    .get("properties")
                    .and_then(|p| p.get(*field))
                    .is_some(),
                "optional(): `{field}` is not a property of {schema:?}"
            );
        }
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|name| !fields.iter().any(|f| name == *f));
        }
    }
}

/// One schema node spelled as pydantic v2 spells it, so that generated code matches the
/// original's: a nullable value is `anyOf: [X, {"type": "null"}]` (annotations beside it, as
/// pydantic puts `title`, `default` and `description`), and integers and numbers carry no
/// `format` (schemars' `int64`, `uint`, `double`; `uint`'s implied `minimum: 0` goes too).
fn pydantic_spelling(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let numeric = |t: &Value| t == "integer" || t == "number";
    let is_numeric = match object.get("type") {
        Some(Value::Array(types)) => types.iter().any(numeric),
        Some(t) => numeric(t),
        None => false,
    };
    if is_numeric {
        if let Some(Value::String(format)) = object.remove("format") {
            if format.starts_with("uint") && object.get("minimum") == Some(&Value::from(0)) {
                object.remove("minimum");
            }
        }
    }
    let Some(Value::Array(types)) = object.get("type") else {
        return;
    };
    if types.len() != 2 || !types.iter().any(|t| t == "null") {
        return;
    }
    let Some(inner_type) = types.iter().find(|t| *t != "null").cloned() else {
        return;
    };
    const ANNOTATIONS: [&str; 5] = ["title", "description", "default", "readOnly", "examples"];
    let mut inner = serde_json::Map::new();
    let keys: Vec<String> = object.keys().cloned().collect();
    for key in keys {
        if !ANNOTATIONS.contains(&key.as_str()) && !key.starts_with("x-") {
            if let Some(value) = object.remove(&key) {
                inner.insert(key, value);
            }
        }
    }
    inner.insert("type".into(), inner_type);
    object.insert(
        "anyOf".into(),
        Value::Array(vec![
            Value::Object(inner),
            json_schema!({"type": "null"}).into(),
        ]),
    );
}

/// The same spelling for a schema written by hand or inlined by `subschema_for`.
fn spelled(mut schema: Schema) -> Schema {
    RecursiveTransform(pydantic_spelling).transform(&mut schema);
    schema
}

/// The document being written: paths, plus one schema generator for responses (what the
/// server serializes: every non-skipped field is present) and one for request bodies (what it
/// deserializes: `Option` fields may be left out).
pub struct Doc {
    api: OpenApi,
    responses: SchemaGenerator,
    requests: SchemaGenerator,
}

fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = "#/components/schemas/".into();
            s.meta_schema = None;
        })
        .with_transform(RecursiveTransform(pydantic_spelling))
        .into_generator()
}

impl Default for Doc {
    fn default() -> Self {
        Doc::new()
    }
}

impl Doc {
    pub fn new() -> Doc {
        let api = OpenApi {
            info: Info {
                title: TITLE.into(),
                version: VERSION.into(),
                description: Some(DESCRIPTION.into()),
                ..Info::default()
            },
            ..OpenApi::default()
        };
        Doc {
            api,
            responses: generator(SchemaSettings::draft2020_12().for_serialize()),
            requests: generator(SchemaSettings::draft2020_12().for_deserialize()),
        }
    }

    pub fn get(&mut self, path: &str, describe: impl FnOnce(&mut Op<'_>)) {
        self.operation("get", path, describe);
    }

    pub fn post(&mut self, path: &str, describe: impl FnOnce(&mut Op<'_>)) {
        self.operation("post", path, describe);
    }

    pub fn patch(&mut self, path: &str, describe: impl FnOnce(&mut Op<'_>)) {
        self.operation("patch", path, describe);
    }

    pub fn delete(&mut self, path: &str, describe: impl FnOnce(&mut Op<'_>)) {
        self.operation("delete", path, describe);
    }

    /// Describes `method path`. Panics (caught by the tests) on a duplicate.
    pub fn operation(&mut self, method: &str, path: &str, describe: impl FnOnce(&mut Op<'_>)) {
        let mut op = Op {
            doc: self,
            operation: Operation::default(),
            method: method.to_string(),
            path: path.to_string(),
            cache: None,
        };
        for name in path_params(path) {
            op.operation
                .parameters
                .push(ReferenceOr::Item(path_param(name)));
        }
        if !path_params(path).is_empty() {
            // axum's path extractor refuses it before any handler (`middleware.rs` makes it JSON).
            op.error(
                400,
                "A path segment that is not UTF-8 (`Invalid URL: ...`).",
            );
        }
        describe(&mut op);
        if !crate::ratelimit::is_exempt(path) {
            op.rate_limited();
        }
        let operation = op.finish();
        let paths = self.api.paths.get_or_insert_with(Paths::default);
        let item = paths
            .paths
            .entry(path.to_string())
            .or_insert_with(|| ReferenceOr::Item(PathItem::default()));
        let ReferenceOr::Item(item) = item else {
            unreachable!("paths are inline")
        };
        let slot = match method {
            "get" => &mut item.get,
            "post" => &mut item.post,
            "patch" => &mut item.patch,
            "put" => &mut item.put,
            "delete" => &mut item.delete,
            other => panic!("unsupported method {other}"),
        };
        assert!(slot.is_none(), "{method} {path} is documented twice");
        *slot = Some(operation);
    }

    /// The finished document: schemas moved into `components`, tags and auth schemes listed.
    pub fn finish(mut self) -> OpenApi {
        let mut components = Components::default();
        for (generator, suffix) in [(&mut self.responses, ""), (&mut self.requests, "Input")] {
            for (name, schema) in generator.take_definitions(true) {
                let schema = Schema::try_from(schema).expect("definitions are schemas");
                let object = SchemaObject {
                    json_schema: schema,
                    external_docs: None,
                    example: None,
                };
                match components.schemas.get(&name) {
                    Some(existing) if existing.json_schema != object.json_schema => {
                        // A type used in both directions with different schemas.
                        let renamed = format!("{name}{suffix}");
                        assert!(!components.schemas.contains_key(&renamed), "{renamed}");
                        components.schemas.insert(renamed, object);
                    }
                    _ => {
                        components.schemas.insert(name, object);
                    }
                }
            }
        }
        components.schemas.sort_keys();
        components.security_schemes.insert(
            "cookieAuth".into(),
            ReferenceOr::Item(SecurityScheme::ApiKey {
                location: aide::openapi::ApiKeyLocation::Cookie,
                name: auth::COOKIE.into(),
                description: Some("The criticalbit-auth session JWT (RS256).".into()),
                extensions: Default::default(),
            }),
        );
        components.security_schemes.insert(
            "bearerAuth".into(),
            ReferenceOr::Item(SecurityScheme::Http {
                scheme: "bearer".into(),
                bearer_format: Some("JWT".into()),
                description: Some("The same JWT as an `Authorization: Bearer` header.".into()),
                extensions: Default::default(),
            }),
        );
        self.api.components = Some(components);
        self.api.tags = TAGS
            .iter()
            .map(|(name, description)| Tag {
                name: (*name).into(),
                description: Some((*description).into()),
                ..Tag::default()
            })
            .collect();
        self.api
    }
}

/// The original's tags (orval splits generated files by tag), then ours for what we added.
const TAGS: [(&str, &str); 15] = [
    ("tournaments", "Tournaments, their standings and insights."),
    ("players", "The roster with polled identities and ratings."),
    ("teams", "Teams of a tournament (owner writes)."),
    ("owners", "Who may edit a tournament (owner only)."),
    ("matches", "Finished games of rostered players."),
    (
        "live",
        "Open lobbies and games in progress of rostered players.",
    ),
    ("leaderboards", "Ladders as the game reports them."),
    ("civilizations", "Civilizations as the game reports them."),
    ("me", "The authenticated caller."),
    ("stream", "Server-sent nudges: refetch when told."),
    ("features", "Feature flags."),
    (
        "audit",
        "Ours: who changed what and when, and the standings at a past instant.",
    ),
    (
        "chat text",
        "Ours: one line of plain text for chat bots (Nightbot / StreamElements `urlfetch`).",
    ),
    (
        "infra",
        "Ours: metrics and the security contact (unversioned, not rate limited).",
    ),
    (
        "webhooks",
        "Ours: webhook and Discord subscriptions to a tournament's notifications (owner only).",
    ),
];

/// `{name}` segments of a path template, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// Path parameters have one meaning everywhere, and the original's names and schemas.
fn path_param(name: &str) -> Parameter {
    let (schema, description) = match name {
        "tournament_slug" => (
            json_schema!({"type": "string"}),
            "Tournament slug. On reads, `current` names the latest started tournament (else the \
             newest created).",
        ),
        "match_id" => (json_schema!({"type": "integer"}), "Upstream match id."),
        "tournament_player_id" => (json_schema!({"type": "integer"}), "Roster entry id."),
        "team_id" => (json_schema!({"type": "integer"}), "Team id."),
        "user_id" => (
            json_schema!({"type": "string"}),
            "User id (the JWT `sub`, a UUID).",
        ),
        "webhook_id" => (
            json_schema!({"type": "string"}),
            "Webhook subscription id (a UUID).",
        ),
        other => panic!(
            "path parameter {{{other}}} has no description in openapi::path_param (the \
             original names a tournament `{{tournament_slug}}`)"
        ),
    };
    Parameter::Path {
        parameter_data: parameter_data(name, description, schema, true),
        style: Default::default(),
    }
}

fn parameter_data(name: &str, description: &str, schema: Schema, required: bool) -> ParameterData {
    ParameterData {
        name: name.into(),
        description: Some(description.into()),
        required,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(schema_object(spelled(schema))),
        example: None,
        examples: Default::default(),
        explode: None,
        extensions: Default::default(),
    }
}

fn schema_object(schema: Schema) -> SchemaObject {
    SchemaObject {
        json_schema: schema,
        external_docs: None,
        example: None,
    }
}

fn content(media_type: &str, schema: Schema) -> indexmap::IndexMap<String, MediaType> {
    let mut content = indexmap::IndexMap::new();
    content.insert(
        media_type.to_string(),
        MediaType {
            schema: Some(schema_object(spelled(schema))),
            ..MediaType::default()
        },
    );
    content
}

/// An integer query parameter within `min..=max`, `default` when absent (422 outside).
pub fn int_in(min: i64, max: i64, default: i64) -> Schema {
    json_schema!({"type": "integer", "minimum": min, "maximum": max, "default": default})
}

/// An optional integer query parameter (`null` in the schema, as the original's
/// `int | None = None`).
pub fn int_or_null() -> Schema {
    json_schema!({"anyOf": [{"type": "integer"}, {"type": "null"}]})
}

/// Error bodies a status may carry (see [`Op::errors`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorBody {
    /// `{"detail": [ValidationError, ...]}` (`HTTPValidationError`).
    Validation,
    /// `{"detail": "..."}` (`HTTPError`).
    Detail,
    /// The contract's v1 envelope of `Idempotency-Key` errors (`IdempotencyError`).
    Envelope,
}

/// One operation being described (see [`Doc::get`]).
pub struct Op<'a> {
    doc: &'a mut Doc,
    operation: Operation,
    method: String,
    path: String,
    cache: Option<&'static str>,
}

impl Op<'_> {
    /// The `operationId`, as FastAPI generated the original's (client generators name hooks
    /// and functions after it): `{name}{path}_{method}` with every non-word character of the
    /// path replaced by `_`, e.g. `get_standings` on `GET /v1/tournaments/{tournament_slug}/
    /// standings` → `get_standings_v1_tournaments__tournament_slug__standings_get`.
    pub fn id(&mut self, name: &str) -> &mut Self {
        let path: String = self
            .path
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.operation.operation_id = Some(format!("{name}{path}_{}", self.method));
        self
    }

    pub fn tag(&mut self, tag: &str) -> &mut Self {
        self.operation.tags.push(tag.into());
        self
    }

    pub fn summary(&mut self, summary: &str) -> &mut Self {
        self.operation.summary = Some(summary.into());
        self
    }

    pub fn description(&mut self, description: &str) -> &mut Self {
        self.operation.description = Some(description.into());
        self
    }

    /// A query parameter (`required`: 422 when absent).
    pub fn query(&mut self, name: &str, description: &str, schema: Schema) -> &mut Self {
        self.query_param(name, description, schema, false)
    }

    pub fn required_query(&mut self, name: &str, description: &str, schema: Schema) -> &mut Self {
        self.query_param(name, description, schema, true)
    }

    fn query_param(
        &mut self,
        name: &str,
        description: &str,
        schema: Schema,
        required: bool,
    ) -> &mut Self {
        self.operation
            .parameters
            .push(ReferenceOr::Item(Parameter::Query {
                parameter_data: parameter_data(name, description, schema, required),
                allow_reserved: false,
                style: Default::default(),
                allow_empty_value: None,
            }));
        self
    }

    /// A JSON response whose body is `T` as the server serializes it.
    pub fn json<T: JsonSchema>(&mut self, status: u16, description: &str) -> &mut Self {
        let schema = self.doc.responses.subschema_for::<T>();
        self.json_schema(status, description, schema)
    }

    /// A JSON response with a schema written by hand.
    pub fn json_schema(&mut self, status: u16, description: &str, schema: Schema) -> &mut Self {
        self.content(status, description, "application/json", schema)
    }

    /// A response with a body of `media_type` (`text/plain`, `text/event-stream`, ...).
    pub fn content(
        &mut self,
        status: u16,
        description: &str,
        media_type: &str,
        schema: Schema,
    ) -> &mut Self {
        self.response(
            status,
            Response {
                description: description.into(),
                content: content(media_type, schema),
                ..Response::default()
            },
        )
    }

    /// A response without a body (204, 304).
    pub fn empty(&mut self, status: u16, description: &str) -> &mut Self {
        self.response(
            status,
            Response {
                description: description.into(),
                ..Response::default()
            },
        )
    }

    /// An error response in the contract's shape for `status` (422: the validation list as
    /// the original documents it, 429: the rate-limit body, anything else `{"detail": "..."}`).
    pub fn error(&mut self, status: u16, description: &str) -> &mut Self {
        let body = if status == 422 {
            ErrorBody::Validation
        } else {
            ErrorBody::Detail
        };
        self.errors(status, description, &[body])
    }

    /// An error response whose body is one of `bodies` (the first is the original's).
    pub fn errors(&mut self, status: u16, description: &str, bodies: &[ErrorBody]) -> &mut Self {
        let mut schemas: Vec<Value> = bodies
            .iter()
            .map(|body| {
                let schema = match body {
                    ErrorBody::Validation => self
                        .doc
                        .responses
                        .subschema_for::<shapes::HTTPValidationError>(),
                    ErrorBody::Detail => self.doc.responses.subschema_for::<shapes::Detail>(),
                    ErrorBody::Envelope => self
                        .doc
                        .responses
                        .subschema_for::<shapes::IdempotencyError>(),
                };
                schema.into()
            })
            .collect();
        let schema = match schemas.len() {
            1 => Schema::try_from(schemas.remove(0)).expect("a subschema is a schema"),
            _ => json_schema!({"anyOf": schemas}),
        };
        self.json_schema(status, description, schema)
    }

    /// A JSON request body of type `T` as the server deserializes it.
    pub fn body<T: JsonSchema>(&mut self, description: &str) -> &mut Self {
        let schema = self.doc.requests.subschema_for::<T>();
        self.operation.request_body = Some(ReferenceOr::Item(RequestBody {
            description: Some(description.into()),
            content: content("application/json", schema),
            required: true,
            extensions: Default::default(),
        }));
        self
    }

    /// Needs the auth cookie or a bearer token; 401 without a valid one.
    pub fn authenticated(&mut self) -> &mut Self {
        for scheme in ["cookieAuth", "bearerAuth"] {
            let mut requirement = SecurityRequirement::new();
            requirement.insert(scheme.into(), Vec::new());
            self.operation.security.push(requirement);
        }
        self.error(401, "`Not authenticated` (no token) or `Invalid token`.")
    }

    /// A read answered from a serialized body with a strong `ETag`: `If-None-Match` → 304.
    /// `cache` is the 200's `Cache-Control`. (`If-None-Match` is not listed as a parameter:
    /// it would change the original's generated signatures; browsers send it themselves.)
    pub fn conditional(&mut self, cache: &'static str) -> &mut Self {
        self.cache = Some(cache);
        self.empty(
            304,
            "Not modified: the request's `If-None-Match` names the current `ETag`.",
        )
    }

    /// The 200's `Cache-Control` without conditional requests.
    pub fn cache(&mut self, cache: &'static str) -> &mut Self {
        self.cache = Some(cache);
        self
    }

    fn rate_limited(&mut self) {
        let mut response = Response {
            description: "Rate limit exceeded for this client and route.".into(),
            content: content(
                "application/json",
                self.doc.responses.subschema_for::<shapes::RateLimited>(),
            ),
            ..Response::default()
        };
        response.headers.insert(
            "Retry-After".into(),
            ReferenceOr::Item(header_object(
                "Seconds until the window resets.",
                json_schema!({"type": "integer"}),
            )),
        );
        self.response(429, response);
    }

    fn response(&mut self, status: u16, response: Response) -> &mut Self {
        let responses = self
            .operation
            .responses
            .get_or_insert_with(Responses::default);
        responses
            .responses
            .insert(StatusCode::Code(status), ReferenceOr::Item(response));
        self
    }

    fn finish(mut self) -> Operation {
        assert!(
            self.operation.operation_id.is_some(),
            "{} has no operation id",
            self.path
        );
        if let Some(cache) = self.cache {
            let success = self
                .operation
                .responses
                .as_mut()
                .and_then(|r| r.responses.get_mut(&StatusCode::Code(200)));
            if let Some(ReferenceOr::Item(success)) = success {
                let mut header = header_object(
                    "Caching policy of this response.",
                    json_schema!({"type": "string"}),
                );
                header.example = Some(cache.into());
                success
                    .headers
                    .insert("Cache-Control".into(), ReferenceOr::Item(header));
            }
        }
        if let Some(responses) = self.operation.responses.as_mut() {
            responses.responses.sort_keys();
        }
        self.operation
    }
}

fn header_object(description: &str, schema: Schema) -> Header {
    Header {
        description: Some(description.into()),
        style: Default::default(),
        required: false,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(schema_object(schema)),
        example: None,
        examples: Default::default(),
        extensions: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_builds_and_names_the_contract() {
        let api = document();
        assert_eq!(api.info.title, TITLE);
        assert_eq!(api.info.version, "0.0.1");
        assert!(DESCRIPTION.contains("Game Content Usage Rules"));
        let json = serde_json::to_value(&api).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        // `OPENAPI_DUMP=path cargo test -p api --lib openapi` writes the document (for
        // front-ends generating clients without running a server).
        if let Ok(path) = std::env::var("OPENAPI_DUMP") {
            std::fs::write(path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        }
    }

    #[test]
    fn path_params_come_from_the_template() {
        assert_eq!(
            path_params("/v1/tournaments/{tournament_slug}/players/{tournament_player_id}"),
            ["tournament_slug", "tournament_player_id"]
        );
        assert!(path_params("/health").is_empty());
    }

    #[test]
    fn operation_ids_are_fastapis() {
        let mut doc = Doc::new();
        let mut ids = vec![];
        for (method, path, name) in [
            ("get", "/", "root"),
            ("get", "/health", "health_check"),
            (
                "get",
                "/v1/tournaments/{tournament_slug}/civ-stats",
                "get_civ_stats",
            ),
            (
                "delete",
                "/v1/tournaments/{tournament_slug}",
                "delete_tournament",
            ),
        ] {
            doc.operation(method, path, |op| {
                op.id(name);
                ids.push(op.operation.operation_id.clone().unwrap());
            });
        }
        assert_eq!(
            ids,
            [
                "root__get",
                "health_check_health_get",
                "get_civ_stats_v1_tournaments__tournament_slug__civ_stats_get",
                "delete_tournament_v1_tournaments__tournament_slug__delete",
            ]
        );
    }

    #[test]
    fn nullable_values_are_spelled_as_pydantic_spells_them() {
        let schema = spelled(json_schema!({
            "type": ["string", "null"], "format": "date-time", "description": "When."
        }));
        assert_eq!(
            Value::from(schema),
            serde_json::json!({
                "description": "When.",
                "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]
            })
        );
        let schema = spelled(json_schema!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "format": "int64"},
                "position": {"type": "integer", "format": "uint", "minimum": 0},
                "cents": {"type": ["integer", "null"], "format": "int64", "minimum": 0}
            }
        }));
        assert_eq!(
            Value::from(schema)["properties"],
            serde_json::json!({
                "n": {"type": "integer"},
                "position": {"type": "integer"},
                "cents": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}
            })
        );
    }
}
