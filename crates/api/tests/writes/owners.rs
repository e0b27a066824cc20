//! Owners enriched from the auth service, and surviving its outage.

use super::*;

#[tokio::test]
async fn owners_are_enriched_from_the_auth_service_and_survive_its_outage() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/users/lookup",
        axum::routing::get(
            move |headers: axum::http::HeaderMap, query: axum::extract::RawQuery| {
                let seen = seen.clone();
                async move {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let cookie = headers
                        .get("cookie")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    assert!(
                        cookie.starts_with("criticalbit_access="),
                        "the caller's cookie is forwarded"
                    );
                    let query = query.0.unwrap_or_default();
                    assert_eq!(
                        query.matches("ids=").count(),
                        2,
                        "misses batched, deduplicated: {query}"
                    );
                    axum::Json(
                        json!([{"id": OWNER.to_uppercase(), "email": "host@example.org",
                                    "display_name": "Host", "avatar_url": null}]),
                    )
                }
            },
        ),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let env = Env::start_with("writes_directory", None, Some(&format!("http://{addr}"))).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/owners",
            Some(OWNER),
            Some(json!({"user_id": OTHER}))
        )
        .await
        .0,
        204
    );
    let (status, owners) = env
        .call("GET", "/v1/tournaments/cup/owners", Some(OWNER), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(owners[0]["display_name"], "Host");
    assert_eq!(owners[0]["email"], "host@example.org");
    assert_eq!(
        owners[1]["display_name"],
        Value::Null,
        "unknown to the auth service"
    );
    // The auth service goes away: the cached profile stays, nothing fails.
    server.abort();
    let (status, owners) = env
        .call("GET", "/v1/tournaments/cup/owners", Some(OWNER), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(owners[0]["display_name"], "Host");
    assert_eq!(owners[1]["display_name"], Value::Null);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second read missed only OTHER, and failed quietly"
    );
}
