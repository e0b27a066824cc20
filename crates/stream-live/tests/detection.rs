//! Stream-live detection end to end: the platform fake over real HTTP, the stream poller,
//! events in a real PostgreSQL, the core projector, and the public API over real HTTP.

mod common;

use std::time::Duration;

use common::{wait_for, Env};
use domain::streams::Platform;
use domain::tournament::TournamentAction;
use serde_json::{json, Value};
use stream_live::{CycleError, PlatformError, StreamsConfig};

const AOE: &str = "Age of Empires II";

fn key(id: &str, event: &str) -> (String, String) {
    (id.to_owned(), event.to_owned())
}

/// Tournament `cup` (id 1): Hera (Twitch and YouTube), Yoda (YouTube only), Quiet (none).
async fn cup(env: &Env, hosts: &[&str]) {
    env.create_tournament("cup", 1, hosts).await;
    env.add_player(
        "cup",
        10,
        "Hera",
        json!({"displayName": "Hera", "streamUrls": ["https://www.twitch.tv/Hera", "https://youtube.com/@hera"]}),
    )
    .await;
    env.add_player(
        "cup",
        11,
        "Yoda",
        json!({"youtube": "https://www.youtube.com/@yoda"}),
    )
    .await;
    env.add_player("cup", 12, "Quiet", json!({"bio": "no stream"}))
        .await;
    env.settle().await;
}

#[tokio::test]
async fn a_streamer_going_live_and_offline_flips_stream_live_with_title_and_category() {
    let env = Env::start("streams_flip").await;
    cup(&env, &[]).await;
    let poller = env.poller(env.twitch_only());
    let offline = (false, Value::Null, Value::Null);

    let report = poller.run_cycle(Platform::Twitch).await.expect("cycle");
    assert_eq!((report.watched, report.live), (1, 0));
    env.settle().await;
    assert_eq!(env.stream_of("cup", "Hera").await, offline);

    env.fake.twitch_live("hera", "Bo7 vs ACCM", AOE);
    let report = poller.run_cycle(Platform::Twitch).await.expect("cycle");
    assert_eq!(report.live, 1);
    env.settle().await;
    assert_eq!(
        env.stream_of("cup", "Hera").await,
        (true, json!("Bo7 vs ACCM"), json!(AOE))
    );
    assert_eq!(env.stream_of("cup", "Quiet").await, offline);
    assert_eq!(
        env.last_live_nudge().await,
        Some(Some(vec![1])),
        "a live nudge for the tournament that names the channel"
    );

    env.fake.twitch_offline("hera");
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    env.settle().await;
    assert_eq!(env.stream_of("cup", "Hera").await, offline);
    let events = env.stream_events().await;
    assert_eq!(events.get(&key("twitch:hera", "StreamWentLive")), Some(&1));
    assert_eq!(
        events.get(&key("twitch:hera", "StreamWentOffline")),
        Some(&1)
    );
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn a_channel_that_stays_live_appends_no_further_events() {
    let env = Env::start("streams_stay").await;
    cup(&env, &[]).await;
    let poller = env.poller(env.twitch_only());
    env.fake.twitch_live("hera", "Bo7 vs ACCM", AOE);
    for _ in 0..3 {
        poller.run_cycle(Platform::Twitch).await.expect("cycle");
    }
    // A new leader term forgets what was sent: the aggregate itself drops the repeat.
    poller.reset_caches();
    let report = poller.run_cycle(Platform::Twitch).await.expect("cycle");
    assert_eq!(report.commands, 1, "the command reached the aggregate");
    let events = env.stream_events().await;
    assert_eq!(events.values().sum::<i64>(), 1, "{events:?}");

    // A new title is a change: one StreamUpdated, shown by the standings.
    env.fake.twitch_live("hera", "Game 2", AOE);
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    env.settle().await;
    assert_eq!(
        env.stream_of("cup", "Hera").await,
        (true, json!("Game 2"), json!(AOE))
    );
    let events = env.stream_events().await;
    assert_eq!(events.get(&key("twitch:hera", "StreamUpdated")), Some(&1));
    assert_eq!(events.values().sum::<i64>(), 2);
}

#[tokio::test]
async fn twitch_wins_over_youtube_when_both_are_live() {
    let env = Env::start("streams_both").await;
    // The hosts name Hera's YouTube channel and no Twitch one: YouTube checks it for them.
    cup(&env, &["https://youtube.com/@Hera"]).await;
    env.fake.youtube_channel("@hera", "UCHera");
    env.fake.youtube_channel("@yoda", "UCYoda");
    env.fake.youtube_live("UCHera", "Hera on YouTube");
    env.fake.youtube_live("UCYoda", "Yoda on YouTube");
    env.fake.twitch_live("hera", "Hera on Twitch", AOE);
    let poller = env.poller(env.config());

    let youtube = poller.run_cycle(Platform::Youtube).await.expect("youtube");
    // @Hera (hosts), @hera (Hera's row has Twitch: not checked for it) and @yoda.
    assert_eq!((youtube.watched, youtube.checked, youtube.live), (2, 2, 2));
    poller.run_cycle(Platform::Twitch).await.expect("twitch");
    env.settle().await;
    assert_eq!(
        env.stream_of("cup", "Hera").await,
        (true, json!("Hera on Twitch"), json!(AOE)),
        "Twitch's title and category win"
    );
    assert_eq!(
        env.stream_of("cup", "Yoda").await,
        (true, json!("Yoda on YouTube"), Value::Null),
        "YouTube has no category"
    );
    assert!(env.host_live("cup").await);

    // Twitch goes offline: the row is still live, on YouTube.
    env.fake.twitch_offline("hera");
    poller.run_cycle(Platform::Twitch).await.expect("twitch");
    env.settle().await;
    assert_eq!(
        env.stream_of("cup", "Hera").await,
        (true, json!("Hera on YouTube"), Value::Null)
    );

    // Everything offline.
    env.fake.youtube_offline("UCHera");
    env.fake.youtube_offline("UCYoda");
    poller.run_cycle(Platform::Youtube).await.expect("youtube");
    env.settle().await;
    assert_eq!(
        env.stream_of("cup", "Hera").await,
        (false, Value::Null, Value::Null)
    );
    assert!(!env.host_live("cup").await);
    // Handles were looked up once each, then cached.
    assert_eq!(env.fake.counters().youtube_channels, 2);
}

#[tokio::test]
async fn a_401_re_mints_the_token_once() {
    let env = Env::start("streams_401").await;
    cup(&env, &[]).await;
    let poller = env.poller(env.twitch_only());
    env.fake.twitch_live("hera", "Bo7", AOE);
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    let c = env.fake.counters();
    assert_eq!(
        (c.token_mints, c.helix_requests),
        (1, 2),
        "the token is reused"
    );

    env.fake.revoke_tokens();
    let report = poller.run_cycle(Platform::Twitch).await.expect("recovers");
    assert_eq!(report.requests, 3, "401, a new token, the retry");
    let c = env.fake.counters();
    assert_eq!(c.token_mints, 2);
    assert_eq!(c.helix_unauthorized, 1);
    assert_eq!(c.helix_requests, 4);

    // The fresh token is cached again; the live stream was never reported offline.
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    assert_eq!(env.fake.counters().token_mints, 2);
    let events = env.stream_events().await;
    assert_eq!(events.values().sum::<i64>(), 1, "{events:?}");
}

#[tokio::test]
async fn a_token_refused_twice_fails_the_cycle_and_appends_nothing() {
    let env = Env::start("streams_401_twice").await;
    cup(&env, &[]).await;
    env.fake.twitch_live("hera", "Bo7", AOE);
    let poller = env.poller(env.twitch_only());
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    env.fake.twitch_offline("hera");
    env.fake.refuse_helix(2);
    let outcome = poller.run_cycle(Platform::Twitch).await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::Platform(PlatformError::Unauthorized))
        ),
        "{outcome:?}"
    );
    let c = env.fake.counters();
    assert_eq!(c.token_mints, 2, "one re-mint, not a loop");
    assert_eq!((c.helix_requests, c.helix_unauthorized), (3, 2));
    let events = env.stream_events().await;
    assert_eq!(
        events.values().sum::<i64>(),
        1,
        "a failed call is not an offline observation: {events:?}"
    );
}

