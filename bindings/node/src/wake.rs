//! `Loop`: how native waits reach one JS thread.
//!
//! A wait that cannot complete at once is a core `wait_async` (channels, Mutexes and
//! WaitGroups alike) with a callback Waiter. The callback runs on whichever thread completes
//! it (a goroutine, another JS thread's send or unlock); it must not touch JS, so it only
//! pushes `(id, outcome)` on this loop's core `Bridge`, whose notify calls the loop's one
//! thread-safe function (non-blocking) once per batch. On the JS thread that function drains
//! the batch and hands JS one flat array `[id, code, value, ...]`: one cross-thread wake
//! settles as many waits as have completed (DESIGN.md: a tsfn per promise is the expensive
//! path). The bridge's own doc says why no notify is lost.
//!
//! Wakes between JS threads are deferred to the waker's next event-loop turn (`owe_wake`).
//!
//! Spinning (`Loop::spin`): a thread wake costs about 10 µs here (DESIGN.md), so a round trip
//! across threads that waits for a wake on each side is dearer than the work. A JS thread that
//! has just queued a channel wait that another thread can settle spins a few microseconds
//! watching its own completion count before it returns to its event loop, yielding its CPU
//! each turn (a pure busy spin measured far worse on a loaded 2-CPU machine: both sides of
//! a round trip spun while the partner waited for a CPU, 147 µs against 26 without it); a completion that
//! arrives meanwhile is drained there and then, and its notify (the thread-safe call, or the
//! waker's owed wake) is skipped, as the spinner takes the batch itself. lib/native.js
//! decides when and how long (the policy); this is the mechanism. Rejected: spinning in
//! a libuv prepare hook just before the loop sleeps (it needs its own callback scope to run
//! JS and microtasks, and it would spin on every turn, not only after a wait); spinning in
//! JS on `tryRecv` (a rendezvous needs one side queued, and settling a queued side is a wake).
//!
//! Keep-alive: the thread-safe function is ref'd only while this thread has a native wait in
//! flight that someone else could settle (shared.rs, `hopeful`: another handle in any
//! thread, an unopened token, or a C channel). When a thing loses a holder (a Worker exits
//! and its handles are finalized) the loops waiting on it recount. So an idle channel or
//! Mutex never holds the process open, and a wait a Worker will settle does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use goro_core::wait::bridge::Bridge;
use goro_core::wait::{Select, Selected};
use goro_core::{wait_async, Case, Chan, Deadline, Error, Op, Outcome, Pending, Started, Waiter};
use napi::bindgen_prelude::{ClassInstance, External};
use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsFunction, JsObject, JsUnknown, Result};

use crate::chan::{NativeChan, Slot};
use crate::invalid;
use crate::shared::{Res, Shared, Watch};
use crate::status::{of_case, of_error, of_outcome, set_status, PENDING};
use crate::sync::NativeSync;
use crate::value::Msg;

type Tsfn = ThreadsafeFunction<(), ErrorStrategy::Fatal>;

/// One case of a wait: what it waits on and, for a channel, its direction (send: true) and
/// buffer (None: a Mutex or WaitGroup).
struct Entry {
    on: Arc<Shared>,
    slot: Option<(bool, Slot)>,
}

impl Entry {
    fn chan(ch: &NativeChan, send: bool, slot: Slot) -> Entry {
        Entry {
            on: ch.shared.clone(),
            slot: Some((send, slot)),
        }
    }
}

/// A wait in flight. `pending` is declared (so dropped) before `entries`: dropping it takes
/// our registrations off the channels and sources, after which nobody writes into the slots.
struct InFlight {
    pending: Pending,
    entries: Vec<Entry>,
    /// Whether something other than this wait can still settle it (see `Shared::hopeful`).
    hopeful: bool,
}

struct LoopShared {
    /// The JS thread this loop belongs to, and its env (valid on that thread only).
    owner: std::thread::ThreadId,
    env: usize,
    /// Whether the thread-safe function is ref'd. Owner thread only.
    refd: AtomicBool,
    bridge: Arc<Bridge<u32>>,
    /// Completions pushed so far (wrapping), counted after the push; watched by `Loop::spin`.
    completions: AtomicU32,
    /// The owner is in `Loop::spin` and drains what arrives itself: notifies are skipped.
    spinning: AtomicBool,
    tsfn: OnceLock<Tsfn>,
    /// Waits in flight, by the JS layer's id. Touched by the JS thread only, but kept under a
    /// mutex so this struct is Sync for the callbacks.
    ops: Mutex<HashMap<u32, InFlight>>,
}

