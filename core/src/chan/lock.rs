//! The channel lock: test-and-test-and-set with exponential backoff, then yielding.
//!
//! Why not parking_lot's mutex: a channel's critical sections are a few dozen nanoseconds, and
//! no goroutine ever holds the lock across a switch, so a waiter's best move is to spin. Under
//! a producer and a consumer on two CPUs (W3, W4 in benches/), parking_lot's quick fall-back to
//! sched_yield and then to sleeping on a futex cost more than the sections themselves (a
//! thread wake is ~35 µs here). We still yield after a while, so a holder that lost its CPU to
//! another thread gets it back.

use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) struct ChanLock(AtomicBool);

/// Rounds of backoff before a waiter starts yielding its CPU.
const SPIN_ROUNDS: u32 = 200;
/// At most 2^MAX_SHIFT pauses between looks. A section lasts tens of nanoseconds, so a long
/// pause lets the lock sit free; too short, and many waiters (W4: 4 producers, 4 consumers)
/// keep pulling the line away from the holder. Measured at 5 against 3, two interleaved
/// rounds at P=2: W4 +29% and +22%, W3 +5%, W5 +11%, W2 and W8 even.
const MAX_SHIFT: u32 = 5;

impl ChanLock {
    pub(crate) const fn new() -> ChanLock {
        ChanLock(AtomicBool::new(false))
    }

    #[inline]
    /// Takes the lock; true if it had to wait for it (another side held it).
    pub(crate) fn lock(&self) -> bool {
        if self
            .0
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
            return true;
        }
        false
    }

    /// One attempt, no waiting.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        !self.0.load(Ordering::Relaxed)
            && self
                .0
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    #[cold]
    fn lock_slow(&self) {
        let mut round = 0u32;
        loop {
            // Wait until it looks free without writing (the line stays shared meanwhile).
            while self.0.load(Ordering::Relaxed) {
                if round < SPIN_ROUNDS {
                    for _ in 0..(1u32 << round.min(MAX_SHIFT)) {
                        std::hint::spin_loop();
                    }
                    round += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .0
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// # Safety
    /// The caller holds the lock.
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}
