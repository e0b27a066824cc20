//! What the api test binaries share: the seeded people and ids, the test clock, a JWKS served
//! over HTTP, and the open lobby of the seeded tournament. (Each binary uses part of it.)
#![allow(dead_code)]

pub mod schema;

use chrono::{DateTime, Utc};
use domain::event::Actor;
use domain::lobby::{Lobby, LobbyCommand, LobbySnapshot, LobbyState};
use domain::EventMetadata;
use serde_json::Value;
use store::EventStore;

/// Owns the seeded tournaments (and in `fuzz`/`writes` is on the creator allowlist).
pub const OWNER: &str = "11111111-1111-1111-1111-111111111111";
/// Authenticated, owns nothing.
pub const OTHER: &str = "22222222-2222-2222-2222-222222222222";
pub const HERA: i64 = 199325;
pub const ACCM: i64 = 347269;
pub const MATCH_ID: i64 = 485301122;

/// A fixed instant `minute` minutes into the seeded tournament's history.
pub fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_779_000_000 + minute * 60, 0).unwrap()
}

/// `jwks` over HTTP, as `AUTH_JWKS_URL` points at it in production; returns that URL.
pub async fn jwks_server(jwks: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/auth/jwks",
        axum::routing::get(move || async move { axum::Json(jwks) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/auth/jwks")
}

/// Hera and ACCM in an open (staging) lobby, observed by the poller at minute 50.
pub async fn open_lobby(store: &EventStore, description: &str) {
    store
        .execute::<Lobby>(
            "486002117",
            LobbyCommand::Observe {
                snapshot: LobbySnapshot {
                    lobby_id: 486002117,
                    map_name: "Arena".into(),
                    description: Some(description.into()),
                    matchtype_id: 0,
                    state: LobbyState::Staging,
                    members: vec![HERA, ACCM],
                },
                observed_at: at(50),
            },
            &EventMetadata::new(Actor::Poller),
        )
        .await
        .unwrap();
}
