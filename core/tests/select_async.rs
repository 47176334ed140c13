//! `select_async`: the event-loop form of select. The callback runs once, on the thread that
//! completes a case, fires the deadline, or never when cancelled; no value is lost or doubled.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use goro_core::park::Outcome;
use goro_core::time::Deadline;
use goro_core::{select_async, Case, Chan, Op, Started, Waiter};

fn callback_waiter() -> (Arc<Waiter>, mpsc::Receiver<Outcome>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let w = Waiter::callback(move |o| {
        tx.lock().unwrap().send(o).unwrap();
    });
    (w, rx)
}

#[test]
fn recv_completes_from_another_thread() {
    let ch = Chan::<u64>::new(0).unwrap();
    let mut out = 0u64;
    let (w, rx) = callback_waiter();
    let cases = [Case::chan(
        Some(ch.raw()),
        Op::Recv(&mut out as *mut u64 as *mut u8),
    )];
    // SAFETY: `out` outlives the wait: we wait for the callback before reading it.
    let started = unsafe { select_async(&cases, Deadline::Forever, &mut || w.clone()) }.unwrap();
    let Started::Pending(p) = started else {
        panic!("nothing was ready")
    };
    let tx = ch.clone();
    let t = std::thread::spawn(move || tx.send(42).unwrap());
    let o = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(o, Outcome::Case { index: 0, ok: true });
    assert_eq!(out, 42);
    assert!(!p.cancel(), "a completed wait cannot be cancelled");
    drop(p);
    t.join().unwrap();
}

#[test]
fn ready_case_completes_at_once_and_no_wait_would_block() {
    let ch = Chan::<u64>::new(1).unwrap();
    let (w, rx) = callback_waiter();
    let v = 7u64;
    let send = [Case::chan(
        Some(ch.raw()),
        Op::Send(&v as *const u64 as *const u8),
    )];
    // SAFETY: `v` lives across the call, which completes at once.
    match unsafe { select_async(&send, Deadline::Forever, &mut || w.clone()) }.unwrap() {
        Started::Done(0, true) => {}
        _ => panic!("a send into an empty buffer completes at once"),
    }
    // SAFETY: as above.
    let full = unsafe { select_async(&send, Deadline::NoWait, &mut || w.clone()) };
    assert!(matches!(full, Err(goro_core::Error::WouldBlock)));
    assert!(rx.try_recv().is_err(), "the callback never ran");
    assert_eq!(ch.try_recv().unwrap(), Some(7));
}

#[test]
fn cancel_consumes_nothing() {
    let ch = Chan::<u64>::new(0).unwrap();
    let mut out = 0u64;
    let (w, rx) = callback_waiter();
    let cases = [Case::chan(
        Some(ch.raw()),
        Op::Recv(&mut out as *mut u64 as *mut u8),
    )];
    // SAFETY: `out` outlives the Pending, which is dropped below.
    let Started::Pending(p) =
        (unsafe { select_async(&cases, Deadline::Forever, &mut || w.clone()) }).unwrap()
    else {
        panic!("nothing was ready")
    };
    assert!(p.cancel());
    drop(p);
    // The cancelled receiver is gone: an unbuffered send finds nobody.
    assert!(ch.try_send(1).is_err());
    assert!(rx.try_recv().is_err());
    assert_eq!(out, 0);
}

#[test]
fn deadline_fires_the_callback() {
    let ch = Chan::<u64>::new(0).unwrap();
    let (w, rx) = callback_waiter();
    let cases = [Case::chan(Some(ch.raw()), Op::Recv(std::ptr::null_mut()))];
    let at = Deadline::from_timeout(Some(Duration::from_millis(20)));
    // SAFETY: a null receive buffer drops the value.
    let Started::Pending(p) = (unsafe { select_async(&cases, at, &mut || w.clone()) }).unwrap()
    else {
        panic!("nothing was ready")
    };
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Outcome::TimedOut
    );
    assert_eq!(p.outcome(), Some(Outcome::TimedOut));
    drop(p);
    assert!(ch.try_send(1).is_err(), "the timed-out entry is gone");
}

#[test]
fn close_completes_with_not_ok() {
    let ch = Chan::<u64>::new(0).unwrap();
    let mut out = 5u64;
    let (w, rx) = callback_waiter();
    let cases = [
        Case::chan(None, Op::Recv(std::ptr::null_mut())),
        Case::chan(Some(ch.raw()), Op::Recv(&mut out as *mut u64 as *mut u8)),
    ];
    // SAFETY: `out` outlives the wait.
    let Started::Pending(_p) =
        (unsafe { select_async(&cases, Deadline::Forever, &mut || w.clone()) }).unwrap()
    else {
        panic!("nothing was ready")
    };
    ch.close().unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Outcome::Case {
            index: 1,
            ok: false
        }
    );
    assert_eq!(out, 0, "a receive that meets close is zero-filled");
}

/// Senders on threads race receivers that cancel at random: every value sent is received by
/// exactly one callback; cancelled receives take nothing.
#[test]
fn cancel_races_senders_without_loss() {
    const N: u64 = 20_000;
    let ch = Chan::<u64>::new(0).unwrap();
    let senders: Vec<_> = (0..2)
        .map(|k| {
            let ch = ch.clone();
            std::thread::spawn(move || {
                for i in 0..N {
                    ch.send(k * N + i + 1).unwrap();
                }
            })
        })
        .collect();
    let mut sum = 0u64;
    let mut received = 0u64;
    let mut cancelled = 0u64;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    while received < 2 * N {
        let mut out = Box::new(0u64);
        let (w, rx) = callback_waiter();
        let cases = [Case::chan(
            Some(ch.raw()),
            Op::Recv(&mut *out as *mut u64 as *mut u8),
        )];
        // SAFETY: `out` lives until the Pending is dropped or the callback has run.
        match unsafe { select_async(&cases, Deadline::Forever, &mut || w.clone()) }.unwrap() {
            Started::Done(_, ok) => {
                assert!(ok);
                received += 1;
                sum += *out;
            }
            Started::Pending(p) => {
                if coin(&mut seed) && p.cancel() {
                    cancelled += 1;
                    drop(p);
                    assert!(rx.try_recv().is_err(), "a cancelled wait never calls back");
                    continue;
                }
                let o = rx.recv_timeout(Duration::from_secs(10)).unwrap();
                assert_eq!(o, Outcome::Case { index: 0, ok: true });
                drop(p);
                received += 1;
                sum += *out;
            }
        }
    }
    for s in senders {
        s.join().unwrap();
    }
    let total: u64 = (1..=2 * N).sum();
    assert_eq!(sum, total, "every value exactly once");
    assert!(ch.try_recv().is_err() || ch.is_empty());
    eprintln!("cancelled {cancelled} waits");
}

/// xorshift: a coin flip for the test, independent of the runtime's own generator.
fn coin(s: &mut u64) -> bool {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s & 1 == 0
}
