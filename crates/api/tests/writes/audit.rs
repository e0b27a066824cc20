//! The audit trail names the actor; `as_of` shows a table before a change.

use super::*;

#[tokio::test]
async fn audit_names_the_actor_and_as_of_shows_the_table_before_a_change() {
    let env = Env::start("writes_as_of", None).await;
    let before_creation = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    let add = |name: &str| json!({"name": name});
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OWNER),
            Some(add("Early"))
        )
        .await
        .0,
        204
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OWNER),
            Some(add("Late"))
        )
        .await
        .0,
        204
    );
    assert_eq!(
        env.call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"name": "Renamed"}))
        )
        .await
        .0,
        200
    );

    let names = |table: &Value| -> Vec<String> {
        table["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, now) = env
        .call("GET", "/v1/tournaments/cup/standings", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(names(&now), vec!["Early", "Late"]);
    let at = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let path = format!("/v1/tournaments/cup/standings?as_of={}", at(between));
    let (status, then) = env.call("GET", &path, None, None).await;
    assert_eq!(status, 200, "{then}");
    assert_eq!(names(&then), vec!["Early"], "the table before Late joined");
    // The documented operation of its own answers the same; the old parameter stays served.
    let documented = format!("/v1/tournaments/cup/standings/as-of?as_of={}", at(between));
    let (status, same) = env.call("GET", &documented, None, None).await;
    assert_eq!((status, &same), (200, &then));
    let (status, error) = env
        .call("GET", "/v1/tournaments/cup/standings/as-of", None, None)
        .await;
    assert_eq!(status, 422);
    assert_eq!(error["detail"][0]["loc"], json!(["query", "as_of"]));
    let (status, _) = env
        .call(
            "GET",
            &format!(
                "/v1/tournaments/cup/standings?as_of={}",
                at(before_creation)
            ),
            None,
            None,
        )
        .await;
    assert_eq!(status, 404, "the tournament did not exist yet");
    let (status, error) = env
        .call(
            "GET",
            "/v1/tournaments/cup/standings?as_of=yesterday",
            None,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error["detail"][0]["loc"], json!(["query", "as_of"]));

    let (_, audit) = env
        .call("GET", "/v1/tournaments/cup/events", None, None)
        .await;
    let late = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "PlayerAddedToRoster" && e["change"]["name"] == "Late")
        .expect("the roster change is in the audit trail");
    assert_eq!(late["actor"], format!("user:{OWNER}"));
    assert!(late["request_id"].as_str().is_some_and(|id| !id.is_empty()));
}
