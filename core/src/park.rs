//! The Waiter: the one way anything in goro waits.
//!
//! Every blocking operation (channel, select, WaitGroup, Mutex, sleep, pool, and whatever
//! `wait::Source` comes next) publishes a Waiter where its partner will find it (a channel
//! queue, a waiter list, a timer), then waits on it. Whoever completes the operation first
//! *claims* the Waiter with one CAS on `sel` (a partner for case i, a timer for "timed out",
//! the owner for "interrupted" or "aborted"); losers leave it alone. Only the winner touches the
//! waiting side's buffers, and only the winner wakes it, exactly once, after its writes. So a
//! select with many queued cases, a timeout and a close racing each other still completes
//! exactly one way, and no value is lost or doubled.
//!
//! How the wake happens depends only on who waits, and only `Waiter::wake` knows:
//! - a goroutine is made ready (put back on a run queue, through the function its layer gave);
//! - a plain OS thread is unparked;
//! - an event loop (the Python and Node layers) gets a callback, which must not block.
//!
//! This file is the bottom layer of the core: it knows nothing of goroutines, timers or
//! tracing. How a goroutine or thread *waits* on a Waiter (parking, deadlines, Ctrl-C) is
//! `wait/block.rs`; the protocol every blocking thing follows is `wait/mod.rs`.
//!
//! Rejected: a waiter per case (Go's sudog per case plus a `selectDone` flag on the G) needs
//! the flag and the sudogs kept consistent by hand; one claim word per wait is the whole
//! protocol. A Mutex+Condvar per waiter costs a lock on every wake.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::Thread;

use crate::loom::AtomicUsize;

const WAITING: usize = 0;
/// `sel` value: the deadline passed.
pub const TIMED_OUT: usize = 1;
/// `sel` value: the wait was interrupted (a signal, a cancelled Promise or future).
pub const INTERRUPTED: usize = 2;
/// `sel` value: the owner gave up this registration to start over (wait/mod.rs, step 3).
pub(crate) const ABORTED: usize = 3;
const CASE_BASE: usize = 4;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Case `index` completed; `ok` is false when it completed because its channel was closed.
    Case {
        /// The case (0 for single operations).
        index: usize,
        /// False when the channel was closed.
        ok: bool,
    },
    /// The deadline passed first.
    TimedOut,
    /// Interrupted by its owner.
    Interrupted,
}

/// A parked goroutine, as the layer above sees it: an opaque record pointer and the function
/// that makes it ready. Kept opaque so that this file does not depend on `goroutine`.
#[derive(Clone, Copy)]
pub struct Task {
    ptr: NonNull<()>,
    ready: fn(NonNull<()>),
}

// SAFETY: the record behind `ptr` is shared between workers by design (goroutine.rs says who
// may touch which field); `ready` is a plain function.
unsafe impl Send for Task {}
// SAFETY: as for Send: the pointer is only handed back to `ready` and to the goroutine layer.
unsafe impl Sync for Task {}

impl Task {
    /// A task the goroutine layer makes ready with `ready(ptr)`.
    pub(crate) fn new(ptr: NonNull<()>, ready: fn(NonNull<()>)) -> Task {
        Task { ptr, ready }
    }

    /// The record pointer given to `new`.
    pub(crate) fn ptr(&self) -> NonNull<()> {
        self.ptr
    }
}

/// Who waits, and so how to wake them.
pub enum Kind {
    /// A goroutine.
    Goroutine(Task),
    /// A plain OS thread, and whether the winner has finished with it.
    Thread(Thread, AtomicBool),
    /// An event loop: the callback runs on the waker's thread and must hand over quickly.
    Callback(Box<dyn Fn(Outcome) + Send + Sync>),
}

/// See the module doc.
pub struct Waiter {
    sel: AtomicUsize,
    pub(crate) kind: Kind,
    /// Set by the owner before the wait is published, when the wait can end in a way no
    /// channel shows (a deadline, a WaitGroup, Mutex, context or fd case): the leak report
    /// (trace/leak.rs) never counts such a wait as leaked. Relaxed: published with the
    /// registration, under the lock of the queue the reader looks in.
    unseen: AtomicBool,
}

