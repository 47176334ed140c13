//! Where a goroutine is queued, and where a worker looks for the next one.
//!
//! Order of search, as Go's findRunnable: the pinned inbox; every GLOBAL_QUEUE_EVERY-th time
//! (`policy.rs`) the global queue first (so it cannot starve behind two goroutines that keep
//! waking each other); the "run next" slot; the local queue; the global queue; then stealing
//! half of another worker's queue.
//!
//! A worker's "run next" slot holds the goroutine its current goroutine just woke (a send to a
//! parked receiver): it runs next on the same worker, warm in cache, without waking anyone.
//! That is what makes ping-pong cheap. Thieves leave it alone unless its owner seems stuck
//! (revoked, or no schedule since an earlier pass), as Go's runqsteal does.

use std::sync::atomic::Ordering;

use crossbeam_deque::Steal;

use super::policy::GLOBAL_QUEUE_EVERY;
use super::{current_m, idle, sched, MShared, M, PH_REVOKED};
use crate::goroutine::GPtr;

/// Queues a runnable goroutine: on the current worker when it holds a token (in its run-next
/// slot when `next`), else on the global queue; pinned goroutines go to their own worker.
///
/// A goroutine that lands alone in the run-next slot wakes no other worker. It is meant to run
/// here, when the waker blocks, and a worker woken for it could only take it after
/// RUNNEXT_GRACE_NS anyway; in a ring or a ping-pong that wake came at every hop and kept a
/// second CPU spinning for nothing (W7 at GOMAXPROCS=2: 2.0 CPUs busy, Go 1.1), which slows
/// the CPU doing the work on these machines (benches/RESULTS.md, 2026-12-07 15:17). If the
/// waker goes on computing instead, sysmon sees the slot occupied and the worker's schedule
/// count standing still, and starts a spinner then (sysmon.rs, job 5). The poke wakes a
/// backed-off sysmon for that, unless its pokes have been false alarms and it sleeps deaf to
/// them (at most SYSMON_MAX_DELAY). Anything else queued here, or a goroutine pushed out of
/// the slot, does wake one, as in Go.
pub(crate) fn put(g: GPtr, next: bool) {
    if let Some(home) = super::pinned_home(g.get()) {
        home.inbox.lock().push_back(g);
        // SeqCst: pairs with the home worker's fence and load of `inbox_len` in
        // `idle::sleep`: either it sees this goroutine, or our kick's WAKE_KICK reaches it.
        home.inbox_len.fetch_add(1, Ordering::SeqCst);
        if !current_m().is_some_and(|m| std::ptr::eq(&*m.shared, home)) {
            idle::kick(home);
        }
        return;
    }
    match current_m() {
        Some(m) if m.has_token() => {
            if next {
                match m.shared.runnext.put(g.0) {
                    Some(old) => m.runq.push(GPtr(old)),
                    None if m.runq.is_empty() => {
                        super::sysmon::poke();
                        return;
                    }
                    None => {}
                }
            } else {
                m.runq.push(g);
            }
        }
        _ => sched().injector.push(g),
    }
    idle::wakep();
}

/// Empties a worker's run-next slot: by its owner (`find_local`, `spin`, `drain_to_global`),
/// or by a thief that judged the owner stuck (`steal_pass`). Whoever swaps the goroutine out
/// owns it: the slot is never read and cleared in two steps.
#[inline]
pub(crate) fn take_runnext(sh: &MShared) -> Option<GPtr> {
    sh.runnext.take().map(GPtr)
}

/// Queues a goroutine that yielded, behind everything that waits: at the back of this worker's
/// queue when that holds anything (it then runs after all of it), else at the back of the
/// global queue (Go's Gosched), so goroutines queued elsewhere get their turn first.
pub(crate) fn put_yielded(m: &M, g: GPtr) {
    if super::pinned_home(g.get()).is_some() {
        return put(g, false);
    }
    if m.has_token() && !m.runq.is_empty() {
        m.runq.push(g);
    } else {
        sched().injector.push(g);
    }
    idle::wakep();
}

/// Takes a pinned goroutine from the worker's inbox.
pub(crate) fn pop_inbox(sh: &MShared) -> Option<GPtr> {
    if sh.inbox_len.load(Ordering::Acquire) == 0 {
        return None;
    }
    let g = sh.inbox.lock().pop_front()?;
    // SeqCst: in the one order of `inbox_len` with `put`'s increment and `idle::sleep`'s
    // load (the owner's own count, so no partner reads it concurrently but those two).
    sh.inbox_len.fetch_sub(1, Ordering::SeqCst);
    Some(g)
}

/// Looks in this worker's own queues and the global queue.
pub(crate) fn find_local(m: &M, tick: u64) -> Option<GPtr> {
    let s = sched();
    if tick % GLOBAL_QUEUE_EVERY == 0 {
        if let Some(g) = steal_global(m) {
            return Some(g);
        }
    }
    if let Some(g) = take_runnext(&m.shared) {
        return Some(g);
    }
    if let Some(g) = m.runq.pop() {
        return Some(g);
    }
    if !s.injector.is_empty() {
        return steal_global(m);
    }
    None
}

fn steal_global(m: &M) -> Option<GPtr> {
    loop {
        match sched().injector.steal_batch_and_pop(&m.runq) {
            Steal::Success(g) => return Some(g),
            Steal::Empty => return None,
            Steal::Retry => continue,
        }
    }
}

/// One pass of stealing from every other worker, starting at a random one. `ticks` holds each
/// victim's schedule count from an earlier pass: a victim whose count has not moved since is
/// stuck in one goroutine, and its run-next goroutine may be taken too.
pub(crate) fn steal_pass(m: &M, ticks: Option<&[u64]>) -> Option<GPtr> {
    let s = sched();
    let n = s.nworkers();
    let start = if n > 0 { (m.rand() as usize) % n } else { 0 };
    for i in 0..n {
        let Some(v) = s.worker((start + i) % n) else {
            continue;
        };
        if std::ptr::eq(&**v, &*m.shared) {
            continue;
        }
        loop {
            match v.stealer.steal_batch_and_pop(&m.runq) {
                Steal::Success(g) => {
                    super::worker::bump(&m.shared.counts.steals);
                    return Some(g);
                }
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
        let stuck = v.phase.load(Ordering::Acquire) == PH_REVOKED
            || ticks.is_some_and(|t| t.get(v.id) == Some(&v.tick.load(Ordering::Acquire)));
        if stuck && !v.runnext.is_empty() {
            if let Some(g) = take_runnext(v) {
                return Some(g);
            }
        }
    }
    steal_global(m)
}

/// Schedule counts of every worker, indexed by id (for `steal_pass`).
pub(crate) fn snapshot_ticks(into: &mut Vec<u64>) {
    let s = sched();
    into.clear();
    for id in 0..s.nworkers() {
        into.push(
            s.worker(id)
                .map_or(u64::MAX, |w| w.tick.load(Ordering::Acquire)),
        );
    }
}

/// Moves everything queued on this worker to the global queue (it is giving up its token).
pub(crate) fn drain_to_global(m: &M) {
    let s = sched();
    let mut moved = false;
    if let Some(g) = take_runnext(&m.shared) {
        s.injector.push(g);
        moved = true;
    }
    while let Some(g) = m.runq.pop() {
        s.injector.push(g);
        moved = true;
    }
    if moved {
        idle::wakep();
    }
}
