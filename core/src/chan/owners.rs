//! Who holds a channel's references, where the runtime can know it: the references that
//! belong to one goroutine, for the leak report (trace/leak.rs).
//!
//! A channel is an `Arc`; its count says how many references exist, not who holds them. The
//! leak report needs to tell a reference held by a goroutine blocked on the channel (which
//! keeps nothing alive: that goroutine can only be woken by someone else) from one held by
//! anyone else (which might be used). The hosts say so: C's goro_go_owning hands references
//! to a new goroutine, goro_chan_retain_own takes one for the calling goroutine, and a
//! release by a goroutine drops one of its own first. Every other reference belongs to
//! "nobody in particular" and keeps the channel reachable: when in doubt, not a leak.
//!
//! Each change bumps `version`, so that a reader that saw the same version before and after
//! reading the strong count knows the two belong together (trace/leak.rs): a reference is
//! counted before it is owned (`own` after the retain) and disowned before it is dropped
//! (`disown` before the release), so a count read between two equal versions is never lower
//! than what the table it was read with says is owned.
//!
//! Rejected: attributing every retain made inside a goroutine to that goroutine (the usual C
//! code retains for a goroutine it is about to start, and the child would then look as if it
//! held nothing, its parent as if it held the child's reference: a parent blocked on the
//! channel would be reported while its child is about to send), and a count per goroutine in
//! the goroutine record (the report needs it per channel, and a record cannot list channels
//! without an allocation per goroutine).

use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;

/// The owned references of one channel. Off the fast paths: only owning calls lock it, and a
/// release by a goroutine (`disown`) only when some reference is owned at all.
#[derive(Default)]
pub(crate) struct Owners {
    inner: Mutex<Table>,
    /// References owned, by anyone: the table's counts summed, written under its lock. Every
    /// `own(gid)` runs in goroutine `gid` itself (goro_chan_retain_own, and goro_go_owning's
    /// body before the user's), ordered before its `disown`s, so a Relaxed 0 there means it
    /// owns none.
    owned: AtomicU32,
}

#[derive(Default, Clone)]
struct Table {
    /// Bumped at every change (see the module doc).
    version: u64,
    /// (goroutine id, references it owns), a handful at most.
    by: Vec<(u64, u32)>,
}

impl Owners {
    /// One reference the caller already counted now belongs to goroutine `gid`.
    pub(crate) fn own(&self, gid: u64) {
        let mut t = self.inner.lock();
        t.version += 1;
        self.owned.fetch_add(1, Ordering::Relaxed);
        match t.by.iter_mut().find(|e| e.0 == gid) {
            Some(e) => e.1 += 1,
            None => t.by.push((gid, 1)),
        }
    }

    /// Goroutine `gid` gives up one reference it owns, before dropping it; false when it owns
    /// none (the reference it drops was nobody's in particular).
    pub(crate) fn disown(&self, gid: u64) -> bool {
        if self.owned.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut t = self.inner.lock();
        let Some(i) = t.by.iter().position(|e| e.0 == gid) else {
            return false;
        };
        t.version += 1;
        self.owned.fetch_sub(1, Ordering::Relaxed);
        t.by[i].1 -= 1;
        if t.by[i].1 == 0 {
            t.by.swap_remove(i);
        }
        true
    }

    /// The version and the owned references now.
    pub(crate) fn snapshot(&self) -> (u64, Vec<(u64, u32)>) {
        let t = self.inner.lock();
        (t.version, t.by.clone())
    }

    /// The version now.
    pub(crate) fn version(&self) -> u64 {
        self.inner.lock().version
    }
}
