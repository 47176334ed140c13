//! The netpoller: goroutines that wait on an fd park instead of holding an OS thread.
//!
//! Mechanism, as Go's runtime/netpoll.go and netpoll_epoll.go:
//! - `desc.rs`: a record per fd number (Go's pollDesc): a sequence number that makes events of a
//!   closed registration harmless, a readiness latch and a list of waiters per direction.
//! - `poller.rs`: one epoll set, every fd added once, edge-triggered, for both directions; an
//!   eventfd to break a blocking poll.
//! - `sched/poll.rs` joins it to the scheduler: a worker about to sleep blocks in epoll_wait
//!   instead of its futex when no other worker already does (one syscall waits for both work
//!   and I/O), a worker looking for work polls without blocking, sysmon polls when nobody has
//!   for 10 ms, and a waker of the worker in epoll_wait writes the eventfd.
//! - `io.rs`: read, write, accept, connect, listen and dial built on `wait`.
//!
//! A wait on an fd goes through the one `Waiter`, like every other wait: the waiter is queued on
//! the fd's record, the poller claims it for its case (`claim_case(i, true)`; `goro_fd_close`
//! with `ok = false`) and wakes it; deadlines are the ordinary timers of `Waiter::wait`. There
//! is no second way to wait. `FdSource` is the surface a multi-source wait needs: `try_now`,
//! `register(waiter, case)` (false when already ready), `unregister(waiter)`.
//!
//! Rejected: a thread per blocked fd (what blocking calls cost before: 2,000 pipes held 2,004
//! threads); a poller thread beside the workers (two cross-thread hand-offs per wake); io_uring
//! (not allowed in many containers, and its completions do not fit a "wait until ready" call
//! that C code follows with its own read).

mod desc;
mod poller;
mod prep;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::park::Waiter;
use crate::Error;

use desc::{PollDesc, Reg, RD, WR};
pub(crate) use desc::{RD as DIR_READ, WR as DIR_WRITE};
pub use prep::IoError;
pub(crate) use prep::{prepare, Prepared};

/// `events` bit: readable (or at end of file, hung up, in error).
pub const READ: u32 = 1;
/// `events` bit: writable (or hung up, in error).
pub const WRITE: u32 = 2;

/// One fd and the directions a wait wants of it: the per-source surface of a wait.
///
/// A multi-source wait uses it as: `try_now()`; if not ready, `register(&w, i)` for each source
/// (false means it became ready or closed meanwhile: `unregister` the others and look again);
/// `w.wait(...)`; then `unregister(&w)` on every source. The poller wakes the waiter with
/// `Outcome::Case { index: i, ok: true }` when ready and `ok: false` when `close` ran.
pub struct FdSource {
    fd: i32,
    events: u32,
    desc: &'static PollDesc,
    /// The registration this source was made for (see `desc`).
    seq: u32,
}

impl FdSource {
    /// Registers `fd` with the poller if it is not yet (or if the number now names another
    /// file than the one registered). Err(Invalid) for a bad fd, bad `events` (not a non-empty
    /// subset of READ | WRITE) or an fd epoll refuses for a reason other than EPERM.
    pub fn new(fd: i32, events: u32) -> Result<FdSource, Error> {
        if events == 0 || events & !(READ | WRITE) != 0 || fd < 0 {
            return Err(Error::Invalid);
        }
        let p = poller::get()?;
        let desc = desc::get(fd)?;
        let ident = poller::identity(fd)?;
        let mut stale = Vec::new();
        let r = {
            let mut st = desc.lock();
            if st.reg != Reg::None && (st.dev, st.ino, st.socket) == ident {
                Ok(st.seq)
            } else {
                p.register(fd, &mut st, &mut stale).map(|()| st.seq)
            }
        };
        // Waiters of a file that was closed behind our back (plain close(2), number reused).
        poller::wake_all(stale, false);
        Ok(FdSource {
            fd,
            events,
            desc,
            seq: r?,
        })
    }

