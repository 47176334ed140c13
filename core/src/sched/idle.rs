//! How workers sleep and wake without losing a wake-up.
//!
//! Why a waker does not hand its new goroutine straight to a sleeping worker: waking a thread
//! costs tens of microseconds here, far more than running most goroutines. So `wakep` wakes a
//! worker only when no worker is already spinning (looking for work) and a token is free; the
//! woken worker spins for a while before it sleeps again, and usually finds the next
//! goroutine before anyone needs to pay for another wake (Go's wakep/nmspinning design).
//!
//! The race that must not lose a goroutine, as numbered steps (both sides use SeqCst):
//! 1. The sleeper puts itself on the idle list, gives up its token and its spinning count,
//!    then re-checks every queue (and the timers).
//! 2. The waker queues its goroutine, then reads the spinning count and the free tokens.
//!    Either the sleeper's re-check sees the goroutine, or the waker sees the sleeper's freed
//!    token with no spinner and wakes someone from the idle list.
//! 3. With the netpoller in use, one sleeper blocks in epoll_wait instead of its futex
//!    (poll.rs). It publishes itself in `POLL_SLEEPER` (SeqCst), then re-reads its wake bits;
//!    a waker sets the bits (SeqCst), then `unpark` reads `POLL_SLEEPER` and writes the eventfd
//!    if it names that worker. Either the sleeper sees the bits and does not block, or the
//!    waker sees the sleeper, and the eventfd (level-triggered, drained only by the sleeper)
//!    makes epoll_wait return even if written before the call. The futex unpark is done too,
//!    so a worker that has just left the poller for its futex is not missed either.
//! 4. An fd waiter queued while no worker holds a token and none is in the poller kicks an
//!    idle worker (poll.rs step 5), which comes back here and takes the poller's place.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{sched, MShared, M, WAKE_KICK, WAKE_TOKEN};
use crate::clock::now_ns;
use crate::loom::fence;

