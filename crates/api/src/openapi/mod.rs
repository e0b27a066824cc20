//! The OpenAPI 3.1 document (`GET /openapi.json`) and the interactive docs (`GET /docs`).
//!
//! **How the document is built.** Handlers stay plain axum handlers (they return `Response`s
//! with the contract's caching and ETags, and parse queries themselves for the contract's 422s),
//! so aide's `ApiRouter` could infer neither their response bodies nor their query bounds. The
//! document is instead a *route table* (`reads.rs`, `writes.rs`) written with [`Doc`], using
//! aide's OpenAPI types and schemas that `schemars` generates from the **real response types**
//! (each derives `JsonSchema` where it is defined). Nothing is hand-copied except the closed
//! string sets and error bodies in [`shapes`], and `/v1/stream` (served outside axum).
//!
//! What keeps it honest (`tests/openapi.rs`): every documented path and method is answered by
//! the real router (no 404/405), every route of the contract's table is documented, and every
//! documented read's real response validates against its schema (field names, nullability,
//! no undocumented fields).
//!
//! **Adding a route**: describe it in `reads.rs` (or `writes.rs`) with the handler's own types:
//! ```ignore
//! doc.get("/v1/tournaments/{slug}/things", |op| {
//!     op.id("list_things").tag("things").summary("...")
//!         .query("limit", "Rows, newest first.", int_in(1, 200, 50))
//!         .json::<ListEnvelope<ThingRead>>(200, "The things.")
//!         .conditional("public, s-maxage=15, max-age=0, must-revalidate")
//!         .error(404, "Tournament not found");
//! });
//! ```
//! Path parameters (`{slug}`, `{team_id}`, ...) are added from the template; 429 is added to
//! every rate-limited route.

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
use schemars::{json_schema, JsonSchema, Schema};

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
per 1 minute\"}` with `Retry-After`.\n\n\
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
            path: path.to_string(),
            cache: None,
        };
        for name in path_params(path) {
            op.operation
                .parameters
                .push(ReferenceOr::Item(path_param(name)));
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

const TAGS: [(&str, &str); 9] = [
    (
        "infra",
        "Service status and metadata (unversioned, not rate limited).",
    ),
    (
        "catalog",
        "Ladders and civilizations as the game reports them.",
    ),
    ("tournaments", "Tournament configuration."),
    (
        "standings",
        "Per-player and per-team tables, and how they moved.",
    ),
    (
        "insights",
        "Civilization picks, head-to-head games, rating progression, summary cards.",
    ),
    ("players", "The roster with polled identities and ratings."),
    ("matches", "Finished and live games of rostered players."),
    ("stream", "Server-sent nudges: refetch when told."),
    (
        "admin",
        "Authenticated reads and writes of tournament owners.",
    ),
];

/// `{name}` segments of a path template, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// Path parameters have one meaning everywhere.
fn path_param(name: &str) -> Parameter {
    let (schema, description) = match name {
        "slug" => (
            json_schema!({"type": "string"}),
            "Tournament slug. On reads, `current` names the latest started tournament (else the \
             newest created).",
        ),
        "match_id" => (
            json_schema!({"type": "integer", "format": "int64"}),
            "Upstream match id.",
        ),
        "tournament_player_id" => (
            json_schema!({"type": "integer", "format": "int64"}),
            "Roster entry id.",
        ),
        "team_id" => (
            json_schema!({"type": "integer", "format": "int64"}),
            "Team id.",
        ),
        "user_id" => (
            json_schema!({"type": "string", "format": "uuid"}),
            "User id (the JWT `sub`).",
        ),
        other => panic!("path parameter {{{other}}} has no description in openapi::path_param"),
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
        format: ParameterSchemaOrContent::Schema(schema_object(schema)),
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

fn json_content(schema: Schema) -> indexmap::IndexMap<String, MediaType> {
    let mut content = indexmap::IndexMap::new();
    content.insert(
        "application/json".to_string(),
        MediaType {
            schema: Some(schema_object(schema)),
            ..MediaType::default()
        },
    );
    content
}

/// An integer query parameter within `min..=max`, `default` when absent (422 outside).
pub fn int_in(min: i64, max: i64, default: i64) -> Schema {
    json_schema!({"type": "integer", "format": "int64", "minimum": min, "maximum": max,
                  "default": default})
}

/// An optional integer query parameter.
pub fn int() -> Schema {
    json_schema!({"type": "integer", "format": "int64"})
}

/// One operation being described (see [`Doc::get`]).
pub struct Op<'a> {
    doc: &'a mut Doc,
    operation: Operation,
    path: String,
    cache: Option<&'static str>,
}

impl Op<'_> {
    /// A unique, stable `operationId` (client generators name functions after it).
    pub fn id(&mut self, id: &str) -> &mut Self {
        self.operation.operation_id = Some(id.into());
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

    /// An optional query parameter.
    pub fn query(&mut self, name: &str, description: &str, schema: Schema) -> &mut Self {
        self.operation
            .parameters
            .push(ReferenceOr::Item(Parameter::Query {
                parameter_data: parameter_data(name, description, schema, false),
                allow_reserved: false,
                style: Default::default(),
                allow_empty_value: None,
            }));
        self
    }

    /// An optional request header.
    pub fn header_param(&mut self, name: &str, description: &str, schema: Schema) -> &mut Self {
        self.operation
            .parameters
            .push(ReferenceOr::Item(Parameter::Header {
                parameter_data: parameter_data(name, description, schema, false),
                style: Default::default(),
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
        self.response(
            status,
            Response {
                description: description.into(),
                content: json_content(schema),
                ..Response::default()
            },
        )
    }

    /// A non-JSON response (`text/plain`, `text/event-stream`, ...).
    pub fn content(
        &mut self,
        status: u16,
        description: &str,
        media_type: &str,
        schema: Schema,
    ) -> &mut Self {
        let mut content = indexmap::IndexMap::new();
        content.insert(
            media_type.to_string(),
            MediaType {
                schema: Some(schema_object(schema)),
                ..MediaType::default()
            },
        );
        self.response(
            status,
            Response {
                description: description.into(),
                content,
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

    /// An error response in the contract's shape for `status` (422: the validation list,
    /// 429: the rate-limit body, anything else: `{"detail": "..."}`).
    pub fn error(&mut self, status: u16, description: &str) -> &mut Self {
        let schema = match status {
            422 => self
                .doc
                .responses
                .subschema_for::<shapes::ValidationErrors>(),
            429 => self.doc.responses.subschema_for::<shapes::RateLimited>(),
            _ => self.doc.responses.subschema_for::<shapes::Detail>(),
        };
        self.json_schema(status, description, schema)
    }

    /// A JSON request body of type `T` as the server deserializes it.
    pub fn body<T: JsonSchema>(&mut self, description: &str) -> &mut Self {
        let schema = self.doc.requests.subschema_for::<T>();
        self.body_schema(description, schema)
    }

    /// A JSON request body with a schema written by hand.
    pub fn body_schema(&mut self, description: &str, schema: Schema) -> &mut Self {
        self.operation.request_body = Some(ReferenceOr::Item(RequestBody {
            description: Some(description.into()),
            content: json_content(schema),
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
    /// `cache` is the 200's `Cache-Control`.
    pub fn conditional(&mut self, cache: &'static str) -> &mut Self {
        self.cache = Some(cache);
        self.header_param(
            "If-None-Match",
            "An `ETag` from an earlier response: 304 when unchanged.",
            json_schema!({"type": "string"}),
        );
        self.empty(304, "Not modified (the `If-None-Match` ETag is current).")
    }

    /// The 200's `Cache-Control` without conditional requests.
    pub fn cache(&mut self, cache: &'static str) -> &mut Self {
        self.cache = Some(cache);
        self
    }

    fn rate_limited(&mut self) {
        let mut response = Response {
            description: "Rate limit exceeded for this client and route.".into(),
            content: json_content(self.doc.responses.subschema_for::<shapes::RateLimited>()),
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
            path_params("/v1/tournaments/{slug}/players/{tournament_player_id}"),
            ["slug", "tournament_player_id"]
        );
        assert!(path_params("/health").is_empty());
    }
}
