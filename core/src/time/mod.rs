//! Time, as users see it: sleep, `after` and tickers, over the clock (`clock.rs`, the bottom
//! layer: `now_ns`, `Deadline`) and the timer heap the scheduler runs (`sched/timers.rs`).
//! They are re-exported here, so `goro_core::time` is the one place to find time. `after`
//! and tickers make channels, which is why this module sits above `chan`; the clock and the
//! heap sit below everything that waits with a deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use crate::clock::{now_ns, Deadline};
pub use crate::sched::timers::{add_timer, cancel_timer, TimerKey, TimerTask};

use crate::chan::Chan;

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
