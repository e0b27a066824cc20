//! Typed async client and parsers for the AoE2:DE community API
//! (`aoe-api.worldsedgelink.com`, Relic / World's Edge).
//!
//! No database, no domain logic: calls return cleaned observations ([`model`]) or an
//! [`UpstreamError`]. A body we cannot trust is always an error, never "empty".
//!
//! # Upstream traps handled
//!
//! - **Statgroup join**: `leaderboardStats[]` rows carry a `statgroup_id`, not a profile id;
//!   they are joined to `statGroups[].id` (which differs from the profile id). Orphan rows
//!   and groups without members are skipped.
//! - **Sentinels**: `rank`/`ranktotal`/`regionrank`/`regionranktotal` of `-1` become `None`;
//!   epoch `0` or a missing timestamp becomes `None`; empty `clanlist_name` → `None`.
//! - **Missing peak**: `highestrating` missing or `0` is floored at the current rating.
//! - **Lying civ**: the report row's civ falls back to `0` (Armenians) for unresolved random
//!   picks, so civ comes from the member row first (`civilization_id`, then `race_id`), then
//!   the report row, else `-1`. Never `0` by default.
//! - **Lying map**: `mapname` is wrong for about half of ranked games and `"my map"` in
//!   lobbies; the real map is key `10` of the base64/zlib [`options`] blob, resolved through
//!   a verified-only table ([`maps`]); `0`/`-2`/unknown ids fall back to `mapname`.
//! - **Renamed keys**: lobby list `matches` (legacy `advertisements`), lobby id `id` (legacy
//!   `match_id`), catalog `leaderboardmap` (legacy `matchtypes`, ints or `{id}`), civ
//!   `civilization_id` (legacy `race_id`). A [`matchtypes`] floor table keeps the verified
//!   matchtype → leaderboard map even if the catalog drifts again.
//! - **Envelope**: HTTP 200 with `result.code != 0` is [`UpstreamError::ResultCode`]; a
//!   non-JSON body or a missing required field is [`UpstreamError::Decode`] naming the path.
//! - **Unordered, duplicated history**: matches are sorted by start time and deduplicated by
//!   id (within a response and across batches).
//! - **Big ids**: every id is `i64`; `steamlobbyid` (> 2^53) is `u64`, never a float.
//! - **List parameters**: one bracketed, percent-encoded parameter (`profile_ids=[1,2]`),
//!   chunked into batches; lobbies are paged with `start` in steps of 100.
//! - **Budget**: every request of a client and its clones waits for the shared [`budget`]
//!   (requests per second, in flight, priorities); a 429 slows all of them down.
//! - **Faults**: per-attempt timeout, exponential backoff with jitter on connect errors,
//!   timeouts, 5xx and 429 (honouring a bounded `Retry-After`); decode errors are not retried.

pub mod budget;
pub mod client;
pub mod error;
pub mod maps;
pub mod matchtypes;
pub mod model;
pub mod options;
pub mod parse;

pub use budget::{Budget, BudgetConfig, BudgetSnapshot, Priority};
pub use client::{
    merge_histories, paths, ClientCounters, UpstreamClient, UpstreamConfig, DEFAULT_BASE_URL,
};
pub use error::{Result, UpstreamError};
pub use matchtypes::{matchtype_floor, merge_over_floor, MATCHTYPE_LEADERBOARD_FLOOR};
pub use model::*;
pub use parse::{
    parse_advertisements, parse_catalog, parse_leaderboard_page, parse_match_history,
    parse_personal_stats,
};
