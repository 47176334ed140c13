//! Every live goroutine, for dumps, profiles and leak reports; and the JS tasks of the Node
//! layer, which are goroutines to the user but run no native code.
//!
//! Goroutines sit in intrusive lists (links in the record itself), spread over shards by id so
//! that a spawn and an exit on different workers rarely meet on one lock. A reader holds a
//! shard's lock while it reads that shard's records: a goroutine cannot finish (and free its
//! record) meanwhile, since `remove` takes the same lock first.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Frame, Func, RawFrame, Site};
use crate::goroutine::{WaitReason, G};

const SHARDS: usize = 32;

struct Shard {
    head: Mutex<usize>,
}

static SHARD: [Shard; SHARDS] = [const {
    Shard {
        head: Mutex::new(0),
    }
}; SHARDS];

/// What each worker thread shares with the counters and the CPU profiler: kept per thread,
/// so counting costs no shared cache line; summed when read.
pub(crate) struct WorkerSlot {
    switches: AtomicU64,
    parks: AtomicU64,
    /// The goroutine this worker runs now, or null. Cleared before the goroutine's record
    /// leaves the registry, so a reader holding every shard lock sees a live record or null.
    running: AtomicPtr<G>,
    /// This thread's CPU time when it resumed the goroutine it runs (CPU profile only).
    resumed_cpu: std::sync::atomic::AtomicI64,
}

static SLOTS: Mutex<Vec<&'static WorkerSlot>> = Mutex::new(Vec::new());

thread_local! {
    static SLOT: &'static WorkerSlot = {
        let s: &'static WorkerSlot = Box::leak(Box::new(WorkerSlot {
            switches: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            running: AtomicPtr::new(std::ptr::null_mut()),
            resumed_cpu: std::sync::atomic::AtomicI64::new(0),
        }));
        SLOTS.lock().push(s);
        s
    };
}

/// The calling worker's slot. Worker side only (never on a goroutine's stack: a thread-local
/// must not be cached across a switch).
#[inline(never)]
pub(crate) fn worker_slot() -> &'static WorkerSlot {
    SLOT.with(|s| *s)
}

impl WorkerSlot {
    /// Before a worker resumes `g`.
    pub(crate) fn enter(&self, g: *mut G) {
        self.running.store(g, Ordering::Relaxed);
        if super::cpu::on() {
            self.resumed_cpu
                .store(super::cpu::thread_cpu_ns(), Ordering::Relaxed);
        }
    }

    /// After `g` switched out (parked or not): counts the switch, and charges the CPU time it
    /// used to it while the CPU profile runs. Its record is still alive.
    pub(crate) fn leave(&self, g: &G, parked: bool) {
        if super::cpu::on() {
            let used = super::cpu::thread_cpu_ns() - self.resumed_cpu.load(Ordering::Relaxed);
            g.cpu_ns.fetch_add(used.max(0), Ordering::Relaxed);
        }
        if !self.running.load(Ordering::Relaxed).is_null() {
            self.running.store(std::ptr::null_mut(), Ordering::Release);
            // Only this thread writes its counters: a plain load and store, no locked add.
            self.switches
                .store(self.switches.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            if parked {
                self.parks
                    .store(self.parks.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            }
        }
    }
}

pub(crate) fn switches_and_parks() -> (u64, u64) {
    SLOTS.lock().iter().fold((0, 0), |(s, p), c| {
        (
            s + c.switches.load(Ordering::Relaxed),
            p + c.parks.load(Ordering::Relaxed),
        )
    })
}

fn shard(id: u64) -> &'static Shard {
    &SHARD[(id as usize) % SHARDS]
}

/// Adds a new record. Its links are the record's own (`G::reg`).
pub(crate) fn insert(g: *mut G) {
    // SAFETY: a fresh record nobody else sees yet; links only under the shard lock.
    let gr = unsafe { &*g };
    let mut head = shard(gr.id).head.lock();
    let old = *head as *mut G;
    gr.reg.next.set(old);
    gr.reg.prev.set(std::ptr::null_mut());
    if !old.is_null() {
        // SAFETY: records in the list are alive (removed before they are freed).
        unsafe { (*old).reg.prev.set(g) };
    }
    *head = g as usize;
}

/// Removes a record before it is freed.
pub(crate) fn remove(g: *mut G) {
    // SAFETY: the caller owns the finishing record.
    let gr = unsafe { &*g };
    let mut head = shard(gr.id).head.lock();
    let (p, n) = (gr.reg.prev.get(), gr.reg.next.get());
    if p.is_null() {
        *head = n as usize;
    } else {
        // SAFETY: neighbours are alive: we hold the lock that guards their removal.
        unsafe { (*p).reg.next.set(n) };
    }
    if !n.is_null() {
        // SAFETY: as above.
        unsafe { (*n).reg.prev.set(p) };
    }
}

/// Calls `f` on every live goroutine record, one shard lock at a time.
pub(crate) fn for_each_g(mut f: impl FnMut(&G)) {
    for s in &SHARD {
        let head = s.head.lock();
        let mut g = *head as *mut G;
        while !g.is_null() {
            // SAFETY: listed records are alive while their shard is locked.
            let gr = unsafe { &*g };
            f(gr);
            g = gr.reg.next.get();
        }
    }
}

/// A JS task of the Node layer, shown as a goroutine: registered while it runs.
pub struct Task {
    id: u64,
    info: Arc<TaskInfo>,
}

struct TaskInfo {
    func: Frame,
    site: Option<Frame>,
    wait: AtomicU8,
    since: std::sync::atomic::AtomicI64,
}

static TASKS: Mutex<BTreeMap<u64, Arc<TaskInfo>>> = Mutex::new(BTreeMap::new());

impl Task {
    /// Registers a task running `func`, started at `site`.
    pub fn register(func: Frame, site: Option<Frame>) -> Task {
        let id = crate::goroutine::next_id();
        let info = Arc::new(TaskInfo {
            func,
            site,
            wait: AtomicU8::new(WaitReason::None as u8),
            since: std::sync::atomic::AtomicI64::new(0),
        });
        TASKS.lock().insert(id, info.clone());
        Task { id, info }
    }