#[tokio::test]
async fn without_credentials_no_request_is_made_and_the_fields_stay_false() {
    let env = Env::start("streams_off").await;
    cup(&env, &["https://twitch.tv/hera"]).await;
    env.fake.twitch_live("hera", "Bo7", AOE);
    env.fake.youtube_channel("@yoda", "UCYoda");
    env.fake.youtube_live("UCYoda", "Yoda");
    let poller = env.poller(StreamsConfig::default());
    assert!(poller.platforms().is_empty());
    let (_stop, stop) = tokio::sync::watch::channel(false);
    tokio::time::timeout(Duration::from_secs(5), poller.clone().run(stop))
        .await
        .expect("run returns at once when no platform is on");
    for platform in [Platform::Twitch, Platform::Youtube] {
        assert!(matches!(
            poller.run_cycle(platform).await,
            Err(CycleError::Disabled(_))
        ));
    }
    env.settle().await;
    assert_eq!(env.fake.counters().total(), 0);
    assert!(env.stream_events().await.is_empty());
    for name in ["Hera", "Yoda", "Quiet"] {
        assert_eq!(
            env.stream_of("cup", name).await,
            (false, Value::Null, Value::Null)
        );
    }
    assert!(!env.host_live("cup").await);
}

#[tokio::test]
async fn helix_is_asked_100_logins_at_a_time_and_sees_more_than_one_page() {
    let env = Env::start("streams_batches").await;
    // Two tournaments of 75 (the roster cap is 100): 150 Twitch channels.
    for (slug, id) in [("one", 1), ("two", 2)] {
        env.create_tournament(slug, id, &[]).await;
        for n in 0..75 {
            let row = id * 1000 + n;
            env.add_player(
                slug,
                row,
                &format!("p{row}"),
                json!({"twitch": format!("https://twitch.tv/p{row}")}),
            )
            .await;
        }
    }
    env.settle().await;
    // 30 live in the first batch: more than Helix's default page of 20.
    for n in 0..30 {
        env.fake.twitch_live(&format!("p{}", 1000 + n), "live", AOE);
    }
    let poller = env.poller(env.twitch_only());
    let report = poller.run_cycle(Platform::Twitch).await.expect("cycle");
    assert_eq!((report.watched, report.live), (150, 30));
    assert_eq!(env.fake.counters().helix_batches, vec![100, 50]);
    env.settle().await;
    assert!(env.stream_of("one", "p1029").await.0);
    assert!(!env.stream_of("one", "p1030").await.0);
}

