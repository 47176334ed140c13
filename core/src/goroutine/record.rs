//! The goroutine record (G): what a goroutine is, field by field, and who may touch each.
//!
//! A G lives in the top bytes of its own stack slot (see `stack`): the record and the first
//! frames share the page a goroutine touches first, so a parked goroutine usually costs one
//! page, and spawning needs no allocation beyond the slot.
//!
//! Rejected: records in a separate pool or a Vec indexed by id (a second allocation and a
//! second cache miss per spawn, and a lookup for every id-to-record), and an Arc per record
//! (a reference count bumped at every queueing; a G has exactly one owner at a time instead:
//! the run queue that holds it, the worker that runs it, or the Waiter's winner that wakes it).

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64 as StaticI64, AtomicU64 as StaticU64, Ordering};
use std::sync::{Arc, OnceLock};

use corosensei::{Coroutine, Yielder};

use super::origin::{Func, Site};
use crate::loom::{AtomicI64, AtomicPtr, AtomicU32, AtomicU8};
use crate::park::Waiter;
use crate::stack::SlotStack;

/// A C goroutine body or cleanup: `fn(arg)`.
pub type CFn = unsafe extern "C" fn(*mut c_void);

/// What a goroutine runs.
pub enum Body {
    /// A C function and its argument.
    C(CFn, *mut c_void),
    /// A Rust closure.
    Rust(Box<dyn FnOnce() + Send>),
}
// SAFETY: the C argument is the caller's to make thread-safe (as with pthread_create: the C
// contract says a goroutine may run on any thread); the Rust closure is Send already.
unsafe impl Send for Body {}

/// A deferred cleanup.
pub(super) enum Defer {
    C(CFn, *mut c_void),
    Rust(Box<dyn FnOnce() + Send>),
}

/// Options for `spawn`.
#[derive(Default, Clone)]
pub struct SpawnOpts {
    /// Usable stack bytes; 0 means the default (GORO_STACK_SIZE or 256 KiB).
    pub stack_size: usize,
    /// Shown in dumps and overflow reports.
    pub name: Option<String>,
    /// Never move this goroutine to another OS thread.
    pub pinned: bool,
    /// Never yield at a preemption point (a goro call that completes at once). For Python
    /// goroutines: they hold the GIL between goro calls, and a switch there would leave the
    /// next goroutine on the worker waiting for a GIL its holder can never release.
    pub no_preempt: bool,
    /// With `pinned`: pin to the worker of the goroutine that spawns it (when spawned from
    /// one), instead of wherever it first runs. For Python goroutines: only one of them runs
    /// at a time (the GIL), so spreading them over workers buys no parallelism and turns every
    /// hand-off between them into a cross-thread GIL wake.
    pub pin_to_spawner: bool,
    /// With `pinned`: goroutines of one group (1 to `PIN_GROUPS - 1`; 0 is none) that are not
    /// started on a worker (from a plain thread) share one home worker, the one the group's
    /// first goroutine ran on, instead of each pinning to wherever it first runs. For Python
    /// goroutines started from the main thread: they take turns on the GIL anyway, and spread
    /// over workers each one that waits for the GIL looks blocked to sysmon, which then hands
    /// its queue to a new thread (issue 12: 86 threads for 50,000 wakes).
    pub pin_group: u8,
    /// What it runs, for dumps and profiles (C bodies are named from their address).
    pub func: Func,
    /// Where it was started; `Unknown` takes the Rust caller of `spawn`.
    pub site: Site,
}

/// What a goroutine tells its worker when it switches out.
pub(crate) enum Switch {
    Park,
    Yield,
    Exit,
}

pub(super) type Coro = Coroutine<(), Switch, (), SlotStack>;

