//! `/health` and `/metrics` name a quarantined poison event and its tournament (issue 11,
//! item 3), with the real projector and the real HTTP server.

use api::AppState;
use projections::core::Core;
use projections::runner::catch_up;
use serde_json::Value;
use sqlx::PgPool;

/// Stores an event no reader can decode (a number serde_json refuses) for tournament `broken`,
/// and runs the projector until it is quarantined. Returns its position.
async fn poison(pool: &PgPool) -> i64 {
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ('Tournament', 'broken', 1, 'TournamentCreated', '1',
                 '{\"TournamentCreated\": {\"x\": 1e309}}', '{}')
         RETURNING global_position",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    for _ in 0..2000 {
        catch_up(pool, &Core, 50).await.unwrap();
        if !projections::quarantine::list(pool)
            .await
            .unwrap()
            .is_empty()
        {
            return position;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the event was not quarantined");
}

async fn serve(pool: PgPool) -> String {
    testkit::serve(api::router(AppState::new(pool))).await
}

#[tokio::test]
async fn health_and_metrics_name_the_quarantined_event_and_tournament() {
    let pool = store::testing::migrated_pool("api_quarantine").await;
    let position = poison(&pool).await;
    let base = serve(pool).await;
    let client = reqwest::Client::new();

    let health: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    let quarantined = &health["projections"][0]["quarantined"];
    assert_eq!(quarantined[0]["position"], position, "{health}");
    assert_eq!(quarantined[0]["tournament"], "broken", "{health}");
    assert_eq!(
        quarantined[0]["event_type"], "TournamentCreated",
        "{health}"
    );
    assert!(
        quarantined[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("number out of range")),
        "{health}"
    );

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "standings_projector_quarantined_events{{projector=\"core\",build=\"1\",\
         position=\"{position}\",aggregate=\"Tournament:broken\",tournament=\"broken\"}} 1"
    );
    assert!(metrics.contains(&line), "missing `{line}` in\n{metrics}");
}
