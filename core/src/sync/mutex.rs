//! Mutex for goroutines and threads: `lock` parks a goroutine (its thread runs others).
//!
//! Uncontended, lock and unlock are one CAS each. Under contention, `unlock` hands the mutex
//! straight to the longest waiter (FIFO hand-off), so no waiter starves; Go's sync.Mutex
//! switches to this "starvation mode" after 1 ms of waiting, we always do it once anyone waits,
//! which is simpler and fair at some cost in throughput under heavy contention.
//!
//! Like Go's, it is not tied to an owner: any goroutine or thread may unlock it.
//!
//! Waiting is the wait protocol's (wait/mod.rs): a Mutex is a `Source` whose completion is
//! "the mutex is now yours", so it can be waited on from event loops and selects too.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex as Lock;

use crate::clock::Deadline;
use crate::park::Waiter;
use crate::reason::WaitReason;
use crate::wait::{self, Case, Source};
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
    /// Registered waits (waiter, case), first first.
    queue: Lock<VecDeque<(Arc<Waiter>, usize)>>,
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
        // SAFETY: a source case carries no pointers.
        unsafe { wait::wait(&[Case::Source(self)], deadline, None) }.map(|_| ())
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
                    while let Some((w, case)) = q.pop_front() {
                        if w.claim_case(case, true) {
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

impl Source for Mutex {
    fn try_now(&self) -> Option<bool> {
        self.try_lock().then_some(true)
    }

    fn register(&self, w: &Arc<Waiter>, case: usize) -> bool {
        let mut q = self.queue.lock();
        // Under the queue lock: either it is free (ready: register nothing), or mark it
        // contended and queue, so that the unlock looks at the queue.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s == UNLOCKED {
                return false;
            }
            match self
                .state
                .compare_exchange(s, CONTENDED, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        q.push_back((w.clone(), case));
        true
    }

    fn unregister(&self, w: &Arc<Waiter>) {
        self.queue.lock().retain(|(x, _)| !Arc::ptr_eq(x, w));
    }

    fn reason(&self) -> WaitReason {
        WaitReason::Mutex
    }
}
