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

/// (`id:` if any, event, `tournament_ids`).
fn summary(event: &Event) -> (Option<i64>, String, String) {
    let id = event.id.as_deref().map(|id| id.parse().unwrap());
    (id, event.kind().to_owned(), scope(event))
}

fn frame(id: Option<i64>, kind: &str, scope: &str) -> (Option<i64>, String, String) {
    (id, kind.to_owned(), scope.to_owned())
}

async fn frames(sse: &mut Sse, n: usize) -> Vec<(Option<i64>, String, String)> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(summary(&sse.next_event().await));
    }
    got
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

    let [_, _, _, _, newest] = burst(&s).await;
    // In id order, one per kind with every tournament of its rows; the batch's newest id on
    // its last frame.
    assert_eq!(
        frames(&mut all, 3).await,
        [
            frame(None, "live", "[3]"),
            frame(None, "standings", "[3, 7]"),
            frame(Some(newest), "matches", "[3]"),
        ]
    );
    // Tournament b only changed standings: the last frame for it carries the batch's id.
    assert_eq!(
        frames(&mut only_b, 1).await,
        [frame(Some(newest), "standings", "[3, 7]")]
    );

    // After the window: another nudge, and nothing else came in between.
    let later = nudge(&s.pool, "standings", Some(&[7]), true).await;
    for sse in [&mut all, &mut only_b] {
        assert_eq!(
            frames(sse, 1).await,
            [frame(Some(later), "standings", "[7]")]
        );
    }
}

#[tokio::test]
async fn resume_replays_what_came_later_coalesced_from_any_id() {
    let s = server(
        "coalesce_resume",
        coalescing(),
        Some(Duration::from_millis(200)),
        Front::Lean,
    )
    .await;
    let mut sse = Sse::connect(&s.url, None).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    let [_, _, live, _, first] = burst(&s).await;
    assert_eq!(frames(&mut sse, 3).await[2].0, Some(first));
    drop(sse);
    // Missed: a second burst.
    let second = [
        nudge(&s.pool, "standings", Some(&[7]), true).await,
        nudge(&s.pool, "live", Some(&[3]), true).await,
        nudge(&s.pool, "standings", Some(&[3]), true).await,
    ];
    let [_, live_2, newest] = second;
    wait_for("the window", || s.hub.head_id() == newest).await;

    // From the first batch's id: the second batch, coalesced.
    let mut sse = Sse::connect(&s.url, Some(first.to_string().as_bytes())).await;
    let hello_event = sse.next_event().await;
    assert_eq!(
        (hello_event.kind(), hello_event.id.as_deref()),
        ("hello", None)
    );
    let second_batch = [
        frame(None, "live", "[3]"),
        frame(Some(newest), "standings", "[3, 7]"),
    ];
    assert_eq!(frames(&mut sse, 2).await, second_batch);
    // Then live ones, coalesced.
    let one = nudge(&s.pool, "live", Some(&[7]), true).await;
    let two = nudge(&s.pool, "live", Some(&[3]), true).await;
    assert!(one < two);
    assert_eq!(
        frames(&mut sse, 1).await,
        [frame(Some(two), "live", "[3, 7]")]
    );
    drop(sse);

    // An id inside this replica's first batch (another replica batched differently): every
    // row after it is covered.
    let mut sse = Sse::connect(&s.url, Some(live.to_string().as_bytes())).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    assert_eq!(
        frames(&mut sse, 5).await,
        [
            frame(None, "standings", "[3, 7]"),
            frame(Some(first), "matches", "[3]"),
            second_batch[0].clone(),
            second_batch[1].clone(),
            frame(Some(two), "live", "[3, 7]"),
        ]
    );
    drop(sse);

    // Filtered: only what concerns tournament b, the batch's id on its last frame for b.
    let url_b = format!("{}?tournament=b", s.url);
    let mut sse = Sse::connect(&url_b, Some(first.to_string().as_bytes())).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    assert_eq!(
        frames(&mut sse, 2).await,
        [
            frame(Some(newest), "standings", "[3, 7]"),
            frame(Some(two), "live", "[3, 7]"),
        ]
    );
    drop(sse);

    // A restarted replica: the ring is rebuilt from `nudge_log`, its history one batch.
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
        Some(first.to_string().as_bytes()),
    )
    .await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    assert!(live_2 < newest && newest < two);
    assert_eq!(
        frames(&mut sse, 2).await,
        [
            frame(None, "standings", "[3, 7]"),
            frame(Some(two), "live", "[3, 7]"),
        ]
    );
    // Caught up: the next frame is a new nudge.
    let three = nudge(&s.pool, "matches", Some(&[3]), true).await;
    assert_eq!(
        frames(&mut sse, 1).await,
        [frame(Some(three), "matches", "[3]")]
    );
}

#[tokio::test]
async fn an_old_cursor_is_replayed_from_the_table_coalesced() {
    // A ring of one row: older cursors are served from `nudge_log`.
    let config = || HubConfig {
        history: 1,
        ..coalescing()
    };
    let s = server(
        "coalesce_table",
        config(),
        Some(Duration::from_millis(200)),
        Front::Lean,
    )
    .await;
    let before = nudge(&s.pool, "live", None, false).await;
    let [_, _, _, standings, matches] = burst(&s).await;
    let _ = s.stop.send(true);
    let s = serve_on(
        s.pool.clone(),
        config(),
        Some(Duration::from_millis(200)),
        Front::Lean,
    )
    .await;
    let mut sse = Sse::connect(&s.url, Some(before.to_string().as_bytes())).await;
    assert_eq!(sse.next_event().await.kind(), "hello");
    // From the table: the rows before the ring's one, coalesced; then the ring.
    assert_eq!(
        frames(&mut sse, 3).await,
        [
            frame(None, "live", "[3]"),
            frame(Some(standings), "standings", "[3, 7]"),
            frame(Some(matches), "matches", "[3]"),
        ]
    );
}
