//! Which stream channels a tournament names, read from URLs as the contract does (§3.9).
//!
//! Sources: every top-level string of a roster row's `presentation`, and every string in a
//! top-level list (e.g. `streamUrls`); and a tournament's `host_stream_urls`.
//!
//! - Twitch: host `twitch.tv` / `www.twitch.tv` (any case), first path segment, lower-cased,
//!   not one of Twitch's own pages (`videos`, `directory`, `p`, `settings`, `subscriptions`,
//!   `downloads`).
//! - YouTube: host `youtube.com` / `www.youtube.com` / `m.youtube.com`; `/channel/<id>`,
//!   `/@handle` and `/user/<name>`. `/c/…` and bare vanity paths are not supported (the Data
//!   API cannot resolve them).
//!
//! **Beyond the contract**: a Twitch login must look like one (`[a-z0-9_]{1,25}`) and YouTube
//! names may not contain URL syntax or spaces. Helix refuses a whole batch of 100 logins over
//! one malformed name, so a typo in one roster row must not blind detection for everyone.
//!
//! A channel's key ([`Channel::channel`]) is the login for Twitch, and for YouTube the
//! reference as written: `channel/<id>`, `@handle` or `user/<name>` (resolving a handle or a
//! user name to a channel id takes an API call, which the stream poller makes and caches).
//! Handles and user names are lower-cased (YouTube matches them in any case); channel ids keep
//! their case (they are case-sensitive).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Twitch,
    Youtube,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Twitch => "twitch",
            Platform::Youtube => "youtube",
        }
    }

    pub fn parse(text: &str) -> Option<Platform> {
        match text {
            "twitch" => Some(Platform::Twitch),
            "youtube" => Some(Platform::Youtube),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel on a platform. Its aggregate id is `<platform>:<channel>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Channel {
    pub platform: Platform,
    pub channel: String,
}

impl Channel {
    pub fn new(platform: Platform, channel: impl Into<String>) -> Channel {
        Channel {
            platform,
            channel: channel.into(),
        }
    }

    /// The id of its [`crate::stream_channel::StreamChannel`] aggregate.
    pub fn aggregate_id(&self) -> String {
        format!("{}:{}", self.platform, self.channel)
    }

    /// How a YouTube channel key names the channel (`None` for Twitch or a malformed key).
    pub fn youtube_ref(&self) -> Option<YoutubeRef<'_>> {
        if self.platform != Platform::Youtube {
            return None;
        }
        let key = self.channel.as_str();
        if let Some(id) = key.strip_prefix("channel/") {
            Some(YoutubeRef::ChannelId(id))
        } else if let Some(name) = key.strip_prefix("user/") {
            Some(YoutubeRef::Username(name))
        } else if key.starts_with('@') {
            Some(YoutubeRef::Handle(key))
        } else {
            None
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.channel)
    }
}

/// How a YouTube URL names its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YoutubeRef<'a> {
    /// `/channel/<id>`: already the id the Data API wants.
    ChannelId(&'a str),
    /// `/@handle`, with its `@` (the Data API's `forHandle`).
    Handle(&'a str),
    /// `/user/<name>` (legacy user names; the Data API's `forUsername`).
    Username(&'a str),
}

/// Twitch paths that are Twitch's own pages, not channels.
const TWITCH_RESERVED: [&str; 6] = [
    "videos",
    "directory",
    "p",
    "settings",
    "subscriptions",
    "downloads",
];

/// The channel a URL points to, if it is a supported Twitch or YouTube channel URL.
pub fn parse_url(url: &str) -> Option<Channel> {
    let (scheme, rest) = url.trim().split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // Host without user info and port.
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let path = &rest[end..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    match host.as_str() {
        "twitch.tv" | "www.twitch.tv" => {
            let login = segments.next()?.to_ascii_lowercase();
            let valid = login.len() <= 25
                && login
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            (valid && !TWITCH_RESERVED.contains(&login.as_str()))
                .then(|| Channel::new(Platform::Twitch, login))
        }
        "youtube.com" | "www.youtube.com" | "m.youtube.com" => {
            let first = segments.next()?;
            let key = match first {
                "channel" => format!("channel/{}", youtube_name(segments.next()?)?),
                "user" => format!("user/{}", youtube_name(segments.next()?)?).to_lowercase(),
                handle if handle.len() > 1 && handle.starts_with('@') => {
                    format!("@{}", youtube_name(&handle[1..])?).to_lowercase()
                }
                _ => return None,
            };
            Some(Channel::new(Platform::Youtube, key))
        }
        _ => None,
    }
}

/// A YouTube id, handle or user name: no URL syntax, no spaces, no `@`.
fn youtube_name(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"%@&=+/\\\"'<>".contains(c));
    ok.then_some(name)
}

/// The strings of a presentation bag that may be stream URLs: every top-level string value
/// and every string in a top-level list.
pub fn presentation_urls(presentation: &Value) -> Vec<&str> {
    let Some(bag) = presentation.as_object() else {
        return Vec::new();
    };
    let mut urls = Vec::new();
    for value in bag.values() {
        match value {
            Value::String(s) => urls.push(s.as_str()),
            Value::Array(items) => urls.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    urls
}

/// The channels of some URLs: sorted, each once.
pub fn channels_of<'a>(urls: impl IntoIterator<Item = &'a str>) -> Vec<Channel> {
    let mut channels: Vec<Channel> = urls.into_iter().filter_map(parse_url).collect();
    channels.sort();
    channels.dedup();
    channels
}

/// The channels a roster row's presentation names.
pub fn channels_in_presentation(presentation: &Value) -> Vec<Channel> {
    channels_of(presentation_urls(presentation))
}

/// The channels of a tournament's `host_stream_urls`.
pub fn channels_in_urls(urls: &[String]) -> Vec<Channel> {
    channels_of(urls.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn twitch(login: &str) -> Option<Channel> {
        Some(Channel::new(Platform::Twitch, login))
    }

    fn youtube(key: &str) -> Option<Channel> {
        Some(Channel::new(Platform::Youtube, key))
    }

    #[test]
    fn twitch_urls_give_lower_cased_logins() {
        assert_eq!(parse_url("https://twitch.tv/Hera"), twitch("hera"));
        assert_eq!(parse_url("https://www.twitch.tv/hera/"), twitch("hera"));
        assert_eq!(parse_url("HTTP://WWW.Twitch.TV/hera?x=1#y"), twitch("hera"));
        assert_eq!(
            parse_url("https://twitch.tv:443/hera/videos"),
            twitch("hera")
        );
        assert_eq!(
            parse_url(" https://twitch.tv/t90official "),
            twitch("t90official")
        );
    }

    #[test]
    fn twitch_pages_and_other_hosts_are_not_channels() {
        for url in [
            "https://twitch.tv/",
            "https://twitch.tv",
            "https://twitch.tv/videos/123",
            "https://twitch.tv/directory/game/Age",
            "https://twitch.tv/p/about",
            "https://twitch.tv/settings",
            "https://twitch.tv/subscriptions",
            "https://twitch.tv/downloads",
            "https://m.twitch.tv/hera",
            "https://clips.twitch.tv/hera",
            "https://nottwitch.tv/hera",
            "twitch.tv/hera",
            "ftp://twitch.tv/hera",
            "https://twitch.tv/he%20ra",
            "https://twitch.tv/he.ra",
            "https://twitch.tv/aaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Hera",
            "",
        ] {
            assert_eq!(parse_url(url), None, "{url}");
        }
    }

    #[test]
    fn youtube_urls_give_channel_ids_handles_and_user_names() {
        assert_eq!(
            parse_url("https://www.youtube.com/channel/UCabc-_1/live"),
            youtube("channel/UCabc-_1")
        );
        assert_eq!(parse_url("https://youtube.com/@Hera"), youtube("@hera"));
        assert_eq!(
            parse_url("https://m.youtube.com/@hera/streams"),
            youtube("@hera")
        );
        assert_eq!(
            parse_url("https://YouTube.com/user/HeraAoE"),
            youtube("user/heraaoe")
        );
        for url in [
            "https://youtube.com/c/Hera",
            "https://youtube.com/Hera",
            "https://youtube.com/@",
            "https://youtube.com/channel/",
            "https://youtube.com/watch?v=abc",
            "https://youtu.be/abc",
            "https://youtube.com/@he%20ra",
        ] {
            assert_eq!(parse_url(url), None, "{url}");
        }
    }

    #[test]
    fn youtube_channel_ids_keep_their_case() {
        assert_eq!(
            parse_url("https://youtube.com/channel/UCaBc"),
            youtube("channel/UCaBc")
        );
    }

    #[test]
    fn youtube_keys_say_how_to_resolve_them() {
        let c = |url| parse_url(url).unwrap();
        assert_eq!(
            c("https://youtube.com/channel/UC1").youtube_ref(),
            Some(YoutubeRef::ChannelId("UC1"))
        );
        assert_eq!(
            c("https://youtube.com/@hera").youtube_ref(),
            Some(YoutubeRef::Handle("@hera"))
        );
        assert_eq!(
            c("https://youtube.com/user/hera").youtube_ref(),
            Some(YoutubeRef::Username("hera"))
        );
        assert_eq!(c("https://twitch.tv/hera").youtube_ref(), None);
        assert_eq!(c("https://twitch.tv/hera").aggregate_id(), "twitch:hera");
        assert_eq!(
            c("https://youtube.com/@hera").aggregate_id(),
            "youtube:@hera"
        );
    }

    #[test]
    fn presentation_strings_and_top_level_lists_are_read_once_each() {
        let presentation = json!({
            "displayName": "Hera",
            "twitch": "https://twitch.tv/Hera",
            "streamUrls": ["https://www.twitch.tv/hera", "https://youtube.com/@hera", 7],
            "nested": {"url": "https://twitch.tv/nested"},
            "deep": [["https://twitch.tv/deeper"]],
        });
        assert_eq!(
            channels_in_presentation(&presentation),
            vec![
                Channel::new(Platform::Twitch, "hera"),
                Channel::new(Platform::Youtube, "@hera"),
            ]
        );
        assert!(channels_in_presentation(&json!([1, 2])).is_empty());
        assert_eq!(
            channels_in_urls(&["https://twitch.tv/host".into(), "nonsense".into()]),
            vec![Channel::new(Platform::Twitch, "host")]
        );
    }
}
