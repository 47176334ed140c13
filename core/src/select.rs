//! Select over any mix of send and receive cases, as Go's select.go.
//!
//! 1. Poll the cases in a random order, with every channel involved locked (in address
//!    order, each once: the one place two channel locks are held at once). The first ready
//!    case completes, so among ready cases each is chosen with equal chance.
//! 2. If none is ready and we may wait: queue one entry per case on its channel, in another
//!    random order, all sharing one Waiter; release the locks; wait. The first partner to claim
//!    the Waiter (park.rs) completes its case; the claim makes every other entry stale.
//! 3. Afterwards remove our remaining entries from every channel.
//!
//! Locking every channel in step 1 makes "nothing is ready" and "we are queued" one atomic
//! step, so a value that arrives in between cannot be missed. Before it, a fast path
//! (`fast_poll`) tries each case alone under its own lock: when one is ready, that is all a
//! select costs.
//!
//! `select_async` is the same first two steps for an event loop (Python's asyncio, Node):
//! it never blocks; a callback Waiter takes the place of the parked goroutine, and the
//! returned `Pending` does step 3 when dropped. Single sends and receives are one-case
//! selects.

use std::sync::Arc;

use crate::chan::{RawChan, RecvPoll, SendPoll};
use crate::goroutine::WaitReason;
use crate::park::{Outcome, Waiter, INTERRUPTED};
use crate::time::{self, Deadline, TimerKey, TimerTask};
use crate::Error;

/// What a case does.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Send the value at this pointer (elem_size bytes).
    Send(*const u8),
    /// Receive into this pointer (null drops the value).
    Recv(*mut u8),
}

/// One case; a case without a channel is never ready (Go's nil channel).
#[derive(Clone, Copy)]
pub struct Case<'a> {
    /// The channel, or None.
    pub chan: Option<&'a Arc<RawChan>>,
    /// Send or receive.
    pub op: Op,
}

/// Small arrays stay on the stack: most selects have a handful of cases.
const INLINE: usize = 8;

/// The distinct channels of a select, in address order: the order they are locked in, the one
/// place two channel locks are held at once.
struct LockSet {
    inline: [*const RawChan; INLINE],
    heap: Vec<*const RawChan>,
    n: usize,
}

