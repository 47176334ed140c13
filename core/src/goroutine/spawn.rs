//! Spawn: making a goroutine (its slot, its record, its coroutine) and handing it to the
//! scheduler; and `run`, spawn-and-wait.
//!
//! Spawning is where the runtime starts: the first spawn calls `sched::init`, which starts
//! sysmon and installs the scheduler's table (`scheduler.rs`). That call is the one place the
//! goroutine layer names a layer above it, and the layering test (core/tests/layering.rs)
//! allows exactly it: a runtime that starts on first use must be started by whatever is used
//! first, and `goroutine::spawn` is public (C's goro_go, Python, the Pool call it directly).
//!
//! Rejected: an explicit init call required before the first spawn (every entry point of C,
//! Python, Node and the Pool would have to remember it, and one that forgot would hang), and
//! starting the runtime from a load-time constructor (a static library's linker may drop the
//! object holding it, and every process that merely links goro would start its threads).

use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use corosensei::{Coroutine, Yielder};

use super::exit::run_defers;
use super::origin::{func_key, Func, Site};
use super::panic::report_panic;
use super::record::{next_id, Defer, Switch, LIVE};
use super::scheduler::started;
use super::{Body, GPtr, SpawnOpts, G};
use crate::handshake::RUNNABLE;
use crate::loom::{AtomicI64, AtomicPtr, AtomicU32, AtomicU8};
use crate::{stack, Error};

/// Starts a goroutine.
#[track_caller]
pub fn spawn(body: Body, opts: &SpawnOpts) -> Result<u64, Error> {
    let id = spawn_inner(body, opts, None)?;
    (started().preempt_point)();
    Ok(id)
}

/// `spawn`, with a first cleanup already registered, and no preemption point: `run` must not
/// switch between handing its Waiter to the new goroutine and waiting on it (a yield would
/// overwrite a wake that came meanwhile: `handshake.rs` counts on the waiter parking next).
#[track_caller]
fn spawn_inner(body: Body, opts: &SpawnOpts, first_defer: Option<Defer>) -> Result<u64, Error> {
    // Starting the runtime: the one upward call (module doc).
    crate::sched::init();
    let sched = started();
    let header = std::mem::size_of::<G>();
    let group = opts.pin_group as usize;
    if group >= super::record::PIN_GROUPS {
        return Err(Error::Invalid);
    }
    let slot = stack::alloc(opts.stack_size, header).map_err(|e| match e {
        stack::StackError::BadSize => Error::Invalid,
        stack::StackError::NoMemory => Error::NoMemory,
    })?;
    let id = next_id();
    let gp = slot.header() as *mut G;
    // Looked up only when asked for: the current worker is a thread-local read, not free on
    // a spawn.
    let mut home = match opts.pinned && opts.pin_to_spawner {
        true => (sched.current_worker)(),
        false => std::ptr::null_mut(),
    };
    if opts.pinned && home.is_null() && group != 0 {
        home = super::record::GROUP_HOME[group].load(Ordering::Acquire);
    }
    let func = match (&body, &opts.func) {
        (Body::C(f, _), Func::Unknown) => Func::Addr(*f as usize),
        (_, f) => f.clone(),
    };
    let func_key = func_key(&func);
    // SAFETY: the slot header is at least size_of::<G>() bytes (we asked `stack::alloc` for
    // that much), 64-aligned, and unused: the slot was just handed to us.
    unsafe {
        gp.write(G {
            id,
            status: AtomicU32::new(RUNNABLE),
            coro: UnsafeCell::new(MaybeUninit::uninit()),
            yielder: Cell::new(std::ptr::null()),
            defers: UnsafeCell::new(first_defer.into_iter().collect()),
            waiter: UnsafeCell::new(None),
            name: opts.name.as_deref().map(Into::into),
            pinned_m: AtomicPtr::new(home),
            pinned: opts.pinned,
            pin_group: opts.pin_group,
            no_preempt: opts.no_preempt,
            wait_reason: AtomicU8::new(0),
            wait_since: AtomicI64::new(0),
            func,
            func_key,
            site: match &opts.site {
                Site::Unknown => Site::Rust(std::panic::Location::caller()),
                s => s.clone(),
            },
            wait_stack: OnceLock::new(),
        });
    }
    // SAFETY: `gp` points into the slot (non-null) and the record was just written.
    let g = GPtr(unsafe { NonNull::new_unchecked(gp) });
    slot.set_owner(gp.cast());
    let coro = Coroutine::with_stack(slot, move |y: &Yielder<(), Switch>, ()| {
        run_body(g, y, body)
    });
    // SAFETY: nobody else has seen this G yet (it is queued only below), so we are its owner.
    unsafe { (*g.get().coro.get()).write(coro) };
    LIVE.fetch_add(1, Ordering::Relaxed);
    (sched.ready)(g, false);
    Ok(id)
}

fn run_body(g: GPtr, y: &Yielder<(), Switch>, body: Body) {
    g.get().yielder.set(y);
    match body {
        // SAFETY: the caller of goro_go promised `f(arg)` is fine to call on any thread.
        Body::C(f, arg) => unsafe { f(arg) },
        Body::Rust(f) => {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                report_panic(g.get().id, &p);
            }
        }
    }
    run_defers(g);
}

/// `spawn`, with a first cleanup already registered: it runs last, after the body and its
/// own cleanups, even on `exit` (wait/block.rs `run` waits on it).
#[track_caller]
pub(crate) fn spawn_then(
    body: Body,
    opts: &SpawnOpts,
    last: Box<dyn FnOnce() + Send>,
) -> Result<u64, Error> {
    spawn_inner(body, opts, Some(Defer::Rust(last)))
}
