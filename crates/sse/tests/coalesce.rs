//! Coalesced nudges end to end (real PostgreSQL, the feed, the lean front, an HTTP client):
//! a burst of projector commits within the window reaches clients as one nudge per kind
//! carrying the newest id, a change after the window as another, and `Last-Event-ID` resume
//! and `?tournament=` filtering keep their meaning.

mod common;

use std::time::Duration;

use common::*;
use sse::HubConfig;

/// Long enough for a burst of commits on a loaded machine to land in one window.
const WINDOW: Duration = Duration::from_millis(1000);

fn coalescing() -> HubConfig {
    HubConfig {
        coalesce_window: WINDOW,
        ..HubConfig::default()
    }
}

/// The burst: what one upstream change looks like in `nudge_log` (one row per projector
/// commit, milliseconds apart). Returns the ids (standings 3, standings 7, live 3,
/// standings 3, matches 3).
async fn burst(s: &Server) -> [i64; 5] {
    [
        nudge(&s.pool, "standings", Some(&[3]), true).await,
        nudge(&s.pool, "standings", Some(&[7]), true).await,
        nudge(&s.pool, "live", Some(&[3]), true).await,
        nudge(&s.pool, "standings", Some(&[3]), true).await,
        nudge(&s.pool, "matches", Some(&[3]), true).await,
    ]
}

fn scope(event: &Event) -> String {
    let data = event.data.as_deref().expect("data");
    let at = data.find("\"tournament_ids\": ").expect("tournament_ids") + 18;
    data[at..data.len() - 1].to_owned()
}

fn summary(event: &Event) -> (i64, String, String) {
    (event.id(), event.kind().to_owned(), scope(event))
}

#[tokio::test]
async fn a_burst_is_one_nudge_per_kind_and_a_later_change_another() {
    // The fallback poll is a minute away: delivery is by NOTIFY, then the window.
    let s = server(
        "coalesce_burst",
        coalescing(),
        Some(Duration::from_secs(60)),
        Front::Lean,
    )
    .await;
    let mut all = Sse::connect(&s.url, None).await;
    assert_eq!(all.next_event().await.kind(), "hello");
    let mut only_b = Sse::connect(&format!("{}?tournament=b", s.url), None).await;
    assert_eq!(only_b.next_event().await.kind(), "hello");

    let [_, _, live, standings, matches] = burst(&s).await;
    // In id order, one per kind, each with its kind's newest id and every tournament.
    let got = [
        summary(&all.next_event().await),
        summary(&all.next_event().await),
        summary(&all.next_event().await),
    ];
    assert_eq!(
        got,
        [
            (live, "live".into(), "[3]".into()),
            (standings, "standings".into(), "[3, 7]".into()),
            (matches, "matches".into(), "[3]".into()),
        ]
    );
    // Tournament b only changed standings.
    assert_eq!(
        summary(&only_b.next_event().await),
        (standings, "standings".into(), "[3, 7]".into())
    );

    // After the window: another nudge, and nothing else came in between.
    let later = nudge(&s.pool, "standings", Some(&[7]), true).await;
    assert_eq!(
        summary(&all.next_event().await),
        (later, "standings".into(), "[7]".into())
    );
    assert_eq!(
        summary(&only_b.next_event().await),
        (later, "standings".into(), "[7]".into())
    );
}

#[tokio::test]
async fn resume_after_a_coalesced_id_replays_what_came_later_coalesced() {
    let s = server(
        "coalesce_resume",
        HubConfig {
            max_replay: 10,
            ..coalescing()
        },
        Some(Duration::from_millis(200)),
        Front::Lean,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    let [_, _, live, standings, matches] = burst(&s).await;
    assert_eq!(sse.next_event().await.id(), live);
    drop(sse); // gone before the standings and matches nudges

    // Resume from the coalesced live id: the standings and matches nudges, not the rows.
    wait_for("the window", || s.hub.head_id() == matches).await;
    let mut sse = Sse::connect(&s.url, Some(live.to_string().as_bytes())).await;
    let hello_event = sse.next_event().await;
    assert_eq!(
        (hello_event.kind(), hello_event.id.as_deref()),
        ("hello", None)
    );
    assert_eq!(
        summary(&sse.next_event().await),
        (standings, "standings".into(), "[3, 7]".into())
    );
    assert_eq!(
        summary(&sse.next_event().await),
        (matches, "matches".into(), "[3]".into())
    );
    // Then live ones, coalesced.
    let one = nudge(&s.pool, "live", Some(&[7]), true).await;
    let two = nudge(&s.pool, "live", Some(&[3]), true).await;
    assert!(one < two);
    assert_eq!(
        summary(&sse.next_event().await),
        (two, "live".into(), "[3, 7]".into())
    );
    drop(sse);

    // A restarted replica: the ring is rebuilt from `nudge_log`, its history coalesced.
    let _ = s.stop.send(true);
    let restarted = serve_on(
        s.pool.clone(),
        coalescing(),
        Some(Duration::from_millis(200)),
        Front::Axum,
    )
    .await;
    let mut sse = Sse::connect(
        &format!("{}?tournament=a", restarted.url),
        Some(live.to_string().as_bytes()),
    )
    .await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    assert_eq!(
        summary(&sse.next_event().await),
        (standings, "standings".into(), "[3, 7]".into())
    );
    assert_eq!(
        summary(&sse.next_event().await),
        (matches, "matches".into(), "[3]".into())
    );
    assert_eq!(
        summary(&sse.next_event().await),
        (two, "live".into(), "[3, 7]".into())
    );
    // Caught up: the next frame is a new nudge.
    let three = nudge(&s.pool, "matches", Some(&[3]), true).await;
    assert_eq!(sse.next_event().await.id(), three);
}

#[tokio::test]
async fn an_old_cursor_is_replayed_from_the_table_coalesced() {
    // A ring of one row: older cursors are served from `nudge_log`.
    let s = server(
        "coalesce_table",
        HubConfig {
            history: 1,
            ..coalescing()
        },
        Some(Duration::from_millis(200)),
        Front::Lean,
    )
    .await;
    let before = nudge(&s.pool, "live", None, false).await;
    let [_, _, live, standings, matches] = burst(&s).await;
    let _ = s.stop.send(true);
    let s = serve_on(
        s.pool.clone(),
        HubConfig {
            history: 1,
            ..coalescing()
        },
        Some(Duration::from_millis(200)),
        Front::Lean,
    )
    .await;
    let mut sse = Sse::connect(&s.url, Some(before.to_string().as_bytes())).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    // From the table: (before, matches) minus the ring's newest row, coalesced; then the ring.
    let got = [
        summary(&sse.next_event().await),
        summary(&sse.next_event().await),
        summary(&sse.next_event().await),
    ];
    assert_eq!(
        got,
        [
            (live, "live".into(), "[3]".into()),
            (standings, "standings".into(), "[3, 7]".into()),
            (matches, "matches".into(), "[3]".into()),
        ]
    );
}
