//! The scheduler: GOMAXPROCS workers multiplexing goroutines, as Go's proc.go does.
//!
//! Terms (Go's in brackets): a *worker* (M) is an OS thread with a local run queue and a
//! "run next" slot; a *token* (P) is the right to run goroutines: at most GOMAXPROCS workers
//! hold one at a time. Go keeps the run queue in the P and hands the P to another thread when
//! its thread blocks; we keep the queue in the worker (it is stealable by everyone) and hand
//! over only the token, which needs no protocol for a goroutine that touches "its" queue while
//! its worker is being handed off.
//!
//! - `runq.rs`: where a goroutine is queued and where a worker finds the next one.
//! - `runnext.rs`: the run-next slot, handed between threads by swaps (loom-checked).
//! - `idle.rs`: how workers go to sleep and are woken without losing a wake-up.
//! - `poll.rs`: how workers run the netpoller (sleep in epoll_wait, poll while idle).
//! - `sysmon.rs`: the monitor thread: hand-off of workers stuck in foreign calls, late timers.
//! - `worker.rs`: the worker loop, and every "when" (spin, steal, sleep, hand off).
//! - `policy.rs`: every tuning number those use, each with what set it.
//!
//! The scheduler sits above the goroutine layer: it names goroutines (it runs them), and the
//! goroutine layer reaches it only through the table `sched()` installs at start
//! (`goroutine/scheduler.rs`): which goroutine runs here, queue this one, a preemption point.
//!
//! Rejected: a thread per goroutine (a million threads), a single global queue (contention at
//! two workers already), handing off straight to a sleeping worker on every wake (a futex wake
//! costs ~35 µs here: `idle.rs` explains spinning).

mod idle;
pub(crate) mod policy;
pub(crate) mod poll;
pub mod runnext;
mod runq;
pub(crate) mod sysmon;
pub mod timers;
mod worker;

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use crossbeam_deque::{Injector, Stealer};
use parking_lot::Mutex;

use crate::goroutine::{GPtr, G};
use crate::loom::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize};
use timers::Timers;

use runnext::RunNext;
pub(crate) use worker::Worker as M;

/// Most workers that may ever exist (Go's default limit of 10,000 threads).
const MAX_M: usize = 10_000;
/// Largest GOMAXPROCS.
pub const MAX_PROCS: usize = 1024;

/// What a worker is doing, for sysmon. Written by the worker (and by sysmon:
/// -> REVOKED, the only transition another thread makes).
pub(crate) const PH_IDLE: u32 = 0;
pub(crate) const PH_SCHED: u32 = 1;
pub(crate) const PH_RUNNING: u32 = 2;
pub(crate) const PH_REVOKED: u32 = 3;

/// Wake reasons left for a sleeping worker (bits).
pub(crate) const WAKE_TOKEN: u32 = 1;
pub(crate) const WAKE_KICK: u32 = 2;

/// The part of a worker other threads see.
pub struct MShared {
    pub(crate) id: usize,
    pub(crate) thread: OnceLock<std::thread::Thread>,
    pub(crate) stealer: Stealer<GPtr>,
    /// The goroutine to run next on this worker (just woken by what it ran). Stealable only
    /// when the worker seems stuck (see runq::steal_runnext).
    pub(crate) runnext: RunNext<G>,
    /// Schedule count: sysmon compares it across ticks to find a worker stuck in one G.
    pub(crate) tick: AtomicU64,
    /// When the goroutine running here now was resumed, by the cheap stamp (clock.rs
    /// `recent_ns`: no later than the truth): so sysmon's first look at a worker stuck in one
    /// goroutine already knows for how long, instead of learning it at its next look.
    pub(crate) run_start: AtomicI64,
    /// What the goroutine running here now runs (its `func_key`, goroutine/origin.rs; 0
    /// between goroutines), for the CPU profile's sampler: a plain number, so the sampler
    /// never touches a record.
    pub(crate) running: AtomicUsize,
    /// PH_* above.
    pub(crate) phase: AtomicU32,
    /// Set by sysmon when the current goroutine has run for long: it yields at its next goro
    /// call (cooperative preemption, as Go's stack-check preemption).
    pub(crate) preempt: AtomicBool,
    /// This thread's CPU-time clock, so sysmon can tell a goroutine blocked in a foreign call
    /// (no CPU used) from one computing. i64::MIN until known (thread clock ids are negative).
    pub(crate) cpu_clock: AtomicI64,
    /// The thread's kernel id (for its state in /proc), 0 until known.
    pub(crate) tid: AtomicI32,
    /// WAKE_* bits; set by wakers, swapped to 0 by the worker.
    pub(crate) wake: AtomicU32,
    /// Counters for `trace::counters`, written by this worker only.
    pub(crate) counts: WorkerCounts,
    /// Pinned goroutines made ready, to be run by this worker only.
    pub(crate) inbox: Mutex<std::collections::VecDeque<GPtr>>,
    pub(crate) inbox_len: AtomicUsize,
}

