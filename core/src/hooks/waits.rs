//! Wait hooks: what the Waiter calls around every wait, so the block and mutex profiles and
//! the record of where goroutines wait (`trace::block`) hear of waits without the Waiter
//! naming them.
//!
//! With nothing watching, a wait pays one relaxed load (`waits_watched`), of a word on a cache
//! line of its own (every wait of every worker reads it; nothing else should share its line).
//! The watch bits are the installer's to define (trace::block keeps its BLOCK, MUTEX and
//! TRACEBACK there), this module only tests them for zero. The hooks are installed once,
//! before the first bit is set.
//!
//! Rejected: checking an installed function pointer instead of a watch word (then turning
//! profiling off would need an uninstall, racing with waits in progress), and passing the
//! Waiter to the hooks (what they need is the reason and the time; the stack they walk is the
//! caller's own).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crossbeam_utils::CachePadded;

use crate::reason::WaitReason;

/// What `wait_begin` and `wait_end` call.
pub(crate) struct WaitHooks {
    /// Before a wait: records what it must (where the goroutine waits) and returns the time
    /// the wait starts (CLOCK_MONOTONIC ns).
    pub(crate) begin: fn() -> i64,
    /// After a wait: the reason it waited for and the time `begin` returned.
    pub(crate) end: fn(reason: WaitReason, start_ns: i64),
}

static HOOKS: OnceLock<WaitHooks> = OnceLock::new();
static WATCH: CachePadded<AtomicU8> = CachePadded::new(AtomicU8::new(0));

/// Installs the wait hooks; the first call wins. `trace::block` only, before it sets any
/// watch bit.
pub(crate) fn install_wait_hooks(h: WaitHooks) {
    let _ = HOOKS.set(h);
}

/// The watch bits (nonzero: every wait calls the hooks). For the installer only.
pub(crate) fn watch_bits() -> &'static AtomicU8 {
    &WATCH
}

/// Whether a wait must call `wait_begin` and `wait_end`: one relaxed load. Relaxed: a wait
/// that misses a bit just set is merely not sampled.
#[inline]
pub(crate) fn waits_watched() -> bool {
    WATCH.load(Ordering::Relaxed) != 0
}

// Until `Waiter::wait` (park.rs, being rewritten for issue 10's wait protocol) calls these two
// instead of `trace::block::before_wait`/`after_wait`, nothing in the crate does.
/// Before a wait (`waits_watched()` was true). Returns what to hand to `wait_end`: None when
/// the hooks are not visible to this thread yet (a bit set a moment ago).
#[allow(dead_code)]
pub(crate) fn wait_begin() -> Option<i64> {
    HOOKS.get().map(|h| (h.begin)())
}

/// After a wait, with what `wait_begin` returned.
#[allow(dead_code)]
pub(crate) fn wait_end(reason: WaitReason, begun: Option<i64>) {
    if let (Some(h), Some(start)) = (HOOKS.get(), begun) {
        (h.end)(reason, start);
    }
}
