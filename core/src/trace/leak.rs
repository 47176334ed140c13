//! Leak reports: goroutines blocked on channels that nothing else can reach any more, as Go's
//! goroutine leak profile finds them, and goroutines blocked for longer than a threshold.
//!
//! goro has no garbage collector to ask who can reach a channel, so it counts handles: a
//! channel whose every reference is held by operations waiting on it (each waiting send,
//! receive or select holds one) can never be used by anyone else, so its waiters wait
//! forever. Handles held by C code, Python or JS objects, timers and tickers all count as
//! reachable. A select is leaked only if every channel it waits on is unreachable.

use std::collections::HashMap;
use std::sync::Arc;

use super::registry::{self, GoroutineInfo, State};
use crate::chan::RawChan;

/// One goroutine found leaked.
#[derive(Clone, Debug)]
pub struct Leak {
    /// The goroutine, as a dump shows it.
    pub goroutine: GoroutineInfo,
    /// True: blocked on unreachable channels; false: blocked longer than the threshold.
    pub unreachable: bool,
}

/// Finds leaked goroutines: those blocked on unreachable channels, and (when `threshold_ns`
/// is positive) those blocked for at least that long.
pub fn find(threshold_ns: i64) -> Vec<Leak> {
    // Every entry of the census is a RawChan (only the channel code lists channels).
    let live: Vec<Arc<RawChan>> = crate::hooks::live_chans()
        .into_iter()
        .filter_map(|c| c.downcast::<RawChan>().ok())
        .collect();
    // Per waiter: its goroutine, how many of its entries sit on channels, and how many of
    // those on unreachable ones.
    struct Seen {
        info: Option<GoroutineInfo>,
        entries: usize,
        unreachable: usize,
    }
    let mut waiters: HashMap<usize, Seen> = HashMap::new();
    for c in &live {
        let mut distinct: Vec<usize> = Vec::new();
        let mut here: Vec<(usize, Option<GoroutineInfo>)> = Vec::new();
        c.for_each_waiter(|w| {
            let key = Arc::as_ptr(w) as usize;
            if !distinct.contains(&key) {
                distinct.push(key);
            }
            if w.outcome().is_none() {
                // A goroutine with an unclaimed entry on a channel whose lock we hold cannot
                // leave its wait (it must take that lock to dequeue): its record is alive.
                here.push((key, w.goroutine().map(|g| registry::info(g.get()))));
            }
        });
        // References: ours (`live`), one per waiting operation, and the rest: handles.
        let unreachable = Arc::strong_count(c) <= 1 + distinct.len();
        for (key, info) in here {
            let e = waiters.entry(key).or_insert(Seen {
                info: None,
                entries: 0,
                unreachable: 0,
            });
            e.entries += 1;
            e.unreachable += unreachable as usize;
            if e.info.is_none() {
                e.info = info;
            }
        }
    }
    let mut out: Vec<Leak> = waiters
        .into_values()
        .filter(|s| s.entries > 0 && s.entries == s.unreachable)
        .filter_map(|s| s.info)
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
