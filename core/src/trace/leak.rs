//! Leak reports: goroutines that can never run again, as Go 1.26's goroutine leak profile
//! finds them, and goroutines blocked for longer than a threshold.
//!
//! The rule (Go's): a goroutine is leaked when everything it waits on can be reached only
//! from goroutines that are themselves leaked. Go's collector marks from the runnable
//! goroutines, treats goroutines blocked on something reachable as eventually runnable, and
//! iterates to a fixed point. goro does the same over channels, with reference ownership in
//! place of a heap walk (goro cannot see the C heap, nor a host's objects):
//! - a channel is *reachable* when it has a reference that no blocked goroutine owns: a
//!   handle held by C code, a Python or JS object, a timer, a thread, a goroutine that is not
//!   parked on channels alone, or "nobody in particular" (chan/owners.rs says which
//!   references belong to which goroutine; only the hosts' owning calls attribute any);
//! - a *candidate* is a goroutine parked on channels only, with no deadline (park.rs
//!   `unseen`: a wait with a deadline, a WaitGroup, Mutex, context or fd case is never one);
//! - a candidate waiting on a reachable channel is live, and the channels it owns references
//!   to become reachable; repeat until nothing changes; the candidates left are leaked.
//!
//! No false positives: everything uncertain counts as reachable: a reference count that does
//! not add up, an owner table that changed while it was read, an owner that is not a
//! candidate (running, waiting on something else, or gone), a waiter that is a thread or an
//! event loop. goro cannot stop the world as Go's collector does, so the analysis runs twice
//! and reports only the waits leaked both times and still unclaimed at the end: holding their
//! waiters keeps them from being reused meanwhile, and a leaked wait stays leaked.
//!
//! Hosts that see their own heap add what they know (`HostRef`, `find_with`): references
//! they hold that only some goroutines can reach (Python: a `goro.Chan` object reachable only
//! from the frames of goroutines, bindings/python/src/reach.rs). Each counts as owned by those
//! goroutines, exactly as an owned reference of chan/owners.rs: reachable as soon as one of
//! them is live or is no candidate. A host that cannot tell says nothing, and its references
//! stay "nobody in particular".
//!
//! Rejected: counting only the references that waiting operations hold (the report before
//! this one: a goroutine holding its own handle to the channel it blocks on, the everyday
//! leak, looked reachable); a census of goroutines' owned references in their records (see
//! chan/owners.rs); a second, host-side fixed point (the host would need the core's waits,
//! and the two would have to agree on one snapshot: the host hands its facts to this one).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::registry::{self, GoroutineInfo, State};
use crate::chan::RawChan;
use crate::park::Waiter;

/// One goroutine found leaked.
#[derive(Clone, Debug)]
pub struct Leak {
    /// The goroutine, as a dump shows it.
    pub goroutine: GoroutineInfo,
    /// True: it can never run again (the rule above); false: blocked longer than the
    /// threshold.
    pub unreachable: bool,
}

/// One reference to a channel that a host holds and knows to be reachable only from what
/// goroutines `owners` hold (their frames, their own call's arguments): the channel's
/// reference is then theirs, as an owned reference (chan/owners.rs). The host must be sure:
/// a reference it names that is not there, or that someone else can reach, can make a live
/// goroutine look leaked.
#[derive(Clone, Debug)]
pub struct HostRef {
    /// The channel: `Arc::as_ptr` of its RawChan, as an address.
    pub chan: usize,
    /// The goroutines whose private state reaches it (any of them live keeps it).
    pub owners: Vec<u64>,
}

/// A goroutine parked on channels only: the channels it waits on.
struct Candidate {
    waiter: Arc<Waiter>,
    info: GoroutineInfo,
    chans: Vec<usize>,
}

/// One channel as the analysis sees it.
struct ChanView {
    /// Reachable whatever the candidates do.
    root: bool,
    /// Goroutines owning references to it.
    owners: Vec<u64>,
}

