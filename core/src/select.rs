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
//! step, so a value that arrives in between cannot be missed.

use std::sync::Arc;

use crate::chan::{RawChan, RecvPoll, SendPoll};
use crate::goroutine::WaitReason;
use crate::park::{Outcome, Waiter};
use crate::time::Deadline;
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

/// Runs a select. Ok((index, ok)) for the case that completed (`ok` false when it completed
/// because its channel was closed); Err(WouldBlock) when `deadline` is NoWait and nothing is
/// ready; Err(TimedOut) when the deadline passed.
///
/// # Safety
/// Each case's pointer is valid for its channel's elem_size bytes (readable for a send,
/// writable for a receive, or null to drop a received value) until this returns.
pub unsafe fn select(cases: &[Case<'_>], deadline: Deadline) -> Result<(usize, bool), Error> {
    let n = cases.len();
    if n > u32::MAX as usize {
        return Err(Error::Invalid);
    }
    let mut order_buf = [0u32; INLINE];
    let mut order_vec = Vec::new();
    let order: &mut [u32] = if n <= INLINE {
        &mut order_buf[..n]
    } else {
        order_vec.resize(n, 0);
        &mut order_vec
    };
    shuffle(order);

    let mut locks_buf: [*const RawChan; INLINE] = [std::ptr::null(); INLINE];
    let mut locks_vec = Vec::new();
    let mut nlocks = 0;
    {
        let locks: &mut [*const RawChan] = if n <= INLINE {
            &mut locks_buf[..]
        } else {
            locks_vec.resize(n, std::ptr::null());
            &mut locks_vec
        };
        for c in cases.iter().filter_map(|c| c.chan) {
            locks[nlocks] = Arc::as_ptr(c);
            nlocks += 1;
        }
        locks[..nlocks].sort_unstable();
        nlocks = dedup(&mut locks[..nlocks]);
    }
    let locks: &[*const RawChan] = if n <= INLINE {
        &locks_buf[..nlocks]
    } else {
        &locks_vec[..nlocks]
    };

    if locks.is_empty() {
        return wait_no_cases(deadline);
    }
    for &c in locks {
        // SAFETY: the pointers come from live `&RawChan`s in `cases`.
        unsafe { (*c).lock() };
    }
    let unlock_all = || {
        for &c in locks.iter().rev() {
            // SAFETY: locked above, in this function.
            unsafe { (*c).unlock() };
        }
    };

    // Step 1: poll in random order.
    for &i in order.iter() {
        let case = &cases[i as usize];
        let Some(ch) = case.chan else { continue };
        // SAFETY: locked; the caller vouches for the pointers.
        let inner = unsafe { ch.inner() };
        let done = match case.op {
            // SAFETY: as above.
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
        };
        if let Some((ok, w)) = done {
            unlock_all();
            if let Some(w) = w {
                w.wake();
            }
            crate::sched::preempt_point();
            return Ok((i as usize, ok));
        }
    }

    let Some(at) = deadline.wait_until() else {
        unlock_all();
        return Err(Error::WouldBlock);
    };

    // Step 2: queue on every channel, in a fresh random order. Waiting keeps a reference to
    // every channel (taken under their locks), so their last handles may be released meanwhile.
    let _keep: Vec<Arc<RawChan>> = cases.iter().filter_map(|c| c.chan.cloned()).collect();
    let w = Waiter::current();
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
    unlock_all();
    let out = w.wait(WaitReason::Select, at);

    // Step 3: leave no entry behind.
    for &c in locks {
        // SAFETY: as above.
        unsafe { (*c).dequeue(&w) };
    }
    match out {
        Outcome::Case { index, ok } => Ok((index, ok)),
        other => Err(Error::from_outcome(other)),
    }
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

/// Fills `order` with a random permutation of 0..len (Fisher-Yates).
fn shuffle(order: &mut [u32]) {
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u32;
    }
    for i in (1..order.len()).rev() {
        let j = (crate::rand() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}
