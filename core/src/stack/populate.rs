//! Committing the top pages of slots a thread's cache takes for the first time, in one call.
//!
//! A fresh slot costs its goroutine one page: the top page, where the record and the first
//! frames go (`slab.rs`). Left to itself the kernel commits it at the first write, a page
//! fault taken in the middle of `spawn`. Instead, when `SizeClass::take_batch` hands a
//! thread's cache a batch holding slots never used since their slab was mapped (or
//! scavenged), their top pages are committed with one `process_madvise(MADV_POPULATE_WRITE)`
//! (Linux 5.14+ for the advice, 6.15+ for `PIDFD_SELF`): one syscall per batch of 32 instead
//! of 32 faults. Only pages of slots now owned by the calling thread's cache are committed:
//! at most a batch (32 pages) ahead of the spawns that touch them, so W9 in benches/ keeps its
//! KiB per parked goroutine.
//! A kernel that refuses (or valgrind, which does not know the syscall) is asked once: the
//! pages then fault in as before.
//!
//! Measured on W9 in benches/ (1,000,000 parked goroutines, GOMAXPROCS=2, perf stat):
//! page-fault traps 1.11 to 0.12 per goroutine (those left are the heap's); the kernel's work
//! per page stays (about 1.5 µs here, mostly allocating and zeroing it); the trap and the
//! fault path go, and user time over the spawns fell from 3.0 to 1.7 µs per goroutine (most
//! of it the other worker spinning while the spawner sat in faults).
//!
//! Rejected: committing every slot of a slab when it is mapped (256 pages, 1 MiB, at the first
//! spawn of a program that may run only a few goroutines); `MAP_POPULATE` (commits the whole
//! mapping); a `madvise` per slot (a syscall costs what the fault it saves does); touching the
//! pages from a background thread (the same kernel work, on a core the program may need);
//! an idle worker committing the next 64 free slots (and mapping the next slab) ahead of the
//! spawner, in four variants: W9 slower in each, 4.37-5.23 µs a spawn against 4.03-4.76
//! (benches/RESULTS.md, 2026-12-07 11:40: both CPUs are already full, so the work moved and
//! grew); the spawner writing its batch's pages instead (fewer memory-map lock waits, a
//! fault trap a page more: within noise).

use std::sync::atomic::{AtomicU32, Ordering};

use super::config::PAGE;
use super::valgrind;

/// linux/mman.h (libc has it only on some targets).
const MADV_POPULATE_WRITE: libc::c_int = 23;
/// linux/pidfd.h: the calling process, as a pidfd (Linux 6.15+); libc has no constant.
const PIDFD_SELF_PROCESS: libc::c_int = -10001;

const UNKNOWN: u32 = 0;
const WORKS: u32 = 1;
const REFUSED: u32 = 2;

/// Whether the kernel takes the batch. Relaxed: a stale read costs one more refused call.
static MODE: AtomicU32 = AtomicU32::new(UNKNOWN);

/// Whether the kernel has taken a batch (for tests).
#[cfg(test)]
pub(super) fn works() -> bool {
    MODE.load(Ordering::Relaxed) == WORKS
}

/// Commits the page at each address in `tops` (page-aligned top pages of slots the caller
/// owns and no goroutine runs on). Best effort: pages it leaves out fault in when first used.
pub(super) fn populate_tops(tops: &[usize]) {
    if tops.is_empty() || MODE.load(Ordering::Relaxed) == REFUSED {
        return;
    }
    if valgrind::running() {
        MODE.store(REFUSED, Ordering::Relaxed);
        return;
    }
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; super::config::BATCH];
    let n = tops.len().min(iov.len());
    for (v, &top) in iov.iter_mut().zip(tops) {
        v.iov_base = top as *mut libc::c_void;
        v.iov_len = PAGE;
    }
    // SAFETY: each range is one page inside a slot of a live slab that the calling thread
    // owns and no goroutine uses yet; committing it (zero-filled, as a first touch would)
    // changes no data. `iov` holds `n` initialised entries and outlives the call.
    let done = unsafe {
        libc::syscall(
            libc::SYS_process_madvise,
            PIDFD_SELF_PROCESS,
            iov.as_ptr(),
            n,
            MADV_POPULATE_WRITE,
            0,
        )
    };
    if done == (n * PAGE) as libc::c_long {
        MODE.store(WORKS, Ordering::Relaxed);
    } else if done < 0 && super::guard::refused() {
        // Memory pressure (a short count, ENOMEM) is no reason to stop trying; a refusal is.
        MODE.store(REFUSED, Ordering::Relaxed);
    }
}
