//! A goroutine woken into its waker's run-next slot wakes no other worker (sched/runq.rs
//! `put`): it runs when the waker blocks. When the waker computes on without blocking,
//! sysmon must see the slot stranded and start a worker that takes it (sysmon.rs, job 5):
//! poked, within a few hundred microseconds (135-162 µs measured), and in any case within
//! one sysmon sleep (10 ms), long before the hand-off of a computing worker (50 ms). Its own
//! process: it sets GOMAXPROCS.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goro_core::{go, run, sleep, Chan};

#[test]
fn a_woken_goroutine_runs_while_its_waker_computes() {
    goro_core::sched::maxprocs(2);
    // Several rounds: the stranded goroutine must be rescued each time, whether sysmon was
    // backed off or looking closely when it was woken.
    for round in 0..5 {
        let ch = Chan::<u64>::new(0).unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let (rx, ran2) = (ch.clone(), ran.clone());
        go(move || {
            rx.recv().unwrap();
            ran2.store(true, Ordering::Release);
        })
        .unwrap();
        let waited = Arc::new(Mutex::new(None));
        let w2 = waited.clone();
        run(move || {
            // Let the receiver park (a sleep also lets sysmon back off, as in an idle program).
            sleep(Duration::from_millis(5 + 10 * round));
            // Compute a little first, so the worker woken with us gives up spinning and
            // sleeps (it spins 50 µs) and none is looking when the receiver is woken.
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(2) {
                std::hint::spin_loop();
            }
            // It is parked: the send hands it the value and wakes it into this worker's
            // run-next slot. Then compute, making no goro call, until it has run.
            ch.send(1).unwrap();
            let start = Instant::now();
            while !ran.load(Ordering::Acquire) && start.elapsed() < Duration::from_secs(2) {
                std::hint::spin_loop();
            }
            *w2.lock().unwrap() = Some((ran.load(Ordering::Acquire), start.elapsed()));
        })
        .unwrap();
        let (did_run, took) = waited.lock().unwrap().take().unwrap();
        assert!(did_run, "round {round}: the woken goroutine never ran");
        // Expected well under a millisecond; the hand-off it must not wait for comes at 50 ms.
        assert!(
            took < Duration::from_millis(25),
            "round {round}: the woken goroutine waited {took:?} behind a computing waker"
        );
    }
}
