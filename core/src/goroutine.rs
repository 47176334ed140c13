//! The goroutine record (G), how one starts, parks, is made ready and ends.
//!
//! A G lives in the top bytes of its own stack slot (see `stack`): the record and the first
//! frames share the page a goroutine touches first, so a parked goroutine usually costs one
//! page, and spawning needs no allocation beyond the slot.
//!
//! Park and ready meet through `status` without a lock: see `handshake.rs`. No channel lock
//! is ever held across a switch, and a wake is never lost.

use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, AtomicU8, Ordering};

use crate::loom::AtomicU32;
use std::sync::Arc;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::sched::{self, MShared};
use crate::stack::{self, SlotStack};
use crate::trace::{self, Func, Site};
use crate::Error;

/// A C goroutine body or cleanup: `fn(arg)`.
pub type CFn = unsafe extern "C" fn(*mut c_void);

/// What a goroutine runs.
pub enum Body {
    /// A C function and its argument.
    C(CFn, *mut c_void),
    /// A Rust closure.
    Rust(Box<dyn FnOnce() + Send>),
}
// SAFETY: the C argument is the caller's to make thread-safe (as with pthread_create).
unsafe impl Send for Body {}

/// A deferred cleanup.
enum Defer {
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
    /// What it runs, for dumps and profiles (C bodies are named from their address).
    pub func: Func,
    /// Where it was started; `Unknown` takes the Rust caller of `spawn`.
    pub site: Site,
}

/// Why a goroutine is parked (shown in dumps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WaitReason {
    /// Not waiting.
    None = 0,
    /// `chan receive`
    ChanRecv,
    /// `chan send`
    ChanSend,
    /// `select`
    Select,
    /// `select (no cases)`
    SelectNoCases,
    /// `sleep`
    Sleep,
    /// `WaitGroup.Wait`
    WaitGroup,
    /// `sync.Mutex.Lock`
    Mutex,
    /// `pool submit`
    PoolSubmit,
    /// `goro_run`
    Run,
}

impl WaitReason {
    /// The reason stored as a byte in a record (None for a byte no reason has).
    pub fn from_u8(v: u8) -> WaitReason {
        if v <= WaitReason::Run as u8 {
            // SAFETY: repr(u8), and the variants are numbered 0..=Run without gaps.
            unsafe { std::mem::transmute::<u8, WaitReason>(v) }
        } else {
            WaitReason::None
        }
    }

    /// As Go's dumps say it.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "running",
            WaitReason::ChanRecv => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::WaitGroup => "sync.WaitGroup.Wait",
            WaitReason::Mutex => "sync.Mutex.Lock",
            WaitReason::PoolSubmit => "pool submit",
            WaitReason::Run => "goro_run",
        }
    }
}

use crate::handshake::{self, PARKED, PARKING, RUNNABLE, RUNNING};

/// What a goroutine tells its worker when it switches out.
pub(crate) enum Switch {
    Park,
    Yield,
    Exit,
}

type Coro = Coroutine<(), Switch, (), SlotStack>;

/// The goroutine record.
pub struct G {
    /// Unique, from 1 up.
    pub id: u64,
    /// See the module doc. Any thread.
    pub(crate) status: AtomicU32,
    /// Owner only: the worker running or resuming this G.
    coro: UnsafeCell<MaybeUninit<Coro>>,
    /// Owner only: set when the body starts.
    yielder: Cell<*const Yielder<(), Switch>>,
    /// Owner only: cleanups, last registered first.
    defers: UnsafeCell<Vec<Defer>>,
    /// Owner only: the waiter of this goroutine's last wait, reused when no one else holds it
    /// any more (saves an allocation per blocking operation).
    waiter: UnsafeCell<Option<Arc<crate::park::Waiter>>>,
    /// Shown in dumps.
    pub name: Option<Box<str>>,
    /// The worker this G is pinned to (set on first run when pinned).
    pub(crate) pinned_m: AtomicPtr<MShared>,
    pub(crate) pinned: bool,
    /// See `SpawnOpts::no_preempt`.
    pub(crate) no_preempt: bool,
    /// For dumps: why and since when it waits.
    pub(crate) wait_reason: AtomicU8,
    pub(crate) wait_since: AtomicI64,
    /// For dumps and profiles: what it runs and where it was started.
    pub(crate) func: Func,
    pub(crate) site: Site,
    /// `func` as a number the CPU profiler can read without touching this record.
    pub(crate) func_key: usize,
    /// Where it waits (see `trace::block`): recorded only when tracebacks are on.
    /// Allocated on first use, so a record stays small when nobody looks.
    pub(crate) wait_stack: std::sync::OnceLock<Box<trace::block::WaitStack>>,
}

/// A pointer to a live goroutine record. Whoever holds one must know the G is alive: the G is
/// parked on something that has not woken it yet, or sits in a run queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GPtr(pub(crate) NonNull<G>);
// SAFETY: the record is shared between workers by design; its fields say who may touch them.
unsafe impl Send for GPtr {}
// SAFETY: as above.
unsafe impl Sync for GPtr {}

