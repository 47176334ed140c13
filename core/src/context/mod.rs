//! Contexts, as Go's `context`: a tree of cancellation scopes with deadlines, and an error
//! group (group.rs) on top.
//!
//! A context ends once, for a reason: cancelled (its own `cancel`, or its parent's), or its
//! deadline passed. Ending wakes every wait registered on it and ends its children. A context
//! is a `wait::Source`, so "this receive, unless the context ends first" is one more case of
//! the one wait protocol: nothing is consumed or delivered when the context wins, because only
//! the claim's winner completes its case (park.rs). The blocking calls that take a context
//! (`wait_ctx` below, and the `*_ctx` forms built on it) first check the context, then try the
//! operation alone without waiting, and register the context only when they must wait: an
//! operation that completes at once costs one load more than without a context.
//!
//! A single channel operation (most of them) takes the channel's own one-lock path (as
//! `wait::wait_chan`): poll and queue under the channel lock, then register the context on
//! the queued waiter as its case 1, wait, and take the context registration back. Through the
//! general two-case wait it cost 2-3x the operation without a context (W2-ctx, W3-ctx in
//! benches/c; see `wait_chan_ctx`).
//!
//! The tree: a child registers with its parent when it is made (ending at once if the parent
//! already has), and leaves the parent's list when it ends, so a long-lived parent does not
//! collect dead children (Go's removeChild). A child's deadline is the earlier of its own and
//! its parent's; a timer ends it then.
//!
//! `done_chan` is Go's `ctx.Done()`: a channel of no values closed when the context ends, made
//! on first use, so that C and select users can wait on it with any other case. A binding
//! whose channels carry its own values (Python's) makes its own such channel and hands it to
//! `close_on_end`: `done_chan` is one of those too, so one list is closed at the end.
//!
//! Rejected: polling a flag between naps (what hand-written shutdown code does: late and
//! wasteful); a second wait path per blocking call (a context is just a Source).

pub mod group;

pub use group::Group;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use crate::chan::{ArmedOne, Chan, Op, RawChan};
use crate::clock::{self, Deadline};
use crate::park::{Outcome, Waiter};
use crate::reason::WaitReason;
use crate::sched::timers::{self, TimerKey, TimerTask};
use crate::wait::{self, Case, Select, Source, Waited};
use crate::Error;

const LIVE: u8 = 0;
const CANCELLED: u8 = 1;
const DEADLINE: u8 = 2;

/// Why a context ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `cancel` was called on it or on an ancestor.
    Cancelled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl Reason {
    /// As a blocking call reports it.
    pub fn error(self) -> Error {
        match self {
            Reason::Cancelled => Error::Cancelled,
            Reason::DeadlineExceeded => Error::DeadlineExceeded,
        }
    }
}

struct Inner {
    /// LIVE until it ends; then why. Written once, under `state`'s lock.
    done: AtomicU8,
    /// CLOCK_MONOTONIC ns, the earlier of its own and its parent's.
    deadline: Option<i64>,
    /// Where to unlist ourselves when we end.
    parent: Option<Weak<Inner>>,
    /// Guarded by its lock.
    state: Mutex<State>,
    done_chan: OnceLock<Chan<()>>,
}

#[derive(Default)]
struct State {
    /// Registered waits (waiter, case).
    waiters: Vec<(Arc<Waiter>, usize)>,
    children: Vec<Weak<Inner>>,
    timer: Option<TimerKey>,
    /// Channels closed when it ends (`close_on_end`).
    done_chans: Vec<Arc<RawChan>>,
}

/// A context (see the module doc). Cloning gives another handle to the same context.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

impl Context {
    /// The root: never ends.
    pub fn background() -> Context {
        static ROOT: OnceLock<Context> = OnceLock::new();
        ROOT.get_or_init(|| Context {
            inner: Arc::new(Inner {
                done: AtomicU8::new(LIVE),
                deadline: None,
                parent: None,
                state: Mutex::new(State::default()),
                done_chan: OnceLock::new(),
            }),
        })
        .clone()
    }

