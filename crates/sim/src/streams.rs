//! A fake of the two stream platforms the stream poller asks, over real HTTP, for tests and
//! the demo: Twitch (the `id.twitch.tv` token endpoint and Helix `streams`) and the YouTube
//! Data API (`channels`, `search`). Every path lives on one server, so the three base URLs
//! (`TWITCH_AUTH_BASE_URL`, `TWITCH_API_BASE_URL`, `YOUTUBE_API_BASE_URL`) can all point at it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let (addr, fake, _server) = sim::spawn_streams(sim::StreamsFakeConfig::default()).await?;
//! fake.twitch_live("hera", "Bo7 vs ACCM", "Age of Empires II");
//! fake.youtube_channel("@hera", "UCHera");
//! fake.youtube_live("UCHera", "Hera on YouTube");
//! # let _ = addr; Ok(()) }
//! ```
//!
//! # Twitch
//! - `POST /oauth2/token?client_id=…&client_secret=…&grant_type=client_credentials` (query
//!   parameters, as Twitch accepts them): `{"access_token","expires_in","token_type":"bearer"}`;
//!   wrong credentials 403, another grant type 400.
//! - `GET /helix/streams?user_login=a&user_login=b…&first=n` with `Client-Id` and
//!   `Authorization: Bearer <token>`: 401 for an unknown, expired or revoked token or a wrong
//!   client id; 400 for more than 100 logins or `first` outside 1..=100. Returns the live
//!   ones among the logins (matched case-insensitively), at most `first` (default **20**, as
//!   Helix does), `type: "live"`, with `title`, `game_name`, `started_at` and the fields we
//!   ignore (viewer count, tags, …).
//!
//! # YouTube
//! - `GET /youtube/v3/channels?part=id&forHandle=@h` (or `forUsername=u`) `&key=…`: the
//!   channel id in `items[0].id`, or no `items` at all when unknown (as the real API answers).
//! - `GET /youtube/v3/search?part=snippet&channelId=…&eventType=live&type=video&maxResults=1&key=…`:
//!   one item (`id.videoId`, `snippet.title`, `snippet.publishedAt`, …) while the channel is
//!   live, else `items: []`. Other `eventType`/`type` values: 400.
//! - A wrong key: 400 `keyInvalid`; [`StreamsFake::youtube_quota_exceeded`]: 403
//!   `quotaExceeded`, in the Data API's error shape.
//!
//! # Controls
//! In process through [`StreamsFake`], or over HTTP: `POST /fake/twitch/live`
//! (`{"login","title","game_name"}`), `/fake/twitch/offline` (`{"login"}`),
//! `/fake/twitch/revoke` (every token issued so far stops working), `/fake/twitch/refuse`
//! (`{"requests": n}`: the next n Helix calls get 401), `/fake/youtube/channel`
//! (`{"name": "@handle" | "username", "channel_id"}`), `/fake/youtube/live`
//! (`{"channel_id","title"}`), `/fake/youtube/offline` (`{"channel_id"}`),
//! `/fake/youtube/quota` (`{"exceeded": bool}`), `/fake/reset_counters`; `GET /fake/state`
//! gives the [`StreamsCounters`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Credentials the fake accepts and how long its tokens last.
#[derive(Debug, Clone)]
pub struct StreamsFakeConfig {
    pub twitch_client_id: String,
    pub twitch_client_secret: String,
    pub youtube_api_key: String,
    /// `expires_in` of minted tokens; the fake also refuses them after it.
    pub token_ttl: Duration,
}

impl Default for StreamsFakeConfig {
    fn default() -> Self {
        Self {
            twitch_client_id: "fake-client-id".into(),
            twitch_client_secret: "fake-client-secret".into(),
            youtube_api_key: "fake-api-key".into(),
            token_ttl: Duration::from_secs(3600),
        }
    }
}

/// Requests seen, per endpoint and outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamsCounters {
    /// Tokens minted (successful `POST /oauth2/token`).
    pub token_mints: u64,
    pub token_refused: u64,
    /// Every `GET /helix/streams`, answered or not.
    pub helix_requests: u64,
    /// Of those, refused with 401.
    pub helix_unauthorized: u64,
    /// Logins asked per Helix request, in order.
    pub helix_batches: Vec<usize>,
    pub youtube_channels: u64,
    pub youtube_searches: u64,
    /// YouTube requests refused (bad key, quota).
    pub youtube_refused: u64,
}

impl StreamsCounters {
    /// Every request to either platform.
    pub fn total(&self) -> u64 {
        self.token_mints
            + self.token_refused
            + self.helix_requests
            + self.youtube_channels
            + self.youtube_searches
    }
}

#[derive(Debug, Clone)]
struct TwitchStream {
    title: String,
    game_name: String,
    started_at: String,
    id: u64,
}