/// Counters a worker bumps (a load and a store: only it writes them), on a cache line of their
/// own so that bumping them does not disturb the fields other workers poll.
#[repr(align(64))]
#[derive(Default)]
pub(crate) struct WorkerCounts {
    pub(crate) parks: AtomicU64,
    pub(crate) steals: AtomicU64,
}

/// Global scheduler state.
pub(crate) struct Sched {
    pub(crate) injector: Injector<GPtr>,
    ms: Box<[OnceLock<Arc<MShared>>]>,
    nm: AtomicUsize,
    /// Workers asleep with no token. Guarded by its lock.
    pub(crate) idle: Mutex<Vec<Arc<MShared>>>,
    /// Workers holding a token.
    pub(crate) active: AtomicUsize,
    pub(crate) maxprocs: AtomicUsize,
    /// Workers spinning for work (holding a token).
    pub(crate) nmspinning: AtomicUsize,
    pub(crate) timers: Timers,
    /// The idle worker sleeping until the earliest timer, if any (its id + 1; 0 = none).
    pub(crate) timer_sleeper: AtomicUsize,
    /// Workers lent by sysmon so far (a counter for the metrics).
    pub(crate) handoffs: AtomicU64,
}

static SCHED: OnceLock<Sched> = OnceLock::new();

pub(crate) fn sched() -> &'static Sched {
    SCHED.get_or_init(|| {
        // The poller hears of new fd waiters through us (netpoll sits below the scheduler).
        crate::netpoll::install_waiter_added(poll::waiter_added);
        // First, before any goroutine can exist: the goroutine layer reaches us only through
        // this table (goroutine/scheduler.rs).
        crate::goroutine::install_scheduler(crate::goroutine::Scheduler {
            current: current_g,
            ready: runq::put,
            preempt_point,
            current_worker: || {
                current_m().map_or(std::ptr::null_mut(), |m| {
                    Arc::as_ptr(&m.shared).cast_mut().cast()
                })
            },
        });
        crate::stack::install_overflow_handler(crate::goroutine::describe_for_signal);
        // Starting the runtime starts trace's environment features (GORO_TRACEBACK,
        // GORO_DUMP_SIGNAL, GORO_DEBUG_ADDR): the one call the scheduler makes upward, allowed
        // by name in core/tests/layering.rs (goroutine/spawn.rs says why a lazily started
        // runtime needs it).
        crate::trace::init_from_env();
        let s = Sched {
            injector: Injector::new(),
            ms: (0..MAX_M).map(|_| OnceLock::new()).collect(),
            nm: AtomicUsize::new(0),
            idle: Mutex::new(Vec::new()),
            active: AtomicUsize::new(0),
            maxprocs: AtomicUsize::new(crate::maxprocs::default_maxprocs().clamp(1, MAX_PROCS)),
            nmspinning: AtomicUsize::new(0),
            timers: Timers::new(),
            timer_sleeper: AtomicUsize::new(0),
            handoffs: AtomicU64::new(0),
        };
        sysmon::start();
        s
    })
}