#[tokio::test]
async fn a_channel_nobody_names_any_more_goes_offline() {
    let env = Env::start("streams_unnamed").await;
    cup(&env, &[]).await;
    env.fake.twitch_live("hera", "Bo7", AOE);
    let poller = env.poller(env.twitch_only());
    poller.run_cycle(Platform::Twitch).await.expect("cycle");
    env.manage(
        "cup",
        TournamentAction::UpdateRosterPlayer {
            tournament_player_id: 10,
            presentation: Some(json!({"displayName": "Hera"})),
            profile_id: None,
        },
    )
    .await;
    env.settle().await;
    // Nobody names twitch:hera: no Helix call, and the channel is observed offline.
    let report = poller.run_cycle(Platform::Twitch).await.expect("cycle");
    assert_eq!((report.watched, report.requests), (0, 0));
    env.settle().await;
    let events = env.stream_events().await;
    assert_eq!(
        events.get(&key("twitch:hera", "StreamWentOffline")),
        Some(&1)
    );
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM live.live_streams")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(live, 0);
}

#[tokio::test]
async fn youtube_quota_trouble_leaves_channels_as_they_were_and_stops_asking() {
    let env = Env::start("streams_quota").await;
    cup(&env, &[]).await;
    env.fake.youtube_channel("@yoda", "UCYoda");
    env.fake.youtube_live("UCYoda", "Yoda");
    let poller = env.poller(env.config());
    poller.run_cycle(Platform::Youtube).await.expect("cycle");

    env.fake.youtube_quota_exceeded(true);
    let outcome = poller.run_cycle(Platform::Youtube).await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::Platform(PlatformError::QuotaExceeded))
        ),
        "{outcome:?}"
    );
    let asked = env.fake.counters().youtube_searches;
    // The quota day is spent: the next cycle asks nothing.
    env.fake.youtube_quota_exceeded(false);
    assert!(poller.run_cycle(Platform::Youtube).await.is_err());
    assert_eq!(env.fake.counters().youtube_searches, asked);
    env.settle().await;
    assert_eq!(
        env.stream_of("cup", "Yoda").await,
        (true, json!("Yoda"), Value::Null),
        "still live: a refused check is not an offline observation"
    );
}

#[tokio::test]
async fn youtube_checks_a_budgeted_few_channels_per_cycle_in_turn() {
    let env = Env::start("streams_budget").await;
    env.create_tournament("yt", 1, &[]).await;
    for n in 0..5 {
        env.add_player(
            "yt",
            100 + n,
            &format!("y{n}"),
            json!({"youtube": format!("https://youtube.com/channel/UC{n}")}),
        )
        .await;
    }
    env.settle().await;
    // The default budget: 10,000 units over 48 cycles a day, 100 per search: 2 per cycle.
    let config = StreamsConfig {
        youtube_interval: Duration::from_secs(1800),
        ..env.config()
    };
    let poller = env.poller(config);
    let mut checked = 0;
    for _ in 0..3 {
        checked += poller
            .run_cycle(Platform::Youtube)
            .await
            .expect("cycle")
            .checked;
    }
    assert_eq!(checked, 6);
    let c = env.fake.counters();
    assert_eq!(c.youtube_searches, 6);
    assert_eq!(c.youtube_channels, 0, "channel ids need no lookup");
}

#[tokio::test]
async fn only_one_process_detects_streams() {
    let env = Env::start("streams_leader").await;
    cup(&env, &[]).await;
    env.fake.twitch_live("hera", "Bo7", AOE);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let first = tokio::spawn(env.poller(env.twitch_only()).run(stop.clone()));
    let fake = env.fake.clone();
    wait_for(Duration::from_secs(20), "the first poller's cycles", || {
        fake.counters().helix_requests >= 2
    })
    .await;
    let second = tokio::spawn(env.poller(env.twitch_only()).run(stop));
    let seen = env.fake.counters().helix_requests;
    wait_for(Duration::from_secs(20), "more cycles", || {
        fake.counters().helix_requests >= seen + 5
    })
    .await;
    // Each poller mints its own token on its first cycle: one mint = one poller polled.
    assert_eq!(env.fake.counters().token_mints, 1);
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(20), async {
        first.await.expect("first");
        second.await.expect("second");
    })
    .await
    .expect("both stop");
    let events = env.stream_events().await;
    assert_eq!(events.values().sum::<i64>(), 1, "{events:?}");
}
