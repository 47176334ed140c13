//! The ring buffer of a buffered channel: `cap` slots of `elem_size` bytes that senders and
//! receivers use without the channel lock while nobody waits, and under it otherwise.
//!
//! Mechanism (the array flavour of crossbeam's channel, plus one bit):
//! - `head` and `tail` are positions (a lap count and a slot index), each on its own cache
//!   line. Every slot has a stamp: `pos` when slot `pos` is free for the sender of that
//!   position, `pos + 1` when it holds that position's value. A sender claims the tail by a
//!   compare-exchange, copies its value in and publishes it by the stamp; a receiver claims
//!   the head the same way and frees the slot for the next lap by its stamp. So a producer and
//!   a consumer share no lock and no line but the slots they pass.
//! - The `SLOW` bit, in both `head` and `tail`, says "take the channel lock". The lock holder
//!   sets it on entering (`enter_slow`, tail first) and clears it on leaving (`exit_slow`,
//!   head first) when nobody waits and the channel is open (chan/mod.rs decides when). A
//!   fast operation's compare-exchange fails once the bit is set, so while SLOW is set the
//!   positions belong to the lock holders, who keep them in a copy beside the lock (`Pos`)
//!   and write them back on leaving. Operations that won their compare-exchange just before
//!   finish their slot on their own; a holder waits for that one slot's stamp if it needs the
//!   slot (`settled`).
//! - Hence Go's rules stay those of the lock (chan/mod.rs): a waiter is only ever queued with
//!   the bit set, so a fast operation can never pass a waiting partner by, and a value a fast
//!   send put in is seen by a receiver that locks after it.
//!
//! Rejected: one lock for every operation (how channels were before: every message of W3
//! took and released the one lock word that both CPUs wrote); a lock-free fast path beside
//! queued waiters (a sender that finds a waiting receiver must take the head value for it, and
//! a failed claim would leave a popped value with no owner: FIFO order and no loss need the
//! lock there). Not tried: each stamp beside its value (crossbeam's layout); here the values
//! stay as dense as before and eight stamps share a line.
//!
//! Rings of more than `LOCK_FREE_MAX_CAP` slots, or whose stamps cannot be allocated, have no
//! lock-free side: every operation on them takes the lock, as before.

use std::alloc::{self, Layout};
use std::ptr;
use std::sync::atomic::Ordering;

use crossbeam_utils::CachePadded;

use crate::loom::AtomicUsize;

/// Slots are aligned for any element the typed layer allows (align <= 16).
pub(crate) const ALIGN: usize = 16;

/// Rings above this many slots are the lock's alone (no stamps, no lock-free path): their
/// stamps would cost 8 bytes a slot, which a channel of zero-size values of capacity 2^40 (a
/// counting semaphore, as Go allows) could never have.
const LOCK_FREE_MAX_CAP: usize = 1 << 20;

/// What a fast operation found.
#[derive(Debug, PartialEq, Eq)]
pub enum Fast {
    /// Sent or received.
    Done,
    /// Full (a send) or empty (a receive), with nobody waiting and the channel open: the
    /// operation would have to wait.
    WouldBlock,
    /// The lock must decide: somebody waits, the channel is closed, or the holder is at work.
    Locked,
}

/// Positions and stamps, shared by every side (a buffered channel's only).
struct Shared {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    stamps: Box<[AtomicUsize]>,
}

/// See the module doc. Unbuffered channels (cap 0) have no ring, and very large rings no
/// lock-free side (`LOCK_FREE_MAX_CAP`): the lock-free calls, `enter_slow` and `exit_slow` are
/// for rings that are `lock_free()`; the locked ones work on every ring.
pub struct Ring {
    shared: Option<Box<Shared>>,
    data: *mut u8,
    elem_size: usize,
    cap: usize,
    /// The SLOW bit, just above the index bits (a power of two > cap).
    slow: usize,
}

// SAFETY: the slots are reached only by the owner of a position (a won compare-exchange, or
// the lock holder while SLOW is set), which the stamps hand from one to the next.
unsafe impl Send for Ring {}
// SAFETY: as above.
unsafe impl Sync for Ring {}

