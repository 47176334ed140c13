//! `Loop`: how native waits reach one JS thread.
//!
//! A wait that cannot complete at once is a core `select_async` with a callback Waiter. The
//! callback runs on whichever thread completes it (a goroutine, another JS thread's send); it
//! must not touch JS, so it only pushes `(id, outcome)` on this loop's queue and, if no wake
//! is pending, calls the loop's one thread-safe function (non-blocking). On the JS thread that
//! function drains the whole queue and hands JS one flat array `[id, code, value, ...]`: one
//! cross-thread wake settles as many waits as have completed (DESIGN.md: a tsfn per promise
//! is the expensive path).
//!
//! Wakes between JS threads are deferred to the waker's next event-loop turn (`owe_wake`).
//!
//! No lost wake-up: the callback pushes, then sets `wake_pending` (swap); the JS side clears
//! `wake_pending`, then drains. A push the drain misses comes with a swap that saw false, so
//! it calls again.
//!
//! Keep-alive: the thread-safe function is ref'd only while this thread has a native wait in
//! flight that someone else could settle: its channel has another handle (in any thread) or
//! an unopened token, or is a C channel. When a channel loses a holder (a Worker exits and
//! its handles are finalized) the loops waiting on it recount. So an idle channel never holds
//! the process open, and a wait a Worker will settle does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use goro_core::select::{select_async, Case, Op, Pending, Started};
use goro_core::{Deadline, Error, Outcome, Waiter};
use napi::bindgen_prelude::ClassInstance;
use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsFunction, JsObject, JsUnknown, Result};
use std::mem::MaybeUninit;

use crate::chan::{Elem, NativeChan, Shared, Slot, Watch};
use crate::status::set_status;
use crate::value::Msg;

type Tsfn = ThreadsafeFunction<(), ErrorStrategy::Fatal>;

/// Status codes of `Loop::select` (in the status cell); >= 0 is `index * 2 + ok`.
const PENDING: i32 = -1;
const WOULD_BLOCK: i32 = -2;

/// A wait in flight. `pending` must go before `slots`: dropping it takes our entries off the
/// channels, after which nobody can write into the slots.
struct InFlight {
    pending: Option<Pending>,
    cases: Vec<(Arc<Shared>, bool, Slot)>,
    /// Whether something other than this wait can still settle it (see `Shared::hopeful`).
    hopeful: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.pending.take();
    }
}

struct LoopShared {
    /// The JS thread this loop belongs to, and its env (valid on that thread only).
    owner: std::thread::ThreadId,
    env: usize,
    /// Whether the thread-safe function is ref'd. Owner thread only.
    refd: AtomicBool,
    queue: Mutex<Vec<(u32, Outcome)>>,
    wake_pending: AtomicBool,
    tsfn: OnceLock<Tsfn>,
    /// Waits in flight, by the JS layer's id. Touched by the JS thread only, but kept under a
    /// mutex so this struct is Sync for the callbacks.
    ops: Mutex<HashMap<u32, InFlight>>,
}

/// Queue entry id meaning "a channel lost holders: recount the hopeful waits".
const RECHECK: u32 = 0;

impl Watch for LoopShared {
    fn holders_dropped(&self) {
        self.queue
            .lock()
            .unwrap()
            .push((RECHECK, Outcome::Interrupted));
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            self.notify();
        }
    }
}

impl LoopShared {
    /// The Waiter callback: any thread.
    fn completed(self: &Arc<Self>, id: u32, out: Outcome) {
        self.queue.lock().unwrap().push((id, out));
        let here = std::thread::current().id();
        // Completed by this very thread (a send to its own native wait): the wake must keep
        // the loop alive until it is dispatched, whatever the keep-alive count said.
        if here == self.owner {
            self.set_ref(true);
        }
        // SeqCst pairs with the store(false) in `drain`: see the module doc.
        if !self.wake_pending.swap(true, Ordering::SeqCst)
            && (here == self.owner || !owe_wake(self))
        {
            self.notify();
        }
    }

