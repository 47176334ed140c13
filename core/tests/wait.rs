//! The wait protocol (core/src/wait): sources other than channels in one wait, the abort and
//! retry of step 3 under races, the typed select's unsent values, the event-loop bridge.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use goro_core::park::Outcome;
use goro_core::sync::{Mutex, WaitGroup};
use goro_core::time::Deadline;
use goro_core::wait::bridge::Bridge;
use goro_core::wait::{self, AsyncStarted, Case, Op, Select, Source, Started};
use goro_core::{Chan, Waiter};

fn wait_cases(cases: &[Case<'_>], d: Deadline) -> Result<(usize, bool), goro_core::Error> {
    // SAFETY: every channel case in these tests points at a live local.
    unsafe { wait::wait(cases, d, None) }
}

#[test]
fn waitgroup_and_channel_in_one_wait() {
    let wg = Arc::new(WaitGroup::new());
    wg.add(1).unwrap();
    let ch = Chan::<u64>::new(1).unwrap();
    let mut out = 0u64;
    let (wg2, done) = (wg.clone(), mpsc::channel::<()>());
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        wg2.done().unwrap();
        done.0.send(()).unwrap();
    });
    let cases = [
        Case::Chan(ch.raw(), Op::Recv(&mut out as *mut u64 as *mut u8)),
        Case::Source(&*wg),
    ];
    assert_eq!(wait_cases(&cases, Deadline::Forever), Ok((1, true)));
    t.join().unwrap();
    // The receive case was taken back: a value sent now stays in the channel.
    ch.send(5).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(out, 0);
}

#[test]
fn mutex_case_is_handed_over_only_to_the_winner() {
    let mu = Arc::new(Mutex::new());
    assert!(mu.try_lock());
    let ch = Chan::<u64>::new(0).unwrap();
    let tx = ch.clone();
    // A value arrives first: the select takes it, and must not also take the mutex.
    let t = std::thread::spawn(move || tx.send(9).unwrap());
    let mut out = 0u64;
    let cases = [
        Case::Source(&*mu),
        Case::Chan(ch.raw(), Op::Recv(&mut out as *mut u64 as *mut u8)),
    ];
    assert_eq!(wait_cases(&cases, Deadline::Forever), Ok((1, true)));
    assert_eq!(out, 9);
    t.join().unwrap();
    // We did not get the mutex, so an unlock hands it to nobody and leaves it free.
    mu.unlock().unwrap();
    assert!(
        !mu.is_locked(),
        "a stale mutex registration must not keep it locked"
    );
    // Now the mutex wins.
    assert!(mu.try_lock());
    let mu2 = mu.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        mu2.unlock().unwrap();
    });
    let cases = [
        Case::Source(&*mu),
        Case::Chan(ch.raw(), Op::Recv(&mut out as *mut u64 as *mut u8)),
    ];
    assert_eq!(wait_cases(&cases, Deadline::Forever), Ok((0, true)));
    assert!(mu.is_locked(), "handed over to the select");
    t.join().unwrap();
    mu.unlock().unwrap();
}

#[test]
fn source_wait_times_out_and_takes_back_its_registration() {
    let wg = WaitGroup::new();
    wg.add(1).unwrap();
    let cases = [Case::Source(&wg)];
    let at = Deadline::At(goro_core::now_ns() + 10_000_000);
    assert_eq!(wait_cases(&cases, at), Err(goro_core::Error::TimedOut));
    assert_eq!(
        wait_cases(&cases, Deadline::NoWait),
        Err(goro_core::Error::WouldBlock)
    );
    wg.done().unwrap();
    assert_eq!(wait_cases(&cases, Deadline::NoWait), Ok((0, true)));
}

