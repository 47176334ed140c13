//! Cooperative preemption: a goroutine that never blocks, but makes goro calls, yields to
//! others after about a time slice, even on one worker (its own process: it sets GOMAXPROCS).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goro_core::{go, run, Chan};

#[test]
fn busy_goroutine_making_goro_calls_lets_others_run() {
    goro_core::sched::maxprocs(1);
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    // Hogs the only worker with channel operations that never block.
    go(move || {
        let ch = Chan::<u64>::new(1).unwrap();
        while !s2.load(Ordering::Relaxed) {
            ch.try_send(1).unwrap();
            ch.try_recv().unwrap();
        }
    })
    .unwrap();
    let start = Instant::now();
    // This goroutine needs the same worker to run at all.
    run(move || stop.store(true, Ordering::Relaxed)).unwrap();
    // Sysmon asks for a yield after 10 ms of running; allow plenty on a shared machine, but
    // far less than the 50 ms after which a goroutine making no goro calls is handed off.
    assert!(
        start.elapsed() < Duration::from_millis(45),
        "took {:?}",
        start.elapsed()
    );
}
