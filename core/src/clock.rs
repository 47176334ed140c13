//! The clock and deadlines: the bottom of the time stack. CLOCK_MONOTONIC in nanoseconds (what
//! timers deliver, as the C contract says), and how long a blocking operation may wait.
//! Everything that waits with a deadline names this; `time/` (sleep, after, tickers) and
//! `sched/timers.rs` (the heap) build on it.

use std::time::Duration;

/// CLOCK_MONOTONIC in nanoseconds (what timers deliver, as the C contract says).
#[inline]
pub fn now_ns() -> i64 {
    clock_ns(libc::CLOCK_MONOTONIC).unwrap_or(0)
}

/// A clock's time in ns (any clock id: the coarse clock, a thread's CPU clock); None when the
/// id is not, or no longer, a clock.
#[inline]
pub(crate) fn clock_ns(clock: libc::clockid_t) -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec this frame owns; a bad id fails.
    (unsafe { libc::clock_gettime(clock, &mut ts) } == 0).then(|| timespec_ns(&ts))
}

/// A clock's resolution in ns; None when the id is not a clock.
pub(crate) fn clock_resolution_ns(clock: libc::clockid_t) -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_getres only writes into the timespec this frame owns.
    (unsafe { libc::clock_getres(clock, &mut ts) } == 0).then(|| timespec_ns(&ts))
}

#[inline]
// `from`, not `as`: time_t and c_long are i64 here, narrower on 32-bit targets.
#[allow(clippy::useless_conversion)]
fn timespec_ns(ts: &libc::timespec) -> i64 {
    i64::from(ts.tv_sec) * 1_000_000_000 + i64::from(ts.tv_nsec)
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
