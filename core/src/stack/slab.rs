//! Slabs: one anonymous `MAP_NORESERVE` mapping per slab, carved into slots of
//! `[guard | stack | record]`, and the free list of one size class.
//!
//! ```text
//!  slab base                                                           slab end
//!  | guard | stack ........ G | guard | stack ........ G | ...
//!    GUARD   <- grows down  ^ the goroutine record sits at the top of its own slot
//! ```
//!
//! A class's free list is LIFO, so the next goroutine lands on the page the last one touched.
//! Each slab keeps, outside its mapping, the record pointer of the goroutine on each slot (for
//! the overflow handler and the registry walk), its count of free slots (for the scavenger)
//! and how many of its slots have had their top page committed. A new slab costs one `mmap`
//! and one call for all its guards (`guard.rs`); a batch for a thread's cache that holds
//! slots never used costs one call committing their top pages (`populate.rs`). So a fresh
//! spawn takes no page fault and no syscall of its own: W9 in benches/ measured 1.11 fault
//! traps and 1.0 madvise per goroutine before, 0.12 and 0.035 process_madvise after (the
//! faults left are the heap's: channels, waiters).
//!
//! Rejected: one mapping per stack (two maps each with a guard: the map limit stops near
//! 32,000 goroutines), one huge reservation for all stacks (charged against the commit limit
//! without MAP_NORESERVE, refused under overcommit mode 2), and keeping the owner pointers in
//! the slot itself (MADV_DONTNEED may zero them while the overflow handler reads).

use std::ptr;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::config::{BATCH, GUARD, MAX_SLABS, MAX_SLOTS_PER_SLAB, PAGE, SLAB_BYTES};
use super::guard::install_guards;
use super::populate::populate_tops;
use super::{valgrind, StackError};
use crate::loom::{AtomicBool, AtomicPtr, AtomicU16, AtomicU32, AtomicUsize};

/// A stack slot handed to a coroutine: `limit..base` is usable, and the guard lies below
/// `limit`. The top `header` bytes of the slot (above `base`) hold the goroutine record.
#[derive(Clone, Copy)]
pub struct SlotStack {
    base: usize,
    limit: usize,
    pub(super) class: &'static SizeClass,
    pub(super) slab: u32,
    pub(super) index: u32,
}

// SAFETY: `base` is the top of a mapped, writable region 16-aligned (slot ends are page
// aligned and the header is a multiple of 16), `limit` is the bottom of the same slot's guard,
// which faults on any access (MADV_GUARD_INSTALL or mprotect PROT_NONE): the guard page
// corosensei's trait requires.
unsafe impl corosensei::stack::Stack for SlotStack {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.base).expect("stack base is non-zero")
    }
    fn limit(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.limit - GUARD).expect("stack limit is non-zero")
    }
}

impl std::fmt::Debug for SlotStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotStack({:#x}..{:#x})", self.limit, self.base)
    }
}

impl SlotStack {
    /// Where the goroutine record of this slot lives: `header` bytes at the top of the slot.
    pub fn header(&self) -> *mut u8 {
        self.base as *mut u8
    }

    /// Lowest usable address (just above the guard).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Highest usable address (the goroutine record sits just above it).
    pub fn base(&self) -> usize {
        self.base
    }

    /// The slot's highest page: its record and the first frames.
    fn top_page(&self) -> usize {
        self.limit - GUARD + self.class.slot_size - PAGE
    }

    /// Records which goroutine runs on this slot, for the overflow handler.
    pub fn set_owner(&self, g: *mut u8) {
        let slab = &self.class.slabs[self.slab as usize];
        let owners = slab.owners.load(Ordering::Acquire);
        // SAFETY: `owners` has one entry per slot of this slab, allocated in `grow` before the
        // slab was published (the Acquire above pairs with its Release store), and `index` is
        // below the slab's slot count: this slot was carved from it.
        unsafe { (*owners.add(self.index as usize)).store(g, Ordering::Release) };
    }
}

/// One slab: a mapping of `slots_per_slab` slots of `slot_size` bytes each.
pub(super) struct Slab {
    pub(super) base: AtomicUsize,
    /// Goroutine record pointer per slot (null when free): read by the overflow handler, so
    /// it lives outside the slab, where MADV_DONTNEED cannot zero it.
    pub(super) owners: AtomicPtr<AtomicPtr<u8>>,
    /// Free slots of this slab. Guarded by the class's free-list lock.
    pub(super) free: AtomicU32,
    /// Released to the kernel by `scavenge` and not used since. Guarded by the same lock.
    pub(super) cold: AtomicBool,
    /// Slots below this index have had their top page committed (`populate.rs`) since the
    /// slab was mapped or scavenged; fresh slabs hand their slots out in index order. A u16
    /// (at most 256 slots) keeps a `Slab` at 24 bytes: every class holds 16,384 of them.
    /// Guarded by the same lock.
    pub(super) populated: AtomicU16,
}

