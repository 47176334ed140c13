//! Channels, as Go's chan.go: one lock per channel, a ring buffer, and FIFO queues of waiting
//! senders and receivers.
//!
//! Invariants (under the lock), as in Go:
//! - sendq holds live entries only while the buffer is full (or cap is 0);
//! - recvq holds live entries only while the buffer is empty;
//! - so at most one of them has live entries.
//! ("live": stale entries of waiters claimed elsewhere may linger; they are skipped.)
//!
//! Values move directly between the two sides when one waits: a sender that finds a waiting
//! receiver copies straight into the receiver's buffer, and a receiver that empties a slot of
//! a full buffer moves the first waiting sender's value into it (so waiting senders are served
//! in order). No lock is held across a park: see `park.rs` for the Waiter and `goroutine.rs`
//! for why a wake cannot be lost.
//!
//! Files: `buffer.rs` the ring, `waitq.rs` the wait queues, `typed.rs` the generic `Chan<T>`
//! over this byte-level `RawChan` (which the C API uses directly).

mod buffer;
mod lock;
mod typed;
mod waitq;

pub use typed::Chan;

use std::cell::UnsafeCell;
use std::sync::Arc;

use crate::goroutine::WaitReason;
use crate::park::{Outcome, Waiter};
use crate::time::Deadline;
use crate::Error;
use buffer::{copy_elem, zero_elem, Ring};
use lock::ChanLock;
use waitq::{Entry, WaitQ};

pub(crate) use buffer::ALIGN;

/// A wait-queue entry for a select case.
pub(crate) fn waitq_entry(waiter: Arc<Waiter>, case: usize, elem: *mut u8) -> Entry {
    Entry { waiter, case, elem }
}

/// A channel of `elem_size`-byte values (see the module doc).
pub struct RawChan {
    lock: ChanLock,
    inner: UnsafeCell<Inner>,
    elem_size: usize,
    cap: usize,
    /// Drops a value left in the buffer or discarded by a receive into null.
    drop_elem: Option<unsafe fn(*mut u8)>,
}

// SAFETY: `inner` is only touched with `lock` held; the element pointers in the wait queues
// are only used by the claim's winner, under the lock (see waitq.rs).
unsafe impl Send for RawChan {}
// SAFETY: as above.
unsafe impl Sync for RawChan {}

