//! First-party origins: credentialed CORS and preflights.

use super::*;

#[tokio::test]
async fn first_party_origins_get_credentialed_cors_and_preflights() {
    let env = Env::start("writes_cors", None).await;
    let first = "http://localhost:5173";
    let preflight = env
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/tournaments/x/players", env.base),
        )
        .header("origin", first)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], first);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PATCH"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Idempotency-Key"));

    let get = |origin: &'static str, path: &'static str| {
        let request = env
            .client
            .get(format!("{}{path}", env.base))
            .header("origin", origin);
        async move { request.send().await.unwrap() }
    };
    let r = get(first, "/v1/tournaments").await;
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        first,
        "echoed, not *"
    );
    assert_eq!(r.headers()["vary"], "Origin");
    let r = get("https://overlay.example", "/v1/tournaments").await;
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(!r.headers().contains_key("access-control-allow-credentials"));
    let r = get("https://overlay.example", "/v1/me").await;
    assert!(
        !r.headers().contains_key("access-control-allow-origin"),
        "/v1/me is never open"
    );
    let r = env
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/tournaments", env.base),
        )
        .header("origin", "https://overlay.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        !r.headers().contains_key("access-control-allow-origin"),
        "no third-party preflight"
    );
}
