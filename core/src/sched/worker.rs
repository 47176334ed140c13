//! The worker loop: every "when" of scheduling lives here (when to spin, steal, sleep, give
//! up the token); `runq`, `idle` and `sysmon` carry it out.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::policy::{
    enough_spinners, GLOBAL_QUEUE_EVERY, RUNNEXT_GRACE_NS, SPIN_NS, SPIN_PAUSES, STAMP_EVERY,
};
use super::{idle, runq, sched, set_current_m, MShared, PH_IDLE, PH_REVOKED, PH_RUNNING, PH_SCHED};
use crate::clock::{note_now, now_ns, recent_ns};
use crate::goroutine::{self, GPtr, Ran};
use crate::loom::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize};

/// A worker (Go's M): an OS thread that runs goroutines. Owner thread only, except `shared`.
pub(crate) struct Worker {
    pub(crate) shared: Arc<MShared>,
    /// Local run queue; other workers steal through `shared.stealer`.
    pub(crate) runq: crossbeam_deque::Worker<GPtr>,
    has_token: Cell<bool>,
    pub(crate) spinning: Cell<bool>,
    curg: Cell<Option<GPtr>>,
    schedtick: Cell<u64>,
    rng: Cell<u64>,
    /// Has run a pinned goroutine: only it can run those, so it watches its inbox before it
    /// sleeps even when enough others spin (`spin`).
    hosts_pinned: Cell<bool>,
}

