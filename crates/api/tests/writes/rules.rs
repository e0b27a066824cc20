//! The contract's rules, held through the API.

use super::*;

#[tokio::test]
async fn contract_rules_hold_through_the_api() {
    let env = Env::start("writes_rules", None).await;
    let (status, _) = env
        .call("POST", "/v1/tournaments", Some(THIRD), Some(cup("x")))
        .await;
    assert_eq!(status, 403, "not on the creator allowlist");
    let mut bad = cup("current");
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(bad.clone()))
        .await;
    assert_eq!(status, 422, "{body}");
    bad["slug"] = json!("cup");
    bad["leaderboard_id"] = json!(5);
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(bad.clone()))
        .await;
    assert_eq!(status, 422);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Leaderboard 5 (UNRANKED) is not a supported"),
        "{body}"
    );
    bad["leaderboard_id"] = json!(3);
    bad["end_date"] = json!("2025-01-01T00:00:00Z");
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OWNER), Some(bad))
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (422, &json!("start_date must not be after end_date"))
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments",
            Some(OWNER),
            Some(json!({"slug": "cup"})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "name"]));
    assert_eq!(
        env.call("POST", "/v1/tournaments", Some(OWNER), Some(cup("cup")))
            .await
            .0,
        201
    );
    let (status, body) = env
        .call("POST", "/v1/tournaments", Some(OTHER), Some(cup("cup")))
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Tournament 'cup' already exists"))
    );

    // PATCH: explicit null clears nullable fields and is refused for the others.
    let (status, body) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"name": null})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup",
            Some(OWNER),
            Some(json!({"start_date": null, "rank_by": "current_rating"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["start_date"], &body["rank_by"]),
        (&Value::Null, &json!("current_rating"))
    );

    // Last-owner guard.
    let (status, body) = env
        .call(
            "DELETE",
            &format!("/v1/tournaments/cup/owners/{OWNER}"),
            Some(OWNER),
            None,
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (
            422,
            &json!("Cannot revoke the last owner — the tournament would become uneditable")
        )
    );
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/owners",
            Some(OWNER),
            Some(json!({"user_id": OTHER.to_uppercase()}))
        )
        .await
        .0,
        204
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/owners",
            Some(OTHER),
            Some(json!({"user_id": OTHER})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("User is already an owner"))
    );
    let (_, owners) = env
        .call("GET", "/v1/tournaments/cup/owners", Some(OTHER), None)
        .await;
    let ids: Vec<&str> = owners
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![OWNER, OTHER], "created_at order, lowercase ids");
    assert_eq!(
        env.call(
            "DELETE",
            &format!("/v1/tournaments/cup/owners/{OWNER}"),
            Some(OTHER),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        env.call("GET", "/v1/tournaments/cup/owners", Some(OWNER), None)
            .await
            .0,
        403,
        "revoked"
    );

    // Link immutability and roster conflicts.
    let add = |name: &str, profile: Option<i64>| json!({"name": name, "profile_id": profile});
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Hera", Some(1)))
        )
        .await
        .0,
        204
    );
    assert_eq!(
        env.call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Later", None))
        )
        .await
        .0,
        204
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Hera", None)),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Name already on the roster"))
    );
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("Clone", Some(1))),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Player already on the roster"))
    );
    let (hera, later) = (env.roster_id("Hera").await, env.roster_id("Later").await);
    let (status, body) = env
        .call(
            "PATCH",
            &format!("/v1/tournaments/cup/players/{hera}"),
            Some(OTHER),
            Some(json!({"profile_id": 2})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (422, &json!("profile_id is immutable once linked"))
    );
    let (status, body) = env
        .call(
            "PATCH",
            &format!("/v1/tournaments/cup/players/{later}"),
            Some(OTHER),
            Some(json!({"profile_id": 1})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Player 1 already on the roster"))
    );
    assert_eq!(
        env.call(
            "PATCH",
            &format!("/v1/tournaments/cup/players/{later}"),
            Some(OTHER),
            Some(json!({"profile_id": 2}))
        )
        .await
        .0,
        204
    );
    let (status, _) = env
        .call(
            "PATCH",
            "/v1/tournaments/cup/players/abc",
            Some(OTHER),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 422, "non-integer path id");
    let (status, body) = env
        .call(
            "DELETE",
            "/v1/tournaments/cup/players/999999",
            Some(OTHER),
            None,
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (404, &json!("Player not found in this tournament"))
    );

    // Captain swap: the second captain replaces the first, in one event that names both.
    let (_, team) = env
        .call(
            "POST",
            "/v1/tournaments/cup/teams",
            Some(OTHER),
            Some(json!({"name": "Vikings", "initials": "VK"})),
        )
        .await;
    let team = team["id"].as_i64().unwrap();
    for member in [hera, later] {
        let path = format!("/v1/tournaments/cup/teams/{team}/members");
        assert_eq!(
            env.call(
                "POST",
                &path,
                Some(OTHER),
                Some(json!({"tournament_player_id": member}))
            )
            .await
            .0,
            204
        );
    }
    let (status, body) = env
        .call(
            "POST",
            &format!("/v1/tournaments/cup/teams/{team}/members"),
            Some(OTHER),
            Some(json!({"tournament_player_id": hera})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (409, &json!("Player already on the team"))
    );
    let captain = format!("/v1/tournaments/cup/teams/{team}/captain");
    for member in [hera, later] {
        assert_eq!(
            env.call(
                "PATCH",
                &captain,
                Some(OTHER),
                Some(json!({"tournament_player_id": member}))
            )
            .await
            .0,
            204
        );
    }
    // Linked but never-polled players are hidden from the team table: read the model itself.
    let captains: Vec<i64> = sqlx::query_scalar(
        "SELECT tournament_player_id FROM live.team_members WHERE team_id = $1 AND is_captain",
    )
    .bind(team)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(captains, vec![later], "one captain: the second");
    let (_, audit) = env
        .call("GET", "/v1/tournaments/cup/events?limit=200", None, None)
        .await;
    let swap = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["event_type"] == "TeamCaptainSet")
        .unwrap();
    assert_eq!(swap["change"]["previous_captain"], hera);
    let (status, body) = env
        .call(
            "PATCH",
            &captain,
            Some(OTHER),
            Some(json!({"tournament_player_id": 424242})),
        )
        .await;
    assert_eq!(
        (status, &body["detail"]),
        (404, &json!("Player not found on this team"))
    );
    let (status, body) = env
        .call(
            "DELETE",
            "/v1/tournaments/cup/teams/999999",
            Some(OTHER),
            None,
        )
        .await;
    assert_eq!((status, &body["detail"]), (404, &json!("Team not found")));

    // Roster cap: 100 rows, then 422 (rows added straight to the store to keep this quick).
    let store = EventStore::new(env.pool.clone());
    let operator = EventMetadata::new(Actor::Operator("test".into()));
    for n in 0..98 {
        let command = TournamentCommand::Manage {
            actor: Actor::Operator("test".into()),
            action: TournamentAction::AddPlayerToRoster {
                tournament_player_id: 10_000 + n,
                name: format!("Filler {n}"),
                profile_id: None,
                presentation: json!({}),
            },
        };
        store
            .execute::<Tournament>("cup", command, &operator)
            .await
            .unwrap();
    }
    let (status, body) = env
        .call(
            "POST",
            "/v1/tournaments/cup/players",
            Some(OTHER),
            Some(add("One too many", None)),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Roster is at the 100-row ceiling"),
        "{body}"
    );
}
