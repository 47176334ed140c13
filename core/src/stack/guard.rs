//! Guard pages: installing the guard below each stack slot, a whole slab's guards at once.
//!
//! First choice: `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+): the guard is marked in the page
//! tables and costs no memory map, so a million slots fit under `vm.max_map_count`. All the
//! guards of a new slab go to the kernel in one `process_madvise` call (one iovec per slot,
//! on our own process through `PIDFD_SELF`, Linux 6.15+), instead of one `madvise` per slot:
//! on a fresh 1,000,000-slot layout of 256-slot slabs, 1.17-1.37 µs per guard against
//! 1.63-1.70 µs (a C loop doing the same calls; what is left is the kernel's page walk, the
//! 16 markers and the page tables it allocates). A kernel that refuses the batch (ENOSYS,
//! EINVAL, EBADF) gets one `madvise` per slot from then on; a short batch (ENOMEM) is redone
//! per slot for that slab only, since installing a guard twice is harmless; under valgrind
//! (which knows no `process_madvise`) the batch is not tried. A kernel that answers EINVAL to
//! `madvise` itself is older than 6.13: from then on every guard is made with
//! `mprotect(PROT_NONE)`, which splits the slab's mapping (two maps per slot) and so limits
//! how many goroutines fit, but still catches every overflow. Guards of every kind survive
//! MADV_DONTNEED and MADV_FREE.
//!
//! Rejected: probing the kernel version (containers and backports lie; the call itself is the
//! test); no guard at all when the map budget runs out (a silent overflow into the next slot
//! corrupts another goroutine: DESIGN.md rules it out); installing guards lazily, at a slot's
//! first use (the same kernel work, one call per spawn instead of per slab); a smaller guard
//! (one page costs 0.9 µs against 1.25 µs for 64 KiB, but a large C frame could step over it);
//! `pidfd_open` for kernels 6.13-6.14 without `PIDFD_SELF` (an fd held open for ever, which a
//! host that closes every fd would break: those kernels take the per-slot path).

use std::sync::atomic::{AtomicU32, Ordering};

use super::config::{GUARD, MAX_SLOTS_PER_SLAB};
use super::{valgrind, StackError};

/// libc has no constant for it (DESIGN.md: "Verified on these machines").
const MADV_GUARD_INSTALL: libc::c_int = 102;
/// linux/pidfd.h: the calling process, as a pidfd (Linux 6.15+); libc has no constant.
const PIDFD_SELF_PROCESS: libc::c_int = -10001;

const UNKNOWN: u32 = 0;
const MADVISE: u32 = 1;
const MPROTECT: u32 = 2;

/// Which way guards are made: UNKNOWN until the first try, then MADVISE or MPROTECT for good.
/// Relaxed: a stale read only costs one more refused madvise.
static GUARD_MODE: AtomicU32 = AtomicU32::new(UNKNOWN);

/// Whether a slab's guards may go in one `process_madvise`: UNKNOWN until the first try, then
/// MADVISE (yes) or MPROTECT (no: per slot) for good. Relaxed, as `GUARD_MODE`.
static BATCH_MODE: AtomicU32 = AtomicU32::new(UNKNOWN);

/// Makes `addr..addr + GUARD` fault on any access, for each of the `n` slots at `first`,
/// `first + stride`, ... (the slots of a slab just mapped, which no goroutine uses yet).
pub(super) fn install_guards(first: usize, stride: usize, n: usize) -> Result<(), StackError> {
    if n <= MAX_SLOTS_PER_SLAB
        && BATCH_MODE.load(Ordering::Relaxed) != MPROTECT
        && GUARD_MODE.load(Ordering::Relaxed) != MPROTECT
        && !valgrind::running()
    {
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_SLOTS_PER_SLAB];
        for (i, v) in iov[..n].iter_mut().enumerate() {
            v.iov_base = (first + i * stride) as *mut libc::c_void;
            v.iov_len = GUARD;
        }
        // SAFETY: each range is the guard at the bottom of a slot of a slab this allocator
        // just mapped (`SizeClass::grow`), which no goroutine uses yet; `iov` holds `n`
        // initialised entries and outlives the call. n <= 256 < UIO_MAXIOV (1024).
        let done = unsafe {
            libc::syscall(
                libc::SYS_process_madvise,
                PIDFD_SELF_PROCESS,
                iov.as_ptr(),
                n,
                MADV_GUARD_INSTALL,
                0,
            )
        };
        if done == (n * GUARD) as libc::c_long {
            BATCH_MODE.store(MADVISE, Ordering::Relaxed);
            GUARD_MODE.store(MADVISE, Ordering::Relaxed);
            return Ok(());
        }
        // Refused: per slot from now on. Short (memory pressure): per slot for this slab
        // only. Redoing a guard already made is harmless.
        if done < 0 && refused() {
            BATCH_MODE.store(MPROTECT, Ordering::Relaxed);
        }
    }
    (0..n).try_for_each(|i| install_guard(first + i * stride))
}

/// Whether the `process_madvise` that just failed was refused for good (no such syscall, no
/// `PIDFD_SELF`, an advice it does not take, a seccomp filter), not for lack of memory.
pub(super) fn refused() -> bool {
    !matches!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ENOMEM | libc::EAGAIN | libc::EINTR)
    )
}

/// Makes `addr..addr + GUARD` fault on any access.
fn install_guard(addr: usize) -> Result<(), StackError> {
    if GUARD_MODE.load(Ordering::Relaxed) != MPROTECT {
        // SAFETY: `addr..addr+GUARD` is the bottom of a slot in a slab this allocator just
        // mapped (`SizeClass::grow`), which no goroutine uses yet.
        let r = unsafe { libc::madvise(addr as *mut libc::c_void, GUARD, MADV_GUARD_INSTALL) };
        if r == 0 {
            GUARD_MODE.store(MADVISE, Ordering::Relaxed);
            return Ok(());
        }
        // EINVAL: a kernel older than 6.13. Fall back for good.
        GUARD_MODE.store(MPROTECT, Ordering::Relaxed);
    }
    // SAFETY: the same fresh, unused range of our own slab; PROT_NONE only takes access away.
    let r = unsafe { libc::mprotect(addr as *mut libc::c_void, GUARD, libc::PROT_NONE) };
    if r == 0 {
        Ok(())
    } else {
        Err(StackError::NoMemory)
    }
}