impl Waiter {
    pub(crate) fn new(kind: Kind) -> Arc<Waiter> {
        Arc::new(Waiter {
            sel: AtomicUsize::new(WAITING),
            kind,
            unseen: AtomicBool::new(false),
        })
    }

    /// A waiter for the calling OS thread (wait/block.rs makes them; tests use it directly).
    pub fn for_thread() -> Arc<Waiter> {
        Waiter::new(Kind::Thread(std::thread::current(), AtomicBool::new(false)))
    }

    /// Makes a used waiter fresh again; only its sole holder may (see `G::cached_waiter`),
    /// before it publishes the waiter again (which orders these stores for the next reader).
    pub(crate) fn reset(&self) {
        self.sel.store(WAITING, Ordering::Relaxed);
        self.unseen.store(false, Ordering::Relaxed);
    }

    /// Says that this wait can end in a way no channel shows (see the field). Owner only,
    /// before the waiter is published.
    pub(crate) fn mark_unseen(&self) {
        self.unseen.store(true, Ordering::Relaxed);
    }

    /// Whether the wait can end in a way no channel shows (leak reports).
    pub(crate) fn is_unseen(&self) -> bool {
        self.unseen.load(Ordering::Relaxed)
    }

    /// A waiter that calls `f` when claimed (event loops). `f` runs on the waker's thread.
    pub fn callback(f: impl Fn(Outcome) + Send + Sync + 'static) -> Arc<Waiter> {
        Waiter::new(Kind::Callback(Box::new(f)))
    }

    /// Claims the waiter for case `index`. On success the caller must finish its writes into
    /// the waiter's buffers and then call `wake`.
    #[inline]
    pub fn claim_case(&self, index: usize, ok: bool) -> bool {
        self.claim(CASE_BASE + (index << 1) + ok as usize)
    }

    /// Claims the waiter with a raw outcome (`TIMED_OUT`, `INTERRUPTED`).
    #[inline]
    pub fn claim(&self, v: usize) -> bool {
        // AcqRel pairs with the Acquire of `outcome` on the waiting side (and of a losing
        // claimer): the winner's earlier writes into the waiter's buffers are seen there.
        self.sel
            .compare_exchange(WAITING, v, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether nobody has claimed it yet (a partner may still, a moment from now).
    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        self.sel.load(Ordering::Acquire) == WAITING
    }

    /// Claims and wakes it as interrupted, from any thread (a cancelled future, a signal
    /// watcher). False if it was already claimed: its winner wakes it.
    pub fn interrupt(&self) -> bool {
        if self.claim(INTERRUPTED) {
            self.wake();
            return true;
        }
        false
    }

    /// The goroutine task waiting, if a goroutine waits.
    pub(crate) fn task(&self) -> Option<Task> {
        match &self.kind {
            Kind::Goroutine(t) => Some(*t),
            _ => None,
        }
    }

    /// The outcome, once claimed (None while waiting, and for an aborted registration).
    pub fn outcome(&self) -> Option<Outcome> {
        match self.sel.load(Ordering::Acquire) {
            WAITING | ABORTED => None,
            TIMED_OUT => Some(Outcome::TimedOut),
            INTERRUPTED => Some(Outcome::Interrupted),
            v => Some(Outcome::Case {
                index: (v - CASE_BASE) >> 1,
                ok: (v - CASE_BASE) & 1 == 1,
            }),
        }
    }

    /// Wakes the waiting side. Only the claim's winner calls it, once, after its writes.
    pub fn wake(&self) {
        match &self.kind {
            Kind::Goroutine(t) => (t.ready)(t.ptr),
            Kind::Thread(t, woken) => {
                let t = t.clone();
                // Release pairs with the Acquire loads of `woken` in wait/block.rs: the
                // winner's writes into the waiter's buffers happen before the thread sees it.
                woken.store(true, Ordering::Release);
                t.unpark();
            }
            Kind::Callback(f) => f(self.outcome().expect("wake after claim")),
        }
    }
}
