//! `GET /docs`: Scalar's API reference for `/openapi.json`, with Scalar's standalone bundle
//! embedded in the binary (`assets/scalar/`, MIT), so the docs work with no internet access.
//!
//! Everything of Scalar's that would reach the internet is off: default fonts (a CDN),
//! telemetry, the request proxy, the AI agent, MCP and the developer tools (cloud deploy).
//! Checked in headless Chromium behind a proxy that logs every outgoing request: the page
//! renders and asks nothing of any other host.
//!
//! The bundle is stored gzipped and sent as is to clients that accept gzip (every browser);
//! others get it inflated once. Its URL carries the version, so it is cached for a year.

use std::io::Read;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

pub const SCALAR_VERSION: &str = "1.72.1";
/// Relative to `/docs` (so the page also works behind a path prefix).
const SCRIPT_PATH: &str = "/docs/scalar-1.72.1.js";
static SCALAR_GZ: &[u8] = include_bytes!("../../assets/scalar/standalone.js.gz");

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AoE2 Live Standings API</title>
</head>
<body>
<div id="app"></div>
<script src="docs/scalar-1.72.1.js"></script>
<script>
Scalar.createApiReference('#app', {
  url: 'openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  proxyUrl: '',
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: 'never',
  showOperationId: true,
  defaultOpenFirstTag: true,
});
</script>
</body>
</html>
"#;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/docs", get(page))
        .route(SCRIPT_PATH, get(script))
}

async fn page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        PAGE,
    )
        .into_response()
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn inflated() -> &'static Bytes {
    static PLAIN: OnceLock<Bytes> = OnceLock::new();
    PLAIN.get_or_init(|| {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(SCALAR_GZ)
            .read_to_end(&mut plain)
            .expect("the embedded Scalar bundle is valid gzip");
        Bytes::from(plain)
    })
}

async fn script(headers: HeaderMap) -> Response {
    let mut response = if accepts_gzip(&headers) {
        let mut r = Bytes::from_static(SCALAR_GZ).into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        inflated().clone().into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_embedded_bundle_of_this_version() {
        assert!(SCRIPT_PATH.contains(SCALAR_VERSION));
        assert!(PAGE.contains(&format!("src=\"{}\"", &SCRIPT_PATH[1..])));
        assert!(inflated().starts_with(b"(function(){"));
    }

    #[test]
    fn gzip_negotiation() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
