//! `SpawnOpts::pin_group`: pinned goroutines of one group started from a plain thread all
//! run on one worker (the group's home), however many workers there are and whichever worker
//! takes them first; goroutines of no group still spread.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use goro_core::goroutine::{spawn, Body, SpawnOpts};
use goro_core::sync::WaitGroup;

fn run_all(n: usize, opts: SpawnOpts) -> HashSet<std::thread::ThreadId> {
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64).unwrap();
    for _ in 0..n {
        let (threads, wg) = (threads.clone(), wg.clone());
        let body = move || {
            for _ in 0..3 {
                threads.lock().unwrap().insert(std::thread::current().id());
                goro_core::yield_now();
            }
            wg.done().unwrap();
        };
        spawn(Body::Rust(Box::new(body)), &opts).unwrap();
    }
    wg.wait().unwrap();
    let seen = threads.lock().unwrap().clone();
    seen
}

#[test]
fn a_group_shares_one_home_worker() {
    goro_core::sched::maxprocs(4);
    // Keep some workers busy elsewhere so that several pick up work.
    let grouped = SpawnOpts {
        pinned: true,
        pin_to_spawner: true, // from a plain thread: falls back to the group
        pin_group: 3,
        ..Default::default()
    };
    let seen = run_all(500, grouped.clone());
    assert_eq!(
        seen.len(),
        1,
        "a group's goroutines ran on {} threads",
        seen.len()
    );
    // A later batch goes to the same home.
    let again = run_all(100, grouped);
    assert_eq!(again, seen);
    let bad = SpawnOpts {
        pinned: true,
        pin_group: goro_core::goroutine::PIN_GROUPS as u8,
        ..Default::default()
    };
    assert_eq!(
        spawn(Body::Rust(Box::new(|| {})), &bad),
        Err(goro_core::Error::Invalid)
    );
}
