//! With the real projector: nudges it writes reach the stream, and `?tournament=` resolves
//! through the real `live.tournaments` view (slug and `current`).

mod common;

use std::time::Duration;

use domain::tournament::TournamentAction;
use projections::core::Core;
use projections::runner::catch_up;
use sse::HubConfig;
use store::EventStore;
use testkit::at;

use common::WAIT;

/// Reads the stream until `count` events (not comments) arrived; returns their text blocks.
async fn events(response: &mut reqwest::Response, count: usize) -> Vec<String> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < count {
        if let Some(end) = buf.find("\n\n") {
            let block = buf[..end].to_owned();
            buf.drain(..end + 2);
            if !block.starts_with(':') {
                out.push(block);
            }
            continue;
        }
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("the stream is open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    out
}

#[tokio::test]
async fn projector_nudges_reach_filtered_streams() {
    let pool = store::testing::migrated_pool("stream_projector").await;
    let store = EventStore::new(pool.clone());
    let config = testkit::seed::plain("Hera Invitational", Some(at(0)));
    testkit::seed::tournament(&store, 5, "hera", config, at(0)).await;
    catch_up(&pool, &Core, 500).await.unwrap();

    let server = common::serve_on(
        pool.clone(),
        HubConfig::default(),
        Some(Duration::from_secs(60)),
        common::Front::Axum,
    )
    .await;
    let url = server.url;

    let mut by_slug = reqwest::get(format!("{url}?tournament=hera"))
        .await
        .unwrap();
    let mut current = reqwest::get(format!("{url}?tournament=current"))
        .await
        .unwrap();
    assert_eq!(by_slug.status(), 200);
    assert_eq!(current.status(), 200);
    let head: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM nudge_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    for response in [&mut by_slug, &mut current] {
        let hello = events(response, 1).await;
        assert!(
            hello[0].contains(&format!("data: {{\"last_id\": {head}}}")),
            "{hello:?}"
        );
    }
    let other = reqwest::get(format!("{url}?tournament=nope"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    let hera = TournamentAction::AddPlayerToRoster {
        tournament_player_id: 10,
        name: "Hera".into(),
        profile_id: Some(199325),
        presentation: serde_json::json!({}),
    };
    testkit::seed::manage_all(&store, "hera", [hera]).await;
    catch_up(&pool, &Core, 500).await.unwrap();
    let written: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, kind FROM nudge_log WHERE id > $1 ORDER BY id")
            .bind(head)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!written.is_empty());
    for response in [&mut by_slug, &mut current] {
        let got = events(response, written.len()).await;
        for ((id, kind), block) in written.iter().zip(&got) {
            assert!(
                block.starts_with(&format!(
                    "id: {id}\nevent: {kind}\ndata: {{\"polled_at\": \""
                )),
                "{block}"
            );
            assert!(block.ends_with("\"tournament_ids\": [5]}"), "{block}");
        }
    }
}
