//! Every live goroutine, for dumps, profiles and leak reports; and the JS tasks of the Node
//! layer, which are goroutines to the user but run no native code.
//!
//! Goroutine records are walked where they live, in their stack slots, under the reader
//! handshake of `goroutine/readers.rs` (`for_each_g`); this file turns each into a
//! `GoroutineInfo`. JS tasks are listed here while they run.
//!
//! Rejected: a registry of records kept by spawn and exit (a lock or a list update on every
//! spawn, where walking the slots costs the spawn nothing).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Frame, Func, RawFrame, Site};
use crate::goroutine::{for_each_g, WaitReason, G};
use crate::handshake::{PARKED, PARKING, RUNNING};

/// What dumps and profiles show of a goroutine. Any thread, while the record is kept alive
/// (`for_each_g`'s reader handshake, or a queued entry under its channel lock).
pub(crate) fn info(g: &G) -> GoroutineInfo {
    let reason = WaitReason::from_u8(g.wait_reason.load(Ordering::Relaxed));
    let state = match g.status.load(Ordering::Acquire) {
        PARKED | PARKING if reason != WaitReason::None => {
            State::Waiting(reason, g.wait_since.load(Ordering::Relaxed))
        }
        RUNNING | PARKING => State::Running,
        _ => State::Runnable,
    };
    GoroutineInfo {
        id: g.id,
        name: g.name.as_deref().map(Into::into),
        state,
        func: g.func.clone(),
        site: g.site.clone(),
        stack: super::block::wait_stack_of(g),
        task: false,
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
    for_each_g(|g| out.push(info(g)));
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
