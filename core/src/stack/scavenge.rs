//! The scavenger: hands the memory of wholly free slabs back to the kernel, beyond a warm
//! reserve of free slots. Sysmon calls it about once a second, as Go's scavenger works in the
//! background (the period is in `sched/policy.rs`).
//!
//! One `MADV_DONTNEED` per slab: the slots stay on the free list (cold now) and their guards
//! survive it; the next goroutine on such a slot pays the page faults a fresh slot pays. The
//! free list's lock is held throughout, so no slot of a slab being released is handed out.
//!
//! Rejected: releasing single slots as they are freed (a madvise on every exit, and the next
//! spawn on that slot pays 1.8 µs of faults instead of 0.4 µs, DESIGN.md, where a whole slab
//! costs about 0.2 µs per slot); unmapping slabs (the slab table and the overflow handler's
//! arithmetic rely on a slab's base never changing). MADV_FREE would make reuse cheaper
//! (0.66 µs, DESIGN.md) but leaves the pages in RSS until the kernel is short of memory; the
//! choice between the two was not benchmarked.

use std::sync::atomic::Ordering;

use super::classes::classes;
use super::config::WARM_SLOTS;
use super::slab::SizeClass;

impl SizeClass {
    /// Gives the pages of wholly free slabs back while more than WARM_SLOTS slots are free.
    /// Returns the slabs released.
    fn scavenge(&self) -> usize {
        // Slab free counts change only under this lock, so a slab counted wholly free here
        // has no slot in use, and none can be handed out until we are done.
        let free = self.free_list.lock();
        let mut spare = free.len().saturating_sub(WARM_SLOTS);
        let mut released = 0;
        let n = self.nslabs.load(Ordering::Acquire);
        for slab in &self.slabs[..n] {
            if spare < self.slots_per_slab {
                break;
            }
            if slab.free.load(Ordering::Relaxed) as usize != self.slots_per_slab
                || slab.cold.swap(true, Ordering::Relaxed)
            {
                continue;
            }
            let base = slab.base.load(Ordering::Acquire);
            // SAFETY: exactly this slab's mapping, none of whose slots is in use: its free
            // count is full and cannot change while we hold the free-list lock (see above).
            unsafe {
                libc::madvise(
                    base as *mut libc::c_void,
                    self.slots_per_slab * self.slot_size,
                    libc::MADV_DONTNEED,
                );
            }
            // Its top pages are gone: the next batch from it commits them again.
            slab.populated.store(0, Ordering::Relaxed);
            spare -= self.slots_per_slab;
            released += 1;
        }
        released
    }
}

/// Returns idle stack memory to the kernel: wholly free slabs beyond a warm reserve of slots.
/// Returns the slabs released.
pub fn scavenge() -> usize {
    classes().map(SizeClass::scavenge).sum()
}
