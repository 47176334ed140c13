//! Goroutine stacks: carved from large slabs, committed only as touched, guarded, pooled.
//!
//! A goroutine needs its own machine stack because C and Python code may block deep inside
//! their own call chains. A million of them must fit on a stock kernel, whose limit on memory
//! maps (`vm.max_map_count`, 65530) rules out one mapping per stack: a stack with an mprotect
//! guard costs two maps, so that design stops near 32,000 goroutines.
//!
//! Instead, stacks are slots in slabs, one mapping per slab of up to 256 slots, each slot
//! `[guard | stack | record]`. Pages are committed by the kernel when first touched, so a
//! parked goroutine costs the pages its frames reach (usually one). The mechanisms, a file
//! each:
//! - `slab.rs`: mapping slabs, carving slots, a size class's LIFO free list;
//! - `classes.rs`: the size classes, findable without a lock from a signal handler;
//! - `cache.rs`: the per-thread cache of free default-sized slots;
//! - `guard.rs`: guard pages, `MADV_GUARD_INSTALL` (a slab's in one call) or `mprotect`;
//! - `populate.rs`: committing fresh slots' top pages a batch at a time;
//! - `scavenge.rs`: giving the memory of idle slabs back to the kernel;
//! - `overflow.rs`: reporting a goroutine that runs into its guard;
//! - `valgrind.rs`: telling valgrind where the stacks are;
//! - `config.rs`: sizes, tuning numbers and `GORO_STACK_SIZE`.
//!
//! This file is the front door: `alloc` and `SlotStack::free` route the default size through
//! the thread's cache and every other size straight to its class.
//!
//! Rejected: corosensei's default stacks (one mmap + mprotect each: the map limit), one huge
//! overcommitted reservation (charged against the commit limit without MAP_NORESERVE, and
//! refused under overcommit mode 2), segmented or copied stacks (C code holds pointers into
//! its stack).

mod cache;
mod classes;
mod config;
mod guard;
mod overflow;
mod populate;
mod scavenge;
mod slab;
mod valgrind;

pub use config::{default_stack_size, DEFAULT_STACK, MAX_STACK, MIN_STACK};
pub use overflow::install_overflow_handler;
pub use scavenge::scavenge;
pub use slab::{SizeClass, SlotStack};

/// Errors from the stack allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// The stack size is outside `MIN_STACK..=MAX_STACK`.
    BadSize,
    /// The kernel refused the memory (address space, map count).
    NoMemory,
}

/// Takes a stack of at least `size` usable bytes (0: the default) with `header` bytes above
/// it for the goroutine record.
pub fn alloc(size: usize, header: usize) -> Result<SlotStack, StackError> {
    let class = classes::class_for(size, header)?;
    if classes::is_default(class) {
        return cache::local_alloc(class);
    }
    class.alloc()
}

impl SlotStack {
    /// Gives the slot back to its pool.
    pub fn free(self) {
        self.set_owner(std::ptr::null_mut());
        if classes::is_default(self.class) {
            cache::local_free(self.class, self)
        } else {
            self.class.free(self);
        }
    }
}

/// Calls `f` with every slot's owner (a goroutine record set by `SlotStack::set_owner`).
pub fn for_each_owner(mut f: impl FnMut(*mut u8)) {
    for c in classes::classes() {
        c.for_each_owner(&mut f);
    }
}

/// Address space reserved for stacks, in bytes (memory is committed only as stacks are
/// touched, and given back by `scavenge`).
pub fn reserved_bytes() -> usize {
    classes::classes().map(SizeClass::reserved_bytes).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_usable_guarded_and_reused() {
        let a = alloc(0, 256).unwrap();
        assert!(a.base() - a.limit() >= DEFAULT_STACK);
        assert_eq!(a.base() % 16, 0);
        // The whole usable range is writable.
        // SAFETY: both addresses lie inside the slot's usable range `limit..base`, which is
        // mapped read-write and used by nothing else (the slot was just handed to us).
        unsafe {
            std::ptr::write_volatile(a.limit() as *mut u8, 1);
            std::ptr::write_volatile((a.base() - 1) as *mut u8, 1);
        }
        let class = a.class;
        assert!(class.owner_of_guard(a.limit() - 1).is_some());
        assert!(class.owner_of_guard(a.limit()).is_none());
        let (slab, index) = (a.slab, a.index);
        a.free();
        let b = alloc(0, 256).unwrap();
        assert_eq!(
            (b.slab, b.index),
            (slab, index),
            "LIFO reuse keeps pages warm"
        );
        b.free();
    }

    #[test]
    fn slots_come_with_their_top_page_committed() {
        let a = alloc(0, 256).unwrap();
        let top = a.header() as usize & !(config::PAGE - 1);
        let mut resident = [0u8; 1];
        // SAFETY: mincore only reads the page tables of `top..top + PAGE`, a page of the
        // slot's mapping, into the one-byte vector it needs for one page.
        let r = unsafe {
            libc::mincore(
                top as *mut libc::c_void,
                config::PAGE,
                resident.as_mut_ptr(),
            )
        };
        assert_eq!(r, 0);
        // Committed by the batch (populate.rs), or by the goroutine that used it before.
        if populate::works() {
            assert_eq!(resident[0] & 1, 1, "top page of {a:?} is not resident");
        }
        a.free();
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!(alloc(1, 64).unwrap_err(), StackError::BadSize);
        assert_eq!(alloc(MAX_STACK + 1, 64).unwrap_err(), StackError::BadSize);
        let s = alloc(MIN_STACK, 64).unwrap();
        assert!(s.base() - s.limit() >= MIN_STACK);
        s.free();
    }
}
