//! Seeing inside, from Rust: the dump, the leak report (single waits and selects), the
//! counters and the profiles' format.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::Duration;

use goro_core::trace::{self, registry::State};
use goro_core::{go, select, Case, Chan, Deadline, Op, RawChan};

fn wait_until(mut f: impl FnMut() -> bool) {
    for _ in 0..5000 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("condition not reached in 5 s");
}

fn parked(id: u64) -> bool {
    trace::registry::snapshot()
        .iter()
        .any(|g| g.id == id && matches!(g.state, State::Waiting(..)))
}

/// A channel borrowed as C code borrows a handle: no reference of the goroutine's own (the
/// owner keeps it alive until the goroutine waits, and the wait holds one of its own).
#[derive(Clone, Copy)]
struct Borrowed(usize);

impl Borrowed {
    fn of(c: &Chan<u32>) -> Borrowed {
        Borrowed(Arc::as_ptr(c.raw()) as usize)
    }

    fn get(self) -> ManuallyDrop<Arc<RawChan>> {
        // SAFETY: the owner keeps the channel alive until the wait holds its own reference
        // (the test waits for the goroutine to park before dropping it); ManuallyDrop never
        // gives back a count we did not take.
        ManuallyDrop::new(unsafe { Arc::from_raw(self.0 as *const RawChan) })
    }
}

fn select_recv(chans: &[Borrowed]) -> impl FnOnce() + Send + 'static {
    let chans = chans.to_vec();
    move || {
        let held: Vec<_> = chans.iter().map(|b| b.get()).collect();
        let cases: Vec<Case> = held
            .iter()
            .map(|c| Case::chan(Some(&**c), Op::Recv(std::ptr::null_mut())))
            .collect();
        // SAFETY: null receive buffers drop the values.
        let _ = unsafe { select(&cases, Deadline::Forever) };
    }
}

/// One test: the leak report looks at every goroutine of the process, so the cases must not
/// run beside each other.
#[test]
fn leaks_dump_and_counters() {
    // A receive on a channel whose last handle is gone: leaked.
    let lost = Chan::<u32>::new(0).unwrap();
    let b = Borrowed::of(&lost);
    let leaked = go(move || {
        let c = b.get();
        let mut v = 0u32;
        // SAFETY: `v` outlives the wait.
        let _ = unsafe { c.recv(&mut v as *mut u32 as *mut u8, Deadline::Forever) };
    })
    .unwrap();
    // A select over a channel the test still holds and one it drops: not leaked.
    let held = Chan::<u32>::new(0).unwrap();
    let gone = Chan::<u32>::new(0).unwrap();
    let selecting = go(select_recv(&[Borrowed::of(&held), Borrowed::of(&gone)])).unwrap();
    // A select whose channels are both dropped: leaked.
    let (x, y) = (Chan::<u32>::new(1).unwrap(), Chan::<u32>::new(0).unwrap());
    let select_leaked = go(select_recv(&[Borrowed::of(&x), Borrowed::of(&y)])).unwrap();
    wait_until(|| parked(leaked) && parked(selecting) && parked(select_leaked));
    drop((lost, gone, x, y));

    let leaks = trace::leak::find(0);
    let ids: Vec<u64> = leaks.iter().map(|l| l.goroutine.id).collect();
    assert_eq!(ids, vec![leaked, select_leaked], "{leaks:?}");
    let text = trace::dump::leaks_text(&leaks);
    assert!(
        text.contains(&format!("goroutine {leaked} [chan receive")),
        "{text}"
    );
    assert!(
        text.contains(&format!("goroutine {select_leaked} [select")),
        "{text}"
    );
    assert!(
        text.contains("core/tests/trace.rs:"),
        "where it was started: {text}"
    );

    // The blocked-longer-than threshold adds the select on a held channel.
    std::thread::sleep(Duration::from_millis(30));
    let long = trace::leak::find(20_000_000);
    assert!(long
        .iter()
        .any(|l| l.goroutine.id == selecting && !l.unreachable));

    // Closing the held channel frees that select.
    held.close().unwrap();
    wait_until(|| {
        !trace::registry::snapshot()
            .iter()
            .any(|g| g.id == selecting)
    });

    let dump = trace::dump::dump_text();
    assert!(
        dump.contains(&format!("goroutine {leaked} [chan receive, ")),
        "{dump}"
    );

    let c = trace::counters();
    assert!(
        c.goroutines >= 2 && c.workers >= 1 && c.switches >= 3 && c.parks >= 3,
        "{c:?}"
    );
    assert!(c.stack_reserved_bytes > 0);

    // Owned references (chan/owners.rs): a goroutine blocked on a channel it owns a reference
    // to is leaked once nobody else holds one; the same wait with a deadline is not.
    let owned = Chan::<u32>::new(0).unwrap();
    let timed_chan = Chan::<u32>::new(0).unwrap();
    let blocked_on = |c: &Chan<u32>, deadline: bool| {
        let raw = Arc::clone(c.raw()); // the goroutine's own reference
        move || {
            raw.own(goro_core::current_id());
            let d = match deadline {
                true => Deadline::At(goro_core::now_ns() + 2_000_000_000),
                false => Deadline::Forever,
            };
            let mut v = 0u32;
            // SAFETY: `v` outlives the wait.
            let _ = unsafe { raw.recv(&mut v as *mut u32 as *mut u8, d) };
        }
    };
    let owner = go(blocked_on(&owned, false)).unwrap();
    let timed = go(blocked_on(&timed_chan, true)).unwrap();
    wait_until(|| parked(owner) && parked(timed));
    let ids = |ls: Vec<trace::leak::Leak>| ls.iter().map(|l| l.goroutine.id).collect::<Vec<_>>();
    let before = ids(trace::leak::find(0));
    assert!(
        !before.contains(&owner),
        "the test still holds it: {before:?}"
    );
    drop((owned, timed_chan));
    let after = ids(trace::leak::find(0));
    assert!(after.contains(&owner), "{after:?}");
    assert!(!after.contains(&timed), "a deadline ends it: {after:?}");
    let dump = trace::dump::dump_text();
    assert!(
        dump.contains(&format!("goroutine {owner} [chan receive, ")) && dump.contains("(leaked)]"),
        "{dump}"
    );

    for kind in ["goroutine", "goroutineleak", "block", "mutex"] {
        let p = trace::profile(kind).unwrap();
        assert_eq!(&p[..2], &[0x1f, 0x8b], "{kind} is gzip");
    }
    assert!(trace::profile("heap").is_err());
}
