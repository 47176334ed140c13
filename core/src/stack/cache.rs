//! The per-thread slot cache: free slots of the default class held by one thread, so that
//! most goroutines start and end without touching the class's lock (which spawning and
//! exiting workers would otherwise fight over: W1 in benches/).
//!
//! Slots move between a cache and its class's free list in batches of `BATCH`. A cache that
//! reaches twice that gives back its oldest half (the most recently freed slots stay warm
//! here); a thread that ends gives all of its slots back. While handing out a slot the cache
//! prefetches the next one's top lines, which were most likely last written on another CPU.
//!
//! Rejected: a cache per worker in the worker record (plain threads and sysmon free slots too,
//! and a goroutine may exit on another worker than it started on: the thread is what matters),
//! and a lock-free global stack of slots (ABA on slot reuse, and every spawn would still
//! bounce one cache line between CPUs).

use super::config::BATCH;
use super::slab::{SizeClass, SlotStack};
use super::{classes, StackError};

struct LocalCache {
    slots: Vec<(u32, u32)>,
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        // A thread that ends gives its slots back.
        if let Some(class) = classes::default_class() {
            class.put_back(self.slots.drain(..));
        }
    }
}

thread_local! {
    static CACHE: std::cell::RefCell<LocalCache> =
        const { std::cell::RefCell::new(LocalCache { slots: Vec::new() }) };
}

/// Takes a slot of the default `class` from this thread's cache. Never inlined: a goroutine
/// may move between threads (the TLS trap).
#[inline(never)]
pub(super) fn local_alloc(class: &'static SizeClass) -> Result<SlotStack, StackError> {
    let got = CACHE.try_with(|c| {
        let mut c = c.borrow_mut();
        if c.slots.is_empty() {
            class.take_batch(&mut c.slots, BATCH)?;
        }
        let (slab, index) = c.slots.pop().expect("a batch has at least one slot");
        if let Some(&(ns, ni)) = c.slots.last() {
            // The next slot handed out was most likely freed on another CPU: start pulling
            // its top lines (the goroutine record, the first frame) into this CPU's cache now,
            // so the next spawn does not stall on them (W1 in benches/).
            class.prefetch(class.slot(ns, ni).header());
        }
        Ok(class.slot(slab, index))
    });
    got.unwrap_or_else(|_| class.alloc())
}

/// Gives a slot of the default `class` back to this thread's cache. Never inlined (the TLS
/// trap).
#[inline(never)]
pub(super) fn local_free(class: &'static SizeClass, s: SlotStack) {
    let kept = CACHE.try_with(|c| {
        let mut c = c.borrow_mut();
        c.slots.push((s.slab, s.index));
        if c.slots.len() >= 2 * BATCH {
            let n = c.slots.len();
            // Give back the oldest half: the most recently freed slots stay warm here.
            let old: Vec<_> = c.slots.drain(..n - BATCH).collect();
            class.put_back(old.into_iter());
        }
    });
    if kept.is_err() {
        class.free(s);
    }
}
