//! Owner profiles (display name, email, avatar) from the auth service's
//! `GET {AUTH_API_BASE_URL}/users/lookup?ids=…` (seed contract §1.3 owners): the caller's token
//! is forwarded as the `criticalbit_access` cookie, misses are batched in one call, answers
//! are cached 60 s per id, and any failure leaves the fields null rather than failing the read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

const TTL: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default, Deserialize)]
pub struct UserProfile {
    pub id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

pub struct UserDirectory {
    base: String,
    client: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, UserProfile)>>,
}

impl UserDirectory {
    pub fn new(base_url: &str) -> UserDirectory {
        UserDirectory {
            base: base_url.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .unwrap_or_default(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Profiles of `ids` that are cached or that the auth service returns.
    pub async fn lookup(
        &self,
        ids: &[String],
        token: Option<&str>,
    ) -> HashMap<String, UserProfile> {
        let mut found = HashMap::new();
        let mut missing: Vec<&String> = vec![];
        if let Ok(cache) = self.cache.lock() {
            for id in ids {
                match cache.get(id) {
                    Some((at, p)) if at.elapsed() < TTL => {
                        found.insert(id.clone(), p.clone());
                    }
                    _ if !missing.contains(&id) => missing.push(id),
                    _ => {}
                }
            }
        }
        if missing.is_empty() {
            return found;
        }
        let query: Vec<(&str, &str)> = missing.iter().map(|id| ("ids", id.as_str())).collect();
        let mut request = self
            .client
            .get(format!("{}/users/lookup", self.base))
            .query(&query);
        if let Some(token) = token {
            request = request.header("cookie", format!("{}={token}", auth::COOKIE));
        }
        let fetched = async {
            let response = request.send().await?.error_for_status()?;
            response.json::<Value>().await
        }
        .await;
        let profiles: Vec<UserProfile> = match fetched {
            Ok(Value::Array(items)) => parse(items),
            Ok(Value::Object(mut o)) => match o.remove("items").or_else(|| o.remove("users")) {
                Some(Value::Array(items)) => parse(items),
                _ => vec![],
            },
            Ok(_) => vec![],
            Err(e) => {
                tracing::warn!(error = %e, "auth_api_lookup_failed");
                vec![]
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            let now = Instant::now();
            cache.retain(|_, (at, _)| at.elapsed() < TTL);
            for p in profiles {
                cache.insert(p.id.clone(), (now, p.clone()));
                found.insert(p.id.clone(), p);
            }
        }
        found
    }
}

fn parse(items: Vec<Value>) -> Vec<UserProfile> {
    items
        .into_iter()
        .filter_map(|v| serde_json::from_value::<UserProfile>(v).ok())
        .map(|mut p| {
            p.id = p.id.to_ascii_lowercase();
            p
        })
        .collect()
}
