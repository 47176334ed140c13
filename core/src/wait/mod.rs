//! The wait protocol: how every blocking thing in goro is waited for, written once.
//!
//! A wait is a list of cases: channel sends and receives, and `Source`s (a WaitGroup reaching
//! zero, a Mutex to take, and next an fd becoming ready or a context ending), with a deadline.
//! A single channel receive is a one-case wait; Go's select is a many-case one. Every case can
//! be asked three things: "complete now if you can" (`try_now`), "register this waiter for
//! case i unless you are ready" (`register`), and "forget this waiter" (`unregister`). The
//! waiter is the one Waiter of park.rs: whoever completes a case claims it for that case.
//!
//! The steps of a wait:
//! 1. **Poll**: try each case in a random order, each under its own lock; the first that can
//!    complete does, and the wait is over (so among ready cases each is chosen with equal
//!    chance). A one-case wait skips this: step 2 does it under the same lock.
//! 2. If none is ready and the caller may not wait: `WouldBlock`.
//! 3. **Register**: in a fresh random order, register the waiter with every case, each under
//!    its own lock, checking readiness in the same critical section. While nothing of ours is
//!    published yet, a case found ready simply completes (the one-case fast path: one lock).
//!    Once something is published, a case found ready means a partner arrived between steps 1
//!    and 3: we claim our own waiter as ABORTED (if a partner claimed it first, its case won
//!    and we go on to wait), take every registration back, and start again at step 1.
//! 4. **Wait**: a goroutine parks, a thread blocks (wait/block.rs), an event loop returns a
//!    `Pending` and gets a callback (`wait_async`). The winner of the claim completes its case
//!    (copies the value, hands over the mutex) and removes its own registration.
//! 5. **Unregister** every other case. Entries a partner meets that were claimed elsewhere
//!    are stale and skipped, so a late unregister is harmless.
//!
//! Why register-then-check instead of Go's "lock every channel, poll, enqueue": each source
//! only ever takes its own lock, so channels, WaitGroups, fds and contexts mix in one wait with
//! no global lock order, and a source may be lock-free inside. Step 3's abort costs a retry
//! only when readiness appears in the window between steps 1 and 3.
//!
//! Rejected: a second wait path per kind of source (how WaitGroup, Mutex and the channels were
//! written before: the same "queue, wait, dequeue" six times, and only channels could be
//! awaited from an event loop); a per-case Waiter (see park.rs).

pub mod block;
pub mod bridge;
mod chan;
pub mod interruptible;
mod typed;

pub use typed::{AsyncSelect, AsyncStarted, Select, Selected, Waited};

use std::sync::Arc;

pub use crate::chan::Op;
use crate::chan::RawChan;
use crate::clock::Deadline;
use crate::park::{Outcome, Waiter, ABORTED, INTERRUPTED, TIMED_OUT};
use crate::reason::WaitReason;
use crate::sched::timers::{self, TimerKey, TimerTask};
use crate::Error;

/// Something a wait can wait for, other than a channel operation (those are `Case::Chan`, on
/// the channel's own fast paths): a WaitGroup, a Mutex, an fd, a context.
///
/// Contract, for each waiter `w` and case `i` (a source that breaks the second rule makes a
/// wait go round for ever):
/// - after `register(w, i)` returned true, whoever makes the source ready claims `w` with
///   `w.claim_case(i, ok)`, and if that succeeds, completes the operation for the waiting
///   side (e.g. hands over the mutex), removes that registration, and calls `w.wake()`;
///   a failed claim means the registration is stale: skip it (dropping it is allowed);
/// - `register` checks readiness and queues in one critical section, so that a wake-up
///   cannot fall between them; when it says "ready" (false), a `try_now` right after
///   completes, unless another party took the readiness meanwhile;
/// - `unregister(w)` removes every registration of `w`, and may find none.
pub trait Source: Send + Sync {
    /// Completes the operation now if it can (takes the mutex, sees the counter at zero).
    /// Some(ok) if it completed.
    fn try_now(&self) -> Option<bool>;
    /// Registers `w` for case `case`, unless the source is ready now: then registers nothing
    /// and returns false.
    fn register(&self, w: &Arc<Waiter>, case: usize) -> bool;
    /// Removes every registration of `w`.
    fn unregister(&self, w: &Arc<Waiter>);
    /// What a goroutine waiting on this alone shows in a dump.
    fn reason(&self) -> WaitReason;
}

