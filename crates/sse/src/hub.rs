//! The per-process fan-out: a ring of recent frames, each encoded once into shared [`Bytes`],
//! and a cursor (sequence number) per subscriber.
//!
//! Subscribers wait on one `watch` of the ring's end sequence (a wake-up signal only: the
//! frames themselves stay in the ring, so a wake-up that arrives late loses nothing), then
//! copy the frames they have not sent yet, skipping nudges for other tournaments. There is no
//! queue, task or timer per subscriber: a subscriber's state is its cursor, its filter and the
//! `watch` receiver. A subscriber that falls more than the ring's capacity behind gets one
//! `resync` frame and is closed, so a slow client never holds the others back (one that stops
//! reading altogether is not polled at all and is closed by [`crate::StallGuard`]).
//!
//! Heartbeats are frames in the ring too, pushed by one global tick ([`Hub::heartbeat`]): a
//! subscriber sends the `: heartbeat` comment only when it has sent nothing for a while, and the
//! tick's wake-up also enforces the connection lifetime cap without a timer per connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;

use crate::coalesce::coalesce;
use crate::frame::{self, Nudge};

/// Tunables of the hub and of the connections it serves.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Frames kept in memory (nudges and heartbeats). A subscriber further behind is resynced.
    pub capacity: usize,
    /// A subscriber that sent nothing for about this long gets `: heartbeat` (the contract's
    /// 20 s). The global tick runs at half this period; heartbeats go out after 3/4 to 5/4 of
    /// it without a frame.
    pub heartbeat_interval: Duration,
    /// Connections are closed after this long (the contract's 600 s); `EventSource`
    /// reconnects and resumes with `Last-Event-ID`. Enforced at the next wake-up (a nudge or a
    /// heartbeat tick), so up to half a heartbeat interval late.
    pub max_lifetime: Duration,
    /// Missed nudges replayed on resume at most; older cursors get `resync`.
    pub max_replay: usize,
    /// Rows of `nudge_log` loaded into the ring at start, for resuming clients after a restart.
    pub history: usize,
    /// Concurrent streams accepted before answering 503 (`None`: no limit).
    pub max_subscribers: Option<usize>,
    /// How long a new connection waits for the feed's first read of `nudge_log` before 503.
    pub ready_timeout: Duration,
    /// The feed publishes at most one nudge per kind per window, on its trailing edge
    /// (`crate::coalesce`); replays are coalesced too. Zero (the default here; the service
    /// sets `NUDGE_COALESCE_MILLIS`): every `nudge_log` row is its own nudge.
    pub coalesce_window: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            capacity: 1024,
            heartbeat_interval: Duration::from_secs(20),
            max_lifetime: Duration::from_secs(600),
            max_replay: 1000,
            history: 512,
            max_subscribers: None,
            ready_timeout: Duration::from_secs(5),
            coalesce_window: Duration::ZERO,
        }
    }
}

/// The shared fan-out. One per process: create it with [`Hub::new`], feed it with
/// [`crate::run_feed`], serve it with [`crate::router`], and [`Hub::close`] it at shutdown.
pub struct Hub {
    config: HubConfig,
    ring: RwLock<Ring>,
    /// The ring's end sequence, bumped on every push and on close.
    end: watch::Sender<u64>,
    ready: watch::Sender<bool>,
    subscribers: AtomicUsize,
    lagged: AtomicU64,
    /// Called for every nudge before any subscriber can see it (e.g. to drop cached
    /// responses, so a client refetching on the nudge never gets the old data).
    observers: RwLock<Vec<Observer>>,
    /// Lean streams written by a few pass tasks instead of one wake-up per stream.
    pub(crate) direct: crate::direct::Writers,
}

type Observer = Box<dyn Fn(&Nudge) + Send + Sync>;

