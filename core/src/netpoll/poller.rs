//! The epoll instance: registration of fds, the wake-up eventfd, and turning events into wakes.
//!
//! One epoll set for the process, made on first use. Every fd is added once, edge-triggered
//! for both directions (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, as Go's netpoll_epoll.go),
//! so an fd costs no epoll_ctl per wait; its user data is `fd << 32 | seq` (see `desc`). An
//! eventfd sits in the set level-triggered with its own tag: writing it makes a worker blocked
//! in epoll_wait return (Go's netpollBreak), and only a *blocking* poll drains it, so a
//! non-blocking poll that happens to see it cannot steal the wake meant for the sleeper (with
//! level triggering the event stays reported until drained).
//!
//! `poll` may run on several threads at once (the worker sleeping in the poller, a worker
//! polling without blocking as it looks for work, sysmon): epoll hands each event to one of
//! them, and a record's lock orders the latch against waiters being queued.
//!
//! Rejected: a poller thread of its own (every wake would cross threads twice; Go joins the
//! poller to the scheduler, and so do we, in sched/poll.rs); level-triggered fds (every ready
//! fd nobody reads would be reported at every poll); EPOLLONESHOT (one epoll_ctl per wait).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use super::desc::{self, Reg, State, RD, WR};
use crate::clock::now_ns;
use crate::park::Waiter;
use crate::Error;

/// Events asked for every fd.
const EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
/// The eventfd's user data (no fd record has it: fd numbers are below 2^31).
const WAKE_TAG: u64 = u64::MAX;
/// Events taken per epoll_wait (Go's netpoll takes 128).
const BATCH: usize = 128;

pub(crate) struct Poller {
    epfd: i32,
    evfd: i32,
    /// A wake is written to the eventfd and not drained yet (Go's netpollWakeSig): wakers write
    /// only when this was false.
    wake_pending: AtomicBool,
}

static POLLER: OnceLock<Option<Poller>> = OnceLock::new();
/// When a poll last finished (CLOCK_MONOTONIC ns), for sysmon.
pub(crate) static LAST_POLL: AtomicI64 = AtomicI64::new(0);
/// epoll_pwait2 (ns timeouts) is missing (old kernels, valgrind 3.19): use epoll_wait (ms).
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

/// The poller, made on first use; Err(NoMemory) when the kernel gives no epoll or eventfd.
pub(crate) fn get() -> Result<&'static Poller, Error> {
    POLLER
        .get_or_init(Poller::create)
        .as_ref()
        .ok_or(Error::NoMemory)
}

/// The poller if some fd was ever registered (the scheduler's hooks cost nothing before).
#[inline]
pub(crate) fn active() -> Option<&'static Poller> {
    POLLER.get().and_then(|p| p.as_ref())
}

use super::errno;

