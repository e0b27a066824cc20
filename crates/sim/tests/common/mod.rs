//! Shared helpers: a served simulator, a raw HTTP client and the typed upstream client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use sim::{SimConfig, SimHandle};
use upstream::{UpstreamClient, UpstreamConfig};

pub struct Served {
    pub addr: SocketAddr,
    pub sim: SimHandle,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A small frozen ladder: nothing moves unless the test says so.
pub fn frozen_config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        players: 64,
        frozen: true,
        activity: 1.0,
        lobbies: 6,
        ..SimConfig::default()
    }
}

pub async fn serve(config: SimConfig) -> Served {
    let (addr, sim, server) = sim::spawn(config).await.expect("bind 127.0.0.1:0");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    Served {
        addr,
        sim,
        http,
        server,
    }
}

impl Served {
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    /// GET a path (with its query, already encoded as wanted); status and body.
    pub async fn get(&self, path_and_query: &str) -> (u16, Vec<u8>) {
        let response = self
            .http
            .get(self.url(path_and_query))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.bytes().await.expect("body").to_vec())
    }

    /// POST a JSON body to a control path; the JSON answer, whatever its status.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json")
    }

    /// GET a control path; the JSON answer, whatever its status.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    /// The typed client pointed at this simulator: no retries, short timeout.
    pub fn client(&self) -> UpstreamClient {
        self.client_with_timeout(Duration::from_secs(5))
    }

    pub fn client_with_timeout(&self, timeout: Duration) -> UpstreamClient {
        UpstreamClient::new(UpstreamConfig {
            base_url: format!("http://{}", self.addr),
            timeout,
            max_retries: 0,
            ..UpstreamConfig::default()
        })
        .expect("client")
    }
}

/// `?title=age2&profile_ids=[..]` percent-encoded like real clients do.
pub fn ids_query(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("?title=age2&profile_ids=%5B{}%5D", list.join("%2C"))
}

pub const STATS: &str = "/community/leaderboard/GetPersonalStat";
pub const HISTORY: &str = "/community/leaderboard/getRecentMatchHistory";
pub const LOBBIES: &str = "/community/advertisement/findAdvertisements";
pub const CATALOG: &str = "/community/leaderboard/getAvailableLeaderboards";
pub const PAGE: &str = "/community/leaderboard/getLeaderBoard2";

/// One GET per endpoint for `ids`, in a fixed order.
pub async fn poll_all(s: &Served, ids: &[i64]) -> Vec<(u16, Vec<u8>)> {
    let q = ids_query(ids);
    vec![
        s.get(&format!("{STATS}{q}")).await,
        s.get(&format!("{HISTORY}{q}")).await,
        s.get(&format!("{LOBBIES}?title=age2&start=0")).await,
        s.get(&format!("{CATALOG}?title=age2")).await,
        s.get(&format!(
            "{PAGE}?title=age2&leaderboard_id=3&start=1&count=50&sortBy=1"
        ))
        .await,
    ]
}