/// One analysis (the module doc): the waits found leaked, with their goroutines.
fn analyse(host: &[HostRef]) -> Vec<(Arc<Waiter>, GoroutineInfo)> {
    // The host's references, by channel: (how many, whose).
    let mut hosted: HashMap<usize, (usize, Vec<u64>)> = HashMap::new();
    for h in host {
        let e = hosted.entry(h.chan).or_default();
        e.0 += 1;
        for &g in &h.owners {
            if !e.1.contains(&g) {
                e.1.push(g);
            }
        }
    }
    // Every entry of the census is a RawChan (only the channel code lists channels).
    let live: Vec<Arc<RawChan>> = crate::hooks::live_chans()
        .into_iter()
        .filter_map(|c| c.downcast::<RawChan>().ok())
        .collect();
    let mut cands: HashMap<usize, Candidate> = HashMap::new();
    let mut views: Vec<ChanView> = Vec::with_capacity(live.len());
    for (ix, c) in live.iter().enumerate() {
        let (version, owners) = c.owners();
        let mut parked: Vec<usize> = Vec::new();
        let mut strong = 0;
        c.for_each_waiter(|w| {
            if strong == 0 {
                strong = Arc::strong_count(c); // under the lock, with the queue
            }
            if w.outcome().is_some() || w.is_unseen() {
                return; // stale, or it can end by itself: it keeps its reference counted
            }
            let Some(g) = w.goroutine() else {
                return; // a thread or an event loop: its reference keeps the channel
            };
            // Unclaimed under this channel's lock: the goroutine cannot leave this wait (it
            // must take the lock to dequeue), so its record is alive.
            let info = registry::info(g.get());
            if !matches!(info.state, State::Waiting(..)) {
                return; // still registering: its reference may not be counted yet
            }
            let key = Arc::as_ptr(w) as usize;
            if !parked.contains(&key) {
                parked.push(key);
            }
            let cand = cands.entry(key).or_insert_with(|| Candidate {
                waiter: w.clone(),
                info,
                chans: Vec::new(),
            });
            if !cand.chans.contains(&ix) {
                cand.chans.push(ix);
            }
        });
        if strong == 0 {
            strong = Arc::strong_count(c);
        }
        let owned: usize = owners.iter().map(|o| o.1 as usize).sum();
        let (host_refs, host_owners) = hosted
            .get(&(Arc::as_ptr(c) as usize))
            .cloned()
            .unwrap_or_default();
        // References: ours (`live`), one per parked operation (each holds one while it
        // waits), the owned ones, the host's attributed ones, and the rest, held by nobody
        // we can see.
        let others =
            strong as isize - 1 - parked.len() as isize - owned as isize - host_refs as isize;
        let changed = c.owners_version() != version;
        let mut by: Vec<u64> = owners.iter().map(|o| o.0).collect();
        for g in host_owners {
            if !by.contains(&g) {
                by.push(g);
            }
        }
        views.push(ChanView {
            root: others != 0 || changed,
            owners: by,
        });
    }
    // A goroutine id seen on several waits has one current wait at most: then none of its
    // waits is trusted (it may be between two).
    let mut by_gid: HashMap<u64, usize> = HashMap::new();
    let mut twice: HashSet<u64> = HashSet::new();
    for (&k, c) in &cands {
        if by_gid.insert(c.info.id, k).is_some() {
            twice.insert(c.info.id);
        }
    }
    cands.retain(|_, c| !twice.contains(&c.info.id));
    let cand_ids: HashSet<u64> = cands.values().map(|c| c.info.id).collect();
    for v in views.iter_mut() {
        // An owner that is no candidate (running, waiting otherwise, gone) keeps it.
        if v.owners.iter().any(|g| !cand_ids.contains(g)) {
            v.root = true;
        }
    }
    let mut reachable: Vec<bool> = views.iter().map(|v| v.root).collect();
    let mut live_g: HashSet<u64> = HashSet::new();
    loop {
        let mut changed = false;
        for c in cands.values() {
            if !live_g.contains(&c.info.id) && c.chans.iter().any(|&i| reachable[i]) {
                live_g.insert(c.info.id);
                changed = true;
            }
        }
        for (i, v) in views.iter().enumerate() {
            if !reachable[i] && v.owners.iter().any(|g| live_g.contains(g)) {
                reachable[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    cands
        .into_values()
        .filter(|c| !live_g.contains(&c.info.id))
        .map(|c| (c.waiter, c.info))
        .collect()
}

/// What a host knows of its own references, asked by every leak analysis (`goro_leaks`,
/// the goroutineleak profile and its debug endpoint, dumps): the host works out its
/// `HostRef`s and runs `verdict` with them while it still holds whatever keeps them true
/// (Python: the GIL, so that no reference moves between its census and the verdict). A host
/// that cannot tell now (shutting down) runs `verdict` with none.
pub type HostView = fn(verdict: &mut dyn FnMut(&[HostRef]));

static HOST_VIEW: std::sync::OnceLock<HostView> = std::sync::OnceLock::new();

/// Installs the host's view (once per process; a second call is ignored). Every entry point
/// to the analysis then counts it, so a report asked for from C, from the debug endpoint or
/// from the host itself sees the same leaks.
pub fn set_host_view(view: HostView) {
    let _ = HOST_VIEW.set(view);
}

/// The goroutines that can never run again (the module doc), by id, with the host's view.
pub fn leaked() -> Vec<GoroutineInfo> {
    match HOST_VIEW.get() {
        Some(view) => {
            let mut out = Vec::new();
            view(&mut |host| out = leaked_with(host));
            out
        }
        None => leaked_with(&[]),
    }
}

/// As `leaked`, with `host` for the host's references (and no view asked).
fn leaked_with(host: &[HostRef]) -> Vec<GoroutineInfo> {
    let first = analyse(host);
    let second = analyse(host);
    let mut out: Vec<GoroutineInfo> = second
        .into_iter()
        .filter(|(w, _)| first.iter().any(|(f, _)| Arc::ptr_eq(f, w)))
        .filter(|(w, _)| w.outcome().is_none())
        .map(|(_, g)| g)
        .collect();
    out.sort_by_key(|g| g.id);
    out
}

/// Finds leaked goroutines: those that can never run again, and (when `threshold_ns` is
/// positive) those blocked for at least that long.
pub fn find(threshold_ns: i64) -> Vec<Leak> {
    let mut out: Vec<Leak> = leaked()
        .into_iter()
        .map(|g| Leak {
            goroutine: g,
            unreachable: true,
        })
        .collect();
    if threshold_ns > 0 {
        let now = crate::now_ns();
        for g in registry::snapshot() {
            if let State::Waiting(_, since) = g.state {
                if now - since >= threshold_ns && !out.iter().any(|l| l.goroutine.id == g.id) {
                    out.push(Leak {
                        goroutine: g,
                        unreachable: false,
                    });
                }
            }
        }
    }
    out.sort_by_key(|l| l.goroutine.id);
    out
}
