//! Credentialed CORS for first-party front-ends (seed contract §1.0.3): allowed origins are
//! echoed with `Access-Control-Allow-Credentials: true` and `Vary: Origin`, and preflights for
//! writes are answered here. Third-party reads get `*` from the public-read rule in
//! `middleware`, which leaves alone a response this layer already marked.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const HEADERS: &str = "Content-Type, Idempotency-Key, Authorization";

/// Which browser origins may call with credentials.
#[derive(Clone, Debug, Default)]
pub struct CorsPolicy {
    /// Exact origins (`CORS_ORIGINS`).
    pub origins: Vec<String>,
    /// Production adds `https://criticalbit.gg` and its subdomains; development adds
    /// `http://localhost:5100` … `http://localhost:5199`.
    pub production: bool,
}

impl CorsPolicy {
    /// `CORS_ORIGINS`: a comma-separated list.
    pub fn new(origins: &str, production: bool) -> CorsPolicy {
        CorsPolicy {
            origins: origins
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            production,
        }
    }

    pub fn allows(&self, origin: &str) -> bool {
        if self.origins.iter().any(|o| o == origin) {
            return true;
        }
        if self.production {
            // https://([a-z0-9-]+\.)?criticalbit\.gg
            return origin.strip_prefix("https://").is_some_and(|host| {
                host == "criticalbit.gg"
                    || host.strip_suffix(".criticalbit.gg").is_some_and(|sub| {
                        !sub.is_empty()
                            && sub
                                .bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    })
            });
        }
        origin
            .strip_prefix("http://localhost:")
            .and_then(|port| port.parse::<u16>().ok().filter(|_| port.len() == 4))
            .is_some_and(|port| (5100..=5199).contains(&port))
    }
}

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .filter(|o| o.to_str().is_ok_and(|o| state.cors.allows(o)))
        .cloned();
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut r = StatusCode::OK.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::CorsPolicy;

    #[test]
    fn development_allows_the_local_front_end_ports() {
        let dev = CorsPolicy::new("https://example.org", false);
        for ok in [
            "http://localhost:5100",
            "http://localhost:5173",
            "https://example.org",
        ] {
            assert!(dev.allows(ok), "{ok}");
        }
        for no in [
            "http://localhost:5200",
            "http://localhost:80",
            "https://criticalbit.gg",
            "http://localhost:05173",
        ] {
            assert!(!dev.allows(no), "{no}");
        }
    }

    #[test]
    fn production_allows_the_list_and_criticalbit_subdomains() {
        let prod = CorsPolicy::new("https://overlay.example, ", true);
        for ok in [
            "https://overlay.example",
            "https://criticalbit.gg",
            "https://aoe2.criticalbit.gg",
        ] {
            assert!(prod.allows(ok), "{ok}");
        }
        for no in [
            "http://criticalbit.gg",
            "https://evilcriticalbit.gg",
            "https://a.b.criticalbit.gg",
            "https://criticalbit.gg.evil.com",
            "http://localhost:5173",
        ] {
            assert!(!prod.allows(no), "{no}");
        }
    }
}
