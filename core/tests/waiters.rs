//! The Waiter's other kinds and the timer heap's bookkeeping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goro_core::park::{Outcome, Waiter, TIMED_OUT};
use goro_core::{go, run, Chan};

#[test]
fn callback_waiter_gets_the_outcome_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let w = Waiter::callback(move |o| {
        assert_eq!(o, Outcome::Case { index: 3, ok: true });
        c.fetch_add(1, Ordering::SeqCst);
    });
    assert!(w.claim_case(3, true));
    assert!(!w.claim(TIMED_OUT), "a second claim must lose");
    w.wake();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn interruptible_wait_gives_up_or_completes() {
    // Nobody claims: the interrupt check wins after a few naps.
    let w = Waiter::current();
    let mut checks = 0;
    let out = w.wait_interruptible(None, 1_000_000, || {
        checks += 1;
        checks == 3
    });
    assert_eq!(out, Outcome::Interrupted);
    assert_eq!(checks, 3);

    // A partner claims meanwhile: its outcome wins over the interrupt.
    let w = Waiter::current();
    let partner = w.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        if partner.claim_case(0, true) {
            partner.wake();
        }
    });
    let out = w.wait_interruptible(None, 1_000_000, || false);
    assert_eq!(out, Outcome::Case { index: 0, ok: true });
    t.join().unwrap();

    // A deadline ends it as a timeout.
    let w = Waiter::current();
    let start = Instant::now();
    let deadline = goro_core::now_ns() + 20_000_000;
    assert_eq!(
        w.wait_interruptible(Some(deadline), 1_000_000, || false),
        Outcome::TimedOut
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn completed_waits_leave_no_timers_behind() {
    // Receives with long timeouts that are satisfied at once must cancel their timers: a loop
    // of them must not pile up dead timers (time/timers.rs).
    // The receiver asks for each value, then waits for it with a timeout: the wait usually
    // has to park (its timer armed) before the value comes.
    let (ask, data) = (Chan::<()>::new(1).unwrap(), Chan::<u64>::new(0).unwrap());
    let (ask2, data2) = (ask.clone(), data.clone());
    go(move || {
        for i in 0..10_000 {
            ask2.recv().unwrap();
            data2.send(i).unwrap();
        }
    })
    .unwrap();
    run(move || {
        for i in 0..10_000 {
            ask.send(()).unwrap();
            assert_eq!(data.recv_timeout(Duration::from_secs(3600)), Ok(Some(i)));
        }
    })
    .unwrap();
    assert!(
        goro_core::sched::stats().timers < 10,
        "dead timers left: {}",
        goro_core::sched::stats().timers
    );
}
