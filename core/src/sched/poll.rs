//! How the scheduler runs the netpoller (core/src/netpoll), as Go's findRunnable and sysmon do.
//!
//! 1. A worker about to sleep (idle.rs) blocks in epoll_wait instead of its futex when no other
//!    worker already does (`POLL_SLEEPER`), with the earliest timer as its timeout when it is
//!    also the timer sleeper: one syscall waits for work, I/O and time. When it comes back with
//!    ready waiters it takes a token if one is free and becomes a spinning worker, so the
//!    goroutines it readies go to its own queues and no other thread has to be woken for them
//!    (Go's findRunnable returns the first goroutine of netpoll's list and injects the rest);
//!    with no token free it queues them globally and sleeps on its futex instead.
//! 2. Whoever makes work for that worker (`idle::unpark`) also writes the eventfd.
//! 3. A worker that finds no work polls without blocking before and while it spins, when some
//!    fd has waiters and no worker blocks in the poller already.
//! 4. Sysmon polls without blocking when nobody has for `SYSMON_POLL_NS` (every worker busy).
//! 5. A waiter queued on an fd when no worker holds a token and none sleeps in the poller (a
//!    plain thread waiting while every worker sleeps on its futex) kicks an idle worker, which
//!    comes back through `idle::sleep` and so into the poller.
//!
//! Rejected: a poller thread of its own (one more thread, two hand-offs per wake); having every
//! sleeping worker in epoll_wait (each event would wake all of them: a thundering herd).

use std::sync::atomic::{fence, AtomicUsize, Ordering};

use super::{idle, sched, MShared, M, PH_SCHED};
use crate::netpoll;

/// The worker blocked in epoll_wait (its id + 1; 0 = none).
static POLL_SLEEPER: AtomicUsize = AtomicUsize::new(0);

/// Sysmon polls when no poll has finished for this long and nobody blocks in the poller: Go's
/// sysmon uses 10 ms (runtime/proc.go, "poll network if not polled for more than 10ms").
const SYSMON_POLL_NS: i64 = 10_000_000;
/// A spinning worker polls at most this often. Indicative W11 runs (benches/, 2026-12-06, a
/// loaded 2-vCPU machine) could not tell 5 µs from 20 µs against Go in the same run; 20 µs
/// makes fewer epoll_wait calls (strace counted ~290,000 for 200,000 round trips at 5 µs).
pub(crate) const SPIN_POLL_NS: i64 = 20_000;

/// What `sleep_in_poller` did.
#[derive(PartialEq, Eq)]
pub(crate) enum Slept {
    /// Another worker is the poller, there is no poller, or the poll readied goroutines that
    /// only the workers holding every token can run: sleep on the futex.
    NotPoller,
    /// Slept in the poller and is still on the idle list: loop.
    Stay,
    /// Left the idle list with a token: return to the worker loop.
    Leave,
    /// Left the idle list without a token: the poll readied goroutines pinned to this worker,
    /// which need none (`runq::put` does not kick the worker it runs on, so nobody else would
    /// wake it for them).
    Pinned,
}

