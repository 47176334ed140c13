//! The one place the lock-free state machines get their atomics from: loom's under
//! `--cfg loom` (so `core/tests/loom_*.rs` can explore every interleaving), std's otherwise.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicUsize};
