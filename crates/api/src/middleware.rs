//! Cross-cutting HTTP behaviour of the contract (seed contract §1.0), outermost first.

use std::time::Instant;

use axum::body::{to_bytes, Body};
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
        json_errors(next.run(request).await).await
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

/// Client errors in the contract's shape even when axum answers before a handler runs: its
/// extractors answer a `text/plain` 400 (a path segment that is not UTF-8, such as
/// `/v1/tournaments/%FF`, found by `tests/fuzz/`), and its router a 405 with no body. Such a
/// response becomes `{"detail": "<its text, or the status's reason>"}` with the same status
/// and headers.
async fn json_errors(response: Response) -> Response {
    const MAX_TEXT: usize = 64 * 1024;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !response.status().is_client_error() || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_TEXT).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let detail = match text.trim() {
        "" => parts.status.canonical_reason().unwrap_or("Bad Request"),
        text => text,
    };
    let body = serde_json::to_vec(&json!({ "detail": detail })).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn converted(response: Response) -> (StatusCode, String, serde_json::Value) {
        let response = json_errors(response).await;
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, content_type, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn framework_rejections_become_the_contracts_json() {
        let text = (
            StatusCode::BAD_REQUEST,
            "Invalid URL: Invalid UTF-8 in `slug`",
        )
            .into_response();
        assert_eq!(
            converted(text).await,
            (
                StatusCode::BAD_REQUEST,
                "application/json".into(),
                json!({"detail": "Invalid URL: Invalid UTF-8 in `slug`"})
            )
        );
        let empty = StatusCode::METHOD_NOT_ALLOWED.into_response();
        assert_eq!(
            converted(empty).await.2,
            json!({"detail": "Method Not Allowed"})
        );
        let ours = (
            StatusCode::NOT_FOUND,
            Json(json!({"detail": "Team not found"})),
        );
        assert_eq!(
            converted(ours.into_response()).await.2,
            json!({"detail": "Team not found"})
        );
    }
}
