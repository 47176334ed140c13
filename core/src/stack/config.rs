//! Stack sizes and the allocator's tuning numbers, and `GORO_STACK_SIZE`.
//!
//! The environment is read once, the first time a default-sized stack is asked for; a value
//! out of range is reported on stderr and the default used, so a typo never stops a program.
//!
//! Rejected: reading the variable at every spawn (a syscall-free but still needless lookup on
//! the hottest path), and failing the first spawn on a bad value (the C contract has no place
//! to report it).

use std::sync::OnceLock;

/// Bytes of guard below every stack. More than one page, so that a C function with a large
/// frame (compiled without stack-clash protection) cannot step over the guard into the next
/// slot. With MADV_GUARD_INSTALL a guard costs address space only.
pub(super) const GUARD: usize = 64 * 1024;
/// Smallest stack a goroutine may ask for (goro_go_ex, GORO_STACK_SIZE).
pub const MIN_STACK: usize = 16 * 1024;
/// Largest stack a goroutine may ask for.
pub const MAX_STACK: usize = 1 << 30;
/// Default usable stack: CONTRACT.md promises at least 256 KiB.
pub const DEFAULT_STACK: usize = 256 * 1024;
/// Slabs the overflow handler can look up; 16,384 slabs of 256 default slots is 4 M goroutines.
pub(super) const MAX_SLABS: usize = 16 * 1024;
/// Address space per slab, aimed at. DESIGN.md's prototype (1,000,000 parked coroutines at
/// about 32 map lines) used 256 slots of 4 KiB guard + 256 KiB stack per mapping.
pub(super) const SLAB_BYTES: usize = 128 << 20;
/// Most slots in one slab (the same prototype's figure).
pub(super) const MAX_SLOTS_PER_SLAB: usize = 256;
/// Free slots kept committed when `scavenge` hands wholly free slabs back to the kernel:
/// enough for a burst of spawns to land on warm pages (a fresh slot costs 3.5-12 µs of first
/// touch here against 0.4 µs reused, DESIGN.md). Set with the scavenger (commit 63447c8).
pub(super) const WARM_SLOTS: usize = 4096;
/// Slots moved between a thread's cache and its class's free list at a time. Set by W1 in
/// benches/ (spawn and exit churn) with the per-thread caches (commit a12f569): large enough
/// that spawning workers rarely meet on the class lock, small enough that an idle thread sits
/// on few slots.
pub(super) const BATCH: usize = 32;
/// The page size this allocator assumes (x86-64 and AArch64 Linux with 4 KiB pages).
pub(super) const PAGE: usize = 4096;

/// The stack size from `GORO_STACK_SIZE` (bytes, or with a K/M/G suffix), else the default.
pub fn default_stack_size() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| match std::env::var("GORO_STACK_SIZE") {
        Ok(v) => match parse_size(&v) {
            Some(n) if (MIN_STACK..=MAX_STACK).contains(&n) => n,
            _ => {
                eprintln!(
                    "goro: ignoring GORO_STACK_SIZE={v:?}: want bytes between {MIN_STACK} and {MAX_STACK}, \
                     optionally with a K, M or G suffix"
                );
                DEFAULT_STACK
            }
        },
        Err(_) => DEFAULT_STACK,
    })
}

fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.trim().parse::<usize>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("512K"), Some(512 << 10));
        assert_eq!(parse_size("2m"), Some(2 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }
}