impl GPtr {
    pub(crate) fn get(&self) -> &G {
        // SAFETY: see the type's doc: holders only keep pointers to live records.
        unsafe { self.0.as_ref() }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static LIVE: AtomicI64 = AtomicI64::new(0);

/// A fresh goroutine id (JS tasks of the Node layer take theirs here too).
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Goroutines alive now.
pub fn num_goroutine() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a goroutine.
#[track_caller]
pub fn spawn(body: Body, opts: &SpawnOpts) -> Result<u64, Error> {
    spawn_inner(body, opts, None)
}

/// `spawn`, with a first cleanup already registered.
#[track_caller]
fn spawn_inner(body: Body, opts: &SpawnOpts, first_defer: Option<Defer>) -> Result<u64, Error> {
    sched::init();
    let header = std::mem::size_of::<G>();
    let slot = stack::alloc(opts.stack_size, header).map_err(|e| match e {
        stack::StackError::BadSize => Error::Invalid,
        stack::StackError::NoMemory => Error::NoMemory,
    })?;
    let id = next_id();
    let gp = slot.header() as *mut G;
    // Looked up only when asked for: current_m is a thread-local read, not free on a spawn.
    let home = match opts.pinned && opts.pin_to_spawner {
        true => {
            sched::current_m().map_or(std::ptr::null_mut(), |m| Arc::as_ptr(&m.shared).cast_mut())
        }
        false => std::ptr::null_mut(),
    };
    let func = match (&body, &opts.func) {
        (Body::C(f, _), Func::Unknown) => Func::Addr(*f as usize),
        (_, f) => f.clone(),
    };
    let func_key = trace::func_key(&func);
    // SAFETY: the slot header is at least size_of::<G>() bytes, 64-aligned, and unused.
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
            no_preempt: opts.no_preempt,
            wait_reason: AtomicU8::new(0),
            wait_since: AtomicI64::new(0),
            func,
            func_key,
            site: match &opts.site {
                Site::Unknown => Site::Rust(std::panic::Location::caller()),
                s => s.clone(),
            },
            wait_stack: std::sync::OnceLock::new(),
        });
    }
    // SAFETY: just written.
    let g = GPtr(unsafe { NonNull::new_unchecked(gp) });
    slot.set_owner(gp.cast());
    let coro = Coroutine::with_stack(slot, move |y: &Yielder<(), Switch>, ()| {
        run_body(g, y, body)
    });
    // SAFETY: nobody else has seen this G yet.
    unsafe { (*g.get().coro.get()).write(coro) };
    LIVE.fetch_add(1, Ordering::Relaxed);
    sched::ready_new(g);
    sched::preempt_point();
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

/// Prints a panic that escaped a goroutine; the runtime goes on.
pub(crate) fn report_panic(id: u64, p: &Box<dyn std::any::Any + Send>) {
    eprintln!("goro: goroutine {id} panicked: {}", panic_message(p));
}

/// The message of a panic payload (a `&str` or `String`), for reports.
pub fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

fn run_defers(g: GPtr) {
    loop {
        // SAFETY: owner only: we are this goroutine. The borrow ends before the call, so a
        // cleanup may itself call goro_defer or goro_exit.
        let d = unsafe { (*g.get().defers.get()).pop() };
        match d {
            None => break,
            // SAFETY: registered by goro_defer, whose caller vouched for it.
            Some(Defer::C(f, arg)) => unsafe { f(arg) },
            Some(Defer::Rust(f)) => {
                if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                    report_panic(g.get().id, &p);
                }
            }
        }
    }
}

/// The goroutine running on this thread, if any. Never inlined: a goroutine may move to
/// another thread at any park, and an inlined thread-local read could be cached across it.
#[inline(never)]
pub fn current() -> Option<GPtr> {
    sched::current_g()
}

/// The id of the running goroutine, 0 on a plain thread.
pub fn current_id() -> u64 {
    current().map_or(0, |g| g.get().id)
}

/// Registers a C cleanup for the running goroutine.
pub fn defer_c(f: CFn, arg: *mut c_void) -> Result<(), Error> {
    let g = current().ok_or(Error::Invalid)?;
    // SAFETY: owner only: we are this goroutine.
    unsafe { (*g.get().defers.get()).push(Defer::C(f, arg)) };
    Ok(())
}

/// Registers a Rust cleanup for the running goroutine.
pub fn defer(f: impl FnOnce() + Send + 'static) -> Result<(), Error> {
    let g = current().ok_or(Error::Invalid)?;
    // SAFETY: owner only: we are this goroutine.
    unsafe { (*g.get().defers.get()).push(Defer::Rust(Box::new(f))) };
    Ok(())
}

