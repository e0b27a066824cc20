//! Shared fixtures: the stream-platform fake over real HTTP, a fresh migrated database on the
//! test binary's embedded cluster, a tournament appended through the event store and
//! projected, and the public API over real HTTP to read `stream_live` and `host_stream_live`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::tournament::{TournamentAction, TournamentConfig};
use serde_json::Value;
use sim::{StreamsFake, StreamsFakeConfig};
use sqlx::PgPool;
use store::EventStore;
use stream_live::{StreamPoller, StreamsConfig, TwitchConfig, YoutubeConfig};
use testkit::seed;

pub struct Env {
    pub pool: PgPool,
    pub store: EventStore,
    pub fake: StreamsFake,
    pub fake_base: String,
    pub api: String,
    pub http: reqwest::Client,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Env {
    pub async fn start(prefix: &str) -> Env {
        let (addr, fake, fake_task) = sim::spawn_streams(StreamsFakeConfig::default())
            .await
            .expect("bind the fake");
        let pool = store::testing::migrated_pool(prefix).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the api");
        let api = listener.local_addr().expect("api address");
        let app = api::router(api::AppState::new(pool.clone()));
        let api_task = tokio::spawn(async move { axum::serve(listener, app).await });
        Env {
            store: EventStore::new(pool.clone()),
            pool,
            fake,
            fake_base: format!("http://{addr}"),
            api: format!("http://{api}"),
            http: reqwest::Client::new(),
            tasks: vec![fake_task, api_task],
        }
    }

    /// Both platforms on, at the fake, with the fake's credentials; every YouTube channel
    /// fits in one cycle's budget.
    pub fn config(&self) -> StreamsConfig {
        let fake = StreamsFakeConfig::default();
        StreamsConfig {
            twitch: TwitchConfig::from_credentials(
                Some(&fake.twitch_client_id),
                Some(&fake.twitch_client_secret),
                &self.fake_base,
                &self.fake_base,
            ),
            youtube: YoutubeConfig::from_key(Some(&fake.youtube_api_key), &self.fake_base, 10_000),
            twitch_interval: Duration::from_millis(50),
            youtube_interval: Duration::from_secs(86_400),
            timeout: Duration::from_secs(5),
            lock_retry: Duration::from_millis(50),
            lock_check: Duration::from_millis(100),
            ..StreamsConfig::default()
        }
    }

    pub fn twitch_only(&self) -> StreamsConfig {
        StreamsConfig {
            youtube: None,
            ..self.config()
        }
    }

    pub fn poller(&self, config: StreamsConfig) -> StreamPoller {
        StreamPoller::new(config, self.pool.clone()).expect("stream poller")
    }

    /// Applies every appended event to the read models.
    pub async fn settle(&self) {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .expect("count events");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            projections::runner::catch_up(&self.pool, &projections::core::Core, 500)
                .await
                .expect("projector");
            let builds = projections::runner::builds(&self.pool)
                .await
                .expect("builds");
            if builds.iter().all(|b| b.is_live() && b.events == total) {
                return;
            }
            assert!(Instant::now() < deadline, "projector did not catch up");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .expect("api request");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("json body")
    }

    /// `(stream_live, stream_title, stream_category)` of a roster row, by name.
    pub async fn stream_of(&self, slug: &str, name: &str) -> (bool, Value, Value) {
        let standings = self.get(&format!("/v1/tournaments/{slug}/standings")).await;
        let rows = standings["items"].as_array().expect("standings items");
        let row = rows
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no row {name} in {standings}"));
        (
            row["stream_live"].as_bool().expect("stream_live"),
            row["stream_title"].clone(),
            row["stream_category"].clone(),
        )
    }

    pub async fn host_live(&self, slug: &str) -> bool {
        let detail = self.get(&format!("/v1/tournaments/{slug}")).await;
        let listed = self.get("/v1/tournaments").await;
        let in_list = listed
            .as_array()
            .expect("tournament list")
            .iter()
            .find(|t| t["slug"] == slug)
            .expect("listed")["host_stream_live"]
            .as_bool();
        let one = detail["host_stream_live"].as_bool();
        assert_eq!(one, in_list, "detail and list agree");
        one.expect("host_stream_live")
    }

    /// `(aggregate_id, event_type)` → count, for StreamChannel events.
    pub async fn stream_events(&self) -> BTreeMap<(String, String), i64> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT aggregate_id, event_type, count(*) FROM events
              WHERE aggregate_type = 'StreamChannel' GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .fetch_all(&self.pool)
        .await
        .expect("count events");
        rows.into_iter().map(|(a, e, n)| ((a, e), n)).collect()
    }

    /// The scope of the newest `live` nudge.
    pub async fn last_live_nudge(&self) -> Option<Option<Vec<i64>>> {
        sqlx::query_scalar(
            "SELECT tournament_ids FROM nudge_log WHERE kind = 'live' ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .expect("nudge log")
    }

    pub async fn create_tournament(&self, slug: &str, id: i64, hosts: &[&str]) {
        let config = TournamentConfig {
            host_stream_urls: hosts.iter().map(|h| h.to_string()).collect(),
            ..seed::plain(&format!("Tournament {slug}"), None)
        };
        seed::tournament(&self.store, id, slug, config, Utc::now()).await;
    }

    /// An unlinked roster row (visible in standings without any ladder data).
    pub async fn add_player(&self, slug: &str, id: i64, name: &str, presentation: Value) {
        self.manage(
            slug,
            TournamentAction::AddPlayerToRoster {
                tournament_player_id: id,
                name: name.into(),
                profile_id: None,
                presentation,
            },
        )
        .await;
    }

    pub async fn manage(&self, slug: &str, action: TournamentAction) {
        seed::manage_all(&self.store, slug, [action]).await;
    }
}

/// Waits (polling every 10 ms) until `cond` holds; panics after `within`.
pub async fn wait_for(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
