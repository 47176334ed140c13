//! The event-loop bridge: how a wait completed on any goro thread reaches the one thread that
//! runs an event loop (asyncio's, Node's), written once for both.
//!
//! A loop owns one `Bridge`. Each of its waits gets a callback waiter from `Bridge::waiter`,
//! carrying a token (the binding's record of that wait). When a partner claims the waiter, the
//! callback runs on the partner's thread, holding no interpreter lock, so it only pushes
//! (token, outcome) on the bridge's queue, and calls `notify` if the queue was empty: one
//! notify per batch, however many waits complete before the loop gets to it. The loop's
//! handler calls `drain` and settles every wait in the batch.
//!
//! No notify is lost: a push that finds the queue empty notifies, and `drain` empties the
//! queue under the same lock, so the push after a drain notifies again. `notify` is the only
//! thing that differs between loops: asyncio writes a byte to a pipe the loop watches, Node
//! calls a thread-safe function.
//!
//! Rejected: a notify per completion (a pipe write or a thread-safe call per wake, the cost the
//! batching removes); a lock-free queue (the lock is held for a push or a swap, uncontended
//! except when completions and the drain meet, and a `Vec` swap hands the loop a whole batch).

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::park::{Outcome, Waiter};

/// See the module doc. `T` is the binding's token for one wait.
pub struct Bridge<T> {
    /// Completed waits not yet drained. Guarded by its lock.
    queue: Mutex<Vec<(T, Outcome)>>,
    notify: Box<dyn Fn() + Send + Sync>,
}

impl<T: Clone + Send + Sync + 'static> Bridge<T> {
    /// A bridge whose first completion after each drain calls `notify` (on the completing
    /// thread: it must not block).
    pub fn new(notify: impl Fn() + Send + Sync + 'static) -> Arc<Bridge<T>> {
        Arc::new(Bridge {
            queue: Mutex::new(Vec::new()),
            notify: Box::new(notify),
        })
    }

    /// A callback waiter for one wait of this loop: its outcome arrives with `token` in the
    /// next `drain`. (`wait_async` may ask for several for one wait; only the last one's
    /// outcome is ever queued.) A waiter that completes after the bridge is gone is dropped.
    pub fn waiter(self: &Arc<Self>, token: T) -> Arc<Waiter> {
        let bridge: Weak<Bridge<T>> = Arc::downgrade(self);
        Waiter::callback(move |out| {
            if let Some(b) = bridge.upgrade() {
                b.push(token.clone(), out);
            }
        })
    }

    /// Queues a completion and notifies if it starts a batch. Any thread.
    pub fn push(&self, token: T, out: Outcome) {
        let first = {
            let mut q = self.queue.lock();
            q.push((token, out));
            q.len() == 1
        };
        if first {
            (self.notify)();
        }
    }

    /// Takes every completion queued so far, oldest first. The loop's thread.
    pub fn drain(&self) -> Vec<(T, Outcome)> {
        std::mem::take(&mut *self.queue.lock())
    }

    /// Whether completions are queued.
    pub fn is_empty(&self) -> bool {
        self.queue.lock().is_empty()
    }
}
