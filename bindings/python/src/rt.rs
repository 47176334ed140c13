//! How Python code waits on goro, and how the interpreter's thread states follow goroutines.
//!
//! Three kinds of caller reach a blocking call (channel, select, WaitGroup, Mutex, sleep):
//! - a Python goroutine: it holds its own PyThreadState on its (pinned) worker thread. It
//!   detaches (PyEval_SaveThread) before it parks, so the GIL is never held while parked and
//!   no `Python<'py>` token lives across a switch; its worker meanwhile runs other goroutines,
//!   each with its own thread state;
//! - the main thread: it blocks with the GIL released, registered once, and wakes every `NAP`
//!   to run the signal handlers (core `Waiter::wait_interruptible`), so Ctrl-C raises
//!   KeyboardInterrupt promptly; a handler that raises ends the wait as interrupted, which
//!   consumes and delivers nothing (every goro wait is all-or-nothing);
//! - any other Python thread: it blocks with the GIL released.
//!
//! Every call (`blocking`) runs the core operation once, holding the GIL: an operation that can
//! complete at once costs no GIL hand-off (what makes a busy channel fast). Only when it must
//! wait does the core call our block hook, which gives the core its caller's Python frames when
//! a profile or traceback wants them (trace.rs `WaitFrames`; off, one relaxed load), so dumps
//! and block/mutex profiles show the Python code that waits, and releases the GIL around the
//! wait. Holding the GIL while the core takes its own locks is safe: no core lock holder ever
//! waits for the GIL (wakes and callbacks never enter Python).
//!
//! The GIL-state key (DESIGN.md, pitfall 1). CPython 3.10-3.11 remember "this OS thread's thread
//! state" in a TSS key that only PyGILState_* read. Many goroutines share one worker thread, so
//! the key must name the goroutine that runs now, or PyGILState_Ensure (ctypes callbacks,
//! Cython `with gil`) would attach another goroutine's state, and `-X dev` (PyGILState_Check in
//! the debug allocator) aborts. There is no API to set it, so at start-up we find the pthread
//! key whose value on the main thread is the main thread state, check that writing it is what
//! PyGILState_GetThisThreadState reads back, and from then on point it at a goroutine's state
//! when it attaches and clear it when it detaches. CPython 3.12+ binds the key itself whenever a
//! thread state attaches (tstate_activate), so there we leave it alone.
//!
//! Taking the GIL back. A wait ends with PyEval_RestoreThread, and if another thread holds the
//! GIL then, CPython puts us to sleep on its condition variable: a futex wake (~35 µs here)
//! when the holder lets go. In a ping-pong between the main thread and a goroutine that is
//! every hand-off, since the waker still holds the GIL until it parks itself. So every
//! release and take that goes through this file keeps a hint, `GIL_FREE`, and a wait that
//! ends looks at it for a while first before it calls RestoreThread. Only a hint: a thread
//! that takes the GIL elsewhere (CPython's eval loop, a plain Python thread) does not clear
//! it, and then RestoreThread just sleeps as before.
//!
//! How long to look is learnt (core wait/block.rs `AdaptiveSpin`, 50 µs to 2 ms): a waker
//! often goes on holding the GIL for a whole batch (a producer filling a 1024-slot channel,
//! a pool worker draining its queue: 100-700 µs), and a fixed 50 µs look missed those and
//! slept, so each batch paid a futex wake with the GIL idle meanwhile (W8 from the main
//! thread: 733 futex sleeps for 200,000 jobs against 226 now). Spins that fail shrink it
//! back, so a holder that computes for long costs a few fruitless spins, not one per wake.
//! Rejected: reading CPython's own GIL word (`_PyRuntime.ceval.gil`: private, its layout
//! moves between versions); a longer fixed spin (the CPU burnt on every wait whose holder
//! computes).
//!
//! Shutdown. `shutdown()` runs from an atexit hook, before finalization: it raises `SHUTDOWN`
//! and waits (GIL released, bounded) until no goroutine holds or is acquiring a thread state
//! (`LIVE`). A goroutine that wants to attach increments `LIVE`, then reads `SHUTDOWN` (both
//! SeqCst, a Dekker pair with the hook's store-then-load): either it sees the flag and is
//! abandoned (parked for good, its Python objects leaked, nothing touched), or the hook sees it
//! and waits for it to detach. Abandoned goroutines are never resumed or dropped (pitfall 3).

use std::ffi::c_void;
use std::sync::atomic::{
    AtomicBool, AtomicIsize, AtomicPtr, AtomicU64, Ordering::Relaxed, Ordering::SeqCst,
};
use std::sync::OnceLock;

