//! The StreamChannel aggregate (id: `<platform>:<channel>`, see [`Channel::aggregate_id`]):
//! whether a Twitch or YouTube channel is broadcasting, from the stream poller's observations.
//!
//! Like the other observation aggregates it appends **only on change**:
//! - offline → live: `StreamWentLive` (title, category, start time);
//! - live → live with another title or category: `StreamUpdated` (standings show both, and
//!   the contract's change detection compares them too); a different start time is a new
//!   broadcast: `StreamWentLive` again;
//! - live → offline: `StreamWentOffline`;
//! - anything else (the same stream polled again, offline while offline): nothing.
//!
//! Viewer counts are never observed (they would churn events and nudges). Empty titles and
//! categories are `None`, as the contract stores them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::ObservationError;
use crate::streams::{Channel, Platform};

/// A broadcast as a platform reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveStream {
    pub title: Option<String>,
    /// Twitch `game_name`; YouTube has none.
    pub category: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
}

impl LiveStream {
    fn normalized(self) -> LiveStream {
        let clean = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        LiveStream {
            title: clean(self.title),
            category: clean(self.category),
            started_at: self.started_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StreamChannelCommand {
    /// One poll's answer for the channel: `live: None` = not broadcasting.
    Observe {
        channel: Channel,
        live: Option<LiveStream>,
        observed_at: DateTime<Utc>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamChannelEvent {
    StreamWentLive {
        platform: Platform,
        channel: String,
        title: Option<String>,
        category: Option<String>,
        started_at: Option<DateTime<Utc>>,
        observed_at: DateTime<Utc>,
    },
    /// Still live, with another title or category.
    StreamUpdated {
        platform: Platform,
        channel: String,
        title: Option<String>,
        category: Option<String>,
        observed_at: DateTime<Utc>,
    },
    StreamWentOffline {
        platform: Platform,
        channel: String,
        observed_at: DateTime<Utc>,
    },
}

impl StreamChannelEvent {
    pub fn channel(&self) -> Channel {
        match self {
            Self::StreamWentLive {
                platform, channel, ..
            }
            | Self::StreamUpdated {
                platform, channel, ..
            }
            | Self::StreamWentOffline {
                platform, channel, ..
            } => Channel::new(*platform, channel.clone()),
        }
    }
}

domain_event!(StreamChannelEvent {
    StreamWentLive,
    StreamUpdated,
    StreamWentOffline
});

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamChannel {
    /// The broadcast in progress, if any.
    pub live: Option<LiveStream>,
}

aggregate!(StreamChannel: StreamChannelCommand => StreamChannelEvent, ObservationError);

impl StreamChannel {
    fn decide(
        &self,
        command: StreamChannelCommand,
    ) -> Result<Option<StreamChannelEvent>, ObservationError> {
        let StreamChannelCommand::Observe {
            channel,
            live,
            observed_at,
        } = command;
        if channel.channel.trim().is_empty() {
            return Err(ObservationError::Invalid("empty stream channel".into()));
        }
        let Channel { platform, channel } = channel;
        let event = match (&self.live, live.map(LiveStream::normalized)) {
            (None, None) => None,
            (Some(_), None) => Some(StreamChannelEvent::StreamWentOffline {
                platform,
                channel,
                observed_at,
            }),
            (before, Some(now)) => {
                let new_broadcast = match before {
                    None => true,
                    Some(b) => {
                        matches!((b.started_at, now.started_at), (Some(x), Some(y)) if x != y)
                    }
                };
                if new_broadcast {
                    Some(StreamChannelEvent::StreamWentLive {
                        platform,
                        channel,
                        title: now.title,
                        category: now.category,
                        started_at: now.started_at,
                        observed_at,
                    })
                } else if before
                    .as_ref()
                    .is_some_and(|b| (&b.title, &b.category) != (&now.title, &now.category))
                {
                    Some(StreamChannelEvent::StreamUpdated {
                        platform,
                        channel,
                        title: now.title,
                        category: now.category,
                        observed_at,
                    })
                } else {
                    None
                }
            }
        };
        Ok(event)
    }

    fn evolve(&mut self, event: StreamChannelEvent) {
        match event {
            StreamChannelEvent::StreamWentLive {
                title,
                category,
                started_at,
                ..
            } => {
                self.live = Some(LiveStream {
                    title,
                    category,
                    started_at,
                })
            }
            StreamChannelEvent::StreamUpdated {
                title, category, ..
            } => {
                if let Some(live) = &mut self.live {
                    live.title = title;
                    live.category = category;
                }
            }
            StreamChannelEvent::StreamWentOffline { .. } => self.live = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type F = TestFramework<StreamChannel>;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_000_000 + s, 0).unwrap()
    }

    fn hera() -> Channel {
        Channel::new(Platform::Twitch, "hera")
    }

    fn stream(title: &str, category: &str, started: i64) -> LiveStream {
        LiveStream {
            title: Some(title.into()),
            category: Some(category.into()),
            started_at: Some(at(started)),
        }
    }

    fn observe(live: Option<LiveStream>, s: i64) -> StreamChannelCommand {
        StreamChannelCommand::Observe {
            channel: hera(),
            live,
            observed_at: at(s),
        }
    }

    fn went_live() -> StreamChannelEvent {
        StreamChannelEvent::StreamWentLive {
            platform: Platform::Twitch,
            channel: "hera".into(),
            title: Some("Bo7 vs ACCM".into()),
            category: Some("Age of Empires II".into()),
            started_at: Some(at(0)),
            observed_at: at(60),
        }
    }

    #[test]
    fn going_live_appends_title_and_category() {
        F::with(())
            .given_no_previous_events()
            .when(observe(
                Some(stream("Bo7 vs ACCM", "Age of Empires II", 0)),
                60,
            ))
            .then_expect_events(vec![went_live()]);
    }

    #[test]
    fn staying_live_or_offline_appends_nothing() {
        F::with(())
            .given(vec![went_live()])
            .when(observe(
                Some(stream("Bo7 vs ACCM", "Age of Empires II", 0)),
                120,
            ))
            .then_expect_events(vec![]);
        F::with(())
            .given_no_previous_events()
            .when(observe(None, 120))
            .then_expect_events(vec![]);
        // A platform that reports no start time does not make every poll a new broadcast.
        F::with(())
            .given(vec![went_live()])
            .when(observe(
                Some(LiveStream {
                    started_at: None,
                    ..stream("Bo7 vs ACCM", "Age of Empires II", 0)
                }),
                120,
            ))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_new_title_is_an_update_and_a_new_start_a_new_broadcast() {
        F::with(())
            .given(vec![went_live()])
            .when(observe(Some(stream("Game 2", "Age of Empires II", 0)), 120))
            .then_expect_events(vec![StreamChannelEvent::StreamUpdated {
                platform: Platform::Twitch,
                channel: "hera".into(),
                title: Some("Game 2".into()),
                category: Some("Age of Empires II".into()),
                observed_at: at(120),
            }]);
        F::with(())
            .given(vec![went_live()])
            .when(observe(
                Some(stream("Bo7 vs ACCM", "Age of Empires II", 100)),
                120,
            ))
            .then_expect_events(vec![StreamChannelEvent::StreamWentLive {
                platform: Platform::Twitch,
                channel: "hera".into(),
                title: Some("Bo7 vs ACCM".into()),
                category: Some("Age of Empires II".into()),
                started_at: Some(at(100)),
                observed_at: at(120),
            }]);
    }

    #[test]
    fn going_offline_once_and_empty_texts_are_none() {
        F::with(())
            .given(vec![went_live()])
            .when(observe(None, 120))
            .then_expect_events(vec![StreamChannelEvent::StreamWentOffline {
                platform: Platform::Twitch,
                channel: "hera".into(),
                observed_at: at(120),
            }]);
        F::with(())
            .given_no_previous_events()
            .when(observe(Some(stream(" ", "", 0)), 60))
            .then_expect_events(vec![StreamChannelEvent::StreamWentLive {
                platform: Platform::Twitch,
                channel: "hera".into(),
                title: None,
                category: None,
                started_at: Some(at(0)),
                observed_at: at(60),
            }]);
    }

    #[test]
    fn an_empty_channel_is_refused() {
        F::with(())
            .given_no_previous_events()
            .when(StreamChannelCommand::Observe {
                channel: Channel::new(Platform::Youtube, " "),
                live: None,
                observed_at: at(0),
            })
            .then_expect_error(ObservationError::Invalid("empty stream channel".into()));
    }
}