/// The goroutine record.
pub struct G {
    /// Unique, from 1 up.
    pub id: u64,
    /// handshake.rs's states, and readers.rs's DEAD. Any thread.
    pub(crate) status: AtomicU32,
    /// Owner only: the worker running or resuming this G.
    pub(super) coro: UnsafeCell<MaybeUninit<Coro>>,
    /// Owner only: set when the body starts.
    pub(super) yielder: Cell<*const Yielder<(), Switch>>,
    /// Owner only: cleanups, last registered first.
    pub(super) defers: UnsafeCell<Vec<Defer>>,
    /// Owner only: the waiter of this goroutine's last wait, reused when no one else holds it
    /// any more (saves an allocation per blocking operation).
    pub(super) waiter: UnsafeCell<Option<Arc<Waiter>>>,
    /// Shown in dumps.
    pub name: Option<Box<str>>,
    /// The worker this G is pinned to (set on first run when pinned), as the scheduler's own
    /// opaque pointer: only `sched` knows what it points at (workers are never freed).
    pub(crate) pinned_m: AtomicPtr<()>,
    pub(crate) pinned: bool,
    /// See `SpawnOpts::pin_group`.
    pub(crate) pin_group: u8,
    /// See `SpawnOpts::no_preempt`.
    pub(crate) no_preempt: bool,
    /// For dumps: why (a `WaitReason` as a byte) and since when it waits.
    pub(crate) wait_reason: AtomicU8,
    pub(crate) wait_since: AtomicI64,
    /// For dumps and profiles: what it runs and where it was started.
    pub(crate) func: Func,
    pub(crate) site: Site,
    /// `func` as a number the CPU profiler can read without touching this record.
    pub(crate) func_key: usize,
    /// Where it waits, owned by `trace::block` (which alone knows the type): recorded only
    /// when tracebacks are on, allocated on first use, so a record stays small when nobody
    /// looks. Owner writes, readers under the registry handshake (OnceLock settles races).
    pub(crate) wait_stack: OnceLock<Box<dyn Any + Send + Sync>>,
}

/// A pointer to a live goroutine record. Whoever holds one must know the G is alive: the G is
/// parked on something that has not woken it yet, or sits in a run queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GPtr(pub(crate) NonNull<G>);
// SAFETY: a record is shared between workers by design (it moves through run queues); each
// of its fields says who may touch it, and the cross-thread ones are atomics.
unsafe impl Send for GPtr {}
// SAFETY: a shared GPtr only hands out `&G`, whose non-atomic fields are touched by their
// owner only (field docs above), so sharing the pointer between threads adds no data race.
unsafe impl Sync for GPtr {}

impl GPtr {
    pub(crate) fn get(&self) -> &G {
        // SAFETY: see the type's doc: holders only keep pointers to live records.
        unsafe { self.0.as_ref() }
    }
}

static NEXT_ID: StaticU64 = StaticU64::new(1);
/// Goroutines alive; Relaxed: a count for reports, ordering nothing.
pub(super) static LIVE: StaticI64 = StaticI64::new(0);

/// A fresh goroutine id (JS tasks of the Node layer take theirs here too).
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Goroutines alive now.
pub fn num_goroutine() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

impl G {
    /// A fresh waiter for this goroutine: the cached one when nobody else still holds it (a
    /// waker finishing its wake, a stale select entry), else a new one. Owner only.
    pub(crate) fn cached_waiter(&self, make: impl FnOnce() -> Arc<Waiter>) -> Arc<Waiter> {
        // SAFETY: owner only (this fn's contract): only the goroutine itself touches its
        // cache, and it runs on one thread at a time.
        let cache = unsafe { &mut *self.waiter.get() };
        match cache.as_ref() {
            // The only holder: nobody else can get it back, since nobody holds a Weak of a
            // waiter (so a count of one is final, where `Arc::get_mut` pays a locked
            // compare-exchange on the weak count to be sure of it: 1% of a W7 hop).
            Some(w) if Arc::strong_count(w) == 1 => {
                debug_assert_eq!(Arc::weak_count(w), 0, "waiters are never downgraded");
                // Acquire: pairs with the Release decrement of the last other holder's drop,
                // so every use it made of the waiter happened before the reset.
                crate::loom::fence(Ordering::Acquire);
                w.reset();
            }
            _ => *cache = Some(make()),
        }
        cache.as_ref().expect("just filled").clone()
    }
}

/// Pin groups (see `SpawnOpts::pin_group`).
pub const PIN_GROUPS: usize = 8;

/// Each pin group's home worker, as `G::pinned_m` holds it (null until its first goroutine
/// runs). Set once (first CAS wins), read by spawn and by the worker that runs a goroutine of
/// the group for the first time.
/// (std's atomics: a static needs a const constructor, which loom's lack.)
pub(crate) static GROUP_HOME: [std::sync::atomic::AtomicPtr<()>; PIN_GROUPS] =
    [const { std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()) }; PIN_GROUPS];