pub(crate) struct Ring {
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`.
    first_seq: u64,
    /// The newest nudge id known (published, or the baseline read at start).
    head_id: i64,
    /// Every nudge with an id above this is in the ring.
    floor: i64,
    closed: bool,
}

impl Ring {
    fn end_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64
    }
}

struct Entry {
    bytes: Bytes,
    at: Instant,
    kind: EntryKind,
}

enum EntryKind {
    Nudge {
        id: i64,
        scope: Option<Box<[i64]>>,
        /// In a coalesced batch (`bytes` then carry no `id:`): the sequence number of the
        /// batch's last frame, and this frame with the batch's id, sent instead when no later
        /// frame of the batch is for the subscriber (so every subscriber's id ends a batch).
        batch: Option<(u64, Bytes)>,
    },
    /// Sent to subscribers whose last frame came before `quiet_since` (a sequence number).
    Heartbeat { quiet_since: u64 },
}

/// Counters for logs and health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubStats {
    pub subscribers: usize,
    /// Subscribers closed because they fell behind the ring.
    pub lagged: u64,
    /// The newest nudge id published.
    pub head_id: i64,
    pub ready: bool,
}

pub(crate) enum Next<'r> {
    Frame(&'r Bytes),
    Lagged(i64),
    Idle,
    Closed,
}

/// A subscriber's position in the ring.
pub(crate) struct Cursor {
    next_seq: u64,
    /// Sequence number after the last frame sent (or the ring's end at attach).
    delivered_upto: u64,
    /// Nudges up to this id were already delivered (a client ahead of this replica's feed).
    pub(crate) skip_upto: i64,
    filter: Option<Box<[i64]>>,
}

/// What a new subscriber needs to compose its first frames.
pub(crate) struct Attached {
    pub subscription: Subscription,
    pub head_id: i64,
    pub floor: i64,
    /// Ring nudges after the requested id (matching the filter), in id order.
    pub replay: Vec<Bytes>,
}

impl Hub {
    pub fn new(mut config: HubConfig) -> Arc<Hub> {
        config.capacity = config.capacity.max(1);
        config.heartbeat_interval = config
            .heartbeat_interval
            .clamp(Duration::from_millis(10), Duration::from_secs(86_400));
        Arc::new(Hub {
            config,
            ring: RwLock::new(Ring {
                entries: VecDeque::new(),
                first_seq: 0,
                head_id: 0,
                floor: 0,
                closed: false,
            }),
            end: watch::Sender::new(0),
            ready: watch::Sender::new(false),
            subscribers: AtomicUsize::new(0),
            lagged: AtomicU64::new(0),
            observers: RwLock::new(Vec::new()),
            direct: crate::direct::Writers::new(),
        })
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Marks the hub ready: `head_id` is the newest nudge id in the database, `history` the
    /// newest rows (ascending ids, not published: nobody is subscribed yet) kept for resuming
    /// clients, and `floor` the id below which rows were not loaded. Later calls are ignored.
    pub fn start(&self, head_id: i64, floor: i64, history: Vec<Nudge>) {
        if *self.ready.borrow() {
            return;
        }
        {
            let mut ring = self.write();
            ring.head_id = head_id;
            ring.floor = floor.min(head_id);
            // History must not count as recent for heartbeats.
            let now = Instant::now();
            let at = now
                .checked_sub(self.config.heartbeat_interval)
                .unwrap_or(now);
            let floor = ring.floor;
            let history = history
                .into_iter()
                .filter(|nudge| nudge.id > floor && nudge.id <= head_id);
            if self.config.coalesce_window.is_zero() {
                for nudge in history {
                    self.push(&mut ring, nudge_entry(&nudge, nudge.encode(), at));
                }
            } else {
                // Resuming clients replay the history coalesced, like live nudges.
                self.push_batch(&mut ring, coalesce(history), at, |_| {});
            }
        }
        self.ready.send_replace(true);
        self.wake();
    }

    /// Publishes nudges (ascending ids; ids not above the head are ignored) and wakes every
    /// subscriber once. Returns how many were published.
    pub fn publish(&self, nudges: impl IntoIterator<Item = Nudge>) -> usize {
        let now = Instant::now();
        let mut published = 0;
        {
            let mut ring = self.write();
            if ring.closed {
                return 0;
            }
            let observers = self.observers.read().unwrap_or_else(|e| e.into_inner());
            for nudge in nudges {
                if nudge.id <= ring.head_id {
                    continue;
                }
                for observe in observers.iter() {
                    observe(&nudge);
                }
                ring.head_id = nudge.id;
                self.push(&mut ring, nudge_entry(&nudge, nudge.encode(), now));
                published += 1;
            }
        }
        if published > 0 {
            self.wake();
        }
        published
    }

    /// Publishes one coalesced batch ([`crate::coalesce::coalesce`]: ascending ids, at most one
    /// per kind; ids not above the head are dropped). Each subscriber gets `id:` (the batch's
    /// newest id) on the last of its frames that passes its filter, and none on the others.
    /// Returns how many were published.
    pub fn publish_batch(&self, batch: Vec<Nudge>) -> usize {
        let now = Instant::now();
        let published;
        {
            let mut ring = self.write();
            if ring.closed {
                return 0;
            }
            let head_id = ring.head_id;
            let batch: Vec<Nudge> = batch.into_iter().filter(|n| n.id > head_id).collect();
            let observers = self.observers.read().unwrap_or_else(|e| e.into_inner());
            published = batch.len();
            if let Some(last) = batch.last() {
                ring.head_id = last.id;
            }
            self.push_batch(&mut ring, batch, now, |nudge| {
                for observe in observers.iter() {
                    observe(nudge);
                }
            });
        }
        if published > 0 {
            self.wake();
        }
        published
    }

    /// Nudges up to `head_id` were lost (the feed found `nudge_log` pruned past what it had
    /// read): every observer sees one nudge for everyone, and every current subscriber gets
    /// `resync` ("refetch everything") and is closed, as if it had fallen behind the ring.
    /// New subscribers start at `head_id`; older cursors are resumed from the table or resynced.
    pub fn resync_all(&self, head_id: i64) {
        {
            let mut ring = self.write();
            if ring.closed || head_id <= ring.head_id {
                return;
            }
            let lost = Nudge {
                id: head_id,
                kind: projections::nudge::NudgeKind::Standings,
                tournament_ids: None,
                polled_at: chrono::Utc::now(),
            };
            for observe in self
                .observers
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
            {
                observe(&lost);
            }
            // Every cursor (at most the old end) is now before the ring's first sequence.
            ring.first_seq = ring.end_seq() + 1;
            ring.entries.clear();
            ring.head_id = head_id;
            ring.floor = head_id;
        }
        self.wake();
    }

    /// Registers `f` to run for every published nudge, before subscribers can see it.
    pub fn observe(&self, f: impl Fn(&Nudge) + Send + Sync + 'static) {
        self.observers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(f));
    }

    /// The global heartbeat tick (call every half `heartbeat_interval`; [`crate::run_feed`]
    /// does): subscribers that sent nothing for 3/4 of the interval send `: heartbeat`.
    pub fn heartbeat(&self) {
        let now = Instant::now();
        let interval = self.config.heartbeat_interval;
        let quiet = interval - interval / 4;
        {
            let mut ring = self.write();
            if ring.closed {
                return;
            }
            let mut quiet_since = ring.end_seq();
            if let Some(cutoff) = now.checked_sub(quiet) {
                for (i, entry) in ring.entries.iter().enumerate().rev() {
                    if entry.at < cutoff {
                        break;
                    }
                    quiet_since = ring.first_seq + i as u64;
                }
            }
            self.push(
                &mut ring,
                Entry {
                    bytes: Bytes::from_static(frame::HEARTBEAT),
                    at: now,
                    kind: EntryKind::Heartbeat { quiet_since },
                },
            );
        }
        self.wake();
    }

    /// Ends every stream (at shutdown, so graceful shutdown does not wait for the lifetime
    /// cap) and refuses new ones.
    pub fn close(&self) {
        self.write().closed = true;
        // A closed hub answers 503 to new connections instead of waiting for readiness.
        self.ready.send_replace(true);
        self.wake();
    }

    /// A receiver that changes on every push and on close.
    pub(crate) fn wakes(&self) -> watch::Receiver<u64> {
        self.end.subscribe()
    }

    pub fn is_closed(&self) -> bool {
        self.read().closed
    }

    pub fn subscriber_count(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> HubStats {
        HubStats {
            subscribers: self.subscriber_count(),
            lagged: self.lagged.load(Ordering::Relaxed),
            head_id: self.read().head_id,
            ready: *self.ready.borrow(),
        }
    }

    /// The newest nudge id published (or read at start).
    pub fn head_id(&self) -> i64 {
        self.read().head_id
    }

    /// Waits until [`Hub::start`] (or [`Hub::close`]) ran; `false` on timeout.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut ready = self.ready.subscribe();
        let waited = tokio::time::timeout(timeout, ready.wait_for(|ready| *ready)).await;
        matches!(waited, Ok(Ok(_)))
    }

    pub(crate) fn attach(
        self: &Arc<Self>,
        filter: Option<Box<[i64]>>,
        after: Option<i64>,
    ) -> Attached {
        // Counted before the receiver exists, uncounted by `Subscription::drop`.
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        let rx = self.end.subscribe();
        let ring = self.read();
        let end = ring.end_seq();
        let mut replay = Vec::new();
        if let Some(after) = after {
            for (i, entry) in ring.entries.iter().enumerate() {
                if let EntryKind::Nudge { id, scope, .. } = &entry.kind {
                    if *id > after && frame::scope_matches(scope.as_deref(), filter.as_deref()) {
                        let seq = ring.first_seq + i as u64;
                        replay.push(frame_for(&ring, seq, entry, filter.as_deref()).clone());
                    }
                }
            }
        }
        let attached = Attached {
            head_id: ring.head_id,
            floor: ring.floor,
            replay,
            subscription: Subscription {
                hub: Arc::clone(self),
                rx,
                cursor: Cursor {
                    next_seq: end,
                    delivered_upto: end,
                    skip_upto: i64::MIN,
                    filter,
                },
                deadline: Instant::now().checked_add(self.config.max_lifetime),
                initial: None,
                pass: Default::default(),
                done: false,
            },
        };
        drop(ring);
        attached
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Ring> {
        self.ring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Ring> {
        self.ring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The next frame for `cursor` (advancing it), borrowed from the ring.
fn next_in<'r>(ring: &'r Ring, cursor: &mut Cursor) -> Next<'r> {
    if ring.closed {
        return Next::Closed;
    }
    if cursor.next_seq < ring.first_seq {
        return Next::Lagged(ring.head_id);
    }
    let end = ring.end_seq();
    while cursor.next_seq < end {
        let seq = cursor.next_seq;
        cursor.next_seq += 1;
        let entry = &ring.entries[(seq - ring.first_seq) as usize];
        let send = match &entry.kind {
            EntryKind::Nudge { id, scope, .. } => {
                *id > cursor.skip_upto
                    && frame::scope_matches(scope.as_deref(), cursor.filter.as_deref())
            }
            EntryKind::Heartbeat { quiet_since } => cursor.delivered_upto <= *quiet_since,
        };
        if send {
            cursor.delivered_upto = seq + 1;
            return Next::Frame(frame_for(ring, seq, entry, cursor.filter.as_deref()));
        }
    }
    Next::Idle
}

impl Hub {
    /// Pushes a coalesced batch (ascending ids), calling `before` for each nudge first.
    fn push_batch(&self, ring: &mut Ring, batch: Vec<Nudge>, at: Instant, before: impl Fn(&Nudge)) {
        let Some(batch_id) = batch.last().map(|n| n.id) else {
            return;
        };
        // Pushing evicts at the front only: the end sequence moves by one per push.
        let last_seq = ring.end_seq() + batch.len() as u64 - 1;
        for nudge in batch {
            before(&nudge);
            let tail = Nudge {
                id: batch_id,
                ..nudge.clone()
            }
            .encode();
            let entry = Entry {
                bytes: nudge.encode_with_id(false),
                at,
                kind: EntryKind::Nudge {
                    id: nudge.id,
                    scope: nudge.tournament_ids.map(Vec::into_boxed_slice),
                    batch: Some((last_seq, tail)),
                },
            };
            self.push(ring, entry);
        }
    }

    fn push(&self, ring: &mut Ring, entry: Entry) {
        ring.entries.push_back(entry);
        while ring.entries.len() > self.config.capacity {
            if let Some(old) = ring.entries.pop_front() {
                ring.first_seq += 1;
                if let EntryKind::Nudge { id, .. } = old.kind {
                    ring.floor = ring.floor.max(id);
                }
            }
        }
    }

    fn wake(&self) {
        let end = self.read().end_seq();
        // Also bumps the version when the value is unchanged (close): every receiver wakes.
        self.end.send_replace(end);
    }
}

/// The bytes of ring entry `seq` for a subscriber watching `filter`: a coalesced frame gets
/// the batch's id when no later frame of its batch is for that subscriber.
fn frame_for<'r>(ring: &'r Ring, seq: u64, entry: &'r Entry, filter: Option<&[i64]>) -> &'r Bytes {
    let EntryKind::Nudge {
        batch: Some((last_seq, tail)),
        ..
    } = &entry.kind
    else {
        return &entry.bytes;
    };
    let later_for_subscriber = (seq + 1..=*last_seq).any(|later| {
        let entry = later
            .checked_sub(ring.first_seq)
            .and_then(|i| ring.entries.get(i as usize));
        matches!(entry, Some(Entry { kind: EntryKind::Nudge { scope, .. }, .. })
            if frame::scope_matches(scope.as_deref(), filter))
    });
    if later_for_subscriber {
        &entry.bytes
    } else {
        tail
    }
}

fn nudge_entry(nudge: &Nudge, bytes: Bytes, at: Instant) -> Entry {
    Entry {
        bytes,
        at,
        kind: EntryKind::Nudge {
            id: nudge.id,
            scope: nudge.tournament_ids.clone().map(Vec::into_boxed_slice),
            batch: None,
        },
    }
}

/// One connected client: its cursor in the ring, and the frames to send before live ones.
pub struct Subscription {
    hub: Arc<Hub>,
    rx: watch::Receiver<u64>,
    pub(crate) cursor: Cursor,
    /// `None`: no cap (a lifetime too long to represent).
    deadline: Option<Instant>,
    pub(crate) initial: Option<Bytes>,
    done: bool,
    /// Counts this stream against its client's cap while it lives.
    pub(crate) pass: crate::http::StreamPass,
}

impl Subscription {
    /// The next chunk of the response body; `None` ends the stream (lifetime cap, hub closed,
    /// or after the `resync` frame of a subscriber that fell behind).
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            // Mark the current end as seen before looking, so a push racing with the look
            // makes `changed` return at once.
            self.rx.borrow_and_update();
            match self.step() {
                Step::Chunk(bytes) => return Some(bytes),
                Step::End => return None,
                Step::Idle => {}
            }
            if self.rx.changed().await.is_err() {
                self.done = true;
                return None;
            }
        }
    }

    /// What to send now, without waiting: a chunk, nothing yet (wait for the next wake-up),
    /// or the end of the stream. Used by [`Subscription::next_chunk`] and by the lean
    /// streams' direct writes ([`crate::direct`]).
    pub(crate) fn step(&mut self) -> Step {
        let hub = Arc::clone(&self.hub);
        let ring = hub.read();
        self.step_in(&ring)
    }

    /// [`Subscription::step`] with the ring already read-locked (lock order: the ring, then
    /// anything of the subscriber's).
    pub(crate) fn step_in(&mut self, ring: &Ring) -> Step {
        if self.done {
            return Step::End;
        }
        if let Some(initial) = self.initial.take() {
            return Step::Chunk(initial);
        }
        match next_in(ring, &mut self.cursor) {
            Next::Frame(bytes) => return Step::Chunk(bytes.clone()),
            Next::Lagged(head_id) => {
                self.done = true;
                self.hub.lagged.fetch_add(1, Ordering::Relaxed);
                return Step::Chunk(Bytes::from(frame::resync(head_id, false)));
            }
            Next::Closed => {
                self.done = true;
                return Step::End;
            }
            Next::Idle => {}
        }
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            self.done = true;
            return Step::End;
        }
        Step::Idle
    }

    /// The next live frame from the ring, borrowed, for the direct writes: `Other` when
    /// anything else is due (first frames, `resync`, the end, the lifetime cap at `now`),
    /// which [`Subscription::step`] then handles (it looks again: nothing is consumed).
    pub(crate) fn live<'r>(&mut self, ring: &'r Ring, now: Instant) -> Live<'r> {
        if self.done || self.initial.is_some() {
            return Live::Other;
        }
        match next_in(ring, &mut self.cursor) {
            Next::Frame(bytes) => Live::Frame(bytes),
            Next::Idle if self.deadline.is_some_and(|deadline| now >= deadline) => Live::Other,
            Next::Idle => Live::Idle,
            Next::Lagged(_) | Next::Closed => Live::Other,
        }
    }
}

/// See [`Subscription::live`].
pub(crate) enum Live<'r> {
    Frame(&'r Bytes),
    Idle,
    Other,
}

/// See [`Subscription::step`].
pub(crate) enum Step {
    Chunk(Bytes),
    Idle,
    End,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use projections::nudge::NudgeKind;

    fn nudge(id: i64, scope: Option<Vec<i64>>) -> Nudge {
        Nudge {
            id,
            kind: NudgeKind::Standings,
            tournament_ids: scope,
            polled_at: Utc::now(),
        }
    }

    fn hub(capacity: usize) -> Arc<Hub> {
        let hub = Hub::new(HubConfig {
            capacity,
            ..HubConfig::default()
        });
        hub.start(0, 0, Vec::new());
        hub
    }

    async fn next(sub: &mut Subscription) -> Option<Bytes> {
        tokio::time::timeout(Duration::from_secs(5), sub.next_chunk())
            .await
            .expect("a frame in time")
    }

    fn id_of(frame: &Bytes) -> &str {
        let text = std::str::from_utf8(frame).unwrap();
        text.lines().next().unwrap()
    }

    #[tokio::test]
    async fn frames_are_delivered_in_order_and_filtered() {
        let hub = hub(16);
        let mut all = hub.attach(None, None).subscription;
        let mut seven = hub.attach(Some(vec![7].into()), None).subscription;
        assert_eq!(hub.subscriber_count(), 2);
        hub.publish([
            nudge(1, Some(vec![3])),
            nudge(2, None),
            nudge(3, Some(vec![7, 9])),
        ]);
        for id in 1..=3 {
            assert_eq!(id_of(&next(&mut all).await.unwrap()), format!("id: {id}"));
        }
        assert_eq!(id_of(&next(&mut seven).await.unwrap()), "id: 2");
        assert_eq!(id_of(&next(&mut seven).await.unwrap()), "id: 3");
        // The same bytes, shared.
        let a = {
            hub.publish([nudge(4, None)]);
            next(&mut all).await.unwrap()
        };
        let b = next(&mut seven).await.unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr());
        drop(all);
        assert_eq!(hub.subscriber_count(), 1);
    }

    #[tokio::test]
    async fn a_subscriber_behind_the_ring_gets_resync_then_ends() {
        let hub = hub(4);
        let mut slow = hub.attach(None, None).subscription;
        let mut fast = hub.attach(None, None).subscription;
        for id in 1..=6 {
            hub.publish([nudge(id, None)]);
            assert_eq!(id_of(&next(&mut fast).await.unwrap()), format!("id: {id}"));
        }
        let resync = next(&mut slow).await.unwrap();
        assert_eq!(
            &resync[..],
            b"id: 6\nevent: resync\ndata: {\"last_id\": 6}\n\n"
        );
        assert!(next(&mut slow).await.is_none());
        assert_eq!(hub.stats().lagged, 1);
    }

    #[tokio::test]
    async fn heartbeats_go_only_to_quiet_subscribers() {
        let hub = Hub::new(HubConfig {
            heartbeat_interval: Duration::from_millis(400),
            ..HubConfig::default()
        });
        hub.start(0, 0, Vec::new());
        let mut filtered = hub.attach(Some(vec![1].into()), None).subscription;
        let mut all = hub.attach(None, None).subscription;
        tokio::time::sleep(Duration::from_millis(350)).await;
        hub.publish([nudge(1, Some(vec![2]))]);
        hub.heartbeat();
        hub.publish([nudge(2, None)]);
        // `all` just got nudge 1: no heartbeat; `filtered` got nothing for 350 ms: heartbeat.
        assert_eq!(id_of(&next(&mut all).await.unwrap()), "id: 1");
        assert_eq!(id_of(&next(&mut all).await.unwrap()), "id: 2");
        assert_eq!(&next(&mut filtered).await.unwrap()[..], frame::HEARTBEAT);
        assert_eq!(id_of(&next(&mut filtered).await.unwrap()), "id: 2");
    }

    #[tokio::test]
    async fn resync_all_resyncs_every_subscriber_and_restarts_at_the_new_head() {
        let hub = hub(8);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let observed = seen.clone();
        hub.observe(move |n| {
            observed
                .lock()
                .unwrap()
                .push((n.id, n.tournament_ids.clone()))
        });
        let mut a = hub.attach(None, None).subscription;
        let mut b = hub.attach(Some(vec![3].into()), None).subscription;
        hub.publish([nudge(1, None)]);
        assert_eq!(id_of(&next(&mut a).await.unwrap()), "id: 1");
        hub.resync_all(9);
        let resync = b"id: 9\nevent: resync\ndata: {\"last_id\": 9}\n\n";
        for sub in [&mut a, &mut b] {
            assert_eq!(&next(sub).await.unwrap()[..], resync);
            assert!(next(sub).await.is_none());
        }
        assert_eq!(*seen.lock().unwrap(), [(1, None), (9, None)]);
        let attached = hub.attach(None, Some(5));
        assert_eq!((attached.head_id, attached.floor), (9, 9));
        let mut c = attached.subscription;
        hub.publish([nudge(9, None), nudge(10, None)]);
        assert_eq!(id_of(&next(&mut c).await.unwrap()), "id: 10");
    }

    /// Two replicas batch the same rows differently; a client's id from one resumes exactly
    /// on the other, because a client only ever holds the id of a batch it received whole.
    #[tokio::test]
    async fn an_id_from_one_batching_resumes_exactly_on_another() {
        use crate::coalesce::coalesce;
        let kind = |id, kind, scope: Vec<i64>| Nudge {
            kind,
            ..nudge(id, Some(scope))
        };
        let rows = vec![
            kind(10, NudgeKind::Standings, vec![7]),
            kind(11, NudgeKind::Live, vec![3]),
            kind(12, NudgeKind::Standings, vec![3]),
            kind(13, NudgeKind::Matches, vec![3]),
        ];
        let a = hub(16);
        let mut everything = a.attach(None, None).subscription;
        let mut only_7 = a.attach(Some(vec![7].into()), None).subscription;
        a.publish_batch(coalesce(rows.clone()));
        // Live 11, standings 12 (rows 10 and 12), matches 13: the id on the last one only.
        let mut frames = Vec::new();
        for _ in 0..3 {
            frames.push(next(&mut everything).await.unwrap());
        }
        assert!(frames[0].starts_with(b"event: live\n"));
        assert!(frames[1].starts_with(b"event: standings\n"));
        assert_eq!(id_of(&frames[2]), "id: 13");
        // Tournament 7 only changed standings: its one frame ends the batch.
        let seven = next(&mut only_7).await.unwrap();
        assert_eq!(id_of(&seven), "id: 13");
        assert!(seven.ends_with(b"\"tournament_ids\": [3, 7]}\n\n"));

        // Replica b read row 10 alone, then 11 to 13. A client that got only the live frame
        // from a still holds its previous id (0 here) and gets row 10's standings from b.
        let b = hub(16);
        b.publish_batch(coalesce(rows[..1].to_vec()));
        b.publish_batch(coalesce(rows[1..].to_vec()));
        let replay = b.attach(Some(vec![7].into()), Some(0)).replay;
        assert_eq!(replay.len(), 1);
        assert!(replay[0].starts_with(b"id: 10\nevent: standings\n"));
        // A client that got the whole batch from a (id 13) has nothing left to replay.
        assert!(b.attach(None, Some(13)).replay.is_empty());
        assert!(b.attach(Some(vec![7].into()), Some(13)).replay.is_empty());
    }

    #[tokio::test]
    async fn close_ends_streams() {
        let hub = hub(4);
        let mut sub = hub.attach(None, None).subscription;
        let waiting = tokio::spawn(async move { sub.next_chunk().await });
        tokio::task::yield_now().await;
        hub.close();
        assert!(waiting.await.unwrap().is_none());
        assert!(hub.wait_ready(Duration::from_millis(1)).await);
    }

    #[tokio::test]
    async fn attach_replays_ring_nudges_after_an_id() {
        let hub = Hub::new(HubConfig {
            capacity: 8,
            ..HubConfig::default()
        });
        hub.start(3, 1, vec![nudge(2, Some(vec![5])), nudge(3, None)]);
        let attached = hub.attach(Some(vec![6].into()), Some(1));
        assert_eq!((attached.head_id, attached.floor), (3, 1));
        assert_eq!(attached.replay.len(), 1);
        assert_eq!(id_of(&attached.replay[0]), "id: 3");
        // Evicting nudges raises the floor.
        hub.publish((4..=12).map(|id| nudge(id, None)));
        assert_eq!(hub.attach(None, None).floor, 4);
    }
}