#[derive(Debug, Clone)]
struct YoutubeLive {
    title: String,
    published_at: String,
    video_id: String,
}

#[derive(Debug)]
struct FakeState {
    config: StreamsFakeConfig,
    tokens: HashMap<String, Instant>,
    next_id: u64,
    twitch: BTreeMap<String, TwitchStream>,
    /// `@handle` (lower-cased) or user name → channel id.
    youtube_names: HashMap<String, String>,
    youtube: BTreeMap<String, YoutubeLive>,
    quota_exceeded: bool,
    /// Helix answers 401 to this many more requests, whatever their token.
    refuse_helix: u32,
    counters: StreamsCounters,
}

/// The fake's state; cheap to clone, every clone controls the same fake.
#[derive(Debug, Clone)]
pub struct StreamsFake {
    state: Arc<Mutex<FakeState>>,
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl StreamsFake {
    pub fn new(config: StreamsFakeConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(FakeState {
                config,
                tokens: HashMap::new(),
                next_id: 1,
                twitch: BTreeMap::new(),
                youtube_names: HashMap::new(),
                youtube: BTreeMap::new(),
                quota_exceeded: false,
                refuse_helix: 0,
                counters: StreamsCounters::default(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `login` is broadcasting (again, or with a new title: the start time is kept while it
    /// stays live).
    pub fn twitch_live(&self, login: &str, title: &str, game_name: &str) {
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        let entry = s
            .twitch
            .entry(login.to_ascii_lowercase())
            .or_insert(TwitchStream {
                title: String::new(),
                game_name: String::new(),
                started_at: now_text(),
                id,
            });
        entry.title = title.into();
        entry.game_name = game_name.into();
    }

    pub fn twitch_offline(&self, login: &str) {
        self.lock().twitch.remove(&login.to_ascii_lowercase());
    }

    /// Every token minted so far is refused from now on (as after a credential rotation).
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// The next `n` Helix requests get 401 whatever their token (a token Twitch keeps
    /// refusing: the client must give up after one re-mint).
    pub fn refuse_helix(&self, n: u32) {
        self.lock().refuse_helix = n;
    }

    /// `name` (`@handle` or a legacy user name) resolves to `channel_id`.
    pub fn youtube_channel(&self, name: &str, channel_id: &str) {
        self.lock()
            .youtube_names
            .insert(name.to_ascii_lowercase(), channel_id.into());
    }

    pub fn youtube_live(&self, channel_id: &str, title: &str) {
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        let entry = s.youtube.entry(channel_id.into()).or_insert(YoutubeLive {
            title: String::new(),
            published_at: now_text(),
            video_id: format!("video{id}"),
        });
        entry.title = title.into();
    }

    pub fn youtube_offline(&self, channel_id: &str) {
        self.lock().youtube.remove(channel_id);
    }

    /// Every YouTube request gets 403 `quotaExceeded` while set.
    pub fn youtube_quota_exceeded(&self, exceeded: bool) {
        self.lock().quota_exceeded = exceeded;
    }

    pub fn counters(&self) -> StreamsCounters {
        self.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.lock().counters = StreamsCounters::default();
    }
}

/// The fake's routes (platform endpoints and `/fake/*` controls).
pub fn streams_router(fake: StreamsFake) -> Router {
    Router::new()
        .route("/oauth2/token", post(token))
        .route("/helix/streams", get(helix_streams))
        .route("/youtube/v3/channels", get(youtube_channels))
        .route("/youtube/v3/search", get(youtube_search))
        .route("/fake/state", get(state))
        .route("/fake/reset_counters", post(reset_counters))
        .route("/fake/twitch/live", post(control_twitch_live))
        .route("/fake/twitch/offline", post(control_twitch_offline))
        .route("/fake/twitch/revoke", post(control_revoke))
        .route("/fake/twitch/refuse", post(control_refuse))
        .route("/fake/youtube/channel", post(control_youtube_channel))
        .route("/fake/youtube/live", post(control_youtube_live))
        .route("/fake/youtube/offline", post(control_youtube_offline))
        .route("/fake/youtube/quota", post(control_quota))
        .with_state(fake)
}

/// Serve the fake until the listener fails.
pub async fn serve_streams(listener: TcpListener, fake: StreamsFake) -> io::Result<()> {
    axum::serve(listener, streams_router(fake)).await
}

/// Serve a new fake on `127.0.0.1:<random port>` (for tests).
pub async fn spawn_streams(
    config: StreamsFakeConfig,
) -> io::Result<(SocketAddr, StreamsFake, JoinHandle<io::Result<()>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let fake = StreamsFake::new(config);
    let task = tokio::spawn(serve_streams(listener, fake.clone()));
    Ok((addr, fake, task))
}

type Params = Query<Vec<(String, String)>>;

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

// ---------------------------------------------------------------------- Twitch

async fn token(State(fake): State<StreamsFake>, Query(params): Params) -> Response {
    let mut s = fake.lock();
    if param(&params, "grant_type") != Some("client_credentials") {
        s.counters.token_refused += 1;
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"status": 400, "message": "invalid grant type"}),
        );
    }
    if param(&params, "client_id") != Some(s.config.twitch_client_id.as_str())
        || param(&params, "client_secret") != Some(s.config.twitch_client_secret.as_str())
    {
        s.counters.token_refused += 1;
        return reply(
            StatusCode::FORBIDDEN,
            json!({"status": 403, "message": "invalid client secret"}),
        );
    }
    s.counters.token_mints += 1;
    let token = format!("token{}", s.next_id);
    s.next_id += 1;
    let ttl = s.config.token_ttl;
    s.tokens.insert(token.clone(), Instant::now() + ttl);
    reply(
        StatusCode::OK,
        json!({"access_token": token, "expires_in": ttl.as_secs(), "token_type": "bearer"}),
    )
}

async fn helix_streams(
    State(fake): State<StreamsFake>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let mut s = fake.lock();
    s.counters.helix_requests += 1;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let client_id = headers.get("client-id").and_then(|v| v.to_str().ok());
    let token_ok = bearer
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|until| Instant::now() < *until);
    let refused = s.refuse_helix > 0;
    s.refuse_helix = s.refuse_helix.saturating_sub(1);
    if refused || !token_ok || client_id != Some(s.config.twitch_client_id.as_str()) {
        s.counters.helix_unauthorized += 1;
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}),
        );
    }
    let logins: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "user_login")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect();
    s.counters.helix_batches.push(logins.len());
    let first = match param(&params, "first").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"error": "Bad Request", "status": 400, "message": "invalid first"}),
            )
        }
    };
    if logins.len() > 100 {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "Bad Request", "status": 400,
                   "message": "The parameter \"user_login\" may only be specified up to 100 times."}),
        );
    }
    let unique: HashSet<&String> = logins.iter().collect();
    let data: Vec<Value> = s
        .twitch
        .iter()
        .filter(|(login, _)| unique.contains(login))
        .take(first)
        .map(|(login, st)| {
            json!({
                "id": st.id.to_string(),
                "user_id": format!("{}", 1000 + st.id),
                "user_login": login,
                "user_name": login,
                "game_id": "13389",
                "game_name": st.game_name,
                "type": "live",
                "title": st.title,
                "viewer_count": 1234,
                "started_at": st.started_at,
                "language": "en",
                "thumbnail_url": format!("https://static-cdn.jtvnw.net/previews-ttv/live_user_{login}-{{width}}x{{height}}.jpg"),
                "tag_ids": [],
                "tags": ["English"],
                "is_mature": false
            })
        })
        .collect();
    reply(StatusCode::OK, json!({"data": data, "pagination": {}}))
}