/// Guarded by `RawChan::lock`.
pub(crate) struct Inner {
    buf: Ring,
    closed: bool,
    sendq: WaitQ,
    recvq: WaitQ,
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
            inner: UnsafeCell::new(Inner {
                buf: Ring::new(elem_size, cap)?,
                closed: false,
                sendq: WaitQ::default(),
                recvq: WaitQ::default(),
            }),
            elem_size,
            cap,
            drop_elem,
        })
    }

    /// `new`, shared: the handle every layer uses. The channel is listed for leak reports
    /// (`trace::leak`).
    pub fn new_shared(
        elem_size: usize,
        cap: usize,
        drop_elem: Option<unsafe fn(*mut u8)>,
    ) -> Option<Arc<RawChan>> {
        let c = Arc::new(RawChan::new(elem_size, cap, drop_elem)?);
        crate::trace::leak::register(&c);
        Some(c)
    }

    /// Calls `f` on the waiter of every queued operation, stale ones included (leak reports).
    pub(crate) fn for_each_waiter(&self, mut f: impl FnMut(&Arc<Waiter>)) {
        self.with_lock(|i| {
            for e in i.sendq.iter().chain(i.recvq.iter()) {
                f(&e.waiter);
            }
        });
    }

    /// Bytes per value.
    pub fn elem_size(&self) -> usize {
        self.elem_size
    }

    /// Capacity (0 = unbuffered).
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.with_lock(|i| i.buf.len())
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `close` has been called.
    pub fn is_closed(&self) -> bool {
        self.with_lock(|i| i.closed)
    }

    pub(crate) fn lock(&self) {
        self.lock.lock();
    }

    /// Takes the lock if it is free now; never waits.
    pub(crate) fn try_lock(&self) -> bool {
        self.lock.try_lock()
    }

    /// # Safety
    /// The caller holds the lock (taken with `lock`).
    pub(crate) unsafe fn unlock(&self) {
        // SAFETY: the caller's contract.
        unsafe { self.lock.unlock() };
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
        if !inner.buf.is_full() {
            // SAFETY: not full; the caller vouches for `elem`.
            unsafe { inner.buf.push(elem) };
            return SendPoll::Sent(None);
        }
        SendPoll::Pending
    }

    /// Tries to receive without waiting. Lock held.
    ///
    /// # Safety
    /// Lock held; `out` is null or points at `elem_size` writable bytes.
    pub(crate) unsafe fn poll_recv(&self, inner: &mut Inner, out: *mut u8) -> RecvPoll {
        if inner.buf.len() > 0 {
            // SAFETY: not empty; the caller vouches for `out`.
            unsafe { inner.buf.pop(out, self.drop_elem) };
            // A slot is free: move the first waiting sender's value into it.
            if let Some(s) = inner.sendq.claim_first(true) {
                // SAFETY: there is room now; the sender's value is valid while claimed by us.
                unsafe { inner.buf.push(s.elem) };
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
            unsafe { zero_elem(out, self.elem_size) };
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
            unsafe { copy_elem(src, dst, self.elem_size) };
        }
    }

    /// Queues a waiting operation. Lock held.
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

    /// Sends the value at `elem` (copied in), waiting until `deadline`.
    /// On `Err`, the value was not sent (and remains the caller's).
    ///
    /// # Safety
    /// `elem` points at `elem_size` readable bytes (may be null when the size is 0), valid
    /// until this returns.
    /// An operation that waits keeps its own reference to the channel (taken under the lock,
    /// before it queues), so the last handle may be released while it waits; one that
    /// completes at once touches no reference count.
    pub unsafe fn send(self: &Arc<Self>, elem: *const u8, deadline: Deadline) -> Result<(), Error> {
        self.lock();
        // SAFETY: locked; `inner` is not used after unlock.
        let poll = unsafe { self.poll_send(self.inner(), elem) };
        match poll {
            SendPoll::Sent(w) => {
                // SAFETY: locked above.
                unsafe { self.unlock() };
                if let Some(w) = w {
                    w.wake();
                }
                crate::sched::preempt_point();
                Ok(())
            }
            SendPoll::Closed => {
                // SAFETY: locked above.
                unsafe { self.unlock() };
                Err(Error::Closed)
            }
            SendPoll::Pending => {
                let Some(at) = deadline.wait_until() else {
                    // SAFETY: locked above.
                    unsafe { self.unlock() };
                    return Err(Error::WouldBlock);
                };
                // Our own reference while we wait (see the doc above).
                let _keep = Arc::clone(self);
                let w = Waiter::current();
                let e = Entry {
                    waiter: w.clone(),
                    case: 0,
                    elem: elem.cast_mut(),
                };
                // SAFETY: locked above.
                Self::enqueue(unsafe { self.inner() }, true, e);
                // SAFETY: locked above.
                unsafe { self.unlock() };
                match w.wait(WaitReason::ChanSend, at) {
                    Outcome::Case { ok: true, .. } => Ok(()),
                    Outcome::Case { ok: false, .. } => Err(Error::Closed),
                    other => {
                        self.dequeue(&w);
                        Err(Error::from_outcome(other))
                    }
                }
            }
        }
    }

    /// Receives into `out` (null drops the value), waiting until `deadline`. Ok(true) for a
    /// value; Ok(false) when the channel is closed and drained (`out` zero-filled).
    ///
    /// # Safety
    /// `out` is null or points at `elem_size` writable bytes, valid until this returns.
    /// Waiting keeps a reference of its own, as `send` does.
    pub unsafe fn recv(self: &Arc<Self>, out: *mut u8, deadline: Deadline) -> Result<bool, Error> {
        self.lock();
        // SAFETY: locked; `inner` is not used after unlock.
        let poll = unsafe { self.poll_recv(self.inner(), out) };
        match poll {
            RecvPoll::Done(ok, w) => {
                // SAFETY: locked above.
                unsafe { self.unlock() };
                if let Some(w) = w {
                    w.wake();
                }
                crate::sched::preempt_point();
                Ok(ok)
            }
            RecvPoll::Pending => {
                let Some(at) = deadline.wait_until() else {
                    // SAFETY: locked above.
                    unsafe { self.unlock() };
                    return Err(Error::WouldBlock);
                };
                // Our own reference while we wait (see the doc above).
                let _keep = Arc::clone(self);
                let w = Waiter::current();
                let e = Entry {
                    waiter: w.clone(),
                    case: 0,
                    elem: out,
                };
                // SAFETY: locked above.
                Self::enqueue(unsafe { self.inner() }, false, e);
                // SAFETY: locked above.
                unsafe { self.unlock() };
                match w.wait(WaitReason::ChanRecv, at) {
                    Outcome::Case { ok, .. } => Ok(ok),
                    other => {
                        self.dequeue(&w);
                        Err(Error::from_outcome(other))
                    }
                }
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
                unsafe { zero_elem(e.elem, self.elem_size) };
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
        self.inner.get_mut().buf.clear(self.drop_elem);
    }
}
