//! The Waiter: the one way anything in goro waits.
//!
//! Every blocking operation (channel, select, WaitGroup, Mutex, sleep, pool) publishes a Waiter
//! where its partner will find it (a channel queue, a timer), then waits on it. Whoever
//! completes the operation first *claims* the Waiter with one CAS on `sel` (a partner for
//! case i, a timer for "timed out", the waiting thread itself for "interrupted"); losers leave
//! it alone. Only the winner touches the waiting side's buffers, and only the winner wakes it,
//! exactly once, after its writes. So a select with many queued cases, a timeout and a close
//! racing each other still completes exactly one way, and no value is lost or doubled.
//!
//! How the wake happens depends only on who waits, and only `Waiter::wake` knows:
//! - a goroutine is made ready (put back on a run queue);
//! - a plain OS thread is unparked;
//! - an event loop (the Python and Node layers) gets a callback, which must not block.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::loom::AtomicUsize;
use std::sync::Arc;
use std::thread::Thread;

use crate::goroutine::{self, GPtr, WaitReason};
use crate::time::{self, TimerKey, TimerTask};

const WAITING: usize = 0;
/// `sel` value: the deadline passed.
pub const TIMED_OUT: usize = 1;
/// `sel` value: the wait was interrupted (a signal, a cancelled Promise or future).
pub const INTERRUPTED: usize = 2;
const CASE_BASE: usize = 4;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Case `index` completed; `ok` is false when it completed because its channel was closed.
    Case {
        /// The case (0 for single operations).
        index: usize,
        /// False when the channel was closed.
        ok: bool,
    },
    /// The deadline passed first.
    TimedOut,
    /// Interrupted by its owner.
    Interrupted,
}

/// Who waits, and so how to wake them.
pub enum Kind {
    /// A goroutine.
    Goroutine(GPtr),
    /// A plain OS thread, and whether the winner has finished with it.
    Thread(Thread, AtomicBool),
    /// An event loop: the callback runs on the waker's thread and must hand over quickly.
    Callback(Box<dyn Fn(Outcome) + Send + Sync>),
}

/// See the module doc.
pub struct Waiter {
    sel: AtomicUsize,
    kind: Kind,
}

impl Waiter {
    /// A waiter for the calling goroutine or thread.
    pub fn current() -> Arc<Waiter> {
        match goroutine::current() {
            Some(g) => g.get().cached_waiter(|| Waiter::new(Kind::Goroutine(g))),
            None => Waiter::new(Kind::Thread(std::thread::current(), AtomicBool::new(false))),
        }
    }

    fn new(kind: Kind) -> Arc<Waiter> {
        Arc::new(Waiter {
            sel: AtomicUsize::new(WAITING),
            kind,
        })
    }

    /// Makes a used waiter fresh again; only its sole owner may (see `G::cached_waiter`).
    pub(crate) fn reset(&mut self) {
        self.sel.store(WAITING, Ordering::Relaxed);
    }

    /// A waiter that calls `f` when claimed (event loops). `f` runs on the waker's thread.
    pub fn callback(f: impl Fn(Outcome) + Send + Sync + 'static) -> Arc<Waiter> {
        Arc::new(Waiter {
            sel: AtomicUsize::new(WAITING),
            kind: Kind::Callback(Box::new(f)),
        })
    }

    /// Claims the waiter for case `index`. On success the caller must finish its writes into
    /// the waiter's buffers and then call `wake`.
    #[inline]
    pub fn claim_case(&self, index: usize, ok: bool) -> bool {
        self.claim(CASE_BASE + (index << 1) + ok as usize)
    }

    /// Claims the waiter with a raw outcome (`TIMED_OUT`, `INTERRUPTED`).
    #[inline]
    pub fn claim(&self, v: usize) -> bool {
        self.sel
            .compare_exchange(WAITING, v, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The goroutine waiting, if a goroutine waits (leak reports).
    pub(crate) fn goroutine(&self) -> Option<GPtr> {
        match &self.kind {
            Kind::Goroutine(g) => Some(*g),
            _ => None,
        }
    }

    /// The outcome, once claimed.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.sel.load(Ordering::Acquire) {
            WAITING => None,
            TIMED_OUT => Some(Outcome::TimedOut),
            INTERRUPTED => Some(Outcome::Interrupted),
            v => Some(Outcome::Case {
                index: (v - CASE_BASE) >> 1,
                ok: (v - CASE_BASE) & 1 == 1,
            }),
        }
    }

    /// Wakes the waiting side. Only the claim's winner calls it, once, after its writes.
    pub fn wake(&self) {
        match &self.kind {
            Kind::Goroutine(g) => goroutine::ready(*g),
            Kind::Thread(t, woken) => {
                let t = t.clone();
                // Release pairs with the Acquire load in `wait`: the winner's writes into the
                // waiter's buffers happen before the thread sees `woken`.
                woken.store(true, Ordering::Release);
                t.unpark();
            }
            Kind::Callback(f) => f(self.outcome().expect("wake after claim")),
        }
    }

