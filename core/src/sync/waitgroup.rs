//! WaitGroup, as Go's sync.WaitGroup: `add`, `done`, `wait`.
//!
//! The counter is an atomic, so `done` from a million goroutines costs one atomic each; the
//! waiters sit behind a lock that is taken only to wait and to release them at zero. No wake
//! is lost: a waiter checks the counter under the lock, and the `done` that reaches zero drains
//! the waiters under the same lock, after its decrement.
//!
//! Waiting is the wait protocol's (wait/mod.rs): a WaitGroup is a `Source` that is ready at
//! zero, so it can be waited on from goroutines, threads, event loops and selects alike.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::Deadline;
use crate::park::Waiter;
use crate::reason::WaitReason;
use crate::wait::{self, Case, Source};
use crate::Error;

/// See the module doc.
#[derive(Default)]
pub struct WaitGroup {
    count: AtomicI64,
    /// Registered waits (waiter, case). Guarded by its lock.
    waiters: Mutex<Vec<(Arc<Waiter>, usize)>>,
}

impl WaitGroup {
    /// A WaitGroup at zero.
    pub fn new() -> WaitGroup {
        WaitGroup::default()
    }

    /// Adds `delta` (may be negative). Err(Invalid) if the counter would go below zero; the
    /// counter is then left as it was.
    pub fn add(&self, delta: i64) -> Result<(), Error> {
        let mut c = self.count.load(Ordering::Relaxed);
        let new = loop {
            let new = c.checked_add(delta).ok_or(Error::Invalid)?;
            if new < 0 {
                return Err(Error::Invalid);
            }
            match self
                .count
                .compare_exchange_weak(c, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break new,
                Err(now) => c = now,
            }
        };
        if new == 0 && delta != 0 {
            let ws = std::mem::take(&mut *self.waiters.lock());
            for (w, case) in ws {
                if w.claim_case(case, true) {
                    w.wake();
                }
            }
        }
        Ok(())
    }

    /// `add(-1)`.
    pub fn done(&self) -> Result<(), Error> {
        self.add(-1)
    }

    /// The counter now.
    pub fn count(&self) -> i64 {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until the counter is zero.
    pub fn wait(&self) -> Result<(), Error> {
        self.wait_deadline(Deadline::Forever)
    }

    /// Waits until the counter is zero or the deadline passes (Err(TimedOut)).
    pub fn wait_deadline(&self, deadline: Deadline) -> Result<(), Error> {
        match deadline.wait_until() {
            None if self.count() == 0 => Ok(()),
            None => Err(Error::WouldBlock),
            Some(at) => self.wait_reason(WaitReason::WaitGroup, at),
        }
    }

    /// Waits with a given reason (for dumps), until `deadline` (None: forever).
    pub(crate) fn wait_reason(
        &self,
        reason: WaitReason,
        deadline: Option<i64>,
    ) -> Result<(), Error> {
        let d = deadline.map_or(Deadline::Forever, Deadline::At);
        // SAFETY: a source case carries no pointers.
        unsafe { wait::wait(&[Case::Source(self)], d, Some(reason)) }.map(|_| ())
    }
}

impl Source for WaitGroup {
    fn try_now(&self) -> Option<bool> {
        (self.count.load(Ordering::Acquire) == 0).then_some(true)
    }

    fn register(&self, w: &Arc<Waiter>, case: usize) -> bool {
        let mut ws = self.waiters.lock();
        // Under the lock that the `add` reaching zero drains under (module doc).
        if self.count.load(Ordering::Acquire) == 0 {
            return false;
        }
        ws.push((w.clone(), case));
        true
    }

    fn unregister(&self, w: &Arc<Waiter>) {
        self.waiters.lock().retain(|(x, _)| !Arc::ptr_eq(x, w));
    }

    fn reason(&self) -> WaitReason {
        WaitReason::WaitGroup
    }
}
