//! What viewers and streamers open directly: the OBS overlay widgets (`/overlay/{widget}`), the
//! public live page of a tournament (`/t/{slug}`) and the configurator (`/overlay/`).
//!
//! Everything is static: HTML shells, one stylesheet and scripts embedded in the binary
//! (`include_str!`), served under content-hashed names with a year-long cache. The pages read
//! their options from the query string and their data from the public JSON API, then follow
//! `/v1/stream` (see `assets/core.js`). The server never interpolates a request value into a
//! page, and a strict Content-Security-Policy allows nothing from another host.
//!
//! Invariant: this crate never touches the database or the API's state; [`router`] works with
//! any router state, so the binary mounts it beside the API without either crate depending on
//! the other.

mod assets;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

pub use assets::{asset_sizes, AssetSize};

/// The widgets, as named in their URLs.
pub const WIDGETS: [&str; 5] = ["standings", "teams", "live", "player", "ticker"];

/// Pages load only this origin's scripts, styles and JSON; inline SVG charts need nothing more.
/// `frame-ancestors 'self'`: the configurator previews widgets in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; \
     frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

/// The overlay routes; mount them beside the API (they fetch `/v1/...` from the same origin).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/overlay",
            get(|| async { Redirect::permanent("/overlay/") }),
        )
        .route("/overlay/", get(configurator))
        .route("/overlay/assets/{name}", get(asset))
        .route("/overlay/{widget}", get(widget))
        .route("/t/{slug}", get(live_page))
}

async fn configurator() -> Response {
    page(assets::configurator_html())
}

async fn live_page() -> Response {
    // The script reads the slug from the path; the shell is the same for every tournament.
    page(assets::live_page_html())
}

async fn widget(Path(name): Path<String>) -> Response {
    match assets::widget_html(&name) {
        Some(html) => page(html),
        None => not_found("Widget not found"),
    }
}

async fn asset(Path(name): Path<String>, request: HeaderMap) -> Response {
    let Some(asset) = assets::by_hashed_name(&name) else {
        return not_found("Asset not found");
    };
    let gzip = accepts_gzip(&request);
    let body = if gzip {
        asset.gzip.clone()
    } else {
        asset.body.clone()
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The name changes with the content: cache it for a year.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    // The stream worker runs under its own script's policy.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// An HTML shell: never cached stale (it names the current asset hashes). Framing: the CSP's
/// `frame-ancestors 'self'` lets the configurator preview a widget; browsers give it precedence
/// over the API's `x-frame-options: DENY`, which older ones still follow.
fn page(html: &'static str) -> Response {
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response
}

/// The contract's error shape.
fn not_found(detail: &'static str) -> Response {
    let body = format!("{{\"detail\":\"{detail}\"}}");
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

// Like `api::cache::accepts`, copied: the overlay crate does not depend on `api`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut pieces = part.trim().split(';');
            let name = pieces.next().unwrap_or("").trim();
            let refused = pieces.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}