impl LockSet {
    fn new(cases: &[Case<'_>]) -> LockSet {
        let mut set = LockSet {
            inline: [std::ptr::null(); INLINE],
            heap: Vec::new(),
            n: 0,
        };
        let all: &mut [*const RawChan] = if cases.len() <= INLINE {
            &mut set.inline[..]
        } else {
            set.heap.resize(cases.len(), std::ptr::null());
            &mut set.heap
        };
        let mut n = 0;
        for c in cases.iter().filter_map(|c| c.chan) {
            all[n] = Arc::as_ptr(c);
            n += 1;
        }
        all[..n].sort_unstable();
        set.n = dedup(&mut all[..n]);
        set
    }

    fn chans(&self) -> &[*const RawChan] {
        if self.heap.is_empty() {
            &self.inline[..self.n]
        } else {
            &self.heap[..self.n]
        }
    }

    fn lock_all(&self) {
        for &c in self.chans() {
            // SAFETY: the pointers come from live `&Arc<RawChan>`s the caller lent us.
            unsafe { (*c).lock() };
        }
    }

    fn unlock_all(&self) {
        for &c in self.chans().iter().rev() {
            // SAFETY: locked by `lock_all`, in the same call.
            unsafe { (*c).unlock() };
        }
    }
}

/// What the first step of a select found.
enum Start {
    /// Case `.0` completed at once, `.1` false when because its channel is closed.
    Done(usize, bool),
    /// Nothing was ready and the caller may not wait.
    WouldBlock,
    /// Queued on every channel with this waiter; each channel is held by a reference.
    Queued(Arc<Waiter>, Vec<Arc<RawChan>>),
}

/// Before step 1: try the cases one at a time in a random order, each under its own
/// channel's lock, taken only if it is free at once. Completing one case under its own lock
/// is a select that chose it (it was ready then), and costs one lock instead of all of them
/// (W5 in benches/: +80%). A case whose lock is busy that instant is left to step 1, which
/// decides under all the locks when nothing completes here.
///
/// # Safety
/// As `select`.
unsafe fn fast_poll(cases: &[Case<'_>]) -> Option<(usize, bool)> {
    let n = cases.len();
    if n > INLINE {
        return None;
    }
    let mut order_buf = [0u32; INLINE];
    let order = &mut order_buf[..n];
    shuffle(order);
    for &i in order.iter() {
        let case = &cases[i as usize];
        let Some(ch) = case.chan else { continue };
        if !ch.try_lock() {
            continue;
        }
        // SAFETY: locked; the caller vouches for the pointers.
        let done = unsafe { poll_case(ch, case.op) };
        // SAFETY: locked above.
        unsafe { ch.unlock() };
        if let Some((ok, w)) = done {
            if let Some(w) = w {
                w.wake();
            }
            return Some((i as usize, ok));
        }
    }
    None
}

/// Tries one case without waiting: Some((ok, partner to wake once unlocked)) if it completed.
///
/// # Safety
/// `ch` is locked by the caller; `op`'s pointer is valid as `select` requires.
#[inline]
unsafe fn poll_case(ch: &RawChan, op: Op) -> Option<(bool, Option<Arc<Waiter>>)> {
    // SAFETY: the caller holds the lock.
    let inner = unsafe { ch.inner() };
    match op {
        // SAFETY: as above; the caller vouches for the pointer.
        Op::Send(p) => match unsafe { ch.poll_send(inner, p) } {
            SendPoll::Sent(w) => Some((true, w)),
            SendPoll::Closed => Some((false, None)),
            SendPoll::Pending => None,
        },
        // SAFETY: as above.
        Op::Recv(p) => match unsafe { ch.poll_recv(inner, p) } {
            RecvPoll::Done(ok, w) => Some((ok, w)),
            RecvPoll::Pending => None,
        },
    }
}

/// Steps 1 and 2 of the module doc: poll every case at random under all the locks; if none is
/// ready and `may_wait`, queue `waiter()` on every channel before the locks are released.
///
/// # Safety
/// As `select`; `set` holds the channels of `cases` and is not empty.
unsafe fn start(
    cases: &[Case<'_>],
    set: &LockSet,
    may_wait: bool,
    waiter: impl FnOnce() -> Arc<Waiter>,
) -> Start {
    let n = cases.len();
    let mut order_buf = [0u32; INLINE];
    let mut order_vec = Vec::new();
    let order: &mut [u32] = if n <= INLINE {
        &mut order_buf[..n]
    } else {
        order_vec.resize(n, 0);
        &mut order_vec
    };
    shuffle(order);
    set.lock_all();

    for &i in order.iter() {
        let case = &cases[i as usize];
        let Some(ch) = case.chan else { continue };
        // SAFETY: locked; the caller vouches for the pointers.
        let done = unsafe { poll_case(ch, case.op) };
        if let Some((ok, w)) = done {
            set.unlock_all();
            if let Some(w) = w {
                w.wake();
            }
            return Start::Done(i as usize, ok);
        }
    }
    if !may_wait {
        set.unlock_all();
        return Start::WouldBlock;
    }

    // Queue on every channel, in a fresh random order. The wait keeps a reference to every
    // channel, so their last handles may be released meanwhile.
    let keep: Vec<Arc<RawChan>> = set
        .chans()
        .iter()
        .map(|&c| {
            // SAFETY: `c` came from a live `&Arc<RawChan>`: add a count to that Arc.
            unsafe {
                Arc::increment_strong_count(c);
                Arc::from_raw(c)
            }
        })
        .collect();
    let w = waiter();
    shuffle(order);
    for &i in order.iter() {
        let case = &cases[i as usize];
        let Some(ch) = case.chan else { continue };
        let (send, elem) = match case.op {
            Op::Send(p) => (true, p.cast_mut()),
            Op::Recv(p) => (false, p),
        };
        let e = crate::chan::waitq_entry(w.clone(), i as usize, elem);
        // SAFETY: locked.
        RawChan::enqueue(unsafe { ch.inner() }, send, e);
    }
    set.unlock_all();
    Start::Queued(w, keep)
}

/// Runs a select. Ok((index, ok)) for the case that completed (`ok` false when it completed
/// because its channel was closed); Err(WouldBlock) when `deadline` is NoWait and nothing is
/// ready; Err(TimedOut) when the deadline passed.
///
/// # Safety
/// Each case's pointer is valid for its channel's elem_size bytes (readable for a send,
/// writable for a receive, or null to drop a received value) until this returns.
pub unsafe fn select(cases: &[Case<'_>], deadline: Deadline) -> Result<(usize, bool), Error> {
    if cases.len() > u32::MAX as usize {
        return Err(Error::Invalid);
    }
    // SAFETY: the caller's contract.
    if let Some((i, ok)) = unsafe { fast_poll(cases) } {
        crate::sched::preempt_point();
        return Ok((i, ok));
    }
    let set = LockSet::new(cases);
    if set.n == 0 {
        return wait_no_cases(deadline);
    }
    let at = deadline.wait_until();
    // SAFETY: the caller's contract; `set` is not empty.
    match unsafe { start(cases, &set, at.is_some(), Waiter::current) } {
        Start::Done(i, ok) => {
            crate::sched::preempt_point();
            Ok((i, ok))
        }
        Start::WouldBlock => Err(Error::WouldBlock),
        Start::Queued(w, _keep) => {
            let out = w.wait(WaitReason::Select, at.flatten());
            // Step 3: leave no entry behind.
            for &c in set.chans() {
                // SAFETY: `_keep` holds every channel of the set.
                unsafe { (*c).dequeue(&w) };
            }
            match out {
                Outcome::Case { index, ok } => Ok((index, ok)),
                other => Err(Error::from_outcome(other)),
            }
        }
    }
}

/// How `select_async` began.
pub enum Started {
    /// Case `.0` completed at once (`.1` false when because its channel is closed). The
    /// waiter was not used.
    Done(usize, bool),
    /// Queued: the waiter's callback will run once, on whichever thread completes a case or
    /// fires the deadline, unless `Pending::cancel` wins first.
    Pending(Pending),
}

/// A select waiting for an event loop (see `select_async`). Dropping it cancels the wait if
/// nothing completed yet, and takes its entries off the channels.
pub struct Pending {
    waiter: Arc<Waiter>,
    chans: Vec<Arc<RawChan>>,
    timer: Option<TimerKey>,
}

impl Pending {
    /// Gives up the wait. True: nothing happened and nothing will (no value consumed or
    /// delivered, the callback will not run). False: a case completed or the deadline fired
    /// first; `outcome()` says which, and the callback has run or is running.
    pub fn cancel(&self) -> bool {
        self.waiter.claim(INTERRUPTED)
    }

    /// How the wait ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.waiter.outcome()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.cancel();
        if let Some(k) = self.timer.take() {
            time::cancel_timer(k);
        }
        for c in &self.chans {
            c.dequeue(&self.waiter);
        }
    }
}

/// Starts a select for an event loop, which must not block: completes at once when a case is
/// ready, else queues `waiter` (made by `Waiter::callback`, used for this one select) on every
/// channel and returns. Err(WouldBlock) when `deadline` is NoWait and nothing is ready. With
/// `Deadline::At`, the callback gets `Outcome::TimedOut` when it passes first. A select with
/// no channels can only time out or be cancelled.
///
/// The callback may run before this returns (on another thread): look the result up from
/// the callback's own state, not from the `Pending`.
///
/// # Safety
/// Each case's pointer stays valid (as for `select`) until the wait ends: until the
/// callback has run, or `Pending::cancel` returned true, or the `Pending` was dropped.
pub unsafe fn select_async(
    cases: &[Case<'_>],
    waiter: &Arc<Waiter>,
    deadline: Deadline,
) -> Result<Started, Error> {
    if cases.len() > u32::MAX as usize {
        return Err(Error::Invalid);
    }
    let Some(at) = deadline.wait_until() else {
        // SAFETY: the caller's contract.
        return match unsafe { select(cases, Deadline::NoWait) } {
            Ok((i, ok)) => Ok(Started::Done(i, ok)),
            Err(e) => Err(e),
        };
    };
    let set = LockSet::new(cases);
    let chans = if set.n == 0 {
        Vec::new()
    } else {
        // SAFETY: the caller's contract; `set` is not empty.
        match unsafe { start(cases, &set, true, || waiter.clone()) } {
            Start::Done(i, ok) => return Ok(Started::Done(i, ok)),
            Start::WouldBlock => unreachable!("may wait"),
            Start::Queued(_, keep) => keep,
        }
    };
    let timer = at.map(|t| time::add_timer(t, TimerTask::Wake(waiter.clone())));
    Ok(Started::Pending(Pending {
        waiter: waiter.clone(),
        chans,
        timer,
    }))
}

/// `select {}` and friends: nothing can ever be ready.
fn wait_no_cases(deadline: Deadline) -> Result<(usize, bool), Error> {
    match deadline {
        Deadline::NoWait => Err(Error::WouldBlock),
        Deadline::At(t) => {
            let w: Arc<Waiter> = Waiter::current();
            let out = w.wait(WaitReason::Select, Some(t));
            Err(Error::from_outcome(out))
        }
        Deadline::Forever => {
            // Nobody can claim this waiter: the goroutine parks for good (Go's "select (no
            // cases)"); a plain thread blocks for good.
            let w: Arc<Waiter> = Waiter::current();
            let out = w.wait(WaitReason::SelectNoCases, None);
            Err(Error::from_outcome(out))
        }
    }
}

fn dedup(v: &mut [*const RawChan]) -> usize {
    if v.is_empty() {
        return 0;
    }
    let mut w = 1;
    for r in 1..v.len() {
        if v[r] != v[w - 1] {
            v[w] = v[r];
            w += 1;
        }
    }
    w
}

/// Fills `order` with a random permutation of 0..len (Fisher-Yates), from one draw of the
/// runtime's generator (a thread-local lookup) stretched by a local xorshift.
fn shuffle(order: &mut [u32]) {
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