impl Ring {
    /// None when `elem_size * cap` overflows or cannot be allocated.
    pub fn new(elem_size: usize, cap: usize) -> Option<Ring> {
        let bytes = elem_size.checked_mul(cap)?;
        let slow = cap.checked_add(1)?.checked_next_power_of_two()?;
        // One lap (`one_lap`, twice `slow`) must fit the word too.
        slow.checked_mul(2)?;
        let data = if bytes == 0 {
            ptr::NonNull::<u8>::dangling().as_ptr()
        } else {
            let layout = Layout::from_size_align(bytes, ALIGN).ok()?;
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { alloc::alloc(layout) };
            if p.is_null() {
                return None;
            }
            p
        };
        let shared = if cap == 0 || cap > LOCK_FREE_MAX_CAP {
            None
        } else {
            let mut stamps = Vec::new();
            // Without room for the stamps the ring is the lock's alone, as before.
            if stamps.try_reserve_exact(cap).is_ok() {
                stamps.extend((0..cap).map(AtomicUsize::new));
                Some(Box::new(Shared {
                    head: CachePadded::new(AtomicUsize::new(0)),
                    tail: CachePadded::new(AtomicUsize::new(0)),
                    stamps: stamps.into_boxed_slice(),
                }))
            } else {
                None
            }
        };
        Some(Ring {
            shared,
            data,
            elem_size,
            cap,
            slow,
        })
    }

    /// Whether this ring has a lock-free side (see the type's doc).
    #[inline(always)]
    pub fn lock_free(&self) -> bool {
        self.shared.is_some()
    }

    #[inline(always)]
    fn shared(&self) -> &Shared {
        debug_assert!(self.lock_free());
        // SAFETY: every caller is on a lock-free ring's path (see the type's doc).
        unsafe { self.shared.as_deref().unwrap_unchecked() }
    }

    /// One lap: positions of consecutive laps differ by this in their upper bits.
    #[inline(always)]
    fn one_lap(&self) -> usize {
        self.slow * 2
    }

    #[inline(always)]
    fn index(&self, pos: usize) -> usize {
        pos & (self.slow - 1)
    }