    fn dirs(&self) -> impl Iterator<Item = usize> + '_ {
        [(READ, RD), (WRITE, WR)]
            .into_iter()
            .filter(|(e, _)| self.events & e != 0)
            .map(|(_, d)| d)
    }

    /// Whether the fd is ready now (a poll(2) with no timeout: the truth, not the latch).
    /// Err(Closed) once `close` ran on it, Err(Invalid) if the fd is no longer open.
    pub fn try_now(&self) -> Result<bool, Error> {
        let ticks = {
            let st = self.desc.lock();
            if st.seq != self.seq {
                return Err(Error::Closed);
            }
            if st.reg == Reg::Always {
                return Ok(true);
            }
            [st.dir[RD].tick, st.dir[WR].tick]
        };
        let mut want: libc::c_short = 0;
        if self.events & READ != 0 {
            want |= libc::POLLIN | libc::POLLRDHUP;
        }
        if self.events & WRITE != 0 {
            want |= libc::POLLOUT;
        }
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: want,
            revents: 0,
        };
        // SAFETY: one pollfd we own, no timeout.
        let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
        if rc > 0 {
            if pfd.revents & libc::POLLNVAL != 0 {
                return Err(Error::Invalid);
            }
            return Ok(true); // wanted bits, or POLLHUP / POLLERR: a read or write will not block
        }
        // Not ready: clear the latches no event has set since we looked (an event after the
        // poll bumped the tick and keeps its latch, so `register` will see it).
        let mut st = self.desc.lock();
        if st.seq == self.seq {
            for d in self.dirs() {
                if st.dir[d].tick == ticks[d] {
                    st.dir[d].ready = false;
                }
            }
        }
        Ok(false)
    }

    /// Whether a direction of this source is latched ready (an event came since the latch was
    /// last cleared), without asking poll(2). Err(Closed) once `close` ran on the fd.
    pub(crate) fn latched(&self) -> Result<bool, Error> {
        let st = self.desc.lock();
        if st.seq != self.seq {
            return Err(Error::Closed);
        }
        Ok(st.reg == Reg::Always || self.dirs().any(|d| st.dir[d].ready))
    }

    /// Queues `w` as case `case` on each direction, under the record's lock: false (queued
    /// nowhere) if a direction is already latched ready or the fd was closed meanwhile.
    pub fn register(&self, w: &Arc<Waiter>, case: usize) -> bool {
        {
            let mut st = self.desc.lock();
            if st.seq != self.seq || st.reg != Reg::Epoll || self.dirs().any(|d| st.dir[d].ready) {
                return false;
            }
            for d in self.dirs() {
                st.dir[d].waiters.push((w.clone(), case));
                desc::WAITERS.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(f) = WAITER_ADDED.get() {
            f();
        }
        true
    }

    /// Takes `w` off the fd's lists (after its wait ended, however it ended).
    pub fn unregister(&self, w: &Arc<Waiter>) {
        self.desc.lock().remove(w);
    }
}

/// Wakes every waiter on `fd` with Closed, forgets the fd, then closes it. Err(Invalid) when
/// close(2) fails with EBADF (or another error: the fd is gone either way, except EINTR, which
/// Linux also treats as closed).
pub fn close(fd: i32) -> Result<(), Error> {
    if fd < 0 {
        return Err(Error::Invalid);
    }
    let mut woken = Vec::new();
    let (rc, err) = match desc::get_existing(fd) {
        Some(d) => {
            // The record's lock is held across close(2) (see `desc`): no registration of the
            // number can slip in between forgetting the fd and closing it.
            let mut st = d.lock();
            if st.reg == Reg::Epoll {
                if let Some(p) = poller::active() {
                    p.deregister(fd);
                }
            }
            st.take(RD, &mut woken);
            st.take(WR, &mut woken);
            st.reg = Reg::None;
            st.seq = st.seq.wrapping_add(1);
            for dir in &mut st.dir {
                dir.ready = false;
            }
            // SAFETY: closing an fd number the caller gave us to close.
            let rc = unsafe { libc::close(fd) };
            (rc, errno())
        }
        // SAFETY: as above; goro never registered this number.
        None => (unsafe { libc::close(fd) }, errno()),
    };
    poller::wake_all(woken, false);
    if rc == 0 || err == libc::EINTR {
        Ok(())
    } else {
        Err(Error::Invalid)
    }
}

/// errno of the calling thread, read fresh. Not `std::io::Error::last_os_error`: std declares
/// `__errno_location` `#[ffi_const]`, so the compiler may keep its address from before a park
/// and read another thread's errno after the goroutine moved (the TLS trap, DESIGN.md; seen as
/// a read that "failed" with the ETIMEDOUT of some futex wait). The libc crate's declaration
/// has no such attribute, and not inlining keeps every call a fresh lookup.
#[inline(never)]
pub(crate) fn errno() -> i32 {
    // SAFETY: __errno_location returns the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}

// ---- for the scheduler (sched/poll.rs) --------------------------------------------------

/// What the scheduler does when a waiter was queued on an fd (make sure some worker polls):
/// installed when it starts, since it sits above this module (a worker about to sleep blocks
/// in this poller). The I/O layer starts the runtime before it makes a source (io::source).
static WAITER_ADDED: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Installs the scheduler's side of `register` (sched/mod.rs, at start).
pub(crate) fn install_waiter_added(f: fn()) {
    let _ = WAITER_ADDED.set(f);
}

/// Whether any waiter is queued on any fd.
#[inline]
pub(crate) fn has_waiters() -> bool {
    desc::WAITERS.load(Ordering::Relaxed) != 0
}

/// Whether the poller exists (an fd was ever registered).
#[inline]
pub(crate) fn in_use() -> bool {
    poller::active().is_some()
}

/// Polls until `deadline` (None: forever; a past time: no block) and returns the waiters to
/// wake (pass them to `wake`), so the caller may first take a token to run them.
pub(crate) fn poll(deadline: Option<i64>, blocking: bool) -> Vec<(Arc<Waiter>, usize)> {
    let mut out = Vec::new();
    if let Some(p) = poller::active() {
        p.poll(deadline, blocking, &mut out);
    }
    out
}

/// Wakes waiters returned by `poll` as ready.
pub(crate) fn wake(list: Vec<(Arc<Waiter>, usize)>) {
    poller::wake_all(list, true);
}

/// Makes a blocking `poll` return now.
pub(crate) fn break_poll() {
    if let Some(p) = poller::active() {
        p.wake();
    }
}

/// When a poll last finished (CLOCK_MONOTONIC ns).
pub(crate) fn last_poll_ns() -> i64 {
    poller::LAST_POLL.load(Ordering::Relaxed)
}
