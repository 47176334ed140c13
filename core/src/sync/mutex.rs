//! Mutex for goroutines and threads: `lock` parks a goroutine (its thread runs others).
//!
//! Uncontended, lock and unlock are one CAS each. Under contention, `unlock` hands the mutex
//! straight to the longest waiter (FIFO hand-off), so no waiter starves; Go's sync.Mutex
//! switches to this "starvation mode" after 1 ms of waiting, we always do it once anyone waits,
//! which is simpler and fair at some cost in throughput under heavy contention.
//!
//! Like Go's, it is not tied to an owner: any goroutine or thread may unlock it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex as Lock;

use crate::goroutine::WaitReason;
use crate::park::{Outcome, Waiter};
use crate::time::Deadline;
use crate::Error;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and someone may be queued: unlock must look at the queue.
const CONTENDED: u32 = 2;

/// See the module doc.
#[derive(Default)]
pub struct Mutex {
    state: AtomicU32,
    /// Guarded by its lock; `state` changes between LOCKED and CONTENDED only under it.
    queue: Lock<VecDeque<Arc<Waiter>>>,
}

impl Mutex {
    /// An unlocked mutex.
    pub fn new() -> Mutex {
        Mutex::default()
    }

    /// Takes the mutex if it is free.
    pub fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the mutex, waiting as long as it takes.
    pub fn lock(&self) {
        let _ = self.lock_deadline(Deadline::Forever);
    }

    /// Takes the mutex, waiting until the deadline (Err(TimedOut), or Err(WouldBlock) for
    /// NoWait).
    pub fn lock_deadline(&self, deadline: Deadline) -> Result<(), Error> {
        if self.try_lock() {
            return Ok(());
        }
        let Some(at) = deadline.wait_until() else {
            return Err(Error::WouldBlock);
        };
        let w = Waiter::current();
        {
            let mut q = self.queue.lock();
            // Under the queue lock: either take it now, or mark it contended and queue.
            let mut s = self.state.load(Ordering::Relaxed);
            loop {
                let (want, take) = if s == UNLOCKED {
                    (LOCKED, true)
                } else {
                    (CONTENDED, false)
                };
                match self
                    .state
                    .compare_exchange(s, want, Ordering::Acquire, Ordering::Relaxed)
                {
                    Ok(_) if take => return Ok(()),
                    Ok(_) => break,
                    Err(now) => s = now,
                }
            }
            q.push_back(w.clone());
        }
        match w.wait(WaitReason::Mutex, at) {
            // The unlocker handed the mutex to us: it stayed locked throughout.
            Outcome::Case { .. } => Ok(()),
            other => {
                self.queue.lock().retain(|x| !Arc::ptr_eq(x, &w));
                Err(Error::from_outcome(other))
            }
        }
    }

    /// Releases the mutex, handing it to the first waiter if any. Err(Invalid) if it was not
    /// locked.
    pub fn unlock(&self) -> Result<(), Error> {
        if self
            .state
            .compare_exchange(LOCKED, UNLOCKED, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return Ok(());
        }
        let mut q = self.queue.lock();
        loop {
            match self.state.load(Ordering::Relaxed) {
                UNLOCKED => return Err(Error::Invalid),
                LOCKED => {
                    if self
                        .state
                        .compare_exchange(LOCKED, UNLOCKED, Ordering::Release, Ordering::Relaxed)
                        .is_ok()
                    {
                        return Ok(());
                    }
                }
                _ => {
                    // CONTENDED: hand over to the first waiter still waiting.
                    while let Some(w) = q.pop_front() {
                        if w.claim_case(0, true) {
                            if q.is_empty() {
                                self.state.store(LOCKED, Ordering::Release);
                            }
                            drop(q);
                            w.wake();
                            return Ok(());
                        }
                    }
                    self.state.store(UNLOCKED, Ordering::Release);
                    return Ok(());
                }
            }
        }
    }

    /// Whether it is locked now (for tests and dumps).
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != UNLOCKED
    }
}
