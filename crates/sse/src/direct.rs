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

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, Weak};

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::hub::{Hub, Step, Subscription};

/// Streams a pass writes before it lets other tasks of its worker run.
const YIELD_EVERY: usize = 64;

/// The lean streams of one hub, in shards, and the pass tasks that write them.
pub(crate) struct Writers {
    shards: Box<[Mutex<HashMap<u64, Arc<Slot>>>]>,
    next_key: AtomicU64,
    started: Once,
}

impl Writers {
    pub(crate) fn new() -> Writers {
        // One pass per core: the passes of a wake-up run in parallel, like the tasks did.
        let shards = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
        Writers {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            next_key: AtomicU64::new(0),
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
        let key = writers.next_key.fetch_add(1, Ordering::Relaxed);
        let shard = (key % writers.shards.len() as u64) as usize;
        let slot = Arc::new(Slot {
            tcp,
            state: Mutex::new(SlotState {
                sub,
                direct: false,
                pending: None,
                failed: false,
            }),
            handback: Notify::new(),
        });
        lock(&writers.shards[shard]).insert(key, slot.clone());
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
    /// Signalled when the pass hands the stream back to its task.
    handback: Notify,
}

struct SlotState {
    sub: Subscription,
    /// The pass writes this stream (its task waits for [`Slot::handback`]).
    direct: bool,
    /// The rest of a frame the pass could not write at once: the task writes it first.
    pending: Option<Bytes>,
    /// A write of the pass failed: the connection is gone.
    failed: bool,
}

/// What a stream's task does next.
pub(crate) enum Turn {
    /// Write these bytes (under the stall timeout), then ask again.
    Write(Bytes),
    /// Nothing to write: the pass writes from now on; wait for [`Slot::handed_back`].
    Wait,
    /// The stream is over: shut the connection down.
    End,
    /// A direct write failed: drop the connection.
    Failed,
}

impl Slot {
    /// The task's next move (see [`Turn`]).
    pub(crate) fn turn(&self) -> Turn {
        let mut state = lock(&self.state);
        if state.failed {
            return Turn::Failed;
        }
        if let Some(pending) = state.pending.take() {
            return Turn::Write(pending);
        }
        match state.sub.step() {
            Step::Chunk(bytes) => Turn::Write(bytes),
            Step::End => Turn::End,
            // Under the same lock as the look: a frame pushed after it is the pass's.
            Step::Idle => {
                state.direct = true;
                Turn::Wait
            }
        }
    }

    /// Resolves once the pass hands the stream back after [`Turn::Wait`].
    pub(crate) fn handed_back(&self) -> tokio::sync::futures::Notified<'_> {
        self.handback.notified()
    }

    /// Writes the stream's new frames if it is direct; hands it back when a write would block
    /// or fail, or the stream ends.
    fn pass(&self) {
        let mut state = lock(&self.state);
        if !state.direct {
            return;
        }
        loop {
            match state.sub.step() {
                Step::Idle => return,
                Step::Chunk(bytes) => match self.tcp.try_write(&bytes) {
                    Ok(n) if n == bytes.len() => continue,
                    Ok(n) => state.pending = Some(bytes.slice(n..)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => state.pending = Some(bytes),
                    Err(_) => state.failed = true,
                },
                Step::End => {}
            }
            break;
        }
        state.direct = false;
        drop(state);
        // Stored as a permit if the task is not waiting yet.
        self.handback.notify_one();
    }
}

/// A registered stream; dropping it takes the stream away from the passes.
pub(crate) struct Registered {
    slot: Arc<Slot>,
    hub: Arc<Hub>,
    shard: usize,
    key: u64,
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
        lock(&self.hub.direct.shards[self.shard]).remove(&self.key);
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
        let closed = {
            let Some(hub) = hub.upgrade() else {
                return;
            };
            slots.extend(lock(&hub.direct.shards[shard]).values().cloned());
            hub.is_closed()
        };
        for (i, slot) in slots.iter().enumerate() {
            slot.pass();
            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
        }
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