/// Bridge tokens that are no wait of JS's (whose ids run 1..2^31): "a thing lost holders:
/// recount the hopeful waits", and "drain, to pay the wakes this thread owes".
const RECHECK: u32 = 0;
const PAY: u32 = u32::MAX;

impl Watch for LoopShared {
    fn holders_dropped(&self) {
        self.bridge.push(RECHECK, Outcome::Interrupted);
        // At once, never owed: this may run in a Worker's teardown, which pays no more debts.
        self.call();
    }
}

impl LoopShared {
    /// The Waiter callback: any thread.
    fn completed(&self, id: u32, out: Outcome) {
        // Completed by this very thread (a send to its own native wait): the wake must keep
        // the loop alive until it is dispatched, whatever the keep-alive count said.
        if std::thread::current().id() == self.owner {
            self.set_ref(true);
        }
        self.bridge.push(id, out);
        // After the push: a spinner that sees the count move finds the completion queued.
        // Release pairs with the Acquire load in `Loop::spin`.
        self.completions.fetch_add(1, Ordering::Release);
    }

    /// The bridge's notify: a batch has begun. The completing thread's, any.
    fn notify(self: &Arc<Self>) {
        // SeqCst pairs with the store of false in `Loop::spin`, which then looks at the queue
        // again under its lock: either this push is seen there, or this load sees false.
        if self.spinning.load(Ordering::SeqCst) {
            return;
        }
        if std::thread::current().id() == self.owner || !owe_wake(self) {
            self.call();
        }
    }

