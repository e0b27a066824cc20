//! Direct writes for lean streams: on every wake-up of the hub, a few *pass* tasks (one per
//! shard of the streams) write each idle stream's new frames with a non-blocking `send`,
//! instead of waking one task per stream.
//!
//! Why: a profile of the 100,000-stream fleet (`docs/performance.md`) put about a fifth of the
//! api's CPU per nudge in user space around the one `sendto` per stream: waking, queueing and
//! polling one task per stream, re-registering it on the `watch`, a timer per write. A pass
//! costs one task wake-up per shard, then a lock, the cursor step and the `send` per stream.
//!
//! Who writes: a stream is *direct* while its own task has nothing left to write; then only
//! the pass writes it. When a write cannot complete at once (full socket buffer), fails, or
//! the stream ends (lifetime cap, `resync`, hub closed), the pass hands the stream back to its
//! task, which writes the rest under the stall timeout and ends the stream as before. The
//! `direct` flag, under the slot's lock, decides, so frames never interleave. The task keeps
//! watching the socket for the client leaving while the pass writes.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use tokio::net::TcpStream;

use crate::hub::{Hub, Live, Ring, Step, Subscription};

/// Streams a pass writes before it lets other tasks of its worker run.
const YIELD_EVERY: usize = 64;

/// The lean streams of one hub, in shards, and the pass tasks that write them.
pub(crate) struct Writers {
    shards: Box<[Mutex<Shard>]>,
    next_shard: AtomicUsize,
    started: Once,
}

/// A slab of slots (8 bytes per stream: this is per-stream memory).
#[derive(Default)]
struct Shard {
    slots: Vec<Option<Arc<Slot>>>,
    free: Vec<usize>,
}