    /// Its goroutine id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Says what it waits on now (`WaitReason::None` when it runs).
    pub fn set_wait(&self, reason: WaitReason) {
        self.info.since.store(crate::now_ns(), Ordering::Relaxed);
        self.info.wait.store(reason as u8, Ordering::Relaxed);
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        TASKS.lock().remove(&self.id);
    }
}

/// A goroutine's state at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// On a worker now.
    Running,
    /// Queued.
    Runnable,
    /// Parked: why, and since when (CLOCK_MONOTONIC ns).
    Waiting(WaitReason, i64),
}

/// One goroutine, as dumps and profiles see it.
#[derive(Clone, Debug)]
pub struct GoroutineInfo {
    /// Its id.
    pub id: u64,
    /// Its name, if given.
    pub name: Option<String>,
    /// Running, runnable or waiting.
    pub state: State,
    /// The function it runs.
    pub func: Func,
    /// Where it was started.
    pub site: Site,
    /// Where it waits, innermost first, when it was recorded (GORO_TRACEBACK, or a host layer).
    pub stack: Vec<RawFrame>,
    /// A JS task of the Node layer (no native stack).
    pub task: bool,
}

/// Every goroutine now, by id. Records are read one shard at a time, so this is a consistent
/// view of each goroutine, not of all at one instant.
pub fn snapshot() -> Vec<GoroutineInfo> {
    let mut out = Vec::new();
    for_each_g(|g| out.push(g.info()));
    for (&id, t) in TASKS.lock().iter() {
        let reason = WaitReason::from_u8(t.wait.load(Ordering::Relaxed));
        out.push(GoroutineInfo {
            id,
            name: None,
            state: if reason == WaitReason::None {
                State::Running
            } else {
                State::Waiting(reason, t.since.load(Ordering::Relaxed))
            },
            func: Func::Named(t.func.clone()),
            site: t
                .site
                .as_ref()
                .map_or(Site::Unknown, |f| Site::Host(f.file.clone(), f.line)),
            stack: Vec::new(),
            task: true,
        });
    }
    out.sort_by_key(|g| g.id);
    out
}

/// A record's links in its shard's list. Touched only under that shard's lock.
pub(crate) struct Links {
    prev: std::cell::Cell<*mut G>,
    next: std::cell::Cell<*mut G>,
}

impl Links {
    pub(crate) fn new() -> Links {
        Links {
            prev: std::cell::Cell::new(std::ptr::null_mut()),
            next: std::cell::Cell::new(std::ptr::null_mut()),
        }
    }
}
