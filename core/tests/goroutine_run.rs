//! `run` (spawn and wait) through its Rust API: the spawned goroutine's end wakes the caller's
//! Waiter, and that wake often lands before the caller has parked (a body that ends at once, on
//! another worker), which the park/ready handshake must not lose.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use goro_core::{go, run};

/// Runs `f` on a plain thread and fails the test if it has not finished within a minute (a
/// lost wake hangs forever).
fn within_a_minute(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("hung: a wake was lost");
}

#[test]
fn nested_runs_with_bodies_that_end_at_once() {
    within_a_minute(|| {
        let n = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let callers = 8u64;
        let each = if cfg!(debug_assertions) {
            2_000
        } else {
            20_000
        };
        let (tx, rx) = mpsc::channel();
        for _ in 0..callers {
            let (n, done, tx) = (n.clone(), done.clone(), tx.clone());
            go(move || {
                for _ in 0..each {
                    let n = n.clone();
                    run(move || {
                        n.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
                }
                if done.fetch_add(1, Ordering::AcqRel) + 1 == callers {
                    tx.send(()).unwrap();
                }
            })
            .unwrap();
        }
        rx.recv().unwrap();
        assert_eq!(n.load(Ordering::Relaxed), callers * each);
    });
}

#[test]
fn run_from_a_plain_thread_waits_for_exit() {
    within_a_minute(|| {
        for _ in 0..1_000 {
            let n = Arc::new(AtomicU64::new(0));
            let n2 = n.clone();
            run(move || {
                goro_core::defer(move || {
                    n2.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
                goro_core::exit();
            })
            .unwrap();
            assert_eq!(
                n.load(Ordering::Relaxed),
                1,
                "run returned before the cleanups ran"
            );
        }
    });
}
