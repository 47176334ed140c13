//! Guard pages: installing the guard below each stack slot.
//!
//! First choice: `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+): the guard is marked in the page
//! tables and costs no memory map, so a million slots fit under `vm.max_map_count`. A kernel
//! that answers EINVAL is older: from then on every guard is made with `mprotect(PROT_NONE)`,
//! which splits the slab's mapping (two maps per slot) and so limits how many goroutines fit,
//! but still catches every overflow. Guards of both kinds survive MADV_DONTNEED and MADV_FREE.
//!
//! Rejected: probing the kernel version (containers and backports lie; the call itself is the
//! test), and no guard at all when the map budget runs out (a silent overflow into the next
//! slot corrupts another goroutine: DESIGN.md rules it out).

use std::sync::atomic::{AtomicU32, Ordering};

use super::config::GUARD;
use super::StackError;

/// libc has no constant for it (DESIGN.md: "Verified on these machines").
const MADV_GUARD_INSTALL: libc::c_int = 102;

const UNKNOWN: u32 = 0;
const MADVISE: u32 = 1;
const MPROTECT: u32 = 2;

/// Which way guards are made: UNKNOWN until the first try, then MADVISE or MPROTECT for good.
/// Relaxed: a stale read only costs one more refused madvise.
static GUARD_MODE: AtomicU32 = AtomicU32::new(UNKNOWN);

/// Makes `addr..addr + GUARD` fault on any access.
pub(super) fn install_guard(addr: usize) -> Result<(), StackError> {
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
