//! Stream channels: `stream_links` (the channels a roster row or a tournament's hosts name,
//! replaced by the tournament events that carry them) and `live_streams` (the channels live
//! now).
//!
//! Rare events: both paths apply them one by one with [`stream_channel`].

use domain::stream_channel::StreamChannelEvent;
use domain::streams::Channel;
use sqlx::PgConnection;
use store::RecordedEvent;

use crate::nudge::{NudgeKind, Nudges};

/// Replaces the stream channels a roster row (`Some`) or a tournament's hosts (`None`) name.
pub(super) async fn link_streams(
    db: &mut PgConnection,
    tournament_id: i64,
    tournament_player_id: Option<i64>,
    channels: &[Channel],
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM stream_links WHERE tournament_id = $1
            AND tournament_player_id IS NOT DISTINCT FROM $2",
    )
    .bind(tournament_id)
    .bind(tournament_player_id)
    .execute(&mut *db)
    .await?;
    if channels.is_empty() {
        return Ok(());
    }
    let platforms: Vec<&str> = channels.iter().map(|c| c.platform.as_str()).collect();
    let names: Vec<&str> = channels.iter().map(|c| c.channel.as_str()).collect();
    sqlx::query(
        "INSERT INTO stream_links (tournament_id, tournament_player_id, platform, channel)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[])",
    )
    .bind(tournament_id)
    .bind(tournament_player_id)
    .bind(&platforms)
    .bind(&names)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// A channel went live, changed title or went offline: its row in `live_streams`, and a `live`
/// nudge to the tournaments whose roster or hosts name it.
pub(super) async fn stream_channel(
    db: &mut PgConnection,
    _event: &RecordedEvent,
    e: &StreamChannelEvent,
    nudges: &mut Nudges,
) -> sqlx::Result<()> {
    let channel = e.channel();
    match e {
        StreamChannelEvent::StreamWentLive {
            title,
            category,
            started_at,
            observed_at,
            ..
        } => {
            sqlx::query(
                "INSERT INTO live_streams (platform, channel, title, category, started_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (platform, channel) DO UPDATE SET
                    title = excluded.title, category = excluded.category,
                    started_at = excluded.started_at, updated_at = excluded.updated_at",
            )
            .bind(channel.platform.as_str())
            .bind(&channel.channel)
            .bind(title)
            .bind(category)
            .bind(started_at)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
        }
        StreamChannelEvent::StreamUpdated {
            title,
            category,
            observed_at,
            ..
        } => {
            sqlx::query(
                "UPDATE live_streams SET title = $3, category = $4, updated_at = $5
                  WHERE platform = $1 AND channel = $2",
            )
            .bind(channel.platform.as_str())
            .bind(&channel.channel)
            .bind(title)
            .bind(category)
            .bind(observed_at)
            .execute(&mut *db)
            .await?;
        }
        StreamChannelEvent::StreamWentOffline { .. } => {
            sqlx::query("DELETE FROM live_streams WHERE platform = $1 AND channel = $2")
                .bind(channel.platform.as_str())
                .bind(&channel.channel)
                .execute(&mut *db)
                .await?;
        }
    }
    let scope: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT tournament_id FROM stream_links WHERE platform = $1 AND channel = $2",
    )
    .bind(channel.platform.as_str())
    .bind(&channel.channel)
    .fetch_all(&mut *db)
    .await?;
    nudges.touch(NudgeKind::Live, scope);
    Ok(())
}