impl Worker {
    /// Starts a new worker thread, holding a token and spinning (`wakep`'s contract).
    pub(crate) fn spawn(with_token: bool) -> bool {
        let s = sched();
        let runq = crossbeam_deque::Worker::new_fifo();
        let stealer = runq.stealer();
        let Some(shared) = s.register(|id| {
            Arc::new(MShared {
                id,
                thread: OnceLock::new(),
                stealer,
                runnext: super::RunNext::new(),
                tick: AtomicU64::new(0),
                run_start: AtomicI64::new(0),
                running: AtomicUsize::new(0),
                preempt: AtomicBool::new(false),
                tid: AtomicI32::new(0),
                cpu_clock: AtomicI64::new(i64::MIN),
                phase: AtomicU32::new(PH_SCHED),
                wake: AtomicU32::new(0),
                counts: Default::default(),
                inbox: Mutex::new(Default::default()),
                inbox_len: AtomicUsize::new(0),
            })
        }) else {
            return false;
        };
        let id = shared.id;
        let w = Worker {
            shared,
            runq,
            has_token: Cell::new(with_token),
            spinning: Cell::new(with_token),
            curg: Cell::new(None),
            hosts_pinned: Cell::new(false),
            schedtick: Cell::new(0),
            rng: Cell::new(
                0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            ),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("goro-m{id}"))
            .stack_size(512 * 1024)
            .spawn(move || {
                // The worker lives as long as the process: leak it so `current_m` can hand out
                // 'static references.
                let w: &'static Worker = Box::leak(Box::new(w));
                let _ = w.shared.thread.set(std::thread::current());
                // SAFETY: gettid has no preconditions.
                w.shared
                    .tid
                    .store(unsafe { libc::gettid() }, Ordering::Relaxed);
                let mut clock: libc::clockid_t = 0;
                // SAFETY: asks for the calling thread's own CPU-time clock id.
                if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } == 0 {
                    w.shared.cpu_clock.store(clock as i64, Ordering::Release);
                }
                set_current_m(w);
                crate::stack::install_overflow_handler(goroutine::describe_for_signal);
                w.main_loop();
            });
        spawned.is_ok()
    }

    fn main_loop(&'static self) -> ! {
        loop {
            let g = self.find_runnable();
            self.execute(g);
        }
    }

    /// The goroutine running on this worker.
    pub(crate) fn curg(&self) -> Option<GPtr> {
        self.curg.get()
    }

    /// Whether this worker holds a token (sysmon may have revoked it meanwhile).
    pub(crate) fn has_token(&self) -> bool {
        if self.has_token.get() && self.shared.phase.load(Ordering::Acquire) == PH_REVOKED {
            self.has_token.set(false);
        }
        self.has_token.get()
    }

    pub(crate) fn set_token(&self, t: bool) {
        self.has_token.set(t);
    }

    /// xorshift64*: cheap randomness for steal order and select.
    pub(crate) fn rand(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn execute(&self, g: GPtr) {
        let gr = g.get();
        if gr.pinned && super::pinned_home(gr).is_none() {
            let me: *mut () = Arc::as_ptr(&self.shared).cast_mut().cast();
            let mut home = me;
            if gr.pin_group != 0 {
                // The group's first goroutine to run makes this its home; the others go there.
                // Moving one before it has ever run is free: nothing of it is tied to a thread.
                let slot = &goroutine::GROUP_HOME[gr.pin_group as usize];
                if let Err(h) = slot.compare_exchange(
                    std::ptr::null_mut(),
                    me,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    home = h;
                }
            }
            gr.pinned_m.store(home, Ordering::Release);
            if home != me {
                runq::put(g, false); // into its home's inbox
                return;
            }
        }
        if gr.pinned {
            self.hosts_pinned.set(true);
        }
        self.curg.set(Some(g));
        super::clear_preempt(&self.shared);
        // Only this worker writes its tick: a load and a store, no read-modify-write.
        let t = self.shared.tick.load(Ordering::Relaxed);
        self.shared.run_start.store(recent_ns(), Ordering::Relaxed);
        self.shared.tick.store(t.wrapping_add(1), Ordering::Release);
        if self.has_token.get() {
            self.shared.phase.store(PH_RUNNING, Ordering::Release);
        }
        self.shared.running.store(gr.func_key, Ordering::Relaxed);
        let ran = goroutine::resume(g);
        self.shared.running.store(0, Ordering::Relaxed);
        self.curg.set(None);
        if self.has_token.get()
            && self
                .shared
                .phase
                .compare_exchange(PH_RUNNING, PH_SCHED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            // Sysmon (or blocking_begin) took the token while the goroutine ran.
            self.has_token.set(false);
        }
        self.shared.phase.store(PH_SCHED, Ordering::Release);
        match ran {
            Ran::Requeue => runq::put(g, false),
            Ran::Yielded => runq::put_yielded(self, g),
            Ran::Parked => bump(&self.shared.counts.parks),
            Ran::Finished => {}
        }
        if !self.has_token.get() {
            runq::drain_to_global(self);
        }
    }

    fn find_runnable(&self) -> GPtr {
        let s = sched();
        loop {
            // The inbox first, but every GLOBAL_QUEUE_EVERY-th schedule the global queue goes
            // before it (find_local's own fairness turn): a pinned goroutine that keeps
            // yielding is always back in the inbox, and would starve the goroutines waiting
            // there for a first run (Python's, before they are pinned) for good.
            let tick = self.schedtick.get().wrapping_add(1);
            let global_turn =
                tick % GLOBAL_QUEUE_EVERY == 0 && self.has_token() && !s.injector.is_empty();
            if !global_turn {
                if let Some(g) = runq::pop_inbox(&self.shared) {
                    self.schedtick.set(tick);
                    return g;
                }
            }
            let next_timer = s.timers.next();
            if next_timer != i64::MAX {
                let now = note_now(now_ns());
                if next_timer <= now {
                    s.timers.run_due(now);
                }
            } else if tick % STAMP_EVERY == 0 {
                note_now(now_ns()); // the stamp parks take (clock.rs `recent_ns`)
            }
            if !self.has_token() {
                if !s.try_acquire_token() {
                    self.sleep();
                    continue;
                }
                self.has_token.set(true);
            }
            if s.active.load(Ordering::Relaxed) > s.maxprocs.load(Ordering::Relaxed)
                && self.shrink()
            {
                continue;
            }
            let tick = self.schedtick.get().wrapping_add(1);
            self.schedtick.set(tick);
            if let Some(g) = runq::find_local(self, tick) {
                self.reset_spinning(g);
                return g;
            }
            // Ready fds, without blocking (poll.rs step 3): what they wake lands in our queues.
            if super::poll::poll_idle() {
                continue;
            }
            if let Some(g) = self.spin() {
                self.reset_spinning(g);
                return g;
            }
            self.sleep();
        }
    }

    /// Sleeps until woken (idle.rs), then notes the clock: the stamps taken next (parks,
    /// `run_start`) must not be as old as the sleep.
    fn sleep(&self) {
        idle::sleep(self);
        note_now(now_ns());
    }

    /// GOMAXPROCS went down: give up the token if still too many are held.
    fn shrink(&self) -> bool {
        let s = sched();
        let mut a = s.active.load(Ordering::Relaxed);
        while a > s.maxprocs.load(Ordering::Relaxed) {
            // A token given up, as `release_token`. SeqCst: pairs with `wakep`'s load of
            // `active` (sched/idle.rs's step 2).
            match s
                .active
                .compare_exchange(a, a - 1, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.has_token.set(false);
                    if self.spinning.replace(false) {
                        // SeqCst: pairs with `wakep`'s load of `nmspinning`.
                        s.nmspinning.fetch_sub(1, Ordering::SeqCst);
                    }
                    runq::drain_to_global(self);
                    return true;
                }
                Err(now) => a = now,
            }
        }
        false
    }

    /// Looks for work on other workers for up to SPIN_NS, unless enough workers spin already
    /// (`policy::enough_spinners`).
    fn spin(&self) -> Option<GPtr> {
        let s = sched();
        if !self.spinning.get() {
            let spinners = s.nmspinning.load(Ordering::Relaxed);
            let busy = s.active.load(Ordering::Relaxed);
            if enough_spinners(spinners, busy) {
                let stolen = runq::steal_pass(self, None);
                if stolen.is_none() && self.hosts_pinned.get() {
                    return self.watch_inbox();
                }
                return stolen;
            }
            self.spinning.set(true);
            // SeqCst: pairs with `wakep`'s load of `nmspinning`: a waker that sees us spinning
            // starts no one, and we find its goroutine in the passes below.
            s.nmspinning.fetch_add(1, Ordering::SeqCst);
        }
        let start = now_ns();
        let mut ticks = Vec::new();
        runq::snapshot_ticks(&mut ticks);
        let mut snap_at = start;
        let mut polled_at = start;
        loop {
            if let Some(g) = runq::pop_inbox(&self.shared) {
                return Some(g);
            }
            // A victim that has not scheduled for RUNNEXT_GRACE_NS is stuck in one goroutine:
            // its run-next goroutine may be taken. Sooner would break up pairs that run best
            // on one worker (see RUNNEXT_GRACE_NS; Go's runqsteal waits 3 µs likewise).
            let now = now_ns();
            let judge = now - snap_at >= RUNNEXT_GRACE_NS;
            if let Some(g) = runq::steal_pass(self, judge.then_some(&ticks[..])) {
                return Some(g);
            }
            if judge {
                runq::snapshot_ticks(&mut ticks);
                snap_at = now;
            }
            if let Some(g) = runq::take_runnext(&self.shared) {
                return Some(g);
            }
            if now - polled_at >= super::poll::SPIN_POLL_NS {
                polled_at = now;
                if super::poll::poll_idle() {
                    if let Some(g) = runq::find_local(self, 1) {
                        return Some(g);
                    }
                }
            }
            if now - start > SPIN_NS || s.timers.next() <= now {
                return None;
            }
            for _ in 0..SPIN_PAUSES {
                std::hint::spin_loop();
            }
        }
    }

    /// Looks at this worker's inbox alone for up to SPIN_NS. For a worker that hosts pinned
    /// goroutines when others already spin: they cannot run its goroutines, which come back
    /// within microseconds in the usual case (a Python goroutine answering the main thread:
    /// asleep, each answer cost a futex wake, benches/python W2 from the main thread). Not
    /// counted as spinning, and steals nothing, so the spinner limit still bounds the CPU
    /// spent looking for others' work.
    fn watch_inbox(&self) -> Option<GPtr> {
        let s = sched();
        let start = now_ns();
        loop {
            if let Some(g) = runq::pop_inbox(&self.shared) {
                return Some(g);
            }
            let now = now_ns();
            if now - start > SPIN_NS || s.timers.next() <= now {
                return None;
            }
            for _ in 0..SPIN_PAUSES {
                std::hint::spin_loop();
            }
        }
    }

    /// Stops spinning, having found `g`. The last spinner to find work starts another (Go's
    /// resetspinning: the goroutine found may soon make more), unless `g` is pinned and
    /// nothing else is queued: what a pinned goroutine makes ready is pinned too (Python's are
    /// all one worker's), so a new spinner could run none of it and only takes a CPU from the
    /// threads it talks to.
    /// (Python W2 from the main thread at GOMAXPROCS=2: the second worker, woken at every
    /// round trip, spun 70% of a CPU and the round trip took 29.9 µs, against 2.9 µs at
    /// GOMAXPROCS=1.)
    fn reset_spinning(&self, g: GPtr) {
        if self.spinning.replace(false) {
            let s = sched();
            // SeqCst: pairs with `wakep`'s load and CAS of `nmspinning`.
            if s.nmspinning.fetch_sub(1, Ordering::SeqCst) == 1
                && (!g.get().pinned || s.work_queued())
            {
                idle::wakep();
            }
        }
    }

    /// blocking_begin on this worker: hand the token to another worker at once.
    pub(crate) fn blocking_begin(&self) {
        if self.has_token()
            && self
                .shared
                .phase
                .compare_exchange(PH_RUNNING, PH_REVOKED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.has_token.set(false);
            let s = sched();
            s.release_token();
            if s.work_queued() {
                idle::wakep();
            }
        }
    }

    /// blocking_end: take a token back if one is free.
    pub(crate) fn blocking_end(&self) {
        let s = sched();
        if !self.has_token() && self.curg.get().is_some() && s.try_acquire_token() {
            self.has_token.set(true);
            self.shared.phase.store(PH_RUNNING, Ordering::Release);
        }
    }

    pub(crate) fn mark_idle(&self) {
        self.shared.phase.store(PH_IDLE, Ordering::Release);
    }
}

/// Adds one to a counter only this worker writes: a load and a store, no locked add.
pub(crate) fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}