    /// The position after `pos` (SLOW clear).
    #[inline(always)]
    fn next(&self, pos: usize) -> usize {
        if self.index(pos) + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap() - 1)).wrapping_add(self.one_lap())
        }
    }

    #[inline(always)]
    fn slot(&self, index: usize) -> *mut u8 {
        // `index < cap`, so the offset stays inside the allocation (or is 0 for zero-size).
        self.data.wrapping_add(index * self.elem_size)
    }

    /// Sends without the lock.
    ///
    /// # Safety
    /// cap > 0; `elem` points at `elem_size` readable bytes (or is anything for size 0).
    #[inline]
    pub unsafe fn push_fast(&self, elem: *const u8) -> Fast {
        let s = self.shared();
        let mut tail = s.tail.load(Ordering::Relaxed);
        let mut spins = 0u32;
        loop {
            if tail & self.slow != 0 {
                return Fast::Locked;
            }
            let index = self.index(tail);
            let stamp = s.stamps[index].load(Ordering::Acquire);
            if stamp == tail {
                match s.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the slot is ours until the stamp below; the caller vouches
                        // for `elem`.
                        unsafe { copy_elem(elem, self.slot(index), self.elem_size) };
                        s.stamps[index].store(tail + 1, Ordering::Release);
                        return Fast::Done;
                    }
                    Err(t) => tail = t,
                }
            } else if stamp.wrapping_add(self.one_lap()) == tail + 1 {
                // The slot still holds last lap's value: full, unless its receiver is
                // finishing (the head has moved on already).
                crate::loom::fence(Ordering::SeqCst);
                let head = s.head.load(Ordering::Relaxed) & !self.slow;
                if head.wrapping_add(self.one_lap()) == tail {
                    return Fast::WouldBlock;
                }
                pause(&mut spins);
                tail = s.tail.load(Ordering::Relaxed);
            } else {
                // Another sender is between its compare-exchange and its stamp.
                pause(&mut spins);
                tail = s.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Receives without the lock into `out` (null drops the value with `drop_elem`).
    ///
    /// # Safety
    /// cap > 0; `out` is null or points at `elem_size` writable bytes.
    #[inline]
    pub unsafe fn pop_fast(&self, out: *mut u8, drop_elem: Option<unsafe fn(*mut u8)>) -> Fast {
        let s = self.shared();
        let mut head = s.head.load(Ordering::Relaxed);
        let mut spins = 0u32;
        loop {
            if head & self.slow != 0 {
                return Fast::Locked;
            }
            let index = self.index(head);
            let stamp = s.stamps[index].load(Ordering::Acquire);
            if stamp == head + 1 {
                match s.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the slot's value is ours until the stamp below; the caller
                        // vouches for `out`.
                        unsafe { take(self.slot(index), out, self.elem_size, drop_elem) };
                        s.stamps[index].store(head.wrapping_add(self.one_lap()), Ordering::Release);
                        return Fast::Done;
                    }
                    Err(h) => head = h,
                }
            } else if stamp == head {
                // Empty, unless a sender is finishing (the tail has moved on already). A
                // tail with SLOW set may have a waiter behind it: the lock decides.
                crate::loom::fence(Ordering::SeqCst);
                let tail = s.tail.load(Ordering::Relaxed);
                if tail == head {
                    return Fast::WouldBlock;
                }
                if tail & self.slow != 0 {
                    return Fast::Locked;
                }
                pause(&mut spins);
                head = s.head.load(Ordering::Relaxed);
            } else {
                // Another receiver is between its compare-exchange and its stamp.
                pause(&mut spins);
                head = s.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Sets SLOW (the lock was just taken) and returns the positions, which from now on only
    /// the lock holder moves, in its own copy (`Pos`, beside the lock), until `exit_slow`
    /// writes them back: so a locked operation touches no line a lock-free one polls. Tail
    /// first: a receiver that sees an empty ring and a clear tail knows nobody waits (see
    /// `pop_fast`).
    #[inline]
    pub fn enter_slow(&self) -> Pos {
        let s = self.shared();
        let tail = s.tail.fetch_or(self.slow, Ordering::SeqCst) & !self.slow;
        let head = s.head.fetch_or(self.slow, Ordering::SeqCst) & !self.slow;
        Pos {
            head,
            tail,
            len: self.count(head, tail),
        }
    }

    /// Clears SLOW, publishing the holder's positions (nobody waits, the channel is open, the
    /// lock is about to be released). Head first, the mirror of `enter_slow`.
    #[inline]
    pub fn exit_slow(&self, pos: &Pos) {
        let s = self.shared();
        s.head.store(pos.head, Ordering::Release);
        s.tail.store(pos.tail, Ordering::Release);
    }

    /// A count that grows by one with every value sent and every value received (modulo
    /// the word): the difference of two tells how much the lock-free side did in between.
    pub fn progress(&self, pos: &Pos) -> usize {
        let seq = |p: usize| {
            (p / self.one_lap())
                .wrapping_mul(self.cap)
                .wrapping_add(self.index(p))
        };
        seq(pos.head).wrapping_add(seq(pos.tail))
    }

    /// Bytes per value.
    #[inline(always)]
    pub fn elem_size(&self) -> usize {
        self.elem_size
    }

    /// Slots (0: unbuffered).
    #[inline(always)]
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Whether every slot is taken at `pos` (the lock holder's positions; always for cap 0).
    #[inline(always)]
    pub fn is_full_at(&self, pos: &Pos) -> bool {
        pos.len == self.cap
    }

    /// Values buffered at `pos` (the lock holder's positions).
    #[inline(always)]
    pub fn len_at(&self, pos: &Pos) -> usize {
        pos.len
    }

    /// Values buffered between two positions.
    fn count(&self, head: usize, tail: usize) -> usize {
        let (hix, tix) = (self.index(head), self.index(tail));
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if tail == head {
            0
        } else {
            self.cap
        }
    }

    /// Copies `elem` in at the tail. Lock held (SLOW set; `pos` from `enter_slow`).
    ///
    /// # Safety
    /// Not full; `elem` points at `elem_size` readable bytes (or is anything for size 0).
    #[inline]
    pub unsafe fn push(&self, pos: &mut Pos, elem: *const u8) {
        debug_assert!(self.len_at(pos) < self.cap);
        let tail = pos.tail;
        let index = self.index(tail);
        let stamp = self.shared.as_deref().map(|s| &s.stamps[index]);
        if let Some(stamp) = stamp {
            // A fast receiver of the last lap may still be reading this slot.
            settled(stamp, tail);
        }
        // SAFETY: the slot is free and only the lock holder moves the tail now.
        unsafe { copy_elem(elem, self.slot(index), self.elem_size) };
        if let Some(stamp) = stamp {
            stamp.store(tail + 1, Ordering::Release);
        }
        pos.tail = self.next(tail);
        pos.len += 1;
    }

    /// Moves the head value out into `out` (dropped with `drop_elem` when `out` is null).
    /// Lock held (SLOW set; `pos` from `enter_slow`).
    ///
    /// # Safety
    /// Not empty; `out` is null or points at `elem_size` writable bytes.
    #[inline]
    pub unsafe fn pop(&self, pos: &mut Pos, out: *mut u8, drop_elem: Option<unsafe fn(*mut u8)>) {
        debug_assert!(self.len_at(pos) > 0);
        let head = pos.head;
        let index = self.index(head);
        let stamp = self.shared.as_deref().map(|s| &s.stamps[index]);
        if let Some(stamp) = stamp {
            // A fast sender may still be writing this slot.
            settled(stamp, head + 1);
        }
        // SAFETY: the slot holds a value and only the lock holder moves the head now.
        unsafe { take(self.slot(index), out, self.elem_size, drop_elem) };
        if let Some(stamp) = stamp {
            stamp.store(head.wrapping_add(self.one_lap()), Ordering::Release);
        }
        pos.head = self.next(head);
        pos.len -= 1;
    }

    /// Drops every value still buffered (no other side can be at work: `&mut`); `held` is
    /// the lock holders' copy of the positions, if they had the ring.
    pub fn clear(&mut self, held: Option<Pos>, drop_elem: Option<unsafe fn(*mut u8)>) {
        let mut pos = match held {
            Some(pos) => pos,
            None if self.lock_free() => self.enter_slow(),
            None => return, // never held: nothing was ever sent
        };
        while self.len_at(&pos) > 0 {
            // SAFETY: not empty; null out drops the value.
            unsafe { self.pop(&mut pos, ptr::null_mut(), drop_elem) };
        }
    }
}

/// The ring's positions while the lock holds it (SLOW clear in both): `head` the next value
/// to receive, `tail` the next slot to fill.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pos {
    head: usize,
    tail: usize,
    /// Values between them (kept, not recomputed: the locked paths ask on every call).
    len: usize,
}

impl Drop for Ring {
    fn drop(&mut self) {
        let bytes = self.elem_size * self.cap; // checked in `new`
        if bytes != 0 {
            // SAFETY: allocated in `new` with this layout (`new` checked it).
            unsafe { alloc::dealloc(self.data, Layout::from_size_align_unchecked(bytes, ALIGN)) };
        }
    }
}

/// Waits until `stamp` reads `want`: the other side of a won compare-exchange finishes its
/// slot in a few instructions (it never switches goroutines meanwhile), unless its thread
/// lost the CPU.
#[inline]
fn settled(stamp: &AtomicUsize, want: usize) {
    let mut spins = 0u32;
    while stamp.load(Ordering::Acquire) != want {
        pause(&mut spins);
    }
}

/// One step of waiting for another side's few instructions: spin, then give the CPU away.
/// (crossbeam's `Backoff::snooze` does the same, but yields with std's call, which under loom
/// would never let the model's other threads run.)
#[inline]
fn pause(spins: &mut u32) {
    #[cfg(loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        if *spins < 6 {
            for _ in 0..(1u32 << *spins) {
                std::hint::spin_loop();
            }
            *spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// Moves a slot's value into `out`, or drops it when `out` is null.
///
/// # Safety
/// `src` holds a value; `out` is null or points at `size` writable bytes.
#[inline(always)]
unsafe fn take(src: *mut u8, out: *mut u8, size: usize, drop_elem: Option<unsafe fn(*mut u8)>) {
    if out.is_null() {
        if let Some(d) = drop_elem {
            // SAFETY: the slot holds a value that is being discarded.
            unsafe { d(src) };
        }
    } else {
        // SAFETY: the caller's contract.
        unsafe { copy_elem(src, out, size) };
    }
}

/// Copies one element; a no-op for size 0 or a null side (the value is then dropped by the
/// caller's rules: C values need no drop).
///
/// # Safety
/// Non-null pointers point at `size` valid bytes that do not overlap.
#[inline]
pub(crate) unsafe fn copy_elem(src: *const u8, dst: *mut u8, size: usize) {
    if src.is_null() || dst.is_null() {
        return;
    }
    // SAFETY: the caller's contract. Common sizes are copied inline: a call to memcpy for
    // eight bytes would be most of a channel operation's critical section.
    unsafe {
        match size {
            0 => {}
            8 => dst
                .cast::<u64>()
                .write_unaligned(src.cast::<u64>().read_unaligned()),
            4 => dst
                .cast::<u32>()
                .write_unaligned(src.cast::<u32>().read_unaligned()),
            16 => dst
                .cast::<u128>()
                .write_unaligned(src.cast::<u128>().read_unaligned()),
            _ => ptr::copy_nonoverlapping(src, dst, size),
        }
    }
}

/// Zero-fills a receive buffer (a receive from a closed channel).
///
/// # Safety
/// `dst` is null or points at `size` writable bytes.
#[inline]
pub(crate) unsafe fn zero_elem(dst: *mut u8, size: usize) {
    if size != 0 && !dst.is_null() {
        // SAFETY: the caller's contract.
        unsafe { ptr::write_bytes(dst, 0, size) };
    }
}
