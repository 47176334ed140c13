//! The block and mutex profiles (as Go's runtime.SetBlockProfileRate and
//! SetMutexProfileFraction), and where waiting goroutines wait (for dumps).
//!
//! With everything off, a wait pays one relaxed load (`hooks::waits_watched`, of the flags
//! below, which live in `hooks` so the Waiter can read them without naming trace). Turning
//! any flag on installs `begin_hook` and `end_hook` as the wait hooks. When on, a wait that ends is
//! sampled as Go samples: a wait of at least `rate` ns always, a shorter one with probability
//! delay/rate; the stack recorded is the host layer's frames when it gave some (Python), else
//! the native return addresses, named only when a profile is written.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Frame, RawFrame};
use crate::goroutine::{WaitReason, G};
use crate::hooks::{self, WaitHooks};

/// Bits of `FLAGS`.
const BLOCK: u8 = 1;
const MUTEX: u8 = 2;
const TRACEBACK: u8 = 4;

/// What watches waits: the watch word of `hooks/waits.rs` (read at every wait, on a cache
/// line of its own), whose bits this file defines.
fn flags() -> &'static AtomicU8 {
    hooks::watch_bits()
}
static BLOCK_RATE: AtomicI64 = AtomicI64::new(0);
static MUTEX_FRACTION: AtomicI64 = AtomicI64::new(0);

/// Native frames kept per stack.
const MAX_FRAMES: usize = 32;

/// Whether a wait must do anything for profiles or dumps: one relaxed load.
#[inline]
pub fn enabled() -> bool {
    hooks::waits_watched()
}

/// Whether host layers should hand their frames over before a wait (`set_wait_frames`).
#[inline]
pub fn wants_frames() -> bool {
    enabled()
}

fn set_flag(flag: u8, on: bool) {
    if on {
        // Installed before the first bit is set (a no-op after the first time).
        hooks::install_wait_hooks(WaitHooks {
            begin: begin_hook,
            end: end_hook,
        });
        flags().fetch_or(flag, Ordering::Relaxed);
    } else {
        flags().fetch_and(!flag, Ordering::Relaxed);
    }
}

/// The wait hook before a wait: when the wait starts, after recording where it waits.
fn begin_hook() -> i64 {
    let start = crate::now_ns();
    before_wait();
    start
}

/// The wait hook after a wait.
fn end_hook(reason: WaitReason, start: i64) {
    after_wait(reason, start);
}

/// As runtime.SetBlockProfileRate: sample waits, one per `ns` of waiting on average (1 =
/// every wait); 0 or less turns it off.
pub fn set_block_profile_rate(ns: i64) {
    BLOCK_RATE.store(ns.max(0), Ordering::Relaxed);
    set_flag(BLOCK, ns > 0);
}

/// As runtime.SetMutexProfileFraction: sample one in `n` contended Mutex waits; 0 turns it
/// off; a negative n only reads. Returns the fraction before the call.
pub fn set_mutex_profile_fraction(n: i64) -> i64 {
    if n < 0 {
        return MUTEX_FRACTION.load(Ordering::Relaxed);
    }
    let old = MUTEX_FRACTION.swap(n, Ordering::Relaxed);
    set_flag(MUTEX, n > 0);
    old
}

/// Records where each goroutine waits, for dumps (costs a stack walk per wait; the environment
/// variable GORO_TRACEBACK=1 turns it on at start).
pub fn set_traceback(on: bool) {
    set_flag(TRACEBACK, on);
}

/// Reads GORO_TRACEBACK once, at start.
pub(super) fn init_from_env() {
    if std::env::var("GORO_TRACEBACK").is_ok_and(|v| v != "0" && !v.is_empty()) {
        set_traceback(true);
    }
}

/// Where a goroutine waits: host frames, or native return addresses. Written by the goroutine
/// itself, read by dumps from other threads (atomics: a torn read shows a wrong frame, never
/// touches freed memory).
pub(crate) struct WaitStack {
    len: AtomicUsize,
    pcs: [AtomicUsize; MAX_FRAMES],
    host: Mutex<Option<Arc<[Frame]>>>,
}

impl WaitStack {
    pub(crate) fn new() -> WaitStack {
        WaitStack {
            len: AtomicUsize::new(0),
            pcs: [const { AtomicUsize::new(0) }; MAX_FRAMES],
            host: Mutex::new(None),
        }
    }

    pub(crate) fn read(&self) -> Vec<RawFrame> {
        if let Some(h) = self.host.lock().as_ref() {
            return h.iter().cloned().map(RawFrame::Named).collect();
        }
        let n = self.len.load(Ordering::Acquire).min(MAX_FRAMES);
        self.pcs[..n]
            .iter()
            .map(|p| RawFrame::Addr(p.load(Ordering::Relaxed)))
            .collect()
    }

    fn record_native(&self) {
        let mut n = 0;
        capture(|pc| {
            self.pcs[n].store(pc, Ordering::Relaxed);
            n += 1;
            n < MAX_FRAMES
        });
        self.len.store(n, Ordering::Release);
    }
}

/// Walks the calling thread's stack, innermost first, until `f` returns false.
fn capture(mut f: impl FnMut(usize) -> bool) {
    // SAFETY: trace_unsynchronized only requires no concurrent use of the unwinder's global
    // state by this thread; we call nothing else from the callback.
    unsafe {
        backtrace::trace_unsynchronized(|frame| f(frame.ip() as usize));
    }
}

thread_local! {
    /// Host frames given by a plain thread for its next wait (goroutines keep theirs in G).
    static THREAD_FRAMES: std::cell::RefCell<Option<Arc<[Frame]>>> =
        const { std::cell::RefCell::new(None) };
}

