//! Channels, as Go's chan.go: one lock per channel, a ring buffer, and FIFO queues of waiting
//! senders and receivers; and, for a buffered channel while nobody waits, sends and receives
//! that take no lock (buffer.rs: the ring is the lock's while SLOW is set, which every
//! locked section sets and `unlock` clears only when nobody waits).
//!
//! Invariants (under the lock), as in Go:
//! - sendq holds live entries only while the buffer is full (or cap is 0);
//! - recvq holds live entries only while the buffer is empty;
//! - so at most one of them has live entries.
//!
//! ("live": stale entries of waiters claimed elsewhere may linger; they are skipped.)
//!
//! Values move directly between the two sides when one waits: a sender that finds a waiting
//! receiver copies straight into the receiver's buffer, and a receiver that empties a slot of
//! a full buffer moves the first waiting sender's value into it (so waiting senders are served
//! in order). No lock is held across a park: see `park.rs` for the Waiter and `goroutine.rs`
//! for why a wake cannot be lost.
//!
//! A lock-free operation can never pass a waiter by: waiters are queued only under the lock,
//! so only while SLOW is set, and SLOW stays set while any is queued. `try_op` and `arm_one`
//! try the lock-free path first; its "would block" (full, or empty, with SLOW clear) is
//! final, since no partner can be queued and the channel is open.
//!
//! Rejected: the lock-free path while waiters are queued (see buffer.rs), and giving the ring
//! back at every unlock (see `unlock`).
//!
//! Files: `buffer.rs` the ring, `waitq.rs` the wait queues, `typed.rs` the generic `Chan<T>`
//! over this byte-level `RawChan` (which the C API uses directly).
//!
//! This folder is the channel as a source of the wait protocol: its state, and the steps a
//! wait takes on it under its lock (`try_op`, `arm`, `arm_one`, `dequeue`), and `close`. The
//! operations that wait (send, recv and their typed forms) are that protocol applied to one
//! channel, so they are written with it, in wait/chan.rs.

#[doc(hidden)]
pub mod buffer;
mod lock;
mod owners;
mod typed;
mod waitq;

pub use typed::{Chan, SendError};

use std::cell::UnsafeCell;
use std::sync::Arc;

use crate::park::Waiter;
use crate::Error;
use buffer::{copy_elem, zero_elem, Fast, Pos, Ring};
use lock::ChanLock;
use owners::Owners;
use waitq::{Entry, WaitQ};

pub(crate) use buffer::ALIGN;

/// A channel of `elem_size`-byte values (see the module doc).
///
/// In this order (`repr(C)`): what the lock-free paths read first, the lock and what it
/// guards last, over a cache line apart, so that a side spinning on the lock does not pull
/// away the line a lock-free side reads. (On the development VM this did not show in W5 either
/// way, 8 interleaved runs; it costs nothing.)
#[repr(C)]
pub struct RawChan {
    /// The buffer: used without the lock while nobody waits (buffer.rs).
    ring: Ring,
    /// Drops a value left in the buffer or discarded by a receive into null.
    drop_elem: Option<unsafe fn(*mut u8)>,
    /// The references that belong to one goroutine (owners.rs), for leak reports.
    owners: Owners,
    inner: UnsafeCell<Inner>,
    lock: ChanLock,
}

// SAFETY: `inner` is only touched with `lock` held; the element pointers in the wait queues
// are only used by the claim's winner, under the lock (see waitq.rs).
unsafe impl Send for RawChan {}
// SAFETY: as above.
unsafe impl Sync for RawChan {}

/// Guarded by `RawChan::lock`.
pub(crate) struct Inner {
    /// Whether the lock holds the ring (SLOW set), and then its positions (buffer.rs). A
    /// ring with no lock-free side (`Ring::lock_free`) keeps its positions here always.
    slow: bool,
    pos: Pos,
    /// `Ring::progress` when the ring was last given back to the lock-free side.
    given_at: usize,
    /// How many chances to give the ring back the lock lets pass (grows while the
    /// lock-free side does little with it each time and the lock is not fought over), and how
    /// many it still will this hold.
    hold: u8,
    hold_left: u8,
    closed: bool,
    sendq: WaitQ,
    recvq: WaitQ,
}

/// Values the lock-free side must pass, between giving the ring back and the lock taking it
/// again, for the round trip to count as worth it (see `RawChan::unlock`).
const WORTH_GIVING: usize = 16;
/// At most this many chances to give the ring back are let pass in one hold.
const MAX_HOLD: u8 = 63;

