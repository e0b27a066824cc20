//! Coalescing: at most one nudge per kind (and so per (kind, tournament)) per window.
//!
//! One upstream change reaches `nudge_log` as several rows a few milliseconds apart (one per
//! projector commit), and every nudge makes every viewer refetch. The feed therefore holds the
//! rows it reads for a window that opens at the first row after a flush, then publishes the
//! batch: one nudge per kind, with the newest row's id and time and the union of the rows'
//! tournaments. The window has a trailing edge only, so a burst costs one nudge, and no change
//! is held longer than one window.
//!
//! Ids: a client gets `id:` (the batch's newest row id) only on the last frame of a batch that
//! is for it (its `?tournament=` filter), and none on the others, so it keeps its previous
//! id until it has received all of the batch. A client's id therefore always means "I have
//! seen (coalesced) every row up to here". Replicas and restarts batch differently, but any
//! of them resumes exactly: every row after that id is covered by a frame of its kind with a
//! larger id and a scope that includes the row's, and those frames are sent. (Were every frame
//! to carry its own newest id, a client that got only a batch's first frame would resume past
//! rows that another replica's batching covers with a frame it never sends.)

use std::time::Duration;

use bytes::Bytes;

use tokio::time::Instant;

use crate::frame::Nudge;
use crate::hub::Hub;

/// Merges rows (ascending ids) into one nudge per kind, in increasing id order.
pub fn coalesce(nudges: impl IntoIterator<Item = Nudge>) -> Vec<Nudge> {
    let mut merged: Vec<Nudge> = Vec::new();
    for nudge in nudges {
        match merged.iter_mut().find(|m| m.kind == nudge.kind) {
            Some(into) => absorb(into, nudge),
            None => merged.push(nudge),
        }
    }
    merged.sort_by_key(|n| n.id);
    merged
}

/// The frames of one batch (from [`coalesce`]) for a client all of whose frames are for it:
/// `id:` on the last one only.
pub fn encode_batch(batch: &[Nudge]) -> Vec<Bytes> {
    let last = batch.len().saturating_sub(1);
    batch
        .iter()
        .enumerate()
        .map(|(i, nudge)| nudge.encode_with_id(i == last))
        .collect()
}

/// `into` now also stands for `newer`.
fn absorb(into: &mut Nudge, newer: Nudge) {
    into.id = into.id.max(newer.id);
    into.polled_at = into.polled_at.max(newer.polled_at);
    into.tournament_ids = match (into.tournament_ids.take(), newer.tournament_ids) {
        (Some(mut ids), Some(more)) => {
            ids.extend(more);
            ids.sort_unstable();
            ids.dedup();
            Some(ids)
        }
        // Either concerns every tournament: so does the merged nudge.
        _ => None,
    };
}

/// The feed's throttle in front of the hub. A zero window publishes every row as read.
pub(crate) struct Coalescer {
    window: Duration,
    /// One merged nudge per kind, waiting for `due`.
    pending: Vec<Nudge>,
    due: Option<Instant>,
}

impl Coalescer {
    pub(crate) fn new(window: Duration) -> Coalescer {
        Coalescer {
            window,
            pending: Vec::new(),
            due: None,
        }
    }

    /// Takes rows just read (ascending ids): published at once without a window, otherwise
    /// merged and held until the window closes.
    pub(crate) fn add(&mut self, hub: &Hub, nudges: Vec<Nudge>, now: Instant) {
        if self.window.is_zero() {
            hub.publish(nudges);
            return;
        }
        if nudges.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        self.pending = coalesce(pending.into_iter().chain(nudges));
        self.due.get_or_insert(now + self.window);
    }

    /// When the held nudges must go out (`None`: nothing held).
    pub(crate) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Publishes the held nudges if their window has closed.
    pub(crate) fn flush_due(&mut self, hub: &Hub, now: Instant) {
        if self.due.is_some_and(|due| due <= now) {
            self.due = None;
            hub.publish_batch(std::mem::take(&mut self.pending));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use projections::nudge::NudgeKind;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_779_278_400 + second, 0).unwrap()
    }

    fn nudge(id: i64, kind: NudgeKind, scope: Option<Vec<i64>>) -> Nudge {
        Nudge {
            id,
            kind,
            tournament_ids: scope,
            polled_at: at(id),
        }
    }

    #[test]
    fn one_nudge_per_kind_with_the_newest_id_and_every_tournament() {
        use NudgeKind::*;
        let merged = coalesce([
            nudge(10, Standings, Some(vec![7])),
            nudge(11, Live, Some(vec![3])),
            nudge(12, Standings, Some(vec![3, 7])),
            nudge(13, Matches, Some(vec![3])),
            nudge(14, Standings, Some(vec![5])),
        ]);
        assert_eq!(
            merged,
            [
                nudge(11, Live, Some(vec![3])),
                nudge(13, Matches, Some(vec![3])),
                nudge(14, Standings, Some(vec![3, 5, 7])),
            ]
        );
        let everyone = coalesce([
            nudge(1, Standings, Some(vec![7])),
            nudge(2, Standings, None),
            nudge(3, Standings, Some(vec![3])),
        ]);
        assert_eq!(everyone, [nudge(3, Standings, None)]);
    }
}