/// Many selecting receivers over several unbuffered and buffered channels, many senders, and
/// a send and a receive on one channel in the same select: every value arrives exactly once.
/// The races between step 1 and step 3 make the abort-and-retry path run.
#[test]
fn racing_selects_lose_and_double_nothing() {
    const SENDERS: u64 = 4;
    const PER: u64 = 20_000;
    let chans: Vec<Chan<u64>> = (0..4)
        .map(|i| Chan::new(if i % 2 == 0 { 0 } else { 4 }).unwrap())
        .collect();
    let sum = Arc::new(AtomicUsize::new(0));
    let count = Arc::new(AtomicUsize::new(0));
    let total = (SENDERS * PER) as usize;
    let wg = Arc::new(WaitGroup::new());
    wg.add(SENDERS as i64 + 3).unwrap();
    for s in 0..SENDERS {
        let (chans, wg) = (chans.clone(), wg.clone());
        goro_core::go(move || {
            for k in 0..PER {
                let v = s * PER + k + 1;
                chans[((s + k) % 4) as usize].send(v).unwrap();
            }
            wg.done().unwrap();
        })
        .unwrap();
    }
    for _ in 0..3 {
        let (chans, wg, sum, count) = (chans.clone(), wg.clone(), sum.clone(), count.clone());
        goro_core::go(move || {
            let mut outs = [0u64; 4];
            let zero = 0u64;
            loop {
                if count.load(Ordering::SeqCst) >= total {
                    break;
                }
                let p: Vec<*mut u8> = outs.iter_mut().map(|o| o as *mut u64 as *mut u8).collect();
                // A send of 0 on chans[0] as a fifth case: when it completes, a receiver here
                // or elsewhere gets 0, which counts nothing.
                let cases = [
                    Case::Chan(chans[0].raw(), Op::Recv(p[0])),
                    Case::Chan(chans[1].raw(), Op::Recv(p[1])),
                    Case::Chan(chans[2].raw(), Op::Recv(p[2])),
                    Case::Chan(chans[3].raw(), Op::Recv(p[3])),
                    Case::Chan(chans[0].raw(), Op::Send(&zero as *const u64 as *const u8)),
                ];
                let at = Deadline::At(goro_core::now_ns() + 20_000_000);
                match wait_cases(&cases, at) {
                    Ok((i, true)) if i < 4 => {
                        if outs[i] != 0 {
                            sum.fetch_add(outs[i] as usize, Ordering::SeqCst);
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(_) | Err(goro_core::Error::TimedOut) => {}
                    Err(e) => panic!("select failed: {e}"),
                }
            }
            wg.done().unwrap();
        })
        .unwrap();
    }
    wg.wait().unwrap();
    let n = total as u64;
    assert_eq!(count.load(Ordering::SeqCst), total);
    assert_eq!(sum.load(Ordering::SeqCst) as u64, n * (n + 1) / 2);
}

#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn typed_select_hands_back_unsent_values_and_drops_nothing_twice() {
    let drops = Arc::new(AtomicUsize::new(0));
    let a = Chan::<Counted>::new(0).unwrap();
    let b = Chan::<Counted>::new(1).unwrap();
    let mut sel = Select::new();
    sel.send(Some(&a), Counted(drops.clone())); // nobody receives: comes back
    sel.send(Some(&b), Counted(drops.clone())); // room: sent
    sel.send(None, Counted(drops.clone())); // never ready: comes back
    let (r, unsent) = sel.wait(Deadline::Forever);
    let r = r.unwrap();
    assert_eq!((r.index, r.ok), (1, true));
    assert_eq!(
        unsent.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![0, 2]
    );
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(unsent);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    let got = b.recv().unwrap();
    drop(got);
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    // Timing out gives every value back; a select dropped unfinished drops them once.
    let mut sel = Select::new();
    sel.send(Some(&a), Counted(drops.clone()));
    let (r, unsent) = sel.wait(Deadline::NoWait);
    assert_eq!(r.err(), Some(goro_core::Error::WouldBlock));
    assert_eq!(unsent.len(), 1);
    drop(unsent);
    let mut sel = Select::new();
    sel.send(Some(&a), Counted(drops.clone()));
    drop(sel);
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn typed_async_select_with_a_bridge_batches_notifies() {
    let notifies = Arc::new(AtomicUsize::new(0));
    let n2 = notifies.clone();
    let bridge = Bridge::<usize>::new(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    let chans: Vec<Chan<u64>> = (0..10).map(|_| Chan::new(0).unwrap()).collect();
    let mut pending = Vec::new();
    for (i, ch) in chans.iter().enumerate() {
        let mut sel = Select::new();
        sel.recv(Some(ch));
        match sel.start_async(Deadline::Forever, &mut || bridge.waiter(i)) {
            Ok(AsyncStarted::Pending(p)) => pending.push(p),
            _ => panic!("nothing was ready"),
        }
    }
    // Ten completions before the loop drains: one notify.
    let senders: Vec<_> = chans
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let ch = ch.clone();
            std::thread::spawn(move || ch.send(100 + i as u64).unwrap())
        })
        .collect();
    for t in senders {
        t.join().unwrap();
    }
    assert_eq!(notifies.load(Ordering::SeqCst), 1);
    let done = bridge.drain();
    assert_eq!(done.len(), 10);
    for (token, out) in done {
        assert_eq!(out, Outcome::Case { index: 0, ok: true });
        let (r, unsent) = pending[token].finish().expect("ended");
        assert_eq!(r.unwrap().value, Some(100 + token as u64));
        assert!(unsent.is_empty());
    }
    // The next completion after a drain notifies again.
    let mut sel = Select::new();
    sel.recv(Some(&chans[0]));
    let Ok(AsyncStarted::Pending(mut p)) =
        sel.start_async(Deadline::Forever, &mut || bridge.waiter(99))
    else {
        panic!("nothing was ready")
    };
    let ch = chans[0].clone();
    std::thread::spawn(move || ch.send(1).unwrap())
        .join()
        .unwrap();
    assert_eq!(notifies.load(Ordering::SeqCst), 2);
    assert_eq!(bridge.drain().len(), 1);
    assert_eq!(p.finish().unwrap().0.unwrap().value, Some(1));
}

#[test]
fn async_wait_on_a_waitgroup_and_a_cancelled_mutex_wait_loses_no_lock() {
    let wg = WaitGroup::new();
    wg.add(1).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let w = Waiter::callback(move |o| tx.lock().unwrap().send(o).unwrap());
    let cases = [Case::Source(&wg)];
    // SAFETY: `wg` outlives the Pending.
    let Ok(Started::Pending(p)) =
        (unsafe { wait::wait_async(&cases, Deadline::Forever, &mut || w.clone()) })
    else {
        panic!("counter is 1")
    };
    wg.done().unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Outcome::Case { index: 0, ok: true }
    );
    drop(p);

    let mu = Mutex::new();
    assert!(mu.try_lock());
    let w = Waiter::callback(|_| {});
    let cases = [Case::Source(&mu)];
    // SAFETY: `mu` outlives the Pending.
    let Ok(Started::Pending(p)) =
        (unsafe { wait::wait_async(&cases, Deadline::Forever, &mut || w.clone()) })
    else {
        panic!("held")
    };
    assert!(p.cancel(), "nothing completed yet");
    drop(p);
    mu.unlock().unwrap();
    assert!(
        !mu.is_locked(),
        "a cancelled waiter must not be handed the mutex"
    );
    assert_eq!(mu.reason(), goro_core::goroutine::WaitReason::Mutex);
}