/// What a channel case of a wait does (wait/mod.rs re-exports it as `wait::Op`).
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Send the value at this pointer (elem_size bytes).
    Send(*const u8),
    /// Receive into this pointer (null drops the value).
    Recv(*mut u8),
}

/// What step 3 of a wait found on a channel (see `RawChan::arm`).
pub(crate) enum Armed {
    /// Completed (`ok` false when closed); wake this partner.
    Done(bool, Option<Arc<Waiter>>),
    /// The waiter is queued.
    Queued,
    /// Ready, untouched: the wait must start over.
    Ready,
    /// Ready in a way the lock keeps (a buffered value, room, closed): completed by claiming
    /// the wait's own waiter for this case first (`ok` false when closed); wake this partner.
    Claimed(bool, Option<Arc<Waiter>>),
    /// Another case of the wait claimed its waiter first: nothing was done here.
    Lost,
}

/// What `arm_one` did.
pub(crate) enum ArmedOne {
    /// Completed (`ok` false when closed); wake this partner.
    Done(bool, Option<Arc<Waiter>>),
    /// Not ready, and the caller may not wait.
    WouldBlock,
    /// The waiter is queued; the channel is held by the second reference while it waits.
    Queued(Arc<Waiter>, Arc<RawChan>),
}

/// What a non-blocking attempt at a send found.
pub(crate) enum SendPoll {
    /// Sent; wake this waiter (a receiver) once the lock is released.
    Sent(Option<Arc<Waiter>>),
    /// The channel is closed.
    Closed,
    /// It would have to wait.
    Pending,
}

/// What a non-blocking attempt at a receive found.
pub(crate) enum RecvPoll {
    /// Received a value (`true`), or the channel is closed and drained (`false`, out zeroed);
    /// wake this waiter (a sender) once the lock is released.
    Done(bool, Option<Arc<Waiter>>),
    /// It would have to wait.
    Pending,
}

impl RawChan {
    /// A channel of `cap` values of `elem_size` bytes; None if `elem_size * cap` overflows or
    /// cannot be allocated. `drop_elem` drops a value that is discarded (Rust values).
    pub fn new(
        elem_size: usize,
        cap: usize,
        drop_elem: Option<unsafe fn(*mut u8)>,
    ) -> Option<RawChan> {
        Some(RawChan {
            lock: ChanLock::new(),
            ring: Ring::new(elem_size, cap)?,
            inner: UnsafeCell::new(Inner {
                slow: false,
                pos: Pos::default(),
                given_at: 0,
                hold: 0,
                hold_left: 0,
                closed: false,
                sendq: WaitQ::default(),
                recvq: WaitQ::default(),
            }),
            drop_elem,
            owners: Owners::default(),
        })
    }

    /// `new`, shared: the handle every layer uses. The channel is listed for leak reports
    /// (through `hooks::chan_created`, which trace's leak report reads).
    pub fn new_shared(
        elem_size: usize,
        cap: usize,
        drop_elem: Option<unsafe fn(*mut u8)>,
    ) -> Option<Arc<RawChan>> {
        let c = Arc::new(RawChan::new(elem_size, cap, drop_elem)?);
        crate::hooks::chan_created(&c);
        Some(c)
    }

    /// Calls `f` on the waiter of every queued operation, stale ones included, under the
    /// lock (leak reports: a queued operation cannot leave its wait meanwhile).
    pub(crate) fn for_each_waiter(&self, mut f: impl FnMut(&Arc<Waiter>)) {
        self.with_lock(|i| {
            for e in i.sendq.iter().chain(i.recvq.iter()) {
                f(&e.waiter);
            }
        });
    }

    /// One reference the caller holds now belongs to goroutine `gid` (chan/owners.rs): take
    /// the reference first, then call this.
    pub fn own(&self, gid: u64) {
        self.owners.own(gid);
    }

    /// Goroutine `gid` gives up one reference it owns: call this, then drop the reference.
    /// False when it owns none.
    pub fn disown(&self, gid: u64) -> bool {
        self.owners.disown(gid)
    }

    /// The owned references (owners.rs) and their version: (version, [(goroutine, count)]).
    pub(crate) fn owners(&self) -> (u64, Vec<(u64, u32)>) {
        self.owners.snapshot()
    }

