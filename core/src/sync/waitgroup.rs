//! WaitGroup, as Go's sync.WaitGroup: `add`, `done`, `wait`.
//!
//! The counter is an atomic, so `done` from a million goroutines costs one atomic each; the
//! waiters sit behind a lock that is taken only to wait and to release them at zero. No wake
//! is lost: a waiter checks the counter under the lock, and the `done` that reaches zero drains
//! the waiters under the same lock, after its decrement.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::goroutine::WaitReason;
use crate::park::{Outcome, Waiter};
use crate::time::Deadline;
use crate::Error;

/// See the module doc.
#[derive(Default)]
pub struct WaitGroup {
    count: AtomicI64,
    /// Guarded by its lock.
    waiters: Mutex<Vec<Arc<Waiter>>>,
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
            for w in ws {
                if w.claim_case(0, true) {
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
        if self.count.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        let w = Waiter::current();
        {
            let mut ws = self.waiters.lock();
            if self.count.load(Ordering::Acquire) == 0 {
                return Ok(());
            }
            ws.push(w.clone());
        }
        match w.wait(reason, deadline) {
            Outcome::Case { .. } => Ok(()),
            other => {
                self.waiters.lock().retain(|x| !Arc::ptr_eq(x, &w));
                Err(Error::from_outcome(other))
            }
        }
    }
}