    fn notify(&self) {
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
        self.wake_pending.store(false, Ordering::SeqCst);
        pay_owed();
        let done = std::mem::take(&mut *self.queue.lock().unwrap());
        let mut arr = env.create_array_with_length(done.len() * 3)?;
        let mut ops = self.ops.lock().unwrap();
        let mut k = 0;
        for (id, out) in done {
            if id == RECHECK {
                for op in ops.values_mut() {
                    op.hopeful = op.cases.iter().any(|c| c.0.hopeful());
                }
                continue;
            }
            let Some(mut op) = ops.remove(&id) else {
                continue;
            };
            let (code, value) = finish(env, &mut op, out)?;
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
    let Some(home) = HOME.with(|h| h.borrow().as_ref().and_then(Weak::upgrade)) else {
        return false;
    };
    let first = OWED.with(|o| {
        let mut o = o.borrow_mut();
        o.push(target.clone());
        o.len() == 1
    });
    if first {
        home.set_ref(true);
        if !home.wake_pending.swap(true, Ordering::SeqCst) {
            home.notify();
        }
    }
    true
}

/// Pays the wakes this thread owes: when its loop turns, or sooner, when it starts a wait
/// of its own (it is about to yield anyway, and its partner may be waiting for exactly this).
fn pay_owed() {
    for target in OWED.with(|o| std::mem::take(&mut *o.borrow_mut())) {
        target.notify();
    }
}

/// Settles the slots of a completed wait; returns the code and the received value.
fn finish(env: &Env, op: &mut InFlight, out: Outcome) -> Result<(i32, JsUnknown)> {
    match out {
        Outcome::Case { index, ok } => {
            let (sh, send, slot) = &mut op.cases[index];
            let value = if *send {
                if ok {
                    slot.consumed();
                }
                env.get_undefined()?.into_unknown()
            } else if ok {
                slot.filled();
                slot.take_js(env, sh.elem)?
            } else {
                env.get_undefined()?.into_unknown()
            };
            Ok(((index as i32) * 2 + ok as i32, value))
        }
        Outcome::TimedOut | Outcome::Interrupted => Ok((-1, env.get_undefined()?.into_unknown())),
    }
}

/// The channels of a select, made once and reused while the select's cases stay the same
/// (lib/select.js caches it): passing JS arrays to every select costs more than the select.
#[napi]
pub struct ChanSet {
    chans: Vec<Arc<Shared>>,
    all_msg: bool,
}

#[napi]
impl ChanSet {
    #[napi(constructor)]
    pub fn new(chans: Vec<ClassInstance<NativeChan>>) -> Result<ChanSet> {
        if chans.len() > 32 {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                "goro: at most 32 shared channels in one select",
            ));
        }
        let chans: Vec<Arc<Shared>> = chans.iter().map(|c| c.shared.clone()).collect();
        let all_msg = chans.iter().all(|c| c.elem == Elem::Msg);
        Ok(ChanSet { chans, all_msg })
    }