/// Starts a worker for queued goroutines if one may run and none is already looking.
pub(crate) fn wakep() {
    let s = sched();
    // Step 2 of the module doc (the caller queued its goroutine first). SeqCst: pairs with
    // the sleeper's fence after its `nmspinning` decrement and `release_token` (step 1), and
    // with a new spinner's increment (`Worker::spin`), which then finds the goroutine.
    if s.nmspinning.load(Ordering::SeqCst) != 0 {
        return;
    }
    // Step 2, free tokens. SeqCst: pairs with the sleeper's `release_token` and fence.
    if s.active.load(Ordering::SeqCst) >= s.maxprocs.load(Ordering::Relaxed) {
        // Every token is held: if one is held by a worker blocked in a foreign call, sysmon
        // should hand it off soon.
        super::sysmon::poke();
        return;
    }
    // One waker starts a spinner for all of them. SeqCst: in the one order of `nmspinning`'s
    // changes with the loads above, other wakers' CAS and `Worker::reset_spinning`'s
    // decrement (the last spinner to stop calls us again).
    if s.nmspinning
        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    if !s.try_acquire_token() {
        // Undo; SeqCst for the same order (pairs with the loads of other wakers above).
        s.nmspinning.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    // We hold a token and a spinning count on behalf of the worker we start.
    let sleeper = s.idle.lock().pop();
    match sleeper {
        Some(m) => {
            // SeqCst: pairs with the sleeper's `wake.swap(0)` in `sleep`'s loop (and its
            // `wake.store(0)` before it went on the idle list, which this cannot precede: it
            // popped the sleeper from that list).
            m.wake.fetch_or(WAKE_TOKEN, Ordering::SeqCst);
            unpark(&m);
        }
        None => {
            if !M::spawn(true) {
                s.release_token();
                // Undo, as above.
                s.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

fn unpark(m: &MShared) {
    // Step 3: the wake bits are set; a worker blocked in epoll_wait needs the eventfd.
    super::poll::unpark_poller(m);
    if let Some(t) = m.thread.get() {
        t.unpark();
    }
}

/// Wakes a specific worker without a token (a pinned goroutine became ready on it, or the
/// timers changed). A busy worker will see the reason at its next schedule point.
pub(crate) fn kick(m: &MShared) {
    // SeqCst: pairs with `sleep`'s `wake.swap(0)` and `wake.store(0)`, as WAKE_TOKEN does.
    m.wake.fetch_or(WAKE_KICK, Ordering::SeqCst);
    unpark(m);
}

/// A timer became the earliest: wake the worker sleeping on the timers so it re-arms, or,
/// when no worker is awake to see the timer at its next schedule point, start one.
pub(crate) fn kick_for_timer() {
    let s = sched();
    // Dekker with the timer sleeper: the timer heap stored its new earliest deadline (SeqCst,
    // time/timers.rs) before calling us; this fence orders that store before our load of
    // `timer_sleeper`. It pairs with `sleep`'s SeqCst CAS of `timer_sleeper` followed by its
    // SeqCst load of the deadline: either the sleeper sees the new deadline, or we see the
    // sleeper and kick it.
    fence(Ordering::SeqCst);
    let ts = s.timer_sleeper.load(Ordering::SeqCst);
    if ts != 0 {
        if let Some(m) = s.worker(ts - 1) {
            kick(m);
        }
        return;
    }
    // SeqCst: pairs with `try_acquire_token`'s CAS and `release_token`: no worker holding a
    // token means none will reach a schedule point to see the timer.
    if s.active.load(Ordering::SeqCst) == 0 {
        let first = s.idle.lock().last().cloned();
        match first {
            Some(m) => kick(&m),
            None => wakep(),
        }
    }
}

pub(super) fn remove_from_idle(m: &MShared) -> bool {
    let s = sched();
    let mut idle = s.idle.lock();
    match idle.iter().position(|x| std::ptr::eq(&**x, m)) {
        Some(i) => {
            idle.swap_remove(i);
            true
        }
        None => false,
    }
}

/// Puts the worker to sleep until there may be work for it. Returns with a token when a waker
/// gave it one (and then spinning), else without: the caller loops and tries again.
pub(crate) fn sleep(w: &M) {
    let s = sched();
    let me: &Arc<MShared> = &w.shared;
    // Stale wake bits go before we are listed idle. SeqCst: pairs with wakers' fetch_or
    // (`wakep`, `kick`): one that finds us on the list afterwards leaves its bit for the loop
    // below.
    me.wake.store(0, Ordering::SeqCst);
    let was_spinning = w.spinning.replace(false);
    super::runq::drain_to_global(w);
    w.mark_idle();
    // On the idle list before the token is free: a waker that finds a free token must also
    // find a sleeper to give it to, or it would start a new thread for nothing.
    s.idle.lock().push(me.clone());
    if w.has_token() {
        w.set_token(false);
        s.release_token();
    }
    if was_spinning {
        // Step 1. SeqCst: pairs with `wakep`'s load of `nmspinning` (step 2).
        s.nmspinning.fetch_sub(1, Ordering::SeqCst);
    }
    // Step 1 of the module doc: re-check after publishing ourselves as idle. The fence orders
    // the list push, the token release and the spinning decrement above before the loads
    // below; it pairs with the waker's SeqCst loads in `wakep` after it queued (step 2).
    fence(Ordering::SeqCst);
    // SeqCst: pairs with `runq::put`'s fetch_add of `inbox_len` before it kicks us: either we
    // see the pinned goroutine here, or its WAKE_KICK reaches the loop below.
    if me.inbox_len.load(Ordering::SeqCst) > 0 || s.timers.next() <= now_ns() {
        // Pinned goroutines and due timers need no token.
        if remove_from_idle(me) {
            return;
        }
        // A waker popped us already: its WAKE_TOKEN is on the way.
    } else if s.work_queued() && s.try_acquire_token() {
        // Goroutines are queued and a token is free: keep it, unless a waker already popped
        // us (it took a token for us too, so give this one back).
        if remove_from_idle(me) {
            w.set_token(true);
            me.phase.store(super::PH_SCHED, Ordering::Release);
            return;
        }
        s.release_token();
    }
    loop {
        // SeqCst: pairs with wakers' fetch_or of WAKE_TOKEN and WAKE_KICK.
        let bits = me.wake.swap(0, Ordering::SeqCst);
        if bits & WAKE_TOKEN != 0 {
            // The waker took a token and a spinning count for us, and popped us off the list.
            w.set_token(true);
            w.spinning.set(true);
            me.phase.store(super::PH_SCHED, Ordering::Release);
            return;
        }
        if bits & WAKE_KICK != 0 && remove_from_idle(me) {
            return;
        }
        let next = s.timers.next();
        let my_tag = me.id + 1;
        // SeqCst: the sleeper's half of the Dekker with `kick_for_timer` (its fence and load
        // of `timer_sleeper`); the deadline is re-read after the sleep below.
        let on_timers = next != i64::MAX
            && s.timer_sleeper
                .compare_exchange(0, my_tag, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok();
        // Step 3: in epoll_wait (until the timer, if we sleep on the timers) when we can be the
        // one poll sleeper; on the futex otherwise.
        let slept = super::poll::sleep_in_poller(w, on_timers.then_some(next));
        if slept == super::poll::Slept::NotPoller {
            if on_timers {
                let now = now_ns();
                if next > now {
                    std::thread::park_timeout(std::time::Duration::from_nanos((next - now) as u64));
                }
            } else {
                std::thread::park();
            }
        }
        if on_timers {
            // Off duty. SeqCst: pairs with `kick_for_timer`'s load: a kicker that still sees
            // our tag kicks us, and we look at the timers once more below.
            let _ = s
                .timer_sleeper
                .compare_exchange(my_tag, 0, Ordering::SeqCst, Ordering::SeqCst);
        }
        if matches!(
            slept,
            super::poll::Slept::Leave | super::poll::Slept::Pinned
        ) {
            return; // readied fd waiters: with a token to run them, or pinned here (none needed)
        }
        if on_timers && s.timers.next() <= now_ns() && remove_from_idle(me) {
            return; // the caller runs the due timers
        }
    }
}