    /// The version of the owned references now (owners.rs).
    pub(crate) fn owners_version(&self) -> u64 {
        self.owners.version()
    }

    /// Bytes per value.
    pub fn elem_size(&self) -> usize {
        self.ring.elem_size()
    }

    /// Capacity (0 = unbuffered).
    pub fn cap(&self) -> usize {
        self.ring.cap()
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.with_lock(|i| self.ring.len_at(&i.pos))
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `close` has been called.
    pub fn is_closed(&self) -> bool {
        self.with_lock(|i| i.closed)
    }

    /// Takes the lock, and with it the ring (buffer.rs: SLOW set).
    #[inline]
    pub(crate) fn lock(&self) {
        let waited = self.lock.lock();
        self.hold_ring(waited);
    }

    /// `lock` if the lock is free this instant; false (and nothing taken) if not.
    #[inline]
    fn try_lock(&self) -> bool {
        if !self.lock.try_lock() {
            return false;
        }
        self.hold_ring(false);
        true
    }

    /// The lock was just taken (`waited`: after another side released it): the ring is the
    /// lock's too (buffer.rs, SLOW).
    #[inline]
    fn hold_ring(&self, waited: bool) {
        if self.ring.lock_free() {
            // SAFETY: both callers took the lock just before.
            let i = unsafe { self.inner() };
            if !i.slow {
                i.pos = self.ring.enter_slow();
                i.slow = true;
                let ran = self.ring.progress(&i.pos).wrapping_sub(i.given_at);
                i.hold = if ran < WORTH_GIVING && !waited {
                    (i.hold * 2 + 1).min(MAX_HOLD)
                } else {
                    0
                };
                i.hold_left = i.hold;
            }
        }
    }

    /// Releases the lock, and gives the ring back to the lock-free side when that can pay:
    /// nobody waits (stale entries count: their owners take them out soon), the channel is
    /// open, the ring is neither empty nor full (at either edge the next operation is likely
    /// to wait and take it again), and the last time it was given back the lock-free side
    /// did enough with it (`hold`). A round trip of the ring costs four atomic writes on the
    /// two lines every side reads, so a channel that lives near an edge with one side at each
    /// end (W5's producers, always about to fill their rings) is better off with the lock;
    /// one whose lock is fought over (W4's eight sides) is not, whatever it does. Measured at
    /// GOMAXPROCS=2, 8 interleaved runs, M msg/s: holding by the ring's use alone, W4 24.4
    /// and W5 10.2; with the lock's contention too, W4 29.7 and W5 10.4 (the lock alone, as
    /// before the ring: W4 31.2, W5 10.7). Giving it back whenever off the edges: W4 40.3 and
    /// W5 7.6, against 23.6 and 10.2 for the hold by use in the same runs (benches/RESULTS.md).
    ///
    /// # Safety
    /// The caller holds the lock (taken with `lock`).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock.
        let i = unsafe { self.inner() };
        if self.ring.len_at(&i.pos) != 0
            && !self.ring.is_full_at(&i.pos)
            && i.slow
            && !i.closed
            && i.sendq.len() + i.recvq.len() == 0
        {
            if i.hold_left > 0 {
                i.hold_left -= 1;
            } else {
                self.ring.exit_slow(&i.pos);
                i.slow = false;
                i.given_at = self.ring.progress(&i.pos);
            }
        }
        // SAFETY: the caller's contract.
        unsafe { self.lock.unlock() };
    }

    /// Tries `op` on the ring without the lock (buffered channels only).
    ///
    /// # Safety
    /// `op`'s pointer as for `try_op`.
    #[inline(always)]
    unsafe fn try_fast(&self, op: Op) -> Fast {
        if !self.ring.lock_free() {
            return Fast::Locked;
        }
        match op {
            // SAFETY: a lock-free ring; the caller vouches for the pointer.
            Op::Send(p) => unsafe { self.ring.push_fast(p) },
            // SAFETY: as above.
            Op::Recv(p) => unsafe { self.ring.pop_fast(p, self.drop_elem) },
        }
    }

