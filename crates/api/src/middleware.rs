//! Cross-cutting HTTP behaviour of the contract (seed contract §1.0), outermost first.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

const MAX_BODY_BYTES: u64 = 1_048_576;
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Sent on every response (the stream's lean responder adds them itself).
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-permitted-cross-domain-policies", "none"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// A client-supplied request id is echoed only when it is short, printable ASCII.
fn request_id(request: &Request) -> HeaderValue {
    request
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or(HeaderValue::from_static("unknown"))
        })
}

pub async fn common(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    // Handlers record it in event metadata (the audit trail shows it).
    request
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let public_read = matches!(method, Method::GET | Method::HEAD)
        && request.headers().contains_key(header::ORIGIN)
        && path.starts_with("/v1/")
        && path != "/v1/me"
        && !path.starts_with("/v1/me/");

    let too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES);
    let mut response = if too_large {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"detail": "Request body too large"})),
        )
            .into_response()
    } else {
        next.run(request).await
    };

    let status = response.status();
    let headers = response.headers_mut();
    headers.insert(X_REQUEST_ID.clone(), id.clone());
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    // Caching is opt-in: a 200 GET without its own Cache-Control is not cacheable.
    if method == Method::GET
        && status == StatusCode::OK
        && !headers.contains_key(header::CACHE_CONTROL)
    {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Third-party reads get `*`, never credentials, never an echoed origin.
    if public_read && !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    }
    if path != "/" && path != "/health" {
        tracing::info!(
            request_id = id.to_str().unwrap_or(""),
            %method,
            path,
            status = status.as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    }
    response
}