/// Starts the runtime if it is not running yet.
pub fn init() {
    sched();
}

impl Sched {
    /// Workers created so far (ids are 0..n).
    pub(crate) fn nworkers(&self) -> usize {
        self.nm.load(Ordering::Acquire)
    }

    pub(crate) fn worker(&self, id: usize) -> Option<&Arc<MShared>> {
        self.ms.get(id).and_then(|m| m.get())
    }

    /// Registers a new worker's shared part; None at the thread limit.
    pub(crate) fn register(
        &self,
        make: impl FnOnce(usize) -> Arc<MShared>,
    ) -> Option<Arc<MShared>> {
        static REGISTER: Mutex<()> = Mutex::new(());
        let _g = REGISTER.lock();
        let id = self.nm.load(Ordering::Relaxed);
        if id >= MAX_M {
            return None;
        }
        let m = make(id);
        let _ = self.ms[id].set(m.clone());
        self.nm.store(id + 1, Ordering::Release);
        Some(m)
    }

    /// Takes a token if fewer than GOMAXPROCS are held.
    pub(crate) fn try_acquire_token(&self) -> bool {
        let max = self.maxprocs.load(Ordering::Relaxed);
        let mut a = self.active.load(Ordering::Relaxed);
        while a < max {
            // SeqCst: in the one order of token counts that `wakep`'s and `sleep`'s checks of
            // `active` read (sched/idle.rs's numbered race).
            match self
                .active
                .compare_exchange_weak(a, a + 1, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => a = now,
            }
        }
        false
    }

    pub(crate) fn release_token(&self) {
        // Step 1 of sched/idle.rs's race when a sleeper gives its token up. SeqCst: pairs with
        // `wakep`'s load of `active` (step 2).
        self.active.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether any goroutine waits in a queue anywhere (for idle re-checks and sysmon).
    pub(crate) fn work_queued(&self) -> bool {
        !self.injector.is_empty()
            || (0..self.nworkers())
                .filter_map(|id| self.worker(id))
                .any(|m| !m.stealer.is_empty() || !m.runnext.is_empty())
    }
}

thread_local! {
    static CURRENT_M: Cell<*const M> = const { Cell::new(std::ptr::null()) };
}

/// The worker running on this thread. Never inlined (the TLS trap: see DESIGN.md).
#[inline(never)]
pub(crate) fn current_m() -> Option<&'static M> {
    let p = CURRENT_M.with(|c| c.get());
    // SAFETY: set once by the worker thread to its own leaked Worker, which lives forever.
    (!p.is_null()).then(|| unsafe { &*p })
}

pub(crate) fn set_current_m(m: &'static M) {
    CURRENT_M.with(|c| c.set(m));
}

/// The goroutine running on this thread. Never inlined (the TLS trap).
#[inline(never)]
pub(crate) fn current_g() -> Option<GPtr> {
    current_m().and_then(|m| m.curg())
}

/// The worker `g` is pinned to, if any.
pub(crate) fn pinned_home(g: &G) -> Option<&'static MShared> {
    let p = g.pinned_m.load(Ordering::Acquire).cast::<MShared>();
    // SAFETY: `pinned_m` is null or the address of a worker's MShared (stored by spawn from
    // our `current_worker`, or by `Worker::execute`), and workers are never freed: `ms`
    // keeps an Arc of each for the life of the process.
    unsafe { p.as_ref() }
}

