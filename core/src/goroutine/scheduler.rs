//! How the goroutine layer reaches the scheduler above it without naming it: a table of
//! functions that `sched` installs when it starts, called here through `scheduler()`.
//!
//! The goroutine layer needs the scheduler for three things: to know which goroutine runs on
//! this thread, to queue a goroutine that became runnable (a new one, or one a wake readied),
//! and to offer a preemption point. Each is one indirect call through this table.
//!
//! The table is always installed before it is needed: a goroutine exists only once `spawn`
//! has started the runtime (`sched::init`, which installs it), and before that `current` is
//! rightly None (nothing can be running). Starting the runtime is the one call this layer
//! makes upward by name: see `spawn.rs`.
//!
//! Rejected: importing `sched` here (a module cycle: the scheduler runs goroutines, so it
//! must name them); a trait object (one more indirection per call, and a vtable for three
//! functions); generics over the scheduler (every public path of this layer would grow a
//! type parameter).

use std::sync::OnceLock;

use super::GPtr;

/// The scheduler's side of the goroutine layer. Installed once by `sched::init`.
pub(crate) struct Scheduler {
    /// The goroutine running on the calling thread, if any. Must not be inlined into its
    /// callers (the TLS trap: see DESIGN.md); a function pointer never is.
    pub(crate) current: fn() -> Option<GPtr>,
    /// Queues a runnable goroutine: `woken` for one a wake just made ready (it runs next on
    /// the waker's worker), false for a new one or one whose wake beat its park.
    pub(crate) ready: fn(g: GPtr, woken: bool),
    /// Yields if the scheduler asked the running goroutine to.
    pub(crate) preempt_point: fn(),
    /// The worker running on this thread, as the opaque pointer `G::pinned_m` holds (null on
    /// a plain thread).
    pub(crate) current_worker: fn() -> *mut (),
}

static SCHEDULER: OnceLock<Scheduler> = OnceLock::new();

/// Installs the scheduler's table. `sched::init` only, once; later calls are ignored.
pub(crate) fn install_scheduler(s: Scheduler) {
    let _ = SCHEDULER.set(s);
}

/// The installed table; None until the runtime has started. The OnceLock's Acquire load pairs
/// with `install_scheduler`'s store, so a caller that sees the table sees all of it.
#[inline]
pub(super) fn scheduler() -> Option<&'static Scheduler> {
    SCHEDULER.get()
}

/// The installed table, where a goroutine exists (so the runtime has started).
#[inline]
pub(super) fn started() -> &'static Scheduler {
    scheduler().expect("goro: a goroutine exists, so sched::init installed the scheduler")
}
