//! Every live goroutine, for dumps, profiles and leak reports; and the JS tasks of the Node
//! layer, which are goroutines to the user but run no native code.
//!
//! Goroutines are not listed anywhere when they start: every record sits at the top of its
//! stack slot, and the stack allocator keeps each slot's owner, so a reader walks the slots
//! (`stack::for_each_owner`). A spawn pays nothing for it; an exit pays one store and one
//! load (`retire`). What keeps a record alive while it is read is a handshake on two words,
//! as Dekker's: a reader counts itself in `READERS` and then reads the record's status; an
//! exiting goroutine stores DEAD into its status and then reads `READERS`, waiting while it is
//! not zero. With both sides sequentially consistent, either the reader sees DEAD (and skips
//! the record) or the exiting side sees the reader (and waits for it before freeing).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Frame, Func, RawFrame, Site};
use crate::goroutine::{WaitReason, G};

/// A goroutine's status once it has finished (beside handshake.rs's states).
pub(crate) const DEAD: u32 = 0xDEAD;

static READERS: AtomicUsize = AtomicUsize::new(0);

/// Called by a finishing goroutine's worker before its record is dropped and its slot freed.
pub(crate) fn retire(g: &G) {
    g.status.store(DEAD, Ordering::SeqCst);
    while READERS.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
}

/// Calls `f` on every live goroutine record. Records that finish meanwhile wait until this
/// returns: keep `f` short.
pub(crate) fn for_each_g(mut f: impl FnMut(&G)) {
    READERS.fetch_add(1, Ordering::SeqCst);
    crate::stack::for_each_owner(|p| {
        // SAFETY: a slot's owner is set after its record is written and cleared before the
        // slot is reused; the record cannot be freed while READERS counts us, unless it was
        // already DEAD (module doc), which we check first.
        let g = unsafe { &*(p as *const G) };
        if g.status.load(Ordering::SeqCst) != DEAD {
            f(g);
        }
    });
    READERS.fetch_sub(1, Ordering::SeqCst);
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