/// Cheap randomness: the worker's own generator on a worker, a thread-local one elsewhere.
/// Never inlined (the TLS trap).
#[inline(never)]
pub(crate) fn rand() -> u64 {
    if let Some(m) = current_m() {
        return m.rand();
    }
    thread_local! {
        static RNG: Cell<u64> = const { Cell::new(0) };
    }
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            x = (r as *const _ as u64) ^ crate::clock::now_ns() as u64 | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// Sets GOMAXPROCS (n > 0) and returns the value before. Lowering it takes effect as workers
/// reach their next schedule point; raising it starts workers for queued goroutines at once.
pub fn maxprocs(n: i64) -> usize {
    let s = sched();
    let before = s.maxprocs.load(Ordering::Relaxed);
    if n > 0 {
        let n = (n as usize).min(MAX_PROCS);
        // SeqCst has no partner here: every reader loads `maxprocs` Relaxed and re-reads it at
        // each schedule point; the workers woken below are started by this thread, after
        // the store. (Kept as the first scheduler wrote it.)
        s.maxprocs.store(n, Ordering::SeqCst);
        if n > before {
            for _ in before..n {
                if s.work_queued() {
                    idle::wakep();
                }
            }
        }
    }
    before
}

/// Announces that the calling goroutine is about to block its OS thread for long (a blocking
/// read, a foreign call): its token goes to another worker at once. No-op on plain threads.
pub fn blocking_begin() {
    if let Some(m) = current_m() {
        m.blocking_begin();
    }
}

/// Ends a `blocking_begin` section: takes a token back if one is free; otherwise goes on
/// without one until the next schedule point.
pub fn blocking_end() {
    if let Some(m) = current_m() {
        m.blocking_end();
    }
}

/// Workers whose `preempt` flag is set. Preemption points read only this shared, rarely
/// written word: the thread-local lookup of their own worker (a call through __tls_get_addr in
/// a shared library) is paid only while some worker is asked to yield (W3 in benches/).
static PREEMPT_PENDING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Asks the goroutine running on `m` to yield at its next goro call. Sysmon only.
pub(crate) fn request_preempt(m: &MShared) -> bool {
    let newly = !m.preempt.swap(true, Ordering::AcqRel);
    if newly {
        PREEMPT_PENDING.fetch_add(1, Ordering::Release);
    }
    newly
}

/// Clears `m`'s request; true if there was one.
pub(crate) fn clear_preempt(m: &MShared) -> bool {
    if m.preempt.load(Ordering::Relaxed) && m.preempt.swap(false, Ordering::AcqRel) {
        PREEMPT_PENDING.fetch_sub(1, Ordering::Release);
        return true;
    }
    false
}

/// Yields if sysmon asked the running goroutine to (it has run for long while others wait).
/// Called by goro calls that do not otherwise switch.
#[inline]
pub(crate) fn preempt_point() {
    if PREEMPT_PENDING.load(Ordering::Relaxed) != 0 {
        preempt_slow();
    }
}

#[cold]
fn preempt_slow() {
    if let Some(m) = current_m() {
        if clear_preempt(&m.shared)
            && !crate::goroutine::current().is_some_and(|g| g.get().no_preempt)
        {
            crate::goroutine::yield_now();
        }
    }
}

/// Called when a timer became the earliest: make sure some worker will run it in time.
pub(crate) fn timer_added() {
    idle::kick_for_timer();
}

/// Runtime counters.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Workers (OS threads) created so far.
    pub workers: usize,
    /// Workers holding a token now.
    pub active: usize,
    /// Tokens handed to another worker because one was stuck.
    pub handoffs: u64,
    /// Pending timers.
    pub timers: usize,
    /// Goroutines resumed by workers (context switches).
    pub switches: u64,
    /// Times a goroutine parked.
    pub parks: u64,
    /// Goroutines taken from another worker's queue.
    pub steals: u64,
}

/// Reads the runtime counters.
pub fn stats() -> Stats {
    let s = sched();
    Stats {
        workers: s.nm.load(Ordering::Relaxed),
        active: s.active.load(Ordering::Relaxed),
        handoffs: s.handoffs.load(Ordering::Relaxed),
        timers: s.timers.len(),
        ..per_worker(s)
    }
}

/// Sums the counters each worker keeps.
fn per_worker(s: &Sched) -> Stats {
    let mut t = Stats::default();
    for m in (0..s.nworkers()).filter_map(|id| s.worker(id)) {
        t.switches += m.tick.load(Ordering::Relaxed);
        t.parks += m.counts.parks.load(Ordering::Relaxed);
        t.steals += m.counts.steals.load(Ordering::Relaxed);
    }
    t
}
