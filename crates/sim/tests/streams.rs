//! The stream-platform fake over real HTTP: Twitch's token and Helix rules (401 without a
//! valid token, `first` defaults to 20, at most 100 logins), YouTube's handle lookup and live
//! search, and the counters tests rely on.

use serde_json::Value;
use sim::{spawn_streams, StreamsFakeConfig};

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn twitch_tokens_gate_helix_and_pages_default_to_twenty() {
    let (addr, fake, _server) = spawn_streams(StreamsFakeConfig::default()).await.unwrap();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let mint = |secret: &'static str| {
        http.post(format!("{base}/oauth2/token"))
            .query(&[
                ("client_id", "fake-client-id"),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
            ])
            .send()
    };
    assert_eq!(mint("wrong").await.unwrap().status().as_u16(), 403);
    let (status, body) = json(mint("fake-client-secret").await.unwrap()).await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(body["expires_in"], 3600);

    for n in 0..30 {
        fake.twitch_live(&format!("p{n:02}"), "title", "Age of Empires II");
    }
    let logins: Vec<(String, String)> = (0..30)
        .map(|n| ("user_login".to_string(), format!("P{n:02}")))
        .collect();
    let streams = |token: String, first: Option<&'static str>| {
        let mut request = http
            .get(format!("{base}/helix/streams"))
            .query(&logins)
            .header("Client-Id", "fake-client-id")
            .bearer_auth(token);
        if let Some(first) = first {
            request = request.query(&[("first", first)]);
        }
        request.send()
    };
    let (status, body) = json(streams(token.clone(), None).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        20,
        "Helix's default page"
    );
    let (_, body) = json(streams(token.clone(), Some("100")).await.unwrap()).await;
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 30);
    assert_eq!(data[0]["user_login"], "p00");
    assert_eq!(data[0]["type"], "live");
    assert_eq!(data[0]["game_name"], "Age of Empires II");

    assert_eq!(
        streams("bogus".into(), None)
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    fake.revoke_tokens();
    assert_eq!(streams(token, None).await.unwrap().status().as_u16(), 401);
    let counters = fake.counters();
    assert_eq!(counters.token_mints, 1);
    assert_eq!(counters.token_refused, 1);
    assert_eq!(counters.helix_requests, 4);
    assert_eq!(counters.helix_unauthorized, 2);
    assert_eq!(counters.helix_batches, vec![30, 30]);
}

#[tokio::test]
async fn youtube_resolves_handles_and_finds_live_videos() {
    let (addr, fake, _server) = spawn_streams(StreamsFakeConfig::default()).await.unwrap();
    let base = format!("http://{addr}/youtube/v3");
    let http = reqwest::Client::new();
    fake.youtube_channel("@Hera", "UCHera");
    let lookup = |handle: &'static str| {
        http.get(format!("{base}/channels"))
            .query(&[
                ("part", "id"),
                ("forHandle", handle),
                ("key", "fake-api-key"),
            ])
            .send()
    };
    let (_, body) = json(lookup("@hera").await.unwrap()).await;
    assert_eq!(body["items"][0]["id"], "UCHera");
    let (_, body) = json(lookup("@nobody").await.unwrap()).await;
    assert!(body.get("items").is_none(), "no items key when unknown");

    let search = || {
        http.get(format!("{base}/search"))
            .query(&[
                ("part", "snippet"),
                ("channelId", "UCHera"),
                ("eventType", "live"),
                ("type", "video"),
                ("maxResults", "1"),
                ("key", "fake-api-key"),
            ])
            .send()
    };
    let (_, body) = json(search().await.unwrap()).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 0);
    fake.youtube_live("UCHera", "Hera live");
    let (_, body) = json(search().await.unwrap()).await;
    assert_eq!(body["items"][0]["snippet"]["title"], "Hera live");
    fake.youtube_quota_exceeded(true);
    let (status, body) = json(search().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["errors"][0]["reason"], "quotaExceeded");
    let counters = fake.counters();
    assert_eq!(
        (counters.youtube_channels, counters.youtube_searches),
        (2, 3)
    );
    assert_eq!(counters.youtube_refused, 1);
}
