//! How a goroutine or a plain thread waits on its Waiter: the one blocking wait.
//!
//! - A goroutine parks (goroutine.rs `park`; the park/ready handshake makes a wake that beats
//!   the park harmless). A deadline is a timer task that claims the waiter as timed out.
//! - A plain thread parks its OS thread until the winner's `wake` sets `woken` (Release, read
//!   here with Acquire) and unparks it; a deadline is a timed park, and the thread claims
//!   "timed out" itself.
//! - `wait_interruptible` is the thread wait with a check between naps (Python's main thread
//!   runs its signal handlers there): the waiter stays queued the whole time, so a nap that
//!   ends consumes and re-queues nothing.
//!
//! Event loops never block: their waiters are callbacks (wait/mod.rs `wait_async`).

use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::clock;
use crate::goroutine::{self, Body, GPtr, SpawnOpts};
use crate::park::{Kind, Outcome, Task, Waiter, INTERRUPTED, TIMED_OUT};
use crate::reason::WaitReason;
pub use crate::sched::policy::GIL_SPIN_MAX_NS;
use crate::sched::policy::THREAD_WAIT_SPIN_NS;
use crate::sched::timers::{self, TimerKey, TimerTask};
use crate::Error;

/// Runs `body` as a goroutine and blocks the calling thread (or parks the calling goroutine)
/// until it has ended, `exit` included.
#[track_caller]
pub fn run(body: Body, opts: &SpawnOpts) -> Result<(), Error> {
    let w = Waiter::current();
    let done = w.clone();
    // The last cleanup is the Waiter's only claimer, so its claim always wins; its wake may
    // come before we park, which the handshake allows as long as nothing switches between
    // here and `wait` (core/tests/goroutine_run.rs plants a yield there to check).
    let last = Box::new(move || {
        if done.claim_case(0, true) {
            done.wake();
        }
    });
    goroutine::spawn_then(body, opts, last)?;
    match w.wait(WaitReason::Run, None) {
        Outcome::Case { .. } => Ok(()),
        other => Err(Error::from_outcome(other)),
    }
}

fn ready_task(p: NonNull<()>) {
    goroutine::ready(GPtr(p.cast()));
}

impl Waiter {
    /// A waiter for the calling goroutine or thread.
    pub fn current() -> Arc<Waiter> {
        match goroutine::current() {
            Some(g) => g
                .get()
                .cached_waiter(|| Waiter::new(Kind::Goroutine(Task::new(g.0.cast(), ready_task)))),
            None => Waiter::for_thread(),
        }
    }

    /// `current`, marked (when `unseen`) as a wait that can end in a way no channel shows,
    /// so leak reports never count it (park.rs `unseen`). Before it is queued anywhere.
    pub(crate) fn current_unseen(unseen: bool) -> Arc<Waiter> {
        let w = Waiter::current();
        if unseen {
            w.mark_unseen();
        }
        w
    }

    /// The goroutine waiting, if a goroutine waits (leak reports).
    pub(crate) fn goroutine(&self) -> Option<GPtr> {
        self.task().map(|t| GPtr(t.ptr().cast()))
    }

    /// Waits until claimed, or until `deadline` (CLOCK_MONOTONIC ns) passes. For goroutine and
    /// thread waiters made by `current` on the calling goroutine or thread.
    pub fn wait(self: &Arc<Self>, reason: WaitReason, deadline: Option<i64>) -> Outcome {
        if let Some(out) = super::interruptible::run_hook(self, reason, deadline) {
            return out; // a binding's block hook waited (wait/interruptible.rs)
        }
        // Profiles and tracebacks listen through the hooks trace installs; off, one load.
        if crate::hooks::waits_watched() {
            let begun = crate::hooks::wait_begin();
            let out = self.wait_inner(reason, deadline);
            crate::hooks::wait_end(reason, begun);
            return out;
        }
        self.wait_inner(reason, deadline)
    }