/// One case of a wait.
#[derive(Clone, Copy)]
pub enum Case<'a> {
    /// A send or receive on a channel.
    Chan(&'a Arc<RawChan>, Op),
    /// Another source.
    Source(&'a dyn Source),
    /// Never ready (Go's nil channel).
    Never,
}

impl<'a> Case<'a> {
    /// A channel case; no channel is never ready, as a nil channel in Go.
    pub fn chan(ch: Option<&'a Arc<RawChan>>, op: Op) -> Case<'a> {
        match ch {
            Some(c) => Case::Chan(c, op),
            None => Case::Never,
        }
    }

    /// What a goroutine waiting on this case alone shows in a dump.
    pub(crate) fn reason(&self) -> WaitReason {
        match self {
            Case::Chan(_, Op::Send(_)) => WaitReason::ChanSend,
            Case::Chan(_, Op::Recv(_)) => WaitReason::ChanRecv,
            Case::Source(s) => s.reason(),
            Case::Never => WaitReason::SelectNoCases,
        }
    }
}

/// What a wait holds while registered, so that step 5 can undo it: a reference to every
/// channel (their last handles may be released meanwhile) and every source it registered with.
struct Registration {
    waiter: Arc<Waiter>,
    /// The first channel inline: a one-case wait allocates nothing.
    chan: Option<Arc<RawChan>>,
    more_chans: Vec<Arc<RawChan>>,
    /// Borrowed for the wait; `wait_async`'s caller keeps them alive (its safety contract).
    sources: Vec<*const (dyn Source + 'static)>,
}

impl Registration {
    fn new(waiter: Arc<Waiter>) -> Registration {
        Registration {
            waiter,
            chan: None,
            more_chans: Vec::new(),
            sources: Vec::new(),
        }
    }

    fn keep_chan(&mut self, ch: &Arc<RawChan>) {
        match &self.chan {
            None => self.chan = Some(ch.clone()),
            Some(c) if Arc::ptr_eq(c, ch) => {}
            Some(_) => {
                if !self.more_chans.iter().any(|c| Arc::ptr_eq(c, ch)) {
                    self.more_chans.push(ch.clone())
                }
            }
        }
    }

    fn keep_source(&mut self, s: &dyn Source) {
        // SAFETY: only the lifetime is erased; `undo` is called while the source is alive
        // (during the blocking wait, or before the caller of `wait_async` drops it).
        let p: *const (dyn Source + 'static) =
            unsafe { std::mem::transmute(s as *const dyn Source) };
        self.sources.push(p);
    }

    /// Step 5: takes every registration back.
    fn undo(&self) {
        for c in self.chan.iter().chain(self.more_chans.iter()) {
            c.dequeue(&self.waiter);
        }
        for &s in &self.sources {
            // SAFETY: see `keep_source`.
            unsafe { (*s).unregister(&self.waiter) };
        }
    }
}

/// How steps 1-3 ended.
enum Begun {
    /// Case `.0` completed at once (`.1` false when because its channel is closed).
    Done(usize, bool),
    /// Nothing was ready and the caller may not wait.
    WouldBlock,
    /// Registered everywhere: wait on the registration's waiter.
    Registered(Registration),
}

/// Small arrays stay on the stack: most selects have a handful of cases.
const INLINE: usize = 8;

/// Steps 1-3 of the module doc.
///
/// # Safety
/// Each channel case's pointer is valid for its channel's elem_size bytes (readable for a
/// send, writable for a receive, or null to drop a received value) until the wait ends.
unsafe fn begin(
    cases: &[Case<'_>],
    polled: bool,
    may_wait: bool,
    timed: bool,
    make_waiter: &mut dyn FnMut() -> Arc<Waiter>,
) -> Begun {
    let n = cases.len();
    // A wait that a deadline or a source can end is never a leak (park.rs `unseen`).
    let unseen = timed || cases.iter().any(|c| matches!(c, Case::Source(_)));
    let mut order_buf = [0u32; INLINE];
    let mut order_vec = Vec::new();
    let order: &mut [u32] = if n <= INLINE {
        &mut order_buf[..n]
    } else {
        order_vec.resize(n, 0);
        &mut order_vec
    };
    let mut polled = polled;
    loop {
        // Step 1 (unless the caller just did it: `wait`'s fast path).
        if (n > 1 || !may_wait) && !polled {
            // SAFETY: the caller's contract.
            if let Some((i, ok)) = unsafe { poll_all(cases, order, may_wait) } {
                return Begun::Done(i, ok);
            }
        }
        polled = false;
        // Step 2.
        if !may_wait {
            return Begun::WouldBlock;
        }
        // Step 3. The waiter is made only when a case is about to be queued: an operation
        // that completes here (most sends and receives on a busy channel) never pays for one.
        shuffle(order);
        let mut reg: Option<Registration> = None;
        let mut published = false;
        let mut ready = false;
        for &i in order.iter() {
            let i = i as usize;
            match cases[i] {
                Case::Never => {}
                Case::Chan(ch, op) => {
                    let mut waiter = || registration(&mut reg, make_waiter, unseen).waiter.clone();
                    // SAFETY: the caller's contract.
                    match unsafe { ch.arm(op, i, !published, &mut waiter) } {
                        crate::chan::Armed::Done(ok, partner) => {
                            if let Some(p) = partner {
                                p.wake();
                            }
                            return Begun::Done(i, ok);
                        }
                        crate::chan::Armed::Queued => {
                            registration(&mut reg, make_waiter, unseen).keep_chan(ch);
                            published = true;
                        }
                        crate::chan::Armed::Ready => {
                            ready = true;
                            break;
                        }
                        crate::chan::Armed::Claimed(ok, partner) => {
                            if let Some(p) = partner {
                                p.wake();
                            }
                            // Our own claim made every registration so far stale: take them
                            // back (a wait that returns leaves nothing behind).
                            if let Some(r) = &reg {
                                r.undo();
                            }
                            return Begun::Done(i, ok);
                        }
                        crate::chan::Armed::Lost => break,
                    }
                }
                Case::Source(s) => {
                    if !published {
                        if let Some(ok) = s.try_now() {
                            return Begun::Done(i, ok);
                        }
                    }
                    let r = registration(&mut reg, make_waiter, unseen);
                    if !s.register(&r.waiter, i) {
                        ready = true;
                        break;
                    }
                    r.keep_source(s);
                    published = true;
                }
            }
        }
        let Some(reg) = reg else {
            continue; // nothing was queued: a source became ready; try again
        };
        if ready {
            if !published {
                continue;
            }
            if reg.waiter.claim(ABORTED) {
                // Dropped before the next round asks for a waiter, so that a goroutine's
                // cached one is reused when nobody else holds it any more.
                reg.undo();
                continue;
            }
            // A partner claimed us first: its case completed; the wait returns at once.
        }
        return Begun::Registered(reg);
    }
}

/// Step 1: tries every case in a random order (`order` is scratch of cases.len()); the first
/// that completes is the result.
///
/// # Safety
/// As `begin`.
#[inline(always)]
unsafe fn poll_all(
    cases: &[Case<'_>],
    order: &mut [u32],
    skip_busy: bool,
) -> Option<(usize, bool)> {
    shuffle(order);
    for &i in order.iter() {
        // SAFETY: the caller's contract.
        if let Some(ok) = unsafe { try_case(&cases[i as usize], skip_busy) } {
            return Some((i as usize, ok));
        }
    }
    None
}

/// The wait's registration, made with a fresh waiter the first time it is needed.
fn registration<'r>(
    reg: &'r mut Option<Registration>,
    make_waiter: &mut dyn FnMut() -> Arc<Waiter>,
    unseen: bool,
) -> &'r mut Registration {
    reg.get_or_insert_with(|| {
        let w = make_waiter();
        if unseen {
            w.mark_unseen();
        }
        // An aborted waiter stays claimed: registering it again would wait for good.
        assert!(
            w.is_waiting(),
            "goro: make_waiter must give an unclaimed waiter"
        );
        Registration::new(w)
    })
}

/// Step 1 for one case: completes it if it can, without registering anything. A wait that
/// may go on to step 3 skips a channel whose lock is busy this instant (step 3 looks again).
///
/// # Safety
/// As `begin`.
#[inline(always)]
unsafe fn try_case(case: &Case<'_>, skip_busy: bool) -> Option<bool> {
    match *case {
        Case::Never => None,
        // SAFETY: the caller's contract.
        Case::Chan(ch, op) => match unsafe { ch.try_op(op, skip_busy) } {
            Some((ok, partner)) => {
                if let Some(p) = partner {
                    p.wake();
                }
                Some(ok)
            }
            None => None,
        },
        Case::Source(s) => s.try_now(),
    }
}

/// Waits for one of `cases` to complete, completes it, and returns (its index, ok), `ok`
/// false when it completed because its channel was closed. Err(WouldBlock) when `deadline`
/// is NoWait and nothing is ready; Err(TimedOut) when it passed. With no cases that can ever
/// be ready, a goroutine or thread waits for the deadline (for good without one: Go's
/// `select {}`). `reason` is what dumps show (None: the case's own, or "select").
///
/// # Safety
/// As `begin`: each channel case's pointer stays valid until this returns.
pub unsafe fn wait(
    cases: &[Case<'_>],
    deadline: Deadline,
    reason: Option<WaitReason>,
) -> Result<(usize, bool), Error> {
    let n = cases.len();
    // Step 1 first, on the stack: a select that finds a case ready (the busy case) pays for
    // nothing else (W5 in benches/).
    let mut polled = false;
    if n > 1 && n <= INLINE {
        let mut order_buf = [0u32; INLINE];
        let may_wait = deadline != Deadline::NoWait;
        // SAFETY: the caller's contract.
        if let Some((i, ok)) = unsafe { poll_all(cases, &mut order_buf[..n], may_wait) } {
            crate::sched::preempt_point();
            return Ok((i, ok));
        }
        polled = true;
    }
    if n > u32::MAX as usize {
        return Err(Error::Invalid);
    }
    let reason = reason.unwrap_or(match cases {
        [one] => one.reason(),
        _ => WaitReason::Select,
    });
    if cases.iter().all(|c| matches!(c, Case::Never)) {
        return wait_no_cases(deadline, reason);
    }
    let at = deadline.wait_until();
    let timed = matches!(at, Some(Some(_)));
    // A select that may not wait, over several cases, must still see them all at one moment
    // (Go's TestNonblockSelectRace: with c1 or c2 always ready, it never takes the default).
    // Step 1 polls each case under its own lock, at different moments; so when it finds
    // nothing, register with every case as a wait would, and then claim the waiter for
    // ourselves. Unclaimed then, no case has become ready since its registration (whatever
    // makes a case ready claims its queued waiters in the same critical section), and none
    // was ready at it: so none was ready at the last one. Claimed by a partner first, its
    // case completed and we take it.
    let linearize = n > 1 && deadline == Deadline::NoWait;
    // SAFETY: the caller's contract.
    let begun = unsafe {
        begin(
            cases,
            polled,
            at.is_some() || linearize,
            timed || linearize,
            &mut Waiter::current,
        )
    };
    match begun {
        Begun::Done(i, ok) => {
            crate::sched::preempt_point();
            Ok((i, ok))
        }
        Begun::WouldBlock => Err(Error::WouldBlock),
        Begun::Registered(reg) if linearize => {
            let out = if reg.waiter.claim(TIMED_OUT) {
                Outcome::TimedOut
            } else {
                reg.waiter.wait(reason, None) // the winner's wake is on its way
            };
            reg.undo();
            match out {
                Outcome::Case { index, ok } => Ok((index, ok)),
                _ => Err(Error::WouldBlock),
            }
        }
        Begun::Registered(reg) => {
            let out = reg.waiter.wait(reason, at.flatten());
            // Step 5. A one-case wait that completed has nothing left: its winner removed
            // the registration.
            if cases.len() > 1 || !matches!(out, Outcome::Case { .. }) {
                reg.undo();
            }
            match out {
                Outcome::Case { index, ok } => Ok((index, ok)),
                other => Err(Error::from_outcome(other)),
            }
        }
    }
}

/// A one-case channel wait: steps 3 to 5 for a single channel operation, specialised, since
/// most goro operations are this. One lock: poll, and if the operation must wait, queue the
/// caller's waiter before the lock is released; no registration to undo when it completes.
/// (Through `begin`, the general form cost ~150 more instructions per operation: W3 at 40%
/// of its speed in benches/ab. Inlined, this costs what the hand-written send and receive
/// did: W3 63.6 M instructions under callgrind against 64.0 M before, W2 +1.7%. Moving the
/// waiting half into a function of its own saved W3 2% more and cost W2 5%.)
///
/// # Safety
/// As `wait`, for the one case.
#[inline(always)]
pub(crate) unsafe fn wait_chan(
    ch: &Arc<RawChan>,
    op: Op,
    deadline: Deadline,
    reason: WaitReason,
) -> Result<bool, Error> {
    // A deadline ends it: never a leak.
    let timed = matches!(deadline, Deadline::At(_));
    let waiter = || Waiter::current_unseen(timed);
    // SAFETY: the caller's contract.
    match unsafe { ch.arm_one(op, deadline != Deadline::NoWait, waiter) } {
        crate::chan::ArmedOne::Done(ok, partner) => {
            if let Some(p) = partner {
                p.wake();
            }
            crate::sched::preempt_point();
            Ok(ok)
        }
        crate::chan::ArmedOne::WouldBlock => Err(Error::WouldBlock),
        crate::chan::ArmedOne::Queued(w, _keep) => {
            match w.wait(reason, deadline.wait_until().flatten()) {
                // The winner took our entry off the queue.
                Outcome::Case { ok, .. } => Ok(ok),
                other => {
                    ch.dequeue(&w);
                    Err(Error::from_outcome(other))
                }
            }
        }
    }
}

/// Waits with nothing that can ever be ready: for the deadline, or for good.
fn wait_no_cases(deadline: Deadline, reason: WaitReason) -> Result<(usize, bool), Error> {
    // Nobody but the deadline can claim this waiter: without one a goroutine parks for good
    // (Go's "select (no cases)"), a plain thread blocks for good.
    match deadline.wait_until() {
        None => Err(Error::WouldBlock),
        Some(at) => Err(Error::from_outcome(Waiter::current().wait(reason, at))),
    }
}

/// Sleeps until `deadline` (CLOCK_MONOTONIC ns): a wait with no cases.
pub fn sleep_until(deadline: i64) {
    let _ = wait_no_cases(Deadline::At(deadline), WaitReason::Sleep);
}

/// How `wait_async` began.
pub enum Started {
    /// Case `.0` completed at once (`.1` false when because its channel is closed). No
    /// waiter was used.
    Done(usize, bool),
    /// Registered: the waiter's callback will run once, on whichever thread completes a case
    /// or fires the deadline, unless `Pending::cancel` wins first.
    Pending(Pending),
}

/// A wait registered for an event loop (see `wait_async`). Dropping it cancels the wait if
/// nothing completed yet, and takes its registrations back.
pub struct Pending {
    reg: Registration,
    timer: Option<TimerKey>,
}

// SAFETY: the raw source pointers are only used in `Drop` (unregister), which the source's
// own Sync contract allows from any thread; the rest is Send + Sync.
unsafe impl Send for Pending {}
// SAFETY: as for Send: shared access only reads the waiter.
unsafe impl Sync for Pending {}

impl Pending {
    /// Gives up the wait. True: nothing happened and nothing will (no value consumed or
    /// delivered, the callback will not run). False: a case completed or the deadline fired
    /// first; `outcome()` says which, and the callback has run or is running.
    pub fn cancel(&self) -> bool {
        self.reg.waiter.claim(INTERRUPTED)
    }

    /// How the wait ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.reg.waiter.outcome()
    }

    /// The waiter the wait is registered with (the last one `make_waiter` made).
    pub fn waiter(&self) -> &Arc<Waiter> {
        &self.reg.waiter
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.cancel();
        if let Some(k) = self.timer.take() {
            timers::cancel_timer(k);
        }
        self.reg.undo();
    }
}

/// Starts a wait for an event loop, which must not block: completes at once when a case is
/// ready, else registers a waiter from `make_waiter` (callback waiters: `Waiter::callback` or
/// a `bridge::Bridge`) with every case and returns. `make_waiter` may be called more than
/// once (step 3 of the module doc starts over) and must give a new waiter each time; only the
/// last one's callback ever runs. Err(WouldBlock) when `deadline` is NoWait and nothing
/// is ready. With `Deadline::At`, the callback gets `Outcome::TimedOut` when it passes first.
/// A wait with no cases can only time out or be cancelled.
///
/// The callback may run before this returns (on another thread): look the result up from
/// the callback's own state, not from the `Pending`.
///
/// # Safety
/// Each channel case's pointer stays valid (as for `wait`), and each source stays alive,
/// until the wait ends: until the callback has run, or `Pending::cancel` returned true, and
/// the `Pending` was dropped.
pub unsafe fn wait_async(
    cases: &[Case<'_>],
    deadline: Deadline,
    make_waiter: &mut dyn FnMut() -> Arc<Waiter>,
) -> Result<Started, Error> {
    if cases.len() > u32::MAX as usize {
        return Err(Error::Invalid);
    }
    let Some(at) = deadline.wait_until() else {
        // SAFETY: the caller's contract.
        return match unsafe { begin(cases, false, false, false, make_waiter) } {
            Begun::Done(i, ok) => Ok(Started::Done(i, ok)),
            _ => Err(Error::WouldBlock),
        };
    };
    let reg = if cases.iter().all(|c| matches!(c, Case::Never)) {
        Registration::new(make_waiter())
    } else {
        // SAFETY: the caller's contract.
        match unsafe { begin(cases, false, true, at.is_some(), make_waiter) } {
            Begun::Done(i, ok) => return Ok(Started::Done(i, ok)),
            Begun::WouldBlock => unreachable!("may wait"),
            Begun::Registered(reg) => reg,
        }
    };
    let timer = at.map(|t| timers::add_timer(t, TimerTask::Wake(reg.waiter.clone())));
    Ok(Started::Pending(Pending { reg, timer }))
}

/// Fills `order` with a random permutation of 0..len (Fisher-Yates), from one draw of the
/// runtime's generator (a thread-local lookup) stretched by a local xorshift. Public for a
/// binding's own first look at a select's cases (Node's receive-only select), which must
/// visit them in the order the core would.
pub fn shuffle(order: &mut [u32]) {
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u32;
    }
    if order.len() < 2 {
        return;
    }
    let mut x = crate::rand() | 1;
    for i in (1..order.len()).rev() {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // Multiply-shift: an unbiased enough index in 0..=i from the high bits.
        let j = ((r >> 32) * (i as u64 + 1)) >> 32;
        order.swap(i, j as usize);
    }
}
