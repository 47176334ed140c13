//! Loom model of the Waiter's claim (core/src/park.rs), the one step every wait in goro rests
//! on (core/src/wait/mod.rs): a partner completing case 0 (it writes the waiting side's buffer,
//! then wakes), a timer firing, and the owner giving up (a cancelled future; the same CAS as
//! step 3's abort) all race for one Waiter. In every interleaving exactly one wins, the wake
//! runs once and only for a claimer other than the owner, and the waiting side, which reads
//! nothing until it has seen the wake, sees the partner's write and the winner's outcome. The
//! wake here publishes with Release as the real ones do (the thread waiter's `woken`, the
//! bridge's lock); with it Relaxed, loom reports the race on the buffer.
//!
//! Run: RUSTFLAGS="--cfg loom" cargo test -p goro-core --release --test loom_waiter

#![cfg(loom)]

use goro_core::park::{Outcome, Waiter, INTERRUPTED, TIMED_OUT};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

struct Buf(UnsafeCell<u64>);
// SAFETY: the model checks exactly this claim: only the claim's winner writes, and the
// waiting side reads only after it has seen the winner's outcome.
unsafe impl Sync for Buf {}

#[test]
fn exactly_one_claim_wins_and_its_write_is_seen() {
    loom::model(|| {
        let buf = Arc::new(Buf(UnsafeCell::new(0)));
        let wakes = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicBool::new(false));
        let w = {
            let (wakes, woken) = (wakes.clone(), woken.clone());
            Waiter::callback(move |_| {
                wakes.fetch_add(1, Ordering::Relaxed);
                woken.store(true, Ordering::Release);
            })
        };
        let partner = {
            let (w, buf) = (w.clone(), buf.clone());
            thread::spawn(move || {
                if w.claim_case(0, true) {
                    // SAFETY: we won the claim: the buffer is ours to write until the wake.
                    buf.0.with_mut(|p| unsafe { *p = 42 });
                    w.wake();
                    return true;
                }
                false
            })
        };
        let timer = {
            let w = w.clone();
            thread::spawn(move || {
                if w.claim(TIMED_OUT) {
                    w.wake();
                    return true;
                }
                false
            })
        };
        // The owner gives up; it is woken by nobody when it wins. Losing, it waits for the
        // winner's wake before it looks at anything, as every real wait does.
        let owner_won = w.claim(INTERRUPTED);
        if !owner_won {
            while !woken.load(Ordering::Acquire) {
                thread::yield_now();
            }
            match w.outcome() {
                Some(Outcome::Case { index: 0, ok: true }) => {
                    // SAFETY: the partner wrote before its wake, which we have seen (Release
                    // in the wake, Acquire above); nobody writes any more.
                    assert_eq!(buf.0.with(|v| unsafe { *v }), 42);
                }
                Some(Outcome::TimedOut) => {}
                other => panic!("woken with outcome {other:?}"),
            }
        } else {
            assert_eq!(w.outcome(), Some(Outcome::Interrupted));
        }
        let p = partner.join().unwrap();
        let t = timer.join().unwrap();
        assert_eq!([p, t, owner_won].iter().filter(|&&b| b).count(), 1);
        assert_eq!(wakes.load(Ordering::Relaxed), (p || t) as usize);
    });
}
