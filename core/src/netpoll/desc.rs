//! The descriptor table: one record per fd number, as Go's pollDesc (runtime/netpoll.go).
//!
//! A record is found by arithmetic from the fd number (a two-level table of lazily made chunks
//! of 1,024 records, never freed: a record outlives every close of its fd, as Go's pollcache
//! keeps its pollDescs), so the poller can map an epoll event back to it without a lock or a
//! hash lookup. Each record carries:
//!
//! - `seq`, bumped at every registration and every `goro_fd_close`. The epoll registration's
//!   user data is `fd << 32 | seq`: an event that arrives for a registration that has since been
//!   closed (and maybe made again for a new file with the same number) carries an old `seq` and
//!   is dropped, so a reused fd never sees a stale wake-up (Go's pollDesc.fdseq).
//! - what the fd was registered as: (st_dev, st_ino) from fstat, so a wait can tell that the
//!   number now names another file (closed with a plain close(2) and reused by the OS): it then
//!   registers the new file under a new `seq` and wakes the old waiters with "closed".
//! - per direction (read, write): a readiness latch set by the poller, a tick counting events,
//!   and the waiters queued on it. A ready direction wakes *all* its waiters (several goroutines
//!   and threads may wait on one fd).
//!
//! Invariants (under the record's lock): a waiter queued on a direction means that direction's
//! latch was clear when it was queued. `goro_fd_close` holds the lock across close(2) itself,
//! so whoever takes the lock next sees either the old file still registered or the number
//! closed (or already reused for a new file, which then registers afresh): an fd number that
//! the OS hands out again the instant it is closed is never mistaken for the closing one.
//!
//! Lock order: a record's lock is taken alone; nothing is woken while it is held.
//!
//! Rejected: a hash map of registrations (a lock shared by every fd on every event); freeing
//! records at close (the poller may still hold a pointer from an event in flight: Go keeps them
//! too); consuming readiness on every wait as Go's netpollblock does (two waiters on one ready
//! fd would see one "ready" between them: here the latch stays until a non-blocking check finds
//! the fd not ready, which is what a waiter of `goro_fd_wait` expects from a level-style call).

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::park::Waiter;
use crate::Error;

/// Direction index: read.
pub(crate) const RD: usize = 0;
/// Direction index: write.
pub(crate) const WR: usize = 1;

const CHUNK: usize = 1024;
/// 4,194,304 fd numbers: above fs.nr_open here (1,048,576), the kernel's own ceiling for
/// RLIMIT_NOFILE on common setups; a larger number gets `Error::Invalid`.
const CHUNKS: usize = 4096;

/// How an fd is known to the poller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reg {
    /// Not registered (never, or closed since).
    None,
    /// In the epoll set.
    Epoll,
    /// epoll refused it (EPERM: a regular file, a directory): always ready, as Go treats them.
    Always,
}

/// One direction of a record. Guarded by the record's lock.
#[derive(Default)]
pub(crate) struct Dir {
    /// Set by the poller when an event arrives; cleared by a non-blocking check that found the
    /// fd not ready with no event in between (same `tick`).
    pub(crate) ready: bool,
    /// Events seen for this direction (wrapping).
    pub(crate) tick: u32,
    /// Waiters and the case each waits as.
    pub(crate) waiters: Vec<(Arc<Waiter>, usize)>,
}

/// What a record knows. Guarded by the record's lock.
pub(crate) struct State {
    pub(crate) seq: u32,
    pub(crate) reg: Reg,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) socket: bool,
    /// O_NONBLOCK set by us for this registration (the I/O calls need it).
    pub(crate) nonblock: bool,
    pub(crate) dir: [Dir; 2],
}

/// See the module doc.
pub(crate) struct PollDesc {
    st: Mutex<State>,
}

/// Waiters queued on any record (Go's netpollWaiters): pollers skip the syscall when it is 0.
/// Changed under the record locks; read without.
pub(crate) static WAITERS: AtomicUsize = AtomicUsize::new(0);

impl PollDesc {
    fn new() -> PollDesc {
        PollDesc {
            st: Mutex::new(State {
                seq: 0,
                reg: Reg::None,
                dev: 0,
                ino: 0,
                socket: false,
                nonblock: false,
                dir: Default::default(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock()
    }
}

impl State {
    /// Takes every waiter of direction `d` (the caller wakes them after unlocking).
    pub(crate) fn take(&mut self, d: usize, out: &mut Vec<(Arc<Waiter>, usize)>) {
        let n = self.dir[d].waiters.len();
        if n > 0 {
            WAITERS.fetch_sub(n, Ordering::Relaxed);
            out.append(&mut self.dir[d].waiters);
        }
    }

    /// Removes `w` from both directions.
    pub(crate) fn remove(&mut self, w: &Arc<Waiter>) {
        for d in &mut self.dir {
            let before = d.waiters.len();
            d.waiters.retain(|(x, _)| !Arc::ptr_eq(x, w));
            let gone = before - d.waiters.len();
            if gone > 0 {
                WAITERS.fetch_sub(gone, Ordering::Relaxed);
            }
        }
    }
}

struct Table {
    chunks: [AtomicPtr<PollDesc>; CHUNKS],
}

static TABLE: Table = Table {
    chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS],
};

/// The record of `fd`, made if need be. Err(Invalid) for a negative or too large number.
pub(crate) fn get(fd: i32) -> Result<&'static PollDesc, Error> {
    let (c, i) = split(fd)?;
    let mut p = TABLE.chunks[c].load(Ordering::Acquire);
    if p.is_null() {
        let fresh: Box<[PollDesc]> = (0..CHUNK).map(|_| PollDesc::new()).collect();
        let fresh = Box::into_raw(fresh).cast::<PollDesc>();
        // AcqRel pairs with the Acquire load above in other threads: the records are built
        // before anyone sees the pointer.
        match TABLE.chunks[c].compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => p = fresh,
            Err(theirs) => {
                // SAFETY: `fresh` came from Box::into_raw of a CHUNK-long boxed slice just above
                // and was never published (the CAS failed).
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(fresh, CHUNK)) });
                p = theirs;
            }
        }
    }
    // SAFETY: `p` points at a leaked CHUNK-long slice of records that is never freed, and
    // i < CHUNK.
    Ok(unsafe { &*p.add(i) })
}

/// The record of `fd` if its chunk exists (close of an fd goro never saw makes none).
pub(crate) fn get_existing(fd: i32) -> Option<&'static PollDesc> {
    let (c, i) = split(fd).ok()?;
    let p = TABLE.chunks[c].load(Ordering::Acquire);
    // SAFETY: as in `get`.
    (!p.is_null()).then(|| unsafe { &*p.add(i) })
}

fn split(fd: i32) -> Result<(usize, usize), Error> {
    let fd = usize::try_from(fd).map_err(|_| Error::Invalid)?;
    if fd >= CHUNK * CHUNKS {
        return Err(Error::Invalid);
    }
    Ok((fd / CHUNK, fd % CHUNK))
}
