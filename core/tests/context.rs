//! Contexts and groups from Rust (core/src/context): the C contract test
//! (tests/c/contract_context.c) covers the C surface; this covers what the bindings build on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goro_core::context::{sleep_ctx, wait_ctx, Context, Group, Reason};
use goro_core::sync::WaitGroup;
use goro_core::wait::{Case, Op};
use goro_core::{Chan, Deadline, Error};

#[test]
fn a_group_reports_every_error_in_order_and_cancels_the_rest() {
    let g: Group<String> = Group::new(&Context::background(), 0).unwrap();
    let parked = Arc::new(AtomicUsize::new(0));
    let never = Chan::<u64>::new(0).unwrap();
    for _ in 0..5 {
        let (parked, never) = (parked.clone(), never.clone());
        g.go(move |ctx| {
            let mut out = 0u64;
            let case = [Case::Chan(
                never.raw(),
                Op::Recv(&mut out as *mut u64 as *mut u8),
            )];
            // SAFETY: `out` outlives the wait.
            let r = unsafe { wait_ctx(&case, Deadline::Forever, ctx) };
            assert_eq!(r, Err(Error::Cancelled));
            parked.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    }
    g.go(|ctx| {
        let _ = sleep_ctx(5_000_000, ctx);
        Err("first".to_string())
    })
    .unwrap();
    let errs = g.wait_all();
    assert_eq!(errs, vec!["first".to_string()]);
    assert_eq!(parked.load(Ordering::SeqCst), 5);
    assert_eq!(g.context().reason(), Some(Reason::Cancelled));
    assert_eq!(never.len(), 0);
}

#[test]
fn deadline_through_a_parent_and_waitgroup_waits() {
    let parent = Context::background().with_timeout(20_000_000);
    let child = parent.with_cancel();
    assert!(child.deadline().is_some());
    let wg = WaitGroup::new();
    wg.add(1).unwrap();
    let t0 = goro_core::now_ns();
    // SAFETY: a source case carries no pointers.
    let r = unsafe { wait_ctx(&[Case::Source(&wg)], Deadline::Forever, &child) };
    assert_eq!(r, Err(Error::DeadlineExceeded));
    assert!(goro_core::now_ns() - t0 >= 20_000_000);
    assert_eq!(child.reason(), Some(Reason::DeadlineExceeded));
    // The call's own timeout is not the context's.
    let live = Context::background().with_cancel();
    let at = Deadline::At(goro_core::now_ns() + 2_000_000);
    assert_eq!(
        // SAFETY: a source case carries no pointers.
        unsafe { wait_ctx(&[Case::Source(&wg)], at, &live) },
        Err(Error::TimedOut)
    );
    live.cancel();
    wg.done().unwrap();
}

#[test]
fn dead_children_do_not_pile_up_on_a_long_lived_parent() {
    let parent = Context::background().with_cancel();
    for _ in 0..10_000 {
        let c = parent.with_timeout(3_600_000_000_000);
        c.cancel();
    }
    // Each cancelled child unlisted itself: cancelling the parent now touches none.
    let t0 = goro_core::now_ns();
    parent.cancel();
    assert!(goro_core::now_ns() - t0 < 1_000_000_000);
}

#[test]
fn the_root_cannot_be_cancelled() {
    Context::background().cancel();
    assert_eq!(Context::background().reason(), None);
    let c = Context::background().with_cancel();
    assert_eq!(c.reason(), None);
    c.cancel();
    assert_eq!(c.reason(), Some(Reason::Cancelled));
}

#[test]
fn close_on_end_closes_a_channel_of_any_type_once_the_context_ends() {
    let c = Context::background().with_cancel();
    let a = Chan::<String>::new(0).unwrap();
    c.close_on_end(a.raw());
    assert!(!a.raw().is_closed());
    c.cancel();
    assert!(a.raw().is_closed());
    // On an ended context: closed at once.
    let b = Chan::<String>::new(0).unwrap();
    c.close_on_end(b.raw());
    assert!(b.raw().is_closed());
}

#[test]
fn a_typed_select_with_a_context_gives_every_value_back_when_it_ends() {
    use goro_core::wait::Select;
    let c = Context::background().with_timeout(20_000_000);
    let full = Chan::<String>::new(0).unwrap();
    let mut sel = Select::new();
    sel.send(Some(&full), "kept".to_string());
    sel.recv(Some(&Chan::<String>::new(0).unwrap()));
    let (r, unsent) = sel.wait_ctx(Deadline::Forever, &c);
    assert_eq!(r.unwrap_err(), Error::DeadlineExceeded);
    assert_eq!(unsent, vec![(0, "kept".to_string())]);
    // A case ready at once wins over a live context.
    let ready = Chan::<String>::new(1).unwrap();
    ready.send("v".into()).unwrap();
    let live = Context::background().with_cancel();
    let mut sel = Select::new();
    sel.recv(Some(&ready));
    let (r, _) = sel.wait_ctx(Deadline::Forever, &live);
    assert_eq!(r.unwrap().value.as_deref(), Some("v"));
}

#[test]
fn the_root_keeps_no_done_channels() {
    let ch = Chan::<String>::new(0).unwrap();
    Context::background().close_on_end(ch.raw());
    // Only our handle holds the channel: the root did not keep a reference.
    assert_eq!(std::sync::Arc::strong_count(ch.raw()), 1);
    assert!(!ch.raw().is_closed());
}

/// A cancel that lands between a channel wait's look at its context and its registration
/// there (the wait then claims the context's case itself) ends the wait at once. It parked
/// for good instead: its own claim left nobody to wake it (tests/c/contract_context.c hung
/// 3 times in 126 runs under ASan and load).
#[test]
fn a_cancel_racing_the_registration_still_ends_the_wait() {
    const ROUNDS: usize = 1_000;
    const EACH: usize = 64;
    let never = Chan::<u64>::new(0).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for round in 0..ROUNDS {
        let ctx = Context::background().with_cancel();
        for _ in 0..EACH {
            let (c, n, tx) = (ctx.clone(), never.raw().clone(), tx.clone());
            goro_core::go(move || {
                let mut v = 0u64;
                let op = Op::Recv(&mut v as *mut u64 as *mut u8);
                // SAFETY: `v` outlives the wait.
                let r = unsafe { wait_ctx(&[Case::Chan(&n, op)], Deadline::Forever, &c) };
                tx.send(r).unwrap();
            })
            .unwrap();
        }
        // Cancel while the goroutines are at every point of their way into the wait: the
        // spin before it varies from nothing to about the time they take to start.
        let until = goro_core::now_ns() + (round % 40) as i64 * 1_000;
        while goro_core::now_ns() < until {
            std::hint::spin_loop();
        }
        ctx.cancel();
        for _ in 0..EACH {
            let r = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("round {round}: a cancelled wait never ended"));
            assert_eq!(r, Err(Error::Cancelled));
        }
    }
    assert_eq!(never.len(), 0);
}