    fn call(&self) {
        if let Some(t) = self.tsfn.get() {
            t.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Refs or unrefs the thread-safe function. Owner thread only.
    fn set_ref(&self, on: bool) {
        if self.refd.swap(on, Ordering::Relaxed) == on {
            return;
        }
        if let Some(t) = self.tsfn.get() {
            let (env, raw) = (self.env as napi::sys::napi_env, t.raw());
            // SAFETY: on the owner thread, with its env; the tsfn lives as long as the loop
            // (an aborted one answers with an error status, which is harmless here).
            unsafe {
                if on {
                    napi::sys::napi_ref_threadsafe_function(env, raw);
                } else {
                    napi::sys::napi_unref_threadsafe_function(env, raw);
                }
            }
        }
    }

    /// Keep-alive: ref'd while some wait in flight could still be settled by someone else.
    fn keep_alive(&self, ops: &HashMap<u32, InFlight>) {
        self.set_ref(ops.values().any(|o| o.hopeful));
    }

    /// JS thread: turns completed waits into `[id, code, value, ...]`.
    fn drain(&self, env: &Env) -> Result<JsObject> {
        pay_owed();
        let done = self.bridge.drain();
        let mut arr = env.create_array_with_length(done.len() * 3)?;
        let mut ops = self.ops.lock().unwrap();
        let mut k = 0;
        for (id, out) in done {
            if id == RECHECK {
                for op in ops.values_mut() {
                    op.hopeful = op.entries.iter().any(|e| e.on.hopeful());
                }
                continue;
            }
            let Some(mut op) = ops.remove(&id) else {
                continue;
            };
            let (code, value) = finish(env, &mut op.entries, out)?;
            drop(op);
            arr.set_element(k, env.create_uint32(id)?)?;
            arr.set_element(k + 1, env.create_int32(code)?)?;
            arr.set_element(k + 2, value)?;
            k += 3;
        }
        self.keep_alive(&ops);
        Ok(arr)
    }
}

thread_local! {
    /// This JS thread's loop, once made.
    static HOME: RefCell<Option<Weak<LoopShared>>> = const { RefCell::new(None) };
    /// Loops of other threads whose wake this thread owes.
    static OWED: RefCell<Vec<Arc<LoopShared>>> = const { RefCell::new(Vec::new()) };
}

/// Deferred wakes. A wake costs a system call (uv_async_send) on the waker's thread and a
/// thread wake-up on the other side, and a JS thread that completes other threads' waits
/// usually completes many in a row (a consumer freeing slots for waiting producers). So a JS
/// thread owes the wake instead, and pays all it owes when its own event loop turns (its
/// loop's drain, reached through one self-poke): the woken side then finds more done per
/// wake. A goroutine thread (no loop) wakes at once. The owing thread stays ref'd until it
/// has paid, so it cannot exit owing. Returns false when this thread has no loop.
fn owe_wake(target: &Arc<LoopShared>) -> bool {
    // try_with: a finalizer may complete a wait while this thread is being torn down.
    let home = HOME.try_with(|h| h.borrow().as_ref().and_then(Weak::upgrade));
    let Some(home) = home.ok().flatten() else {
        return false;
    };
    let first = OWED.with(|o| {
        let mut o = o.borrow_mut();
        o.push(target.clone());
        o.len() == 1
    });
    if first {
        home.set_ref(true);
        home.bridge.push(PAY, Outcome::Interrupted);
    }
    true
}

/// Pays the wakes this thread owes: when its loop turns, or sooner, when it starts a wait
/// of its own (it is about to yield anyway, and its partner may be waiting for exactly this).
fn pay_owed() {
    for target in OWED.with(|o| std::mem::take(&mut *o.borrow_mut())) {
        target.call();
    }
}

/// Settles the slot of a completed wait; returns the code and the received value.
fn finish(env: &Env, entries: &mut [Entry], out: Outcome) -> Result<(i32, JsUnknown)> {
    if let Outcome::Case { index, ok: true } = out {
        if let Some((send, slot)) = &mut entries[index].slot {
            slot.set_full(!*send);
            return Ok((of_outcome(out), slot.take_js(env)?));
        }
    }
    Ok((of_outcome(out), env.get_undefined()?.into_unknown()))
}

/// The channels of a select, made once and reused while the select's cases stay the same
/// (lib/select.js caches it): passing JS arrays to every select costs more than the select.
#[napi]
pub struct ChanSet {
    chans: Vec<Arc<Shared>>,
    /// The same, typed, when every one carries JS values (for `setPollRecv`).
    msgs: Option<Arc<RecvSet>>,
}

/// The channels of a receive-only select, for `setPollRecv` in an External (chan.rs `Fast`
/// says why not a method).
pub struct RecvSet(Vec<Chan<Msg>>);

#[napi]
impl ChanSet {
    #[napi(constructor)]
    pub fn new(chans: Vec<ClassInstance<NativeChan>>) -> Result<ChanSet> {
        if chans.len() > 32 {
            return Err(invalid("at most 32 shared channels in one select"));
        }
        let chans: Vec<Arc<Shared>> = chans.iter().map(|c| c.shared.clone()).collect();
        let msgs: Option<Vec<Chan<Msg>>> = chans.iter().map(|c| c.msg().cloned()).collect();
        Ok(ChanSet {
            chans,
            msgs: msgs.map(|m| Arc::new(RecvSet(m))),
        })
    }

    /// The set for `setPollRecv`, or null when some channel carries bytes.
    #[napi]
    pub fn fast(&self) -> Option<External<Arc<RecvSet>>> {
        self.msgs.clone().map(External::new)
    }
}

/// A select of receives on every channel of a `ChanSet.fast()` that does not wait: the fast
/// path of a receive-only select (no loop, no id, no waiter; the core's typed Select owns the
/// buffers). Status as `Loop::select`, with the value.
#[napi]
pub fn set_poll_recv(env: Env, set: External<Arc<RecvSet>>) -> Result<JsUnknown> {
    let msgs = &set.0;
    // Step 1 of the select here, cheaply: each channel's own try, in a random order (no
    // Select built, no channel reference count touched: with producers in other threads
    // on the same channels those are shared cache lines); the first ready one is the
    // answer, as the core's step 1 would give. Only when none is ready, the core's
    // select, which must see every case at one moment (Go's non-blocking select is
    // linearizable) before it answers "none".
    let n = msgs.len();
    if n > 1 && n <= 32 {
        let mut order = [0u32; 32];
        goro_core::wait::shuffle(&mut order[..n]);
        for &i in &order[..n] {
            match msgs[i as usize].try_recv() {
                Ok(Some(m)) => {
                    set_status(of_case(i as usize, true));
                    return m.into_js(&env);
                }
                Ok(None) => {
                    set_status(of_case(i as usize, false));
                    return Ok(env.get_undefined()?.into_unknown());
                }
                Err(_) => {}
            }
        }
    }
    let mut sel = Select::new();
    for c in msgs {
        sel.recv(Some(c));
    }
    let (r, _) = sel.wait(Deadline::NoWait);
    set_status(
        r.as_ref()
            .map_or_else(|&e| of_error(e), |s| of_case(s.index, s.ok)),
    );
    match r {
        Ok(Selected { value: Some(m), .. }) => m.into_js(&env),
        _ => Ok(env.get_undefined()?.into_unknown()),
    }
}

#[napi]
pub struct Loop {
    shared: Arc<LoopShared>,
}

#[napi]
impl Loop {
    /// `dispatch` receives `[id, code, value, ...]` for waits that completed.
    #[napi(constructor)]
    pub fn new(mut env: Env, dispatch: JsFunction) -> Result<Loop> {
        let shared = Arc::new_cyclic(|me: &Weak<LoopShared>| {
            let me = me.clone();
            LoopShared {
                owner: std::thread::current().id(),
                env: env.raw() as usize,
                refd: AtomicBool::new(false),
                bridge: Bridge::new(move || {
                    if let Some(s) = me.upgrade() {
                        s.notify();
                    }
                }),
                completions: AtomicU32::new(0),
                spinning: AtomicBool::new(false),
                tsfn: OnceLock::new(),
                ops: Mutex::new(HashMap::new()),
            }
        });
        let weak: Weak<LoopShared> = Arc::downgrade(&shared);
        let mut tsfn: Tsfn = dispatch.create_threadsafe_function(
            0,
            move |ctx: ThreadSafeCallContext<()>| match weak.upgrade() {
                Some(s) => Ok(vec![s.drain(&ctx.env)?]),
                None => Ok(vec![ctx.env.create_array_with_length(0)?]),
            },
        )?;
        tsfn.unref(&env)?;
        let _ = shared.tsfn.set(tsfn);
        HOME.with(|h| *h.borrow_mut() = Some(Arc::downgrade(&shared)));
        // A thread that ends owing wakes (a Worker that sends and exits at once) pays them on
        // its way out, so its partners are not left waiting.
        env.add_env_cleanup_hook((), |_| pay_owed())?;
        Ok(Loop { shared })
    }

    /// Starts a one-case receive. See `select`.
    #[napi]
    pub fn recv(&mut self, env: Env, id: u32, ch: &NativeChan) -> Result<JsUnknown> {
        let e = Entry::chan(ch, false, Slot::empty(ch.elem));
        self.start(env, id, vec![e], true)
    }

    /// Starts a one-case send. See `select`.
    #[napi]
    pub fn send(&mut self, env: Env, id: u32, ch: &NativeChan, v: JsUnknown) -> Result<JsUnknown> {
        let e = Entry::chan(ch, true, Slot::from_js(ch.elem, v)?);
        self.start(env, id, vec![e], true)
    }

    /// Starts a wait for a Mutex (to take it) or a WaitGroup (to reach zero). See `select`.
    #[napi]
    pub fn wait(&mut self, env: Env, id: u32, s: &NativeSync) -> Result<JsUnknown> {
        let e = Entry {
            on: s.shared.clone(),
            slot: None,
        };
        self.start(env, id, vec![e], true)
    }

    /// Starts a select over the native channels of `set`: case k sends when bit k of
    /// `send_mask` is set (its value in `values[k]`). Completes at once (status
    /// `k * 2 + ok`, returns a received value), or with `wait` false gives WouldBlock, or
    /// queues (PENDING) and later reports through dispatch (status.rs has the codes).
    #[napi]
    pub fn select(
        &mut self,
        env: Env,
        id: u32,
        set: &ChanSet,
        send_mask: u32,
        values: Option<Vec<JsUnknown>>,
        wait: bool,
    ) -> Result<JsUnknown> {
        let mut entries = Vec::with_capacity(set.chans.len());
        let mut values = values.unwrap_or_default().into_iter();
        for (k, sh) in set.chans.iter().enumerate() {
            let send = send_mask & (1 << k) != 0;
            let elem = sh.elem();
            let slot = match (send, values.next()) {
                (true, Some(v)) => Slot::from_js(elem, v)?,
                (true, None) => return Err(invalid("missing send value")),
                (false, _) => Slot::empty(elem),
            };
            entries.push(Entry {
                on: sh.clone(),
                slot: Some((send, slot)),
            });
        }
        self.start(env, id, entries, wait)
    }

    /// Spins up to `us` microseconds for wait `id` (just queued, PENDING) or any other of this
    /// loop's waits to complete (see the module doc). Returns the batch as dispatch gets it
    /// (`[id, code, value, ...]`), for the caller to dispatch, or undefined if nothing came. A
    /// wait that nobody else can settle (not hopeful) does not spin: null at once.
    #[napi]
    pub fn spin(&mut self, env: Env, id: u32, us: u32) -> Result<JsUnknown> {
        let sh = &self.shared;
        if !sh.ops.lock().unwrap().get(&id).is_some_and(|o| o.hopeful) {
            return Ok(env.get_null()?.into_unknown());
        }
        sh.spinning.store(true, Ordering::SeqCst);
        let seen = sh.completions.load(Ordering::Acquire);
        let deadline = Instant::now() + Duration::from_micros(u64::from(us));
        while sh.completions.load(Ordering::Acquire) == seen {
            // Yield, not spin_loop: the partner may need this very CPU to answer.
            std::thread::yield_now();
            if Instant::now() >= deadline {
                break;
            }
        }
        sh.spinning.store(false, Ordering::SeqCst);
        // Whatever was pushed while we spun had its notify skipped: it is ours to drain.
        if sh.bridge.is_empty() {
            return Ok(env.get_undefined()?.into_unknown());
        }
        Ok(sh.drain(&env)?.into_unknown())
    }

    /// Gives up a wait in flight. True: nothing was consumed or delivered (and dispatch will
    /// not report it). False: it completed first; dispatch reports it soon.
    #[napi]
    pub fn cancel(&mut self, id: u32) -> Result<bool> {
        let mut ops = self.shared.ops.lock().unwrap();
        let cancelled = match ops.get(&id) {
            Some(op) => op.pending.cancel(),
            None => false,
        };
        if cancelled && ops.remove(&id).is_some_and(|o| o.hopeful) && self.shared.bridge.is_empty()
        {
            self.shared.keep_alive(&ops);
        }
        Ok(cancelled)
    }

    fn start(
        &mut self,
        env: Env,
        id: u32,
        mut entries: Vec<Entry>,
        wait: bool,
    ) -> Result<JsUnknown> {
        let ptrs: Vec<*mut u8> = entries
            .iter_mut()
            .map(|e| e.slot.as_mut().map_or(std::ptr::null_mut(), |s| s.1.ptr()))
            .collect();
        let cases: Vec<Case<'_>> = entries
            .iter()
            .zip(&ptrs)
            .map(|(e, &p)| match (&e.on.res, &e.slot) {
                (Res::Mutex(m), _) => Case::Source(&**m),
                (Res::WaitGroup(w), _) => Case::Source(&**w),
                (_, Some((true, _))) => Case::chan(e.on.raw(), Op::Send(p)),
                _ => Case::chan(e.on.raw(), Op::Recv(p)),
            })
            .collect();
        let started = if wait {
            let weak = Arc::downgrade(&self.shared);
            // A fresh waiter each time the wait protocol asks (it may start over).
            let mut make = || {
                let weak = weak.clone();
                Waiter::callback(move |out| {
                    if let Some(s) = weak.upgrade() {
                        s.completed(id, out);
                    }
                })
            };
            // SAFETY: every slot is boxed and every source is behind an Arc, all in
            // `entries`, which stays in the op map (or here) until the wait has ended:
            // completed (drain), cancelled, or dropped (InFlight drops the Pending first).
            unsafe { wait_async(&cases, Deadline::Forever, &mut make) }
        } else {
            // A poll needs no waiter. SAFETY: the slots outlive the call.
            unsafe { goro_core::select(&cases, Deadline::NoWait) }
                .map(|(i, ok)| Started::Done(i, ok))
        };
        drop(cases);
        match started {
            Ok(Started::Done(i, ok)) => {
                let (code, v) = finish(&env, &mut entries, Outcome::Case { index: i, ok })?;
                set_status(code);
                Ok(v)
            }
            Ok(Started::Pending(p)) => {
                let hopeful = entries.iter().any(|e| e.on.hopeful());
                let me: Weak<dyn Watch> = Arc::downgrade(&self.shared) as Weak<dyn Watch>;
                for e in &entries {
                    let mut ws = e.on.watchers.lock().unwrap();
                    if !ws.iter().any(|w| w.ptr_eq(&me)) {
                        ws.push(me.clone());
                    }
                }
                let mut ops = self.shared.ops.lock().unwrap();
                ops.insert(
                    id,
                    InFlight {
                        pending: p,
                        entries,
                        hopeful,
                    },
                );
                if hopeful {
                    self.shared.set_ref(true);
                }
                drop(ops);
                pay_owed();
                set_status(PENDING);
                Ok(env.get_undefined()?.into_unknown())
            }
            Err(e @ Error::WouldBlock) => {
                set_status(of_error(e));
                Ok(env.get_undefined()?.into_unknown())
            }
            Err(e) => Err(crate::err(e)),
        }
    }
}
