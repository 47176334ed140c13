//! Queues of waiting senders or receivers on one channel (Go's waitq of sudogs).
//!
//! An entry points at its waiter and at the waiting side's value: the value to send, or where
//! to put the value received. Those pointers stay valid while the waiter is unclaimed, and the
//! waiting side removes its entries before it returns; only the claim's winner, holding the
//! channel lock, reads or writes through them.
//!
//! Entries whose waiter was already claimed elsewhere (another case of a select, a timeout) are
//! stale: they are skipped and dropped when met, and removed by their owner on its way out.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::park::Waiter;

/// One waiting operation.
pub(crate) struct Entry {
    pub(crate) waiter: Arc<Waiter>,
    /// Its case index in a select (0 for a single operation).
    pub(crate) case: usize,
    /// The value to send, or where to write the value received (may be null to drop it).
    pub(crate) elem: *mut u8,
}

/// FIFO of waiting operations. Guarded by the channel lock.
#[derive(Default)]
pub(crate) struct WaitQ {
    q: VecDeque<Entry>,
}

impl WaitQ {
    pub(crate) fn push(&mut self, e: Entry) {
        // Most queues only ever hold one waiter (a reply channel, a goroutine parked on its
        // own channel): room for one, not VecDeque's first four, saves 80 bytes a parked
        // goroutine there (W9). A queue that grows past one reallocates once, as before.
        if self.q.capacity() == 0 {
            self.q.reserve_exact(1);
        }
        self.q.push_back(e);
    }

    /// Pops the first entry whose waiter this call manages to claim for its case (with `ok`);
    /// stale entries met on the way are dropped.
    pub(crate) fn claim_first(&mut self, ok: bool) -> Option<Entry> {
        while let Some(e) = self.q.pop_front() {
            if e.waiter.claim_case(e.case, ok) {
                return Some(e);
            }
        }
        None
    }

    /// Removes every entry of `w` (after its wait ended).
    pub(crate) fn remove(&mut self, w: &Arc<Waiter>) {
        if self.q.iter().any(|e| Arc::ptr_eq(&e.waiter, w)) {
            self.q.retain(|e| !Arc::ptr_eq(&e.waiter, w));
        }
    }

    /// Takes every entry (for close).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Entry> + '_ {
        self.q.drain(..)
    }

    /// The entries, first first (stale ones included).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.q.iter()
    }

    /// Entries waiting (stale ones included).
    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }
}
