//! Test-only builders shared by the workspace's tests, so the seeded tournament, its match and
//! lobby look the same everywhere and a fixture change is made once. A dev-dependency only:
//! no shipped crate depends on it (it panics on failure, as a test fixture should).
//!
//! - [`people`]: the seeded ids (owner, Hera, ACCM, the match) and the test clock [`at`].
//! - [`seed`]: commands appended through the real event store (catalog, tournament, roster,
//!   profiles, a finished match, an open lobby) and [`seed::project`] to apply them.
//! - [`process`]: the `standings` binary's "listening on" line, read from a child process.
//! - [`serve`]: a router on a free port; [`jwks_server`]: a JWKS document served over HTTP, as
//!   `AUTH_JWKS_URL` points at it.

pub mod people;
pub mod process;
pub mod seed;

pub use people::*;

/// `jwks` over HTTP, as `AUTH_JWKS_URL` points at it in production; returns that URL.
pub async fn jwks_server(jwks: serde_json::Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    let app = axum::Router::new().route(
        "/auth/jwks",
        axum::routing::get(move || async move { axum::Json(jwks) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/auth/jwks")
}

/// Serves `app` on a free loopback port (with the peer address as `ConnectInfo`, as the binary
/// serves it) until the test's runtime ends; returns the base URL `http://ADDR`.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    format!("http://{addr}")
}