impl Shard {
    fn insert(&mut self, slot: Arc<Slot>) -> usize {
        match self.free.pop() {
            Some(key) => {
                self.slots[key] = Some(slot);
                key
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, key: usize) {
        if let Some(entry) = self.slots.get_mut(key) {
            if entry.take().is_some() {
                self.free.push(key);
            }
        }
    }
}

impl Writers {
    pub(crate) fn new() -> Writers {
        // One pass per core: the passes of a wake-up run in parallel, like the tasks did.
        let shards = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
        Writers {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            next_shard: AtomicUsize::new(0),
            started: Once::new(),
        }
    }

    /// Hands `tcp` and its subscription to the hub's passes (starting them on first use:
    /// call inside the runtime). The stream starts with its task writing: see [`Slot::turn`].
    pub(crate) fn register(hub: &Arc<Hub>, tcp: TcpStream, sub: Subscription) -> Registered {
        let writers = &hub.direct;
        writers.started.call_once(|| {
            for shard in 0..writers.shards.len() {
                tokio::spawn(run_pass(Arc::downgrade(hub), shard));
            }
        });
        let shard = writers.next_shard.fetch_add(1, Ordering::Relaxed) % writers.shards.len();
        let slot = Arc::new(Slot {
            tcp,
            state: Mutex::new(SlotState {
                sub,
                direct: false,
                pending: None,
                failed: false,
                task: None,
            }),
        });
        let key = lock(&writers.shards[shard]).insert(slot.clone());
        Registered {
            slot,
            hub: hub.clone(),
            shard,
            key,
        }
    }
}

/// One lean stream: its socket, its subscription and who writes it.
pub(crate) struct Slot {
    pub(crate) tcp: TcpStream,
    state: Mutex<SlotState>,
}

struct SlotState {
    sub: Subscription,
    /// The pass writes this stream (its task waits for [`Slot::handback`]).
    direct: bool,
    /// The rest of a frame the pass could not write at once: the task writes it first.
    pending: Option<Bytes>,
    /// A write of the pass failed: the connection is gone.
    failed: bool,
    /// The task waiting for the stream to be handed back.
    task: Option<Waker>,
}

/// What a stream's task does next.
pub(crate) enum Turn {
    /// Write these bytes (under the stall timeout), then ask again.
    Write(Bytes),
    /// Nothing to write: the pass writes from now on; wait for [`Slot::poll_handed_back`].
    Wait,
    /// The stream is over: shut the connection down.
    End,
    /// A direct write failed: drop the connection.
    Failed,
}

impl Registered {
    /// The task's next move (see [`Turn`]).
    pub(crate) fn turn(&self) -> Turn {
        // Lock order, as in the pass: the ring, then the slot.
        let ring = self.hub.read();
        let mut state = lock(&self.slot.state);
        if state.failed {
            return Turn::Failed;
        }
        if let Some(pending) = state.pending.take() {
            return Turn::Write(pending);
        }
        match state.sub.step_in(&ring) {
            Step::Chunk(bytes) => Turn::Write(bytes),
            Step::End => Turn::End,
            // Under the same lock as the look: a frame pushed after it is the pass's.
            Step::Idle => {
                state.direct = true;
                Turn::Wait
            }
        }
    }
}

impl Slot {
    /// Ready once the pass has handed the stream back after [`Turn::Wait`].
    pub(crate) fn poll_handed_back(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.state);
        if !state.direct {
            return Poll::Ready(());
        }
        match &mut state.task {
            Some(waker) => waker.clone_from(cx.waker()),
            None => state.task = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Writes the stream's new frames (straight from the ring) if it is direct; hands it back
    /// when a write would block or fail, or anything but a live frame is due.
    fn pass(&self, ring: &Ring, now: Instant) {
        let mut state = lock(&self.state);
        if !state.direct {
            return;
        }
        loop {
            match state.sub.live(ring, now) {
                Live::Idle => return,
                Live::Frame(bytes) => match self.tcp.try_write(bytes) {
                    Ok(n) if n == bytes.len() => continue,
                    Ok(n) => state.pending = Some(bytes.slice(n..)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        state.pending = Some(bytes.clone())
                    }
                    Err(_) => state.failed = true,
                },
                // The task's `step` looks again and handles it.
                Live::Other => {}
            }
            break;
        }
        state.direct = false;
        let task = state.task.take();
        drop(state);
        if let Some(task) = task {
            task.wake();
        }
    }
}

/// A registered stream; dropping it takes the stream away from the passes.
pub(crate) struct Registered {
    slot: Arc<Slot>,
    hub: Arc<Hub>,
    shard: usize,
    key: usize,
}

impl std::ops::Deref for Registered {
    type Target = Slot;

    fn deref(&self) -> &Slot {
        &self.slot
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // A pass holding the slot from before the removal must not write it any more.
        lock(&self.slot.state).direct = false;
        lock(&self.hub.direct.shards[self.shard]).remove(self.key);
    }
}

/// One shard's pass: after every wake-up of the hub, writes the shard's direct streams.
async fn run_pass(hub: Weak<Hub>, shard: usize) {
    let Some(mut wakes) = hub.upgrade().map(|hub| hub.wakes()) else {
        return;
    };
    let mut slots: Vec<Arc<Slot>> = Vec::new();
    loop {
        // Seen before the look: a push during the pass makes `changed` return at once.
        wakes.borrow_and_update();
        let Some(strong) = hub.upgrade() else {
            return;
        };
        slots.extend(
            lock(&strong.direct.shards[shard])
                .slots
                .iter()
                .flatten()
                .cloned(),
        );
        let closed = strong.is_closed();
        for batch in slots.chunks(YIELD_EVERY) {
            {
                // One read lock and one clock reading per batch, not per stream.
                let ring = strong.read();
                let now = Instant::now();
                for slot in batch {
                    slot.pass(&ring, now);
                }
            }
            tokio::task::yield_now().await;
        }
        drop(strong);
        slots.clear();
        // Every stream of a closed hub was handed back to end; new ones never become direct.
        if closed || wakes.changed().await.is_err() {
            return;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use projections::nudge::NudgeKind;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpSocket};

    use super::*;
    use crate::frame::Nudge;
    use crate::hub::HubConfig;

    fn nudge(id: i64) -> Nudge {
        Nudge {
            id,
            kind: NudgeKind::Standings,
            // ~1 KB frames fill small socket buffers quickly.
            tournament_ids: Some((1000..1150).collect()),
            polled_at: Utc::now(),
        }
    }

    /// The ids of the complete frames in `bytes`.
    fn ids(bytes: &[u8]) -> Vec<i64> {
        let text = std::str::from_utf8(bytes).unwrap();
        let complete = &text[..text.rfind("\n\n").map_or(0, |end| end + 2)];
        complete
            .split("\n\n")
            .filter_map(|frame| frame.strip_prefix("id: "))
            .map(|rest| rest.split('\n').next().unwrap().parse().unwrap())
            .collect()
    }

    /// The pass writes a direct stream with no help from its task; when the socket is full
    /// it hands the stream back with the rest of the frame, and the task's writes continue
    /// the byte stream exactly: every frame once, in order, whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pass_writes_direct_streams_and_hands_full_ones_back_intact() {
        let hub = Hub::new(HubConfig {
            capacity: 4096,
            ..HubConfig::default()
        });
        hub.start(0, 0, Vec::new());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut client = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        socket2::SockRef::from(&server)
            .set_send_buffer_size(4096)
            .unwrap();
        let stream = Writers::register(&hub, server, hub.attach(None, None).subscription);
        assert!(matches!(stream.turn(), Turn::Wait));

        // Written by the pass: this task does nothing for the stream.
        hub.publish([nudge(1)]);
        let mut received = Vec::new();
        while !received.ends_with(b"\n\n") {
            let mut buf = [0u8; 2048];
            let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
                .await
                .expect("the pass writes the frame")
                .unwrap();
            assert!(n > 0);
            received.extend_from_slice(&buf[..n]);
        }
        assert_eq!(ids(&received), [1]);

        // The client stops reading: the pass fills the buffers, then hands the stream back.
        let mut last = 1;
        let handed_back = std::future::poll_fn(|cx| stream.poll_handed_back(cx));
        tokio::pin!(handed_back);
        loop {
            last += 1;
            hub.publish([nudge(last)]);
            tokio::select! {
                () = &mut handed_back => break,
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
            assert!(last < 2000, "never handed back");
        }
        let reader = tokio::spawn(async move {
            let mut bytes = Vec::new();
            let mut buf = [0u8; 4096];
            while !ids(&bytes).contains(&(last + 1)) {
                let n = client.read(&mut buf).await.unwrap();
                assert!(n > 0);
                bytes.extend_from_slice(&buf[..n]);
            }
            bytes
        });
        // The task's part, as in `lean.rs`: write until there is nothing left.
        let mut wrote_pending = false;
        loop {
            match stream.turn() {
                Turn::Write(chunk) => {
                    wrote_pending = true;
                    crate::lean::write_all(&stream.tcp, &chunk).await.unwrap();
                }
                Turn::Wait => break,
                Turn::End | Turn::Failed => panic!("the stream ended"),
            }
        }
        assert!(wrote_pending);
        // Direct again: the pass writes the next frame.
        hub.publish([nudge(last + 1)]);
        let bytes = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("every frame arrives")
            .unwrap();
        assert_eq!(ids(&bytes), (2..=last + 1).collect::<Vec<_>>());
        assert!(bytes.ends_with(b"\n\n"));
    }
}
