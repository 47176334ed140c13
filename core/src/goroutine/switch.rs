//! Park and ready: how a goroutine switches out to its worker, how a wake makes it runnable
//! again, and how its worker resumes it.
//!
//! Park and ready meet through `status` without a lock: the numbered race is in
//! `handshake.rs`, where loom checks it. No channel lock is ever held across a switch, and a
//! wake is never lost: `ready` queues the goroutine (through the scheduler's table) only when
//! the park has completed; a wake that comes earlier is left in the status word for the park
//! to find.
//!
//! Rejected: a mutex per goroutine around park and ready (a lock on every wake, and the
//! parker would hold it across its switch), and queueing in `park` itself before the switch
//! (another worker could resume the goroutine while its stack is still in use here).

use std::sync::atomic::Ordering;

use corosensei::CoroutineResult;

use super::exit::finish;
use super::record::Switch;
use super::scheduler::{scheduler, started};
use super::{GPtr, WaitReason};
use crate::handshake::{self, RUNNABLE, RUNNING};

/// The goroutine running on this thread, if any. Never inlined: a goroutine may move to
/// another thread at any park, and an inlined thread-local read could be cached across it.
#[inline(never)]
pub fn current() -> Option<GPtr> {
    scheduler().and_then(|s| (s.current)())
}

/// The id of the running goroutine, 0 on a plain thread.
pub fn current_id() -> u64 {
    current().map_or(0, |g| g.get().id)
}

/// Lets other goroutines run; on a plain thread, yields the OS thread.
pub fn yield_now() {
    match current() {
        Some(g) => switch_out(g, Switch::Yield),
        None => std::thread::yield_now(),
    }
}

/// Parks the running goroutine until `ready` is called for it (maybe already).
pub(crate) fn park(g: GPtr, reason: WaitReason) {
    let gr = g.get();
    gr.wait_reason.store(reason as u8, Ordering::Relaxed);
    // False: the wake came first and was consumed; go on without switching.
    if handshake::begin_park(&gr.status) {
        switch_out(g, Switch::Park);
    }
    gr.wait_reason
        .store(WaitReason::None as u8, Ordering::Relaxed);
}

/// Switches from the running goroutine `g` to its worker, telling it why.
pub(super) fn switch_out(g: GPtr, why: Switch) {
    let y = g.get().yielder.get();
    // SAFETY: the yielder was set when the body started (`spawn::run_body`) and lives on this
    // goroutine's stack for as long as the body runs; only the body calls switch_out (it is
    // reached from `current()`, which is this goroutine), so the yielder is alive.
    unsafe { (*y).suspend(why) };
}

/// Makes a parked goroutine runnable (see the module doc). Called once per claimed Waiter.
pub(crate) fn ready(g: GPtr) {
    if handshake::ready(&g.get().status) {
        (started().ready)(g, true);
    }
}

/// What became of a goroutine after it ran for a while.
pub(crate) enum Ran {
    /// It parked for good (a waker will queue it).
    Parked,
    /// It must go back on a run queue (a wake that beat its park).
    Requeue,
    /// It yielded: it goes behind everything queued (see `runq::put_yielded`).
    Yielded,
    /// It finished; its record and stack are gone.
    Finished,
}

/// Runs `g` on the calling worker until it switches out. Worker only.
pub(crate) fn resume(g: GPtr) -> Ran {
    let gr = g.get();
    let prev = gr.status.swap(RUNNING, Ordering::AcqRel);
    debug_assert_eq!(prev, RUNNABLE, "goroutine {} resumed twice", gr.id);
    // SAFETY: owner only: a G is resumed by one worker at a time (it came off a run queue, and
    // the status swap above from RUNNABLE makes this worker its owner until it switches out);
    // the coroutine was written by spawn before the G was first queued.
    let coro = unsafe { (*gr.coro.get()).assume_init_mut() };
    match coro.resume(()) {
        CoroutineResult::Yield(Switch::Park) => {
            if handshake::finish_park(&gr.status) {
                Ran::Parked
            } else {
                Ran::Requeue // the wake arrived during the switch
            }
        }
        CoroutineResult::Yield(Switch::Yield) => {
            gr.status.store(RUNNABLE, Ordering::Release);
            Ran::Yielded
        }
        CoroutineResult::Yield(Switch::Exit) => {
            // SAFETY: goro_exit ran the cleanups; what remains on the stack are frames of
            // C code and of our exit path, which own nothing that needs dropping.
            unsafe { coro.force_reset() };
            finish(g);
            Ran::Finished
        }
        CoroutineResult::Return(()) => {
            finish(g);
            Ran::Finished
        }
    }
}
