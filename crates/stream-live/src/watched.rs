//! What the stream poller reads from the read models each cycle (so roster and host edits
//! apply without a restart): the channels the tournaments name (`live.stream_links`, parsed
//! by the projector with `domain::streams`) and the channels the read model shows live.
//! Reads only: the stream poller never writes read models.

use std::collections::{BTreeMap, BTreeSet};

use domain::streams::{Channel, Platform};
use sqlx::PgPool;

/// Who names a channel: a roster row, or a tournament's hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    RosterRow(i64),
    Hosts(i64),
}

/// Channels per key.
pub type Links = BTreeMap<Key, BTreeSet<Channel>>;

pub async fn links(pool: &PgPool) -> sqlx::Result<Links> {
    let rows: Vec<(i64, Option<i64>, String, String)> = empty_if_missing(
        sqlx::query_as(
            "SELECT tournament_id, tournament_player_id, platform, channel FROM live.stream_links",
        )
        .fetch_all(pool)
        .await,
    )?;
    let mut links = Links::new();
    for (tournament_id, row, platform, channel) in rows {
        let Some(platform) = Platform::parse(&platform) else {
            continue;
        };
        let key = row.map_or(Key::Hosts(tournament_id), Key::RosterRow);
        links
            .entry(key)
            .or_default()
            .insert(Channel::new(platform, channel));
    }
    Ok(links)
}

/// Channels of `platform` the read model shows live.
pub async fn live_channels(pool: &PgPool, platform: Platform) -> sqlx::Result<Vec<Channel>> {
    let rows: Vec<String> = empty_if_missing(
        sqlx::query_scalar("SELECT channel FROM live.live_streams WHERE platform = $1")
            .bind(platform.as_str())
            .fetch_all(pool)
            .await,
    )?;
    Ok(rows
        .into_iter()
        .map(|c| Channel::new(platform, c))
        .collect())
}

/// Every Twitch channel named anywhere.
pub fn twitch_channels(links: &Links) -> BTreeSet<Channel> {
    links
        .values()
        .flatten()
        .filter(|c| c.platform == Platform::Twitch)
        .cloned()
        .collect()
}

/// The YouTube channels to check: those of keys with no Twitch channel (the contract's
/// fallback rule), or of every key when Twitch detection is off.
pub fn youtube_channels(links: &Links, twitch_enabled: bool) -> BTreeSet<Channel> {
    links
        .values()
        .filter(|channels| {
            !twitch_enabled || !channels.iter().any(|c| c.platform == Platform::Twitch)
        })
        .flatten()
        .filter(|c| c.platform == Platform::Youtube)
        .cloned()
        .collect()
}

/// `undefined_table` / `invalid_schema_name`: the read model is not built (yet).
fn empty_if_missing<T>(rows: sqlx::Result<Vec<T>>) -> sqlx::Result<Vec<T>> {
    match rows {
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P01" | "3F000")) => {
            Ok(Vec::new())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn youtube_is_the_fallback_for_keys_without_twitch() {
        let t = |c: &str| Channel::new(Platform::Twitch, c);
        let y = |c: &str| Channel::new(Platform::Youtube, c);
        let links: Links = [
            (Key::RosterRow(1), BTreeSet::from([t("hera"), y("@hera")])),
            (Key::RosterRow(2), BTreeSet::from([y("@yt_only")])),
            (
                Key::Hosts(9),
                BTreeSet::from([y("@hera"), y("channel/UC1")]),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(twitch_channels(&links), BTreeSet::from([t("hera")]));
        assert_eq!(
            youtube_channels(&links, true),
            BTreeSet::from([y("@hera"), y("@yt_only"), y("channel/UC1")]),
            "@hera is checked for the hosts, who have no Twitch"
        );
        let links: Links = links
            .into_iter()
            .filter(|(k, _)| *k != Key::Hosts(9))
            .collect();
        assert_eq!(
            youtube_channels(&links, true),
            BTreeSet::from([y("@yt_only")])
        );
        assert_eq!(
            youtube_channels(&links, false),
            BTreeSet::from([y("@hera"), y("@yt_only")])
        );
    }
}