    fn wait_inner(self: &Arc<Self>, reason: WaitReason, deadline: Option<i64>) -> Outcome {
        match &self.kind {
            Kind::Goroutine(_) => {
                let g = self.goroutine().expect("a goroutine waiter");
                let mut key: Option<TimerKey> = None;
                if let Some(d) = deadline {
                    if d <= clock::now_ns() {
                        if self.claim(TIMED_OUT) {
                            return Outcome::TimedOut;
                        }
                    } else {
                        key = Some(timers::add_timer(d, TimerTask::Wake(self.clone())));
                    }
                }
                g.get()
                    .wait_since
                    .store(clock::recent_ns(), Ordering::Relaxed);
                goroutine::park(g, reason);
                let out = self
                    .outcome()
                    .expect("a goroutine is only readied by its waiter's winner");
                if let (Some(k), false) = (key, out == Outcome::TimedOut) {
                    timers::cancel_timer(k);
                }
                out
            }
            Kind::Thread(_, woken) => {
                spin_for(woken, deadline);
                loop {
                    if woken.load(Ordering::Acquire) {
                        break;
                    }
                    match deadline {
                        None => std::thread::park(),
                        Some(d) => {
                            let now = clock::now_ns();
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

    /// For a thread waiter: wait with a check between naps of `nap_ns` (Ctrl-C in Python).
    /// `interrupt` returns true to give up; the wait then ends as `Interrupted` unless someone
    /// won first. The waiter stays registered throughout. A goroutine waiter waits plainly.
    pub fn wait_interruptible(
        self: &Arc<Self>,
        deadline: Option<i64>,
        nap_ns: i64,
        mut interrupt: impl FnMut() -> bool,
    ) -> Outcome {
        let Kind::Thread(_, woken) = &self.kind else {
            return self.wait(WaitReason::None, deadline);
        };
        spin_for(woken, deadline);
        loop {
            let step = match deadline {
                Some(d) => d.min(clock::now_ns() + nap_ns),
                None => clock::now_ns() + nap_ns,
            };
            while !woken.load(Ordering::Acquire) {
                let now = clock::now_ns();
                if now >= step {
                    break;
                }
                std::thread::park_timeout(std::time::Duration::from_nanos((step - now) as u64));
            }
            if woken.load(Ordering::Acquire) {
                return self.outcome().expect("woken after claim");
            }
            let give_up = if deadline.is_some_and(|d| clock::now_ns() >= d) {
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

/// A thread about to sleep on its waiter first looks at it for a while (policy.rs
/// THREAD_WAIT_SPIN_NS): a partner goroutine usually answers sooner than a sleeping thread
/// can be woken (a futex wake, ~35 µs on these machines).
fn spin_for(woken: &std::sync::atomic::AtomicBool, deadline: Option<i64>) {
    spin_within(
        || woken.load(Ordering::Acquire),
        deadline,
        THREAD_WAIT_SPIN_NS,
    );
}

/// Looks at `done` until it says true, for at most `ns` (and not past `deadline`); true if it
/// did. Yields the CPU between looks now and then, so a partner that needs this CPU gets it.
fn spin_within(mut done: impl FnMut() -> bool, deadline: Option<i64>, ns: i64) -> bool {
    let start = clock::now_ns();
    let end = deadline
        .map_or(i64::MAX, |d| d)
        .min(start.saturating_add(ns));
    let mut looks = 0u32;
    while !done() {
        looks = looks.wrapping_add(1);
        if looks % 64 == 0 {
            if clock::now_ns() >= end {
                return false;
            }
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    true
}

/// A spin whose bound follows what the recent spins of one kind needed (adaptive spinning, as
/// HotSpot's monitors and glibc's adaptive mutexes do). For a thread waiting on something
/// whose holder keeps it for a stretch that repeats: the Python binding's wait for the GIL
/// (rt.rs), whose holder is often a goroutine filling a channel or draining a queue for some
/// hundred microseconds, then letting go. A fixed 50 µs spin missed most of those and slept,
/// and the wake then cost a futex wake with nobody holding the GIL meanwhile.
///
/// The rule: a spin that succeeded after more than half the bound doubles the bound (up to
/// `max_ns`); one that failed halves it (down to THREAD_WAIT_SPIN_NS); a quick success leaves
/// it. So a holder that keeps the GIL for long (a computation) costs at most a few fruitless
/// spins before they are back at 50 µs. Shared by every thread of that kind: a hint, read and
/// written relaxed.
pub struct AdaptiveSpin {
    bound_ns: std::sync::atomic::AtomicI64,
    max_ns: i64,
}

impl AdaptiveSpin {
    /// A spin that starts at THREAD_WAIT_SPIN_NS and may grow to `max_ns`.
    pub const fn new(max_ns: i64) -> AdaptiveSpin {
        AdaptiveSpin {
            bound_ns: std::sync::atomic::AtomicI64::new(THREAD_WAIT_SPIN_NS),
            max_ns,
        }
    }

    /// Looks at `done` until it says true or the current bound passes; true if it did.
    pub fn spin_until(&self, done: impl FnMut() -> bool) -> bool {
        self.spin_until_deadline(done, None)
    }

    /// As `spin_until`, and not past `deadline` (a spin the deadline cut short teaches
    /// nothing).
    fn spin_until_deadline(&self, done: impl FnMut() -> bool, deadline: Option<i64>) -> bool {
        let bound = self.bound_ns.load(Ordering::Relaxed);
        let start = clock::now_ns();
        let ok = spin_within(done, deadline, bound);
        let end = clock::now_ns();
        let next = if !ok && deadline.is_some_and(|d| end >= d) {
            bound
        } else {
            next_bound(bound, ok, end - start, self.max_ns)
        };
        if next != bound {
            self.bound_ns.store(next, Ordering::Relaxed);
        }
        ok
    }
}

/// `AdaptiveSpin`'s rule: the bound after a spin of `bound` that succeeded (`ok`) or not,
/// having taken `took`.
fn next_bound(bound: i64, ok: bool, took: i64, max_ns: i64) -> i64 {
    if !ok {
        (bound / 2).max(THREAD_WAIT_SPIN_NS)
    } else if took > bound / 2 {
        bound.saturating_mul(2).min(max_ns).max(THREAD_WAIT_SPIN_NS)
    } else {
        bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_doubles_after_a_long_success_and_halves_after_a_failure() {
        let (floor, max) = (THREAD_WAIT_SPIN_NS, 8 * THREAD_WAIT_SPIN_NS);
        assert_eq!(next_bound(floor, true, floor * 3 / 4, max), 2 * floor);
        assert_eq!(next_bound(4 * floor, true, 3 * floor, max), max);
        assert_eq!(next_bound(max, true, max, max), max, "never past max");
        assert_eq!(
            next_bound(4 * floor, true, floor, max),
            4 * floor,
            "a quick success keeps it"
        );
        assert_eq!(next_bound(4 * floor, false, 4 * floor, max), 2 * floor);
        assert_eq!(
            next_bound(floor, false, floor, max),
            floor,
            "never under the floor"
        );
    }

    #[test]
    fn fruitless_spins_fall_back_to_the_floor_and_long_waits_raise_it() {
        let spin = AdaptiveSpin::new(16 * THREAD_WAIT_SPIN_NS);
        // A success late in the spin doubles the bound. (A thread descheduled for long just
        // before its look at the clock fails instead: try again, a few times.)
        let grew = (0..20).any(|_| {
            let ready_at = clock::now_ns() + THREAD_WAIT_SPIN_NS * 3 / 4;
            spin.spin_until(|| clock::now_ns() >= ready_at)
        });
        assert!(grew, "no spin of 20 succeeded");
        assert_eq!(
            spin.bound_ns.load(Ordering::Relaxed),
            2 * THREAD_WAIT_SPIN_NS
        );
        // Failures bring it back to the floor.
        for _ in 0..3 {
            assert!(!spin.spin_until(|| false));
        }
        assert_eq!(spin.bound_ns.load(Ordering::Relaxed), THREAD_WAIT_SPIN_NS);
        // A deadline that cuts a spin short leaves the bound alone.
        assert!(!spin.spin_until_deadline(|| false, Some(clock::now_ns() + 1_000)));
        assert_eq!(spin.bound_ns.load(Ordering::Relaxed), THREAD_WAIT_SPIN_NS);
    }
}
