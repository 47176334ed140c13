//! The park/ready handshake of a goroutine's status word, on its own so that loom can check
//! the very code the runtime runs (core/tests/loom_handshake.rs).
//!
//! The race it settles, as numbered steps:
//! 1. A goroutine has published a Waiter (in a channel queue, a timer) and calls
//!    `begin_park`: RUNNING -> PARKING, then switches to its worker.
//! 2. The worker, back on its own stack, calls `finish_park`: PARKING -> PARKED. Only from now
//!    on may another worker resume the goroutine.
//! 3. Meanwhile the winner of the Waiter's claim calls `ready`, once. Finding PARKED, it moves
//!    it to RUNNABLE and must queue the goroutine; finding RUNNING or PARKING (steps 1-2 not
//!    done yet) it leaves WAKEUP, and step 1 or 2 sees it and keeps the goroutine going.
//!
//! Whatever the interleaving, the goroutine goes on exactly once: `begin_park` returns false,
//! or `finish_park` returns false (requeue), or `ready` returns true (queue).

use std::sync::atomic::Ordering;

use crate::loom::AtomicU32;

/// Queued, or about to run.
pub const RUNNABLE: u32 = 0;
/// Running on a worker.
pub const RUNNING: u32 = 1;
/// Switching out to park (step 1 done, step 2 not yet).
pub const PARKING: u32 = 2;
/// Parked: only `ready` brings it back.
pub const PARKED: u32 = 3;
/// A wake arrived before the park was complete.
pub const WAKEUP: u32 = 4;

/// Step 1, by the goroutine. True: switch out now. False: a wake came first and is consumed
/// (the status is RUNNING again): go on without switching.
pub fn begin_park(st: &AtomicU32) -> bool {
    if st
        .compare_exchange(RUNNING, PARKING, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        return true;
    }
    st.store(RUNNING, Ordering::Relaxed);
    false
}

/// Step 2, by the worker after the switch. True: parked. False: a wake came during the switch;
/// the status is RUNNABLE and the worker must queue the goroutine again.
pub fn finish_park(st: &AtomicU32) -> bool {
    if st
        .compare_exchange(PARKING, PARKED, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        return true;
    }
    st.store(RUNNABLE, Ordering::Release);
    false
}

/// Step 3, by the Waiter's winner. True: the goroutine was parked and is now RUNNABLE: the
/// caller must queue it.
pub fn ready(st: &AtomicU32) -> bool {
    let mut s = st.load(Ordering::Acquire);
    loop {
        let (to, queue) = match s {
            PARKED => (RUNNABLE, true),
            RUNNING | PARKING => (WAKEUP, false),
            _ => {
                debug_assert!(false, "ready in status {s}");
                return false;
            }
        };
        match st.compare_exchange(s, to, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return queue,
            Err(now) => s = now,
        }
    }
}