use goro_core::wait::block::{AdaptiveSpin, GIL_SPIN_MAX_NS};
use goro_core::wait::interruptible::{with_block_hook, Blocking};
use goro_core::{Deadline, Error, Outcome};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::ffi;
use pyo3::prelude::*;

/// How long the main thread blocks before it looks for signals (Ctrl-C).
const NAP_NS: i64 = 20_000_000;

static INTERP: AtomicPtr<ffi::PyInterpreterState> = AtomicPtr::new(std::ptr::null_mut());
static MAIN_THREAD: AtomicU64 = AtomicU64::new(0);
/// The pthread key behind CPython's GIL-state TSS key (3.10-3.11 only; see the module doc).
static TSS_KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();
/// Set once by `shutdown`; never cleared.
static SHUTDOWN: AtomicBool = AtomicBool::new(false);
/// Goroutines holding, or about to take, their thread state.
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// PyUnstable_ThreadState_SetStackProtection (3.14+), looked up at run time.
static SET_STACK: OnceLock<Option<SetStackFn>> = OnceLock::new();
type SetStackFn = unsafe extern "C" fn(*mut ffi::PyThreadState, *mut c_void, usize) -> i32;

extern "C" {
    // Not in the limited API, but in every CPython since 3.9 with this signature.
    fn PyThreadState_DeleteCurrent();
}

/// Called once at import, on the importing thread, holding the GIL.
pub fn init(py: Python<'_>) {
    // SAFETY: we hold the GIL.
    unsafe { INTERP.store(ffi::PyInterpreterState_Get(), SeqCst) };
    let v = py.version_info();
    // GORO_PY_NO_GILSTATE_FIX: leave the key alone (only to show, in a test, what breaks).
    let fix = (v.major, v.minor) < (3, 12) && std::env::var_os("GORO_PY_NO_GILSTATE_FIX").is_none();
    TSS_KEY.get_or_init(|| if fix { find_tss_key() } else { None });
    let reuse =
        (v.major, v.minor) < (3, 12) && std::env::var_os("GORO_PY_NO_TSTATE_REUSE").is_none();
    REUSE_TSTATE.store(reuse, SeqCst);
    SET_STACK.get_or_init(|| {
        // SAFETY: dlsym on the global namespace with a NUL-terminated name.
        let p = unsafe {
            libc::dlsym(
                libc::RTLD_DEFAULT,
                c"PyUnstable_ThreadState_SetStackProtection".as_ptr(),
            )
        };
        // SAFETY: the symbol, when present, has this signature (CPython 3.14).
        (!p.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, SetStackFn>(p) })
    });
}

/// Records the main thread (the one that imported us is not necessarily it).
pub fn set_main_thread(ident: u64) {
    MAIN_THREAD.store(ident, SeqCst);
}

fn this_thread() -> u64 {
    // SAFETY: always safe.
    unsafe { libc::pthread_self() as u64 }
}

/// Finds the pthread key whose value on this thread is this thread's state (see module doc).
fn find_tss_key() -> Option<libc::pthread_key_t> {
    // SAFETY: GIL held (init); pthread_getspecific of a key never created returns NULL in glibc.
    unsafe {
        let ts = ffi::PyGILState_GetThisThreadState();
        if ts.is_null() || ts != ffi::PyThreadState_Get() {
            return None;
        }
        let mut found = None;
        for k in 0..1024 as libc::pthread_key_t {
            if libc::pthread_getspecific(k) == ts.cast() {
                if found.is_some() {
                    return None; // ambiguous: do not guess
                }
                found = Some(k);
            }
        }
        let k = found?;
        // Check that writing it is what CPython reads back, then put it back.
        let probe = std::ptr::NonNull::<ffi::PyThreadState>::dangling().as_ptr();
        libc::pthread_setspecific(k, probe.cast());
        let ok = ffi::PyGILState_GetThisThreadState() == probe;
        libc::pthread_setspecific(k, ts.cast());
        ok.then_some(k)
    }
}

/// Points the GIL-state key of this thread at `ts` (null clears it).
fn set_gilstate(ts: *mut ffi::PyThreadState) {
    if let Some(Some(k)) = TSS_KEY.get() {
        // SAFETY: a valid key; only this thread reads its own value.
        unsafe { libc::pthread_setspecific(*k, ts.cast()) };
    }
}

/// Whether the GIL-state key is managed here (for tests).
pub fn gilstate_managed() -> bool {
    matches!(TSS_KEY.get(), Some(Some(_)))
}

/// Whether the calling code runs in a goroutine.
pub fn in_goroutine() -> bool {
    goro_core::current_id() != 0
}

