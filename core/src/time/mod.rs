//! Time: the monotonic clock, deadlines, the timer heap, sleep, after and tickers.

pub(crate) mod timers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use timers::{TimerKey, TimerTask};

use crate::chan::Chan;
use crate::sched;

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

/// Adds a timer task at `deadline` (CLOCK_MONOTONIC ns).
pub fn add_timer(deadline: i64, task: TimerTask) -> TimerKey {
    let (key, earliest) = sched::sched().timers.add(deadline, task);
    if earliest {
        sched::timer_added();
    }
    key
}

/// Removes a pending timer; false if it already fired.
pub fn cancel_timer(key: TimerKey) -> bool {
    sched::sched().timers.cancel(key)
}

/// Sleeps: parks a goroutine (its thread runs others), blocks a plain thread.
pub fn sleep_ns(ns: i64) {
    if ns <= 0 {
        return;
    }
    match crate::goroutine::current() {
        Some(_) => crate::wait::sleep_until(now_ns().saturating_add(ns)),
        None => std::thread::sleep(Duration::from_nanos(ns as u64)),
    }
}

/// Sleeps for `d` (see `sleep_ns`).
pub fn sleep(d: Duration) {
    sleep_ns(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
}

/// A channel that receives the CLOCK_MONOTONIC time once, no earlier than `ns` from now.
pub fn after_ns(ns: i64) -> Chan<i64> {
    let ch = Chan::<i64>::new(1).expect("a one-slot channel");
    if ns <= 0 {
        let _ = ch.try_send(now_ns());
        return ch;
    }
    // The timer holds a reference until it fires, so an unreceived timer leaks nothing once
    // the caller has dropped the channel and the timer has fired.
    let tx = ch.clone();
    add_timer(
        now_ns().saturating_add(ns),
        TimerTask::Call(Box::new(move |now| {
            let _ = tx.try_send(now);
            None
        })),
    );
    ch
}

/// Delivers the time on its channel (capacity 1) every period, dropping ticks nobody took.
pub struct Ticker {
    ch: Chan<i64>,
    stopped: Arc<AtomicBool>,
    key: Arc<parking_lot::Mutex<Option<TimerKey>>>,
}

impl Ticker {
    /// A ticker with period `ns` (> 0).
    pub fn new_ns(period: i64) -> Option<Ticker> {
        if period <= 0 {
            return None;
        }
        let ch = Chan::<i64>::new(1)?;
        let stopped = Arc::new(AtomicBool::new(false));
        let key = Arc::new(parking_lot::Mutex::new(None));
        let (tx, st, k2) = (ch.clone(), stopped.clone(), key.clone());
        let mut next = now_ns().saturating_add(period);
        let task = TimerTask::Call(Box::new(move |now| {
            if st.load(Ordering::Acquire) {
                return None;
            }
            let _ = tx.try_send(now); // a full channel drops the tick, as Go's ticker does
                                      // Next tick on the period grid, skipping any we are late for.
            next = next.saturating_add(period);
            if next <= now {
                next = now + period - (now - next) % period;
            }
            *k2.lock() = None;
            Some(next)
        }));
        *key.lock() = Some(add_timer(next, task));
        Some(Ticker { ch, stopped, key })
    }

    /// The channel ticks arrive on.
    pub fn chan(&self) -> &Chan<i64> {
        &self.ch
    }

    /// Stops the ticks; the channel stays open.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        if let Some(k) = self.key.lock().take() {
            cancel_timer(k);
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}
