//! The run-next slot: the one goroutine a worker runs next, handed between threads by swaps
//! alone. On its own so that loom checks the very code the runtime runs
//! (core/tests/loom_runnext.rs).
//!
//! A worker's current goroutine that wakes another (a send to a parked receiver) `put`s it
//! here: it runs next on the same worker, warm in cache, without waking anyone; what it
//! displaces goes to the local queue. The owner `take`s it at its next schedule point; a
//! thief may `take` it too, when it judged the owner stuck (`runq::steal_pass`).
//!
//! The invariant: a goroutine put here is obtained exactly once, by whoever swaps it out
//! (the owner's next `put`, or any `take`). Every access that moves a goroutine is one swap,
//! never a load and a store, so no two threads can both see the same goroutine as theirs.
//!
//! Rejected: a CAS loop (nothing to retry: the swap's answer is always usable), and a
//! lock (taken on every wake and every schedule).

use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use crate::loom::AtomicPtr;

/// See the module doc.
pub struct RunNext<T>(AtomicPtr<T>);

impl<T> Default for RunNext<T> {
    fn default() -> Self {
        RunNext(AtomicPtr::new(std::ptr::null_mut()))
    }
}

impl<T> RunNext<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `p` in the slot and returns what was there (the caller now owns it). Owner only.
    #[inline]
    pub fn put(&self, p: NonNull<T>) -> Option<NonNull<T>> {
        self.swap(p.as_ptr())
    }

    /// Empties the slot; whoever gets `Some` owns the goroutine. Owner, or a thief.
    #[inline]
    pub fn take(&self) -> Option<NonNull<T>> {
        self.swap(std::ptr::null_mut())
    }

    /// Whether the slot looks empty: a hint (for idle re-checks and thieves deciding to
    /// try), never a claim. Acquire, as the swaps: pairs with the AcqRel swap of `put`.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire).is_null()
    }

    /// AcqRel, because the slot hands a goroutine between threads both ways: the Release
    /// half publishes the record (written by whoever made it ready) to the thread that swaps
    /// it out; the Acquire half makes the previous occupant's record visible to us. Pairs
    /// with the same swap on the other side.
    #[inline]
    fn swap(&self, p: *mut T) -> Option<NonNull<T>> {
        NonNull::new(self.0.swap(p, Ordering::AcqRel))
    }
}
