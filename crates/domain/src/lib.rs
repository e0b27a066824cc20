//! The domain of live-standings: aggregates, their commands and events, and the pure rules the
//! contract enforces on writes. This crate never does IO: facts that live outside an aggregate
//! (is the caller an approved creator, how many tournaments do they own, is a leaderboard ranked)
//! are looked up by the caller and passed in the command, so every rule is testable in memory.
//!
//! Aggregates and their ids (see `docs/architecture.md`):
//! - [`tournament::Tournament`] (slug): config, owners, roster, teams;
//! - [`profile::Profile`] (profile id): observed identity and ladder ratings;
//! - [`matches::Match`] (match id): a finished game, recorded once;
//! - [`lobby::Lobby`] (lobby id): an open custom lobby while it is listed;
//! - [`ladder::Ladder`] (leaderboard and UTC hour): the tracked players' ladder ranks;
//! - [`catalog::Catalog`] (singleton): leaderboards and civilizations;
//! - [`operator::Operator`] (singleton): the creator allowlist;
//! - [`stream_channel::StreamChannel`] (`twitch:<login>`, `youtube:<ref>`): whether a stream
//!   channel is live, with title and category ([`streams`] says which channels a tournament
//!   names).
//!
//! Observation aggregates (profile, ladder, match, lobby, catalog, stream channel) append an event **only when something
//! changed**: their state is the dedupe.

#[macro_use]
mod macros;

pub mod catalog;
pub mod event;
pub mod ladder;
pub mod lobby;
pub mod matches;
pub mod operator;
pub mod profile;
pub mod rules;
pub mod standings;
pub mod stream_channel;
pub mod streams;
pub mod tournament;
pub mod webhook_url;

pub use event::{AnyEvent, EventMetadata};