    /// # Safety
    /// The caller holds the lock, and drops the reference before releasing it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn inner(&self) -> &mut Inner {
        // SAFETY: the lock gives exclusive access.
        unsafe { &mut *self.inner.get() }
    }

    fn with_lock<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        self.lock();
        // SAFETY: locked just above; the reference does not outlive the closure.
        let r = f(unsafe { self.inner() });
        // SAFETY: locked above.
        unsafe { self.unlock() };
        r
    }

    /// Tries to send without waiting. Lock held.
    ///
    /// # Safety
    /// Lock held; `elem` points at `elem_size` readable bytes (may be null for size 0).
    pub(crate) unsafe fn poll_send(&self, inner: &mut Inner, elem: *const u8) -> SendPoll {
        if inner.closed {
            return SendPoll::Closed;
        }
        if let Some(r) = inner.recvq.claim_first(true) {
            // SAFETY: the receiver's buffer is valid while its waiter is ours (waitq.rs).
            unsafe { self.deliver(elem, r.elem) };
            return SendPoll::Sent(Some(r.waiter));
        }
        if !self.ring.is_full_at(&inner.pos) {
            // SAFETY: not full; the caller vouches for `elem`.
            unsafe { self.ring.push(&mut inner.pos, elem) };
            return SendPoll::Sent(None);
        }
        SendPoll::Pending
    }

    /// Tries to receive without waiting. Lock held.
    ///
    /// # Safety
    /// Lock held; `out` is null or points at `elem_size` writable bytes.
    pub(crate) unsafe fn poll_recv(&self, inner: &mut Inner, out: *mut u8) -> RecvPoll {
        if self.ring.len_at(&inner.pos) > 0 {
            // SAFETY: not empty; the caller vouches for `out`.
            unsafe { self.ring.pop(&mut inner.pos, out, self.drop_elem) };
            // A slot is free: move the first waiting sender's value into it.
            if let Some(s) = inner.sendq.claim_first(true) {
                // SAFETY: there is room now; the sender's value is valid while claimed by us.
                unsafe { self.ring.push(&mut inner.pos, s.elem) };
                return RecvPoll::Done(true, Some(s.waiter));
            }
            return RecvPoll::Done(true, None);
        }
        if let Some(s) = inner.sendq.claim_first(true) {
            // SAFETY: as above.
            unsafe { self.deliver(s.elem, out) };
            return RecvPoll::Done(true, Some(s.waiter));
        }
        if inner.closed {
            // SAFETY: the caller vouches for `out`.
            unsafe { zero_elem(out, self.ring.elem_size()) };
            return RecvPoll::Done(false, None);
        }
        RecvPoll::Pending
    }

    /// Moves a value from a sender to a receiver; drops it if the receiver discards it.
    unsafe fn deliver(&self, src: *const u8, dst: *mut u8) {
        if dst.is_null() {
            if let (Some(d), false) = (self.drop_elem, src.is_null()) {
                // SAFETY: the value moves out of the sender, and nobody takes it.
                unsafe { d(src.cast_mut()) };
            }
        } else {
            // SAFETY: both sides point at elem_size bytes (callers' contracts).
            unsafe { copy_elem(src, dst, self.ring.elem_size()) };
        }
    }

    /// Queues a waiting operation. Lock held.
    #[inline]
    pub(crate) fn enqueue(inner: &mut Inner, send: bool, e: Entry) {
        if send {
            inner.sendq.push(e)
        } else {
            inner.recvq.push(e)
        }
    }

    /// Removes every entry of `w` after its wait ended.
    pub(crate) fn dequeue(&self, w: &Arc<Waiter>) {
        self.with_lock(|i| {
            i.sendq.remove(w);
            i.recvq.remove(w);
        });
    }

    /// Step 1 of a wait (wait/mod.rs) for one case: completes `op` if it can, under the lock.
    /// Some((ok, partner to wake)) if it completed. With `skip_busy`, a lock that is held
    /// this instant is not waited for (None): step 3 will look under it anyway, and a select
    /// that completes a free case costs one lock (W5 in benches/: +80% over locking all).
    ///
    /// # Safety
    /// `op`'s pointer is valid for elem_size bytes, as `wait` requires.
    #[inline(always)]
    pub(crate) unsafe fn try_op(
        &self,
        op: Op,
        skip_busy: bool,
    ) -> Option<(bool, Option<Arc<Waiter>>)> {
        // SAFETY: the caller vouches for the pointer.
        match unsafe { self.try_fast(op) } {
            Fast::Done => return Some((true, None)),
            Fast::WouldBlock => return None,
            Fast::Locked => {}
        }
        if skip_busy {
            if !self.try_lock() {
                return None;
            }
        } else {
            self.lock();
        }
        // SAFETY: locked just above; `poll_op` does not keep the reference.
        let done = unsafe { self.poll_op(self.inner(), op) };
        // SAFETY: locked above, by this call.
        unsafe { self.unlock() };
        done
    }

    /// Tries `op` without waiting. Lock held.
    ///
    /// # Safety
    /// Lock held; `op`'s pointer as for `try_op`.
    #[inline(always)]
    unsafe fn poll_op(&self, inner: &mut Inner, op: Op) -> Option<(bool, Option<Arc<Waiter>>)> {
        match op {
            // SAFETY: the caller holds the lock and vouches for the pointer.
            Op::Send(p) => match unsafe { self.poll_send(inner, p) } {
                SendPoll::Sent(w) => Some((true, w)),
                SendPoll::Closed => Some((false, None)),
                SendPoll::Pending => None,
            },
            // SAFETY: as above.
            Op::Recv(p) => match unsafe { self.poll_recv(inner, p) } {
                RecvPoll::Done(ok, w) => Some((ok, w)),
                RecvPoll::Pending => None,
            },
        }
    }

    /// Step 3 of a wait for one case: under one lock, either completes `op` (only when
    /// `first`: nothing of this wait is published yet, so no claim of its waiter is needed),
    /// or reports it ready without touching it (`first` false: the wait must abort and start
    /// over), or queues the wait's waiter (from `waiter()`, called only then) for `case`.
    ///
    /// # Safety
    /// As `try_op`; the pointer stays valid until `w`'s wait has ended and unregistered.
    pub(crate) unsafe fn arm(
        &self,
        op: Op,
        case: usize,
        first: bool,
        waiter: &mut dyn FnMut() -> Arc<Waiter>,
    ) -> Armed {
        self.lock();
        // SAFETY: locked just above; the reference is not used after the unlock below.
        let inner = unsafe { self.inner() };
        let mut w = None;
        let armed = if first {
            // SAFETY: locked; the caller vouches for the pointer.
            match unsafe { self.poll_op(inner, op) } {
                Some((ok, partner)) => Armed::Done(ok, partner),
                None => Armed::Queued,
            }
        } else {
            let me = waiter();
            let armed = match self.stable_ready(inner, op) {
                // What the lock keeps stays ready until we release it: the wait can complete
                // here, once it owns itself (W5 in benches/ab: aborting on every value that a
                // producer put in a later channel meanwhile cost select 15-20%).
                Some(ok) if !me.claim_case(case, ok) => Armed::Lost,
                Some(_) => {
                    // SAFETY: locked; the caller vouches for the pointer. Stable readiness
                    // means the poll completes; a partner it claims is another wait's.
                    match unsafe { self.poll_op(inner, op) } {
                        Some((ok, partner)) => Armed::Claimed(ok, partner),
                        None => unreachable!("stable readiness under the lock"),
                    }
                }
                None if self.ready_for(inner, op, &me) => Armed::Ready,
                None => Armed::Queued,
            };
            w = Some(me);
            armed
        };
        if let Armed::Queued = armed {
            // Made here, under the lock, only when it is needed: a goroutine's is cached, a
            // thread's is one allocation on a path that blocks a thread anyway.
            let w = w.unwrap_or_else(waiter);
            let (send, elem) = match op {
                Op::Send(p) => (true, p.cast_mut()),
                Op::Recv(p) => (false, p),
            };
            let e = Entry {
                waiter: w,
                case,
                elem,
            };
            Self::enqueue(inner, send, e);
        }
        // SAFETY: locked above, by this call.
        unsafe { self.unlock() };
        armed
    }

    /// `arm` for a wait of this one case (wait/mod.rs `wait_chan`): completes `op` if it can,
    /// else (if it may wait) queues the caller's waiter, under one lock. A queued wait holds a
    /// reference to the channel, taken under the lock, so its last handle may be released
    /// while it waits.
    ///
    /// # Safety
    /// As `arm`.
    #[inline(always)]
    pub(crate) unsafe fn arm_one(
        self: &Arc<Self>,
        op: Op,
        may_wait: bool,
        waiter: impl FnOnce() -> Arc<Waiter>,
    ) -> ArmedOne {
        // SAFETY: the caller vouches for the pointer.
        match unsafe { self.try_fast(op) } {
            Fast::Done => return ArmedOne::Done(true, None),
            Fast::WouldBlock if !may_wait => return ArmedOne::WouldBlock,
            _ => {}
        }
        self.lock();
        // SAFETY: locked just above; the reference is not used after the unlock below.
        let inner = unsafe { self.inner() };
        // SAFETY: locked; the caller vouches for the pointer.
        let armed = match unsafe { self.poll_op(inner, op) } {
            Some((ok, partner)) => ArmedOne::Done(ok, partner),
            None if !may_wait => ArmedOne::WouldBlock,
            None => {
                let w = waiter();
                let (send, elem) = match op {
                    Op::Send(p) => (true, p.cast_mut()),
                    Op::Recv(p) => (false, p),
                };
                let e = Entry {
                    waiter: w.clone(),
                    case: 0,
                    elem,
                };
                Self::enqueue(inner, send, e);
                ArmedOne::Queued(w, Arc::clone(self))
            }
        };
        // SAFETY: locked above, by this call.
        unsafe { self.unlock() };
        armed
    }

    /// Whether `op` can complete now from the channel's own state, which only holders of its
    /// lock change (a buffered value or room, or closed), and with what `ok`. Readiness that
    /// comes from a waiting partner is not stable: another case of that partner may claim it.
    /// Lock held.
    fn stable_ready(&self, inner: &Inner, op: Op) -> Option<bool> {
        match op {
            Op::Send(_) if inner.closed => Some(false),
            Op::Send(_) if !self.ring.is_full_at(&inner.pos) => Some(true),
            Op::Recv(_) if self.ring.len_at(&inner.pos) > 0 => Some(true),
            Op::Recv(_) if inner.closed && inner.sendq.len() == 0 => Some(false),
            _ => None,
        }
    }

    /// Whether `op` could complete now, not counting `w`'s own entries (a select with a send
    /// and a receive on one channel must not meet itself). Lock held.
    fn ready_for(&self, inner: &Inner, op: Op, w: &Arc<Waiter>) -> bool {
        let partner = |q: &WaitQ| {
            q.iter()
                .any(|e| !Arc::ptr_eq(&e.waiter, w) && e.waiter.is_waiting())
        };
        match op {
            Op::Send(_) => {
                inner.closed || !self.ring.is_full_at(&inner.pos) || partner(&inner.recvq)
            }
            Op::Recv(_) => {
                inner.closed || self.ring.len_at(&inner.pos) > 0 || partner(&inner.sendq)
            }
        }
    }

    /// Closes the channel: every waiting receiver gets (zero, false), every waiting sender
    /// `Closed`. Err(Closed) if it was already closed.
    pub fn close(&self) -> Result<(), Error> {
        self.lock();
        // SAFETY: locked; released below before any wake.
        let inner = unsafe { self.inner() };
        if inner.closed {
            // SAFETY: locked above.
            unsafe { self.unlock() };
            return Err(Error::Closed);
        }
        inner.closed = true;
        let mut wake = Vec::new();
        for e in inner.recvq.drain() {
            if e.waiter.claim_case(e.case, false) {
                // SAFETY: the receiver's buffer is valid while its waiter is ours.
                unsafe { zero_elem(e.elem, self.ring.elem_size()) };
                wake.push(e.waiter);
            }
        }
        for e in inner.sendq.drain() {
            if e.waiter.claim_case(e.case, false) {
                wake.push(e.waiter);
            }
        }
        // SAFETY: locked above.
        unsafe { self.unlock() };
        for w in wake {
            w.wake();
        }
        Ok(())
    }

    /// Waiting senders and receivers (stale entries included), for dumps and leak reports.
    pub fn waiting(&self) -> (usize, usize) {
        self.with_lock(|i| (i.sendq.len(), i.recvq.len()))
    }
}

impl Drop for RawChan {
    fn drop(&mut self) {
        // Waiters hold their own reference, so none can be queued here any more.
        let i = self.inner.get_mut();
        let held = (i.slow || !self.ring.lock_free()).then_some(i.pos);
        self.ring.clear(held, self.drop_elem);
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn the_lock_is_a_cache_line_away_from_the_ring() {
        let ring = std::mem::offset_of!(RawChan, ring);
        let ring_end = ring + std::mem::size_of::<Ring>();
        let lock = std::mem::offset_of!(RawChan, lock);
        assert!(
            lock >= ring_end + 64,
            "ring ends at {ring_end}, lock at {lock}"
        );
    }
}