pub fn is_shutdown() -> bool {
    SHUTDOWN.load(SeqCst)
}

/// Parks this goroutine for good: the interpreter is going away and it must not come back.
fn abandon() -> ! {
    loop {
        // SAFETY: no cases, nothing to point at.
        let _ = unsafe { goro_core::select(&[], Deadline::Forever) };
    }
}

/// Blocks a plain thread for good (a daemon thread returning into a finalized interpreter).
fn abandon_thread() -> ! {
    loop {
        std::thread::park();
    }
}

/// Step 1 of attaching: counts us in, or abandons us if the interpreter is shutting down.
fn enter_live() {
    LIVE.fetch_add(1, SeqCst);
    if SHUTDOWN.load(SeqCst) {
        LIVE.fetch_sub(1, SeqCst);
        abandon();
    }
}

/// Set just after this file releases the GIL, cleared just after it takes it (module doc:
/// "Taking the GIL back").
static GIL_FREE: AtomicBool = AtomicBool::new(false);

fn gil_released() {
    GIL_FREE.store(true, Relaxed);
}

/// How long `gil_await` spins: as long as recent holders needed, within bounds (core
/// wait/block.rs `AdaptiveSpin`).
static GIL_SPIN: AdaptiveSpin = AdaptiveSpin::new(GIL_SPIN_MAX_NS);

/// Just before PyEval_RestoreThread: give a holder that is about to let go the time to.
fn gil_await() {
    GIL_SPIN.spin_until(|| GIL_FREE.load(Relaxed));
}

fn gil_taken() {
    GIL_FREE.store(false, Relaxed);
}

/// Runs `f` with the GIL released. In a goroutine, the GIL-state key and the shutdown gate
/// follow the detach and the re-attach (see the module doc).
pub fn detached<R: Send>(py: Python<'_>, f: impl FnOnce() -> R + Send) -> R {
    let r = if in_goroutine() {
        // SAFETY: we hold the GIL, so there is a current thread state: this goroutine's.
        let ts = unsafe { ffi::PyThreadState_Get() } as usize;
        py.detach(move || {
            gil_released();
            set_gilstate(std::ptr::null_mut());
            LIVE.fetch_sub(1, SeqCst);
            let r = f();
            // The switch back in: count us in again (or be abandoned) before
            // PyEval_RestoreThread, which runs when `detach` returns.
            enter_live();
            set_gilstate(ts as *mut ffi::PyThreadState);
            gil_await();
            r
        })
    } else {
        let main = this_thread() == MAIN_THREAD.load(SeqCst);
        py.detach(move || {
            gil_released();
            let r = f();
            // After the atexit hook only daemon threads are left (the others were joined):
            // CPython would end them at their next GIL take; park them instead.
            if !main && SHUTDOWN.load(SeqCst) {
                abandon_thread();
            }
            gil_await();
            r
        })
    };
    gil_taken();
    r
}

/// Runs a goro operation `op` for Python (see the module doc): with the GIL held, so that an
/// operation that completes at once costs no hand-off. If it must wait, the core calls our
/// block hook (core wait/interruptible.rs) once it is registered, and the hook waits with the
/// GIL released: a goroutine or thread plainly, the main thread in naps with the signal
/// handlers run between them. Returns what `op` returned, or the handlers' exception (Ctrl-C)
/// when it ended the wait (`op` then returned Interrupted, with anything unsent given back:
/// dropped here, attached).
pub fn blocking<R>(py: Python<'_>, op: impl FnOnce() -> R) -> PyResult<R> {
    blocking_holding(py, None, op)
}

/// As `blocking`, and while it waits, the leak report counts `held` = (builtin, its argument
/// tuple, whether the wait holds a clone of each case's channel) as this goroutine's own
/// (reach.rs `TempGuard`: select's case tuple, and the typed Select's channel clones). Only a
/// call that must wait pays for it.
pub fn blocking_holding<R>(
    py: Python<'_>,
    held: Option<(*mut ffi::PyObject, &Bound<'_, PyAny>, bool)>,
    op: impl FnOnce() -> R,
) -> PyResult<R> {
    let mut raised: Option<PyErr> = None;
    let mut interrupted = false;
    let r = {
        let mut hook = |b: &Blocking<'_>| -> Outcome {
            // It must wait: profiles and tracebacks want the Python frames (captured with the
            // GIL, before it is released); off, this is one relaxed load.
            let _frames = crate::trace::WaitFrames::give(py);
            // Registered attached, dropped attached (after `detached` takes the GIL back).
            let _held = held.and_then(|(f, a, c)| crate::reach::TempGuard::hold(f, a, c));
            // Only a call that waits asks who is waiting (an operation that completes at once
            // pays for no thread-local read or pthread_self).
            if b.is_goroutine() || this_thread() != MAIN_THREAD.load(SeqCst) {
                return detached(py, || b.wait());
            }
            let raised = &mut raised;
            let out = detached(py, || {
                b.wait_interruptible(NAP_NS, &mut || check_signals(raised))
            });
            interrupted = out == Outcome::Interrupted;
            out
        };
        with_block_hook(&mut hook, op)
    };
    match raised {
        None => Ok(r),
        Some(e) if interrupted => Err(e),
        Some(e) => {
            // The operation completed as the handler raised: keep its result, and a Ctrl-C
            // for the next bytecode (any other handler's exception is reported, not lost).
            if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                // SAFETY: attached; only sets CPython's "SIGINT arrived" flag.
                unsafe { ffi::PyErr_SetInterrupt() };
            } else {
                e.write_unraisable(py, None);
            }
            Ok(r)
        }
    }
}

