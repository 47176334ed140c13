//! Block hooks: how a host language takes over the moment a wait actually blocks.
//!
//! A binding calls a goro operation holding its interpreter lock (Python's GIL), so that an
//! operation that completes at once costs no hand-off. When the operation must wait, it must
//! let go of the lock first, and a thread that runs signal handlers (Python's main thread)
//! must wake now and then to run them. Both happen at one point: `Waiter::wait`, after the
//! wait is registered (wait/mod.rs, step 4). `with_block_hook(hook, f)` runs `f` with `hook`
//! installed on this OS thread; the first `Waiter::wait` inside `f` calls `hook` with a
//! `Blocking` instead of waiting, and the hook waits through it (`wait`, or
//! `wait_interruptible` for naps with a check between them), releasing its lock around that.
//! So the operation is tried, registered and waited for once, whoever waits.
//!
//! The hook lives in a thread-local slot, taken out when it is called: waits inside the hook
//! (the plain wait it asks for, or a goro call made by a signal handler that it runs) do not
//! see it, and while a goroutine is switched out in its hook the slot is empty, so another
//! goroutine of the same worker installs and takes its own. `with_block_hook` puts back what
//! was there before it. One operation waits at most once (a retry of step 3 happens before
//! the wait), so one hook serves one operation. A process that never installs one (a C
//! program) does not pay the thread-local lookup on each wait (`__tls_get_addr` in a shared
//! library: ~20 instructions per round trip of W2): `EVER` says whether any thread has.
//!
//! Rejected: a loop in the binding that waits in slices and runs the operation again each
//! time (what Python did: every slice dequeued and re-queued, a pending send passed its value
//! back through the error, and the block profile counted each slice as a contention); a
//! separate case-level entry point (every typed operation, Select included, would need an
//! "interruptible" twin).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::park::{Kind, Outcome, Waiter};
use crate::reason::WaitReason;

/// The hook's type: given the wait that is about to block, do it and return its outcome.
pub type BlockHook<'a> = dyn FnMut(&Blocking<'_>) -> Outcome + 'a;

/// Set the first time any thread installs a hook; never cleared. Relaxed is enough: a thread
/// only ever reads a hook it installed itself, after its own store (program order).
static EVER: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The hook of the operation running on this thread now, if any. Owner thread only.
    static HOOK: Cell<Option<*mut BlockHook<'static>>> = const { Cell::new(None) };
}

/// A wait about to block, as a block hook sees it.
pub struct Blocking<'a> {
    waiter: &'a Arc<Waiter>,
    reason: WaitReason,
    deadline: Option<i64>,
}

impl Blocking<'_> {
    /// Whether a goroutine waits (else a plain OS thread).
    pub fn is_goroutine(&self) -> bool {
        matches!(self.waiter.kind, Kind::Goroutine(_))
    }

    /// What the wait shows in dumps and profiles.
    pub fn reason(&self) -> WaitReason {
        self.reason
    }

    /// Waits as `Waiter::wait` would have.
    pub fn wait(&self) -> Outcome {
        self.waiter.wait(self.reason, self.deadline)
    }

    /// For a thread: waits with `interrupt()` checked between naps of `nap_ns`
    /// (`Waiter::wait_interruptible`; the wait ends as `Interrupted` when it returns true and
    /// nobody won first). A goroutine waits plainly.
    pub fn wait_interruptible(&self, nap_ns: i64, interrupt: &mut dyn FnMut() -> bool) -> Outcome {
        if self.is_goroutine() {
            return self.wait();
        }
        // As `Waiter::wait`: profiles see the whole wait, once.
        if !crate::hooks::waits_watched() {
            return self
                .waiter
                .wait_interruptible(self.deadline, nap_ns, interrupt);
        }
        let begun = crate::hooks::wait_begin();
        let out = self
            .waiter
            .wait_interruptible(self.deadline, nap_ns, interrupt);
        crate::hooks::wait_end(self.reason, begun);
        out
    }
}

/// Runs `f` with `hook` called in place of the first blocking wait on this thread inside it
/// (see the module doc). Nests: the previous hook is restored when `f` returns or unwinds.
pub fn with_block_hook<R>(hook: &mut BlockHook<'_>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<*mut BlockHook<'static>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            HOOK.with(|h| h.set(self.0));
        }
    }
    // SAFETY: only the lifetime is erased; the pointer is used only by `run_hook` on this
    // thread while `f` runs (the slot is restored before `hook`'s borrow ends).
    let p: *mut BlockHook<'static> = unsafe { std::mem::transmute(hook as *mut BlockHook<'_>) };
    if !EVER.load(Ordering::Relaxed) {
        EVER.store(true, Ordering::Relaxed);
    }
    let _restore = Restore(HOOK.with(|h| h.replace(Some(p))));
    f()
}

/// Called by `Waiter::wait`: runs and uses up this thread's hook, if one is installed.
pub(crate) fn run_hook(
    w: &Arc<Waiter>,
    reason: WaitReason,
    deadline: Option<i64>,
) -> Option<Outcome> {
    if !EVER.load(Ordering::Relaxed) {
        return None;
    }
    let p = HOOK.with(|h| h.take())?;
    let b = Blocking {
        waiter: w,
        reason,
        deadline,
    };
    // SAFETY: installed by a `with_block_hook` still running on this thread (it restores the
    // slot before returning), and taken out, so this is the only use of the pointer.
    Some(unsafe { (*p)(&b) })
}
