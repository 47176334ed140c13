//! wait/interruptible.rs: a block hook is called once, only when a wait must block, and can
//! wait through `Blocking` (plainly, or interruptibly: a thread wait that gives up consumes
//! nothing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goro_core::wait::interruptible::{with_block_hook, Blocking};
use goro_core::{Chan, Deadline, Outcome};

#[test]
fn not_called_when_the_operation_completes_at_once() {
    let ch = Chan::<u32>::new(1).unwrap();
    let mut calls = 0;
    let r = with_block_hook(
        &mut |b: &Blocking<'_>| {
            calls += 1;
            b.wait()
        },
        || ch.send_deadline(7, Deadline::Forever),
    );
    assert!(r.is_ok());
    assert_eq!(calls, 0);
    assert_eq!(ch.try_recv(), Ok(Some(7)));
}

#[test]
fn called_once_and_waits_for_the_partner() {
    let ch = Chan::<u32>::new(0).unwrap();
    let tx = ch.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(30));
        tx.send(9).unwrap();
    });
    let mut calls = 0;
    let r = with_block_hook(
        &mut |b: &Blocking<'_>| {
            calls += 1;
            assert!(!b.is_goroutine());
            b.wait()
        },
        || ch.recv_deadline(Deadline::Forever),
    );
    t.join().unwrap();
    assert_eq!(r, Ok(Some(9)));
    assert_eq!(calls, 1);
}

#[test]
fn an_interrupted_wait_consumes_nothing() {
    let ch = Chan::<u32>::new(0).unwrap();
    let naps = Arc::new(AtomicUsize::new(0));
    let n = naps.clone();
    let r = with_block_hook(
        &mut |b: &Blocking<'_>| {
            let out =
                b.wait_interruptible(1_000_000, &mut || n.fetch_add(1, Ordering::Relaxed) >= 3);
            assert_eq!(out, Outcome::Interrupted);
            out
        },
        || ch.send_deadline(5, Deadline::Forever),
    );
    let e = r.unwrap_err();
    assert_eq!(e.value, 5); // given back
    assert_eq!(naps.load(Ordering::Relaxed), 4);
    // Nothing left queued: a receiver finds no sender.
    assert_eq!(ch.try_recv(), Err(goro_core::Error::WouldBlock));
    // The hook was used up and put back: a later wait outside it is plain.
    assert_eq!(
        ch.recv_deadline(Deadline::At(goro_core::now_ns() + 1_000_000)),
        Err(goro_core::Error::TimedOut)
    );
}
