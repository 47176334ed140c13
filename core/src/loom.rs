//! The one place core's lock-free state machines get their atomics from: loom's under
//! `--cfg loom` (so `core/tests/loom_*.rs` can explore every interleaving), std's otherwise.
//!
//! What goes through here: every atomic *field* that takes part in a protocol between threads
//! (a goroutine's status word, a Waiter's claim, a worker's run-next slot, phase, wake bits
//! and schedule count, a stack slab's owners and free counts). What does not: `static`
//! atomics (loom's are not `const`-constructible, and a model must start from fresh state
//! each execution, which a static cannot), and counters only ever read for reports.
//!
//! Rejected: `cfg(loom)` switches in each file (tokio's `loom/mod.rs` shows why one facade is
//! better: a file that forgets the switch is silently unmodelled); wrapping std's types in our
//! own (loom's mirror std's API, so a re-export costs nothing outside loom).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8,
    AtomicUsize,
};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8,
    AtomicUsize,
};
