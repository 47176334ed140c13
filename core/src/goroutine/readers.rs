//! Reading live goroutine records from other threads (dumps, profiles, leak reports), and
//! retiring a record so that no reader touches it once it is freed.
//!
//! Goroutines are not listed anywhere when they start: every record sits at the top of its
//! stack slot, and the stack allocator keeps each slot's owner, so a reader walks the slots
//! (`stack::for_each_owner`). A spawn pays nothing for it; an exit pays one store and one
//! load (`retire`). What keeps a record alive while it is read is a handshake on two words,
//! as Dekker's:
//! 1. A reader counts itself in `READERS`, then reads the record's status.
//! 2. An exiting goroutine's worker stores DEAD into its status, then reads `READERS`, and
//!    waits while it is not zero.
//!
//! With both sides sequentially consistent, either the reader sees DEAD (and skips the record)
//! or the exiting side sees the reader (and waits for it before freeing).
//!
//! Rejected: a global list of records under a lock (every spawn and exit would take it), and
//! reference counts on records (a read-modify-write on every queueing).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::G;

/// A goroutine's status once it has finished (beside handshake.rs's states).
pub(crate) const DEAD: u32 = 0xDEAD;

static READERS: AtomicUsize = AtomicUsize::new(0);

/// Step 2: called by a finishing goroutine's worker before its record is dropped and its slot
/// freed.
pub(super) fn retire(g: &G) {
    // SeqCst: pairs with the reader's SeqCst increment of READERS and load of the status in
    // `for_each_g` (step 1): one of the two sides sees the other's store.
    g.status.store(DEAD, Ordering::SeqCst);
    while READERS.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
}

/// Step 1: calls `f` on every live goroutine record. Records that finish meanwhile wait until
/// this returns: keep `f` short.
pub(crate) fn for_each_g(mut f: impl FnMut(&G)) {
    // SeqCst: pairs with `retire`'s SeqCst store of DEAD and load of READERS.
    READERS.fetch_add(1, Ordering::SeqCst);
    crate::stack::for_each_owner(|p| {
        // SAFETY: a slot's owner is set after its record is written and cleared before the
        // slot is reused; the record cannot be freed while READERS counts us, unless it was
        // already DEAD (module doc), which we check first.
        let g = unsafe { &*(p as *const G) };
        // SeqCst: the other half of step 1 (see `retire`).
        if g.status.load(Ordering::SeqCst) != DEAD {
            f(g);
        }
    });
    READERS.fetch_sub(1, Ordering::SeqCst);
}