    /// A child that ends when `cancel` is called on it, or when its parent ends.
    pub fn with_cancel(&self) -> Context {
        self.child(None)
    }

    /// A child that also ends at `deadline` (CLOCK_MONOTONIC ns).
    pub fn with_deadline(&self, deadline: i64) -> Context {
        self.child(Some(deadline))
    }

    /// A child that also ends `ns` from now.
    pub fn with_timeout(&self, ns: i64) -> Context {
        self.child(Some(clock::now_ns().saturating_add(ns.max(0))))
    }

    fn child(&self, own: Option<i64>) -> Context {
        let deadline = match (own, self.inner.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let c = Context {
            inner: Arc::new(Inner {
                done: AtomicU8::new(LIVE),
                deadline,
                parent: Some(Arc::downgrade(&self.inner)),
                state: Mutex::new(State::default()),
                done_chan: OnceLock::new(),
            }),
        };
        // Listed under the parent's lock, which its end takes too: either the parent sees
        // us when it ends, or we see that it has.
        let parent_ended = {
            let mut ps = self.inner.state.lock();
            match self.reason() {
                Some(r) => Some(r),
                None => {
                    ps.children.retain(|w| w.strong_count() > 0);
                    ps.children.push(Arc::downgrade(&c.inner));
                    None
                }
            }
        };
        if let Some(r) = parent_ended {
            end(&c.inner, r);
            return c;
        }
        if let Some(d) = deadline {
            if d <= clock::now_ns() {
                end(&c.inner, Reason::DeadlineExceeded);
            } else {
                let weak = Arc::downgrade(&c.inner);
                let key = timers::add_timer(
                    d,
                    TimerTask::Call(Box::new(move |_| {
                        if let Some(i) = weak.upgrade() {
                            end(&i, Reason::DeadlineExceeded);
                        }
                        None
                    })),
                );
                let mut st = c.inner.state.lock();
                if c.reason().is_none() {
                    st.timer = Some(key);
                } else {
                    drop(st);
                    timers::cancel_timer(key);
                }
            }
        }
        c
    }

    /// Ends this context and its descendants as cancelled (nothing happens if it has ended,
    /// or on the root: Go's Background has no cancel, and ending it would end every context
    /// made afterwards too).
    pub fn cancel(&self) {
        if self.inner.parent.is_none() {
            return;
        }
        end(&self.inner, Reason::Cancelled);
    }

    /// Why it ended, or None while it has not.
    #[inline]
    pub fn reason(&self) -> Option<Reason> {
        match self.inner.done.load(Ordering::Acquire) {
            LIVE => None,
            CANCELLED => Some(Reason::Cancelled),
            _ => Some(Reason::DeadlineExceeded),
        }
    }

    /// Its deadline (CLOCK_MONOTONIC ns), if it or an ancestor has one.
    pub fn deadline(&self) -> Option<i64> {
        self.inner.deadline
    }

    /// Go's `ctx.Done()`: a channel of no values, closed when the context ends.
    pub fn done_chan(&self) -> &Chan<()> {
        self.inner.done_chan.get_or_init(|| {
            let ch = Chan::<()>::new(0).expect("a channel of no values");
            self.close_on_end(ch.raw());
            ch
        })
    }

    /// Closes `ch` when this context ends, or now if it has ended: a `done_chan` of the
    /// caller's own element type. The context keeps a reference until it ends (the root,
    /// which never ends, keeps none), so call this once per channel.
    pub fn close_on_end(&self, ch: &Arc<RawChan>) {
        if self.inner.parent.is_none() {
            return; // the root never ends: nothing to close, so nothing kept
        }
        let mut st = self.inner.state.lock();
        // Under the lock `end` takes to close the list: either it sees `ch` or we see it ended.
        if self.reason().is_some() {
            let _ = ch.close();
        } else {
            st.done_chans.push(ch.clone());
        }
    }
}

/// Ends `c` for `why`, once: wakes its waits, closes its done channel, ends its children, and
/// unlists it from its parent.
fn end(c: &Arc<Inner>, why: Reason) {
    let (waiters, children, timer) = {
        let mut st = c.state.lock();
        if c.done.load(Ordering::Relaxed) != LIVE {
            return;
        }
        let v = match why {
            Reason::Cancelled => CANCELLED,
            Reason::DeadlineExceeded => DEADLINE,
        };
        // Release pairs with the Acquire of `reason`: whoever sees the end sees what came
        // before it.
        c.done.store(v, Ordering::Release);
        for ch in std::mem::take(&mut st.done_chans) {
            let _ = ch.close();
        }
        (
            std::mem::take(&mut st.waiters),
            std::mem::take(&mut st.children),
            st.timer.take(),
        )
    };
    if let Some(k) = timer {
        timers::cancel_timer(k);
    }
    for (w, case) in waiters {
        if w.claim_case(case, true) {
            w.wake();
        }
    }
    for child in children.iter().filter_map(Weak::upgrade) {
        end(&child, why);
    }
    if let Some(p) = c.parent.as_ref().and_then(Weak::upgrade) {
        p.state
            .lock()
            .children
            .retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(c)));
    }
}