/// A source that says "ready" once when registered (as if a partner arrived between steps 1
/// and 3), then behaves as never ready. It records whether the wait had already published a
/// channel registration at that moment: that is the abort-and-retry path of step 3.
struct FlakySource {
    refuse: AtomicUsize,
    ch: Chan<u64>,
    aborts_forced: AtomicUsize,
    registered: std::sync::Mutex<Vec<Arc<Waiter>>>,
}

impl Source for FlakySource {
    fn try_now(&self) -> Option<bool> {
        None
    }
    fn register(&self, w: &Arc<Waiter>, _case: usize) -> bool {
        if self.refuse.swap(0, Ordering::SeqCst) == 1 {
            if self.ch.raw().waiting().1 > 0 {
                self.aborts_forced.fetch_add(1, Ordering::SeqCst);
            }
            return false;
        }
        self.registered.lock().unwrap().push(w.clone());
        true
    }
    fn unregister(&self, w: &Arc<Waiter>) {
        self.registered
            .lock()
            .unwrap()
            .retain(|x| !Arc::ptr_eq(x, w));
    }
    fn reason(&self) -> goro_core::goroutine::WaitReason {
        goro_core::goroutine::WaitReason::Select
    }
}

#[test]
fn readiness_in_step_three_aborts_retries_and_leaves_nothing_behind() {
    let src = Arc::new(FlakySource {
        refuse: AtomicUsize::new(0),
        ch: Chan::new(0).unwrap(),
        aborts_forced: AtomicUsize::new(0),
        registered: std::sync::Mutex::new(Vec::new()),
    });
    for round in 0..200u64 {
        src.refuse.store(1, Ordering::SeqCst);
        let tx = src.ch.clone();
        let t = std::thread::spawn(move || {
            // Wait until the select is queued on the channel, then send.
            while tx.raw().waiting().1 == 0 {
                std::thread::yield_now();
            }
            tx.send(round).unwrap();
        });
        let mut out = u64::MAX;
        let cases = [
            Case::Chan(src.ch.raw(), Op::Recv(&mut out as *mut u64 as *mut u8)),
            Case::Source(&*src),
        ];
        assert_eq!(wait_cases(&cases, Deadline::Forever), Ok((0, true)));
        assert_eq!(out, round);
        t.join().unwrap();
        assert_eq!(
            src.ch.raw().waiting(),
            (0, 0),
            "no entry left on the channel"
        );
        assert!(
            src.registered.lock().unwrap().is_empty(),
            "no registration left"
        );
    }
    assert!(
        src.aborts_forced.load(Ordering::SeqCst) > 0,
        "the abort path never ran in 200 random orders"
    );
}