/// Runs the deferred cleanups and ends the running goroutine; returns at once on a plain
/// thread. Frames above this call are abandoned without running their destructors, as a C
/// `longjmp` would: Rust callers should return instead.
pub fn exit() {
    let Some(g) = current() else { return };
    run_defers(g);
    switch_out(g, Switch::Exit);
    unreachable!("an exited goroutine was resumed");
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

fn switch_out(g: GPtr, why: Switch) {
    let y = g.get().yielder.get();
    // SAFETY: the yielder was set when the body started and lives on this goroutine's stack
    // for as long as the body runs; we are that body.
    unsafe { (*y).suspend(why) };
}

/// Makes a parked goroutine runnable (see the module doc). Called once per claimed Waiter.
pub(crate) fn ready(g: GPtr) {
    if handshake::ready(&g.get().status) {
        sched::ready_parked(g);
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
    // SAFETY: owner only: a G is resumed by one worker at a time (it came off a run queue).
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

fn finish(g: GPtr) {
    let gp = g.0.as_ptr();
    // SAFETY: the coroutine is done (returned or reset); we own the record from here on.
    let coro = unsafe { (*(*gp).coro.get()).assume_init_read() };
    let slot = coro.into_stack();
    // SAFETY: the record is still alive (dropped just below).
    let gr = unsafe { &*gp };
    trace::registry::retire(gr);
    // SAFETY: drop the record's own fields (name, defers) before the slot is reused.
    unsafe { std::ptr::drop_in_place(gp) };
    slot.free();
    LIVE.fetch_sub(1, Ordering::Relaxed);
}

/// Describes a goroutine for the stack overflow report (async-signal-safe: no allocation).
pub(crate) fn describe_for_signal(g: *mut u8, buf: &mut [u8]) -> usize {
    // SAFETY: the overflow handler passes the record of the goroutine running on the faulting
    // thread, which is alive.
    let g = unsafe { &*(g as *const G) };
    let mut w = SliceWriter { buf, len: 0 };
    use std::fmt::Write;
    let _ = match &g.name {
        Some(n) => write!(w, "goroutine {} \"{}\"", g.id, n),
        None => write!(w, "goroutine {}", g.id),
    };
    w.len
}

struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl std::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl G {
    /// What dumps and profiles show of this goroutine. Any thread, while the record is kept
    /// alive (trace::registry's reader handshake, or a queued entry under its channel lock).
    pub(crate) fn info(&self) -> trace::registry::GoroutineInfo {
        use trace::registry::State;
        let reason = WaitReason::from_u8(self.wait_reason.load(Ordering::Relaxed));
        let state = match self.status.load(Ordering::Acquire) {
            PARKED | PARKING if reason != WaitReason::None => {
                State::Waiting(reason, self.wait_since.load(Ordering::Relaxed))
            }
            RUNNING | PARKING => State::Running,
            _ => State::Runnable,
        };
        trace::registry::GoroutineInfo {
            id: self.id,
            name: self.name.as_deref().map(Into::into),
            state,
            func: self.func.clone(),
            site: self.site.clone(),
            stack: self.wait_stack.get().map_or_else(Vec::new, |w| w.read()),
            task: false,
        }
    }

    /// A fresh waiter for this goroutine: the cached one when nobody else still holds it (a
    /// waker finishing its wake, a stale select entry), else a new one. Owner only.
    pub(crate) fn cached_waiter(
        &self,
        make: impl FnOnce() -> Arc<crate::park::Waiter>,
    ) -> Arc<crate::park::Waiter> {
        // SAFETY: owner only: only this goroutine touches its cache.
        let cache = unsafe { &mut *self.waiter.get() };
        if let Some(w) = cache.as_mut().and_then(Arc::get_mut) {
            // Arc::get_mut saw us as the only holder (with Acquire: every other holder's use
            // happened before), so resetting it is safe.
            w.reset();
        } else {
            *cache = Some(make());
        }
        cache.as_ref().expect("just filled").clone()
    }

    /// Whether this goroutine must stay on one OS thread.
    pub(crate) fn pinned_to(&self) -> Option<&MShared> {
        let p = self.pinned_m.load(Ordering::Acquire);
        // SAFETY: workers are never freed.
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

/// Runs `f` as a goroutine and blocks the calling thread (or parks the calling goroutine)
/// until it has ended, `exit` included.
#[track_caller]
pub fn run(body: Body, opts: &SpawnOpts) -> Result<(), Error> {
    let wg = Arc::new(crate::sync::WaitGroup::new());
    wg.add(1)?;
    let done = wg.clone();
    // The first cleanup runs last: after the body and its own cleanups, even on exit. Nothing
    // wraps the body, so an exit abandons no frame of ours that owns anything.
    let on_exit = Defer::Rust(Box::new(move || {
        let _ = done.done();
    }));
    spawn_inner(body, opts, Some(on_exit))?;
    wg.wait_reason(WaitReason::Run, None).map(|_| ())
}