impl Source for Context {
    fn try_now(&self) -> Option<bool> {
        self.reason().map(|_| true)
    }

    fn register(&self, w: &Arc<Waiter>, case: usize) -> bool {
        self.add_waiter(w, case)
    }

    fn unregister(&self, w: &Arc<Waiter>) {
        self.remove_waiter(w);
    }

    fn reason(&self) -> WaitReason {
        WaitReason::Select
    }
}

/// `wait::wait` unless `ctx` ends first: then Err(Cancelled) or Err(DeadlineExceeded), and
/// no case completed. A context that has already ended fails at once. A case that can
/// complete at once does so without registering the context (see the module doc).
///
/// # Safety
/// As `wait::wait`.
pub unsafe fn wait_ctx(
    cases: &[Case<'_>],
    deadline: Deadline,
    ctx: &Context,
) -> Result<(usize, bool), Error> {
    if let [Case::Chan(ch, op)] = cases {
        // SAFETY: the caller's contract.
        return unsafe { chan_ctx(ch, *op, deadline, ctx) }.map(|ok| (0, ok));
    }
    if let Some(r) = ctx.reason() {
        return Err(r.error());
    }
    // SAFETY: the caller's contract.
    unsafe { wait_many_ctx(cases, deadline, ctx) }
}

/// One channel operation unless `ctx` ends first (`wait_ctx` of one case, for callers that
/// have just the one: the C calls): Ok(ok), ok false when the channel is closed.
///
/// Inlined into its callers, as `wait::wait_chan` is: out of line, its own frame cost W3-ctx
/// 15 instructions an operation (half of what remained of the context's cost).
///
/// # Safety
/// As `wait::wait`, for the one case.
#[inline(always)]
pub unsafe fn chan_ctx(
    ch: &Arc<RawChan>,
    op: Op,
    deadline: Deadline,
    ctx: &Context,
) -> Result<bool, Error> {
    if let Some(r) = ctx.reason() {
        return Err(r.error());
    }
    // SAFETY: the caller's contract.
    unsafe { wait_chan_ctx(ch, op, deadline, ctx) }
}

/// `wait_ctx` of several cases (or a source): poll them alone, then wait with the context
/// as one more case. Kept out of line: the one-channel path stays small (its frame was 20
/// instructions of W3-ctx's 45 extra per operation).
///
/// # Safety
/// As `wait::wait`.
#[inline(never)]
unsafe fn wait_many_ctx(
    cases: &[Case<'_>],
    deadline: Deadline,
    ctx: &Context,
) -> Result<(usize, bool), Error> {
    // SAFETY: the caller's contract.
    match unsafe { wait::wait(cases, Deadline::NoWait, None) } {
        Err(Error::WouldBlock) if deadline != Deadline::NoWait => {}
        done => return done,
    }
    // Our own handle while we wait (as a channel wait keeps its channel): the caller's may
    // be released meanwhile (C: `goro_ctx_cancel` then `goro_ctx_release` while the waits
    // it ended are still unregistering), and the registration refers to this one.
    let ctx = &ctx.clone();
    let n = cases.len();
    let mut all: Vec<Case<'_>> = Vec::with_capacity(n + 1);
    all.extend_from_slice(cases);
    all.push(Case::Source(ctx));
    // Dumps and leak reports show the wait as bound to a context ("chan receive (context)").
    let reason = Some(
        match cases {
            [one] => one.reason(),
            _ => WaitReason::Select,
        }
        .with_context(),
    );
    // SAFETY: the caller's contract; the context case carries no pointers.
    match unsafe { wait::wait(&all, deadline, reason) } {
        Ok((i, _)) if i == n => Err(ctx.reason().map_or(Error::Cancelled, Reason::error)),
        other => other,
    }
}

/// `wait_ctx` for one channel operation, on the channel's one-lock path (module doc):
/// 1. poll and, if it must wait, queue our waiter for case 0, under the channel lock;
/// 2. register the waiter with the context for case 1; if the context ended since the check
///    (`register` says so), claim case 1 ourselves (a partner that claimed case 0 first wins);
/// 3. wait, unless our own claim won: the claim's winner completed its case (a partner
///    dequeued us, or the context claimed case 1 and forgot us);
/// 4. take back what the winner did not: the context registration, or the channel entry.
///
/// # Safety
/// As `wait::wait`, for the one case.
#[inline(always)]
unsafe fn wait_chan_ctx(
    ch: &Arc<RawChan>,
    op: Op,
    deadline: Deadline,
    ctx: &Context,
) -> Result<bool, Error> {
    // A context can end it: never a leak.
    let waiter = || Waiter::current_unseen(true);
    // SAFETY: the caller's contract.
    match unsafe { ch.arm_one(op, deadline != Deadline::NoWait, waiter) } {
        ArmedOne::Done(ok, partner) => {
            if let Some(p) = partner {
                p.wake();
            }
            crate::sched::preempt_point();
            Ok(ok)
        }
        ArmedOne::WouldBlock => Err(Error::WouldBlock),
        ArmedOne::Queued(w, _keep) => {
            // Our own handle while parked, as `wait_many_ctx` keeps one (and `_keep` the
            // channel): the caller's may be released before we are done with it.
            let ctx = &ctx.clone();
            let registered = ctx.add_waiter(&w, 1);
            // Dumps and leak reports show it bound to a context ("chan receive (context)").
            let reason = match op {
                Op::Send(_) => WaitReason::ChanSendCtx,
                Op::Recv(_) => WaitReason::ChanRecvCtx,
            };
            // Ended since the check: our own claim of case 1, if it wins, is the end of the
            // wait (nobody else will wake us: parking here once hung for good). If a partner
            // claimed case 0 first, it wakes us.
            let out = if !registered && w.claim_case(1, true) {
                w.outcome().expect("claimed just now")
            } else {
                w.wait(reason, deadline.wait_until().flatten())
            };
            match out {
                Outcome::Case { index: 0, ok } => {
                    ctx.remove_registration(&w);
                    Ok(ok)
                }
                // The context's end took its registration with it.
                Outcome::Case { .. } => {
                    ch.dequeue(&w);
                    Err(ctx.reason().map_or(Error::Cancelled, Reason::error))
                }
                other => {
                    ch.dequeue(&w);
                    if registered {
                        ctx.remove_registration(&w);
                    }
                    Err(Error::from_outcome(other))
                }
            }
        }
    }
}

/// Sleeps `ns`, unless `ctx` ends first (Err(Cancelled) or Err(DeadlineExceeded)).
pub fn sleep_ctx(ns: i64, ctx: &Context) -> Result<(), Error> {
    if let Some(r) = ctx.reason() {
        return Err(r.error());
    }
    if ns <= 0 {
        return Ok(());
    }
    let at = Deadline::At(clock::now_ns().saturating_add(ns));
    let ctx = &ctx.clone(); // our own while we wait (see `wait_many_ctx`)
                            // SAFETY: the only case is the context, which carries no pointers.
    match unsafe { wait::wait(&[Case::Source(ctx)], at, Some(WaitReason::SleepCtx)) } {
        Err(Error::TimedOut) => Ok(()),
        Ok(_) => Err(ctx.reason().map_or(Error::Cancelled, Reason::error)),
        Err(e) => Err(e),
    }
}

impl Context {
    /// `Source::register`, inlined into the one-channel path (`wait_chan_ctx`), which does
    /// it at every park: out of line, with `reason`'s Acquire, it cost W2-ctx ~45
    /// instructions a park.
    #[inline(always)]
    fn add_waiter(&self, w: &Arc<Waiter>, case: usize) -> bool {
        let mut st = self.inner.state.lock();
        // Under the lock `end` takes to store `done` and drain the list: Relaxed is enough.
        if self.inner.done.load(Ordering::Relaxed) != LIVE {
            return false;
        }
        let v = &mut st.waiters;
        if v.len() == v.capacity() {
            v.reserve(4);
        }
        // SAFETY: room for one more was made just above. Written out: `push` stayed a call
        // here (Vec::push_mut, out of line: W2-ctx ~45 instructions a round trip).
        unsafe {
            v.as_mut_ptr().add(v.len()).write((w.clone(), case));
            v.set_len(v.len() + 1);
        }
        true
    }

    /// Removes the one registration of `w` that `add_waiter` made (the one-channel path
    /// registers once): usually the last entry, popped; else the first found. Cheaper than
    /// `remove_waiter`'s full pass, which cost W2-ctx ~30 instructions a park.
    #[inline(always)]
    fn remove_registration(&self, w: &Arc<Waiter>) {
        let mut st = self.inner.state.lock();
        let v = &mut st.waiters;
        if v.last().is_some_and(|(x, _)| Arc::ptr_eq(x, w)) {
            v.pop();
        } else if let Some(i) = v.iter().rposition(|(x, _)| Arc::ptr_eq(x, w)) {
            v.swap_remove(i);
        }
    }

    /// `Source::unregister`: removes every registration of `w`. The caller's is usually the
    /// last (just pushed, nobody else registered since): popped without a scan.
    #[inline(always)]
    fn remove_waiter(&self, w: &Arc<Waiter>) {
        let mut st = self.inner.state.lock();
        let v = &mut st.waiters;
        if v.last().is_some_and(|(x, _)| Arc::ptr_eq(x, w)) {
            v.pop();
        }
        // One pass from the end for any other (a wait that registered twice); swap_remove
        // only moves in an entry already looked at. `retain` cost W2-ctx 39 instructions a
        // wait for a list of one.
        for i in (0..v.len()).rev() {
            if Arc::ptr_eq(&v[i].0, w) {
                let _ = v.swap_remove(i);
            }
        }
    }
}

// Here rather than in wait/typed.rs: the wait module knows nothing of contexts.
impl<T: Send> Select<T> {
    /// `Select::wait` unless `ctx` ends first (as `wait_ctx`): then Err(Cancelled) or
    /// Err(DeadlineExceeded), no case completed, and every value comes back unsent.
    pub fn wait_ctx(self, deadline: Deadline, ctx: &Context) -> Waited<T> {
        // SAFETY: `wait_with` hands us cases whose pointers stay valid during the call.
        self.wait_with(|cases| unsafe { wait_ctx(cases, deadline, ctx) })
    }
}
