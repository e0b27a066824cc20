//! `GET /v1/stream` end to end: a real PostgreSQL (nudge rows + NOTIFY written the way the
//! projector writes them), the feed, a real axum server on 127.0.0.1:0 and a real HTTP client
//! reading the event stream. Every wait is a condition with a timeout.

mod common;

use std::time::Duration;

use common::*;
use sse::{HubConfig, Nudge};
use tokio::io::AsyncWriteExt;

/// (a) NOTIFY-driven delivery (the fallback poll is a minute away), frames byte for byte.
async fn subscriber_receives_notified_nudges(front: Front) {
    let s = server(
        "stream_live",
        HubConfig::default(),
        Some(Duration::from_secs(60)),
        front,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    let hello_event = sse.next_event().await;
    assert_eq!(hello_event.kind(), "hello");
    assert_eq!(hello_event.retry.as_deref(), Some("5000"));

    let one = nudge(&s.pool, "standings", Some(&[3, 7]), true).await;
    let two = nudge(&s.pool, "live", None, true).await;
    let first = sse.next_event().await;
    assert_eq!(
        first,
        Event {
            id: Some(one.to_string()),
            event: Some("standings".into()),
            data: Some(
                "{\"polled_at\": \"2026-05-20T12:00:00.123456+00:00\", \"tournament_ids\": [3, 7]}"
                    .into()
            ),
            ..Event::default()
        }
    );
    let second = sse.next_event().await;
    assert_eq!((second.id(), second.kind()), (two, "live"));
    assert_eq!(
        second.data.as_deref(),
        Some("{\"polled_at\": \"2026-05-20T12:00:00.123456+00:00\", \"tournament_ids\": null}")
    );
    // Unknown kinds are skipped, not sent.
    nudge(&s.pool, "bogus", None, true).await;
    let three = nudge(&s.pool, "matches", Some(&[3]), true).await;
    let third = sse.next_event().await;
    assert_eq!((third.id(), third.kind()), (three, "matches"));
    // A client that goes away is noticed without a write.
    assert_eq!(s.hub.subscriber_count(), 1);
    drop(sse);
    wait_for("the subscription to go", || s.hub.subscriber_count() == 0).await;
}

/// (b) Disconnect, miss nudges, reconnect with `Last-Event-ID`: exactly the missed ones, in
/// order, then live ones; the same from the database after a restart of the hub.
async fn last_event_id_replays_missed_nudges(front: Front) {
    let s = server(
        "stream_resume",
        HubConfig::default(),
        Some(Duration::from_millis(200)),
        front,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    let head = sse.next_event().await.id();
    let seen = nudge(&s.pool, "standings", None, true).await;
    assert_eq!(sse.next_event().await.id(), seen);
    drop(sse);

    let mut missed = Vec::new();
    for kind in ["matches", "live", "standings"] {
        missed.push((nudge(&s.pool, kind, Some(&[3]), true).await, kind));
    }
    let newest = missed[2].0;
    wait_for("the feed", || s.hub.head_id() == newest).await;

    let mut sse = Sse::connect(&s.url, Some(seen.to_string().as_bytes())).await;
    let hello_event = sse.next_event().await;
    assert_eq!(hello_event.kind(), "hello");
    assert_eq!(hello_event.data, Some(hello(newest)));
    assert_eq!(
        hello_event.id, None,
        "nudges follow: the cursor is not advanced yet"
    );
    for (id, kind) in &missed {
        let event = sse.next_event().await;
        assert_eq!((event.id(), event.kind()), (*id, *kind));
    }
    let live = nudge(&s.pool, "live", None, true).await;
    let event = sse.next_event().await;
    assert_eq!((event.id(), event.kind()), (live, "live"));

    // Caught up: nothing to replay, and the hello moves the cursor to the head.
    let mut sse = Sse::connect(&format!("{}?last_event_id={live}", s.url), None).await;
    let hello_event = sse.next_event().await;
    assert_eq!((hello_event.id(), hello_event.kind()), (live, "hello"));
    drop(sse);

    // A restarted process keeps only the newest row in memory: older ones come from the table.
    let restarted = serve_on(
        s.pool.clone(),
        HubConfig {
            history: 1,
            ..HubConfig::default()
        },
        Some(Duration::from_millis(200)),
        front,
    )
    .await;
    let mut sse = Sse::connect(&restarted.url, Some(head.to_string().as_bytes())).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    let mut expected = vec![(seen, "standings")];
    expected.extend(missed.iter().copied());
    expected.push((live, "live"));
    for (id, kind) in expected {
        let event = sse.next_event().await;
        assert_eq!((event.id(), event.kind()), (id, kind));
    }
    let after = nudge(&s.pool, "matches", None, true).await;
    assert_eq!(sse.next_event().await.id(), after);
}

/// (c) A cursor too old to replay, from the future, or garbage: `resync` with the head id.
async fn unusable_last_event_id_gets_resync(front: Front) {
    let config = HubConfig {
        max_replay: 5,
        history: 3,
        ..HubConfig::default()
    };
    let s = server(
        "stream_resync",
        config,
        Some(Duration::from_millis(200)),
        front,
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(nudge(&s.pool, "standings", None, true).await);
    }
    let mut head = *ids.last().unwrap();
    wait_for("the feed", || s.hub.head_id() == head).await;
    let future = (head + 1000).to_string();
    let cursors: [&[u8]; 6] = [
        b"0",
        b"not-a-number",
        b"-3",
        future.as_bytes(),
        b"99999999999999999999999",
        b"\xff\xfe",
    ];
    for cursor in cursors {
        let mut sse = Sse::connect(&s.url, Some(cursor)).await;
        let event = sse.next_event().await;
        assert_eq!(
            event.kind(),
            "resync",
            "cursor {:?}",
            String::from_utf8_lossy(cursor)
        );
        assert_eq!((event.id(), event.data), (head, Some(hello(head))));
        assert_eq!(event.retry.as_deref(), Some("5000"));
        // Then live nudges.
        head = nudge(&s.pool, "live", None, true).await;
        assert_eq!(sse.next_event().await.id(), head);
    }
    // Within the replay limit: replayed (the nudges of the loop above, 6 of them).
    let mut sse = Sse::connect(&s.url, Some(ids[7].to_string().as_bytes())).await;
    assert_eq!(
        sse.next_event().await.kind(),
        "resync",
        "7 missed, 5 replayable"
    );
    let mut sse = Sse::connect(&s.url, Some((head - 3).to_string().as_bytes())).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    for id in head - 2..=head {
        assert_eq!(sse.next_event().await.id(), id);
    }
}

/// Pruned `nudge_log` (projections::retention): a cursor older than the oldest kept row gets
/// `resync`, never a partial replay; one just at the edge is replayed from the table.
async fn pruned_history_gets_resync(front: Front) {
    let s = server(
        "stream_pruned",
        HubConfig::default(),
        Some(Duration::from_millis(200)),
        front,
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(nudge(&s.pool, "standings", None, true).await);
    }
    let head = ids[5];
    sqlx::query("UPDATE public.nudge_log SET created_at = now() - interval '2 hours'")
        .execute(&s.pool)
        .await
        .unwrap();
    let retention = projections::NudgeRetention {
        keep_rows: 3,
        keep_for: Duration::from_secs(3600),
    };
    assert_eq!(
        projections::retention::prune_nudges(&s.pool, retention)
            .await
            .unwrap(),
        3
    );
    // A restarted process keeps only the newest row in memory: older ones come from the table.
    let restarted = serve_on(
        s.pool.clone(),
        HubConfig {
            history: 1,
            ..HubConfig::default()
        },
        Some(Duration::from_millis(200)),
        front,
    )
    .await;
    wait_for("the feed", || restarted.hub.head_id() == head).await;
    // ids[2] was pruned: a client that saw only ids[1] cannot be told what it missed.
    let mut sse = Sse::connect(&restarted.url, Some(ids[1].to_string().as_bytes())).await;
    let event = sse.next_event().await;
    assert_eq!((event.kind(), event.id()), ("resync", head));
    // One that saw ids[2] missed only kept rows: replayed.
    let mut sse = Sse::connect(&restarted.url, Some(ids[2].to_string().as_bytes())).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    for id in &ids[3..] {
        assert_eq!(sse.next_event().await.id(), *id);
    }
}

/// A feed that could not read `nudge_log` while rows it never saw were pruned: every
/// subscriber gets `resync`, and new ones start at the new head.
async fn feed_behind_pruning_resyncs_subscribers(front: Front) {
    // No fallback poll within the test: the feed reads only when notified.
    let s = server(
        "stream_feed_pruned",
        HubConfig::default(),
        Some(Duration::from_secs(600)),
        front,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    let start = sse.next_event().await.id();
    for _ in 0..3 {
        nudge(&s.pool, "matches", None, false).await;
    }
    let retention = projections::NudgeRetention {
        keep_rows: 1,
        keep_for: Duration::ZERO,
    };
    projections::retention::prune_nudges(&s.pool, retention)
        .await
        .unwrap();
    let head = nudge(&s.pool, "live", None, true).await;
    assert_eq!(head, start + 4);
    let event = sse.next_event().await;
    assert_eq!((event.kind(), event.id()), ("resync", head));
    assert!(sse.next().await.is_none(), "closed after resync");
    let mut sse = Sse::connect(&s.url, None).await;
    let hello = sse.next_event().await;
    assert_eq!((hello.kind(), hello.id()), ("hello", head));
    let after = nudge(&s.pool, "standings", None, true).await;
    assert_eq!(sse.next_event().await.id(), after);
}

/// (d) `?tournament=` keeps nudges for those tournaments and for everyone; unknown → 404.
async fn tournament_filter(front: Front) {
    let s = server(
        "stream_filter",
        HubConfig::default(),
        Some(Duration::from_millis(200)),
        front,
    )
    .await;
    let mut only_a = Sse::connect(&format!("{}?tournament=a", s.url), None).await;
    let mut both = Sse::connect(&format!("{}?tournament=a&tournament=b", s.url), None).await;
    let mut comma = Sse::connect(&format!("{}?tournament=b,a", s.url), None).await;
    let mut all = Sse::connect(&s.url, None).await;
    let mut current = Sse::connect(&format!("{}?tournament=current", s.url), None).await;
    for sse in [&mut only_a, &mut both, &mut comma, &mut all, &mut current] {
        assert_eq!(sse.next_event().await.kind(), "hello");
    }
    let for_b = nudge(&s.pool, "standings", Some(&[7]), true).await;
    let for_a = nudge(&s.pool, "standings", Some(&[3]), true).await;
    let for_all = nudge(&s.pool, "live", None, true).await;
    let for_b2 = nudge(&s.pool, "matches", Some(&[7, 11]), true).await;
    let for_ab = nudge(&s.pool, "matches", Some(&[11, 3, 7]), true).await;
    let every = [for_b, for_a, for_all, for_b2, for_ab];
    for sse in [&mut both, &mut comma, &mut all] {
        for id in every {
            assert_eq!(sse.next_event().await.id(), id);
        }
    }
    // In id order, so b's nudges would have come before these.
    for sse in [&mut only_a, &mut current] {
        for id in [for_a, for_all, for_ab] {
            assert_eq!(sse.next_event().await.id(), id);
        }
    }

    let client = reqwest::Client::new();
    for query in [
        "tournament=zzz",
        "tournament=a,zzz",
        "tournament=a&tournament=nope",
        "tournament=a%00b",
        "tournament=%FF%FE",
        "tournament=%C3%28",
    ] {
        let response = client
            .get(format!("{}?{query}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{query}");
        assert_eq!(
            response.text().await.unwrap(),
            "{\"detail\":\"Tournament not found\"}"
        );
    }
    let many: Vec<String> = (0..30).map(|i| format!("tournament=t{i}")).collect();
    let response = client
        .get(format!("{}?{}", s.url, many.join("&")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    // Before the first projector build there is no `live.tournaments`: unknown, not 500.
    sqlx::query("DROP TABLE live.tournaments")
        .execute(&s.pool)
        .await
        .unwrap();
    let response = client
        .get(format!("{}?tournament=a", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// (e) A client that never reads does not hold up a reading one, and is dropped.
async fn slow_client_is_dropped_without_delaying_others(front: Front) {
    let s = server(
        "stream_slow",
        HubConfig {
            capacity: 256,
            ..HubConfig::default()
        },
        None,
        front,
    )
    .await;
    let addr = s
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(addr.parse().unwrap()).await.unwrap();
    slow.write_all(format!("GET /v1/stream HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    wait_for("the slow subscriber", || s.hub.subscriber_count() == 1).await;

    let mut reader = Sse::connect(&s.url, None).await;
    assert_eq!(reader.next_event().await.kind(), "hello");
    assert_eq!(s.hub.subscriber_count(), 2);

    let mut next_id = 1;
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.hub.subscriber_count() > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow client was never dropped"
        );
        let batch: Vec<Nudge> = (next_id..next_id + 200)
            .map(|id| Nudge {
                id,
                kind: projections::nudge::NudgeKind::Standings,
                // Long frames (~1 KB) fill the socket buffers with fewer nudges.
                tournament_ids: Some((1000..1150).collect()),
                polled_at: chrono::Utc::now(),
            })
            .collect();
        next_id += 200;
        s.hub.publish(batch);
        // The reader gets every nudge of the batch promptly, whatever the slow one does.
        for id in next_id - 200..next_id {
            assert_eq!(reader.next_event().await.id(), id);
        }
    }
    s.hub.publish([Nudge {
        id: next_id,
        kind: projections::nudge::NudgeKind::Live,
        tournament_ids: None,
        polled_at: chrono::Utc::now(),
    }]);
    assert_eq!(reader.next_event().await.id(), next_id);
    drop(slow);
}

/// (f) The first event says where the stream stands: the newest nudge id, even one written
/// before the process started (recorded at start, not replayed).
async fn first_event_carries_the_head_id(front: Front) {
    let pool = store::testing::migrated_pool("stream_head").await;
    let mut head = 0;
    for _ in 0..3 {
        head = nudge(&pool, "standings", None, false).await;
    }
    let s = serve_on(
        pool,
        HubConfig::default(),
        Some(Duration::from_millis(200)),
        front,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    let first = sse.next().await.unwrap();
    assert_eq!(
        first,
        Event {
            id: Some(head.to_string()),
            event: Some("hello".into()),
            data: Some(hello(head)),
            retry: Some("5000".into()),
            comments: vec![],
        }
    );
    // Nothing from before the start is replayed to a fresh client: the next event is new.
    let next = nudge(&s.pool, "live", None, true).await;
    assert_eq!(sse.next_event().await.id(), next);
}

/// (g) The LISTEN connection is killed: rows committed without a notification reaching the
/// feed are still delivered (the feed reads the table after reconnecting), and NOTIFY works
/// again afterwards. The fallback poll is a minute away, so only the reconnect path delivers.
async fn feed_survives_a_killed_listen_connection(front: Front) {
    let s = server(
        "stream_killed",
        HubConfig::default(),
        Some(Duration::from_secs(60)),
        front,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    let first = nudge(&s.pool, "standings", None, true).await;
    assert_eq!(sse.next_event().await.id(), first);

    let silent = [
        nudge(&s.pool, "matches", Some(&[3]), false).await,
        nudge(&s.pool, "live", None, false).await,
    ];
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    assert_eq!(killed, [true]);
    for id in silent {
        assert_eq!(sse.next_event().await.id(), id);
    }
    let after = nudge(&s.pool, "standings", None, true).await;
    assert_eq!(sse.next_event().await.id(), after);
}

/// Heartbeats when idle, the lifetime cap, and shutdown ending streams.
async fn heartbeat_lifetime_and_close(front: Front) {
    let config = HubConfig {
        heartbeat_interval: Duration::from_millis(200),
        max_lifetime: Duration::from_millis(900),
        ..HubConfig::default()
    };
    let s = server(
        "stream_heartbeat",
        config,
        Some(Duration::from_millis(100)),
        front,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    let started = tokio::time::Instant::now();
    let mut heartbeats = 0;
    while let Some(event) = sse.next().await {
        assert_eq!(event.comments, ["heartbeat"], "{event:?}");
        assert!(event.id.is_none() && event.event.is_none() && event.data.is_none());
        heartbeats += 1;
    }
    let lived = started.elapsed();
    assert!(heartbeats >= 2, "{heartbeats} heartbeats");
    assert!(
        lived >= Duration::from_millis(800),
        "closed after {lived:?}"
    );

    let mut sse = Sse::connect(&s.url, None).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    // Stopping the feed closes the hub: streams end (graceful shutdown need not wait).
    s.stop.send(true).unwrap();
    assert!(sse.next().await.is_none());
    wait_for("no subscribers", || s.hub.subscriber_count() == 0).await;
    let response = reqwest::get(&s.url).await.unwrap();
    assert_eq!(response.status(), 503);
}

/// The lean front answers streams itself (with CORS and a request id) and passes everything
/// else to axum, including a stream asked for on a kept-alive connection.
#[tokio::test]
async fn lean_front_headers_and_pass_through() {
    let s = server(
        "stream_lean",
        HubConfig::default(),
        Some(Duration::from_millis(200)),
        Front::Lean,
    )
    .await;
    let client = reqwest::Client::new();
    let response = client
        .get(&s.url)
        .header("origin", "https://overlay.example")
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["x-request-id"], "req-42");
    assert_eq!(response.headers()["connection"], "close");
    drop(response);
    let response = client.get(&s.url).send().await.unwrap();
    assert!(!response
        .headers()
        .contains_key("access-control-allow-origin"));
    assert_eq!(response.headers()["x-request-id"].len(), 36);
    drop(response);

    // Other routes go to axum; a stream on the same kept-alive connection too.
    let response = client.get(format!("{}/ping", s.base)).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "pong");
    let missing = client
        .get(format!("{}/v1/streams", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // `client` keeps the /ping connection alive: this stream is the second request on it.
    let mut sse = Sse::send(client.get(&s.url)).await;
    assert!(
        !sse.response.headers().contains_key("connection"),
        "served by axum"
    );
    assert_eq!(sse.next_event().await.kind(), "hello");
    let id = nudge(&s.pool, "live", None, true).await;
    assert_eq!(sse.next_event().await.id(), id);

    // Errors in the contract's shape.
    let response = client
        .get(format!("{}?tournament=nope", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        "{\"detail\":\"Tournament not found\"}"
    );

    // A request head that dribbles in byte by byte is still served.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    for byte in b"GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n" {
        tcp.write_all(&[*byte]).await.unwrap();
        tcp.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(12).any(|w| w == b"event: hello") {
        let n = tokio::time::timeout(WAIT, tokio::io::AsyncReadExt::read(&mut tcp, &mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

/// Each scenario against both fronts.
macro_rules! both_fronts {
    ($($scenario:ident => $axum:ident, $lean:ident;)*) => {$(
        #[tokio::test]
        async fn $axum() {
            $scenario(Front::Axum).await
        }

        #[tokio::test]
        async fn $lean() {
            $scenario(Front::Lean).await
        }
    )*};
}

both_fronts! {
    subscriber_receives_notified_nudges => subscriber_receives_notified_nudges_axum, subscriber_receives_notified_nudges_lean;
    last_event_id_replays_missed_nudges => last_event_id_replays_missed_nudges_axum, last_event_id_replays_missed_nudges_lean;
    unusable_last_event_id_gets_resync => unusable_last_event_id_gets_resync_axum, unusable_last_event_id_gets_resync_lean;
    tournament_filter => tournament_filter_axum, tournament_filter_lean;
    slow_client_is_dropped_without_delaying_others => slow_client_is_dropped_without_delaying_others_axum, slow_client_is_dropped_without_delaying_others_lean;
    first_event_carries_the_head_id => first_event_carries_the_head_id_axum, first_event_carries_the_head_id_lean;
    feed_survives_a_killed_listen_connection => feed_survives_a_killed_listen_connection_axum, feed_survives_a_killed_listen_connection_lean;
    heartbeat_lifetime_and_close => heartbeat_lifetime_and_close_axum, heartbeat_lifetime_and_close_lean;
    pruned_history_gets_resync => pruned_history_gets_resync_axum, pruned_history_gets_resync_lean;
    feed_behind_pruning_resyncs_subscribers => feed_behind_pruning_resyncs_subscribers_axum, feed_behind_pruning_resyncs_subscribers_lean;
}