    /// Waits until claimed, or until `deadline` (CLOCK_MONOTONIC ns) passes. For goroutine and
    /// thread waiters made by `current` on the calling goroutine or thread.
    pub fn wait(self: &Arc<Self>, reason: WaitReason, deadline: Option<i64>) -> Outcome {
        if crate::trace::block::enabled() {
            let start = time::now_ns();
            crate::trace::block::before_wait();
            let out = self.wait_inner(reason, deadline);
            crate::trace::block::after_wait(reason, start);
            return out;
        }
        self.wait_inner(reason, deadline)
    }

    fn wait_inner(self: &Arc<Self>, reason: WaitReason, deadline: Option<i64>) -> Outcome {
        match &self.kind {
            Kind::Goroutine(g) => {
                let g = *g;
                let mut key: Option<TimerKey> = None;
                if let Some(d) = deadline {
                    if d <= time::now_ns() {
                        if self.claim(TIMED_OUT) {
                            return Outcome::TimedOut;
                        }
                    } else {
                        key = Some(time::add_timer(d, TimerTask::Wake(self.clone())));
                    }
                }
                g.get().wait_since.store(coarse_now_ns(), Ordering::Relaxed);
                goroutine::park(g, reason);
                let out = self
                    .outcome()
                    .expect("a goroutine is only readied by its waiter's winner");
                if let (Some(k), false) = (key, out == Outcome::TimedOut) {
                    time::cancel_timer(k);
                }
                out
            }
            Kind::Thread(_, woken) => {
                loop {
                    if woken.load(Ordering::Acquire) {
                        break;
                    }
                    match deadline {
                        None => std::thread::park(),
                        Some(d) => {
                            let now = time::now_ns();
                            if now >= d {
                                if self.claim(TIMED_OUT) {
                                    return Outcome::TimedOut;
                                }
                                // Someone else won just now: their wake is on its way.
                                while !woken.load(Ordering::Acquire) {
                                    std::thread::park();
                                }
                                break;
                            }
                            std::thread::park_timeout(std::time::Duration::from_nanos(
                                (d - now) as u64,
                            ));
                        }
                    }
                }
                self.outcome().expect("woken after claim")
            }
            Kind::Callback(_) => panic!("Waiter::wait on a callback waiter"),
        }
    }

    /// For a thread waiter: wait with a check between naps (Ctrl-C in Python). `interrupt`
    /// returns true to give up; the wait then ends as `Interrupted` unless someone won first.
    pub fn wait_interruptible(
        self: &Arc<Self>,
        deadline: Option<i64>,
        nap_ns: i64,
        mut interrupt: impl FnMut() -> bool,
    ) -> Outcome {
        loop {
            let step = match deadline {
                Some(d) => d.min(time::now_ns() + nap_ns),
                None => time::now_ns() + nap_ns,
            };
            if let Kind::Thread(_, woken) = &self.kind {
                while !woken.load(Ordering::Acquire) {
                    let now = time::now_ns();
                    if now >= step {
                        break;
                    }
                    std::thread::park_timeout(std::time::Duration::from_nanos((step - now) as u64));
                }
                if woken.load(Ordering::Acquire) {
                    return self.outcome().expect("woken after claim");
                }
            } else {
                return self.wait(WaitReason::None, deadline);
            }
            let give_up = if deadline.is_some_and(|d| time::now_ns() >= d) {
                Some(TIMED_OUT)
            } else if interrupt() {
                Some(INTERRUPTED)
            } else {
                None
            };
            if let Some(v) = give_up {
                if self.claim(v) {
                    return self.outcome().expect("just claimed");
                }
                // Lost the race: the winner is about to wake us.
                return self.wait(WaitReason::None, None);
            }
        }
    }
}

/// CLOCK_MONOTONIC to a clock tick, rounded up by the tick, so a wait never looks longer than
/// it is. For `wait_since`, which only dumps and leak reports read: the precise clock costs
/// ~23 ns here, a sixth of a whole park and wake (W2, W7 in benches/); this one ~5 ns.
fn coarse_now_ns() -> i64 {
    static RES: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(-1);
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut res = RES.load(Ordering::Relaxed);
    if res < 0 {
        // SAFETY: clock_getres writes into the timespec we own.
        res = if unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut ts) } == 0 {
            ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
        } else {
            0
        };
        RES.store(res, Ordering::Relaxed);
    }
    // SAFETY: clock_gettime writes into the timespec we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) } != 0 {
        return time::now_ns();
    }
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64 + res
}