// ---------------------------------------------------------------------- YouTube

fn youtube_error(status: StatusCode, reason: &str, message: &str) -> Response {
    reply(
        status,
        json!({"error": {"code": status.as_u16(), "message": message,
                         "errors": [{"message": message, "domain": "youtube.quota", "reason": reason}]}}),
    )
}

/// The key and quota checks every YouTube call makes.
fn youtube_refusal(s: &mut FakeState, params: &[(String, String)]) -> Option<Response> {
    if param(params, "key") != Some(s.config.youtube_api_key.as_str()) {
        s.counters.youtube_refused += 1;
        return Some(youtube_error(
            StatusCode::BAD_REQUEST,
            "keyInvalid",
            "API key not valid. Please pass a valid API key.",
        ));
    }
    if s.quota_exceeded {
        s.counters.youtube_refused += 1;
        return Some(youtube_error(
            StatusCode::FORBIDDEN,
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your quota.",
        ));
    }
    None
}

async fn youtube_channels(State(fake): State<StreamsFake>, Query(params): Params) -> Response {
    let mut s = fake.lock();
    s.counters.youtube_channels += 1;
    if let Some(refused) = youtube_refusal(&mut s, &params) {
        return refused;
    }
    let name = param(&params, "forHandle")
        .map(|h| {
            if h.starts_with('@') {
                h.to_string()
            } else {
                format!("@{h}")
            }
        })
        .or_else(|| param(&params, "forUsername").map(str::to_string));
    let Some(name) = name else {
        return youtube_error(
            StatusCode::BAD_REQUEST,
            "missingRequiredParameter",
            "No filter selected.",
        );
    };
    let mut body = json!({
        "kind": "youtube#channelListResponse",
        "etag": "fake",
        "pageInfo": {"totalResults": 0, "resultsPerPage": 5}
    });
    if let Some(id) = s.youtube_names.get(&name.to_ascii_lowercase()) {
        body["pageInfo"]["totalResults"] = json!(1);
        body["items"] = json!([{"kind": "youtube#channel", "etag": "fake", "id": id}]);
    }
    reply(StatusCode::OK, body)
}