/// A host layer (Python) gives the frames of the code about to wait, innermost first; they
/// stand for the native stack in dumps and profiles until the next call.
pub fn set_wait_frames(frames: Vec<Frame>) {
    let frames: Arc<[Frame]> = frames.into();
    match crate::goroutine::current() {
        Some(g) => *wait_stack(g.get()).host.lock() = Some(frames),
        None => THREAD_FRAMES.with(|t| *t.borrow_mut() = Some(frames)),
    }
}

/// Before a wait (`enabled()` was true): record where a goroutine waits, for dumps.
pub(crate) fn before_wait() {
    if flags().load(Ordering::Relaxed) & TRACEBACK == 0 {
        return;
    }
    if let Some(g) = crate::goroutine::current() {
        let ws = wait_stack(g.get());
        if ws.host.lock().is_none() {
            ws.record_native();
        }
    }
}

/// After a wait that began at `start` (`enabled()` was true then): sample it.
pub(crate) fn after_wait(reason: WaitReason, start: i64) {
    let delay = crate::now_ns() - start;
    let flags = flags().load(Ordering::Relaxed);
    let rate = BLOCK_RATE.load(Ordering::Relaxed);
    // As Go's, the block profile leaves sleeping out: it is not contention.
    let block = flags & BLOCK != 0
        && rate > 0
        && reason.without_context() != WaitReason::Sleep
        && sampled(delay, rate);
    let fraction = MUTEX_FRACTION.load(Ordering::Relaxed);
    let mutex = flags & MUTEX != 0
        && reason.without_context() == WaitReason::Mutex
        && fraction > 0
        && crate::rand() % fraction as u64 == 0;
    if !block && !mutex {
        return;
    }
    let stack = current_stack();
    if block {
        BLOCK_PROFILE.add(stack.clone(), delay);
    }
    if mutex {
        MUTEX_PROFILE.add(stack, delay);
    }
}

/// As Go's blocksampled: always when the delay reaches the rate, else with chance delay/rate.
fn sampled(delay: i64, rate: i64) -> bool {
    rate <= 1 || delay >= rate || (crate::rand() % rate as u64) < delay.max(0) as u64
}

/// The stack of the current wait: host frames if given, else the native one.
fn current_stack() -> Vec<RawFrame> {
    let host = match crate::goroutine::current() {
        Some(g) => existing_wait_stack(g.get()).and_then(|w| w.host.lock().clone()),
        None => THREAD_FRAMES.with(|t| t.borrow().clone()),
    };
    if let Some(h) = host {
        return h.iter().cloned().map(RawFrame::Named).collect();
    }
    let mut v = Vec::with_capacity(16);
    capture(|pc| {
        v.push(RawFrame::Addr(pc));
        v.len() < MAX_FRAMES
    });
    v
}

/// Records a wait measured by a host layer itself (Node's Promises): `delay` ns, at `stack`
/// (innermost first). Sampled as native waits are; `mutex` for a Mutex wait.
pub fn record_wait(stack: Vec<Frame>, delay: i64, mutex: bool) {
    let rate = BLOCK_RATE.load(Ordering::Relaxed);
    let stack: Vec<RawFrame> = stack.into_iter().map(RawFrame::Named).collect();
    if rate > 0 && sampled(delay, rate) {
        BLOCK_PROFILE.add(stack.clone(), delay);
    }
    let fraction = MUTEX_FRACTION.load(Ordering::Relaxed);
    if mutex && fraction > 0 && crate::rand() % fraction as u64 == 0 {
        MUTEX_PROFILE.add(stack, delay);
    }
}

/// Contention counts and delays by stack.
pub struct Contention {
    by_stack: Mutex<HashMap<Vec<RawFrame>, (i64, i64)>>,
}

/// The block profile.
pub static BLOCK_PROFILE: std::sync::LazyLock<Contention> =
    std::sync::LazyLock::new(Contention::new);
/// The mutex profile.
pub static MUTEX_PROFILE: std::sync::LazyLock<Contention> =
    std::sync::LazyLock::new(Contention::new);

impl Contention {
    fn new() -> Contention {
        Contention {
            by_stack: Mutex::new(HashMap::new()),
        }
    }

    fn add(&self, stack: Vec<RawFrame>, delay: i64) {
        let mut m = self.by_stack.lock();
        let e = m.entry(stack).or_insert((0, 0));
        e.0 += 1;
        e.1 += delay.max(0);
    }

    /// (stack, contentions, delay ns) for every stack seen.
    pub fn samples(&self) -> Vec<(Vec<RawFrame>, i64, i64)> {
        self.by_stack
            .lock()
            .iter()
            .map(|(s, &(n, d))| (s.clone(), n, d))
            .collect()
    }
}

/// A goroutine's wait stack, allocated on first use (owner or reader: OnceLock settles
/// races). The record keeps it untyped (`G::wait_stack`): only this file puts one there.
fn wait_stack(g: &G) -> &WaitStack {
    g.wait_stack
        .get_or_init(|| Box::new(WaitStack::new()))
        .downcast_ref()
        .expect("only trace::block fills a goroutine's wait stack")
}

/// A goroutine's wait stack, if it has one.
fn existing_wait_stack(g: &G) -> Option<&WaitStack> {
    g.wait_stack.get().and_then(|w| w.downcast_ref())
}

/// Where a goroutine waits, as last recorded (empty if never), for dumps.
pub(crate) fn wait_stack_of(g: &G) -> Vec<RawFrame> {
    existing_wait_stack(g).map_or_else(Vec::new, WaitStack::read)
}
