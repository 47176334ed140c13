//! Smoke and stress tests of the runtime through its Rust API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goro_core::sync::{Mutex, WaitGroup};
use goro_core::{go, run, select, Case, Chan, Deadline, Error, Op};

#[test]
fn spawn_many_and_wait() {
    let n = 100_000u64;
    let wg = Arc::new(WaitGroup::new());
    let sum = Arc::new(AtomicU64::new(0));
    wg.add(n as i64).unwrap();
    for i in 0..n {
        let (wg, sum) = (wg.clone(), sum.clone());
        go(move || {
            sum.fetch_add(i, Ordering::Relaxed);
            wg.done().unwrap();
        })
        .unwrap();
    }
    wg.wait().unwrap();
    assert_eq!(sum.load(Ordering::Relaxed), n * (n - 1) / 2);
}

#[test]
fn ping_pong_unbuffered() {
    let (a, b) = (Chan::<u64>::new(0).unwrap(), Chan::<u64>::new(0).unwrap());
    let (a2, b2) = (a.clone(), b.clone());
    go(move || {
        while let Some(v) = a2.recv() {
            b2.send(v + 1).unwrap();
        }
        b2.close().unwrap();
    })
    .unwrap();
    run(move || {
        for i in 0..100_000 {
            a.send(i).unwrap();
            assert_eq!(b.recv(), Some(i + 1));
        }
        a.close().unwrap();
        assert_eq!(b.recv(), None);
    })
    .unwrap();
}

#[test]
fn thread_and_goroutine_mix() {
    let ch = Chan::<u64>::new(16).unwrap();
    let n = 200_000u64;
    let producers = 4;
    let wg = Arc::new(WaitGroup::new());
    wg.add(producers).unwrap();
    for p in 0..producers {
        let (ch, wg) = (ch.clone(), wg.clone());
        if p % 2 == 0 {
            go(move || {
                for i in 0..n {
                    ch.send(i).unwrap();
                }
                wg.done().unwrap();
            })
            .unwrap();
        } else {
            std::thread::spawn(move || {
                for i in 0..n {
                    ch.send(i).unwrap();
                }
                wg.done().unwrap();
            });
        }
    }
    let closer = ch.clone();
    std::thread::spawn(move || {
        wg.wait().unwrap();
        closer.close().unwrap();
    });
    let total = Arc::new(AtomicU64::new(0));
    let count = Arc::new(AtomicU64::new(0));
    let done = Arc::new(WaitGroup::new());
    done.add(3).unwrap();
    for c in 0..3 {
        let (ch, total, count, done) = (ch.clone(), total.clone(), count.clone(), done.clone());
        let body = move || {
            for v in ch {
                total.fetch_add(v, Ordering::Relaxed);
                count.fetch_add(1, Ordering::Relaxed);
            }
            done.done().unwrap();
        };
        if c == 0 {
            std::thread::spawn(body);
        } else {
            go(body).unwrap();
        }
    }
    done.wait().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), n * producers as u64);
    assert_eq!(
        total.load(Ordering::Relaxed),
        producers as u64 * n * (n - 1) / 2
    );
}

#[test]
fn select_stress_no_loss() {
    let chans: Vec<Chan<u64>> = (0..4).map(|i| Chan::new(i % 2).unwrap()).collect();
    let per = 50_000u64;
    for (k, c) in chans.iter().enumerate() {
        let c = c.clone();
        go(move || {
            for i in 0..per {
                c.send(k as u64 * per + i).unwrap();
            }
            c.close().unwrap();
        })
        .unwrap();
    }
    let mut seen = vec![false; 4 * per as usize];
    let mut open = 4;
    let mut slots = [0u64; 4];
    let mut live: Vec<Option<&std::sync::Arc<goro_core::RawChan>>> =
        chans.iter().map(|c| Some(c.raw())).collect();
    while open > 0 {
        let ptrs: Vec<*mut u8> = slots.iter_mut().map(|s| s as *mut u64 as *mut u8).collect();
        let cases: Vec<Case> = (0..4)
            .map(|i| Case::chan(live[i], Op::Recv(ptrs[i])))
            .collect();
        // SAFETY: each case points at its own u64 slot.
        let (i, ok) = unsafe { select(&cases, Deadline::Forever) }.unwrap();
        if ok {
            let v = slots[i] as usize;
            assert!(!seen[v], "value {v} received twice");
            seen[v] = true;
        } else {
            live[i] = None;
            open -= 1;
        }
    }
    assert!(seen.iter().all(|&s| s), "a value was lost");
}

#[test]
fn timeouts_and_closed_rules() {
    let ch = Chan::<u32>::new(0).unwrap();
    let t = Instant::now();
    assert_eq!(
        ch.recv_timeout(Duration::from_millis(30)),
        Err(Error::TimedOut)
    );
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert_eq!(ch.try_recv(), Err(Error::WouldBlock));
    assert_eq!(ch.try_send(1).unwrap_err().error, Error::WouldBlock);
    let buf = Chan::<u32>::new(2).unwrap();
    buf.send(1).unwrap();
    buf.send(2).unwrap();
    buf.close().unwrap();
    assert_eq!(buf.close(), Err(Error::Closed));
    assert_eq!(buf.send(3).unwrap_err().error, Error::Closed);
    assert_eq!(buf.recv(), Some(1));
    assert_eq!(buf.recv(), Some(2));
    assert_eq!(buf.recv(), None);
    // Timeouts inside goroutines, and close waking a blocked receiver.
    run(move || {
        let t = Instant::now();
        assert_eq!(
            ch.recv_timeout(Duration::from_millis(20)),
            Err(Error::TimedOut)
        );
        assert!(t.elapsed() >= Duration::from_millis(20));
        let c2 = ch.clone();
        go(move || {
            goro_core::sleep(Duration::from_millis(10));
            c2.close().unwrap();
        })
        .unwrap();
        assert_eq!(ch.recv(), None);
    })
    .unwrap();
}

#[test]
fn mutex_counts_exactly() {
    let m = Arc::new(Mutex::new());
    let counter = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    let n = 50;
    wg.add(n).unwrap();
    for i in 0..n {
        let (m, counter, wg) = (m.clone(), counter.clone(), wg.clone());
        let body = move || {
            for _ in 0..1000 {
                m.lock();
                let v = counter.load(Ordering::Relaxed);
                if v % 7 == 0 {
                    goro_core::yield_now();
                }
                counter.store(v + 1, Ordering::Relaxed);
                m.unlock().unwrap();
            }
            wg.done().unwrap();
        };
        if i % 10 == 0 {
            std::thread::spawn(body);
        } else {
            go(body).unwrap();
        }
    }
    wg.wait().unwrap();
    assert_eq!(counter.load(Ordering::Relaxed), n as u64 * 1000);
    assert_eq!(m.unlock(), Err(Error::Invalid));
}

#[test]
fn sleep_parks_goroutines() {
    // 10,000 sleeping goroutines must not need 10,000 threads, and all wake.
    let wg = Arc::new(WaitGroup::new());
    wg.add(10_000).unwrap();
    let t = Instant::now();
    for _ in 0..10_000 {
        let wg = wg.clone();
        go(move || {
            goro_core::sleep(Duration::from_millis(50));
            wg.done().unwrap();
        })
        .unwrap();
    }
    wg.wait().unwrap();
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(goro_core::sched::stats().workers < 64);
}