#[test]
fn an_async_select_dropped_after_completing_drops_its_value_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    for round in 0..200 {
        let ch = Chan::<Counted>::new(0).unwrap();
        let mut sel = Select::new();
        sel.recv(Some(&ch));
        let Ok(AsyncStarted::Pending(p)) =
            sel.start_async(Deadline::Forever, &mut || Waiter::callback(|_| {}))
        else {
            panic!("nothing was ready")
        };
        let (tx, d) = (ch.clone(), drops.clone());
        let t = std::thread::spawn(move || tx.send(Counted(d)).map_err(|_| ()).unwrap());
        if round % 2 == 0 {
            t.join().unwrap(); // completed before the drop
            drop(p);
        } else {
            drop(p); // races the partner: either it completed into the select, or the cancel won
                     // If the cancel won, the value is still the sender's: take it here.
            let at = Deadline::At(goro_core::now_ns() + 200_000_000);
            if let Ok(Some(v)) = ch.recv_deadline(at) {
                drop(v);
            }
            t.join().unwrap();
        }
    }
    // Each value was dropped exactly once: by the dropped select it completed into, or here.
    assert_eq!(drops.load(Ordering::SeqCst), 200);
}

/// A source that, when registered, first makes another case ready the way a partner does:
/// it claims the waiter for that case (`partner_case`) and wakes it, as a sender that meets
/// a queued receiver would. Models readiness that arrives after a case's registration,
/// before the wait has decided.
struct ReadiesOther {
    partner_case: Option<usize>,
    registered: std::sync::Mutex<Vec<Arc<Waiter>>>,
}

impl Source for ReadiesOther {
    fn try_now(&self) -> Option<bool> {
        None
    }
    fn register(&self, w: &Arc<Waiter>, _case: usize) -> bool {
        if let Some(i) = self.partner_case {
            if w.claim_case(i, true) {
                w.wake();
            }
        }
        self.registered.lock().unwrap().push(w.clone());
        true
    }
    fn unregister(&self, w: &Arc<Waiter>) {
        self.registered
            .lock()
            .unwrap()
            .retain(|x| !Arc::ptr_eq(x, w));
    }
    fn reason(&self) -> goro_core::goroutine::WaitReason {
        goro_core::goroutine::WaitReason::Select
    }
}

/// A select that may not wait sees its cases at one moment (Go's TestNonblockSelectRace):
/// nothing ready at the poll, but a case readied (and the waiter claimed for it) while the
/// others register, completes that case instead of taking the default; with nothing readied,
/// it takes the default and leaves no registration behind.
#[test]
fn a_select_that_may_not_wait_takes_a_case_readied_while_it_registers() {
    let quiet = Chan::<u64>::new(0).unwrap();
    for partner_case in [0usize, 1] {
        let src = ReadiesOther {
            partner_case: Some(partner_case),
            registered: std::sync::Mutex::new(Vec::new()),
        };
        let other = ReadiesOther {
            partner_case: None, // never claims: a second, plain source
            registered: std::sync::Mutex::new(Vec::new()),
        };
        let mut out = 0u64;
        // The readying source registers somewhere in the random order; wherever, the claim
        // it makes must win over the default.
        let cases = [
            Case::Source(&other),
            Case::Source(&src),
            Case::Chan(quiet.raw(), Op::Recv(&mut out as *mut u64 as *mut u8)),
        ];
        for _ in 0..50 {
            assert_eq!(
                wait_cases(&cases, Deadline::NoWait),
                Ok((partner_case, true))
            );
            assert!(src.registered.lock().unwrap().is_empty());
            assert!(other.registered.lock().unwrap().is_empty());
            assert_eq!(
                quiet.raw().waiting(),
                (0, 0),
                "no entry left on the channel"
            );
        }
    }
    let a = ReadiesOther {
        partner_case: None,
        registered: std::sync::Mutex::new(Vec::new()),
    };
    let mut out = 0u64;
    let cases = [
        Case::Source(&a),
        Case::Chan(quiet.raw(), Op::Recv(&mut out as *mut u64 as *mut u8)),
    ];
    assert_eq!(
        wait_cases(&cases, Deadline::NoWait),
        Err(goro_core::Error::WouldBlock)
    );
    assert!(
        a.registered.lock().unwrap().is_empty(),
        "no registration left"
    );
    assert_eq!(
        quiet.raw().waiting(),
        (0, 0),
        "no entry left on the channel"
    );
}
