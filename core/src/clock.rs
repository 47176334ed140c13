//! The clock and deadlines: the bottom of the time stack. CLOCK_MONOTONIC in nanoseconds (what
//! timers deliver, as the C contract says), and how long a blocking operation may wait.
//! Everything that waits with a deadline names this; `time/` (sleep, after, tickers) and
//! `sched/timers.rs` (the heap) build on it.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
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

/// A recent reading of `now_ns`, for a stamp that every park takes and only dumps and leak
/// reports read (when a goroutine began to wait). Whoever reads the clock anyway notes it
/// here: sysmon at each look (at least every SYSMON_MAX_DELAY, 10 ms) and a worker that reads
/// it for its timers or every STAMP_EVERY schedules (sched/worker.rs). So a busy program's
/// stamp is microseconds old and an idle one's at most about 10 ms (more only if the OS keeps
/// sysmon from running), plus RECENT_GRAIN_NS: a wait may look that much longer than it is,
/// never shorter.
///
/// Rejected: reading a clock at every park. Even the coarse clock (CLOCK_MONOTONIC_COARSE
/// through the vDSO) cost 35 instructions of a W7 hop's 812 and 8-9% of its time (105.5
/// against 96.8 ns at GOMAXPROCS=2, benches/RESULTS.md, session 13); Go stamps its waits
/// lazily too (`waitsince`, at garbage collections).
static RECENT: AtomicI64 = AtomicI64::new(0);

/// The last time noted by `note_now` (see `RECENT`); the clock itself before the first note.
#[inline]
pub(crate) fn recent_ns() -> i64 {
    match RECENT.load(Relaxed) {
        0 => note_now(now_ns()),
        t => t,
    }
}

/// Notes a reading of `now_ns` just taken; returns it. Writes only when the stamp is
/// RECENT_GRAIN_NS behind, so that the line every park reads is not written at every schedule
/// (a worker with timers pending reads the clock that often); a reading older than the stamp
/// is never written, so the stamp never moves back and never runs ahead of the clock.
#[inline]
pub(crate) fn note_now(now: i64) -> i64 {
    if now - RECENT.load(Relaxed) >= RECENT_GRAIN_NS {
        RECENT.store(now, Relaxed);
    }
    now
}

/// See `note_now`.
const RECENT_GRAIN_NS: i64 = 100_000;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recent_stamp_never_runs_ahead_of_the_clock_nor_moves_back() {
        let first = recent_ns();
        assert!(first > 0 && first <= now_ns());
        // An old reading noted late leaves the stamp alone.
        note_now(first - 10 * RECENT_GRAIN_NS);
        assert!(recent_ns() >= first);
        // A reading newer by the grain moves it.
        std::thread::sleep(Duration::from_nanos(2 * RECENT_GRAIN_NS as u64));
        let later = now_ns();
        note_now(later);
        assert!(recent_ns() >= later && recent_ns() <= now_ns());
    }
}