    /// A select of receives on every channel of the set that does not wait: the fast path
    /// of a receive-only select (no loop, no id, no waiter, one allocation). Status as
    /// `Loop::select`: `k * 2 + ok` with the value, or WOULD_BLOCK. Channels of JS values only.
    #[napi]
    pub fn poll_recv(&self, env: Env) -> Result<JsUnknown> {
        if !self.all_msg {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                "goro: pollRecv on byte channels",
            ));
        }
        let mut slots: Vec<MaybeUninit<Msg>> = Vec::with_capacity(self.chans.len());
        // SAFETY: MaybeUninit needs no initialization.
        unsafe { slots.set_len(self.chans.len()) };
        let cases: Vec<Case<'_>> = self
            .chans
            .iter()
            .zip(slots.iter_mut())
            .map(|(c, s)| Case::chan(Some(&c.raw), Op::Recv(s.as_mut_ptr().cast())))
            .collect();
        // SAFETY: each slot has room for one Msg and outlives the call.
        match unsafe { goro_core::select(&cases, Deadline::NoWait) } {
            Ok((i, ok)) => {
                set_status((i as i32) * 2 + ok as i32);
                if ok {
                    // SAFETY: case i received a value into slot i.
                    unsafe { slots[i].assume_init_read() }.into_js(&env)
                } else {
                    Ok(env.get_undefined()?.into_unknown())
                }
            }
            Err(_) => {
                set_status(WOULD_BLOCK);
                Ok(env.get_undefined()?.into_unknown())
            }
        }
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
        let shared = Arc::new(LoopShared {
            owner: std::thread::current().id(),
            env: env.raw() as usize,
            refd: AtomicBool::new(false),
            queue: Mutex::new(Vec::new()),
            wake_pending: AtomicBool::new(false),
            tsfn: OnceLock::new(),
            ops: Mutex::new(HashMap::new()),
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
        let sh = ch.shared.clone();
        let slot = Slot::empty(sh.elem);
        self.start(env, id, vec![(sh, false, slot)], true)
    }

    /// Starts a one-case send. See `select`.
    #[napi]
    pub fn send(&mut self, env: Env, id: u32, ch: &NativeChan, v: JsUnknown) -> Result<JsUnknown> {
        let sh = ch.shared.clone();
        let slot = Slot::from_js(sh.elem, v)?;
        self.start(env, id, vec![(sh, true, slot)], true)
    }

    /// Starts a select over the native channels of `set`: case k sends when bit k of
    /// `send_mask` is set (its value in `values[k]`). Completes at once (status
    /// `k * 2 + ok`, returns a received value), or with `wait` false gives WOULD_BLOCK, or
    /// queues (PENDING) and later reports through dispatch.
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
        let mut cases = Vec::with_capacity(set.chans.len());
        let mut values = values.unwrap_or_default().into_iter();
        for (k, sh) in set.chans.iter().enumerate() {
            let send = send_mask & (1 << k) != 0;
            let v = values.next();
            let slot = match (send, v) {
                (true, Some(v)) => Slot::from_js(sh.elem, v)?,
                (true, None) => {
                    return Err(napi::Error::new(
                        napi::Status::InvalidArg,
                        "goro: missing send value",
                    ))
                }
                (false, _) => Slot::empty(sh.elem),
            };
            cases.push((sh.clone(), send, slot));
        }
        self.start(env, id, cases, wait)
    }

    /// Gives up a wait in flight. True: nothing was consumed or delivered (and dispatch will
    /// not report it). False: it completed first; dispatch reports it soon.
    #[napi]
    pub fn cancel(&mut self, id: u32) -> Result<bool> {
        let mut ops = self.shared.ops.lock().unwrap();
        let cancelled = match ops.get(&id) {
            Some(op) => op.pending.as_ref().is_some_and(|p| p.cancel()),
            None => false,
        };
        if cancelled {
            if ops.remove(&id).is_some_and(|o| o.hopeful)
                && !self.shared.wake_pending.load(Ordering::SeqCst)
            {
                self.shared.keep_alive(&ops);
            }
        }
        Ok(cancelled)
    }

    fn start(
        &mut self,
        env: Env,
        id: u32,
        mut cases: Vec<(Arc<Shared>, bool, Slot)>,
        wait: bool,
    ) -> Result<JsUnknown> {
        let ptrs: Vec<(bool, *mut u8)> =
            cases.iter_mut().map(|(_, s, sl)| (*s, sl.ptr())).collect();
        let core_cases: Vec<Case<'_>> = cases
            .iter()
            .zip(&ptrs)
            .map(|((sh, _, _), &(send, p))| {
                Case::chan(Some(&sh.raw), if send { Op::Send(p) } else { Op::Recv(p) })
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
            // SAFETY: every slot is boxed and lives in `cases`, which stays in the op map (or
            // here) until the wait has ended: completed (drain), cancelled, or dropped.
            unsafe { select_async(&core_cases, Deadline::Forever, &mut make) }
        } else {
            // A poll needs no waiter. SAFETY: the slots outlive the call.
            unsafe { goro_core::select(&core_cases, Deadline::NoWait) }
                .map(|(i, ok)| Started::Done(i, ok))
        };
        drop(core_cases);
        match started {
            Ok(Started::Done(i, ok)) => {
                let mut op = InFlight {
                    pending: None,
                    cases,
                    hopeful: false,
                };
                let (code, v) = finish(&env, &mut op, Outcome::Case { index: i, ok })?;
                set_status(code);
                Ok(v)
            }
            Ok(Started::Pending(p)) => {
                let hopeful = cases.iter().any(|c| c.0.hopeful());
                let me: Weak<dyn Watch> = Arc::downgrade(&self.shared) as Weak<dyn Watch>;
                for c in &cases {
                    let mut ws = c.0.watchers.lock().unwrap();
                    if !ws.iter().any(|w| w.ptr_eq(&me)) {
                        ws.push(me.clone());
                    }
                }
                let mut ops = self.shared.ops.lock().unwrap();
                ops.insert(
                    id,
                    InFlight {
                        pending: Some(p),
                        cases,
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
            Err(Error::WouldBlock) => {
                set_status(WOULD_BLOCK);
                Ok(env.get_undefined()?.into_unknown())
            }
            Err(e) => Err(napi::Error::new(
                napi::Status::GenericFailure,
                format!("goro: {e}"),
            )),
        }
    }
}
