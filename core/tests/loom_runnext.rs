//! Loom model of the run-next slot (core/src/sched/runnext.rs): a worker puts two woken
//! goroutines in turn (the second displacing the first into its local queue) and then looks
//! at its slot, while a thief that judged the worker stuck takes from it twice. Whatever the
//! interleaving, each goroutine ends up with exactly one thread.
//!
//! Run: RUSTFLAGS="--cfg loom" cargo test -p goro-core --release --test loom_runnext

#![cfg(loom)]

use std::ptr::NonNull;

use goro_core::sched::runnext::RunNext;
use loom::sync::Arc;
use loom::thread;

#[test]
fn each_goroutine_is_taken_exactly_once() {
    loom::model(|| {
        let slot = Arc::new(RunNext::<u8>::new());
        // Two distinct addresses standing for two goroutine records.
        let gs: &'static mut [u8; 2] = Box::leak(Box::new([1, 2]));
        let a = NonNull::from(&mut gs[0]);
        let b = NonNull::from(&mut gs[1]);

        let thief = {
            let slot = slot.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..2 {
                    got.extend(slot.take());
                }
                got
            })
        };
        let mut owner = Vec::new();
        assert!(slot.put(a).is_none(), "the slot starts empty");
        owner.extend(slot.put(b)); // a, unless the thief took it
        owner.extend(slot.take());

        let mut all: Vec<usize> = owner
            .into_iter()
            .chain(thief.join().unwrap())
            .map(|p| p.as_ptr() as usize)
            .collect();
        all.sort();
        let mut want = vec![a.as_ptr() as usize, b.as_ptr() as usize];
        want.sort();
        assert_eq!(all, want, "each goroutine taken once, none lost");
        assert!(slot.is_empty());
    });
}
