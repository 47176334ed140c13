//! The netpoller from Rust: the per-fd surface (`FdSource`: try_now / register / unregister) as
//! a multi-source wait uses it, `wait` and `close` from goroutines and threads, and io's calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goro_core::io::{self, READ, WRITE};
use goro_core::park::{Outcome, Waiter};
use goro_core::sync::WaitGroup;
use goro_core::{go, Deadline, Error};

fn pipe() -> (i32, i32) {
    let mut p = [0i32; 2];
    // SAFETY: pipe writes two fds into the array we own.
    assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
    (p[0], p[1])
}

fn put(fd: i32, b: &[u8]) {
    // SAFETY: write(2) reads b.len() bytes from a slice we own; a bad fd only gives an error.
    let n = unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) };
    assert_eq!(n, b.len() as isize);
}

fn recorder() -> (Arc<Waiter>, Arc<Mutex<Vec<Outcome>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (Waiter::callback(move |o| s.lock().unwrap().push(o)), seen)
}

fn eventually(mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < until, "condition not met in 5 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn source_surface_register_wake_unregister() {
    goro_core::sched::init();
    let (r, w) = pipe();
    let src = io::source(r, READ).unwrap();
    assert_eq!(src.try_now(), Ok(false));
    let (waiter, seen) = recorder();
    assert!(src.register(&waiter, 7));
    put(w, b"x");
    // Some worker or sysmon polls and claims it for case 7.
    eventually(|| !seen.lock().unwrap().is_empty());
    assert_eq!(
        seen.lock().unwrap()[0],
        Outcome::Case { index: 7, ok: true }
    );
    assert_eq!(src.try_now(), Ok(true));
    // Already ready: register refuses (the caller completes at once).
    let (w2, _) = recorder();
    assert!(!src.register(&w2, 0));
    src.unregister(&waiter);
    io::close(r).unwrap();
    io::close(w).unwrap();
    assert_eq!(src.try_now(), Err(Error::Closed));
}

#[test]
fn two_sources_one_waiter_the_ready_case_wins() {
    let (r1, w1) = pipe();
    let (r2, w2) = pipe();
    let a = io::source(r1, READ).unwrap();
    let b = io::source(r2, READ).unwrap();
    let waiter = Waiter::current(); // a thread waiter: this test thread blocks
    assert_eq!(a.try_now(), Ok(false));
    assert_eq!(b.try_now(), Ok(false));
    assert!(a.register(&waiter, 0));
    assert!(b.register(&waiter, 1));
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        put(w2, b"y");
    });
    let out = waiter.wait(goro_core::goroutine::WaitReason::IoWait, None);
    assert_eq!(out, Outcome::Case { index: 1, ok: true });
    a.unregister(&waiter);
    b.unregister(&waiter);
    t.join().unwrap();
    for fd in [r1, w1, r2, w2] {
        io::close(fd).unwrap();
    }
}

#[test]
fn close_wakes_registered_waiters_as_closed() {
    let (r, w) = pipe();
    let src = io::source(r, READ | WRITE).unwrap();
    // The read end is never writable and empty: not ready.
    assert_eq!(src.try_now(), Ok(false));
    let (w1, s1) = recorder();
    let (w2, s2) = recorder();
    assert!(src.register(&w1, 0));
    assert!(src.register(&w2, 3));
    io::close(r).unwrap();
    assert_eq!(
        s1.lock().unwrap().as_slice(),
        &[Outcome::Case {
            index: 0,
            ok: false
        }]
    );
    assert_eq!(
        s2.lock().unwrap().as_slice(),
        &[Outcome::Case {
            index: 3,
            ok: false
        }]
    );
    assert!(!src.register(&w1, 0));
    io::close(w).unwrap();
    assert_eq!(io::close(-1), Err(Error::Invalid));
}

#[test]
fn bad_arguments() {
    assert_eq!(io::source(-1, READ).err(), Some(Error::Invalid));
    assert_eq!(io::source(0, 0).err(), Some(Error::Invalid));
    assert_eq!(io::source(0, 4).err(), Some(Error::Invalid));
    assert_eq!(
        io::wait(i32::MAX, READ, Deadline::NoWait),
        Err(Error::Invalid)
    );
}

#[test]
fn goroutines_park_wake_and_time_out() {
    const N: usize = 500;
    let pipes: Vec<(i32, i32)> = (0..N).map(|_| pipe()).collect();
    let wg = Arc::new(WaitGroup::new());
    let ok = Arc::new(AtomicUsize::new(0));
    wg.add(N as i64).unwrap();
    for &(r, _) in &pipes {
        let (wg, ok) = (wg.clone(), ok.clone());
        go(move || {
            let mut b = [0u8; 1];
            let n = io::read(r, &mut b, Deadline::from_timeout_ns(30_000_000_000)).unwrap();
            assert_eq!((n, b[0]), (1, b'z'));
            // Nothing more: a short timeout runs out.
            assert_eq!(
                io::read(r, &mut b, Deadline::from_timeout_ns(5_000_000)),
                Err(io::IoError::Goro(Error::TimedOut))
            );
            ok.fetch_add(1, Ordering::SeqCst);
            wg.done().unwrap();
        })
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    for &(_, w) in &pipes {
        put(w, b"z");
    }
    wg.wait().unwrap();
    assert_eq!(ok.load(Ordering::SeqCst), N);
    for (r, w) in pipes {
        io::close(r).unwrap();
        io::close(w).unwrap();
    }
}

#[test]
fn tcp_echo_and_eof() {
    let l = io::listen("tcp", "127.0.0.1:0", 0).unwrap();
    let port = io::local_port(l).unwrap();
    let wg = Arc::new(WaitGroup::new());
    wg.add(1).unwrap();
    let wg2 = wg.clone();
    go(move || {
        let c = io::accept(l, Deadline::Forever).unwrap();
        let mut b = [0u8; 64];
        loop {
            let n = io::read(c, &mut b, Deadline::Forever).unwrap();
            if n == 0 {
                break;
            }
            assert_eq!(io::write(c, &b[..n], Deadline::Forever), (n, None));
        }
        io::close(c).unwrap();
        wg2.done().unwrap();
    })
    .unwrap();
    let c = io::dial("tcp", &format!("127.0.0.1:{port}"), Deadline::Forever).unwrap();
    for i in 0..100u8 {
        assert_eq!(io::write(c, &[i; 10], Deadline::Forever), (10, None));
        let mut got = 0;
        let mut b = [0u8; 10];
        while got < 10 {
            got += io::read(c, &mut b[got..], Deadline::Forever).unwrap();
        }
        assert_eq!(b, [i; 10]);
    }
    // SAFETY: shuts down the write side of our own socket.
    unsafe { libc::shutdown(c, libc::SHUT_WR) };
    let mut b = [0u8; 4];
    assert_eq!(io::read(c, &mut b, Deadline::Forever), Ok(0));
    wg.wait().unwrap();
    io::close(c).unwrap();
    io::close(l).unwrap();
    assert_eq!(
        io::dial("tcp", &format!("127.0.0.1:{port}"), Deadline::Forever),
        Err(io::IoError::Os(libc::ECONNREFUSED))
    );
}