impl Poller {
    fn create() -> Option<Poller> {
        // SAFETY: plain syscalls with constant flags.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return None;
        }
        // SAFETY: as above.
        let evfd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if evfd < 0 {
            // SAFETY: closing the epoll fd we just made and nobody else knows.
            unsafe { libc::close(epfd) };
            return None;
        }
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: WAKE_TAG,
        };
        // SAFETY: both fds are ours; `ev` lives across the call.
        if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, evfd, &mut ev) } != 0 {
            // SAFETY: ours, unpublished.
            unsafe {
                libc::close(evfd);
                libc::close(epfd);
            }
            return None;
        }
        LAST_POLL.store(now_ns(), Ordering::Relaxed);
        Some(Poller {
            epfd,
            evfd,
            wake_pending: AtomicBool::new(false),
        })
    }

    /// Registers `fd` under the record's lock `st` (seq bumped, latches cleared). Waiters of an
    /// earlier registration are moved to `stale` (the caller wakes them as closed).
    pub(crate) fn register(
        &self,
        fd: i32,
        st: &mut State,
        stale: &mut Vec<(Arc<Waiter>, usize)>,
    ) -> Result<(), Error> {
        let (dev, ino, socket) = identity(fd)?;
        st.take(RD, stale);
        st.take(WR, stale);
        st.seq = st.seq.wrapping_add(1);
        st.dev = dev;
        st.ino = ino;
        st.socket = socket;
        st.nonblock = false;
        for d in &mut st.dir {
            d.ready = false;
        }
        if fd == self.epfd || fd == self.evfd {
            st.reg = Reg::None;
            return Err(Error::Invalid);
        }
        let mut ev = libc::epoll_event {
            events: EVENTS,
            u64: (fd as u64) << 32 | st.seq as u64,
        };
        // SAFETY: `ev` lives across the call; a bad fd only gives an error.
        let mut rc = unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if rc != 0 && errno() == libc::EEXIST {
            // This very file is still in the set from a registration we forgot (the fd was
            // closed by a plain close(2) while a dup kept the file open, then dup'd back):
            // give it the new seq.
            // SAFETY: as above.
            rc = unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_MOD, fd, &mut ev) };
        }
        if rc == 0 {
            st.reg = Reg::Epoll;
            return Ok(());
        }
        match errno() {
            libc::EPERM => {
                st.reg = Reg::Always;
                Ok(())
            }
            _ => {
                st.reg = Reg::None;
                Err(Error::Invalid)
            }
        }
    }

    /// Takes `fd` out of the set (goro_fd_close, before the close itself).
    pub(crate) fn deregister(&self, fd: i32) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: a bad or unregistered fd only gives an error, which changes nothing here.
        unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Makes a blocking `poll` return (Go's netpollBreak). At most one write per drain.
    pub(crate) fn wake(&self) {
        // AcqRel pairs with the swap in `drain_wake`.
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a local into our eventfd. A full counter (EAGAIN)
            // already means "readable", which is all a wake needs.
            unsafe { libc::write(self.evfd, (&one as *const u64).cast(), 8) };
        }
    }

    fn drain_wake(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a local from our non-blocking eventfd.
        unsafe { libc::read(self.evfd, (&mut v as *mut u64).cast(), 8) };
        self.wake_pending.store(false, Ordering::Release);
    }

    /// Waits for events until `deadline` (CLOCK_MONOTONIC ns; None: forever; Some(0) or any
    /// past time: do not block), and moves the waiters of every ready direction into `out`
    /// (claimed by nobody yet: the caller wakes them with `wake_all`). `blocking` polls also
    /// drain the eventfd. Returns whether anything but the eventfd was seen.
    pub(crate) fn poll(
        &self,
        deadline: Option<i64>,
        blocking: bool,
        out: &mut Vec<(Arc<Waiter>, usize)>,
    ) -> bool {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
        let n = self.epoll_wait(&mut evs, deadline);
        LAST_POLL.store(now_ns(), Ordering::Relaxed);
        let mut seen = false;
        for ev in &evs[..n] {
            let (bits, data) = (ev.events, ev.u64);
            if data == WAKE_TAG {
                if blocking {
                    self.drain_wake();
                }
                continue;
            }
            seen = true;
            let fd = (data >> 32) as i32;
            let seq = data as u32;
            let Some(d) = desc::get_existing(fd) else {
                continue;
            };
            let rd =
                bits & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
            let wr = bits & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;
            let mut st = d.lock();
            if st.seq != seq || st.reg != Reg::Epoll {
                continue; // an event for a registration closed since (see desc)
            }
            for (dir, hit) in [(RD, rd != 0), (WR, wr != 0)] {
                if hit {
                    st.dir[dir].ready = true;
                    st.dir[dir].tick = st.dir[dir].tick.wrapping_add(1);
                    st.take(dir, out);
                }
            }
        }
        seen
    }

    fn epoll_wait(&self, evs: &mut [libc::epoll_event; BATCH], deadline: Option<i64>) -> usize {
        loop {
            let rem = deadline.map(|d| (d - now_ns()).max(0));
            let rc = if !NO_PWAIT2.load(Ordering::Relaxed) && rem.is_some_and(|r| r > 0) {
                let r = rem.unwrap_or(0);
                let ts = libc::timespec {
                    tv_sec: (r / 1_000_000_000) as libc::time_t,
                    tv_nsec: (r % 1_000_000_000) as libc::c_long,
                };
                // SAFETY: epoll_pwait2(epfd, events, maxevents, timeout, sigmask NULL, size):
                // the buffer holds BATCH events and `ts` lives across the call.
                let rc = unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        self.epfd,
                        evs.as_mut_ptr(),
                        BATCH as libc::c_int,
                        &ts as *const libc::timespec,
                        std::ptr::null::<libc::sigset_t>(),
                        0usize,
                    )
                } as i32;
                if rc < 0 && errno() == libc::ENOSYS {
                    NO_PWAIT2.store(true, Ordering::Relaxed);
                    continue;
                }
                rc
            } else {
                // Milliseconds, rounded up: never wake before the timer is due.
                let ms = match rem {
                    None => -1,
                    Some(r) => ((r + 999_999) / 1_000_000).min(i32::MAX as i64) as i32,
                };
                // SAFETY: the buffer holds BATCH events.
                unsafe { libc::epoll_wait(self.epfd, evs.as_mut_ptr(), BATCH as i32, ms) }
            };
            if rc >= 0 {
                return rc as usize;
            }
            if errno() != libc::EINTR {
                return 0;
            }
            if deadline.is_some_and(|d| d <= now_ns()) {
                return 0;
            }
        }
    }
}

/// Wakes each waiter as ready (`ok`) or closed (`!ok`), if it is still waiting.
pub(crate) fn wake_all(list: Vec<(Arc<Waiter>, usize)>, ok: bool) {
    for (w, case) in list {
        if w.claim_case(case, ok) {
            w.wake();
        }
    }
}

/// (st_dev, st_ino, is a socket) of an open fd; Err(Invalid) for a closed one.
pub(crate) fn identity(fd: i32) -> Result<(u64, u64, bool), Error> {
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut sb: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the stat we own; a bad fd only gives an error.
    if unsafe { libc::fstat(fd, &mut sb) } != 0 {
        return Err(Error::Invalid);
    }
    Ok((
        sb.st_dev as u64,
        sb.st_ino as u64,
        sb.st_mode & libc::S_IFMT == libc::S_IFSOCK,
    ))
}
