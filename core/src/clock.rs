//! The clock and deadlines: the bottom of the time stack. CLOCK_MONOTONIC in nanoseconds (what
//! timers deliver, as the C contract says), and how long a blocking operation may wait.
//! Everything that waits with a deadline names this; `time/` (sleep, after, tickers) and
//! `sched/timers.rs` (the heap) build on it.

use std::time::Duration;

/// CLOCK_MONOTONIC in nanoseconds (what timers deliver, as the C contract says).
#[inline]
pub fn now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

/// How long a blocking operation may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// Do not wait (try_*, Go's select default).
    NoWait,
    /// Wait as long as it takes.
    Forever,
    /// Wait until this CLOCK_MONOTONIC time (ns).
    At(i64),
}

impl Deadline {
    /// The C convention: negative waits forever, 0 does not wait, positive is a timeout.
    pub fn from_timeout_ns(ns: i64) -> Deadline {
        match ns {
            n if n < 0 => Deadline::Forever,
            0 => Deadline::NoWait,
            n => Deadline::At(now_ns().saturating_add(n)),
        }
    }

    /// None waits forever.
    pub fn from_timeout(d: Option<Duration>) -> Deadline {
        match d {
            None => Deadline::Forever,
            Some(d) => {
                Deadline::from_timeout_ns(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX).max(1))
            }
        }
    }

    /// None when the operation must not wait; else the deadline to wait until (None: forever).
    pub(crate) fn wait_until(self) -> Option<Option<i64>> {
        match self {
            Deadline::NoWait => None,
            Deadline::Forever => Some(None),
            Deadline::At(t) => Some(Some(t)),
        }
    }
}