async fn youtube_search(State(fake): State<StreamsFake>, Query(params): Params) -> Response {
    let mut s = fake.lock();
    s.counters.youtube_searches += 1;
    if let Some(refused) = youtube_refusal(&mut s, &params) {
        return refused;
    }
    if param(&params, "eventType") != Some("live") || param(&params, "type") != Some("video") {
        return youtube_error(
            StatusCode::BAD_REQUEST,
            "invalidSearchFilter",
            "the fake answers only eventType=live&type=video",
        );
    }
    let Some(channel_id) = param(&params, "channelId") else {
        return youtube_error(
            StatusCode::BAD_REQUEST,
            "missingRequiredParameter",
            "channelId",
        );
    };
    let items: Vec<Value> = s
        .youtube
        .get(channel_id)
        .map(|live| {
            json!({
                "kind": "youtube#searchResult",
                "etag": "fake",
                "id": {"kind": "youtube#video", "videoId": live.video_id},
                "snippet": {
                    "publishedAt": live.published_at,
                    "channelId": channel_id,
                    "title": live.title,
                    "description": "",
                    "channelTitle": channel_id,
                    "liveBroadcastContent": "live",
                    "publishTime": live.published_at
                }
            })
        })
        .into_iter()
        .collect();
    reply(
        StatusCode::OK,
        json!({
            "kind": "youtube#searchListResponse",
            "etag": "fake",
            "regionCode": "NL",
            "pageInfo": {"totalResults": items.len(), "resultsPerPage": 1},
            "items": items
        }),
    )
}

// ---------------------------------------------------------------------- controls

async fn state(State(fake): State<StreamsFake>) -> Response {
    reply(StatusCode::OK, json!(fake.counters()))
}

async fn reset_counters(State(fake): State<StreamsFake>) -> Response {
    fake.reset_counters();
    reply(StatusCode::OK, json!(fake.counters()))
}

#[derive(Deserialize)]
struct TwitchLive {
    login: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    game_name: String,
}

async fn control_twitch_live(
    State(fake): State<StreamsFake>,
    Json(c): Json<TwitchLive>,
) -> Response {
    fake.twitch_live(&c.login, &c.title, &c.game_name);
    reply(StatusCode::OK, json!({"live": c.login}))
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

async fn control_twitch_offline(State(fake): State<StreamsFake>, Json(c): Json<Login>) -> Response {
    fake.twitch_offline(&c.login);
    reply(StatusCode::OK, json!({"offline": c.login}))
}

async fn control_revoke(State(fake): State<StreamsFake>) -> Response {
    fake.revoke_tokens();
    reply(StatusCode::OK, json!({"revoked": true}))
}

#[derive(Deserialize)]
struct Refuse {
    requests: u32,
}

async fn control_refuse(State(fake): State<StreamsFake>, Json(c): Json<Refuse>) -> Response {
    fake.refuse_helix(c.requests);
    reply(StatusCode::OK, json!({"refusing": c.requests}))
}

#[derive(Deserialize)]
struct YoutubeChannel {
    name: String,
    channel_id: String,
}

async fn control_youtube_channel(
    State(fake): State<StreamsFake>,
    Json(c): Json<YoutubeChannel>,
) -> Response {
    fake.youtube_channel(&c.name, &c.channel_id);
    reply(StatusCode::OK, json!({"channel_id": c.channel_id}))
}

#[derive(Deserialize)]
struct YoutubeLiveControl {
    channel_id: String,
    #[serde(default)]
    title: String,
}

async fn control_youtube_live(
    State(fake): State<StreamsFake>,
    Json(c): Json<YoutubeLiveControl>,
) -> Response {
    fake.youtube_live(&c.channel_id, &c.title);
    reply(StatusCode::OK, json!({"live": c.channel_id}))
}

#[derive(Deserialize)]
struct ChannelId {
    channel_id: String,
}

async fn control_youtube_offline(
    State(fake): State<StreamsFake>,
    Json(c): Json<ChannelId>,
) -> Response {
    fake.youtube_offline(&c.channel_id);
    reply(StatusCode::OK, json!({"offline": c.channel_id}))
}

#[derive(Deserialize)]
struct Quota {
    exceeded: bool,
}

async fn control_quota(State(fake): State<StreamsFake>, Json(c): Json<Quota>) -> Response {
    fake.youtube_quota_exceeded(c.exceeded);
    reply(StatusCode::OK, json!({"exceeded": c.exceeded}))
}