/// Between the main thread's naps (GIL released): runs the signal handlers, true if one
/// raised (kept in `raised`).
fn check_signals(raised: &mut Option<PyErr>) -> bool {
    Python::attach(|py| {
        // SAFETY: attached, on the main thread, which runs the signal handlers.
        if unsafe { ffi::PyErr_CheckSignals() } != 0 {
            *raised = Some(PyErr::fetch(py));
            return true;
        }
        false
    })
}

/// Sleeps `ns` as goro does: parks a goroutine, blocks a thread (Ctrl-C-able on the main one).
pub fn sleep(py: Python<'_>, ns: i64) -> PyResult<()> {
    if ns <= 0 {
        if in_goroutine() {
            detached(py, goro_core::yield_now);
        }
        return Ok(());
    }
    let until = goro_core::now_ns().saturating_add(ns);
    blocking(py, || goro_core::wait::sleep_until(until))
}

/// The pin group of every Python goroutine (goro_core::SpawnOpts::pin_group).
const PY_PIN_GROUP: u8 = 1;

/// What a Python goroutine runs once its thread state is attached.
pub type PyBody = Box<dyn for<'py> FnOnce(Python<'py>) + Send>;

/// Default goroutine stack for Python goroutines: CPython frames are big (its own recursion
/// checks assume a thread-sized stack; 3.14+ is told the real bounds).
pub fn stack_size() -> usize {
    std::env::var("GORO_STACK_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256 * 1024)
}

/// Starts a Python goroutine running `body` with its own thread state, pinned to its worker.
/// `func` and `site` (what it runs, where it was started) show in dumps, profiles and leak
/// reports (trace.rs names them).
pub fn spawn(
    name: Option<String>,
    func: goro_core::trace::Func,
    site: goro_core::trace::Site,
    body: PyBody,
) -> Result<u64, Error> {
    let stack = stack_size();
    let opts = goro_core::SpawnOpts {
        pinned: true,
        no_preempt: true,     // see SpawnOpts: we hold the GIL between goro calls
        pin_to_spawner: true, // one runs at a time anyway: keep hand-offs on one thread
        // Started from a plain thread (main): all share one home worker, instead of spreading
        // over workers that each look blocked to sysmon while they wait for the GIL.
        pin_group: PY_PIN_GROUP,
        name,
        stack_size: stack,
        func,
        site,
    };
    goro_core::goroutine::spawn(
        goro_core::Body::Rust(Box::new(move || run_body(body, stack))),
        &opts,
    )
}

fn run_body(body: PyBody, stack: usize) {
    if SHUTDOWN.load(SeqCst) {
        std::mem::forget(body); // holds Python objects: leak them, touch nothing
        abandon();
    }
    enter_live();
    let ts = match take_cached_tstate() {
        Some(ts) => ts,
        // SAFETY: the interpreter is alive (not shut down: checked above under the LIVE
        // gate); PyThreadState_New needs no GIL.
        None => unsafe { ffi::PyThreadState_New(INTERP.load(SeqCst)) },
    };
    // Frames on a small dense root chunk instead of a 16 KiB mmap (datastack.rs).
    let root = crate::datastack::alloc_root();
    // SAFETY: our thread state, used by no other thread; `root` lives until the detach below.
    let rooted = unsafe { crate::datastack::install(ts, root) };
    set_gilstate(ts);
    gil_await();
    // SAFETY: a fresh thread state of ours, on this thread.
    unsafe { ffi::PyEval_RestoreThread(ts) };
    gil_taken();
    set_stack_bounds(ts, stack);
    note_worker();
    // SAFETY: attached just above; the token does not outlive this function, and every switch
    // inside `body` goes through `detached`.
    let py = unsafe { Python::assume_attached() };
    body(py);
    // SAFETY: as at the install; the body returned, so no frame is left on the root.
    unsafe {
        if rooted {
            crate::datastack::detach(ts, root);
        }
    }
    crate::datastack::free_root(root);
    // SAFETY: our own state, current. Cleared, it is either kept for the next goroutine on
    // this worker (detached: SaveThread releases the GIL) or deleted (releases the GIL).
    unsafe {
        ffi::PyThreadState_Clear(ts);
        if REUSE_TSTATE.load(SeqCst) && cache_tstate_room() {
            ffi::PyEval_SaveThread();
            cache_tstate(ts);
        } else {
            PyThreadState_DeleteCurrent();
        }
    }
    gil_released();
    set_gilstate(std::ptr::null_mut());
    LIVE.fetch_sub(1, SeqCst);
}

/// Whether ended goroutines leave their cleared thread state for the next one on the same
/// worker. Creating one costs a malloc and linking it into the interpreter's list (and, were it
/// not for datastack.rs's root chunk, a 16 KiB mmap at its first frame); deleting undoes both:
/// a large part of a short goroutine's cost (W1). Only on
/// CPython < 3.12, where a cleared thread state is plain data again; 3.12+ marks it cleared
/// for good, so there we always make a new one.
static REUSE_TSTATE: AtomicBool = AtomicBool::new(false);
/// Cleared thread states kept per worker thread (goroutines are pinned: the thread-local is
/// read on the thread that owns the states; a state's thread id is that worker's).
const TSTATE_CACHE: usize = 64;
thread_local! {
    static TSTATES: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn take_cached_tstate() -> Option<*mut ffi::PyThreadState> {
    TSTATES
        .with(|c| c.borrow_mut().pop())
        .map(|p| p as *mut ffi::PyThreadState)
}

fn cache_tstate_room() -> bool {
    TSTATES.with(|c| c.borrow().len() < TSTATE_CACHE)
}

fn cache_tstate(ts: *mut ffi::PyThreadState) {
    TSTATES.with(|c| c.borrow_mut().push(ts as usize));
}

/// CPython 3.14+ checks recursion against the thread's stack bounds: give it the goroutine's.
fn set_stack_bounds(ts: *mut ffi::PyThreadState, stack: usize) {
    if let Some(Some(f)) = SET_STACK.get() {
        let here = &ts as *const _ as usize;
        // The body starts near the top of the goroutine stack; leave 16 KiB below for the
        // guard and slack.
        let low = (here & !4095).saturating_sub(stack.saturating_sub(16 * 1024));
        // SAFETY: the function's contract: our current thread state and a range inside our
        // stack.
        unsafe { f(ts, low as *mut c_void, here - low) };
    }
}

/// Worker threads that have run Python goroutines (their thread ids), for `shutdown`.
static WORKERS: parking_lot::Mutex<Vec<u64>> = parking_lot::Mutex::new(Vec::new());

fn note_worker() {
    thread_local! {
        static NOTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    // Pinned goroutines never leave this OS thread, so a thread-local is fine here.
    if !NOTED.with(|n| n.replace(true)) {
        WORKERS.lock().push(this_thread());
    }
}

/// The atexit hook: see the module doc. Waits at most `max_ms` for goroutines to detach.
/// Goroutines still running Python (a busy loop) get `exc` raised in them (as
/// PyThreadState_SetAsyncExc does for threads) so that they unwind and end.
pub fn shutdown(py: Python<'_>, max_ms: u64, exc: *mut ffi::PyObject) {
    SHUTDOWN.store(true, SeqCst);
    let start = std::time::Instant::now();
    while LIVE.load(SeqCst) > 0 && start.elapsed().as_millis() < max_ms as u128 {
        // Again each round: CPython 3.10-3.11 clear the interpreter-wide "async exception"
        // signal when the first thread state takes its own, so the others need a new one.
        for &tid in WORKERS.lock().iter() {
            // SAFETY: GIL held; `exc` is an exception type; this sets it on every thread
            // state of that worker (parked ones never run again).
            unsafe { ffi::PyThreadState_SetAsyncExc(tid as _, exc) };
        }
        py.detach(|| std::thread::sleep(std::time::Duration::from_micros(500)));
    }
}

/// Goroutines holding or taking a thread state now (for tests).
pub fn live() -> isize {
    LIVE.load(SeqCst)
}

/// Raised for calls a finalizing interpreter cannot serve.
pub fn shutdown_error() -> PyErr {
    PyRuntimeError::new_err("goro: the interpreter is shutting down")
}
