//! Frozen mode, the running clock, and determinism from the seed.

mod common;

use std::time::Duration;

use common::*;
use sim::{MatchSpec, SimConfig};

#[tokio::test]
async fn frozen_ladder_serves_identical_bytes() {
    // A fast clock, but frozen: nothing may move between polls.
    let s = serve(SimConfig {
        speed: 36_000.0,
        activity: 2.0,
        ..frozen_config(31)
    })
    .await;
    let ids = s.sim.roster(32);
    let first = poll_all(&s, &ids).await;
    let version = s.sim.state().version;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(poll_all(&s, &ids).await, first);
    }
    assert_eq!(s.sim.state().version, version);

    // Unfrozen at 10 simulated hours per real second, the ladder moves.
    let now = s.sim.now();
    s.sim.set_frozen(false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.sim.now() >= now + 2 * 3600, "clock runs at speed");
    assert_ne!(poll_all(&s, &ids).await, first);
    assert!(s.sim.state().version > version);

    // Frozen again: stable again.
    s.sim.set_frozen(true);
    let second = poll_all(&s, &ids).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(poll_all(&s, &ids).await, second);
}

#[tokio::test]
async fn speed_zero_moves_only_on_advance() {
    let s = serve(SimConfig {
        speed: 0.0,
        frozen: false,
        ..frozen_config(32)
    })
    .await;
    let t0 = s.sim.now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.sim.now(), t0);
    s.sim.advance(Duration::from_secs(3600));
    assert_eq!(s.sim.now(), t0 + 3600);
    // Through the control endpoint too, and while frozen.
    let state: serde_json::Value = s
        .post_json(
            "/sim/control",
            &serde_json::json!({"frozen": true, "advance_ms": 60_000}),
        )
        .await;
    assert_eq!(state["now"], t0 + 3660);
    assert_eq!(state["frozen"], true);
}

async fn scripted_bodies(seed: u64) -> Vec<(u16, Vec<u8>)> {
    let s = serve(frozen_config(seed)).await;
    let ids = s.sim.roster(16);
    let mut bodies = poll_all(&s, &ids).await;
    s.sim.advance(Duration::from_secs(3 * 3600));
    s.sim
        .play_match(&MatchSpec::one_v_one(ids[0], ids[1], 0))
        .expect("forced");
    let lobby = s.sim.open_lobby(&ids[2..4]).expect("lobby");
    bodies.extend(poll_all(&s, &ids).await);
    s.sim.close_lobby(lobby);
    s.sim.advance(Duration::from_secs(1800));
    bodies.extend(poll_all(&s, &ids).await);
    bodies
}

#[tokio::test]
async fn same_seed_same_payloads() {
    let a = scripted_bodies(77).await;
    let b = scripted_bodies(77).await;
    assert_eq!(a.len(), 15);
    assert!(a.iter().all(|(status, _)| *status == 200));
    assert_eq!(a, b);
    let c = scripted_bodies(78).await;
    assert_ne!(a[0], c[0], "another seed, another ladder");
}