/// All stacks of one size: their slabs and a free list.
pub struct SizeClass {
    pub(super) stack_size: usize,
    pub(super) header: usize,
    pub(super) slot_size: usize,
    pub(super) slots_per_slab: usize,
    pub(super) slabs: Box<[Slab]>,
    pub(super) nslabs: AtomicUsize,
    /// Free slots, most recently freed last. Guarded by this lock: also the slab creation.
    pub(super) free_list: Mutex<Vec<(u32, u32)>>,
}

impl SizeClass {
    pub(super) fn new(stack_size: usize, header: usize) -> SizeClass {
        let slot_size = GUARD + stack_size + header.next_multiple_of(PAGE);
        let slots_per_slab = (SLAB_BYTES / slot_size).clamp(1, MAX_SLOTS_PER_SLAB);
        let slabs = (0..MAX_SLABS)
            .map(|_| Slab {
                base: AtomicUsize::new(0),
                owners: AtomicPtr::new(ptr::null_mut()),
                free: AtomicU32::new(0),
                cold: AtomicBool::new(false),
                populated: AtomicU16::new(0),
            })
            .collect();
        SizeClass {
            stack_size,
            header,
            slot_size,
            slots_per_slab,
            slabs,
            nslabs: AtomicUsize::new(0),
            free_list: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn slot(&self, slab: u32, index: u32) -> SlotStack {
        let base = self.slabs[slab as usize].base.load(Ordering::Acquire);
        let start = base + index as usize * self.slot_size;
        SlotStack {
            // The header sits at the very top of the slot: the record and the first frames
            // share the page that the goroutine touches first.
            base: start + self.slot_size - self.header,
            limit: start + GUARD,
            class: self_static(self),
            slab,
            index,
        }
    }

    pub(super) fn alloc(&'static self) -> Result<SlotStack, StackError> {
        let mut free = self.free_list.lock();
        if free.is_empty() {
            self.grow(&mut free)?;
        }
        let (slab, index) = free.pop().expect("grow added slots");
        // One slot: nothing to batch, its page faults in as it runs.
        self.mark_taken(slab, index);
        drop(free);
        Ok(self.slot(slab, index))
    }

    /// Moves up to `n` free slots into `into` (a thread's cache), warmest last.
    pub(super) fn take_batch(
        &self,
        into: &mut Vec<(u32, u32)>,
        n: usize,
    ) -> Result<(), StackError> {
        debug_assert!(n <= BATCH);
        // Top pages of the slots in this batch never used yet, committed below in one call.
        let mut tops = [0usize; BATCH];
        let mut fresh = 0;
        let mut free = self.free_list.lock();
        if free.is_empty() {
            self.grow(&mut free)?;
        }
        for _ in 0..n {
            let Some((slab, index)) = free.pop() else {
                break;
            };
            if self.mark_taken(slab, index) && fresh < BATCH {
                tops[fresh] = self.slot(slab, index).top_page();
                fresh += 1;
            }
            into.push((slab, index));
        }
        drop(free);
        // Outside the lock: the kernel's work here is about 1.5 µs a page, and these slots
        // are this thread's now.
        populate_tops(&tops[..fresh]);
        // Hand out the most recently freed (warmest) slot first.
        into.reverse();
        Ok(())
    }

    /// Slot `index` of `slab` left the free list. Returns whether it lies beyond the slots
    /// whose top page was already committed, moving that mark past it: a hint only (a slot
    /// judged used faults its page in as it runs). Called with the free-list lock held.
    fn mark_taken(&self, slab: u32, index: u32) -> bool {
        let sl = &self.slabs[slab as usize];
        sl.free.fetch_sub(1, Ordering::Relaxed);
        sl.cold.store(false, Ordering::Relaxed);
        if (index as u16) < sl.populated.load(Ordering::Relaxed) {
            return false;
        }
        sl.populated.store(index as u16 + 1, Ordering::Relaxed);
        true
    }

    /// Returns slots (a thread's cache, or one freed slot) to the free list.
    pub(super) fn put_back(&self, slots: impl Iterator<Item = (u32, u32)>) {
        let mut free = self.free_list.lock();
        for (slab, index) in slots {
            self.slabs[slab as usize]
                .free
                .fetch_add(1, Ordering::Relaxed);
            free.push((slab, index));
        }
    }

    /// Gives one slot back to the free list.
    pub(super) fn free(&self, s: SlotStack) {
        self.put_back(std::iter::once((s.slab, s.index)));
    }

    /// Starts pulling a slot's top lines (its record and the 64 bytes below, where the first
    /// frame goes) into this CPU's cache.
    pub(super) fn prefetch(&self, header: *mut u8) {
        #[cfg(target_arch = "x86_64")]
        for off in (0..self.header + 64).step_by(64) {
            // SAFETY: a prefetch has no side effects and never faults; the address lies in
            // the slot (the record and the 64 bytes below it, where the first frame goes).
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(
                    header.wrapping_add(off).wrapping_sub(64).cast(),
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = header;
    }

    /// Maps a new slab and adds its slots to `free`. Called with the free-list lock held.
    fn grow(&self, free: &mut Vec<(u32, u32)>) -> Result<(), StackError> {
        let idx = self.nslabs.load(Ordering::Relaxed);
        if idx >= MAX_SLABS {
            return Err(StackError::NoMemory);
        }
        let len = self.slots_per_slab * self.slot_size;
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(StackError::NoMemory);
        }
        let base = base as usize;
        if let Err(e) = install_guards(base, self.slot_size, self.slots_per_slab) {
            // SAFETY: unmapping the slab mapped just above; it is not published yet
            // (`nslabs` still excludes it), so nothing refers to it.
            unsafe { libc::munmap(base as *mut libc::c_void, len) };
            return Err(e);
        }
        for i in 0..self.slots_per_slab {
            let start = base + i * self.slot_size;
            valgrind::register_stack(start + GUARD, start + self.slot_size);
        }
        let owners: Box<[AtomicPtr<u8>]> = (0..self.slots_per_slab)
            .map(|_| AtomicPtr::new(ptr::null_mut()))
            .collect();
        let slab = &self.slabs[idx];
        // Release: pairs with the Acquire loads of `owners`, `base` and `nslabs` by readers
        // without the lock (set_owner, the overflow handler, the registry walk), so a reader
        // that sees the slab sees its owners array and mapping.
        slab.owners
            .store(Box::leak(owners).as_mut_ptr(), Ordering::Release);
        slab.free
            .store(self.slots_per_slab as u32, Ordering::Relaxed);
        slab.base.store(base, Ordering::Release);
        self.nslabs.store(idx + 1, Ordering::Release);
        // Push in reverse so the lowest slot is handed out first.
        for i in (0..self.slots_per_slab).rev() {
            free.push((idx as u32, i as u32));
        }
        Ok(())
    }

    /// The goroutine record whose guard contains `addr`, if any (for the overflow handler).
    pub(super) fn owner_of_guard(&self, addr: usize) -> Option<*mut u8> {
        let n = self.nslabs.load(Ordering::Acquire);
        let len = self.slots_per_slab * self.slot_size;
        for slab in &self.slabs[..n] {
            let base = slab.base.load(Ordering::Acquire);
            if addr >= base && addr < base + len {
                let index = (addr - base) / self.slot_size;
                if (addr - base) % self.slot_size >= GUARD {
                    return None;
                }
                let owners = slab.owners.load(Ordering::Acquire);
                // SAFETY: `index` < slots_per_slab (addr lies in this slab's mapping), the
                // length of `owners`, published before `nslabs` counted this slab.
                return Some(unsafe { (*owners.add(index)).load(Ordering::Acquire) });
            }
        }
        None
    }

    /// Calls `f` with the owner of every slot in use.
    pub(super) fn for_each_owner(&self, f: &mut impl FnMut(*mut u8)) {
        for slab in &self.slabs[..self.nslabs.load(Ordering::Acquire)] {
            let owners = slab.owners.load(Ordering::Acquire);
            if owners.is_null() {
                continue;
            }
            for i in 0..self.slots_per_slab {
                // SAFETY: `owners` has slots_per_slab entries, allocated before the slab was
                // published (the Acquire load of `nslabs` above pairs with `grow`'s Release)
                // and never freed.
                let g = unsafe { (*owners.add(i)).load(Ordering::Acquire) };
                if !g.is_null() {
                    f(g);
                }
            }
        }
    }

    /// Address space this class has reserved, in bytes.
    pub(super) fn reserved_bytes(&self) -> usize {
        self.nslabs.load(Ordering::Relaxed) * self.slots_per_slab * self.slot_size
    }
}

fn self_static(c: &SizeClass) -> &'static SizeClass {
    // SAFETY: every SizeClass is leaked in `classes::class_for` and never freed, so any
    // reference to one may be extended to 'static.
    unsafe { &*(c as *const SizeClass) }
}
