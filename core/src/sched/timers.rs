//! The timer heap: one ordered map of deadlines for the whole runtime, not a thread per timer.
//!
//! Workers run due timers at each schedule point (one atomic load when nothing is due); an idle
//! worker sleeps no longer than the earliest deadline (see `sched::idle`); sysmon runs timers
//! that are overdue because every worker is busy. A timer task never blocks: it claims a
//! Waiter, or does a non-blocking channel send.
//!
//! A BTreeMap keyed by (deadline, sequence) rather than a binary heap, so that a wait that
//! completes before its timeout removes its timer at once: a loop of receives with long
//! timeouts must not pile up dead timers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::park::{Waiter, TIMED_OUT};

/// What a timer does when it fires.
pub enum TimerTask {
    /// Claims the waiter as timed out and wakes it.
    Wake(Arc<Waiter>),
    /// Calls the function with the firing time; `Some(t)` re-arms the timer for `t`.
    Call(Box<dyn FnMut(i64) -> Option<i64> + Send>),
}

/// Identifies a pending timer, for `cancel_timer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerKey(i64, u64);

pub(crate) struct Timers {
    map: Mutex<BTreeMap<TimerKey, TimerTask>>,
    /// Earliest deadline, i64::MAX when none. Written under `map`'s lock, read without.
    next: AtomicI64,
    seq: AtomicU64,
}

impl Timers {
    pub(crate) const fn new() -> Timers {
        Timers {
            map: Mutex::new(BTreeMap::new()),
            next: AtomicI64::new(i64::MAX),
            seq: AtomicU64::new(0),
        }
    }

    /// Earliest deadline (i64::MAX when none).
    #[inline]
    pub(crate) fn next(&self) -> i64 {
        self.next.load(Ordering::SeqCst)
    }

    /// Adds a timer; returns its key and whether it is now the earliest.
    pub(crate) fn add(&self, deadline: i64, task: TimerTask) -> (TimerKey, bool) {
        let key = TimerKey(deadline, self.seq.fetch_add(1, Ordering::Relaxed));
        let mut map = self.map.lock();
        map.insert(key, task);
        let earliest = deadline < self.next.load(Ordering::Relaxed);
        if earliest {
            // SeqCst pairs with the idle worker's fence before it reads `next` (sched::idle).
            self.next.store(deadline, Ordering::SeqCst);
        }
        (key, earliest)
    }

    /// Removes a pending timer; false if it already fired.
    pub(crate) fn cancel(&self, key: TimerKey) -> bool {
        let mut map = self.map.lock();
        let found = map.remove(&key).is_some();
        if found {
            self.next.store(
                map.keys().next().map_or(i64::MAX, |k| k.0),
                Ordering::SeqCst,
            );
        }
        found
    }

    /// Fires every timer due at `now`. Returns how many fired.
    pub(crate) fn run_due(&self, now: i64) -> usize {
        if self.next() > now {
            return 0;
        }
        let mut due = Vec::new();
        {
            let mut map = self.map.lock();
            while let Some(entry) = map.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove_entry());
            }
            self.next.store(
                map.keys().next().map_or(i64::MAX, |k| k.0),
                Ordering::SeqCst,
            );
        }
        let n = due.len();
        for (key, task) in due {
            match task {
                TimerTask::Wake(w) => {
                    if w.claim(TIMED_OUT) {
                        w.wake();
                    }
                }
                TimerTask::Call(mut f) => {
                    if let Some(again) = f(now.max(key.0)) {
                        add_timer(again, TimerTask::Call(f));
                    }
                }
            }
        }
        n
    }

    /// Pending timers (for dumps and tests).
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// Adds a timer task at `deadline` (CLOCK_MONOTONIC ns).
pub fn add_timer(deadline: i64, task: TimerTask) -> TimerKey {
    let (key, earliest) = super::sched().timers.add(deadline, task);
    if earliest {
        super::timer_added();
    }
    key
}

/// Removes a pending timer; false if it already fired.
pub fn cancel_timer(key: TimerKey) -> bool {
    super::sched().timers.cancel(key)
}
