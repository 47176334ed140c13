//! Loom model of a buffered channel's ring (core/src/chan/buffer.rs): lock-free sends and
//! receives racing with lock holders that take the ring (SLOW) and give it back, as
//! chan/mod.rs does. Whatever the interleaving, every value sent is received exactly once and
//! in order, a full or empty answer is never given while the other side could go on, and
//! the ring ends empty.
//!
//! The lock holder here gives the ring back at every release (chan/mod.rs keeps it at the
//! edges and while waiters are queued): that is the most hand-overs, so the most
//! interleavings of fast operations with `enter_slow` and `exit_slow`.
//!
//! Run: RUSTFLAGS="--cfg loom" cargo test -p goro-core --release --test loom_ring

#![cfg(loom)]

use goro_core::chan::buffer::{Fast, Pos, Ring};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The channel lock and what it keeps while it holds the ring.
struct Held {
    slow: bool,
    pos: Pos,
}

struct Chan {
    ring: Ring,
    lock: Mutex<Held>,
}

impl Chan {
    fn new(cap: usize) -> Chan {
        Chan {
            ring: Ring::new(8, cap).unwrap(),
            lock: Mutex::new(Held {
                slow: false,
                pos: Pos::default(),
            }),
        }
    }

    fn locked<R>(&self, f: impl FnOnce(&Ring, &mut Pos) -> R) -> R {
        let mut h = self.lock.lock().unwrap();
        if !h.slow {
            h.pos = self.ring.enter_slow();
            h.slow = true;
        }
        let r = f(&self.ring, &mut h.pos);
        self.ring.exit_slow(&h.pos);
        h.slow = false;
        r
    }

    /// Sent (true) or full (false).
    fn try_send(&self, v: u64) -> bool {
        let p = (&v as *const u64).cast::<u8>();
        // SAFETY: `p` points at 8 readable bytes; the ring has a capacity.
        match unsafe { self.ring.push_fast(p) } {
            Fast::Done => true,
            Fast::WouldBlock => false,
            Fast::Locked => self.locked(|r, pos| {
                if r.is_full_at(pos) {
                    return false;
                }
                // SAFETY: not full, the lock holds the ring.
                unsafe { r.push(pos, p) };
                true
            }),
        }
    }

    /// A value, or None when empty.
    fn try_recv(&self) -> Option<u64> {
        let mut v = 0u64;
        let out = (&mut v as *mut u64).cast::<u8>();
        // SAFETY: `out` points at 8 writable bytes; the ring has a capacity.
        let got = match unsafe { self.ring.pop_fast(out, None) } {
            Fast::Done => true,
            Fast::WouldBlock => false,
            Fast::Locked => self.locked(|r, pos| {
                if r.len_at(pos) == 0 {
                    return false;
                }
                // SAFETY: not empty, the lock holds the ring.
                unsafe { r.pop(pos, out, None) };
                true
            }),
        };
        got.then_some(v)
    }
}

const CAP: usize = 2;
const N: u64 = 3;

#[test]
fn every_value_once_and_in_order() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(|| {
        let ch = Arc::new(Chan::new(CAP));
        let sender = {
            let ch = ch.clone();
            thread::spawn(move || {
                for v in 1..=N {
                    while !ch.try_send(v) {
                        thread::yield_now();
                    }
                }
            })
        };
        // A lock holder that takes the ring and gives it back, doing nothing else.
        let holder = {
            let ch = ch.clone();
            thread::spawn(move || ch.locked(|_, _| ()))
        };
        let mut got = Vec::new();
        while got.len() < N as usize {
            match ch.try_recv() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        sender.join().unwrap();
        holder.join().unwrap();
        assert_eq!(
            got,
            (1..=N).collect::<Vec<_>>(),
            "each value once, in order"
        );
        assert_eq!(ch.try_recv(), None, "nothing left over");
    });
}

#[test]
fn full_and_empty_answers_are_true() {
    // Two senders fill a ring of 2 while a receiver takes one: a sender told "full" must
    // find, under the lock, that it was (at most one value left the ring).
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(|| {
        let ch = Arc::new(Chan::new(CAP));
        let senders: Vec<_> = (0..2u64)
            .map(|k| {
                let ch = ch.clone();
                thread::spawn(move || {
                    let mut sent = 0;
                    for v in 0..2 {
                        if ch.try_send(10 * (k + 1) + v) {
                            sent += 1;
                        }
                    }
                    sent
                })
            })
            .collect();
        let first = ch.try_recv();
        let sent: u32 = senders.into_iter().map(|t| t.join().unwrap()).sum();
        let mut rest = 0;
        while ch.try_recv().is_some() {
            rest += 1;
        }
        let received = rest + u32::from(first.is_some());
        assert_eq!(received, sent, "every value sent is received once");
        // The ring holds 2; the receiver freed at most one slot: 2 or 3 sends get through.
        assert!(
            (CAP as u32..=CAP as u32 + 1).contains(&sent),
            "sends refused while there was room: {sent} sent"
        );
        if first.is_none() {
            assert_eq!(
                sent, CAP as u32,
                "the receiver found it empty, so nothing left"
            );
        }
    });
}