/// Step 1: sleeps in epoll_wait until `deadline` (None: forever) if no worker does already.
/// Called by `idle::sleep` with the worker on the idle list and its wake bits just read.
pub(crate) fn sleep_in_poller(w: &M, deadline: Option<i64>) -> Slept {
    if !netpoll::in_use() {
        return Slept::NotPoller;
    }
    let me: &MShared = &w.shared;
    let tag = me.id + 1;
    // SeqCst pairs with the load in `unpark_poller` (idle.rs step 3).
    if POLL_SLEEPER
        .compare_exchange(0, tag, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return Slept::NotPoller;
    }
    // Step 3 of idle.rs: published as the poll sleeper, re-read the wake bits. A waker that
    // set them before our CAS is seen here; one after it sees us and writes the eventfd.
    let ready = if me.wake.load(Ordering::SeqCst) == 0 {
        netpoll::poll(deadline, true)
    } else {
        Vec::new()
    };
    POLL_SLEEPER.store(0, Ordering::SeqCst);
    if ready.is_empty() {
        return Slept::Stay;
    }
    let s = sched();
    if !s.try_acquire_token() {
        // Every token is held: the goroutines go to the global queue for the workers that hold
        // them, and we sleep on the futex this time, not in epoll_wait again. A worker that
        // cannot run what it is woken for must not be woken by every packet: on 2 CPUs, a
        // third thread waking per event takes CPU from the two that hold tokens (seen in W11
        // at 5,000 connections). Go's findRunnable does the same (no idle P after netpoll:
        // injectglist, then stopm). The token holders poll when they run dry (step 3), sysmon
        // after 10 ms (step 4).
        netpoll::wake(ready);
        // Goroutines pinned to us went to our own inbox, unkicked (we are their home): run
        // them rather than sleep on the futex with them queued (a Python goroutine's socket
        // stalled until some timer woke us, seen at GOMAXPROCS=1). SeqCst as `idle::sleep`'s
        // load of `inbox_len`.
        if me.inbox_len.load(Ordering::SeqCst) > 0 && idle::remove_from_idle(me) {
            return Slept::Pinned;
        }
        return Slept::NotPoller;
    }
    if !idle::remove_from_idle(me) {
        // A waker popped us already, with a token of its own for us: its WAKE_TOKEN is on the
        // way. Give ours back; the woken goroutines go to the global queue meanwhile.
        s.release_token();
        netpoll::wake(ready);
        return Slept::Stay;
    }
    // As a worker woken by `wakep`: a token and a spinning count, so the `wakep`s of the
    // goroutines we ready see a spinner and wake nobody; `reset_spinning` starts another
    // worker once we run one of them, if more wait.
    w.set_token(true);
    w.spinning.set(true);
    s.nmspinning.fetch_add(1, Ordering::SeqCst);
    me.phase.store(PH_SCHED, Ordering::Release);
    netpoll::wake(ready);
    Slept::Leave
}

/// Step 2: if `m` is blocked in the poller, makes epoll_wait return. The caller has set `m`'s
/// wake bits first (SeqCst), and unparks its thread as well.
pub(crate) fn unpark_poller(m: &MShared) {
    // SeqCst pairs with the CAS in `sleep_in_poller`.
    if POLL_SLEEPER.load(Ordering::SeqCst) == m.id + 1 {
        netpoll::break_poll();
    }
}

/// Step 3: a non-blocking poll by a worker holding a token; the goroutines it readies land in
/// this worker's queues. True if it readied any.
pub(crate) fn poll_idle() -> bool {
    if !netpoll::has_waiters() || POLL_SLEEPER.load(Ordering::Relaxed) != 0 {
        return false;
    }
    let ready = netpoll::poll(Some(0), false);
    if ready.is_empty() {
        return false;
    }
    netpoll::wake(ready);
    true
}

/// Step 4: sysmon's poll. True if it readied any goroutine.
pub(crate) fn sysmon_poll(now: i64) -> bool {
    if !netpoll::has_waiters()
        || POLL_SLEEPER.load(Ordering::Relaxed) != 0
        || now - netpoll::last_poll_ns() < SYSMON_POLL_NS
    {
        return false;
    }
    let ready = netpoll::poll(Some(0), false);
    if ready.is_empty() {
        return false;
    }
    netpoll::wake(ready); // no worker here: they go to the global queue, and wakep runs
    true
}

/// Step 5: a waiter was just queued on an fd (after its record's lock was released).
pub fn waiter_added() {
    let s = sched();
    // Pairs with the SeqCst token release of a worker going to sleep and its later CAS of
    // POLL_SLEEPER: either we see a worker that holds a token (it will poll when it runs out of
    // work, or sleep in the poller) or one in the poller, or it has gone to sleep and we kick.
    fence(Ordering::SeqCst);
    if POLL_SLEEPER.load(Ordering::SeqCst) != 0 || s.active.load(Ordering::SeqCst) != 0 {
        return;
    }
    let first = s.idle.lock().last().cloned();
    match first {
        Some(m) => idle::kick(&m),
        None => idle::wakep(),
    }
}
