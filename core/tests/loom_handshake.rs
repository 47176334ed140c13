//! Loom model of the park/ready handshake (core/src/handshake.rs) and the Waiter's claim:
//! every interleaving of a goroutine parking, its worker finishing the park, and two parties
//! (a channel partner and a timer) racing to claim its Waiter and wake it.
//!
//! Run: RUSTFLAGS="--cfg loom" cargo test -p goro-core --release --test loom_handshake

#![cfg(loom)]

use goro_core::handshake::{begin_park, finish_park, ready, RUNNING};
use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

const WAITING: usize = 0;

#[test]
fn goroutine_goes_on_exactly_once() {
    loom::model(|| {
        let status = Arc::new(AtomicU32::new(RUNNING));
        let sel = Arc::new(AtomicUsize::new(WAITING));
        let resumed = Arc::new(AtomicUsize::new(0));

        // Two claimers: a partner (case 1) and a timer (case 2). Only the winner wakes.
        let claimers: Vec<_> = [1usize, 2]
            .into_iter()
            .map(|who| {
                let (status, sel, resumed) = (status.clone(), sel.clone(), resumed.clone());
                thread::spawn(move || {
                    if sel
                        .compare_exchange(WAITING, who, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                        && ready(&status)
                    {
                        resumed.fetch_add(1, Ordering::SeqCst); // queued by the waker
                    }
                })
            })
            .collect();

        // The goroutine parks; its worker finishes the park after the switch.
        if begin_park(&status) {
            if !finish_park(&status) {
                resumed.fetch_add(1, Ordering::SeqCst); // requeued by the worker
            }
        } else {
            // The wake came first: it must already be claimed.
            assert_ne!(sel.load(Ordering::Acquire), WAITING);
            resumed.fetch_add(1, Ordering::SeqCst);
        }
        for c in claimers {
            c.join().unwrap();
        }
        assert_ne!(sel.load(Ordering::Acquire), WAITING);
        assert_eq!(
            resumed.load(Ordering::SeqCst),
            1,
            "the goroutine must go on exactly once"
        );
    });
}
